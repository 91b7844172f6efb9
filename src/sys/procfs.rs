//! Parsers for the few `/proc` files the resource checks judge: they report what they could
//! not read instead of guessing zeros.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::read_system_file;

/// Root of the proc filesystem; tests point it elsewhere with `SITEDOCTOR_PROC`.
pub fn proc_root() -> PathBuf {
    std::env::var_os("SITEDOCTOR_PROC").map_or_else(|| PathBuf::from("/proc"), PathBuf::from)
}

pub fn proc_path(rel: &str) -> PathBuf {
    proc_root().join(rel)
}

/// The memory figures that matter for "can the app allocate", in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemInfo {
    pub total: u64,
    pub available: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

pub fn meminfo() -> anyhow::Result<MemInfo> {
    let path = proc_path("meminfo");
    parse_meminfo(&read_system_file(&path)?)
        .with_context(|| format!("unexpected format in {}", path.display()))
}

pub fn parse_meminfo(text: &str) -> anyhow::Result<MemInfo> {
    let field = |name: &str| -> Option<u64> {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some(kib.saturating_mul(1024))
        })
    };
    let total = field("MemTotal").context("no MemTotal line")?;
    // Kernels before 3.14 lack MemAvailable; free + cache is the usual estimate.
    let available = match field("MemAvailable") {
        Some(a) => a,
        None => field("MemFree")
            .context("no MemAvailable or MemFree line")?
            .saturating_add(field("Cached").unwrap_or(0))
            .saturating_add(field("Buffers").unwrap_or(0)),
    };
    Ok(MemInfo {
        total,
        available,
        swap_total: field("SwapTotal").unwrap_or(0),
        swap_free: field("SwapFree").unwrap_or(0),
    })
}

/// Load averages over 1, 5 and 15 minutes.
pub fn loadavg() -> anyhow::Result<[f64; 3]> {
    let path = proc_path("loadavg");
    parse_loadavg(&read_system_file(&path)?)
        .with_context(|| format!("unexpected format in {}", path.display()))
}

pub fn parse_loadavg(text: &str) -> anyhow::Result<[f64; 3]> {
    let mut it = text.split_whitespace().map(|w| w.parse::<f64>());
    let mut out = [0.0; 3];
    for slot in &mut out {
        *slot = it
            .next()
            .context("too few fields")?
            .context("not a number")?;
    }
    Ok(out)
}

/// System-wide file handles: allocated and the kernel maximum (`/proc/sys/fs/file-nr`).
pub fn file_nr() -> anyhow::Result<(u64, u64)> {
    let path = proc_path("sys/fs/file-nr");
    parse_file_nr(&read_system_file(&path)?)
        .with_context(|| format!("unexpected format in {}", path.display()))
}

pub fn parse_file_nr(text: &str) -> anyhow::Result<(u64, u64)> {
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|w| w.parse())
        .collect::<Result<_, _>>()
        .context("not numbers")?;
    match v.as_slice() {
        [allocated, free, max] => Ok((allocated.saturating_sub(*free), *max)),
        _ => bail!("expected three numbers"),
    }
}

/// The soft "Max open files" limit of a process (`None` for unlimited).
pub fn max_open_files(pid: u32) -> anyhow::Result<Option<u64>> {
    let path = proc_path(&format!("{pid}/limits"));
    parse_limits_nofile(&read_system_file(&path)?)
        .with_context(|| format!("unexpected format in {}", path.display()))
}

pub fn parse_limits_nofile(text: &str) -> anyhow::Result<Option<u64>> {
    let rest = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .context("no \"Max open files\" line")?;
    let soft = rest.split_whitespace().next().context("no soft limit")?;
    if soft == "unlimited" {
        return Ok(None);
    }
    Ok(Some(soft.parse().context("soft limit is not a number")?))
}

/// How many descriptors a process has open.
pub fn open_fds(pid: u32) -> anyhow::Result<u64> {
    let dir = proc_path(&format!("{pid}/fd"));
    let entries = std::fs::read_dir(&dir).map_err(|e| super::denied_or(&dir, &e))?;
    Ok(entries.filter(|e| e.is_ok()).count() as u64)
}

