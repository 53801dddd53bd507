//! `pumphil report DIR`: renders a run directory's outputs again from its `events.jsonl`.

use super::exit;
use crate::record::journal::EVENTS_FILE;
use crate::record::render::{self, manifest};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A run directory (reports/<id>/).
    pub dir: PathBuf,
    /// Render a run that does not verify, into a new folder beside it whose every page says
    /// NOT VERIFIED with the reason (the run directory itself is left as it is).
    #[arg(long)]
    pub force: bool,
}

/// What to pass to `report` and `verify`.
pub const RUN_DIRECTORY_HELP: &str =
    "pass a run directory made by `pumphil run`, e.g. reports/<timestamp>-<id>/";

pub fn run(args: &ReportArgs) -> u8 {
    if !args.dir.join(EVENTS_FILE).is_file() {
        super::print_error(
            "report::no-record",
            format!(
                "{}: no {EVENTS_FILE} here, so nothing to render",
                args.dir.display()
            ),
            Some(RUN_DIRECTORY_HELP),
        );
        return exit::USAGE;
    }
    // Rendering must never launder: a record, manifest or signature that does not verify is
    // refused, and only --force renders it, into a new folder marked NOT VERIFIED.
    // A record of another schema version is named as such, not as a record that fails.
    if let Ok(mut reader) = crate::record::journal::Reader::open(&args.dir) {
        if let Err(e @ crate::record::journal::ReadError::SchemaVersion { .. }) =
            reader.next_record()
        {
            eprintln!("error: {}: {e}\n  = help: render it with the pumphil that wrote it (its harness_version and git_commit are in the first line of {EVENTS_FILE}); docs/record.md lists the schema versions", args.dir.display());
            return exit::USAGE;
        }
    }
    // The record is verified and folded side by side (two reads of what may be a year of
    // samples); the fold writes nothing into the run directory until the verification passed.
    let (mut report, staged) = std::thread::scope(|scope| {
        let staging = scope.spawn(|| render::staged::stage(&args.dir));
        let report = render::verify(&args.dir);
        (report, staging.join().ok().and_then(Result::ok))
    });
    if !args.dir.join(manifest::FILE).exists() && !args.dir.join(manifest::SIG_FILE).exists() {
        // A run cut short before its outputs were rendered has no manifest yet: its record
        // alone is verified, and this rendering writes the first manifest.
        let missing = [
            format!("{}: missing", manifest::FILE),
            format!("{}: missing", manifest::SIG_FILE),
        ];
        report
            .problems
            .retain(|p| !missing.iter().any(|m| p.starts_with(m.as_str())));
    }
    // A rendered output changed or removed is rendered again from the verified record, which
    // repairs it; the record (its sample traces too), the signatures and files the manifest
    // does not list are not.
    report.problems.retain(|p| {
        let repairable = p
            .split_once(": ")
            .filter(|(path, what)| {
                *path != EVENTS_FILE
                    && !crate::record::sample_csv::is_sample_trace(path)
                    && (what.starts_with("changed (its SHA-256") || what.starts_with("removed ("))
            })
            .is_some();
        if repairable {
            eprintln!("note: {p}; it is rendered again from the record");
        }
        !repairable
    });
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    if !report.is_ok() {
        if !args.force {
            for problem in &report.problems {
                eprintln!("  {problem}");
            }
            super::print_error(
                "report::not-verified",
                format!(
                    "{}: does not verify ({} problem(s) above); refusing to render it",
                    args.dir.display(),
                    report.problems.len()
                ),
                Some("find out what changed (`pumphil verify DIR`); `pumphil report --force DIR` renders it into a new folder marked NOT VERIFIED"),
            );
            return exit::CHECK_FAILED;
        }
        return forced(args, report.problems);
    }
    let old_manifest = std::fs::read(args.dir.join(manifest::FILE)).ok();
    // A staging that failed (an unwritable parent folder, say) is done again in place, where
    // its error, if it persists, is reported as usual.
    let rendered = match staged {
        Some(staged) => {
            let options = render::RenderOptions {
                verified_events_sha256: report.hashed.get(EVENTS_FILE).cloned(),
                ..Default::default()
            };
            staged.commit(&args.dir, &options)
        }
        None => render::render_all(&args.dir),
    };
    match rendered {
        Ok(outcome) => {
            let new_manifest = std::fs::read(args.dir.join(manifest::FILE)).ok();
            if old_manifest != new_manifest && args.dir.join(manifest::SIG_FILE).is_file() {
                // The signatures were of the outputs as they were; they no longer apply.
                let _ = std::fs::remove_file(args.dir.join(manifest::SIG_FILE));
                eprintln!("warning: the outputs rendered now differ from the signed ones (another pumphil version?); {} was removed: sign the run again (`pumphil sign`)", manifest::SIG_FILE);
            }
            if let Some(line) = outcome.truncated_at_line {
                eprintln!("note: {EVENTS_FILE} line {line} was cut short (the run was killed); rendered the {} records before it", outcome.records);
            }
            writeln!(
                super::out::stdout(),
                "rendered {} from {} records",
                args.dir.display(),
                outcome.records
            );
            exit::PASSED
        }
        Err(e @ render::RenderError::Read { .. }) => {
            eprintln!("error: {e}\n  = help: render it with the pumphil that wrote it (its harness_version and git_commit are in the first line of {EVENTS_FILE}); docs/record.md lists the schema versions");
            exit::USAGE
        }
        Err(e @ render::RenderError::NoRecord { .. }) => {
            super::print_error("report::record", e, Some(RUN_DIRECTORY_HELP));
            exit::USAGE
        }
        Err(e) => {
            super::print_error(
                "report::write",
                format!("cannot write the outputs: {e}"),
                Some("check the run directory is writable and the disk has room, then run `pumphil report` again"),
            );
            exit::INFRASTRUCTURE
        }
    }
}

