//! A fake `/proc` tree for the tests of what listens and what waits.

use std::path::Path;

/// A fake /proc: `net/tcp`, `net/unix`, and processes with fds pointing at sockets.
pub struct FakeProc(pub tempfile::TempDir);

impl Default for FakeProc {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeProc {
    pub fn new() -> FakeProc {
        let f = FakeProc(tempfile::tempdir().unwrap());
        f.file("net/tcp", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
        f.file("net/tcp6", "  sl  local_address remote_address st\n");
        f.file(
            "net/unix",
            "Num       RefCount Protocol Flags    Type St Inode Path\n",
        );
        f
    }
    pub fn file(&self, rel: &str, text: &str) {
        let p = self.0.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    pub fn append(&self, rel: &str, line: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.0.path().join(rel))
            .unwrap();
        writeln!(f, "{line}").unwrap();
    }
    pub fn process(&self, pid: u32, comm: &str, cgroup: &str, sockets: &[u64]) {
        self.file(&format!("{pid}/comm"), &format!("{comm}\n"));
        self.file(&format!("{pid}/cgroup"), cgroup);
        let fd = self.0.path().join(format!("{pid}/fd"));
        std::fs::create_dir_all(&fd).unwrap();
        std::os::unix::fs::symlink("/dev/null", fd.join("0")).unwrap();
        for (i, s) in sockets.iter().enumerate() {
            std::os::unix::fs::symlink(format!("socket:[{s}]"), fd.join((i + 3).to_string()))
                .unwrap();
        }
    }
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}
