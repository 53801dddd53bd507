//! The `pumphil` command line: parses arguments and maps outcomes to documented exit codes.

fn main() -> std::process::ExitCode {
    pumphil::cli::main()
}
