//! The `mrap-auditor` binary: parse the command line, set up logging, run the command.

fn main() -> std::process::ExitCode {
    mrap_auditor::cli::main()
}
