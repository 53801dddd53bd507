//! `pumphil run [PATH...]`: the main job — replay scenarios on the emulator or a bench.

use super::values;
use crate::expect::csf::CsfParams;
use crate::record::RunVerdict;
use crate::runner::{self, RunOptions};
use crate::scenario::partition::PartitionSpec;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files or directories (default: scenarios/).
    pub paths: Vec<PathBuf>,
    /// Run on a real bench described by this file instead of the built-in emulator. Give it
    /// once per bench to spread the scenarios over several benches, one at a time on each.
    #[arg(long, value_name = "BENCH_TOML")]
    pub bench: Vec<PathBuf>,
    /// Scenarios run at once, each on its own emulator (default: four a core, as a
    /// scenario mostly waits on its serial round trips).
    #[arg(long, short = 'j', value_parser = values::jobs)]
    pub jobs: Option<usize>,
    /// Seed for the emulated balance's noise; the same seed reproduces the same run.
    #[arg(long, default_value = "1", allow_negative_numbers = true, value_parser = values::seed)]
    pub seed: u64,
    /// Standard deviation of the emulated balance's noise, in mg.
    #[arg(long, default_value = "0.1", allow_negative_numbers = true, value_parser = values::noise_mg)]
    pub noise_mg: f64,
    /// Who ran the test, for the evidence report.
    #[arg(long, env = "PUMPHIL_OPERATOR", value_parser = values::operator)]
    pub operator: Option<String>,
    /// Where run directories are created.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Fixture root (default: fixtures/ beside the scenarios/ folder).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Plain lines instead of progress bars, even on a terminal.
    #[arg(long)]
    pub plain: bool,
    /// Re-sends of a request before the device counts as lost.
    #[arg(long, default_value_t = pumphil_retries())]
    pub retries: u32,
    /// Link faults to inject on every emulated pump (resilience runs).
    #[command(flatten)]
    pub link_faults: super::emulator_args::LinkFaultArgs,
    /// Only the closing table.
    #[arg(long, short)]
    pub quiet: bool,
    /// CSF elimination half-life for the report's engineering estimate, in hours (label: 1.51).
    #[arg(long, value_name = "HOURS", default_value = "1.51", allow_negative_numbers = true, value_parser = CsfParams::parse_positive)]
    pub csf_half_life_h: f64,
    /// CSF clearance for the report's engineering estimate, in mL/h (label: 30).
    #[arg(long, value_name = "ML_PER_H", default_value = "30", allow_negative_numbers = true, value_parser = CsfParams::parse_positive)]
    pub csf_clearance_ml_per_h: f64,
    /// Run on a bench whose balance is past its calibration date (the record and report say
    /// EXPIRED beside the date) instead of refusing.
    #[arg(long, requires = "bench")]
    pub allow_expired_calibration: bool,
    /// Sign the record and manifest with this station key (`pumphil keygen`); default: the
    /// bench file's `signing_key`.
    #[arg(long, env = "PUMPHIL_SIGN_KEY", value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Hazards, risk controls and requirements the scenarios trace to (default:
    /// requirements.toml beside scenarios/, when it exists).
    #[arg(long, value_name = "PATH")]
    pub requirements: Option<PathBuf>,
    /// Fail a scenario with an INCONCLUSIVE check (guarded acceptance: the result's interval
    /// straddles a limit) instead of passing it with the check shown as INCONCLUSIVE.
    #[arg(long)]
    pub require_conclusive: bool,
    /// Run only the K-th of N shares of the scenarios (scenarios sorted by id, every N-th
    /// from the K-th), for a CI matrix or several bench PCs; `pumphil merge` joins the parts.
    #[arg(long, value_name = "K/N", value_parser = PartitionSpec::parse)]
    pub partition: Option<PartitionSpec>,
    /// How the built-in emulator is reached: `pty` (pseudo-terminals, a serial path: the
    /// evidence run) or `memory` (in-memory links, for long soaks; every output says it is not a
    /// serial path). Not with --bench.
    #[arg(long, value_enum, default_value_t = LinkArg::Pty)]
    pub link: LinkArg,
}

/// `--link`: the emulator's pseudo-terminals, or in-memory links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkArg {
    Pty,
    Memory,
}

impl LinkArg {
    fn device_link(self) -> crate::record::DeviceLink {
        match self {
            LinkArg::Pty => crate::record::DeviceLink::Port,
            LinkArg::Memory => crate::record::DeviceLink::InMemory,
        }
    }
}

fn pumphil_retries() -> u32 {
    crate::runner::devices::DEFAULT_RETRIES
}

pub fn run(args: &RunArgs) -> u8 {
    let jobs = args.jobs.unwrap_or_else(crate::runner::default_jobs);
    let options = RunOptions {
        paths: args.paths.clone(),
        jobs,
        seed: args.seed,
        noise_mg: args.noise_mg,
        benches: args.bench.clone(),
        operator: args.operator.clone(),
        reports_dir: args.reports.clone(),
        fixtures: args.fixtures.clone(),
        plain: args.plain,
        quiet: args.quiet,
        command_line: std::env::args().collect(),
        link_faults: args.link_faults.faults(),
        retries: args.retries,
        csf: CsfParams {
            half_life_h: args.csf_half_life_h,
            clearance_ml_per_h: args.csf_clearance_ml_per_h,
        },
        allow_expired_calibration: args.allow_expired_calibration,
        requirements: crate::scenario::requirements::locate(args.requirements.as_deref()),
        require_conclusive: args.require_conclusive,
        link: args.link.device_link(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let error = runner::RunError::Runtime(e);
            super::diagnostic::show(&error);
            return error.exit_code();
        }
    };
    let signer = match args
        .sign_key
        .as_deref()
        .map(crate::record::signing::StationKey::load)
        .transpose()
    {
        Ok(key) => key.map(std::sync::Arc::new),
        Err(e) => {
            super::diagnostic::show(&e);
            return super::exit::USAGE;
        }
    };
    let outcome = match runtime.block_on(runner::run_partitioned(options, signer, args.partition)) {
        Ok(outcome) => outcome,
        Err(error) => {
            super::diagnostic::show(&error);
            return error.exit_code();
        }
    };
    let dir = &outcome.dir;
    let mut verdict = RunVerdict::from_exit_code(outcome.exit_code);
    match &outcome.stopped_by {
        // The outputs are rendered from a record that could not be written whole: say so and
        // leave rendering to `pumphil report` once there is room.
        Some(error) => {
            super::diagnostic::show(error);
            verdict = verdict.max(RunVerdict::Incomplete);
        }
        None => match crate::record::render::render_all_with(
            dir,
            &crate::record::render::RenderOptions {
                sign: outcome.signer.as_deref(),
                ..Default::default()
            },
        ) {
            Ok(rendered) => {
                writeln!(super::out::stdout(), "{}", rendered.closing_table);
                // The outputs' verdict is the view's; the exit code says the same.
                verdict = verdict.max(rendered.verdict);
            }
            Err(e) => {
                super::print_error(
                    "run::render",
                    format!("rendering the outputs of {} failed: {e}", dir.display()),
                    Some("check the disk has room, then run `pumphil report` on the run directory"),
                );
                verdict = RunVerdict::Incomplete;
            }
        },
    }
    writeln!(super::out::stdout(), "run directory: {}", dir.display());
    verdict.exit_code()
}
