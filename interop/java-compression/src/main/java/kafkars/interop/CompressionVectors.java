package kafkars.interop;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MemoryRecordsBuilder;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.Crc32C;

/**
 * Compression interop between the Java client (kafka-clients) and the Rust
 * crate kafka-compression.
 *
 * <pre>
 * generate DIR        write the Java vectors into DIR (the crate's tests/vectors)
 * verify DIR OURS     decompress every OURS/ours-*.bin with the Java codecs and
 *                     check it against the records the vectors were made from
 * </pre>
 */
public final class CompressionVectors {

    /** Start of the records section in a v2 RecordBatch. */
    private static final int RECORDS_OFFSET = 61;
    private static final int LENGTH_OFFSET = 8;
    private static final int CRC_OFFSET = 17;
    private static final int ATTRIBUTES_OFFSET = 21;

    private static final CompressionType[] CODECS = {
        CompressionType.GZIP, CompressionType.SNAPPY, CompressionType.LZ4, CompressionType.ZSTD
    };

    /** One record as the test builds it. */
    private record Rec(long timestamp, byte[] key, byte[] value, Header[] headers) { }

    private CompressionVectors() { }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("generate")) {
            generate(Paths.get(args[1]));
        } else if (args.length == 3 && args[0].equals("verify")) {
            System.exit(verify(Paths.get(args[1]), Paths.get(args[2])) ? 0 : 1);
        } else {
            System.err.println("usage: generate VECTORS_DIR | verify VECTORS_DIR OURS_DIR");
            System.exit(2);
        }
    }

    // ---- the records -------------------------------------------------------

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** About 4 KiB of records: keys, a null key, a tombstone, headers. */
    private static List<Rec> smallRecords() {
        List<Rec> recs = new ArrayList<>();
        long base = 1_700_000_000_000L;
        for (int i = 0; i < 30; i++) {
            byte[] key = i % 7 == 3 ? null : utf8("user-" + (i * 37 % 11));
            byte[] value = i == 17 ? null : utf8(String.format(Locale.ROOT,
                "{\"ts\":%d,\"level\":\"%s\",\"service\":\"checkout\",\"msg\":\"order %d handled in %d ms\",\"n\":%d}",
                base + i * 13, i % 5 == 0 ? "WARN" : "INFO", 4000 + i * 3, (i * 29) % 97, i));
            Header[] headers = i % 4 == 0
                ? new Header[] {new RecordHeader("trace-id", utf8(Integer.toHexString(0x5eed0000 + i))),
                                new RecordHeader("empty", null)}
                : new Header[0];
            recs.add(new Rec(base + i * 13, key, value, headers));
        }
        return recs;
    }

    /**
     * About 80 KiB of very repetitive log lines: more than one 64 KiB lz4 block
     * and more than two 32 KiB snappy-java chunks, yet only a few KiB compressed.
     */
    private static List<Rec> largeRecords() {
        List<Rec> recs = new ArrayList<>();
        long base = 1_700_000_500_000L;
        for (int i = 0; i < 600; i++) {
            String line = String.format(Locale.ROOT,
                "{\"ts\":%d,\"level\":\"INFO\",\"service\":\"inventory\",\"msg\":\"stock level checked for warehouse %d\",\"seq\":%d}",
                base + i, i % 4, i);
            recs.add(new Rec(base + i, utf8("sku-" + (i % 10)), utf8(line), new Header[0]));
        }
        return recs;
    }

    private static Compression compression(CompressionType type) {
        return Compression.of(type).build();
    }

    /** A whole v2 RecordBatch holding {@code recs}, built by the Java client. */
    private static byte[] batch(List<Rec> recs, Compression compression) {
        ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
        MemoryRecordsBuilder builder = MemoryRecords.builder(buffer, RecordBatch.MAGIC_VALUE_V2, compression,
            TimestampType.CREATE_TIME, 0L);
        for (Rec r : recs) {
            builder.append(r.timestamp(), r.key(), r.value(), r.headers());
        }
        ByteBuffer built = builder.build().buffer();
        byte[] bytes = new byte[built.remaining()];
        built.get(bytes);
        return bytes;
    }

    private static byte[] recordsSection(byte[] batch) {
        return Arrays.copyOfRange(batch, RECORDS_OFFSET, batch.length);
    }

    private static long crc32(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }

    private static String hex(byte[] bytes, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, bytes.length); i++) {
            sb.append(String.format("%02x ", bytes[i] & 0xff));
        }
        return sb.toString().trim();
    }

    // ---- generate ----------------------------------------------------------

    private static void generate(Path dir) throws IOException {
        Files.createDirectories(dir);
        StringBuilder manifest = new StringBuilder();
        manifest.append("# Written by interop/java-compression (kafka-clients ")
            .append(org.apache.kafka.common.utils.AppInfoParser.getVersion())
            .append("). One line per file: name, codec, batch attributes,\n")
            .append("# uncompressed records-section length, CRC-32 (java.util.zip) of the uncompressed bytes.\n");

        String[] sets = {"", "large-"};
        for (String set : sets) {
            List<Rec> recs = set.isEmpty() ? smallRecords() : largeRecords();
            byte[] plain = recordsSection(batch(recs, Compression.NONE));
            if (set.isEmpty()) {
                Files.write(dir.resolve("records.bin"), plain);
            }
            for (CompressionType type : CODECS) {
                byte[] batch = batch(recs, compression(type));
                short attributes = ByteBuffer.wrap(batch).getShort(ATTRIBUTES_OFFSET);
                byte[] section = recordsSection(batch);
                String name = "java-" + set + type.name + ".bin";
                Files.write(dir.resolve(name), section);
                manifest.append(String.format(Locale.ROOT, "%s %s %d %d %08x%n",
                    name, type.name, attributes, plain.length, crc32(plain)));
                System.out.printf(Locale.ROOT, "%-24s %6d -> %6d bytes, starts %s%n",
                    name, plain.length, section.length, hex(section, 8));
            }
        }
        Files.write(dir.resolve("manifest.txt"), manifest.toString().getBytes(StandardCharsets.UTF_8));
    }

    // ---- verify ------------------------------------------------------------

    private static CompressionType codecOf(String fileName) {
        for (CompressionType type : CODECS) {
            if (fileName.startsWith("ours-" + type.name + "-") || fileName.startsWith("ours-large-" + type.name)) {
                return type;
            }
        }
        throw new IllegalArgumentException("cannot tell the codec of " + fileName);
    }

    private static boolean verify(Path vectors, Path ours) throws IOException {
        byte[] smallPlain = Files.readAllBytes(vectors.resolve("records.bin"));
        List<Rec> small = smallRecords();
        List<Rec> large = largeRecords();
        if (!Arrays.equals(smallPlain, recordsSection(batch(small, Compression.NONE)))) {
            System.out.println("FAIL records.bin differs from the records this program builds");
            return false;
        }
        int passed = 0;
        int failed = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(ours, "ours-*.bin")) {
            List<Path> sorted = new ArrayList<>();
            files.forEach(sorted::add);
            sorted.sort(null);
            for (Path file : sorted) {
                String name = file.getFileName().toString();
                CompressionType type = codecOf(name);
                List<Rec> recs = name.startsWith("ours-large-") ? large : small;
                byte[] compressed = Files.readAllBytes(file);
                String problem = check(type, compressed, recs);
                if (problem == null) {
                    passed++;
                    System.out.printf(Locale.ROOT, "OK   %-28s %-6s %6d bytes, %3d records%n",
                        name, type.name, compressed.length, recs.size());
                } else {
                    failed++;
                    System.out.printf(Locale.ROOT, "FAIL %-28s %s%n", name, problem);
                }
            }
        }
        if (passed + failed == 0) {
            System.out.println("FAIL no ours-*.bin file in " + ours);
            return false;
        }
        System.out.printf(Locale.ROOT, "java-compression verify: %d passed, %d failed%n", passed, failed);
        return failed == 0;
    }

    /** Null when Java reads {@code compressed} back as {@code recs}, else what went wrong. */
    private static String check(CompressionType type, byte[] compressed, List<Rec> recs) {
        byte[] plainBatch = batch(recs, Compression.NONE);
        byte[] expected = recordsSection(plainBatch);

        // 1. The codec's own input stream, as a consumer's batch iterator uses it.
        byte[] decompressed;
        try (InputStream in = compression(type).wrapForInput(ByteBuffer.wrap(compressed),
                RecordBatch.MAGIC_VALUE_V2, BufferSupplier.create())) {
            decompressed = in.readAllBytes();
        } catch (Exception e) {
            return "Java cannot decompress it: " + e;
        }
        if (!Arrays.equals(decompressed, expected)) {
            return String.format(Locale.ROOT, "decompresses to %d bytes that differ from the expected %d",
                decompressed.length, expected.length);
        }

        // 2. A whole batch: the uncompressed batch's header with our compressed
        //    records, the codec bits set, length and CRC fixed, read by MemoryRecords.
        ByteBuffer buf = ByteBuffer.allocate(RECORDS_OFFSET + compressed.length);
        buf.put(plainBatch, 0, RECORDS_OFFSET).put(compressed);
        buf.putInt(LENGTH_OFFSET, buf.capacity() - 12);
        short attributes = buf.getShort(ATTRIBUTES_OFFSET);
        buf.putShort(ATTRIBUTES_OFFSET, (short) (attributes | type.id));
        buf.flip();
        // Crc32C.compute reads relative to the buffer's position, now 0.
        buf.putInt(CRC_OFFSET, (int) Crc32C.compute(buf, ATTRIBUTES_OFFSET, buf.limit() - ATTRIBUTES_OFFSET));
        try {
            List<Record> read = new ArrayList<>();
            for (RecordBatch batch : MemoryRecords.readableRecords(buf).batches()) {
                batch.ensureValid();
                if (batch.compressionType() != type) {
                    return "batch reads back as " + batch.compressionType();
                }
                batch.forEach(read::add);
            }
            if (read.size() != recs.size()) {
                return "batch holds " + read.size() + " records, expected " + recs.size();
            }
            for (int i = 0; i < recs.size(); i++) {
                Rec want = recs.get(i);
                Record got = read.get(i);
                if (got.offset() != i || got.timestamp() != want.timestamp()
                        || !Arrays.equals(bytes(got.key()), want.key())
                        || !Arrays.equals(bytes(got.value()), want.value())
                        || !Arrays.equals(got.headers(), want.headers())) {
                    return "record " + i + " differs";
                }
            }
        } catch (Exception e) {
            return "Java cannot read the batch: " + e;
        }
        return null;
    }

    private static byte[] bytes(ByteBuffer b) {
        if (b == null) {
            return null;
        }
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
