//! Reading error logs the way a person does after a 500: from the end, only as far back as
//! the window, one entry per timestamped line (with the traceback lines that follow it),
//! grouped by message so one bug repeated 10,000 times is one line with a count.

pub mod backward;
pub mod classify;
pub mod container;
pub mod journal;
pub mod pat;
pub mod patterns;
pub mod timestamp;
