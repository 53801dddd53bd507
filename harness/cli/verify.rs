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
        eprintln!(
            "error: {}: not a directory\n  = help: pass a run directory made by `pumphil run`, e.g. reports/<timestamp>-<id>/",
            args.dir.display()
        );
        return exit::USAGE;
    }
    let report = crate::record::render::verify(&args.dir);
    for note in &report.notes {
        println!("note: {note}");
    }
    if report.is_ok() {
        println!(
            "OK: {} files, {} records, hash chain intact",
            report.files, report.records
        );
        return exit::PASSED;
    }
    for problem in &report.problems {
        println!("{problem}");
    }
    println!(
        "FAILED: {} problem(s) in {}",
        report.problems.len(),
        args.dir.display()
    );
    exit::CHECK_FAILED
}
