//! Who a user is (uid, groups) and what the mode bits let them do, for "can the web server
//! read this?".

use nix::unistd::{Gid, Group, Uid, User};

/// A user as the kernel checks permissions for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub name: String,
    pub uid: u32,
    pub groups: Vec<u32>,
}

pub const READ: u32 = 4;
pub const EXEC: u32 = 1;

impl Access {
    /// Look a user up by name or numeric uid.
    pub fn lookup(who: &str) -> anyhow::Result<Option<Access>> {
        let user = match who.parse::<u32>() {
            Ok(uid) => User::from_uid(Uid::from_raw(uid))?,
            Err(_) => User::from_name(who)?,
        };
        let Some(user) = user else { return Ok(None) };
        let cname = std::ffi::CString::new(user.name.clone())?;
        let mut groups: Vec<u32> = nix::unistd::getgrouplist(&cname, user.gid)
            .map(|g| g.into_iter().map(Gid::as_raw).collect())
            .unwrap_or_else(|_| vec![user.gid.as_raw()]);
        groups.sort_unstable();
        groups.dedup();
        Ok(Some(Access {
            name: user.name,
            uid: user.uid.as_raw(),
            groups,
        }))
    }

    /// The first of `candidates` that exists on this host.
    pub fn first_existing(candidates: &[String]) -> anyhow::Result<Option<Access>> {
        for c in candidates {
            if let Some(a) = Access::lookup(c)? {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// Whether the mode bits give this user all of `need` (READ, EXEC) on an entry owned by
    /// `uid:gid` with permission bits `perm`. Root reads anything and enters any directory.
    pub fn allowed(&self, perm: u32, uid: u32, gid: u32, need: u32, is_dir: bool) -> bool {
        if self.uid == 0 {
            return need & EXEC == 0 || is_dir || perm & 0o111 != 0;
        }
        let bits = if uid == self.uid {
            perm >> 6
        } else if self.groups.binary_search(&gid).is_ok() {
            perm >> 3
        } else {
            perm
        } & 7;
        bits & need == need
    }
}

/// A user or group name for a message: the name when known, else the number.
pub fn user_name(uid: u32) -> String {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or(uid.to_string(), |u| u.name)
}

pub fn group_name(gid: u32) -> String {
    Group::from_gid(Gid::from_raw(gid))
        .ok()
        .flatten()
        .map_or(gid.to_string(), |g| g.name)
}

/// Resolve a user name or uid to a uid.
pub fn uid_of(who: &str) -> anyhow::Result<Option<u32>> {
    if let Ok(n) = who.parse() {
        return Ok(Some(n));
    }
    Ok(User::from_name(who)?.map(|u| u.uid.as_raw()))
}

/// Resolve a group name or gid to a gid.
pub fn gid_of(who: &str) -> anyhow::Result<Option<u32>> {
    if let Ok(n) = who.parse() {
        return Ok(Some(n));
    }
    Ok(Group::from_name(who)?.map(|g| g.gid.as_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Access {
        Access {
            name: "www-data".into(),
            uid: 33,
            groups: vec![33, 100],
        }
    }

    #[test]
    fn owner_group_other_bits() {
        let w = web();
        assert!(
            !w.allowed(0o600, 0, 0, READ, false),
            "index.php at 600, owned by root"
        );
        assert!(w.allowed(0o644, 0, 0, READ, false));
        assert!(w.allowed(0o640, 0, 33, READ, false), "group www-data");
        assert!(w.allowed(0o600, 33, 0, READ, false), "owned by www-data");
        assert!(
            !w.allowed(0o700, 1000, 1000, EXEC, true),
            "a home directory at 700"
        );
        assert!(w.allowed(0o711, 1000, 1000, EXEC, true));
        // Owner bits apply to the owner even when other bits would allow more.
        assert!(!w.allowed(0o066, 33, 0, READ, false));
    }

    #[test]
    fn root_reads_everything() {
        let r = Access {
            name: "root".into(),
            uid: 0,
            groups: vec![0],
        };
        assert!(r.allowed(0o000, 5, 5, READ, false));
        assert!(r.allowed(0o000, 5, 5, EXEC, true));
    }

    #[test]
    fn lookup_root() {
        let a = Access::lookup("root").unwrap().unwrap();
        assert_eq!(a.uid, 0);
        assert_eq!(Access::lookup("0").unwrap().unwrap().name, "root");
        assert!(Access::lookup("no-such-user-xyz").unwrap().is_none());
    }
}
