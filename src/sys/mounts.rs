//! The mount table (`/proc/self/mountinfo`), and which mounts are real local storage.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use super::procfs::proc_path;

#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub point: PathBuf,
    pub fstype: String,
    pub source: String,
    pub read_only: bool,
    /// `major:minor` of the device, to fold bind mounts of one filesystem together.
    pub device: String,
}

/// Filesystems that hold no user data that can fill up.
const PSEUDO: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
    "efivarfs",
    "selinuxfs",
    "ramfs",
    "squashfs",
    "iso9660",
    "udf",
    "fuse.lxcfs",
    "fuse.snapfuse",
    "fuse.gvfsd-fuse",
    "overlay.ro",
    "erofs",
];

pub fn read() -> anyhow::Result<Vec<Mount>> {
    let text = super::read_system_file(&proc_path("self/mountinfo"))?;
    Ok(parse_mountinfo(&text))
}

pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    let device = l.get(2)?.to_string();
    let point = PathBuf::from(OsString::from_vec(unescape(l.get(4)?)));
    let read_only = l.get(5)?.split(',').any(|o| o == "ro");
    Some(Mount {
        point,
        fstype: r.first()?.to_string(),
        source: String::from_utf8_lossy(&unescape(r.get(1).unwrap_or(&""))).into_owned(),
        read_only,
        device,
    })
}

/// Mount points escape space, tab, newline and backslash as `\040`-style octal: three
/// octal digits for one byte (`\000` to `\377`); anything else is taken as it is.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0')))
            .and_then(|v| u8::try_from(v).ok());
        match octal {
            Some(v) => {
                out.push(v);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// Mounts that are real, writable local storage, one per filesystem: what `disk` checks
/// when no `paths` are given. A tmpfs counts like any other (a full one fails every write
/// to it: a cache or session directory mounted in RAM under the web root); the system's
/// own (`/dev/shm`, `/run/user/…`) are left out with the directories they sit in.
pub fn real_local(mounts: &[Mount]) -> Vec<Mount> {
    let mut out: Vec<Mount> = Vec::new();
    let mut sorted: Vec<&Mount> = mounts.iter().collect();
    // Shortest mount point first, so a bind mount folds into the mount it comes from.
    sorted.sort_by_key(|m| m.point.as_os_str().len());
    for m in sorted {
        if m.read_only || PSEUDO.contains(&m.fstype.as_str()) || under_system_dir(&m.point) {
            continue;
        }
        if out.iter().any(|o| o.device == m.device) || !m.point.is_dir() {
            continue;
        }
        out.push(m.clone());
    }
    out.sort_by(|a, b| a.point.cmp(&b.point));
    out
}

fn under_system_dir(p: &Path) -> bool {
    [
        "/proc",
        "/sys",
        "/dev",
        "/run/user",
        "/run/lock",
        "/run/credentials",
    ]
    .iter()
    .any(|d| p.starts_with(d))
        || p.starts_with("/snap")
}

/// The mount holding `path` (the longest mount point that is a prefix of it).
pub fn mount_of<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.point))
        .max_by_key(|m| m.point.as_os_str().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw
28 27 0:25 / /mnt/tools ro,nosuid - tmpfs x ro
29 27 254:0 /srv /mnt/bind rw,relatime - ext4 /dev/vda rw
30 27 254:1 / /var/my\\040data rw,relatime - xfs /dev/vdb rw
31 27 0:40 / /tmp rw - tmpfs tmpfs rw
32 27 7:1 / /snap/core/1 ro - squashfs /dev/loop1 ro
";

    #[test]
    fn parses_and_unescapes() {
        let m = parse_mountinfo(SAMPLE);
        assert_eq!(m.len(), 8);
        assert_eq!(m[5].point, PathBuf::from("/var/my data"));
        assert!(m[3].read_only);
        assert_eq!(m[1].fstype, "ext4");
    }

    #[test]
    fn escapes_past_a_byte_and_non_utf8_points() {
        let m = parse_mountinfo("1 1 8:1 / /a\\777b\\303\\251\\377 rw - ext4 /dev/x rw\n");
        assert_eq!(
            m[0].point.as_os_str().as_encoded_bytes(),
            b"/a\\777b\xc3\xa9\xff",
            "\\777 is no byte: kept as written; \\377 is one, even if not UTF-8"
        );
    }

    #[test]
    fn real_local_skips_pseudo_readonly_and_binds() {
        let all = parse_mountinfo(SAMPLE);
        let real: Vec<String> = real_local(&all)
            .iter()
            .map(|m| m.point.display().to_string())
            .collect();
        // /var/my data and /mnt/bind do not exist here, so only mounts that are directories stay.
        assert!(real.contains(&"/".to_string()), "{real:?}");
        assert!(real.contains(&"/tmp".to_string()), "{real:?}");
        assert!(!real.iter().any(|p| p.starts_with("/proc")
            || p.starts_with("/dev")
            || p.starts_with("/snap")
            || p == "/mnt/tools"
            || p == "/mnt/bind"));
    }

    #[test]
    fn real_local_keeps_a_tmpfs_under_a_web_root() {
        let t = tempfile::tempdir().unwrap();
        let cache = t.path().join("html/cache");
        std::fs::create_dir_all(&cache).unwrap();
        let text = format!(
            "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
             41 27 0:51 / {} rw,relatime - tmpfs tmpfs rw,size=64k\n\
             42 27 0:52 / /run/user/1000 rw - tmpfs tmpfs rw\n",
            cache.display()
        );
        let real: Vec<PathBuf> = real_local(&parse_mountinfo(&text))
            .into_iter()
            .map(|m| m.point)
            .collect();
        assert_eq!(real, [PathBuf::from("/"), cache]);
    }

    #[test]
    fn finds_the_mount_of_a_path() {
        let all = parse_mountinfo(SAMPLE);
        assert_eq!(
            mount_of(&all, Path::new("/var/my data/x")).unwrap().fstype,
            "xfs"
        );
        assert_eq!(
            mount_of(&all, Path::new("/etc")).unwrap().point,
            PathBuf::from("/")
        );
    }
}
