// Prints the kafka-clients version on the class path, then every key of
// Java's producer configuration, then every key of its consumer and admin
// configurations, each sorted: what kafka-producer's Java key table is
// checked against (kafka-producer/tests/java_keys.rs).
//
// Run as a single-file program: java -cp "$KAFKA_LIBS/*" ConfigKeys.java

import java.io.InputStream;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

public class ConfigKeys {
    public static void main(String[] args) throws Exception {
        // The jar's own version file: AppInfoParser moved between releases.
        Properties version = new Properties();
        try (InputStream in = ProducerConfig.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            if (in != null) {
                version.load(in);
            }
        }
        System.out.println("version " + version.getProperty("version", "unknown"));
        for (String key : new TreeSet<>(ProducerConfig.configNames())) {
            System.out.println("producer " + key);
        }
        TreeSet<String> others = new TreeSet<>(ConsumerConfig.configNames());
        others.addAll(AdminClientConfig.configNames());
        for (String key : others) {
            System.out.println("other " + key);
        }
    }
}