/// The environment a running process started with, as `NAME=value` byte strings.
pub fn environ(pid: u32) -> anyhow::Result<Vec<Vec<u8>>> {
    let path = proc_path(&format!("{pid}/environ"));
    let bytes = std::fs::read(&path).map_err(|e| super::denied_or(&path, &e))?;
    Ok(bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_parses() {
        let m = parse_meminfo(
            "MemTotal:       16000 kB\nMemFree: 1000 kB\nMemAvailable:    4000 kB\nSwapTotal: 2000 kB\nSwapFree: 500 kB\n",
        )
        .unwrap();
        assert_eq!(m.total, 16000 * 1024);
        assert_eq!(m.available, 4000 * 1024);
        assert_eq!(m.swap_free, 500 * 1024);
        let old = parse_meminfo("MemTotal: 100 kB\nMemFree: 10 kB\nCached: 5 kB\n").unwrap();
        assert_eq!(old.available, 15 * 1024);
        assert!(parse_meminfo("garbage").is_err());
        let huge = parse_meminfo(
            "MemTotal: 18446744073709551615 kB\nMemFree: 18446744073709551615 kB\nCached: 9 kB\n",
        )
        .unwrap();
        assert_eq!((huge.total, huge.available), (u64::MAX, u64::MAX));
    }

    #[test]
    fn loadavg_parses() {
        assert_eq!(
            parse_loadavg("0.50 1.25 2.00 1/76 1937\n").unwrap(),
            [0.5, 1.25, 2.0]
        );
        assert!(parse_loadavg("0.5").is_err());
    }

    #[test]
    fn file_nr_parses() {
        assert_eq!(parse_file_nr("96\t0\t2470938\n").unwrap(), (96, 2470938));
        assert!(parse_file_nr("1 2").is_err());
    }

    #[test]
    fn limits_parse() {
        let t = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(parse_limits_nofile(t).unwrap(), Some(1024));
        let u = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_limits_nofile(u).unwrap(), None);
    }
}

/// Whether something listens on TCP `port` at one of `addrs` — on that address itself, or on
/// a wildcard that covers it: `0.0.0.0` for IPv4, `::` for both (Linux binds it dual-stack
/// unless `bindv6only`) — from /proc/net/tcp{,6}, read line by line.
pub fn tcp_listening_on(addrs: &[IpAddr], port: u16) -> bool {
    use std::io::BufRead;
    ["net/tcp", "net/tcp6"].iter().any(|f| {
        std::fs::File::open(proc_path(f)).is_ok_and(|file| {
            std::io::BufReader::new(file)
                .lines()
                .map_while(Result::ok)
                .skip(1)
                .filter_map(|l| listener(&l))
                .any(|(ip, p)| p == port && addrs.iter().any(|a| covers(ip, *a)))
        })
    })
}

/// The local address and port of a line of /proc/net/tcp{,6} in the LISTEN state (`0A`).
fn listener(line: &str) -> Option<(IpAddr, u16)> {
    let mut f = line.split_whitespace();
    let local = f.nth(1)?;
    if f.nth(1)? != "0A" {
        return None;
    }
    let (addr, port) = local.split_once(':')?;
    Some((hex_ip(addr)?, u16::from_str_radix(port, 16).ok()?))
}

/// The kernel prints an address as 32-bit words in the machine's byte order.
fn hex_ip(hex: &str) -> Option<IpAddr> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let word = |i: usize| {
        hex.get(i * 8..i * 8 + 8)
            .and_then(|w| u32::from_str_radix(w, 16).ok())
            .map(u32::to_ne_bytes)
    };
    match hex.len() {
        8 => Some(IpAddr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i)?);
            }
            Some(IpAddr::from(b))
        }
        _ => None,
    }
}

/// Whether a socket listening on `listening` accepts connections to `target`.
fn covers(listening: IpAddr, target: IpAddr) -> bool {
    let target = target.to_canonical();
    match listening {
        IpAddr::V6(any) if any.is_unspecified() => true,
        IpAddr::V4(any) if any.is_unspecified() => target.is_ipv4(),
        other => other.to_canonical() == target,
    }
}

#[cfg(test)]
mod listen_tests {
    use std::net::IpAddr;

    use super::{covers, listener};

    const TCP: &str = "  sl  local_address rem_address   st\n   0: 0100007F:1F90 00000000:0000 0A 0\n   1: 0200007F:0050 00000000:0000 0A 0\n   2: 00000000:01BB 00000000:0000 0A 0\n   3: 0100007F:0016 0100007F:D2C4 01 0\n";
    const TCP6: &str = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 0\n   1: 00000000000000000000000000000000:0FA0 00000000000000000000000000000000:0000 0A 0\n   2: 0000000000000000FFFF00000100007F:1388 00000000000000000000000000000000:0000 0A 0\n";

    fn listens(addr: &str, port: u16) -> bool {
        let a: IpAddr = addr.parse().unwrap();
        [TCP, TCP6].iter().any(|t| {
            t.lines()
                .skip(1)
                .filter_map(listener)
                .any(|(ip, p)| p == port && covers(ip, a))
        })
    }

