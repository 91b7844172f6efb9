//! A PHP-FPM pool's status page (`pm.status_path?full&json`), asked over FastCGI at the
//! pool's own listen address on this host: the request each worker serves and for how long.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::net::fastcgi::{self, Target};
use crate::stack::php_ini::StatusPage;

/// The most of a status page read: a pool of a few thousand workers fits.
const CAP: usize = 1 << 20;
/// The most status pages asked in one run, and the longest one may take.
const MAX_PAGES: usize = 8;
const PER_PAGE: Duration = Duration::from_secs(3);

/// The requests PHP-FPM workers serve, from their pools' status pages.
#[derive(Debug, Default)]
pub struct Requests {
    /// By worker pid: its pool and what it does.
    pub by_pid: HashMap<u32, (String, Proc)>,
    /// How many status pages were read.
    pub read: usize,
    /// Why the others could not be, one sentence each.
    pub errors: Vec<String>,
}

/// Ask each status page in `pages` of a pool named in `pools` once, all before `deadline`.
/// Two PHP versions may each have a pool of the same name: both are asked, and the pid
/// tells their workers apart.
pub fn of_pools(pages: &[StatusPage], pools: &BTreeSet<String>, deadline: Instant) -> Requests {
    let mut out = Requests::default();
    for page in pages
        .iter()
        .filter(|p| pools.contains(&p.pool))
        .take(MAX_PAGES)
    {
        let pool = crate::sanitize::terminal(&page.pool);
        let Some(listen) = &page.listen else {
            out.errors.push(format!(
                "pool {pool} enables its status page but names no `listen` to ask it at"
            ));
            continue;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            out.errors.push(format!(
                "no time was left to read the status page of pool {pool}"
            ));
            break;
        }
        match fetch(listen, &page.path, left.min(PER_PAGE)) {
            Ok(procs) => {
                out.read += 1;
                for p in procs {
                    out.by_pid.entry(p.pid).or_insert((page.pool.clone(), p));
                }
            }
            Err(e) => out.errors.push(format!(
                "the status page of pool {pool} ({}) could not be read: {e}",
                crate::sanitize::terminal(&page.path)
            )),
        }
    }
    out
}

/// What one worker is doing, as its pool's status page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    /// Serving a request now (`Running`); an idle worker's fields describe its last one.
    pub running: bool,
    /// `GET`.
    pub method: String,
    /// `/checkout.php`, with secret-looking query values masked.
    pub uri: String,
    /// How long the request has run (or ran).
    pub duration: Duration,
    /// The script's path, when FPM knows it (`-` otherwise).
    pub script: Option<String>,
}

impl Proc {
    /// `GET /checkout.php`.
    pub fn request(&self) -> String {
        let method = if self.method.is_empty() || self.method == "-" {
            "request"
        } else {
            &self.method
        };
        crate::sanitize::terminal(&format!("{method} {}", self.uri))
    }
}

/// Ask the pool listening at `listen` for its status page at `path`, within `timeout`.
/// FPM knows its status page by `SCRIPT_NAME` alone; `SCRIPT_FILENAME` names a file that
/// cannot exist (under `/dev/null`), so that were the pool file read here not the one FPM
/// runs with, the request could only fail ("Primary script unknown"), never run a script.
pub fn fetch(listen: &str, path: &str, timeout: Duration) -> Result<Vec<Proc>, String> {
    let target = Target::from_listen(listen).map_err(|e| e.to_string())?;
    let params = [
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "sitedoctor"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", path),
        ("SCRIPT_FILENAME", &format!("/dev/null{path}")),
        ("REQUEST_URI", &format!("{path}?full&json")),
        ("QUERY_STRING", "full&json"),
        ("CONTENT_LENGTH", "0"),
    ];
    let r = fastcgi::request(&target, &params, timeout, CAP).map_err(|e| e.to_string())?;
    parse(&r.body, path).map_err(|e| format!("the status page of {target} cannot be read: {e}"))
}

/// The workers of a `full&json` status page, leaving out the one serving the status page
/// itself (`status_path`).
pub fn parse(body: &[u8], status_path: &str) -> Result<Vec<Proc>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "it is not JSON".to_string())?;
    let procs = v
        .get("processes")
        .and_then(|p| p.as_array())
        .ok_or("it lists no processes (is `full` supported?)")?;
    Ok(procs
        .iter()
        .filter_map(|p| proc_of(p, status_path))
        .collect())
}

