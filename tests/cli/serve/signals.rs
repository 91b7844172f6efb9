//! SIGHUP reloads; SIGTERM drains and exits 0 within a second; SIGINT is an interruption.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use super::harness::{Served, counting, runs, until};
use crate::testenv::{TestEnv, selftest};

#[test]
fn sighup_rereads_the_configuration_and_keeps_it_when_the_new_one_is_bad() {
    let env = TestEnv::new().config(&selftest("before", ""));
    let s = Served::start(&env, &[]);
    assert!(s.get("/report.json").body.contains("\"before\""));

    env.file("sitedoctor.toml", &selftest("after", "result = \"fail\""));
    s.signal(nix::sys::signal::Signal::SIGHUP);
    // The next request after the reload runs the new checks, however fresh the cache was.
    until(10, "the new configuration", || {
        s.get("/report.json").body.contains("\"after\"")
    });
    assert_eq!(s.get("/healthz").status, 503);
    assert!(
        s.log()
            .contains("SIGHUP: reloaded the configuration: 1 check(s)"),
        "{}",
        s.log()
    );

    env.file(
        "sitedoctor.toml",
        "[[check]]\nid = \"typo\"\nkind = \"no-such-kind\"\n",
    );
    s.signal(nix::sys::signal::Signal::SIGHUP);
    until(10, "the reload to be refused", || {
        s.log().contains("keeping the configuration in use")
    });
    assert!(s.log().contains("no-such-kind"), "{}", s.log());
    let r = s.get("/report.json");
    assert!(r.body.contains("\"after\"") && !r.body.contains("typo"));
}

#[test]
fn sigterm_stops_the_server_with_0_within_a_second() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let s = Served::start(&env, &[]);
    assert_eq!(s.get("/healthz").status, 200);
    // A client in the middle of its request does not hold the stop up.
    let mut slow = TcpStream::connect(&s.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (code, took) = s.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn sigint_stops_it_as_an_interruption() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let mut s = Served::start(&env, &[]);
    s.signal(nix::sys::signal::Signal::SIGINT);
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}

#[test]
fn sigterm_lets_an_answer_under_way_finish() {
    let env = TestEnv::new().config(&counting("counted", "0.3", 0));
    let s = Served::start(&env, &[]);
    let http = Served::at(&s.addr);
    let waiting = std::thread::spawn(move || http.get("/healthz").status);
    // The request is in, waiting for the run it started.
    until(10, "the run to start", || runs(&env) == 1);
    let (code, took) = s.terminate();
    assert_eq!(waiting.join().unwrap(), 200);
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}
