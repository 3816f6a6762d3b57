//! The binary's `crd` and `render` subcommands, and the HTTP endpoint's routing.

use std::{path::PathBuf, process::Command};

use rocketmq_operator::{http::respond, metrics::Metrics};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rocketmq-operator"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn crd_subcommand_prints_the_checked_in_crd() {
    let out = bin().arg("crd").output().unwrap();
    assert!(out.status.success());
    let have =
        std::fs::read_to_string(root().join("crds/rocketmq.rs_rocketmqclusters.yaml")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), have);
}

#[test]
fn render_prints_every_object_as_a_yaml_stream() {
    let out = bin()
        .args(["render", "-f"])
        .arg(root().join("deploy/examples/two-groups-sync.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_yaml::Value> = text
        .split("\n---\n")
        .flat_map(|d| {
            serde_yaml::Deserializer::from_str(d)
                .map(|de| serde::Deserialize::deserialize(de).unwrap())
        })
        .filter(|v: &serde_yaml::Value| !v.is_null())
        .collect();
    let kinds: Vec<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(kinds.len(), 13, "{kinds:?}");
    assert!(kinds.contains(&"StatefulSet/sync-broker-1".to_string()));
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["namespace"].as_str() == Some("rocketmq"))
    );
}

#[test]
fn render_rejects_an_invalid_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "apiVersion: rocketmq.rs/v1alpha1\nkind: RocketMQCluster\nmetadata: {name: x}\nspec:\n  broker:\n    replication: SOMETIMES\n").unwrap();
    let out = bin().args(["render", "-f"]).arg(&f).output().unwrap();
    assert!(!out.status.success());
    // well-formed but against a CEL rule
    std::fs::write(&f, "apiVersion: rocketmq.rs/v1alpha1\nkind: RocketMQCluster\nmetadata: {name: x}\nspec:\n  broker:\n    replication: SYNC_MASTER\n").unwrap();
    let out = bin().args(["render", "-f"]).arg(&f).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SYNC_MASTER needs at least one slave"));
}

#[test]
fn http_routes() {
    let m = Metrics::default();
    {
        let _t = m.count_and_measure();
    }
    m.failure("KubeErrorApplyingObject");
    let (code, ctype, body) = respond("/metrics", &m);
    assert_eq!(code, "200 OK");
    assert!(ctype.starts_with("application/openmetrics-text"));
    assert!(
        body.contains("rocketmq_operator_reconcile_runs_total 1"),
        "{body}"
    );
    assert!(
        body.contains("rocketmq_operator_reconcile_duration_seconds_count 1"),
        "{body}"
    );
    assert!(
        body.contains("reason=\"KubeErrorApplyingObject\""),
        "{body}"
    );
    assert_eq!(respond("/healthz", &m).0, "200 OK");
    assert_eq!(respond("/nope", &m).0, "404 Not Found");
}

#[tokio::test]
async fn http_server_answers_over_tcp() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = std::sync::Arc::new(Metrics::default());
    metrics.runs.inc();
    let server = tokio::spawn(rocketmq_operator::http::serve(listener, metrics));
    for (path, status, needle) in [
        ("/healthz", "200 OK", "ok"),
        (
            "/metrics",
            "200 OK",
            "rocketmq_operator_reconcile_runs_total 1",
        ),
        ("/x", "404 Not Found", "not found"),
    ] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).await.unwrap();
        assert!(resp.starts_with(&format!("HTTP/1.1 {status}")), "{resp}");
        assert!(resp.contains(needle), "{resp}");
    }
    server.abort();
}
