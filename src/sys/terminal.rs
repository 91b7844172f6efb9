//! The terminal a stream is attached to: its width, read with the `TIOCGWINSZ` ioctl.

use std::os::fd::AsFd;

/// The width in columns of the terminal `fd` refers to; `None` when it is not a terminal or
/// reports no size (a pty nobody sized, a serial console).
pub fn columns(fd: impl AsFd) -> Option<usize> {
    rustix::termios::tcgetwinsize(fd)
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|&c| c > 0)
}

/// `$COLUMNS` when it holds a positive number: the user's word on the width, above what
/// the terminal says (and the only width there is when the output is piped).
pub fn columns_from_env() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
}

/// Whether `TERM` says the terminal takes no escape sequences (`TERM=dumb`).
pub fn dumb() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_is_no_terminal() {
        let f = tempfile::tempfile().unwrap();
        assert_eq!(super::columns(&f), None);
    }
}
