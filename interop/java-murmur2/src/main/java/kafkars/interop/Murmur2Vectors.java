package kafkars.interop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.serialization.IntegerSerializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Writes key-hashing vectors computed by the Java client itself.
 *
 * <p>One CSV line per key: the key in lowercase hex (empty for the empty key),
 * {@code Utils.murmur2(key)}, {@code Utils.toPositive} of it, then
 * {@code BuiltInPartitioner.partitionForKey(key, n)} for every n of
 * {@link #PARTITION_COUNTS}. The first line is a header naming the columns.
 *
 * <p>Usage: {@code Murmur2Vectors <output file>}.
 */
public final class Murmur2Vectors {

    /** Partition counts of the partition columns, in column order. */
    static final int[] PARTITION_COUNTS = {1, 2, 3, 6, 7, 12, 100};

    /** Seed of the random binary keys: the output must not change between runs. */
    static final long SEED = 794L;

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** ASCII text of exactly {@code n} bytes; differs per length so tails vary. */
    private static String ascii(int n) {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++)
            sb.append(alphabet.charAt((7 * i + n) % alphabet.length()));
        return sb.toString();
    }

    static List<byte[]> keys() {
        List<byte[]> keys = new ArrayList<>();
        // The empty key (a key of zero bytes, not a null key).
        keys.add(new byte[0]);
        // ASCII keys of every length from 1 to 64 bytes: every tail length (len % 4).
        for (int n = 1; n <= 64; n++)
            keys.add(utf8(ascii(n)));
        // Keys as applications write them.
        for (int i = 0; i < 20; i++)
            keys.add(utf8("key-" + i));
        for (String s : new String[] {
                "user-12345", "order:2024-01-01:000042", "a", "A", "0", " ", "  leading and trailing  ",
                "550e8400-e29b-41d4-a716-446655440000", "com.example.Topic", "tenant/eu-west-1/device/0042"})
            keys.add(utf8(s));
        // UTF-8 text with 2-, 3- and 4-byte characters.
        for (String s : new String[] {
                "\u00fc", "\u00e9t\u00e9", "na\u00efve caf\u00e9", "\u043a\u043b\u044e\u0447",
                "\u30ad\u30fc", "\u4e2d\u6587\u952e", "\ud83d\ude00", "\ud83d\udc4d\ud83c\udffd",
                "\u00df\u00e4\u00f6\u00fc\u00c4\u00d6\u00dc", "\u0645\u0641\u062a\u0627\u062d",
                "\u05de\u05e4\u05ea\u05d7", "\u0915\u0941\u0902\u091c\u0940", "\ud55c\uad6d\uc5b4 \ud0a4",
                "key-\u043a\u043b\u044e\u0447-\u30ad\u30fc-\u00fc", "\u20ac100", "\u2603\u2764",
                "\ud834\udd1e music", "emoji \ud83d\ude80\ud83c\udf0d\ud83d\udd11", "\u00a0nbsp",
                "\u0000nul\u0000"})
            keys.add(utf8(s));
        // Keys written by the Java IntegerSerializer and LongSerializer.
        try (IntegerSerializer ints = new IntegerSerializer(); LongSerializer longs = new LongSerializer()) {
            for (int v : new int[] {0, 1, -1, 42, Integer.MAX_VALUE, Integer.MIN_VALUE})
                keys.add(ints.serialize("t", v));
            for (long v : new long[] {0L, 1L, -1L, 1_700_000_000_000L, Long.MAX_VALUE, Long.MIN_VALUE})
                keys.add(longs.serialize("t", v));
        }
        // Random binary keys from a fixed seed: lengths 1 to 100 and every byte value.
        Random random = new Random(SEED);
        for (int i = 0; i < 80; i++) {
            byte[] key = new byte[1 + random.nextInt(100)];
            random.nextBytes(key);
            keys.add(key);
        }
        // Tails made of 0xff bytes (sign extension would show here).
        for (int n = 1; n <= 8; n++) {
            byte[] key = new byte[n];
            java.util.Arrays.fill(key, (byte) 0xff);
            keys.add(key);
        }
        return keys;
    }

    private static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte b : bytes)
            sb.append(String.format("%02x", b & 0xff));
        return sb.toString();
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: Murmur2Vectors <output file>");
            System.exit(2);
        }
        StringBuilder out = new StringBuilder();
        out.append("key_hex,murmur2,to_positive");
        for (int n : PARTITION_COUNTS)
            out.append(",n").append(n);
        out.append('\n');
        List<byte[]> keys = keys();
        for (byte[] key : keys) {
            int hash = Utils.murmur2(key);
            out.append(hex(key)).append(',').append(hash).append(',').append(Utils.toPositive(hash));
            for (int n : PARTITION_COUNTS)
                out.append(',').append(BuiltInPartitioner.partitionForKey(key, n));
            out.append('\n');
        }
        Path path = Paths.get(args[0]);
        Files.createDirectories(path.toAbsolutePath().getParent());
        Files.write(path, out.toString().getBytes(StandardCharsets.US_ASCII));
        System.out.println("wrote " + keys.size() + " keys to " + path);
    }
}
