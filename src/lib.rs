//! sitedoctor finds why a web server answers "500 Internal Server Error" and says how to fix it.
//!
//! The binary is a thin shell over [`app::main`]; everything else lives here so tests reach it.

pub mod app;
pub mod baseline;
pub mod check;
pub mod checks;
pub mod cli;
pub mod complete;
pub mod config;
pub mod diagnosis;
pub mod docs;
pub mod exit;
pub mod explain;
pub mod finding;
pub mod fixes;
pub mod fixrun;
pub mod init;
pub mod logscan;
pub mod manpage;
pub mod nagios;
pub mod net;
pub mod output;
pub mod progress;
pub mod render;
pub mod report;
pub mod runner;
pub mod sanitize;
pub mod serve;
pub mod settings;
pub mod shell;
pub mod span;
pub mod stack;
pub mod sys;
pub mod units;
pub mod walk;
pub mod webstack;
