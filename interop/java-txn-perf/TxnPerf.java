// The Java client's side of `cargo xtask txn-perf`: records in transactions
// of --transaction-size records each, committed one after the other, with
// the same summary line as kafka-txn's txn_perf example. Run as a single
// source file (Java 11+) against Kafka's jars:
//   java -cp 'target/kafka/dist/4.4.0/libs/*' interop/java-txn-perf/TxnPerf.java \
//     --topic t --num-records 100000 --record-size 100 --transaction-size 1000 \
//     --producer-props bootstrap.servers=127.0.0.1:9092 transactional.id=perf compression.type=lz4
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class TxnPerf {
    public static void main(String[] argv) {
        String topic = null;
        long numRecords = 0;
        int recordSize = 100;
        long txnSize = 1000;
        Properties props = new Properties();
        for (int i = 0; i < argv.length; i++) {
            switch (argv[i]) {
                case "--topic": topic = argv[++i]; break;
                case "--num-records": numRecords = Long.parseLong(argv[++i]); break;
                case "--record-size": recordSize = Integer.parseInt(argv[++i]); break;
                case "--transaction-size": txnSize = Long.parseLong(argv[++i]); break;
                case "--producer-props":
                    while (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
                        String[] kv = argv[++i].split("=", 2);
                        props.put(kv[0], kv[1]);
                    }
                    break;
                default: throw new IllegalArgumentException("unknown argument " + argv[i]);
            }
        }
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // Random uppercase letters, as ProducerPerformance fills its payload.
        byte[] payload = new byte[recordSize];
        Random random = new Random(0);
        for (int i = 0; i < recordSize; i++) payload[i] = (byte) (random.nextInt(26) + 65);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            producer.initTransactions();
            long start = System.nanoTime();
            List<Double> commits = new ArrayList<>();
            long sent = 0;
            while (sent < numRecords) {
                producer.beginTransaction();
                long n = Math.min(txnSize, numRecords - sent);
                for (long r = 0; r < n; r++) producer.send(new ProducerRecord<>(topic, payload));
                long t = System.nanoTime();
                producer.commitTransaction();
                commits.add((System.nanoTime() - t) / 1e6);
                sent += n;
            }
            double secs = (System.nanoTime() - start) / 1e9;
            double[] sorted = commits.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double total = Arrays.stream(sorted).sum();
            System.out.printf("%d records sent, %.1f records/sec (%.2f MB/sec), %d transactions of %d records, %.1f transactions/sec, commit latency %.2f ms avg, %.2f ms 50th, %.2f ms 99th, %.2f ms max.%n",
                sent, sent / secs, sent * (double) recordSize / secs / (1024 * 1024), sorted.length, txnSize,
                sorted.length / secs, total / Math.max(1, sorted.length),
                pct(sorted, 0.5), pct(sorted, 0.99), sorted.length == 0 ? 0 : sorted[sorted.length - 1]);
        }
    }

    static double pct(double[] sorted, double p) {
        if (sorted.length == 0) return 0;
        return sorted[Math.min(sorted.length - 1, (int) (p * sorted.length))];
    }
}