    #[test]
    fn the_address_counts_not_only_the_port() {
        // 127.0.0.1:8080 listens; 127.0.0.2:80 listens; 0.0.0.0:443.
        assert!(listens("127.0.0.1", 8080));
        assert!(!listens("127.0.0.2", 8080));
        assert!(!listens("::1", 8080));
        assert!(listens("127.0.0.2", 80));
        assert!(!listens("127.0.0.1", 80), "only 127.0.0.2 listens on 80");
        assert!(listens("127.0.0.1", 443) && listens("127.0.0.9", 443));
        assert!(!listens("::1", 443), "0.0.0.0 does not cover IPv6");
        assert!(!listens("127.0.0.1", 22), "established, not listening");
    }

    #[test]
    fn ipv6_wildcards_and_mapped_addresses() {
        // [::1]:3000, [::]:4000, [::ffff:127.0.0.1]:5000.
        assert!(listens("::1", 3000));
        assert!(!listens("127.0.0.1", 3000));
        assert!(
            listens("::1", 4000) && listens("127.0.0.1", 4000),
            "[::] is dual-stack"
        );
        assert!(listens("127.0.0.1", 5000) && !listens("127.0.0.2", 5000));
    }

    #[test]
    fn odd_lines_are_ignored() {
        for l in [
            "",
            "   0:",
            "   0: zz:0050 0 0A",
            "   0: 0100007F:XYZ 0 0A",
            "   0: 01é0007F:0050 0 0A",
        ] {
            assert_eq!(listener(l), None, "{l:?}");
        }
    }
}

/// One row of /proc/net/tcp{,6}: a TCP socket, its ends, its state and its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRow {
    pub local: std::net::SocketAddr,
    pub remote: std::net::SocketAddr,
    /// The kernel's state number: 1 ESTABLISHED, 2 SYN_SENT, 10 LISTEN.
    pub state: u8,
    pub inode: u64,
}

pub const TCP_ESTABLISHED: u8 = 1;
pub const TCP_SYN_SENT: u8 = 2;
pub const TCP_LISTEN: u8 = 10;

/// At most this many rows of each /proc/net table are read: a host with more sockets than
/// this is answered from the first ones rather than slowly.
const NET_ROWS_CAP: usize = 200_000;

/// A line of /proc/net/tcp{,6}: `sl local remote st tx:rx tr:when retrnsmt uid timeout inode`.
pub fn parse_tcp_row(line: &str) -> Option<TcpRow> {
    let f: Vec<&str> = line.split_whitespace().take(10).collect();
    if f.len() < 10 {
        return None;
    }
    let addr = |s: &str| {
        let (ip, port) = s.split_once(':')?;
        Some(std::net::SocketAddr::new(
            hex_ip(ip)?,
            u16::from_str_radix(port, 16).ok()?,
        ))
    };
    Some(TcpRow {
        local: addr(f[1])?,
        remote: addr(f[2])?,
        state: u8::from_str_radix(f[3], 16).ok()?,
        inode: f[9].parse().ok()?,
    })
}

/// Every TCP socket of this network namespace, IPv4 and IPv6, under the proc root `proc`
/// (capped; an unreadable table is skipped); `None` when neither table could be read.
pub fn tcp_rows(proc: &std::path::Path) -> Option<Vec<TcpRow>> {
    let mut out = Vec::new();
    let mut read = false;
    for f in ["net/tcp", "net/tcp6"] {
        read |= for_lines(&proc.join(f), |l| out.extend(parse_tcp_row(l)));
    }
    read.then_some(out)
}

/// One row of /proc/net/unix: a unix socket, whether it listens, its inode and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixRow {
    pub listening: bool,
    pub inode: u64,
    pub path: Option<String>,
}

/// A line of /proc/net/unix: `Num RefCount Protocol Flags Type St Inode [Path]`; a listening
/// socket has `__SO_ACCEPTCON` (0x10000) in its flags.
pub fn parse_unix_row(line: &str) -> Option<UnixRow> {
    let mut f = line.split_whitespace();
    let num = f.next()?;
    if !num.ends_with(':') {
        return None;
    }
    let flags = u32::from_str_radix(f.nth(2)?, 16).ok()?;
    let inode = f.nth(2)?.parse().ok()?;
    let path: Vec<&str> = f.collect();
    Some(UnixRow {
        listening: flags & 0x10000 != 0,
        inode,
        path: (!path.is_empty()).then(|| path.join(" ")),
    })
}

/// Every unix socket of this host that has a path or listens (capped); `None` when the
/// table could not be read.
pub fn unix_rows(proc: &std::path::Path) -> Option<Vec<UnixRow>> {
    let mut out = Vec::new();
    for_lines(&proc.join("net/unix"), |l| {
        out.extend(parse_unix_row(l).filter(|r| r.listening || r.path.is_some()))
    })
    .then_some(out)
}

/// Call `each` on every line after the header; false when the file could not be opened.
fn for_lines(path: &std::path::Path, mut each: impl FnMut(&str)) -> bool {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .skip(1)
        .take(NET_ROWS_CAP)
        .for_each(|l| each(&l));
    true
}

