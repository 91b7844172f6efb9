//! `sitedoctor init`: detect the web stack and write a commented `sitedoctor.toml` with the
//! checks that fit this host.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::webstack::{self, Server};

/// Tests point detection at a directory of fixtures instead of `/`.
pub use crate::webstack::{SYSROOT_ENV, sysroot};

/// The closing message of `init`: the command that uses the file just written at `path` —
/// or, when other users could change it there (`distrust`), how to put it where sitedoctor
/// trusts it: for root, the system directory `system`.
pub fn closing(
    path: &Path,
    checks: usize,
    distrust: Option<&crate::config::Distrust>,
    root: bool,
    system: &Path,
) -> String {
    use crate::shell::shell_quote_path;
    let shown = crate::sanitize::path(path);
    let quoted = shell_quote_path(path);
    let head = format!("wrote {shown} with {checks} checks");
    let Some(d) = distrust else {
        if path == Path::new(crate::config::source::LOCAL_FILE) {
            return format!(
                "{head}; run `sitedoctor` here to use it, `sitedoctor list` to see them\n"
            );
        }
        return format!(
            "{head}; run `sitedoctor --config {quoted}` to use it, `sitedoctor --config {quoted} list` to see them\n"
        );
    };
    if root {
        let name = path.file_name().map_or_else(
            || Path::new("sitedoctor.toml").to_path_buf(),
            |n| Path::new(n).to_path_buf(),
        );
        let target = shell_quote_path(&system.join(name));
        let dir = shell_quote_path(system);
        return format!(
            "{head}, but other users can change it there ({}), so sitedoctor run as root \
             would not trust it. Install it where only root can, and use it from there:\n  \
             install -D -m 644 {quoted} {target}\n  sitedoctor --config {dir}\n",
            d.reasons()
        );
    }
    format!(
        "{head}, but other users can change it there ({}), so sitedoctor would not trust it: \
         {}; then run `sitedoctor --config {quoted}`\n",
        d.reasons(),
        d.remedy()
    )
}

/// `/var/www/html` → `var-www-html`, for check ids.
fn slug(p: &Path) -> String {
    let s: String = p
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let parts: Vec<&str> = s.split('-').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        "root".into()
    } else {
        parts.join("-")
    }
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(paths: &[PathBuf], root: &Path) -> String {
    let v: Vec<String> = paths.iter().map(|p| q(&shown(p, root))).collect();
    format!("[{}]", v.join(", "))
}

/// A detected path as it is on the real host (without the test sysroot).
fn shown(p: &Path, root: &Path) -> String {
    match p.strip_prefix(root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => p.display().to_string(),
    }
}

