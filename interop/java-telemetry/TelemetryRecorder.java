// A broker-side client telemetry plugin (KIP-714) for the tests: it
// records every PushTelemetry payload the broker accepts, decoded with the
// OpenTelemetry classes kafka-clients ships, one line per data point, in
// `<kafkars.telemetry.dir>/<client instance id>.txt`.
//
// Line format (tab-separated):
//   client_id  terminating  name  kind  value  attributes  resource
// where kind is `gauge` or `sum/<temporality>/<monotonic>`, attributes and
// resource are `k=v` pairs joined by `,`. The instance id in the file name
// is the 32 hex digits of its 16 bytes.
//
// `cargo xtask kafka up` compiles it against the broker's own jars and
// names it in `metric.reporters`.
package kafkars.interop;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.apache.kafka.server.authorizer.AuthorizableRequestContext;
import org.apache.kafka.server.telemetry.ClientTelemetry;
import org.apache.kafka.server.telemetry.ClientTelemetryPayload;
import org.apache.kafka.server.telemetry.ClientTelemetryReceiver;
import org.apache.kafka.shaded.io.opentelemetry.proto.common.v1.KeyValue;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.Metric;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.MetricsData;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import org.apache.kafka.shaded.io.opentelemetry.proto.metrics.v1.ScopeMetrics;

@SuppressWarnings({"deprecation", "removal"})
public class TelemetryRecorder implements MetricsReporter, ClientTelemetry, ClientTelemetryReceiver {
    private Path dir;

    @Override
    public void configure(Map<String, ?> configs) {
        Object d = configs.get("kafkars.telemetry.dir");
        dir = Path.of(d == null ? "telemetry" : d.toString());
    }

    @Override
    public void init(List<KafkaMetric> metrics) {}

    @Override
    public void metricChange(KafkaMetric metric) {}

    @Override
    public void metricRemoval(KafkaMetric metric) {}

    @Override
    public void close() {}

    @Override
    public ClientTelemetryReceiver clientReceiver() {
        return this;
    }

    @Override
    public void exportMetrics(AuthorizableRequestContext context, ClientTelemetryPayload payload) {
        StringBuilder out = new StringBuilder();
        try {
            MetricsData data = MetricsData.parseFrom(payload.data().duplicate());
            for (ResourceMetrics rm : data.getResourceMetricsList()) {
                String resource = pairs(rm.getResource().getAttributesList());
                for (ScopeMetrics sm : rm.getScopeMetricsList()) {
                    for (Metric m : sm.getMetricsList()) {
                        List<NumberDataPoint> points;
                        String kind;
                        if (m.hasSum()) {
                            points = m.getSum().getDataPointsList();
                            kind = "sum/" + m.getSum().getAggregationTemporality().getNumber() + "/" + m.getSum().getIsMonotonic();
                        } else if (m.hasGauge()) {
                            points = m.getGauge().getDataPointsList();
                            kind = "gauge";
                        } else {
                            points = List.of();
                            kind = "other";
                        }
                        for (NumberDataPoint p : points) {
                            double v = p.hasAsDouble() ? p.getAsDouble() : (double) p.getAsInt();
                            out.append(context.clientId()).append('\t')
                                .append(payload.isTerminating()).append('\t')
                                .append(m.getName()).append('\t')
                                .append(kind).append('\t')
                                .append(v).append('\t')
                                .append(pairs(p.getAttributesList())).append('\t')
                                .append(resource).append('\n');
                        }
                    }
                }
            }
        } catch (Exception e) {
            out.append("ERROR\t").append(e).append('\n');
        }
        Uuid id = payload.clientInstanceId();
        String name = String.format("%016x%016x.txt", id.getMostSignificantBits(), id.getLeastSignificantBits());
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name), out.toString(), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static String pairs(List<KeyValue> kvs) {
        return kvs.stream()
            .map(kv -> kv.getKey() + "=" + kv.getValue().getStringValue())
            .sorted()
            .collect(Collectors.joining(","));
    }
}
