//! Where an app reads its environment — the `.env` files beside it and in the web roots,
//! the PHP-FPM pools' `env[NAME] = value`, and the web stack's systemd units'
//! `Environment=`/`EnvironmentFile=` — read as data. Values are kept only to find the
//! addresses they name; they never reach any output (their `Debug` is masked).

use std::path::{Path, PathBuf};

use crate::sys::readcap;

/// How many directories above an app's own a `.env` is looked for.
const PARENTS: usize = 3;
/// A quoted value spans at most this many lines.
const MAX_VALUE_LINES: usize = 200;

/// A value as written, never shown: its `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Value(String);

impl Value {
    pub fn new(v: impl Into<String>) -> Value {
        Value(v.into())
    }
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
    /// The value itself, for deriving addresses from it; never print it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What kind of place a source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A `.env` file.
    DotEnv,
    /// A PHP-FPM pool, with the systemd unit that runs it.
    Pool { pool: String, unit: String },
    /// A systemd unit's `Environment=` lines.
    Unit { unit: String },
    /// A file a systemd unit names with `EnvironmentFile=`.
    UnitFile { unit: String },
}

/// One place the app's environment is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub origin: Origin,
    /// The file it is written in.
    pub file: PathBuf,
    /// Every assignment in order; a later one of the same name wins.
    pub vars: Vec<(String, Value)>,
}

impl Source {
    /// The value this source gives `name`, when it sets it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// For a person: `/srv/app/.env`, `PHP-FPM pool www`, `unit php8.2-fpm.service`.
    pub fn label(&self) -> String {
        let file = crate::sanitize::path(&self.file);
        match &self.origin {
            Origin::DotEnv => file,
            Origin::Pool { pool, .. } => format!("PHP-FPM pool {pool}"),
            Origin::Unit { unit } => format!("unit {unit}"),
            Origin::UnitFile { unit } => format!("{file} (EnvironmentFile= of {unit})"),
        }
    }

    /// Where a person sets `name` in it: `/srv/app/.env`, `PHP-FPM pool www (env[X])`,
    /// `unit nginx.service (Environment=X=…)`.
    pub fn place_of(&self, name: &str) -> String {
        match &self.origin {
            Origin::Pool { pool, .. } => format!("PHP-FPM pool {pool} (env[{name}])"),
            Origin::Unit { unit } => format!("unit {unit} (Environment={name}=…)"),
            _ => self.label(),
        }
    }

    /// The systemd unit to reload or restart after changing this source, when it has one.
    pub fn unit(&self) -> Option<&str> {
        match &self.origin {
            Origin::DotEnv => None,
            Origin::Pool { unit, .. } | Origin::Unit { unit } | Origin::UnitFile { unit } => {
                Some(unit)
            }
        }
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Parse a dotenv file (or a systemd `EnvironmentFile`): `KEY=value`, `export KEY=value`,
/// `#` comments, single and double quotes (a quoted value may span lines).
pub fn parse_dotenv(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(raw) = lines.next() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export")
            .filter(|r| r.starts_with([' ', '\t']))
            .map_or(line, str::trim_start);
        let Some((key, rest)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if !is_name(key) {
            continue;
        }
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => quoted(rest, q, &mut lines),
            _ => unquoted(rest),
        };
        out.push((key.to_string(), Value(value)));
    }
    out
}

/// A quoted value from its opening quote to the closing one, across lines if need be.
fn quoted<'a>(first: &'a str, q: char, more: &mut impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut line = first.strip_prefix(q).unwrap_or(first);
    for _ in 0..MAX_VALUE_LINES {
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' if q == '"' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                },
                c if c == q => return out,
                c => out.push(c),
            }
        }
        match more.next() {
            Some(next) => {
                out.push('\n');
                line = next;
            }
            None => break,
        }
    }
    out
}

/// An unquoted value ends at a `#` that follows a blank (or starts it).
fn unquoted(s: &str) -> String {
    let mut after_blank = true;
    let mut end = s.len();
    for (i, c) in s.char_indices() {
        if c == '#' && after_blank {
            end = i;
            break;
        }
        after_blank = c.is_whitespace();
    }
    s.get(..end).unwrap_or(s).trim().to_string()
}

/// Read a file capped and without blocking on a FIFO or device; `None` when it is not
/// there or not readable (a source that cannot be read declares nothing).
fn read(path: &Path) -> Option<String> {
    readcap::read_text_capped(path, readcap::DEFAULT_CAP).ok()
}

fn dotenv_source(file: &Path) -> Option<Source> {
    read_dotenv(file).ok()
}

