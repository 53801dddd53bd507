//! A rendering folded while the record is still being verified (`pumphil report`): the alarm
//! traces are written outside the run directory until the verification has passed, so the two
//! reads of a long record run side by side and nothing in the run directory changes first. The
//! sample traces are the record's own side files: they are read, never written here.

use super::{
    fold_record_unchained, traces, write_outputs, Folded, RenderError, RenderOptions, RenderOutcome,
};
use std::path::{Path, PathBuf};

/// The view of a record and its alarm traces, staged beside the run directory.
pub struct Staged {
    view: Folded,
    staging: StagingDir,
}

/// The staging folder; removed when dropped, so a rendering refused or abandoned leaves
/// nothing behind (after `commit` has moved it into place there is nothing left to remove).
struct StagingDir(PathBuf);

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the trace files wait: a hidden folder beside the run directory (the same file
/// system, so moving it into place is a rename; never inside it, where `verify` would find it
/// as an added file), named by the process so that two renderings never share one.
fn staging_dir(dir: &Path) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    let name = dir.file_name()?.to_string_lossy().into_owned();
    let parent = dir.parent()?;
    Some(parent.join(format!(".{name}.traces-{}", std::process::id())))
}

/// Folds the record in `dir` into its view and writes its alarm traces to the staging folder;
/// the run directory is only read. The hash chain is not checked here: `commit` is for a
/// record that a verification beside this fold found intact.
pub fn stage(dir: &Path) -> Result<Staged, RenderError> {
    let staging = StagingDir(staging_dir(dir).ok_or_else(|| {
        std::io::Error::other("the run directory has no folder beside it to stage traces in")
    })?);
    let mut traces = traces::TraceWriter::create_in(&staging.0)?;
    let view = fold_record_unchained(dir, |record| traces.record(record))?;
    traces.finish()?;
    Ok(Staged { view, staging })
}

impl Staged {
    /// Once the record has verified: each staged trace replaces the run directory's file of
    /// that name (the sample traces beside them stay as they are), and every other output and
    /// the manifest are written as `render_all_with` writes them.
    pub fn commit(self, dir: &Path, options: &RenderOptions) -> Result<RenderOutcome, RenderError> {
        let target = dir.join(traces::DIR);
        std::fs::create_dir_all(&target)?;
        for entry in std::fs::read_dir(&self.staging.0)? {
            let entry = entry?;
            std::fs::rename(entry.path(), target.join(entry.file_name()))?;
        }
        write_outputs(dir, self.view, options)
    }
}
