//! Property tests of every parser that reads untrusted text: random bytes, and random
//! mutations of valid samples (a byte changed, dropped or inserted anywhere — often in the
//! middle of a multi-byte character, where byte-offset slicing panics). Each must return
//! without a panic, in well under a second per case.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config;

use sitedoctor::logscan::{backward::Backward, patterns, timestamp};
use sitedoctor::nagios;
use sitedoctor::sys::{mounts, procfs};

/// Few cases per property: the whole suite stays within a few seconds.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// One edit to a sample: where (a fraction of its length), what, and with which byte.
#[derive(Debug, Clone)]
enum Edit {
    Replace(f64, u8),
    Insert(f64, u8),
    Delete(f64),
    InsertChar(f64, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes weighted towards the interesting: digits, separators, controls, UTF-8 lead and
    // continuation bytes.
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b"0123456789:-/[]<> .,;=|'@~\\\n\r\t\x1b".to_vec()),
        0x80u8..=0xff,
    ];
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), byte.clone()).prop_map(|(a, b)| Edit::Replace(a, b)),
        (at.clone(), byte).prop_map(|(a, b)| Edit::Insert(a, b)),
        at.clone().prop_map(Edit::Delete),
        (at, any::<char>()).prop_map(|(a, c)| Edit::InsertChar(a, c)),
    ]
}

