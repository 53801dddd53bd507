//! `MANIFEST.sha256` over every artifact of a run, and `verify`: what changed, appeared or vanished.

use crate::record::journal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE: &str = "MANIFEST.sha256";

fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                if rel != Path::new(FILE) {
                    out.push(rel.to_path_buf());
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

fn relative(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Hashes every file of the run directory (sha256sum format, sorted by path).
pub fn write(dir: &Path) -> std::io::Result<()> {
    let mut text = String::new();
    for rel in files(dir)? {
        let bytes = std::fs::read(dir.join(&rel))?;
        text.push_str(&format!(
            "{}  {}\n",
            crate::scenario::sha256_hex(&bytes),
            relative(&rel)
        ));
    }
    std::fs::write(dir.join(FILE), text)
}

/// Problems found by `verify`, each naming a file or a record.
pub fn verify(dir: &Path) -> Result<(usize, usize, Vec<String>), std::io::Error> {
    let mut problems = Vec::new();
    let manifest = std::fs::read_to_string(dir.join(FILE))
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.join(FILE).display())))?;
    let mut listed = BTreeMap::new();
    for (i, line) in manifest.lines().enumerate() {
        match line.split_once("  ") {
            Some((hash, path)) if hash.len() == 64 => {
                listed.insert(path.to_string(), hash.to_string());
            }
            _ => problems.push(format!("{FILE} line {}: not '<sha256>  <path>'", i + 1)),
        }
    }
    let present: Vec<String> = files(dir)?.iter().map(|p| relative(p)).collect();
    for (path, hash) in &listed {
        match std::fs::read(dir.join(path)) {
            Ok(bytes) if crate::scenario::sha256_hex(&bytes) == *hash => {}
            Ok(_) => problems.push(format!(
                "{path}: changed (its SHA-256 differs from the manifest)"
            )),
            Err(_) => problems.push(format!(
                "{path}: removed (listed in the manifest, not in the directory)"
            )),
        }
    }
    for path in &present {
        if !listed.contains_key(path) {
            problems.push(format!(
                "{path}: added (in the directory, not in the manifest)"
            ));
        }
    }
    let mut records = 0;
    match journal::read(dir) {
        Ok(read) => {
            records = read.records.len();
            for (line, what) in read.problems {
                problems.push(format!(
                    "{}: record at line {line}: {what}",
                    journal::EVENTS_FILE
                ));
            }
            if let Some(line) = read.truncated_at_line {
                problems.push(format!(
                    "{}: line {line} is cut short (the run was killed while writing it)",
                    journal::EVENTS_FILE
                ));
            }
        }
        Err(e) => problems.push(format!("{}: cannot read: {e}", journal::EVENTS_FILE)),
    }
    Ok((listed.len(), records, problems))
}
