//! `kafka-console-producer` end to end against a real broker: lines with
//! keys, headers and null markers become records; bad lines and failed
//! records are reported on stderr by line number; the exit status and the
//! acknowledged count say how it went.

use std::io::Write;
use std::process::{Command, Stdio};

use bytes::Bytes;
use kafka_testkit as testkit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn bootstrap() -> String {
    testkit::cluster_env(ROOT)
        .get("KAFKA_BOOTSTRAP")
        .cloned()
        .expect("no Kafka cluster: run `cargo xtask kafka up` first (or `cargo xtask ci`)")
}

/// Runs the tool with `args`, `input` on stdin; (exit code, stderr).
fn console(args: &[&str], input: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafka-console-producer"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kafka-console-producer");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn b(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_become_records_and_failures_name_their_line() {
    let bootstrap = bootstrap();
    let admin = testkit::connect(bootstrap.split(',').next().unwrap())
        .await
        .unwrap();
    let topic = testkit::unique_topic("console");
    let info = testkit::create_topic(&admin, &topic, 1, 1).await.unwrap();
    let input = "h1=a;h2=NULL|k1:hello\n\
                 |NULL:a value with no key\n\
                 a line without the headers delimiter\n\
                 |k3:NULL\n\
                 h=x|k4:world\r\n";
    let (code, stderr) = console(
        &[
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            &topic,
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            "--property",
            "parse.headers=true",
            "--property",
            "headers.delimiter=|",
            "--property",
            "headers.separator=;",
            "--property",
            "headers.key.separator==",
            "--property",
            "null.marker=NULL",
            "--compression-codec",
            "lz4",
            "--producer-property",
            "linger.ms=1",
        ],
        input,
    );
    assert_eq!(code, 1, "one line was bad: {stderr}");
    assert!(stderr.contains("line 3: no headers delimiter"), "{stderr}");
    assert!(stderr.contains("4 of 4 records acknowledged"), "{stderr}");
    let leader = testkit::connect(&info.leaders[0]).await.unwrap();
    let records = testkit::fetch_partition(&leader, &topic, &info, 0)
        .await
        .unwrap();
    let got: Vec<_> = records
        .iter()
        .map(|r| (r.key.clone(), r.value.clone(), r.headers.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                b("k1"),
                b("hello"),
                vec![("h1".to_string(), b("a")), ("h2".to_string(), None)]
            ),
            (None, b("a value with no key"), vec![]),
            (b("k3"), None, vec![]),
            (b("k4"), b("world"), vec![("h".to_string(), b("x"))]),
        ]
    );

    // Plain lines (Java's defaults: no key), a record the producer refuses
    // (over max.request.size), and the count at the end.
    let long = "x".repeat(2000);
    let input = format!("first\nsecond\n{long}\nfourth\n");
    let (code, stderr) = console(
        &[
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            &topic,
            "--producer-property",
            "max.request.size=1000",
        ],
        &input,
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("line 3: "), "{stderr}");
    assert!(stderr.contains("max.request.size"), "{stderr}");
    assert!(stderr.contains("3 of 4 records acknowledged"), "{stderr}");
    let records = testkit::fetch_partition(&leader, &topic, &info, 0)
        .await
        .unwrap();
    let values: Vec<_> = records[4..].iter().map(|r| r.value.clone()).collect();
    assert_eq!(values, vec![b("first"), b("second"), b("fourth")]);

    // Everything fine: status 0.
    let (code, stderr) = console(
        &["--bootstrap-server", &bootstrap, "--topic", &topic],
        "ok\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 of 1 records acknowledged"), "{stderr}");
}