/// Copies the sample traces the record of `dir` hashes (its sample blocks' files: `traces/*.csv`,
/// or a merged run's `parts/K/traces/*.csv`) into `out`, under the same relative paths.
fn copy_sample_traces(dir: &std::path::Path, out: &std::path::Path) -> std::io::Result<()> {
    for file in crate::record::sample_blocks::named_files(dir)? {
        let to = out.join(&file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::copy(dir.join(&file), &to) {
            // A missing trace is a problem the forced report already names.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => {
                other?;
            }
        }
    }
    Ok(())
}

/// `--force`: renders a copy of the record into `<DIR>-NOT-VERIFIED-<n>`, every page saying why.
fn forced(args: &ReportArgs, problems: Vec<String>) -> u8 {
    let name = args
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let parent = args
        .dir
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."));
    let out = (1..)
        .map(|n| parent.join(format!("{name}-NOT-VERIFIED-{n}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| parent.join(format!("{name}-NOT-VERIFIED")));
    // The record and the sample traces it hashes (its side files); the rest is rendered again.
    let made = std::fs::create_dir(&out)
        .and_then(|_| std::fs::copy(args.dir.join(EVENTS_FILE), out.join(EVENTS_FILE)))
        .and_then(|_| copy_sample_traces(&args.dir, &out));
    if let Err(e) = made {
        super::print_error(
            "report::write",
            format!("cannot make {}: {e}", out.display()),
            Some("check the folder holding the run directory is writable"),
        );
        return exit::INFRASTRUCTURE;
    }
    for problem in &problems {
        eprintln!("NOT VERIFIED: {problem}");
    }
    let options = render::RenderOptions {
        not_verified: problems,
        ..Default::default()
    };
    match render::render_all_with(&out, &options) {
        Ok(outcome) => {
            writeln!(
                super::out::stdout(),
                "rendered {} from {} records into {}, marked NOT VERIFIED on every page",
                args.dir.display(),
                outcome.records,
                out.display()
            );
            exit::CHECK_FAILED
        }
        Err(e) => {
            super::print_error(
                "report::write",
                format!("cannot render into {}: {e}", out.display()),
                Some("check the disk has room"),
            );
            exit::INFRASTRUCTURE
        }
    }
}
