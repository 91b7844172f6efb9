//! How long each TCP connection of this host has gone without an answer, from the kernel's
//! own socket statistics (`NETLINK_SOCK_DIAG`, what `ss -ti` shows as `lastsnd`/`lastrcv`):
//! one dump request, no process is run and nothing is sent on any connection.

use std::collections::HashMap;
use std::time::Duration;

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType};

/// What the kernel knows of one connection's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Since this end last sent data.
    pub last_sent: Duration,
    /// Since this end last received data (or since it connected, if it never did).
    pub last_received: Duration,
    /// SYN or data retransmission backoff: how many times the timer doubled.
    pub backoff: u8,
}

impl Timing {
    /// How long it has waited for an answer to what it sent last: `None` when it has
    /// received data since (an idle pooled connection, not a wait).
    pub fn waiting(&self) -> Option<Duration> {
        (self.last_sent <= self.last_received).then_some(self.last_sent)
    }
}

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const INET_DIAG_INFO: u16 = 2;
/// ESTABLISHED (1) and SYN_SENT (2).
const STATES: u32 = (1 << 1) | (1 << 2);
/// More connections than this are not waited for: the dump stops there.
const MAX_SOCKETS: usize = 200_000;

/// The timing of every established or connecting TCP socket, by inode.
pub fn tcp_timings() -> std::io::Result<HashMap<u64, Timing>> {
    let mut out = HashMap::new();
    for family in [libc_af_inet(), libc_af_inet6()] {
        dump(family, &mut out)?;
    }
    Ok(out)
}

fn libc_af_inet() -> u8 {
    AddressFamily::INET.as_raw() as u8
}

fn libc_af_inet6() -> u8 {
    AddressFamily::INET6.as_raw() as u8
}

/// The request: a netlink header and an `inet_diag_req_v2` asking for `tcp_info`.
fn request(family: u8) -> Vec<u8> {
    let mut m = Vec::with_capacity(72);
    m.extend_from_slice(&72u32.to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[family, 6, 1 << (INET_DIAG_INFO - 1), 0]);
    m.extend_from_slice(&STATES.to_ne_bytes());
    m.resize(72, 0);
    m
}

fn dump(family: u8, out: &mut HashMap<u64, Timing>) -> std::io::Result<()> {
    let fd = rustix::net::socket(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        Some(netlink::SOCK_DIAG),
    )?;
    rustix::net::sockopt::set_socket_timeout(
        &fd,
        rustix::net::sockopt::Timeout::Recv,
        Some(Duration::from_secs(2)),
    )?;
    rustix::net::sendto(
        &fd,
        &request(family),
        SendFlags::empty(),
        &SocketAddrNetlink::new(0, 0),
    )?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, _) = rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty())?;
        if n == 0 || parse(buf.get(..n).unwrap_or(&[]), out)? || out.len() >= MAX_SOCKETS {
            return Ok(());
        }
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Parse one datagram of netlink messages; true when the dump is done.
pub fn parse(mut b: &[u8], out: &mut HashMap<u64, Timing>) -> std::io::Result<bool> {
    while b.len() >= 16 {
        let (Some(len), Some(ty)) = (u32_at(b, 0), u16_at(b, 4)) else {
            break;
        };
        let len = len as usize;
        if len < 16 || len > b.len() {
            break;
        }
        let msg = &b[16..len];
        match ty {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let errno = u32_at(msg, 0).map_or(0, |e| (e as i32).unsigned_abs() as i32);
                return Err(std::io::Error::from_raw_os_error(errno));
            }
            SOCK_DIAG_BY_FAMILY => {
                if let Some((inode, t)) = diag_msg(msg) {
                    out.insert(inode, t);
                }
            }
            _ => {}
        }
        b = b.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    Ok(false)
}

/// An `inet_diag_msg` (72 bytes, the inode at 68) and its `INET_DIAG_INFO` attribute.
fn diag_msg(m: &[u8]) -> Option<(u64, Timing)> {
    let inode = u64::from(u32_at(m, 68)?);
    let mut a = m.get(72..)?;
    while a.len() >= 4 {
        let len = usize::from(u16_at(a, 0)?);
        let ty = u16_at(a, 2)?;
        if len < 4 || len > a.len() {
            return None;
        }
        if ty == INET_DIAG_INFO {
            let info = &a[4..len];
            let ms = |i| u32_at(info, i).map(|v| Duration::from_millis(u64::from(v)));
            return Some((
                inode,
                Timing {
                    last_sent: ms(44)?,
                    last_received: ms(52)?,
                    backoff: *info.get(4)?,
                },
            ));
        }
        a = a.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_waiting_for_its_answer_is_seen() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let (mut accepted, _) = server.accept().unwrap();
        std::io::Write::write_all(&mut client, b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut got = [0u8; 4];
        std::io::Read::read_exact(&mut accepted, &mut got).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&client);
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let inode = crate::sys::procfs::socket_inode(&link.to_string_lossy()).unwrap();
        let all = tcp_timings().unwrap();
        let t = all[&inode];
        assert!(t.waiting().is_some(), "{t:?}");
    }

    #[test]
    fn garbage_is_no_panic() {
        let mut out = HashMap::new();
        for b in [
            &[][..],
            &[0u8; 15],
            &[255u8; 64],
            &[20, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
        ] {
            let _ = parse(b, &mut out);
        }
        assert!(out.is_empty());
    }
}
