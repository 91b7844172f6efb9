//! One snapshot of the process table per run, shared by every check that needs it.

use std::sync::OnceLock;

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    /// The kernel's short name (`comm`).
    pub name: String,
    /// The full command line, joined with spaces.
    pub cmdline: String,
    /// Basename of the executable, when readable.
    pub exe_name: Option<String>,
    pub rss: u64,
    /// Average CPU use since the process started, in percent of one core (like `ps`).
    pub avg_cpu: f64,
    pub state: String,
}

impl Proc {
    /// Whether this process is the program `name`: its short name, its executable, or the
    /// first word of its command line (`nginx: master process` is nginx).
    pub fn is_named(&self, name: &str) -> bool {
        if self.name == name || self.exe_name.as_deref() == Some(name) {
            return true;
        }
        let argv0 = self.cmdline.split([' ', ':']).next().unwrap_or("");
        argv0.rsplit('/').next() == Some(name)
    }

    /// A short label for evidence lines: `php-fpm8.2 (pid 812)`.
    pub fn label(&self) -> String {
        format!(
            "{} (pid {})",
            crate::sanitize::terminal(&self.name),
            self.pid
        )
    }
}

static SNAPSHOT: OnceLock<Result<Vec<Proc>, String>> = OnceLock::new();

/// The process table, read once per run on first use.
pub fn snapshot() -> anyhow::Result<&'static [Proc]> {
    SNAPSHOT
        .get_or_init(read)
        .as_deref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn read() -> Result<Vec<Proc>, String> {
    let mut sys = System::new().map_err(|e| format!("cannot read the process table: {e}"))?;
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_memory()
            .with_cpu()
            .with_cmd(UpdateKind::Always)
            .with_exe(UpdateKind::Always),
    );
    let mut out: Vec<Proc> = sys
        .processes()
        .values()
        .filter(|p| p.thread_kind() != Some(sysinfo::ThreadKind::Userland))
        .map(|p| {
            let run_ms = p.run_time().max(1) as f64 * 1000.0;
            Proc {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                cmdline: p
                    .cmd()
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
                exe_name: p
                    .exe()
                    .and_then(|e| e.file_name())
                    .map(|n| n.to_string_lossy().into_owned()),
                rss: p.memory(),
                avg_cpu: p.accumulated_cpu_time() as f64 * 100.0 / run_ms,
                state: format!("{:?}", p.status()),
            }
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// The `n` processes using the most memory.
pub fn top_by_memory(procs: &[Proc], n: usize) -> Vec<&Proc> {
    let mut v: Vec<&Proc> = procs.iter().filter(|p| p.rss > 0).collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.rss));
    v.truncate(n);
    v
}

/// The `n` processes that have used the most CPU on average.
pub fn top_by_cpu(procs: &[Proc], n: usize) -> Vec<&Proc> {
    // Never ourselves: a person looking for what keeps the host busy must not be sent to
    // the tool that is looking (its threads are busiest at the moment it measures).
    let me = std::process::id();
    let mut v: Vec<&Proc> = procs
        .iter()
        .filter(|p| p.avg_cpu > 0.0 && p.pid != me)
        .collect();
    v.sort_by(|a, b| b.avg_cpu.total_cmp(&a.avg_cpu));
    v.truncate(n);
    v
}

/// Processes that are the program `name`.
pub fn named<'a>(procs: &'a [Proc], name: &str) -> Vec<&'a Proc> {
    procs.iter().filter(|p| p.is_named(name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_list_never_names_this_process() {
        let mut me = p("sitedoctor", "sitedoctor");
        me.pid = std::process::id();
        me.avg_cpu = 99.0;
        let mut other = p("php-fpm", "php-fpm: pool www");
        other.pid = std::process::id() + 1;
        other.avg_cpu = 5.0;
        let all = [me, other];
        let top = top_by_cpu(&all, 3);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].name, "php-fpm");
    }

    fn p(name: &str, cmd: &str) -> Proc {
        Proc {
            pid: 1,
            name: name.into(),
            cmdline: cmd.into(),
            exe_name: None,
            rss: 0,
            avg_cpu: 0.0,
            state: "Sleep".into(),
        }
    }

    #[test]
    fn names_match_comm_exe_and_argv0() {
        assert!(p("nginx", "nginx: master process /usr/sbin/nginx").is_named("nginx"));
        assert!(p("php-fpm8.2", "php-fpm: pool www").is_named("php-fpm"));
        assert!(p("python3", "/usr/bin/gunicorn app:app").is_named("gunicorn"));
        assert!(!p("bash", "bash").is_named("nginx"));
    }

    #[test]
    fn own_process_is_in_the_snapshot() {
        let procs = snapshot().unwrap();
        let me = std::process::id();
        assert!(procs.iter().any(|p| p.pid == me));
    }
}
