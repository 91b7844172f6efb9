//! The upstreams a site uses, read from the web server's configuration: nginx `proxy_pass`,
//! `fastcgi_pass`, `uwsgi_pass`, `scgi_pass`, `grpc_pass` (an `upstream NAME { server …; }`
//! block resolved to its servers) and Apache `ProxyPass`, `ProxyPassMatch`,
//! `SetHandler "proxy:…"`, `BalancerMember`. Each is an address as the web server's error
//! log names it: `127.0.0.1:8000`, `[::1]:8000`, `unix:/run/app.sock`.

use super::listeners::Endpoint;

/// One address a web server passes requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The directive that names it: `proxy_pass`, `fastcgi_pass`, `ProxyPass`, or
    /// `server` of `upstream backend`.
    pub directive: String,
    /// `host:port` (IPv6 in brackets) or `unix:/path`.
    pub address: String,
}

impl Upstream {
    /// What can listen there; `None` for a name no host part could be read from.
    pub fn endpoint(&self) -> Option<Endpoint> {
        Endpoint::parse(&self.address)
    }
}

/// Directives whose argument is an upstream, with the port an address without one gets
/// (`None`: the argument without a port is an `upstream` block's name).
const NGINX_PASS: &[&str] = &[
    "proxy_pass",
    "fastcgi_pass",
    "uwsgi_pass",
    "scgi_pass",
    "grpc_pass",
];

/// The upstreams of nginx directives as `webstack` reads them (a block's end is a `}`
/// statement). Arguments holding a variable (`$backend`) are skipped: their value is only
/// known per request.
pub fn from_nginx(d: &[(String, Vec<String>)]) -> Vec<Upstream> {
    let blocks = upstream_blocks(d);
    let mut out = Vec::new();
    for (k, a) in d {
        if !NGINX_PASS.contains(&k.as_str()) {
            continue;
        }
        let Some(arg) = a.first().filter(|v| !v.contains('$')) else {
            continue;
        };
        let (scheme, rest) = match arg.split_once("://") {
            Some((s, r)) if !s.eq_ignore_ascii_case("unix") => (s.to_ascii_lowercase(), r),
            _ => (String::new(), arg.as_str()),
        };
        let rest = nginx_authority(rest);
        if let Some((_, servers)) = blocks.iter().find(|(n, _)| n == rest) {
            for s in servers {
                push(&mut out, format!("server (upstream {rest})"), s.clone());
            }
            continue;
        }
        let default = match scheme.as_str() {
            "http" | "grpc" => Some(80),
            "https" | "grpcs" => Some(443),
            _ if k == "proxy_pass" => Some(80),
            _ => None,
        };
        if let Some(addr) = address(rest, default) {
            push(&mut out, k.clone(), addr);
        }
    }
    out
}

/// `unix:/run/x.sock:/path` → `unix:/run/x.sock`; `127.0.0.1:8000/app` → `127.0.0.1:8000`.
fn nginx_authority(rest: &str) -> &str {
    if let Some(sock) = rest.strip_prefix("unix:") {
        // proxy_pass http://unix:/run/x.sock:/uri — the path ends at the colon.
        let end = sock.find(':').map_or(rest.len(), |i| i + "unix:".len());
        return rest.get(..end).unwrap_or(rest);
    }
    rest.split('/').next().unwrap_or(rest)
}

/// `upstream NAME { server ADDR …; }` blocks: the name and its servers' addresses.
fn upstream_blocks(d: &[(String, Vec<String>)]) -> Vec<(String, Vec<String>)> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    let mut inside = false;
    for (k, a) in d {
        match (k.as_str(), a.first()) {
            ("upstream", Some(name)) => {
                blocks.push((name.clone(), Vec::new()));
                inside = true;
            }
            ("}", _) => inside = false,
            ("server", Some(addr)) if inside => {
                if let (Some(b), Some(addr)) = (blocks.last_mut(), address(addr, Some(80))) {
                    b.1.push(addr);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// An address from `host:port`, `[v6]:port`, `host` (then `default` port), `unix:/path`,
/// `/path`; `None` without a port and no default, or when it cannot be an address.
fn address(s: &str, default: Option<u16>) -> Option<String> {
    let s = s.trim();
    if let Some(p) = s.strip_prefix("unix:") {
        let p = p.trim_start_matches("//");
        let p = if p.starts_with('/') {
            p.to_string()
        } else {
            format!("/{p}")
        };
        return (p.len() > 1).then(|| format!("unix:{p}"));
    }
    if s.starts_with('/') {
        return Some(format!("unix:{s}"));
    }
    if s.is_empty() || s.contains(['$', '*', '"', '\'']) {
        return None;
    }
    if let Some(v6) = s.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p.parse::<u16>().ok()?,
            None => default?,
        };
        return Some(format!("[{host}]:{port}"));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && !h.is_empty() => {
            let port: u16 = p.parse().ok().filter(|p| *p > 0)?;
            Some(format!("{h}:{port}"))
        }
        Some(_) => None,
        None => default.map(|port| format!("{s}:{port}")),
    }
}

/// The port an Apache proxy URL's scheme implies when it names none.
fn apache_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" | "h2c" => Some(80),
        "https" | "wss" | "h2" => Some(443),
        "ajp" => Some(8009),
        "fcgi" => Some(8000),
        "uwsgi" => Some(3031),
        "scgi" => Some(4000),
        _ => None,
    }
}

