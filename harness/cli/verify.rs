//! `pumphil verify DIR`: checks a run directory against its manifest, the record's hash chain,
//! its signatures (against `--trusted-key`s when given) and the verdicts its numbers give.

use super::exit;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A run directory (reports/<id>/).
    pub dir: PathBuf,
    /// A public key (KEY.pub) trusted to sign runs; repeatable. With it, an unsigned run, or
    /// one with any signature by another key, fails.
    #[arg(long, value_name = "KEY.pub")]
    pub trusted_key: Vec<PathBuf>,
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
    let trusted = match super::trusted_keys(&args.trusted_key) {
        Ok(trusted) => trusted,
        Err(code) => return code,
    };
    let report = crate::record::render::verify_with(&args.dir, &trusted);
    for note in &report.notes {
        writeln!(super::out::stdout(), "note: {note}");
    }
    if report.is_ok() {
        let signed = if report.station_keys.is_empty() {
            "unsigned run".to_string()
        } else if trusted.is_empty() {
            format!(
                "signed by station key {} (not checked against a trusted key: pass --trusted-key)",
                report.station_keys.join(", ")
            )
        } else {
            format!(
                "signed by trusted station key {}",
                report.station_keys.join(", ")
            )
        };
        writeln!(
            super::out::stdout(),
            "OK: {} files, {} records, hash chain intact, {signed}, {} electronic signature(s)",
            report.files,
            report.records,
            report.electronic.len()
        );
        for (name, role, key) in &report.electronic {
            writeln!(
                super::out::stdout(),
                "  signed by {name} ({role}) with key {key}"
            );
        }
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
