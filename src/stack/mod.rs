//! The app behind the web server, mapped from this host's files: where its environment is
//! declared, what it depends on, and whether that answers.

pub mod env_addresses;
pub mod env_sources;
pub mod probe;