/// One Apache target: `http://127.0.0.1:8000/app`, `fcgi://127.0.0.1:9000/var/www/$1`,
/// `unix:/run/php/x.sock|fcgi://localhost`; not `balancer://` (its members are listed
/// by their own `BalancerMember` lines) nor `!`.
fn apache_target(v: &str) -> Option<String> {
    let v = v.strip_prefix("proxy:").unwrap_or(v);
    if v.to_ascii_lowercase().starts_with("unix:") {
        let path = v.split('|').next().unwrap_or(v);
        return address(path, None);
    }
    let (scheme, rest) = v.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let port = apache_port(&scheme)?;
    let host = rest.split('/').next().unwrap_or(rest);
    address(host, Some(port))
}

/// The upstreams of Apache directives (their variables already substituted).
pub fn from_apache(d: &[(String, Vec<String>)]) -> Vec<Upstream> {
    let mut out = Vec::new();
    for (k, a) in d {
        let key = k.to_ascii_lowercase();
        let candidates: &[String] = match key.as_str() {
            "proxypass" | "proxypassmatch" => a.get(..2.min(a.len())).unwrap_or_default(),
            "balancermember" => a.get(..1.min(a.len())).unwrap_or_default(),
            "sethandler" => a
                .first()
                .filter(|v| v.to_ascii_lowercase().starts_with("proxy:"))
                .map(std::slice::from_ref)
                .unwrap_or_default(),
            _ => continue,
        };
        for addr in candidates.iter().filter_map(|v| apache_target(v)) {
            push(&mut out, k.clone(), addr);
        }
    }
    out
}

fn push(out: &mut Vec<Upstream>, directive: String, address: String) {
    if !out.iter().any(|u| u.address == address) {
        out.push(Upstream { directive, address });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(lines: &[&str]) -> Vec<(String, Vec<String>)> {
        lines
            .iter()
            .map(|l| {
                let mut w = l.split_whitespace().map(str::to_string);
                (w.next().unwrap(), w.collect())
            })
            .collect()
    }

    fn addrs(u: &[Upstream]) -> Vec<&str> {
        u.iter().map(|u| u.address.as_str()).collect()
    }

    #[test]
    fn nginx_passes_and_upstream_blocks() {
        let u = from_nginx(&d(&[
            "upstream app",
            "server 127.0.0.1:8001 weight=5",
            "server unix:/run/app2.sock",
            "server backup.internal",
            "}",
            "server",
            "listen 80",
            "server_name shop",
            "proxy_pass http://app/",
            "proxy_pass http://127.0.0.1:8000/api/",
            "proxy_pass http://unix:/run/gunicorn.sock:/",
            "proxy_pass http://$backend",
            "proxy_pass https://[::1]",
            "fastcgi_pass unix:/run/php/php8.2-fpm.sock",
            "fastcgi_pass 127.0.0.1:9000",
            "uwsgi_pass unix:///tmp/uwsgi.sock",
            "uwsgi_pass uwsgi://127.0.0.1:3031",
            "scgi_pass localhost:4000",
            "grpc_pass grpc://127.0.0.1:50051",
            "fastcgi_pass php_backend",
            "}",
        ]));
        assert_eq!(
            addrs(&u),
            [
                "127.0.0.1:8001",
                "unix:/run/app2.sock",
                "backup.internal:80",
                "127.0.0.1:8000",
                "unix:/run/gunicorn.sock",
                "[::1]:443",
                "unix:/run/php/php8.2-fpm.sock",
                "127.0.0.1:9000",
                "unix:/tmp/uwsgi.sock",
                "127.0.0.1:3031",
                "localhost:4000",
                "127.0.0.1:50051",
            ]
        );
        assert_eq!(u[0].directive, "server (upstream app)");
        assert_eq!(u[3].directive, "proxy_pass");
        assert_eq!(u[8].directive, "uwsgi_pass");
    }

    #[test]
    fn apache_proxies() {
        let u = from_apache(&d(&[
            "ProxyPass /api http://127.0.0.1:8000/api retry=0",
            "ProxyPass /static !",
            "ProxyPassMatch ^/(.*\\.php)$ fcgi://127.0.0.1:9000/var/www/$1",
            "SetHandler proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost",
            "SetHandler server-status",
            "ProxyPass /ws unix:/run/app.sock|ws://localhost/",
            "ProxyPass /java ajp://localhost/",
            "ProxyPass /lb balancer://cluster/",
            "BalancerMember http://10.0.0.7:8080 route=1",
            "<Proxy balancer://cluster>",
        ]));
        assert_eq!(
            addrs(&u),
            [
                "127.0.0.1:8000",
                "127.0.0.1:9000",
                "unix:/run/php/php8.2-fpm.sock",
                "unix:/run/app.sock",
                "localhost:8009",
                "10.0.0.7:8080",
            ]
        );
    }

    #[test]
    fn hostile_arguments_do_not_panic() {
        for a in [
            "",
            ":",
            "unix:",
            "unix:/",
            "[",
            "[::1",
            "[::1]:x",
            "http://",
            "a:b:c",
            "é:1",
            "http://unix:",
        ] {
            let _ = from_nginx(&d(&[&format!("proxy_pass {a}x")]));
            let _ = from_apache(&d(&[&format!("ProxyPass / {a}")]));
            let _ = address(a, Some(80));
        }
    }
}
