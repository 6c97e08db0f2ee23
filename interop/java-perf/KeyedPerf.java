// The Java client's side of `cargo xtask perf-compare`'s scale scenarios:
// Kafka's ProducerPerformance (same arguments, same summary line, its
// throttling rule) plus what it lacks, as our `perf` example has them:
// --keys N (record i keyed "key-" + i % N, so the default partitioner
// spreads records over every partition) and --topics T (record i to topic
// "<topic>-" + i % T). perf-compare compiles it with javac against the
// started Kafka's jars and runs the class.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class KeyedPerf {
    public static void main(String[] argv) throws Exception {
        String topic = null;
        long numRecords = 0;
        int recordSize = 100;
        long throughput = -1;
        int keys = 0;
        int topics = 1;
        Properties props = new Properties();
        for (int i = 0; i < argv.length; i++) {
            switch (argv[i]) {
                case "--topic": topic = argv[++i]; break;
                case "--num-records": numRecords = Long.parseLong(argv[++i]); break;
                case "--record-size": recordSize = Integer.parseInt(argv[++i]); break;
                case "--throughput": throughput = Long.parseLong(argv[++i]); break;
                case "--keys": keys = Integer.parseInt(argv[++i]); break;
                case "--topics": topics = Integer.parseInt(argv[++i]); break;
                case "--producer.config":
                    try (var in = Files.newInputStream(Paths.get(argv[++i]))) { props.load(in); }
                    break;
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
        byte[] payload = new byte[recordSize];
        Random random = new Random(0);
        for (int i = 0; i < recordSize; i++) payload[i] = (byte) (random.nextInt(26) + 65);
        // Keys and topic names made before the clock starts, as ours.
        byte[][] keyList = new byte[keys][];
        for (int k = 0; k < keys; k++) keyList[k] = ("key-" + k).getBytes(StandardCharsets.UTF_8);
        String[] topicList = new String[Math.max(1, topics)];
        for (int t = 0; t < topicList.length; t++) topicList[t] = topics <= 1 ? topic : topic + "-" + t;

        Stats stats = new Stats(numRecords, recordSize);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            long startMs = System.currentTimeMillis();
            long sleepDeficitNs = 0;
            for (long i = 0; i < numRecords; i++) {
                long sendStartMs = System.currentTimeMillis();
                byte[] key = keys > 0 ? keyList[(int) (i % keys)] : null;
                String t = topicList[(int) (i % topicList.length)];
                final long index = i;
                producer.send(new ProducerRecord<>(t, key, payload), (md, e) -> {
                    if (e != null) stats.failed(e);
                    else stats.acked(index, System.currentTimeMillis() - sendStartMs);
                });
                // ProducerPerformance's rule (its throttler class moved
                // between releases): once ahead of the target rate, each
                // record adds 1/target s of sleep, slept off from 2 ms on.
                long elapsedMs = sendStartMs - startMs;
                if (throughput > 0 && elapsedMs > 0 && i * 1000.0 / elapsedMs > throughput) {
                    sleepDeficitNs += 1_000_000_000L / throughput;
                    if (sleepDeficitNs >= 2_000_000L) {
                        Thread.sleep(sleepDeficitNs / 1_000_000L, (int) (sleepDeficitNs % 1_000_000L));
                        sleepDeficitNs = 0;
                    }
                }
            }
            producer.flush();
        }
        stats.printFinal();
    }

    /// Latency statistics as ProducerPerformance keeps them: every record
    /// counted, one latency in `every` kept for the percentiles.
    static final class Stats {
        final long start = System.currentTimeMillis();
        final int recordSize;
        final int every;
        final int[] samples;
        int sampled;
        long count, sumMs, maxMs, errors;

        Stats(long numRecords, int recordSize) {
            this.recordSize = recordSize;
            long kept = Math.min(numRecords, 500_000);
            this.every = (int) Math.max(1, numRecords / Math.max(1, kept));
            this.samples = new int[(int) kept + 1];
        }

        synchronized void acked(long i, long ms) {
            count++;
            sumMs += ms;
            maxMs = Math.max(maxMs, ms);
            if (i % every == 0 && sampled < samples.length) samples[sampled++] = (int) ms;
        }

        synchronized void failed(Exception e) {
            if (errors++ < 5) System.err.println("send failed: " + e);
        }

        synchronized void printFinal() {
            double secs = (System.currentTimeMillis() - start) / 1000.0;
            double rate = count / secs;
            int[] s = Arrays.copyOf(samples, sampled);
            Arrays.sort(s);
            System.out.printf("%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.%n",
                count, rate, rate * recordSize / (1024.0 * 1024.0), sumMs / (double) Math.max(1, count), (double) maxMs,
                pct(s, 0.5), pct(s, 0.95), pct(s, 0.99), pct(s, 0.999));
            if (errors > 0) System.err.println(errors + " records failed");
        }

        static int pct(int[] s, double p) {
            return s.length == 0 ? 0 : s[Math.min(s.length - 1, (int) (s.length * p))];
        }
    }
}
