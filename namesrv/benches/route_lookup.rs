//! GET_ROUTEINFO_BY_TOPIC requests per second over loopback with 1,000 topics registered,
//! against a same-run baseline: a request the server answers with REQUEST_CODE_NOT_SUPPORTED
//! (transport and dispatch only). Run with `cargo bench -p rocketmq-namesrv`.
//! Knobs: BENCH_SECS (default 5), BENCH_CONNS (4), BENCH_INFLIGHT (64).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use namesrv::{Namesrv, NamesrvConfig};
use remoting::RemotingCommand;
use remoting::client::{ClientConfig, RemotingClient};
use remoting::protocol::RequestCode;
use remoting::protocol::body::{DataVersion, RegisterBrokerBody, TopicConfig};
use remoting::protocol::header::RegisterBrokerRequestHeader;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    rps: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn run(
    addr: &str,
    make: impl Fn(u64) -> RemotingCommand + Send + Sync + 'static,
    secs: u64,
    conns: u64,
    inflight: u64,
) -> Run {
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..conns)
        .map(|_| Arc::new(RemotingClient::new(ClientConfig::default())))
        .collect();
    let mut tasks = Vec::new();
    for i in 0..inflight {
        let client = clients[(i % conns) as usize].clone();
        let (addr, make, stop, count) =
            (addr.to_string(), make.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = i;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = client
                    .invoke(&addr, make(n), Duration::from_secs(5))
                    .await
                    .expect("request");
                assert!(r.code == 0 || r.code == 3);
                lat.push(t.elapsed().as_micros() as u64);
                count.fetch_add(1, Ordering::Relaxed);
                n += inflight;
            }
            lat
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let done = count.load(Ordering::Relaxed);
    let mut lat: Vec<u64> = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    Run {
        rps: done as f64 / elapsed,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    }
}

fn main() {
    let secs = env("BENCH_SECS", 5);
    let conns = env("BENCH_CONNS", 4);
    let inflight = env("BENCH_INFLIGHT", 64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = std::env::temp_dir().join(format!("ns-bench-{}", std::process::id()));
        let srv = Namesrv::start(NamesrvConfig {
            listen_port: 0,
            listen_host: "127.0.0.1".into(),
            kv_config_path: dir.join("kv.json").display().to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
        let addr = srv.local_addr().to_string();

        // Two broker groups (master + slave each) serving 1,000 topics.
        let setup = RemotingClient::new(ClientConfig::default());
        for (name, base) in [("broker-a", 1), ("broker-b", 3)] {
            for id in 0..2 {
                let mut body = RegisterBrokerBody::default();
                body.topic_config_serialize_wrapper.data_version = DataVersion::now();
                for t in 0..1000 {
                    let topic = format!("BenchTopic{t}");
                    body.topic_config_serialize_wrapper.topic_config_table.insert(topic.clone(), TopicConfig::new(topic, 8));
                }
                let header = RegisterBrokerRequestHeader {
                    broker_name: name.into(),
                    broker_addr: format!("10.0.0.{}:10911", base + id),
                    cluster_name: "DefaultCluster".into(),
                    ha_server_addr: format!("10.0.0.{}:10912", base + id),
                    broker_id: id as i64,
                    compressed: Some(false),
                    body_crc32: Some(0),
                };
                let req = RemotingCommand::request_with_header(RequestCode::RegisterBroker, &header).with_body(body.encode(false));
                assert_eq!(setup.invoke(&addr, req, Duration::from_secs(5)).await.unwrap().code, 0);
            }
        }

        let baseline = run(&addr, |_| RemotingCommand::new_request(9999), secs, conns, inflight).await;
        let route = run(
            &addr,
            |n| {
                let mut r = RemotingCommand::new_request(RequestCode::GetRouteinfoByTopic).with_ext("topic", format!("BenchTopic{}", n % 1000));
                r.version = 333;
                r
            },
            secs,
            conns,
            inflight,
        )
        .await;
        println!("name server GET_ROUTEINFO_BY_TOPIC, 1000 topics x 2 broker groups, {conns} connections, {inflight} in flight, {secs} s each, client and server in one process on {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
        println!("baseline (unsupported code, transport only): {:>9.0} req/s  p50 {:>5} us  p99 {:>5} us", baseline.rps, baseline.p50_us, baseline.p99_us);
        println!("GET_ROUTEINFO_BY_TOPIC:                      {:>9.0} req/s  p50 {:>5} us  p99 {:>5} us", route.rps, route.p50_us, route.p99_us);
        println!("ratio route/baseline: {:.2}", route.rps / baseline.rps);
        srv.shutdown().await;
        let _ = std::fs::remove_dir_all(dir);
    });
}