fn proc_of(p: &serde_json::Value, status_path: &str) -> Option<Proc> {
    let text = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let pid = u32::try_from(p.get("pid")?.as_u64()?).ok()?;
    let raw_uri = text("request uri");
    let (path, _) = raw_uri.split_once('?').unwrap_or((&raw_uri, ""));
    if path == status_path {
        return None;
    }
    let script = text("script");
    Some(Proc {
        pid,
        running: text("state") == "Running",
        method: text("request method"),
        uri: redact_uri(&raw_uri),
        duration: Duration::from_micros(p.get("request duration")?.as_u64().unwrap_or(0)),
        script: (!script.is_empty() && script != "-").then_some(script),
    })
}

/// A request URI with secret-looking query values masked; the query dropped when it cannot
/// be read as one.
pub fn redact_uri(uri: &str) -> String {
    const BASE: &str = "http://fpm.invalid";
    let Some((path, _)) = uri.split_once('?') else {
        return uri.to_string();
    };
    if !uri.starts_with('/') {
        return path.to_string();
    }
    crate::net::redact::url(&format!("{BASE}{uri}"))
        .strip_prefix(BASE)
        .map_or_else(|| path.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_pages_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&raw, "/status");
        }

        #[test]
        fn random_json_pages_never_panic(pid in any::<i64>(), d in any::<f64>(), uri in "\\PC{0,40}") {
            let page = serde_json::json!({"processes": [
                {"pid": pid, "request duration": d, "request uri": uri, "state": "Running"}
            ]});
            let _ = parse(page.to_string().as_bytes(), "/status");
            let _ = redact_uri(&uri);
        }
    }

    const PAGE: &str = r#"{"pool":"www","process manager":"static","start time":1700000000,
        "active processes":2,"total processes":2,"processes":[
        {"pid":812,"state":"Running","start time":1700000000,"start since":60,"requests":3,
         "request duration":8123456,"request method":"GET","request uri":"/checkout.php?id=4&token=s3cr3tvalue",
         "content length":0,"user":"-","script":"/srv/shop/checkout.php","last request cpu":0.00,
         "last request memory":0},
        {"pid":813,"state":"Running","request duration":120,"request method":"GET",
         "request uri":"/status?full&json","script":"-"},
        {"pid":814,"state":"Idle","request duration":99000000,"request method":"POST",
         "request uri":"/upload.php","script":"/srv/shop/upload.php"},
        {"pid":"nope"}]}"#;

    #[test]
    fn the_workers_of_a_full_status_page() {
        let got = parse(PAGE.as_bytes(), "/status").unwrap();
        assert_eq!(
            got,
            vec![
                Proc {
                    pid: 812,
                    running: true,
                    method: "GET".into(),
                    uri: "/checkout.php?id=4&token=***".into(),
                    duration: Duration::from_micros(8123456),
                    script: Some("/srv/shop/checkout.php".into()),
                },
                Proc {
                    pid: 814,
                    running: false,
                    method: "POST".into(),
                    uri: "/upload.php".into(),
                    duration: Duration::from_secs(99),
                    script: Some("/srv/shop/upload.php".into()),
                },
            ]
        );
        assert_eq!(got[0].request(), "GET /checkout.php?id=4&token=***");
    }

    #[test]
    fn what_is_not_a_status_page() {
        assert_eq!(
            parse(b"File not found.", "/status"),
            Err("it is not JSON".into())
        );
        assert!(parse(b"{\"pool\":\"www\"}", "/status").is_err());
        assert_eq!(parse(b"{\"processes\":[]}", "/status"), Ok(vec![]));
    }

    #[test]
    fn uris_keep_no_secrets() {
        assert_eq!(redact_uri("/a.php"), "/a.php");
        assert_eq!(redact_uri("/a.php?page=2"), "/a.php?page=2");
        assert_eq!(
            redact_uri("/a.php?password=hunter2&page=2"),
            "/a.php?password=***&page=2"
        );
        assert_eq!(redact_uri("a.php?password=hunter2"), "a.php");
    }
}