/// The configuration text for what is detected under `root`.
pub fn generate(root: &Path, host: &str, now: &str) -> String {
    let servers = webstack::detect(root);
    let user = webstack::web_user(&servers);
    let mut roots: Vec<PathBuf> = servers
        .iter()
        .flat_map(|s| s.roots.iter().cloned())
        .filter(|r| r.is_dir())
        .collect();
    roots.sort();
    roots.dedup();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# sitedoctor.toml — written by `sitedoctor init` on {host} at {now}."
    );
    let _ = writeln!(
        t,
        "# Edit freely: `sitedoctor explain KIND` documents every kind, `sitedoctor list` shows"
    );
    let _ = writeln!(t, "# what will run. Found here:");
    if servers.is_empty() {
        let _ = writeln!(
            t,
            "#   no nginx, Apache or PHP-FPM (only the host's resources are checked)"
        );
    }
    for s in &servers {
        let _ = writeln!(
            t,
            "#   {} ({}), configuration {}",
            s.name,
            shown(&s.binary, root),
            shown(&s.config, root)
        );
        for p in &s.pools {
            let _ = writeln!(t, "#     pool {p}");
        }
    }
    if let Some(u) = &user {
        let _ = writeln!(t, "#   the web server runs as {u}");
    }
    t.push_str("\n# The host's resources.\n");
    for kind in ["disk", "memory", "load", "fds"] {
        let _ = writeln!(
            t,
            "[[check]]\nid = \"{kind}\"\nkind = \"{kind}\"\ntags = [\"resources\"]\n"
        );
    }
    for s in &servers {
        server_checks(&mut t, s, root);
    }
    upstream_checks(&mut t, &servers);
    for r in &roots {
        let id = slug(&PathBuf::from(shown(r, root)));
        let path = q(&shown(r, root));
        let _ = writeln!(t, "# The web root {}.", shown(r, root));
        let _ = write!(
            t,
            "[[check]]\nid = \"{id}-permissions\"\nkind = \"permissions\"\npath = {path}\nfile_mode = \"644\"\ndir_mode = \"755\"\n"
        );
        if let Some(u) = &user {
            let _ = writeln!(t, "readable_by = {}", q(u));
        }
        let _ = writeln!(t, "tags = [\"files\"]\n");
        let _ = writeln!(
            t,
            "[[check]]\nid = \"{id}-world-writable\"\nkind = \"world_writable\"\npaths = [{path}]\ntags = [\"files\"]\n"
        );
        let _ = writeln!(
            t,
            "[[check]]\nid = \"{id}-changes\"\nkind = \"recent_changes\"\npath = {path}\nwindow = \"24h\"\ntags = [\"files\"]\n"
        );
        if servers.iter().any(|s| s.name == "apache") {
            let _ = writeln!(
                t,
                "[[check]]\nid = \"{id}-htaccess\"\nkind = \"htaccess\"\npath = {path}\ntags = [\"files\"]\n"
            );
        }
    }
    if servers.iter().any(|s| s.name != "php-fpm") {
        t.push_str("# The site itself. Replace the URL with the site's own (https://www.example.com/) to\n# check its certificate by name too.\n");
        t.push_str("[[check]]\nid = \"site\"\nkind = \"http\"\nurl = \"http://127.0.0.1/\"\nfollow_redirects = false\nonly_if_listening = true\nwarn_latency = \"1s\"\ntags = [\"site\"]\n\n");
    }
    t.push_str("# Dependencies: uncomment and adapt.\n# [[check]]\n# id = \"database\"\n# kind = \"tcp\"\n# address = \"127.0.0.1:5432\"\n#\n# [[check]]\n# id = \"app-env\"\n# kind = \"env\"\n# vars = [\"DATABASE_URL\"]\n# from_file = \"/srv/app/.env\"\n");
    t
}

fn server_checks(t: &mut String, s: &Server, root: &Path) {
    let bin = s
        .binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = slug(Path::new(&s.unit));
    let _ = writeln!(t, "# {} ({}).", s.name, s.unit);
    let block = format!(
        "[[check]]\nid = \"{id}-running\"\nkind = \"process\"\nname = {}\nunit = {}\ntags = [\"{}\"]\n",
        q(&bin),
        q(&s.unit),
        s.name
    );
    if is_running(&bin) {
        let _ = writeln!(t, "{block}");
    } else {
        // Installed is not running: `systemctl is-enabled` says "enabled" for every server a
        // package installs. A check that fails on a healthy host teaches people to ignore it.
        let _ = writeln!(
            t,
            "# {bin} was not running when init looked: uncomment if it should run here."
        );
        for line in block.lines() {
            let _ = writeln!(t, "# {line}");
        }
        t.push('\n');
    }
    let _ = writeln!(
        t,
        "[[check]]\nid = \"{id}-config\"\nkind = \"configtest\"\nserver = \"{}\"\ntags = [\"{}\"]\n",
        s.name, s.name
    );
    if !s.error_logs.is_empty() {
        let _ = writeln!(
            t,
            "[[check]]\nid = \"{id}-errors\"\nkind = \"log\"\npaths = {}\nwindow = \"1h\"\nmissing_ok = true\ntags = [\"{}\"]\n",
            list(&s.error_logs, root),
            s.name
        );
    }
}

