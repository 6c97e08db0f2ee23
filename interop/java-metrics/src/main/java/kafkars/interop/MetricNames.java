package kafkars.interop;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends one record with the Java producer and writes the names of its
 * producer-metrics and producer-topic-metrics groups, one "group name" per
 * line, sorted. Per-topic metrics exist only once a topic was sent to, so
 * this needs a broker (args: output file, bootstrap servers).
 */
public final class MetricNames {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        String bootstrap = args.length > 1 ? args[1] : "127.0.0.1:9092";
        String topic = "java-metric-names";
        Properties admin = new Properties();
        admin.put("bootstrap.servers", bootstrap);
        try (Admin a = Admin.create(admin)) {
            try {
                a.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            } catch (Exception alreadyThere) {
                // A second run finds the topic.
            }
        }
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        TreeSet<String> names = new TreeSet<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.send(new ProducerRecord<>(topic, "v".getBytes())).get();
            producer.metrics().keySet().forEach(name -> {
                String group = name.group();
                if (group.equals("producer-metrics") || group.equals("producer-topic-metrics")) {
                    names.add(group + " " + name.name());
                }
            });
        }
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out))) {
            names.forEach(w::println);
        }
        System.out.println(names.size() + " metric names written to " + out);
    }
}
