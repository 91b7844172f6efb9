//! The `sitedoctor` binary: parse arguments, run, turn the result into an exit code.

fn main() -> std::process::ExitCode {
    sitedoctor::app::main()
}
