//! A real Prometheus scrapes a real `sitedoctor serve`, and its query API finds the checks.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use super::harness::{Served, program, until};
use crate::testenv::{TestEnv, selftest};

/// Killed (and reaped) when dropped, whatever the test's outcome.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn prometheus_scrapes_serve_and_finds_every_configured_check() {
    let Some(prometheus) = program("/usr/bin/prometheus") else {
        return;
    };
    let env = TestEnv::new()
        .config(&(selftest("disk-space", "") + &selftest("php-errors", "result = \"fail\"")));
    let served = Served::start(&env, &["--cache", "1s"]);

    let port = free_port();
    let config = env.file(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: sitedoctor\n    static_configs:\n      - targets: ['{}']\n",
            served.addr
        ),
    );
    let log = std::fs::File::create(env.path().join("prometheus.log")).unwrap();
    let _prom = Reaped(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                env.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(env.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    // Ask the query API (through the same small client the other tests use).
    let api = Served::at(&format!("127.0.0.1:{port}"));
    let mut last = String::new();
    let found = |body: &str| {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
            return Vec::new();
        };
        let mut got: Vec<(String, String)> = v["data"]["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        (
                            r["metric"]["id"].as_str().unwrap_or("").to_string(),
                            r["value"][1].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        got.sort();
        got
    };
    let want = vec![
        ("disk-space".to_string(), "0".to_string()),
        ("php-errors".to_string(), "2".to_string()),
    ];
    let mut waited = || {
        last = api
            .try_get("/api/v1/query?query=sitedoctor_check_status")
            .map(|a| a.body)
            .unwrap_or_default();
        found(&last) == want
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !waited() {
        if std::time::Instant::now() > deadline {
            panic!(
                "Prometheus never found the checks; last answer: {last}\nprometheus log:\n{}\nserve log:\n{}",
                std::fs::read_to_string(env.path().join("prometheus.log")).unwrap_or_default(),
                served.log()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // The scrape itself is healthy, and the serve-only families came through too.
    until(30, "up == 1", || {
        api.try_get("/api/v1/query?query=up%7Bjob%3D%22sitedoctor%22%7D")
            .is_some_and(|a| a.body.contains("\"value\":[") && a.body.contains(",\"1\"]"))
    });
    let stamp = api
        .try_get("/api/v1/query?query=sitedoctor_last_run_timestamp_seconds")
        .unwrap();
    assert!(
        stamp
            .body
            .contains("\"__name__\":\"sitedoctor_last_run_timestamp_seconds\""),
        "{}",
        stamp.body
    );
}
