//! Checking a run directory's signatures: the station's chain signatures and the electronic
//! signatures in `events.jsonl`, and the signatures of `MANIFEST.sha256`.

use super::chain::LineRead;
use super::manifest;
use crate::record::journal::{Record, EVENTS_FILE};
use crate::record::signing::{self, PublicKey};
use crate::record::RunEvent;
use crate::scenario::digest::hex;
use crate::scenario::sha256;
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

/// The signatures in `events.jsonl`, checked a line at a time as the record is read.
#[derive(Default)]
pub struct RecordSignatures {
    out: SignatureCheck,
    /// The hash of the line before, starting from the genesis hash (all zeros).
    previous_hash: [u8; 32],
    /// The last line not covered by a signature: (first line, last line).
    unsigned_tail: Option<(usize, usize)>,
    finished: bool,
}

impl RecordSignatures {
    /// Takes the next non-empty line of the record (lines that do not parse are the chain
    /// check's to report; a line that is not UTF-8 is passed over, its hash too).
    pub fn line(&mut self, read: &LineRead) {
        if !read.utf8 {
            return;
        }
        let line = read.number;
        if let Some(record) = &read.record {
            let out = &mut self.out;
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
                        record,
                        head,
                        &hex(&self.previous_hash),
                        public_key,
                        fingerprint,
                        &signing::chain_message(covered, head),
                        signature,
                    ));
                    if !out.station_keys.contains(fingerprint) {
                        out.station_keys.push(fingerprint.clone());
                    }
                    self.unsigned_tail = None;
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
                        record,
                        head,
                        &hex(&self.previous_hash),
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
                    self.finished |= matches!(event, RunEvent::RunFinished { .. });
                    let first = self.unsigned_tail.map(|(first, _)| first).unwrap_or(line);
                    self.unsigned_tail = Some((first, line));
                }
            }
        }
        self.previous_hash = read.hash;
    }

    /// What the record's signatures showed; `strict` (trusted keys were named) makes an
    /// unsigned tail a problem even in a run that did not finish.
    fn finish(self, strict: bool) -> SignatureCheck {
        let mut out = self.out;
        if let (true, Some((first, last))) = (out.is_signed(), self.unsigned_tail) {
            if self.finished || strict {
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
        out
    }
}

/// Reads the record for its signatures alone (`verify` reads it once for everything instead).
fn read_record(dir: &Path) -> RecordSignatures {
    let mut signatures = RecordSignatures::default();
    let Ok(file) = std::fs::File::open(dir.join(EVENTS_FILE)) else {
        return signatures;
    };
    for (index, raw) in std::io::BufReader::with_capacity(1 << 16, file)
        .split(b'\n')
        .enumerate()
    {
        let Ok(raw) = raw else { break };
        if raw.is_empty() {
            continue;
        }
        let utf8 = std::str::from_utf8(&raw).is_ok();
        signatures.line(&LineRead {
            number: index + 1,
            hash: sha256(&raw),
            utf8,
            record: utf8
                .then(|| crate::record::journal::parse_record(&raw).ok())
                .flatten(),
        });
    }
    signatures
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
    check_read(dir, read_record(dir), trusted)
}

/// `check`, from the record's signatures as `verify` read them in its one pass over the record.
pub fn check_read(dir: &Path, record: RecordSignatures, trusted: &[PublicKey]) -> SignatureCheck {
    let mut out = record.finish(!trusted.is_empty());
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
