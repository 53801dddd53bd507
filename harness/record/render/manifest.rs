//! `MANIFEST.sha256`: `sha256sum`-compatible hashes of every file of a run directory.

use std::path::Path;

pub const FILE: &str = "MANIFEST.sha256";
/// Signatures of the manifest (one line per key): `<fingerprint>  <public key>  <signature>`.
pub const SIG_FILE: &str = "MANIFEST.sha256.sig";

/// Every file under `dir` but the manifest and its signatures, as sorted relative paths with `/` separators.
/// Symbolic links are listed, not followed, so a link cannot pull outside files in.
pub fn run_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(rel) = path.strip_prefix(dir) else {
                continue;
            };
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if rel != FILE && rel != SIG_FILE {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The manifest text: "<hex>  <path>" per file, sorted by path.
pub fn render(dir: &Path) -> std::io::Result<String> {
    render_knowing(dir, None)
}

/// `render`, taking the record's SHA-256 as given when `events_sha256` is known (verified just
/// before by this process: rendering never rewrites the record, and a year's record is half a
/// gigabyte to hash again).
fn render_knowing(dir: &Path, events_sha256: Option<&str>) -> std::io::Result<String> {
    let mut text = String::new();
    for rel in run_files(dir)? {
        let sha256 = match events_sha256 {
            Some(known) if rel == crate::record::journal::EVENTS_FILE => known.to_string(),
            _ => crate::record::sha256_file(&dir.join(&rel))?,
        };
        text.push_str(&format!("{sha256}  {rel}\n"));
    }
    Ok(text)
}

/// Writes the manifest; call it last, after every other output.
pub fn write(dir: &Path) -> std::io::Result<()> {
    write_knowing(dir, None)
}

/// `write`, with the record's SHA-256 already known (`render_knowing`).
pub fn write_knowing(dir: &Path, events_sha256: Option<&str>) -> std::io::Result<()> {
    std::fs::write(dir.join(FILE), render_knowing(dir, events_sha256)?)
}

/// Signs the manifest as it is on disk with `key`, replacing any earlier signatures (they
/// signed a manifest that no longer exists).
pub fn sign(dir: &Path, key: &crate::record::signing::StationKey) -> std::io::Result<()> {
    let sha256 = crate::record::sha256_file(&dir.join(FILE))?;
    let public = key.public();
    let line = format!(
        "{}  {}  {}\n",
        public.fingerprint(),
        public.to_hex(),
        key.sign(&crate::record::signing::manifest_message(&sha256))
    );
    std::fs::write(dir.join(SIG_FILE), line)
}

/// `render::verify` as (files, records, problems), the shape tests/suite.rs was written against.
pub fn verify(dir: &Path) -> Result<(usize, usize, Vec<String>), std::io::Error> {
    let report = super::verify::verify(dir);
    Ok((report.files, report.records, report.problems))
}