/// The process ids under the proc root, in ascending order, at most `cap`.
pub fn pids(proc: &std::path::Path, cap: usize) -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir(proc)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v.truncate(cap);
    v
}

/// The socket inodes a process holds open (`/proc/PID/fd/N` → `socket:[INODE]`), looking at
/// no more than `cap` descriptors; empty when they cannot be read (another user's process,
/// unprivileged).
pub fn socket_inodes(proc: &std::path::Path, pid: u32, cap: usize) -> Vec<u64> {
    let dir = proc.join(pid.to_string()).join("fd");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    rd.flatten()
        .take(cap)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|t| socket_inode(&t.to_string_lossy()))
        .collect()
}

/// `socket:[12345]` → 12345.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// A process's short name (`comm`), when readable.
pub fn comm(proc: &std::path::Path, pid: u32) -> Option<String> {
    let b = super::readcap::read_capped(&proc.join(format!("{pid}/comm")), 4096).ok()?;
    let s = String::from_utf8_lossy(&b)
        .trim_end_matches('\n')
        .to_string();
    (!s.is_empty()).then_some(s)
}

/// A process's command line, arguments joined with spaces, when readable.
pub fn cmdline(proc: &std::path::Path, pid: u32) -> Option<String> {
    let b = super::readcap::read_capped(&proc.join(format!("{pid}/cmdline")), 64 * 1024).ok()?;
    let words: Vec<String> = b
        .split(|c| *c == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The systemd service a process belongs to, from /proc/PID/cgroup.
pub fn systemd_unit(proc: &std::path::Path, pid: u32) -> Option<String> {
    let b = super::readcap::read_capped(&proc.join(format!("{pid}/cgroup")), 64 * 1024).ok()?;
    parse_cgroup_unit(&String::from_utf8_lossy(&b))
}

/// `0::/system.slice/gunicorn.service` (v2) or `1:name=systemd:/system.slice/x.service`
/// (v1) → the innermost `.service` of the systemd hierarchy.
pub fn parse_cgroup_unit(text: &str) -> Option<String> {
    let line = text
        .lines()
        .find(|l| l.starts_with("0::"))
        .or_else(|| text.lines().find(|l| l.contains(":name=systemd:")))?;
    let path = line.splitn(3, ':').nth(2)?;
    path.split('/')
        .rev()
        .find(|c| c.ends_with(".service") && c.len() > ".service".len())
        .map(str::to_string)
}

/// Whether a socket listening on `listening` accepts connections to `target` (a wildcard
/// covers its family; `::` covers both).
pub fn listen_covers(listening: IpAddr, target: IpAddr) -> bool {
    covers(listening, target)
}

#[cfg(test)]
mod socket_tests {
    use super::*;

    #[test]
    fn tcp_rows_parse_with_inode_and_state() {
        let r = parse_tcp_row("   0: 0100007F:1F40 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 20 4 30 10 -1").unwrap();
        assert_eq!(r.local, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(r.remote, "127.0.0.1:53956".parse().unwrap());
        assert_eq!((r.state, r.inode), (TCP_ESTABLISHED, 4242));
        assert_eq!(parse_tcp_row("  sl  local_address rem_address   st"), None);
        assert_eq!(parse_tcp_row("   0: 0100007F:1F40"), None);
    }

    #[test]
    fn unix_rows_parse() {
        let l = parse_unix_row(
            "0000000000000000: 00000002 00000000 00010000 0001 01 23456 /run/php/php8.2-fpm.sock",
        )
        .unwrap();
        assert_eq!(
            l,
            UnixRow {
                listening: true,
                inode: 23456,
                path: Some("/run/php/php8.2-fpm.sock".into())
            }
        );
        let c = parse_unix_row("0000000000000000: 00000003 00000000 00000000 0001 03 777").unwrap();
        assert!(!c.listening && c.path.is_none());
        assert_eq!(parse_unix_row("Num       RefCount Protocol Flags"), None);
    }

    #[test]
    fn cgroup_names_the_service() {
        assert_eq!(
            parse_cgroup_unit("0::/system.slice/gunicorn.service\n").as_deref(),
            Some("gunicorn.service")
        );
        assert_eq!(
            parse_cgroup_unit("12:pids:/x\n1:name=systemd:/system.slice/php8.2-fpm.service\n")
                .as_deref(),
            Some("php8.2-fpm.service")
        );
        assert_eq!(
            parse_cgroup_unit("0::/user.slice/user-0.slice/session-3.scope\n"),
            None
        );
        assert_eq!(parse_cgroup_unit("garbage"), None);
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode("socket:[99]"), Some(99));
        assert_eq!(socket_inode("pipe:[99]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }
}
