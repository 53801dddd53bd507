//! What stops a run before or while it runs, typed, each with its exit code, a code and a help
//! line. The command line prints them (cli::diagnostic); the runner never prints an error itself.

use crate::record::verdict::exit;
use crate::scenario::paths::ScenariosError;
use crate::scenario::{InputError, InputErrors};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    /// The paths named no scenario, or a scenario file is wrong.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Scenarios(#[from] ScenariosError),
    /// Fixtures missing, stale or malformed, for one scenario or several.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fixtures(InputErrors),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Bench(InputError),
    /// The requirements file is wrong, or a scenario names a requirement it does not define.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Requirements(InputErrors),
    /// An input file read during checking could not be hashed: the record would hold no proof
    /// of what was run.
    #[error("{}: cannot hash this input for the record: {source}", path.display())]
    #[diagnostic(
        code(pumphil::run::hash),
        help("the record names every input by its SHA-256; check that the file is still there and readable, then run again")
    )]
    Hash {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--partition K/N` with K beyond the number of scenarios: a run of nothing would pass.
    #[error("partition {partition} of a set of {set_size} scenario(s) holds none of them")]
    #[diagnostic(
        code(pumphil::run::empty_partition),
        help("use an N no larger than the number of scenarios (`pumphil list` counts them)")
    )]
    EmptyPartition { partition: String, set_size: usize },
    #[error("cannot create the run directory {}: {source}", path.display())]
    #[diagnostic(
        code(pumphil::run::directory),
        help("check that --reports names a writable directory on a disk with room")
    )]
    RunDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The record stopped taking writes (a full disk, a directory gone or read-only): the run
    /// stopped at once, since nothing measured after this could be kept.
    #[error("cannot append to {}: {source}; the run was stopped", path.display())]
    #[diagnostic(
        code(pumphil::run::record),
        help("free disk space or fix the permissions of the reports directory, then run again; records up to the failure are kept")
    )]
    Record {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    #[diagnostic(
        code(pumphil::run::runtime),
        help("the system refused threads or file descriptors; check `ulimit -u` and `ulimit -n`")
    )]
    Runtime(std::io::Error),
    /// Two bench files name the same port: two benches would drive one device.
    #[error("{} and {} both use the port {port}", first.display(), second.display())]
    #[diagnostic(
        code(pumphil::run::shared_port),
        help("each bench needs its own pump and balance ports; correct the port in one of the bench files, or run the benches one at a time")
    )]
    SharedPort {
        first: PathBuf,
        second: PathBuf,
        port: String,
    },
    /// `--link memory` with `--bench`: a bench's pump and balance are real devices reached
    /// through their ports; only the built-in emulator can be reached in memory.
    #[error("--link memory runs the built-in emulator over in-memory links and cannot reach the bench {}", bench.display())]
    #[diagnostic(
        code(pumphil::run::memory_link_bench),
        help("drop --link memory to run on the bench through its ports, or drop --bench to run the emulator in memory")
    )]
    MemoryLinkBench { bench: PathBuf },
    /// The station key (`--sign-key`, PUMPHIL_SIGN_KEY or the bench file's `signing_key`)
    /// could not be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    SignKey(#[from] crate::record::signing::KeyError),
}

impl RunError {
    /// Input and usage problems exit 2; a run that could not be carried or kept exits 3.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Scenarios(_)
            | RunError::Fixtures(_)
            | RunError::Bench(_)
            | RunError::SignKey(_)
            | RunError::Requirements(_)
            | RunError::SharedPort { .. }
            | RunError::MemoryLinkBench { .. }
            | RunError::Hash { .. }
            | RunError::EmptyPartition { .. } => exit::USAGE,
            RunError::RunDirectory { .. } | RunError::Record { .. } | RunError::Runtime(_) => {
                exit::INFRASTRUCTURE
            }
        }
    }
}