/// A `.env` file a person named: why it cannot be read, when it cannot.
pub fn read_dotenv(file: &Path) -> Result<Source, readcap::ReadError> {
    let text = readcap::read_text_capped(file, readcap::DEFAULT_CAP)?;
    Ok(Source {
        origin: Origin::DotEnv,
        file: file.to_path_buf(),
        vars: parse_dotenv(&text),
    })
}

/// The environment the running process named `name` started with (the lowest pid of that
/// name, usually the master): a label for it (`the environment of gunicorn (pid 812)`) and
/// every variable in order. Values stay masked.
pub fn process_environ(name: &str) -> anyhow::Result<(String, Vec<(String, Value)>)> {
    use crate::sys::{procfs, procs};
    let all = procs::snapshot()?;
    let Some(p) = procs::named(all, name).into_iter().min_by_key(|p| p.pid) else {
        anyhow::bail!("no process named {name:?} is running, so its environment cannot be read");
    };
    let vars = procfs::environ(p.pid)?
        .into_iter()
        .map(|kv| {
            let eq = kv.iter().position(|b| *b == b'=').unwrap_or(kv.len());
            let value = kv.get(eq + 1..).unwrap_or_default();
            (
                String::from_utf8_lossy(&kv[..eq]).into_owned(),
                Value(String::from_utf8_lossy(value).into_owned()),
            )
        })
        .collect();
    Ok((format!("the environment of {}", p.label()), vars))
}

/// The directory an app that holds `file` lives in: above `vendor/` or `node_modules/`
/// when the file is a library's (the error points into the framework), else its own.
pub fn app_dir_of(file: &Path) -> Option<PathBuf> {
    let dir = file.parent()?;
    let mut found = None;
    for a in dir.ancestors() {
        if a.file_name()
            .is_some_and(|n| n == "vendor" || n == "node_modules")
        {
            found = a.parent();
        }
    }
    Some(found.unwrap_or(dir).to_path_buf())
}

/// The `.env` files of the app in `dir`: in it and in up to three directories above (a
/// Laravel app's web root is its `public/`), nearest first; never `/.env`, nor above `stop`.
pub fn dotenv_near(dir: &Path, stop: &Path) -> Vec<Source> {
    dir.ancestors()
        .take(PARENTS + 1)
        .filter(|d| d.parent().is_some() && d.starts_with(stop))
        .filter_map(|d| dotenv_source(&d.join(".env")))
        .collect()
}

/// A path as it is under `root` (`/` on a real host; a tree of fixtures in tests).
fn at(root: &Path, p: &str) -> PathBuf {
    root.join(p.trim_start_matches('/'))
}

