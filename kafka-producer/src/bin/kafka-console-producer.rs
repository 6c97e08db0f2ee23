//! Lines of stdin (or a file) to a topic, as `kafka-console-producer.sh` and
//! `kcat -P` do.
//!
//! ```text
//! kafka-console-producer --bootstrap-server 127.0.0.1:9092 --topic events \
//!   [--property parse.key=true] [--property key.separator=:] \
//!   [--property parse.headers=true] [--producer-property acks=1] \
//!   [--producer.config client.properties] [--compression-codec [lz4]] [--file input.txt]
//! ```
//!
//! Line format (Java's `LineMessageReader`): `[headers<headers.delimiter>][key<key.separator>]value`,
//! headers as `k1:v1,k2:v2` (`headers.separator` `,`, `headers.key.separator`
//! `:`); `null.marker` turns a key, value or header value into null. Failures
//! go to stderr with their line number; the acknowledged count is printed at
//! the end, and the exit status is 1 when any record failed.

use std::collections::HashMap;
use std::io::BufRead;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use kafka_producer::{Producer, ProducerRecord};

const USAGE: &str =
    "usage: kafka-console-producer --bootstrap-server HOST:PORT[,...] --topic TOPIC \
[--property NAME=VALUE]... [--producer-property KEY=VALUE]... [--producer.config FILE] \
[--compression-codec [none|gzip|snappy|lz4|zstd]] [--file FILE]
  reader properties: parse.key (false), key.separator (\\t), parse.headers (false),
  headers.delimiter (\\t), headers.separator (,), headers.key.separator (:),
  null.marker (none), ignore.error (false)";

struct Reader {
    parse_key: bool,
    key_separator: String,
    parse_headers: bool,
    headers_delimiter: String,
    headers_separator: String,
    headers_key_separator: String,
    null_marker: Option<String>,
    ignore_error: bool,
}

impl Reader {
    fn new(props: &HashMap<String, String>) -> Result<Reader, String> {
        let get = |k: &str, default: &str| props.get(k).cloned().unwrap_or_else(|| default.into());
        let flag = |k: &str| -> Result<bool, String> {
            match props.get(k).map(|s| s.trim().to_ascii_lowercase()) {
                None => Ok(false),
                Some(v) if v == "true" => Ok(true),
                Some(v) if v == "false" => Ok(false),
                Some(v) => Err(format!("--property {k}={v}: expected true or false")),
            }
        };
        for k in props.keys() {
            if ![
                "parse.key",
                "key.separator",
                "parse.headers",
                "headers.delimiter",
                "headers.separator",
                "headers.key.separator",
                "null.marker",
                "ignore.error",
            ]
            .contains(&k.as_str())
            {
                return Err(format!("unknown --property {k}"));
            }
        }
        let r = Reader {
            parse_key: flag("parse.key")?,
            key_separator: get("key.separator", "\t"),
            parse_headers: flag("parse.headers")?,
            headers_delimiter: get("headers.delimiter", "\t"),
            headers_separator: get("headers.separator", ","),
            headers_key_separator: get("headers.key.separator", ":"),
            null_marker: props.get("null.marker").cloned().filter(|m| !m.is_empty()),
            ignore_error: flag("ignore.error")?,
        };
        for (name, sep) in [
            ("key.separator", &r.key_separator),
            ("headers.delimiter", &r.headers_delimiter),
            ("headers.separator", &r.headers_separator),
            ("headers.key.separator", &r.headers_key_separator),
        ] {
            if sep.is_empty() {
                return Err(format!("--property {name} must not be empty"));
            }
        }
        Ok(r)
    }

    fn nullable(&self, s: &str) -> Option<Bytes> {
        match &self.null_marker {
            Some(m) if m == s => None,
            _ => Some(Bytes::copy_from_slice(s.as_bytes())),
        }
    }

    /// One line as a record of `topic`.
    fn record(&self, topic: &str, line: &str) -> Result<ProducerRecord, String> {
        let mut rest = line;
        let mut record = ProducerRecord::new(topic);
        if self.parse_headers {
            match rest.split_once(self.headers_delimiter.as_str()) {
                Some((headers, after)) => {
                    for h in headers
                        .split(self.headers_separator.as_str())
                        .filter(|h| !h.is_empty())
                    {
                        let (k, v) = h
                            .split_once(self.headers_key_separator.as_str())
                            .ok_or_else(|| {
                                format!("header {h:?} has no {:?}", self.headers_key_separator)
                            })?;
                        if self.null_marker.as_deref() == Some(k) {
                            return Err("a header key cannot be the null marker".into());
                        }
                        record = record.header(k.to_string(), self.nullable(v));
                    }
                    rest = after;
                }
                None if self.ignore_error => {}
                None => return Err(format!("no headers delimiter {:?}", self.headers_delimiter)),
            }
        }
        if self.parse_key {
            match rest.split_once(self.key_separator.as_str()) {
                Some((key, value)) => {
                    if let Some(k) = self.nullable(key) {
                        record = record.key(k);
                    }
                    rest = value;
                }
                None if self.ignore_error => {}
                None => return Err(format!("no key separator {:?}", self.key_separator)),
            }
        }
        if let Some(v) = self.nullable(rest) {
            record = record.value(v);
        }
        Ok(record)
    }
}

