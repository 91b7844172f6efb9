//! End-to-end tests: the real binary against temporary configurations.

mod config_errors;
mod exit_codes;
mod filesystem;
mod logs;
mod msrv;
mod network;
mod outputs;
mod programs;
mod props;
mod resources;
mod runner;
mod secrets;
mod servers;
mod subcommands;
mod testenv;
mod webservers;
