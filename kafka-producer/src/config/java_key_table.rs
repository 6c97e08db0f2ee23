//! The table of Java's producer keys (see the parent module).

use super::ClassKey;
use super::JavaKey;
use super::KeyStatus::{Applied, Class, NoEffect};

/// Every key of Java's producer configuration, in Java's (alphabetical)
/// order.
pub const JAVA_PRODUCER_KEYS: &[JavaKey] = &[
    JavaKey {
        name: "acks",
        default: Some("all"),
        status: Applied("acknowledgements the leader waits for before a send completes (`all`, `1`, `0`)"),
    },
    JavaKey {
        name: "batch.size",
        default: Some("16384"),
        status: Applied("the most bytes of records batched per partition"),
    },
    JavaKey {
        name: "bootstrap.resolve.timeout.ms",
        default: Some("0"),
        status: NoEffect("bootstrap addresses are resolved at each connection attempt"),
    },
    JavaKey {
        name: "bootstrap.servers",
        default: None,
        status: Applied("the brokers first contacted for metadata (and again on rebootstrap)"),
    },
    JavaKey {
        name: "buffer.memory",
        default: Some("33554432"),
        status: Applied("the bytes of records held before `send` waits (`max.block.ms`)"),
    },
    JavaKey {
        name: "buffer.memory.allocation.strategy",
        default: Some("full"),
        status: NoEffect("buffer.memory is always taken whole per batch buffer, as Java's `full`"),
    },
    JavaKey {
        name: "client.dns.lookup",
        default: Some("use_all_dns_ips"),
        status: Applied("`use_all_dns_ips`: every address of a name tried in turn; `resolve_canonical_bootstrap_servers_only`: bootstrap addresses first become their canonical host names (reverse lookups)"),
    },
    JavaKey {
        name: "client.id",
        default: Some(""),
        status: Applied("the client id sent with every request (default `producer-N`)"),
    },
    JavaKey {
        name: "client.rack",
        default: Some(""),
        status: Applied("the rack of this client, for rack-aware partitioning (`partitioner.rack.aware`)"),
    },
    JavaKey {
        name: "compression.gzip.level",
        default: Some("-1"),
        status: Applied("the gzip level"),
    },
    JavaKey {
        name: "compression.lz4.level",
        default: Some("9"),
        status: Applied("the lz4 level"),
    },
    JavaKey {
        name: "compression.type",
        default: Some("none"),
        status: Applied("the batches' codec: `none`, `gzip`, `snappy`, `lz4`, `zstd`"),
    },
    JavaKey {
        name: "compression.zstd.level",
        default: Some("3"),
        status: Applied("the zstd level"),
    },
    JavaKey {
        name: "config.providers",
        default: Some(""),
        status: Applied("`file`, `dir` and `env` providers resolve `${provider:...}` in other values at build"),
    },
    JavaKey {
        name: "connections.max.idle.ms",
        default: Some("540000"),
        status: Applied("idle broker connections are closed after this long"),
    },
    JavaKey {
        name: "delivery.timeout.ms",
        default: Some("120000"),
        status: Applied("the bound on a record's delivery, retries included"),
    },
    JavaKey {
        name: "enable.idempotence",
        default: Some("true"),
        status: Applied("idempotent produce (producer id, epoch and sequence numbers)"),
    },
    JavaKey {
        name: "enable.metrics.push",
        default: Some("true"),
        status: Applied("client telemetry (KIP-714) pushed to a subscribing broker"),
    },
    JavaKey {
        name: "interceptor.classes",
        default: Some(""),
        status: Class(ClassKey::Interceptor),
    },
    JavaKey {
        name: "key.serializer",
        default: None,
        status: NoEffect("serializers are Rust types (kafka_producer::serializer); records carry bytes"),
    },
    JavaKey {
        name: "linger.ms",
        default: Some("5"),
        status: Applied("how long a batch waits for more records"),
    },
    JavaKey {
        name: "max.block.ms",
        default: Some("60000"),
        status: Applied("how long `send` and `partitions_for` wait for buffer memory or metadata"),
    },
    JavaKey {
        name: "max.in.flight.requests.per.connection",
        default: Some("5"),
        status: Applied("unacknowledged Produce requests per broker"),
    },
    JavaKey {
        name: "max.request.size",
        default: Some("1048576"),
        status: Applied("the largest record (and request) sent"),
    },
    JavaKey {
        name: "metadata.cluster.check.enable",
        default: Some("true"),
        status: NoEffect("the cluster id is not checked yet"),
    },
    JavaKey {
        name: "metadata.max.age.ms",
        default: Some("300000"),
        status: Applied("metadata is refreshed at least this often"),
    },
    JavaKey {
        name: "metadata.max.idle.ms",
        default: Some("300000"),
        status: Applied("a topic not sent to for this long leaves the metadata"),
    },
    JavaKey {
        name: "metadata.recovery.rebootstrap.trigger.ms",
        default: Some("300000"),
        status: Applied("Metadata failing this long rebootstraps (KIP-1102)"),
    },
    JavaKey {
        name: "metadata.recovery.strategy",
        default: Some("rebootstrap"),
        status: Applied("`rebootstrap`: back to `bootstrap.servers` when the known brokers fail (KIP-899); `none`"),
    },
    JavaKey {
        name: "metric.reporters",
        default: Some("org.apache.kafka.common.metrics.JmxReporter"),
        status: Class(ClassKey::MetricReporter),
    },
    JavaKey {
        name: "metrics.num.samples",
        default: Some("2"),
        status: NoEffect("rates are computed from once-a-second samples over 30 s"),
    },
    JavaKey {
        name: "metrics.recording.level",
        default: Some("INFO"),
        status: NoEffect("every metric is always recorded (they are counters, per batch)"),
    },
    JavaKey {
        name: "metrics.sample.window.ms",
        default: Some("30000"),
        status: NoEffect("rates are computed from once-a-second samples over 30 s"),
    },
    JavaKey {
        name: "partitioner.adaptive.partitioning.enable",
        default: Some("true"),
        status: Applied("keyless records go more to faster brokers"),
    },
    JavaKey {
        name: "partitioner.availability.timeout.ms",
        default: Some("0"),
        status: Applied("a broker this slow to take batches gets no keyless records"),
    },
    JavaKey {
        name: "partitioner.class",
        default: None,
        status: Applied("Kafka's `RoundRobinPartitioner`; a Rust partitioner is a builder option"),
    },
    JavaKey {
        name: "partitioner.ignore.keys",
        default: Some("false"),
        status: Applied("keyed records are partitioned as keyless ones"),
    },
    JavaKey {
        name: "partitioner.rack.aware",
        default: Some("false"),
        status: Applied("keyless records prefer partitions led in `client.rack`"),
    },
    JavaKey {
        name: "receive.buffer.bytes",
        default: Some("32768"),
        status: Applied("the socket's receive buffer (-1: the operating system's default)"),
    },
    JavaKey {
        name: "reconnect.backoff.max.ms",
        default: Some("1000"),
        status: Applied("the most a reconnection waits, after growing"),
    },
    JavaKey {
        name: "reconnect.backoff.ms",
        default: Some("50"),
        status: Applied("the first wait before reconnecting to a broker"),
    },
    JavaKey {
        name: "request.timeout.ms",
        default: Some("30000"),
        status: Applied("how long a request waits for its answer"),
    },
    JavaKey {
        name: "retries",
        default: Some("2147483647"),
        status: Applied("how many times a failed batch is sent again"),
    },
    JavaKey {
        name: "retry.backoff.max.ms",
        default: Some("1000"),
        status: Applied("the most a retry waits, after growing"),
    },
    JavaKey {
        name: "retry.backoff.ms",
        default: Some("100"),
        status: Applied("the first wait before a retry"),
    },
    JavaKey {
        name: "sasl.client.callback.handler.class",
        default: None,
        status: Class(ClassKey::SaslCallback),
    },
    JavaKey {
        name: "sasl.jaas.config",
        default: None,
        status: Applied("the JAAS line: PLAIN and SCRAM credentials, OAUTHBEARER client credentials or unsecured test tokens"),
    },
    JavaKey {
        name: "sasl.kerberos.kinit.cmd",
        default: Some("/usr/bin/kinit"),
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.kerberos.min.time.before.relogin",
        default: Some("60000"),
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.kerberos.service.name",
        default: None,
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.kerberos.ticket.renew.jitter",
        default: Some("0.05"),
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.kerberos.ticket.renew.window.factor",
        default: Some("0.8"),
        status: NoEffect("GSSAPI (Kerberos) is not supported; this key only serves it"),
    },
    JavaKey {
        name: "sasl.login.callback.handler.class",
        default: None,
        status: Applied("empty, or Kafka's `OAuthBearerLoginCallbackHandler` (tokens from the token endpoint); other classes are an error naming a `TokenProvider`"),
    },
    JavaKey {
        name: "sasl.login.class",
        default: None,
        status: Class(ClassKey::SaslCallback),
    },
    JavaKey {
        name: "sasl.login.connect.timeout.ms",
        default: None,
        status: Applied("the token endpoint's connect timeout"),
    },
    JavaKey {
        name: "sasl.login.read.timeout.ms",
        default: None,
        status: Applied("the token endpoint's read timeout"),
    },
    JavaKey {
        name: "sasl.login.refresh.buffer.seconds",
        default: Some("300"),
        status: Applied("when an OAUTHBEARER token is fetched again"),
    },
    JavaKey {
        name: "sasl.login.refresh.min.period.seconds",
        default: Some("60"),
        status: Applied("when an OAUTHBEARER token is fetched again"),
    },
    JavaKey {
        name: "sasl.login.refresh.window.factor",
        default: Some("0.8"),
        status: Applied("when an OAUTHBEARER token is fetched again"),
    },
    JavaKey {
        name: "sasl.login.refresh.window.jitter",
        default: Some("0.05"),
        status: Applied("when an OAUTHBEARER token is fetched again"),
    },
    JavaKey {
        name: "sasl.login.retry.backoff.max.ms",
        default: Some("10000"),
        status: Applied("the token endpoint's retry backoff, at most"),
    },
    JavaKey {
        name: "sasl.login.retry.backoff.ms",
        default: Some("100"),
        status: Applied("the token endpoint's first retry backoff"),
    },
    JavaKey {
        name: "sasl.mechanism",
        default: Some("GSSAPI"),
        status: Applied("`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, `OAUTHBEARER` (`GSSAPI` is an error)"),
    },
    JavaKey {
        name: "sasl.oauthbearer.allow.unverified.audience",
        default: Some("false"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.allow.unverified.issuer",
        default: Some("false"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.algorithm",
        default: Some("RS256"),
        status: Applied("the jwt-bearer assertion's signature: RS256 or ES256 (KIP-1139)"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.aud",
        default: None,
        status: Applied("the jwt-bearer assertion's claims"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.exp.seconds",
        default: Some("300"),
        status: Applied("the jwt-bearer assertion's claims"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.iss",
        default: None,
        status: Applied("the jwt-bearer assertion's claims"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.jti.include",
        default: Some("false"),
        status: Applied("the jwt-bearer assertion's claims"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.nbf.seconds",
        default: Some("60"),
        status: Applied("the jwt-bearer assertion's claims"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.claim.sub",
        default: None,
        status: Applied("the jwt-bearer assertion's claims"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.file",
        default: None,
        status: Applied("a ready jwt-bearer assertion, read from a file"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.private.key.file",
        default: None,
        status: Applied("the key the jwt-bearer assertion is signed with"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.private.key.passphrase",
        default: None,
        status: Applied("decrypts that key"),
    },
    JavaKey {
        name: "sasl.oauthbearer.assertion.template.file",
        default: None,
        status: Applied("the jwt-bearer assertion's header and claims, from a file"),
    },
    JavaKey {
        name: "sasl.oauthbearer.client.credentials.client.id",
        default: None,
        status: Applied("the client credentials grant's client id"),
    },
    JavaKey {
        name: "sasl.oauthbearer.client.credentials.client.secret",
        default: None,
        status: Applied("the client credentials grant's secret"),
    },
    JavaKey {
        name: "sasl.oauthbearer.clock.skew.seconds",
        default: Some("30"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.expected.audience",
        default: Some(""),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.expected.issuer",
        default: None,
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.header.urlencode",
        default: Some("false"),
        status: Applied("the client id and secret URL-encoded in the Authorization header"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwks.endpoint.refresh.ms",
        default: Some("3600000"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
        default: Some("10000"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
        default: Some("100"),
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwks.endpoint.url",
        default: None,
        status: NoEffect("a broker-side token validation setting; a client does not validate its own token's signature"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwt.retriever.class",
        default: Some("org.apache.kafka.common.security.oauthbearer.DefaultJwtRetriever"),
        status: Applied("Kafka's retrievers: `DefaultJwtRetriever`, `ClientCredentialsJwtRetriever`, `JwtBearerJwtRetriever`, `FileJwtRetriever`"),
    },
    JavaKey {
        name: "sasl.oauthbearer.jwt.validator.class",
        default: Some("org.apache.kafka.common.security.oauthbearer.DefaultJwtValidator"),
        status: Class(ClassKey::JwtClass),
    },
    JavaKey {
        name: "sasl.oauthbearer.scope",
        default: None,
        status: Applied("the scope asked of the identity provider"),
    },
    JavaKey {
        name: "sasl.oauthbearer.scope.claim.name",
        default: Some("scope"),
        status: NoEffect("the token's scopes are not read by this client; the broker reads them"),
    },
    JavaKey {
        name: "sasl.oauthbearer.sub.claim.name",
        default: Some("sub"),
        status: Applied("the claim naming the token's principal"),
    },
    JavaKey {
        name: "sasl.oauthbearer.token.endpoint.url",
        default: None,
        status: Applied("the identity provider's token endpoint, or a `file://` token (feature `oidc`)"),
    },
    JavaKey {
        name: "security.protocol",
        default: Some("PLAINTEXT"),
        status: Applied("`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL`"),
    },
    JavaKey {
        name: "security.providers",
        default: None,
        status: Class(ClassKey::SecurityProvider),
    },
    JavaKey {
        name: "send.buffer.bytes",
        default: Some("131072"),
        status: Applied("the socket's send buffer (-1: the operating system's default)"),
    },
    JavaKey {
        name: "socket.connection.setup.timeout.max.ms",
        default: Some("30000"),
        status: Applied("the most a connection attempt's timeout grows to"),
    },
    JavaKey {
        name: "socket.connection.setup.timeout.ms",
        default: Some("10000"),
        status: Applied("each address's connection timeout, doubled with jitter per failed attempt"),
    },
    JavaKey {
        name: "ssl.cipher.suites",
        default: Some(""),
        status: Applied("the TLS suites offered, by IANA name, in order of preference (empty: all of rustls's); a suite rustls lacks is an error naming the supported ones"),
    },
    JavaKey {
        name: "ssl.enabled.protocols",
        default: Some("TLSv1.2,TLSv1.3"),
        status: Applied("`TLSv1.2`, `TLSv1.3`"),
    },
    JavaKey {
        name: "ssl.endpoint.identification.algorithm",
        default: Some("https"),
        status: Applied("`https`: the broker's certificate must name its host; empty: not checked"),
    },
    JavaKey {
        name: "ssl.engine.factory.class",
        default: None,
        status: Class(ClassKey::TlsEngine),
    },
    JavaKey {
        name: "ssl.key.password",
        default: None,
        status: Applied("decrypts an encrypted PKCS#8 key or a PKCS12 store's key"),
    },
    JavaKey {
        name: "ssl.keymanager.algorithm",
        default: Some("SunX509"),
        status: NoEffect("Java's TLS engine settings do not apply: TLS here is rustls"),
    },
    JavaKey {
        name: "ssl.keystore.certificate.chain",
        default: None,
        status: Applied("the client's certificate chain, inline (PEM)"),
    },
    JavaKey {
        name: "ssl.keystore.key",
        default: None,
        status: Applied("the client's key, inline (PEM)"),
    },
    JavaKey {
        name: "ssl.keystore.location",
        default: None,
        status: Applied("the client's key and certificate (mutual TLS): PEM or PKCS12"),
    },
    JavaKey {
        name: "ssl.keystore.password",
        default: None,
        status: Applied("the PKCS12 keystore's password"),
    },
    JavaKey {
        name: "ssl.keystore.type",
        default: Some("JKS"),
        status: Applied("`PEM`, `PKCS12`; `JKS` reads a PKCS12 file, a true JKS store is an error naming the `keytool` command"),
    },
    JavaKey {
        name: "ssl.protocol",
        default: Some("TLSv1.3"),
        status: Applied("checked (`TLSv1.3`, `TLSv1.2`, `TLS`); `ssl.enabled.protocols` decides the versions"),
    },
    JavaKey {
        name: "ssl.provider",
        default: None,
        status: NoEffect("Java's TLS engine settings do not apply: TLS here is rustls"),
    },
    JavaKey {
        name: "ssl.secure.random.implementation",
        default: None,
        status: NoEffect("Java's TLS engine settings do not apply: TLS here is rustls"),
    },
    JavaKey {
        name: "ssl.trustmanager.algorithm",
        default: Some("PKIX"),
        status: NoEffect("Java's TLS engine settings do not apply: TLS here is rustls"),
    },
    JavaKey {
        name: "ssl.truststore.certificates",
        default: None,
        status: Applied("CA certificates, inline (PEM)"),
    },
    JavaKey {
        name: "ssl.truststore.location",
        default: None,
        status: Applied("CA certificates: PEM or PKCS12 (none: the platform's roots)"),
    },
    JavaKey {
        name: "ssl.truststore.password",
        default: None,
        status: Applied("the PKCS12 truststore's password"),
    },
    JavaKey {
        name: "ssl.truststore.type",
        default: Some("JKS"),
        status: Applied("`PEM`, `PKCS12`; `JKS` as for the keystore"),
    },
    JavaKey {
        name: "transaction.timeout.ms",
        default: Some("60000"),
        status: Applied("the coordinator aborts a transaction open this long"),
    },
    JavaKey {
        name: "transaction.two.phase.commit.enable",
        default: Some("false"),
        status: Applied("two-phase commit (KIP-939): kafka-txn's `prepare_transaction` and `complete_transaction`; with Java's rule against an explicit `transaction.timeout.ms` beside it"),
    },
    JavaKey {
        name: "transactional.id",
        default: None,
        status: Applied("transactions (kafka-txn's `TransactionalProducer`)"),
    },
    JavaKey {
        name: "value.serializer",
        default: None,
        status: NoEffect("serializers are Rust types (kafka_producer::serializer); records carry bytes"),
    },
];

/// Keys of Java's consumer and admin configurations that are not producer
/// keys.
pub const JAVA_CONSUMER_AND_ADMIN_KEYS: &[&str] = &[
    "allow.auto.create.topics",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "check.crcs",
    "default.api.timeout.ms",
    "enable.auto.commit",
    "exclude.internal.topics",
    "fetch.max.bytes",
    "fetch.max.wait.ms",
    "fetch.min.bytes",
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.remote.assignor",
    "heartbeat.interval.ms",
    "internal.throw.on.fetch.stable.offset.unsupported",
    "isolation.level",
    "key.deserializer",
    "max.partition.fetch.bytes",
    "max.poll.interval.ms",
    "max.poll.records",
    "partition.assignment.strategy",
    "session.timeout.ms",
    "share.acknowledgement.mode",
    "share.acquire.mode",
    "value.deserializer",
    "bootstrap.controllers",
];

/// Keys of Confluent's Schema Registry serializers and their registry
/// client (besides every key starting with
/// [`CONFLUENT_SERIALIZER_PREFIX`]), which Confluent Cloud's snippets carry
/// beside the producer's.
pub const CONFLUENT_SERIALIZER_KEYS: &[&str] = &[
    "auto.register.schemas",
    "avro.reflection.allow.null",
    "avro.remove.java.properties",
    "avro.use.logical.type.converters",
    "basic.auth.credentials.source",
    "basic.auth.user.info",
    "bearer.auth.cache.expiry.buffer.seconds",
    "bearer.auth.client.id",
    "bearer.auth.client.secret",
    "bearer.auth.credentials.source",
    "bearer.auth.custom.provider.class",
    "bearer.auth.identity.pool.id",
    "bearer.auth.issuer.endpoint.url",
    "bearer.auth.logical.cluster",
    "bearer.auth.scope",
    "bearer.auth.scope.claim.name",
    "bearer.auth.sub.claim.name",
    "bearer.auth.token",
    "context.name.strategy",
    "id.compatibility.strict",
    "json.default.property.inclusion",
    "json.fail.invalid.schema",
    "json.fail.unknown.properties",
    "json.oneof.for.nullables",
    "json.schema.spec.version",
    "json.write.dates.iso8601",
    "key.subject.name.strategy",
    "latest.cache.size",
    "latest.cache.ttl.sec",
    "latest.compatibility.strict",
    "max.schemas.per.subject",
    "normalize.schemas",
    "proxy.host",
    "proxy.port",
    "rule.actions",
    "rule.executors",
    "schema.reflection",
    "specific.avro.reader",
    "use.latest.version",
    "use.latest.with.metadata",
    "use.schema.id",
    "value.subject.name.strategy",
];

/// The registry client's own settings (`schema.registry.url`,
/// `schema.registry.basic.auth.user.info`, `schema.registry.ssl.*`, ...).
pub const CONFLUENT_SERIALIZER_PREFIX: &str = "schema.registry.";
