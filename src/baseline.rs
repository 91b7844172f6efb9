//! The known-good baseline: `snapshot` records a state that works; `diff` and the `baseline`
//! kind compare the host with it and say what changed since, most suspicious first.
//!
//! Pieces: [`key`] (the keyed hash that keeps low-entropy secrets out of the record),
//! [`change`] (one difference, ranked). The file tree, the store and the host's state
//! (environment, configuration, packages, PHP, listeners, lockfiles) each get a module here.

pub mod against;
pub mod change;
pub mod command;
pub mod compare;
pub mod diff;
pub mod host;
pub mod key;
pub mod lines;
pub mod store;
pub mod tree;
