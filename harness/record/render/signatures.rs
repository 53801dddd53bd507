//! Checking a run directory's signatures: the station's chain signatures and the electronic
//! signatures in `events.jsonl`, and the signatures of `MANIFEST.sha256`.

use super::manifest;
use crate::record::journal::{sha256_line, Record, EVENTS_FILE, GENESIS_HASH};
use crate::record::signing::{self, PublicKey};
use crate::record::RunEvent;
use std::io::BufRead;
use std::path::Path;

/// What the signature check found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SignatureCheck {
    /// Fingerprints of the station keys that signed the chain, in order of first use.
    pub station_keys: Vec<String>,
    /// Electronic signatures: (printed name, role, fingerprint).
    pub electronic: Vec<(String, String, String)>,
    /// Fingerprints of the keys that signed the manifest.
    pub manifest_keys: Vec<String>,
    pub problems: Vec<String>,
    /// Not failures: the unsigned end of a signed run that was cut short.
    pub notes: Vec<String>,
}

impl SignatureCheck {
    pub fn is_signed(&self) -> bool {
        !self.station_keys.is_empty()
    }
}

/// Checks one signature record: its head is the chain head before it, and its key signed it.
#[allow(clippy::too_many_arguments)] // the fields of one signature record, each named at the call
fn check_signed(
    line: usize,
    what: &str,
    record: &Record,
    head: &str,
    previous_hash: &str,
    public_key: &str,
    fingerprint: &str,
    message: &[u8],
    signature: &str,
) -> Option<String> {
    if head != record.prev || head != previous_hash {
        return Some(format!(
            "{EVENTS_FILE} line {line}: {what} signs chain head {head}, but the record before it hashes to {previous_hash} (the record changed after it was signed)"
        ));
    }
    let Some(key) = PublicKey::from_hex(public_key) else {
        return Some(format!(
            "{EVENTS_FILE} line {line}: {what}: public key is not an Ed25519 key"
        ));
    };
    if key.fingerprint() != fingerprint {
        return Some(format!(
            "{EVENTS_FILE} line {line}: {what}: fingerprint {fingerprint} is not that of its public key ({})",
            key.fingerprint()
        ));
    }
    if !key.verifies(message, signature) {
        return Some(format!(
            "{EVENTS_FILE} line {line}: {what} by key {fingerprint} does not verify (the record or the signature was changed)"
        ));
    }
    None
}

fn check_record(dir: &Path, out: &mut SignatureCheck, strict: bool) {
    let Ok(file) = std::fs::File::open(dir.join(EVENTS_FILE)) else {
        return;
    };
    let mut previous_hash = GENESIS_HASH.to_string();
    // The last line not covered by a signature: (line number, type).
    let mut unsigned_tail: Option<(usize, usize)> = None;
    let mut finished = false;
    for (index, raw) in std::io::BufReader::with_capacity(1 << 16, file)
        .split(b'\n')
        .enumerate()
    {
        let line = index + 1;
        let Ok(raw) = raw else { break };
        let Ok(text) = String::from_utf8(raw) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        let hash = sha256_line(&text);
        // Lines that do not parse are the chain check's to report.
        if let Ok(record) = serde_json::from_str::<Record>(&text) {
            let covered = record.seq.saturating_sub(1);
            match &record.event {
                RunEvent::ChainSignature {
                    scenario,
                    head,
                    public_key,
                    fingerprint,
                    signature,
                } => {
                    let what = match scenario {
                        Some(id) => format!("station signature after scenario {id}"),
                        None => "station signature of the run's end".to_string(),
                    };
                    out.problems.extend(check_signed(
                        line,
                        &what,
                        &record,
                        head,
                        &previous_hash,
                        public_key,
                        fingerprint,
                        &signing::chain_message(covered, head),
                        signature,
                    ));
                    if !out.station_keys.contains(fingerprint) {
                        out.station_keys.push(fingerprint.clone());
                    }
                    unsigned_tail = None;
                }
                RunEvent::ElectronicSignature {
                    name,
                    role,
                    meaning,
                    signed_utc,
                    head,
                    public_key,
                    fingerprint,
                    signature,
                } => {
                    let what = format!("electronic signature of {name} ({})", role.name());
                    let message = signing::electronic_message(
                        covered,
                        head,
                        name,
                        role.name(),
                        meaning,
                        signed_utc,
                    );
                    out.problems.extend(check_signed(
                        line,
                        &what,
                        &record,
                        head,
                        &previous_hash,
                        public_key,
                        fingerprint,
                        &message,
                        signature,
                    ));
                    out.electronic.push((
                        name.clone(),
                        role.name().to_string(),
                        fingerprint.clone(),
                    ));
                }
                event => {
                    finished |= matches!(event, RunEvent::RunFinished { .. });
                    let first = unsigned_tail.map(|(first, _)| first).unwrap_or(line);
                    unsigned_tail = Some((first, line));
                }
            }
        }
        previous_hash = hash;
    }
    if let (true, Some((first, last))) = (out.is_signed(), unsigned_tail) {
        if finished || strict {
            out.problems.push(format!(
                "{EVENTS_FILE} lines {first}..{last}: written after the last station signature, so not signed (records were added to a signed run, or the run was cut short)"
            ));
        } else {
            // A run killed mid-scenario never reached its next signature.
            out.notes.push(format!(
                "{EVENTS_FILE} lines {first}..{last}: not signed (the run did not finish, so it never signed them)"
            ));
        }
    }
}

