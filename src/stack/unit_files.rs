//! Which systemd unit is configured to serve an address: unit files whose `ExecStart=`,
//! `ListenStream=` or `Environment=PORT=` name that port or socket path, read as text from
//! /etc/systemd/system, /run/systemd/system and /lib/systemd/system (never by asking
//! systemd, which may itself be what is broken).

use std::path::Path;

use super::listeners::Endpoint;

/// Directories of unit files, the ones that override first.
const DIRS: &[&str] = &[
    "etc/systemd/system",
    "run/systemd/system",
    "lib/systemd/system",
    "usr/lib/systemd/system",
];

/// At most this many unit files are read per directory, each at most this large.
const FILES_CAP: usize = 4000;
const FILE_CAP: u64 = 256 * 1024;

/// The `.service` and `.socket` unit files under `root` (`/` on a real host), by name with
/// their text, each name once (a unit in /etc hides the packaged one of the same name),
/// capped in number and size. Read once by whoever needs several answers from them.
pub fn units(root: &Path) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for dir in DIRS {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut names: Vec<String> = rd
            .flatten()
            .take(FILES_CAP)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".service") || n.ends_with(".socket"))
            .collect();
        names.sort();
        for name in names {
            if !seen.insert(name.clone()) {
                continue;
            }
            let path = root.join(dir).join(&name);
            if let Ok(text) = crate::sys::readcap::read_text_capped(&path, FILE_CAP) {
                out.push((name, text));
            }
        }
    }
    out
}

/// The units among `units` configured for `ep`, by name.
pub fn configured_among(units: &[(String, String)], ep: &Endpoint) -> Vec<String> {
    units
        .iter()
        .filter(|(_, text)| names_endpoint(text, ep))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The `.service` and `.socket` units under `root` configured for `ep`, by name.
pub fn configured_for(root: &Path, ep: &Endpoint) -> Vec<String> {
    configured_among(&units(root), ep)
}

/// Whether a unit file's `ExecStart=`, `ListenStream=` or `Environment=` names `ep`.
pub fn names_endpoint(text: &str, ep: &Endpoint) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        let Some((key, value)) = l.split_once('=') else {
            return false;
        };
        match key.trim() {
            "ExecStart" => exec_names(value, ep),
            "ListenStream" => token_names(value.trim(), ep),
            "Environment" => match ep {
                Endpoint::Tcp { port, .. } => value.split_whitespace().any(|w| {
                    w.trim_matches('"')
                        .strip_prefix("PORT=")
                        .is_some_and(|p| p == port.to_string())
                }),
                Endpoint::Unix(_) => false,
            },
            _ => false,
        }
    })
}

/// Flags after which a bare number is a port: `--port 8000`, `-p 8000`.
const PORT_FLAGS: &[&str] = &["--port", "-p", "--http-port", "--listen-port"];

fn exec_names(cmd: &str, ep: &Endpoint) -> bool {
    let words: Vec<&str> = cmd
        .split(|c: char| c.is_whitespace() || c == '=' || c == '"' || c == '\'')
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        if token_names(w, ep) && (w.contains(':') || w.contains('/')) {
            return true;
        }
        matches!(ep, Endpoint::Tcp { port, .. } if *w == port.to_string()
            && i > 0 && PORT_FLAGS.contains(&words[i - 1]))
    })
}

/// One word names `ep`: `127.0.0.1:8000`, `:8000`, `0.0.0.0:8000`, `[::]:8000`,
/// `http://127.0.0.1:8000`, `8000` (a `ListenStream=`), `unix:/run/app.sock`, `/run/app.sock`.
fn token_names(word: &str, ep: &Endpoint) -> bool {
    let w = word.trim_end_matches([',', ';']);
    let w = w.split_once("://").map_or(w, |(_, r)| r);
    let w = w.strip_suffix('/').unwrap_or(w);
    match ep {
        Endpoint::Unix(path) => w.strip_prefix("unix:").unwrap_or(w) == path.as_str(),
        Endpoint::Tcp { host, port } => {
            let (h, p) = match w.rsplit_once(':') {
                Some((h, p)) => (h, p),
                None => ("", w),
            };
            if p != port.to_string() {
                return false;
            }
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.is_empty()
                || h == "0.0.0.0"
                || h == "::"
                || h == "*"
                || h == host
                || (is_loopback_name(h) && is_loopback_name(host))
        }
    }
}

fn is_loopback_name(h: &str) -> bool {
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(port: u16) -> Endpoint {
        Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[test]
    fn exec_start_forms() {
        let yes = [
            "ExecStart=/srv/app/venv/bin/gunicorn --bind 127.0.0.1:8000 app:app",
            "ExecStart=/usr/bin/gunicorn -b :8000 app",
            "ExecStart=/usr/bin/gunicorn --bind=0.0.0.0:8000 app",
            "ExecStart=/usr/bin/node server.js --port 8000",
            "ExecStart=/usr/bin/puma -b tcp://127.0.0.1:8000",
            "ExecStart=/usr/bin/uwsgi --http-socket localhost:8000",
            "ListenStream=8000",
            "ListenStream=[::]:8000",
            "Environment=NODE_ENV=production PORT=8000",
        ];
        for t in yes {
            assert!(names_endpoint(t, &tcp(8000)), "{t}");
        }
        let no = [
            "ExecStart=/usr/bin/gunicorn --bind 127.0.0.1:18000 app",
            "ExecStart=/usr/bin/app --workers 8000",
            "ExecStart=/usr/bin/gunicorn --bind 10.0.0.5:8000 app",
            "Description=listens on 127.0.0.1:8000",
            "ExecStart=/usr/bin/app 8000",
        ];
        for t in no {
            assert!(!names_endpoint(t, &tcp(8000)), "{t}");
        }
    }

    #[test]
    fn socket_paths() {
        let ep = Endpoint::Unix("/run/gunicorn.sock".into());
        assert!(names_endpoint(
            "ExecStart=/usr/bin/gunicorn --bind unix:/run/gunicorn.sock app",
            &ep
        ));
        assert!(names_endpoint("ListenStream=/run/gunicorn.sock", &ep));
        assert!(!names_endpoint("ListenStream=/run/gunicorn.sock.old", &ep));
    }

    #[test]
    fn etc_hides_lib_and_unreadable_files_are_skipped() {
        let t = tempfile::tempdir().unwrap();
        let w = |p: &str, s: &str| {
            let f = t.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, s).unwrap();
        };
        w(
            "lib/systemd/system/app.service",
            "[Service]\nExecStart=/usr/bin/node app.js --port 9000\n",
        );
        w(
            "etc/systemd/system/app.service",
            "[Service]\nExecStart=/usr/bin/node app.js --port 8000\n",
        );
        w(
            "etc/systemd/system/api.socket",
            "[Socket]\nListenStream=127.0.0.1:8000\n",
        );
        w("etc/systemd/system/notes.txt", "ListenStream=8000\n");
        assert_eq!(
            configured_for(t.path(), &tcp(8000)),
            vec!["api.socket".to_string(), "app.service".to_string()]
        );
        assert!(configured_for(t.path(), &tcp(9000)).is_empty());
        assert!(configured_for(Path::new("/no/such/root"), &tcp(80)).is_empty());
    }
}