struct Args {
    bootstrap: Option<String>,
    topic: Option<String>,
    reader: HashMap<String, String>,
    producer: Vec<(String, String)>,
    file: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        bootstrap: None,
        topic: None,
        reader: HashMap::new(),
        producer: Vec::new(),
        file: None,
    };
    let kv = |s: &str, what: &str| -> Result<(String, String), String> {
        s.split_once('=')
            .map(|(k, v)| (k.trim().to_string(), v.to_string()))
            .ok_or_else(|| format!("{what} {s}: expected NAME=VALUE"))
    };
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        let value = |i: usize| {
            argv.get(i + 1)
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg {
            "--bootstrap-server" | "--broker-list" => a.bootstrap = Some(value(i)?),
            "--topic" => a.topic = Some(value(i)?),
            "--property" => {
                let (k, v) = kv(&value(i)?, arg)?;
                a.reader.insert(k, v);
            }
            "--producer-property" | "--command-property" => a.producer.push(kv(&value(i)?, arg)?),
            "--producer.config" | "--command-config" => {
                let path = value(i)?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
                for line in text.lines().map(str::trim) {
                    if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                        continue;
                    }
                    let (k, v) = line
                        .split_once(['=', ':'])
                        .ok_or_else(|| format!("{path}: {line:?} is not key=value"))?;
                    a.producer
                        .push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            "--compression-codec" => {
                // As Java's tool: without a value, gzip.
                let codec = match argv.get(i + 1).filter(|v| !v.starts_with("--")) {
                    Some(c) => c.clone(),
                    None => {
                        a.producer.push(("compression.type".into(), "gzip".into()));
                        i += 1;
                        continue;
                    }
                };
                a.producer.push(("compression.type".into(), codec));
            }
            "--file" => a.file = Some(value(i)?),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(a)
}

/// Records sent, acknowledged and failed (with their line numbers on stderr).
#[derive(Default)]
struct Tally {
    sent: u64,
    acked: u64,
    failed: u64,
}

impl Tally {
    fn fail(&mut self, line: u64, e: impl std::fmt::Display) -> Option<ProducerRecord> {
        self.failed += 1;
        eprintln!("line {line}: {e}");
        None
    }

    fn report(
        &mut self,
        line: u64,
        r: Result<kafka_producer::RecordMetadata, kafka_producer::ProducerError>,
    ) {
        match r {
            Ok(_) => self.acked += 1,
            Err(e) => {
                self.fail(line, e);
            }
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let (Some(bootstrap), Some(topic)) = (args.bootstrap.clone(), args.topic.clone()) else {
        eprintln!("--bootstrap-server and --topic are required\n{USAGE}");
        std::process::exit(2);
    };
    let reader = Reader::new(&args.reader).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let mut props = vec![("bootstrap.servers".to_string(), bootstrap)];
    props.extend(args.producer);
    let producer = match Producer::from_properties(props) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Lines come from a thread: reading a terminal blocks, the producer must not.
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<std::io::Result<String>>(1024);
    let file = args.file.clone();
    std::thread::spawn(move || {
        let input: Box<dyn BufRead> = match file {
            Some(path) => match std::fs::File::open(&path) {
                Ok(f) => Box::new(std::io::BufReader::new(f)),
                Err(e) => {
                    let _ = lines_tx
                        .blocking_send(Err(std::io::Error::new(e.kind(), format!("{path}: {e}"))));
                    return;
                }
            },
            None => Box::new(std::io::stdin().lock()),
        };
        for line in input.lines() {
            if lines_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let mut pending = FuturesUnordered::new();
    let mut t = Tally::default();
    let mut line_no = 0u64;
    loop {
        tokio::select! {
            biased;
            Some((n, r)) = pending.next(), if !pending.is_empty() => t.report(n, r),
            line = lines.recv() => {
                let Some(line) = line else { break };
                line_no += 1;
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("reading input: {e}");
                        t.failed += 1;
                        break;
                    }
                };
                let line = line.strip_suffix('\r').unwrap_or(&line);
                let record = match reader.record(&topic, line) {
                    Ok(r) => Some(r),
                    Err(e) => t.fail(line_no, e),
                };
                let Some(record) = record else { continue };
                t.sent += 1;
                match producer.send(record).await {
                    Ok(delivery) => {
                        let n = line_no;
                        pending.push(async move { (n, delivery.await) });
                    }
                    Err(e) => {
                        t.fail(line_no, e);
                    }
                }
            }
        }
    }
    while let Some((n, r)) = pending.next().await {
        t.report(n, r);
    }
    producer.close(Duration::from_secs(30)).await;
    eprintln!("{} of {} records acknowledged", t.acked, t.sent);
    if t.failed > 0 {
        std::process::exit(1);
    }
}
