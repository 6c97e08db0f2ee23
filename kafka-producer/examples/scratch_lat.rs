use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use bytes::Bytes;
use kafka_producer::{Producer, ProducerRecord};
#[tokio::main]
async fn main() {
    let b = std::env::args().nth(1).unwrap();
    let bs = std::env::args().nth(2).unwrap();
    let producer = Producer::from_properties([("bootstrap.servers", b.as_str()), ("acks","all"), ("linger.ms","5"), ("batch.size", bs.as_str()), ("compression.type","lz4")]).unwrap();
    let payload = Bytes::from_static(Box::leak(vec![b'A'; 100].into_boxed_slice()));
    let n = 600_000u64;
    let out: Arc<Mutex<Vec<(u32, u32, i32, i64)>>> = Arc::new(Mutex::new(Vec::with_capacity(n as usize)));
    let topic: Arc<str> = Arc::from("p1");
    let start = Instant::now();
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / 200000.0);
        let now = Instant::now();
        if due > now { tokio::time::sleep(due - now).await; }
        let sent = Instant::now();
        let o = out.clone();
        producer.send_with_callback(ProducerRecord::new(&topic).value(payload.clone()), move |r| {
            let md = r.unwrap();
            let lat = sent.elapsed().as_micros() as u32;
            o.lock().unwrap().push(((sent - start).as_micros() as u32, lat, md.partition, md.offset));
        }).await.unwrap();
    }
    producer.flush().await.unwrap();
    let mut v = out.lock().unwrap().clone();
    v.sort();
    let v: Vec<_> = v.into_iter().filter(|x| x.0 > 1_000_000).collect();
    let mut l: Vec<u32> = v.iter().map(|x| x.1).collect();
    l.sort();
    let p = |q: f64| l[(q * l.len() as f64) as usize];
    println!("us p50 {} p90 {} p99 {} p999 {} max {}", p(0.5), p(0.9), p(0.99), p(0.999), l[l.len()-1]);
    // the slow ones: how far into their batch (offset - first offset of batch with same partition and close send time)
    let thr = p(0.99);
    let mut shown = 0;
    for w in v.windows(1) { let x = w[0]; if x.1 >= thr && shown < 30 { println!("sent {} us lat {} us part {} off {}", x.0, x.1, x.2, x.3); shown += 1; } }
}