fn check_manifest(dir: &Path, out: &mut SignatureCheck) {
    let text = match std::fs::read_to_string(dir.join(manifest::SIG_FILE)) {
        Ok(text) => text,
        Err(_) => {
            if out.is_signed() {
                out.problems.push(format!(
                    "{}: missing: the record is signed but its manifest is not",
                    manifest::SIG_FILE
                ));
            }
            return;
        }
    };
    let Ok(sha256) = crate::record::sha256_file(&dir.join(manifest::FILE)) else {
        out.problems.push(format!(
            "{}: there is no {} to check it against",
            manifest::SIG_FILE,
            manifest::FILE
        ));
        return;
    };
    let message = signing::manifest_message(&sha256);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parsed = match fields.as_slice() {
            [fingerprint, key, signature] => PublicKey::from_hex(key)
                .filter(|k| k.fingerprint() == *fingerprint)
                .map(|k| (k, *signature)),
            _ => None,
        };
        let Some((key, signature)) = parsed else {
            out.problems.push(format!(
                "{} line {}: not '<fingerprint>  <public key>  <signature>'",
                manifest::SIG_FILE,
                i + 1
            ));
            continue;
        };
        let fingerprint = key.fingerprint();
        if !key.verifies(&message, signature) {
            out.problems.push(format!(
                "{}: the signature by key {fingerprint} does not match {} (the manifest changed after it was signed)",
                manifest::SIG_FILE,
                manifest::FILE
            ));
        }
        let known = out.station_keys.contains(&fingerprint)
            || out.electronic.iter().any(|(_, _, f)| *f == fingerprint);
        if !known {
            out.problems.push(format!(
                "{}: signed by key {fingerprint}, which signed nothing in the record",
                manifest::SIG_FILE
            ));
        }
        out.manifest_keys.push(fingerprint);
    }
}

/// Checks every signature of a run directory; `trusted` (fingerprints), when not empty, must
/// include the key of every signature, and the run must be signed.
pub fn check(dir: &Path, trusted: &[PublicKey]) -> SignatureCheck {
    let mut out = SignatureCheck::default();
    check_record(dir, &mut out, !trusted.is_empty());
    check_manifest(dir, &mut out);
    if !trusted.is_empty() {
        let trusted: Vec<String> = trusted.iter().map(|k| k.fingerprint()).collect();
        let list = trusted.join(", ");
        if !out.is_signed() {
            out.problems.push(format!(
                "unsigned run: no station signature in {EVENTS_FILE}, so nothing shows it was written by a trusted key ({list})"
            ));
        }
        for key in &out.station_keys {
            if !trusted.contains(key) {
                out.problems.push(format!(
                    "{EVENTS_FILE}: signed by station key {key}, which is not a trusted key ({list})"
                ));
            }
        }
        for (name, role, key) in &out.electronic {
            if !trusted.contains(key) {
                out.problems.push(format!(
                    "{EVENTS_FILE}: electronic signature of {name} ({role}) by key {key}, which is not a trusted key ({list})"
                ));
            }
        }
        for key in &out.manifest_keys {
            if !trusted.contains(key) {
                out.problems.push(format!(
                    "{}: signed by key {key}, which is not a trusted key ({list})",
                    manifest::SIG_FILE
                ));
            }
        }
    }
    out
}
