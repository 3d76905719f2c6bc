//! The `mrap-auditor` binary: parse the command line, set up logging, run the command.

/// The evaluator allocates many small, short-lived strings and maps; mimalloc serves them
/// faster than glibc's allocator (feature `mimalloc`, on by default; README, Speed).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    mrap_auditor::cli::main()
}
