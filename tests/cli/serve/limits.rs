//! A slow or greedy client cannot stall the server: header deadline, header size cap,
//! connection cap.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::harness::{Served, counting, runs, until};
use crate::testenv::{TestEnv, selftest};

#[test]
fn a_slow_client_stalls_neither_other_clients_nor_runs() {
    let env = TestEnv::new().config(&counting("counted", "0", 0));
    let s = Served::start(&env, &["--cache", "0s"]);
    // Half a request each, never finished.
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut c = TcpStream::connect(&s.addr).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            c
        })
        .collect();
    for n in 1..=5 {
        let t = Instant::now();
        assert_eq!(s.get("/healthz").status, 200);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "a request took {:?}",
            t.elapsed()
        );
        assert_eq!(runs(&env), n);
    }
    // And the server hangs up on the slow one once its time to send the headers is up.
    let c = &mut slow[0];
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 512];
    let closed = match c.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408"),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "the slow connection was not closed");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "closed only after {:?}",
        t.elapsed()
    );
}

#[test]
fn oversized_headers_are_refused() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let s = Served::start(&env, &[]);
    let big = "x".repeat(20 * 1024);
    let a = s.request("GET", "/healthz", &[("X-Big", &big)]);
    assert_eq!(a.status, 431);
    assert_eq!(s.get("/healthz").status, 200);
}

#[test]
fn connections_beyond_the_cap_are_closed_at_once() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let s = Served::start(&env, &[]);
    // The cap (256) taken by clients that never finish their request. The server hangs up
    // on them after its 5 s header timeout, so on a loaded machine a round may end before
    // the probe sees the cap: then a fresh round takes it again.
    let take_the_cap = || -> Vec<TcpStream> {
        (0..256)
            .map(|_| {
                let mut c = TcpStream::connect(&s.addr).unwrap();
                c.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
                c
            })
            .collect()
    };
    // One more is hung up on, not queued behind them.
    let hung_up = || {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buf = [0u8; 64];
        matches!(c.read(&mut buf), Ok(0))
            || matches!(c.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
    };
    let mut slow = Vec::new();
    let closed = (0..4).any(|_| {
        slow = take_the_cap();
        let round = Instant::now();
        while round.elapsed() < Duration::from_secs(4) {
            if hung_up() {
                return true;
            }
        }
        false
    });
    assert!(closed, "no connection beyond the cap was closed");
    // Once they go, the server answers again.
    drop(slow);
    until(10, "the server to answer again", || {
        s.try_get("/healthz").is_some_and(|a| a.status == 200)
    });
}
