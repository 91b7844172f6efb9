//! The app stack behind the web server, read from this host as data: where the app's
//! environment is declared and what it depends on (and whether that answers), what listens
//! on an upstream's address and which unit or pool should, what app-server workers wait on,
//! and the PHP settings in force.

pub mod app_servers;
pub mod env_addresses;
pub mod env_sources;
pub mod fpm_status;
pub mod listeners;
pub mod lockfiles;
pub mod php_ini;
pub mod probe;
#[cfg(test)]
pub mod testing;
pub mod unit_files;
pub mod upstreams;
pub mod workers;