/// The PHP-FPM pools under `root`: one source per pool, with its `env[...]` lines (a pool
/// that sets none is a source too: it is where a PHP app may be given a variable).
pub fn pools(root: &Path) -> Vec<Source> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut versions: Vec<PathBuf> = std::fs::read_dir(at(root, "/etc/php"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    versions.sort();
    for v in versions {
        let unit = format!(
            "php{}-fpm",
            v.file_name().unwrap_or_default().to_string_lossy()
        );
        for f in crate::sys::expand_glob(&v.join("fpm/pool.d/*.conf")) {
            files.push((f, unit.clone()));
        }
    }
    for f in crate::sys::expand_glob(&at(root, "/etc/php-fpm.d/*.conf")) {
        files.push((f, "php-fpm".into()));
    }
    let mut out = Vec::new();
    for (file, unit) in files {
        if let Some(text) = read(&file) {
            out.extend(parse_pool(&text, &file, &unit));
        }
    }
    out
}

/// The pools of one FPM configuration file.
pub fn parse_pool(text: &str, file: &Path, unit: &str) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with([';', '#']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if name != "global" {
                out.push(Source {
                    origin: Origin::Pool {
                        pool: name.to_string(),
                        unit: unit.to_string(),
                    },
                    file: file.to_path_buf(),
                    vars: Vec::new(),
                });
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some(name) = key
            .trim()
            .strip_prefix("env[")
            .and_then(|k| k.strip_suffix(']'))
        else {
            continue;
        };
        let value = value.trim();
        let value = ["\"", "'"]
            .iter()
            .find_map(|q| value.strip_prefix(q).and_then(|v| v.strip_suffix(q)))
            .unwrap_or(value);
        if let Some(pool) = out.last_mut()
            && is_name(name.trim())
        {
            pool.vars
                .push((name.trim().to_string(), Value(value.to_string())));
        }
    }
    out
}

/// The systemd units named `units` (`nginx`, `php8.2-fpm`) under `root`: their
/// `Environment=` (one source per unit that has any) and the files their
/// `EnvironmentFile=` names. The unit file that systemd uses, then its drop-ins.
pub fn units(root: &Path, units: &[String]) -> Vec<Source> {
    let mut out = Vec::new();
    for u in units {
        let name = if u.ends_with(".service") {
            u.clone()
        } else {
            format!("{u}.service")
        };
        let dirs = [
            "/etc/systemd/system",
            "/run/systemd/system",
            "/lib/systemd/system",
            "/usr/lib/systemd/system",
        ];
        let main = dirs
            .iter()
            .map(|d| at(root, &format!("{d}/{name}")))
            .find(|p| p.is_file());
        let mut files: Vec<PathBuf> = main.into_iter().collect();
        for d in dirs {
            files.extend(crate::sys::expand_glob(&at(
                root,
                &format!("{d}/{name}.d/*.conf"),
            )));
        }
        let mut env = Source {
            origin: Origin::Unit { unit: name.clone() },
            file: files.first().cloned().unwrap_or_default(),
            vars: Vec::new(),
        };
        let mut declared = false;
        for f in &files {
            let Some(text) = read(f) else { continue };
            for (key, value) in unit_settings(&text) {
                match key.as_str() {
                    "Environment" if value.is_empty() => env.vars.clear(),
                    "Environment" => {
                        declared = true;
                        env.vars.extend(environment_words(&value));
                    }
                    "EnvironmentFile" => {
                        let path = value.trim().trim_start_matches('-');
                        if let Some(mut s) = dotenv_source(&at(root, path)) {
                            s.origin = Origin::UnitFile { unit: name.clone() };
                            out.push(s);
                        }
                    }
                    _ => {}
                }
            }
        }
        if declared {
            out.push(env);
        }
    }
    out
}

/// `key=value` lines of a unit file's `[Service]` section.
fn unit_settings(text: &str) -> Vec<(String, String)> {
    let mut service = false;
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('[') {
            service = line == "[Service]";
            continue;
        }
        if !service || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The assignments of one `Environment=` value: words split at blanks, quotes grouping.
fn environment_words(value: &str) -> Vec<(String, Value)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => word.extend(chars.next()),
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .into_iter()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            is_name(k).then(|| (k.to_string(), Value(v.to_string())))
        })
        .collect()
}

/// The servers of the web stack under `root` (the cached detection on a real host).
fn servers(root: &Path) -> Vec<crate::webstack::Server> {
    if root == Path::new("/") {
        crate::webstack::installed().to_vec()
    } else {
        crate::webstack::detect(root)
    }
}

/// What the web stack under `root` declares: the pools, and the units it names.
pub fn of_host(root: &Path) -> Vec<Source> {
    let names: Vec<String> = servers(root).into_iter().map(|s| s.unit).collect();
    let mut out = pools(root);
    out.extend(units(root, &names));
    out
}

/// The `.env` files of the apps the web stack under `root` serves (its web roots).
pub fn of_web_roots(root: &Path) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    for s in servers(root) {
        for r in &s.roots {
            for src in dotenv_near(r, root) {
                if !out.iter().any(|o| o.file == src.file) {
                    out.push(src);
                }
            }
        }
    }
    out
}

/// The root this host's files are read under: `/`, or `SITEDOCTOR_SYSROOT` in tests.
pub fn sysroot() -> PathBuf {
    crate::init::sysroot()
}

/// This host's pools and units, read once per run.
pub fn host_cached() -> &'static [Source] {
    static HOST: std::sync::OnceLock<Vec<Source>> = std::sync::OnceLock::new();
    HOST.get_or_init(|| of_host(&sysroot()))
}

