//! `pumphil verify DIR`: checks a run directory against its manifest and the record's hash chain.

use super::exit;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A run directory (reports/<id>/).
    pub dir: PathBuf,
}

pub fn run(args: &VerifyArgs) -> u8 {
    match crate::record::render::manifest::verify(&args.dir) {
        Ok((files, records, problems)) if problems.is_empty() => {
            println!("OK: {files} files, {records} records, hash chain intact");
            exit::PASSED
        }
        Ok((_, _, problems)) => {
            for p in &problems {
                println!("{p}");
            }
            println!(
                "FAILED: {} problem(s) in {}",
                problems.len(),
                args.dir.display()
            );
            exit::CHECK_FAILED
        }
        Err(e) => {
            eprintln!("error: {e}\n  = help: pass a run directory made by `pumphil run`");
            exit::USAGE
        }
    }
}