/// The app servers behind the web server: a `tcp` (or, for a unix socket, `process`) check
/// per upstream that is served when init looks, a `log` check per error source of the app
/// server serving it, and the `upstreams` check of them all. What does not run is written
/// commented out: a check that fails on a healthy host teaches people to ignore it.
fn upstream_checks(t: &mut String, servers: &[Server]) {
    use crate::stack::listeners::{Endpoint, Listening, listening};
    let proc = crate::sys::procfs::proc_root();
    let mut seen = Vec::new();
    for s in servers {
        for u in &s.upstreams {
            if seen.contains(&u.address) {
                continue;
            }
            seen.push(u.address.clone());
            let Some(ep) = u.endpoint() else { continue };
            let id = format!("upstream-{}", slug(Path::new(&u.address)));
            let _ = writeln!(
                t,
                "# {} passes requests to {} ({}).",
                s.name, u.address, u.directive
            );
            let Listening::By(h) = listening(&proc, &ep) else {
                let _ = writeln!(
                    t,
                    "# Nothing listened there when init looked: the `upstreams` check reports it.
"
                );
                continue;
            };
            let app = crate::stack::app_servers::running(&proc, h[0].pid);
            if app.kind == "php-fpm" {
                let _ = writeln!(
                    t,
                    "# PHP-FPM serves it: see its checks.
"
                );
                continue;
            }
            let _ = writeln!(t, "# {} serves it.", app.label());
            match &ep {
                Endpoint::Tcp { .. } => {
                    let _ = writeln!(
                        t,
                        "[[check]]\nid = \"{id}\"\nkind = \"tcp\"\naddress = {}\ntags = [\"app\"]\n",
                        q(&u.address)
                    );
                }
                Endpoint::Unix(_) => {
                    let mut block = format!(
                        "[[check]]\nid = \"{id}\"\nkind = \"process\"\nname = {}\n",
                        q(&h[0].name)
                    );
                    if let Some(unit) = &h[0].unit {
                        let _ = writeln!(block, "unit = {}", q(unit.trim_end_matches(".service")));
                    }
                    let _ = writeln!(t, "{block}tags = [\"app\"]\n");
                }
            }
            app_log_check(t, &id, &app);
        }
    }
    if !seen.is_empty() {
        t.push_str("# Every upstream above accepts a connection; the one that does not is named with the\n# unit configured for it.\n[[check]]\nid = \"upstreams\"\nkind = \"upstreams\"\ntags = [\"app\"]\n\n");
    }
}

/// A `log` check of where an app server's errors go: its files, else its unit's journal.
fn app_log_check(t: &mut String, id: &str, app: &crate::stack::app_servers::AppServer) {
    if !app.error_logs.is_empty() {
        let _ = writeln!(
            t,
            "[[check]]\nid = \"{id}-errors\"\nkind = \"log\"\npaths = {}\nwindow = \"1h\"\nmissing_ok = true\ntags = [\"app\"]\n",
            list(&app.error_logs, Path::new("/"))
        );
    } else if let Some(unit) = app.journal() {
        let block = format!(
            "[[check]]\nid = \"{id}-errors\"\nkind = \"log\"\njournal = [{}]\nwindow = \"1h\"\ntags = [\"app\"]\n",
            q(unit)
        );
        if crate::checks::find("log").is_some_and(|k| (k.fields)().contains(&"journal")) {
            let _ = writeln!(t, "{block}");
        } else {
            let _ = writeln!(
                t,
                "# {} writes its errors to the journal of {unit}: uncomment once this sitedoctor\n# reads the journal (`sitedoctor explain log` lists `journal`).",
                app.kind
            );
            for line in block.lines() {
                let _ = writeln!(t, "# {line}");
            }
            t.push('\n');
        }
    }
}

/// Whether a process of that program runs now (if the table cannot be read, assume so:
/// the check then says what it finds).
fn is_running(bin: &str) -> bool {
    crate::sys::procs::snapshot().map_or(true, |all| !crate::sys::procs::named(all, bin).is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(
            super::slug(std::path::Path::new("/var/www/html")),
            "var-www-html"
        );
        assert_eq!(
            super::slug(std::path::Path::new("php8.2-fpm")),
            "php8-2-fpm"
        );
        assert_eq!(super::slug(std::path::Path::new("/")), "root");
    }
}
