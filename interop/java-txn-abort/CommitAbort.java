// Kafka's Java transactional producer, for kafka-fake's conformance checks:
// one transaction committed (records c0..c{n-1} and an offset of group
// "java-group" for input-0 at 42), then one aborted after its records
// (a0..a{n-1}) and an offset of 99 were flushed to the brokers. Run as a
// single source file (Java 11+) against Kafka's jars:
//   java -cp 'target/kafka/dist/4.4.0/libs/*' interop/java-txn-abort/CommitAbort.java \
//     BOOTSTRAP TOPIC N
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;

public class CommitAbort {
    public static void main(String[] argv) {
        String bootstrap = argv[0];
        String topic = argv[1];
        int n = Integer.parseInt(argv[2]);
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "java-commit-abort");
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        TopicPartition input = new TopicPartition("input", 0);
        ConsumerGroupMetadata group = new ConsumerGroupMetadata("java-group");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + (i % 7), "c" + i));
            }
            producer.sendOffsetsToTransaction(Map.of(input, new OffsetAndMetadata(42)), group);
            producer.commitTransaction();

            producer.beginTransaction();
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + (i % 7), "a" + i));
            }
            producer.sendOffsetsToTransaction(Map.of(input, new OffsetAndMetadata(99)), group);
            producer.flush();
            producer.abortTransaction();
        }
        System.out.println("committed and aborted " + n + " records each");
    }
}
