//! The app stack behind the web server, read from this host as data: what listens on an
//! upstream's address and which unit or pool should, what app-server workers wait on, and
//! the PHP settings in force.

pub mod listeners;
pub mod php_ini;
#[cfg(test)]
pub mod testing;
pub mod unit_files;
pub mod workers;