/// `sample` with `edits` applied to its bytes, read back as (lossy) text.
fn mutate(sample: &str, edits: &[Edit]) -> String {
    let mut b = sample.as_bytes().to_vec();
    let pos = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
    for e in edits {
        match *e {
            Edit::Replace(f, x) if !b.is_empty() => {
                let i = pos(f, b.len() - 1);
                b[i] = x;
            }
            Edit::Replace(..) => {}
            Edit::Insert(f, x) => {
                let i = pos(f, b.len());
                b.insert(i, x);
            }
            Edit::Delete(f) if !b.is_empty() => {
                let i = pos(f, b.len() - 1);
                b.remove(i);
            }
            Edit::Delete(_) => {}
            Edit::InsertChar(f, c) => {
                let i = pos(f, b.len());
                let mut buf = [0u8; 4];
                b.splice(i..i, c.encode_utf8(&mut buf).bytes());
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Random bytes as text, or a mutation of one of `samples`.
fn input(samples: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (
            prop::sample::select(samples),
            prop::collection::vec(edit(), 1..6)
        )
            .prop_map(|(s, e)| mutate(s, &e)),
    ]
}

fn quick<T>(what: &str, text: &str, f: impl FnOnce() -> T) -> T {
    let began = Instant::now();
    let out = f();
    assert!(
        began.elapsed() < Duration::from_secs(1),
        "{what} took {:?} on {text:?}",
        began.elapsed()
    );
    out
}

const LOG_LINES: &[&str] = &[
    "2024/01/02 03:04:05 [error] 12#12: *1 upstream timed out (110: Connection timed out), client: 1.2.3.4, server: x",
    "[Tue Jan 02 03:04:05.123456 2024] [php:error] [pid 9] [client 1.2.3.4:5] PHP Fatal error:  Uncaught Error: x in /var/www/a.php:3",
    "[Tue Jan 02 03:04:05 2024] [error] [client 1.2.3.4] x",
    "[02-Jan-2024 03:04:05] WARNING: [pool www] child 12 exited on signal 11",
    "[02-Jan-2024 03:04:05 UTC] PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted in /a.php on line 7",
    "Jan  2 03:04:05 web1 php-fpm[12]: segfault at 0",
    "<34>1 2024-01-02T03:04:05.003Z host app 123 ID47 - x",
    "2024-01-02T05:04:05+02:00 ERROR x",
    "2024-01-02 03:04:05,123 CRITICAL app: Exception on / [GET]",
    "[2024-01-02 03:04:05] production.ERROR: x {\"exception\":\"[object] (E(code: 0): y at /app/z.php:9)\"}",
    "  File \"/app/b.py\", line 20, in g",
    "thread 'main' panicked at src/main.rs:10:5:",
    "    at handler (/srv/app/server.js:42:13)",
    "\tat com.acme.Foo.bar(Foo.java:77)",
    "app/models/user.rb:15:in `name'",
    "F, [2024-01-02T03:04:05.123456 #12] FATAL -- : [8f2c1a9e-3b4d-4c5e-9f6a-7b8c9d0e1f2a] ",
    "[8f2c1a9e-3b4d-4c5e-9f6a-7b8c9d0e1f2a] NoMethodError (undefined method `x' for nil):",
    "Error: Cannot find module 'express'",
    "Require stack:\n- /srv/app/server.js",
    "ModuleNotFoundError: No module named 'flask_login'",
    "\t/app/main.go:42 +0x1d",
    "panic: runtime error: index out of range [3] with length 3",
    "   at Shop.Checkout.Pay() in /src/Checkout.cs:line 42",
    "Unhandled exception. System.NullReferenceException: x",
    "Caused by: java.lang.IllegalStateException: x",
    "\tat java.base/com.shop.Checkout.pay(Checkout.java:42)",
    "#1 /var/www/html/src/Cart.php(41): Acme\\Util::y(NULL)",
    "Class \"Monolog\\Logger\" not found in /var/www/x.php:3",
];

#[test]
fn timestamps() {
    proptest!(config(512), |(line in input(LOG_LINES), now in any::<i64>())| {
        quick("timestamp::parse", &line, || timestamp::parse(&line, now));
    });
}

#[test]
fn log_lines_and_patterns() {
    let p = patterns::Patterns::new(None, &[]).unwrap();
    proptest!(config(256), |(head in input(LOG_LINES), next in input(LOG_LINES))| {
        quick("log line", &head, || {
            let rest = [next.clone()];
            p.classify(&head, &rest);
            let text = patterns::strip_timestamp(&head);
            let key = patterns::normalise(text);
            patterns::same_but_numbers(text, &next);
            patterns::location(&[head.as_str(), next.as_str()]);
            patterns::message(&head, &rest);
            sitedoctor::logscan::classify::classify(&head, &[next.as_str()]);
            key
        });
    });
}

#[test]
fn log_files_read_backwards() {
    use std::io::Write;
    let p = patterns::Patterns::new(None, &[]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.log");
    let lines = prop::collection::vec(input(LOG_LINES), 0..20);
    proptest!(config(64), |(lines in lines, crlf in any::<bool>())| {
        let mut f = std::fs::File::create(&path).unwrap();
        for l in &lines {
            f.write_all(l.as_bytes()).unwrap();
            f.write_all(if crlf { b"\r\n" } else { b"\n" }).unwrap();
        }
        drop(f);
        let joined = lines.join("\n");
        quick("a log read backwards", &joined, || {
            let file = std::fs::File::open(&path).unwrap();
            let mut groups = std::collections::HashSet::new();
            for line in Backward::new(file).unwrap() {
                let line = String::from_utf8_lossy(&line.unwrap()).into_owned();
                timestamp::parse(&line, 1_700_000_000);
                if p.classify(&line, &[]).is_some() {
                    groups.insert(patterns::normalise(patterns::strip_timestamp(&line)));
                }
            }
            groups.len()
        });
    });
}

const PERFDATA: &[&str] = &[
    "time=0.012s;1;2;0;10 'free space'=55%;20:;10:;0;100 size=1234B users=U",
    "'wait time'=3.5s;@1:2;~:10 queue=85%;80;90;0;100",
    "DISK OK - free space: / 3326 MB | /=2643MB;5948;5958;0;5968\n/ 15272 MB (77%);\n/boot 68 MB (69%);| /boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;253414",
    "load1=0.5;15;30;0; load5=1.2e0;10;25;0; 'it''s'=1c",
];

#[test]
fn nagios_perfdata() {
    proptest!(config(512), |(text in input(PERFDATA))| {
        quick("perfdata", &text, || {
            let out = nagios::split_output(&text);
            let (metrics, _bad) = nagios::perfdata(&out.perf);
            nagios::perfdata(&text);
            for w in text.split_whitespace() {
                nagios::Range::parse(w);
            }
            metrics.len()
        });
    });
}

const MOUNTINFO: &[&str] = &[
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n30 27 254:1 / /var/my\\040data rw,relatime - xfs /dev/vdb rw\n",
    "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n",
    "31 27 0:40 / /tmp rw shared:5 - tmpfs tmpfs rw,size=100k\n32 27 7:1 / /snap/core/1 ro - squashfs /dev/loop1 ro\n",
];

/// Mountinfo lines whose fields are random but well placed, with `\NNN` escapes that may
/// or may not be octal or fit in a byte.
fn mountinfo_lines() -> impl Strategy<Value = String> {
    let field = "([a-z/ ]|\\\\[0-9]{0,3}){0,12}";
    prop::collection::vec((field, field, "[a-z,]{0,8}"), 1..5).prop_map(|lines| {
        lines
            .iter()
            .map(|(point, source, opts)| format!("1 2 8:1 / {point} {opts} - ext4 {source} rw\n"))
            .collect()
    })
}

#[test]
fn mountinfo() {
    let text = prop_oneof![input(MOUNTINFO), mountinfo_lines()];
    proptest!(config(512), |(text in text)| {
        quick("mountinfo", &text, || {
            let all = mounts::parse_mountinfo(&text);
            mounts::mount_of(&all, std::path::Path::new("/var/my data/x"));
            all.len()
        });
    });
}

const PROC: &[&str] = &[
    "MemTotal:       16000 kB\nMemFree: 1000 kB\nMemAvailable:    4000 kB\nSwapTotal: 2000 kB\nSwapFree: 500 kB\n",
    "MemTotal: 100 kB\nMemFree: 10 kB\nCached: 5 kB\nBuffers: 18446744073709551615 kB\n",
    "0.50 1.25 2.00 1/76 1937\n",
    "96\t0\t2470938\n",
    "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n",
];

#[test]
fn proc_files() {
    proptest!(config(512), |(text in input(PROC))| {
        quick("/proc parsers", &text, || {
            let _ = procfs::parse_meminfo(&text);
            let _ = procfs::parse_loadavg(&text);
            let _ = procfs::parse_file_nr(&text);
            let _ = procfs::parse_limits_nofile(&text);
        });
    });
}

const CONFIGS: &[&str] = &[
    sitedoctor::config::source::BUILTIN,
    "[[check]]\nid = \"shop\"\nkind = \"http\"\nurl = \"https://user:pw@shop.example/health?token=abc\"\ntimeout = \"2s\"\nheaders = { Authorization = \"Bearer x\" }\n",
    "[[check]]\nid = \"logs\"\nkind = \"log\"\npaths = [\"/var/log/nginx/error.log\"]\nwindow = \"1h\"\nexclude_patterns = [\"favicon\\\\.ico\"]\ntags = [\"web\"]\n",
    "[[check]]\nid = \"disk\"\nkind = \"disk\"\nwarn = \"80%\"\nfail = \"2GiB\"\n[[check]]\nid = \"perm\"\nkind = \"permissions\"\npath = \"/var/www\"\nfile_mode = \"644\"\n",
];

#[test]
fn config_files() {
    use sitedoctor::config::{Source, load};
    proptest!(config(96), |(text in input(CONFIGS))| {
        quick("config::load", &text, || {
            let src = Source {
                name: "fuzz.toml".into(),
                text: text.clone(),
            };
            match load(&[src]) {
                Ok(specs) => specs.len(),
                // The message, with its source snippet, is built too.
                Err(e) => e.to_string().len(),
            }
        });
    });
}