/// The env sources of the app that holds `file` (a path a log line points at): the `.env`
/// files near it, nearest first, then this host's pools and units.
pub fn for_file(file: &Path) -> Vec<Source> {
    let mut out = app_dir_of(file).map_or_else(Vec::new, |d| dotenv_near(&d, Path::new("/")));
    out.extend(host_cached().iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[(String, Value)]) -> Vec<(&str, &str)> {
        v.iter().map(|(k, v)| (k.as_str(), v.secret())).collect()
    }

    #[test]
    fn dotenv_lines() {
        let text = "# comment\nexport A=1\nB = two words # note\nC=\"quoted # kept\"\nD='single'\nE=\nF=\"multi\nline\"\nG=a#b\n  H=\"esc\\\"aped\"\n1X=bad\nnot a line\n";
        assert_eq!(
            names(&parse_dotenv(text)),
            vec![
                ("A", "1"),
                ("B", "two words"),
                ("C", "quoted # kept"),
                ("D", "single"),
                ("E", ""),
                ("F", "multi\nline"),
                ("G", "a#b"),
                ("H", "esc\"aped"),
            ]
        );
    }

    #[test]
    fn a_value_never_shows_in_debug() {
        let v = parse_dotenv("DATABASE_URL=mysql://u:hunter2@db/x\n");
        assert!(!format!("{v:?}").contains("hunter2"));
    }

    #[test]
    fn pool_env_lines_per_pool() {
        let text = "[global]\nenv[NO] = x\n[www]\nlisten = /run/php/x.sock\nenv[DB_HOST] = 127.0.0.1\n;env[OFF] = 1\nenv[Q] = \"quoted\"\n[shop]\n";
        let p = parse_pool(
            text,
            Path::new("/etc/php/8.2/fpm/pool.d/www.conf"),
            "php8.2-fpm",
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].label(), "PHP-FPM pool www");
        assert_eq!(
            names(&p[0].vars),
            vec![("DB_HOST", "127.0.0.1"), ("Q", "quoted")]
        );
        assert!(p[1].vars.is_empty());
        assert_eq!(p[1].unit(), Some("php8.2-fpm"));
    }

    fn write(root: &Path, p: &str, text: &str) {
        let f = at(root, p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }

    #[test]
    fn units_environment_and_files_with_drop_ins() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(
            r,
            "/lib/systemd/system/app.service",
            "[Unit]\nEnvironment=NOT=service\n[Service]\nEnvironment=\"A=1 2\" B=3\nEnvironmentFile=-/etc/default/app\nEnvironmentFile=-/etc/default/missing\n",
        );
        write(
            r,
            "/etc/systemd/system/app.service.d/override.conf",
            "[Service]\nEnvironment=C=4\n",
        );
        write(r, "/etc/default/app", "REDIS_URL=redis://127.0.0.1:6379\n");
        write(
            r,
            "/lib/systemd/system/plain.service",
            "[Service]\nExecStart=/bin/true\n",
        );
        let s = units(r, &["app".into(), "plain".into(), "absent".into()]);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(
            s[0].origin,
            Origin::UnitFile {
                unit: "app.service".into()
            }
        );
        assert!(s[0].get("REDIS_URL").is_some());
        assert_eq!(s[1].label(), "unit app.service");
        assert_eq!(
            names(&s[1].vars),
            vec![("A", "1 2"), ("B", "3"), ("C", "4")]
        );
    }

    #[test]
    fn dotenv_near_an_app_and_above_vendor() {
        let t = tempfile::tempdir().unwrap();
        let app = t.path().join("srv/app");
        write(&app, "/.env", "DB_HOST=127.0.0.1\n");
        write(&app, "/public/index.php", "");
        let found = dotenv_near(&app.join("public"), t.path());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file, app.join(".env"));
        let deep = app.join("vendor/symfony/di/src/Env.php");
        assert_eq!(app_dir_of(&deep), Some(app.clone()));
        assert_eq!(app_dir_of(&app.join("db.php")), Some(app.clone()));
        // Not above the root it was asked to stay under.
        write(t.path(), "/.env", "X=1\n");
        assert_eq!(dotenv_near(&app, &app).len(), 1);
    }

    #[test]
    fn host_sources_from_a_fixture_tree() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(r, "/usr/sbin/php-fpm8.2", "");
        write(
            r,
            "/etc/php/8.2/fpm/php-fpm.conf",
            "include=/etc/php/8.2/fpm/pool.d/*.conf\n",
        );
        write(
            r,
            "/etc/php/8.2/fpm/pool.d/www.conf",
            "[www]\nlisten = 9000\nenv[APP_ENV] = prod\n",
        );
        write(
            r,
            "/lib/systemd/system/php8.2-fpm.service",
            "[Service]\nEnvironment=FPM=1\n",
        );
        let s = of_host(r);
        let labels: Vec<String> = s.iter().map(Source::label).collect();
        assert_eq!(labels, vec!["PHP-FPM pool www", "unit php8.2-fpm.service"]);
    }

    proptest::proptest! {
        /// Any text as a unit file or an `Environment=` value: no panic.
        #[test]
        fn unit_parsing_never_panics(text in "[\\PC\n=\"'\\\\\\[\\] ]{0,200}") {
            for (_, v) in unit_settings(&format!("[Service]\n{text}")) {
                let _ = environment_words(&v);
            }
            let _ = environment_words(&text);
            let _ = parse_dotenv(&text);
        }
    }
}
