//! `pumphil verify DIR`: checks a run directory against its manifest and the record's hash chain.

use super::exit;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A run directory (reports/<id>/).
    pub dir: PathBuf,
}

pub fn run(args: &VerifyArgs) -> u8 {
    if !args.dir.is_dir() {
        super::print_error(
            "verify::not-a-directory",
            format!("{}: not a directory", args.dir.display()),
            Some(super::report::RUN_DIRECTORY_HELP),
        );
        return exit::USAGE;
    }
    let report = crate::record::render::verify(&args.dir);
    for note in &report.notes {
        writeln!(super::out::stdout(), "note: {note}");
    }
    if report.is_ok() {
        writeln!(
            super::out::stdout(),
            "OK: {} files, {} records, hash chain intact",
            report.files,
            report.records
        );
        return exit::PASSED;
    }
    for problem in &report.problems {
        writeln!(super::out::stdout(), "{problem}");
    }
    writeln!(
        super::out::stdout(),
        "FAILED: {} problem(s) in {}",
        report.problems.len(),
        args.dir.display()
    );
    exit::CHECK_FAILED
}
