//! End-to-end tests: the real binary against temporary configurations.

mod app_deps;
mod config_errors;
mod diagnose;
mod diagnosis;
mod exit_codes;
mod filesystem;
mod fix;
mod layering;
mod logs;
mod msrv;
mod network;
mod output_file;
mod outputs;
mod programs;
mod props;
mod resources;
mod runner;
mod secrets;
mod servers;
mod stacks;
mod subcommands;
mod testenv;
mod tls;
mod trust;
mod upstreams;
mod webservers;
