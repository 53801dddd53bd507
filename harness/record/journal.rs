//! `events.jsonl`: the append-only, hash-chained run record, flushed line by line.

use super::event::RunEvent;
use super::signing::{self, StationKey};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

pub const EVENTS_FILE: &str = "events.jsonl";
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the record: a sequence number, the hash of the previous line, and the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub prev: String,
    pub at_utc: String,
    #[serde(flatten)]
    pub event: RunEvent,
}

/// The fields of a sample line beside the sample's own.
#[derive(Deserialize)]
struct SampleEnvelope {
    seq: u64,
    prev: String,
    at_utc: String,
    #[serde(rename = "type")]
    kind: String,
    scenario: String,
}

/// One line of the record, parsed. Sample lines, nearly all of a long record, are read as two
/// plain structs from the same bytes (the envelope, then the sample, each ignoring the other's
/// fields): the general path, an internally tagged enum inside a flattened struct, buffers
/// every field twice and took most of `verify`'s and `report`'s time. Anything the fast path
/// does not take is read the general way, which stays the definition.
pub fn parse_record(line: &[u8]) -> serde_json::Result<Record> {
    if let Ok(envelope) = serde_json::from_slice::<SampleEnvelope>(line) {
        if envelope.kind == "sample" {
            if let Ok(sample) = serde_json::from_slice::<super::schema::Sample>(line) {
                return Ok(Record {
                    seq: envelope.seq,
                    prev: envelope.prev,
                    at_utc: envelope.at_utc,
                    event: RunEvent::Sample {
                        scenario: envelope.scenario,
                        sample,
                    },
                });
            }
        }
    }
    serde_json::from_slice::<Record>(line)
}

pub fn sha256_line(line: &str) -> String {
    crate::scenario::sha256_hex(line.as_bytes())
}

/// Appends records; every record is written and flushed before `append` returns, so a crash,
/// a kill -9 or a lost device loses nothing already recorded.
pub struct Journal {
    file: File,
    seq: u64,
    prev: String,
    /// The station key: signs the chain head after each scenario's and the run's end.
    signer: Option<std::sync::Arc<StationKey>>,
}

impl Journal {
    pub fn create(dir: &Path) -> std::io::Result<Journal> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(dir.join(EVENTS_FILE))?;
        Ok(Journal {
            file,
            seq: 0,
            prev: GENESIS_HASH.to_string(),
            signer: None,
        })
    }

    /// A new record whose scenario and run ends are signed with `signer`.
    pub fn create_signed(
        dir: &Path,
        signer: Option<std::sync::Arc<StationKey>>,
    ) -> std::io::Result<Journal> {
        let mut journal = Journal::create(dir)?;
        journal.signer = signer;
        Ok(journal)
    }

    /// Opens an existing record to append to it (electronic signatures): the next line
    /// continues the chain from the last whole line.
    pub fn open_append(dir: &Path) -> std::io::Result<Journal> {
        let text = std::fs::read_to_string(dir.join(EVENTS_FILE))?;
        let last = text
            .split('\n')
            .rfind(|l| !l.is_empty())
            .ok_or_else(|| std::io::Error::other("the record is empty"))?;
        if !text.ends_with('\n') {
            return Err(std::io::Error::other(
                "the record's last line is cut short; nothing can be appended to it",
            ));
        }
        let record: Record = serde_json::from_str(last).map_err(std::io::Error::other)?;
        let file = OpenOptions::new()
            .append(true)
            .open(dir.join(EVENTS_FILE))?;
        Ok(Journal {
            file,
            seq: record.seq + 1,
            prev: sha256_line(last),
            signer: None,
        })
    }

    /// The chain head: the hash of the last line written, and its sequence number.
    pub fn head(&self) -> (Option<u64>, &str) {
        (self.seq.checked_sub(1), &self.prev)
    }

    /// Appends an event; after a scenario's or the run's end, a signed journal appends the
    /// station's signature of the chain head too.
    pub fn append(&mut self, event: RunEvent) -> std::io::Result<Record> {
        let now = crate::record::utc_now();
        self.append_at(event, &now)
    }

    /// `append`, with the time the event was first written: a merged run (`pumphil merge`)
    /// copies its parts' events with their own times.
    pub fn append_at(&mut self, event: RunEvent, at_utc: &str) -> std::io::Result<Record> {
        let signed_end = match &event {
            RunEvent::ScenarioFinished { scenario, .. } => Some(Some(scenario.clone())),
            RunEvent::RunFinished { .. } => Some(None),
            _ => None,
        };
        let record = self.write(event, at_utc.to_string())?;
        if let (Some(scenario), Some(key)) = (signed_end, self.signer.clone()) {
            let head = self.prev.clone();
            let public = key.public();
            self.write(
                RunEvent::ChainSignature {
                    scenario,
                    signature: key.sign(&signing::chain_message(record.seq, &head)),
                    head,
                    public_key: public.to_hex(),
                    fingerprint: public.fingerprint(),
                },
                crate::record::utc_now(),
            )?;
        }
        Ok(record)
    }

    fn write(&mut self, event: RunEvent, at_utc: String) -> std::io::Result<Record> {
        let record = Record {
            seq: self.seq,
            prev: self.prev.clone(),
            at_utc,
            event,
        };
        let line = serde_json::to_string(&record).map_err(std::io::Error::other)?;
        self.file.write_all(format!("{line}\n").as_bytes())?;
        self.file.flush()?;
        self.prev = sha256_line(&line);
        self.seq += 1;
        Ok(record)
    }

    /// Forces the record to stable storage (at scenario ends; per line would cost a disk sync each).
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReadError {
    #[error("reading {EVENTS_FILE}: {0}")]
    #[diagnostic(
        code(pumphil::record::io),
        help("check that the run directory is readable")
    )]
    Io(#[from] std::io::Error),
    #[error("{EVENTS_FILE} has record schema version {found}; this pumphil reads version {expected} only")]
    #[diagnostic(
        code(pumphil::record::schema_version),
        help("render it with the pumphil that wrote it (its harness_version and git_commit are in the first line); docs/record.md lists the versions")
    )]
    SchemaVersion { found: u32, expected: u32 },
}

/// The first line's type and schema version, read before the line is parsed as a record so that
/// a record of another version is refused by name rather than as a line that does not parse.
#[derive(Deserialize)]
struct VersionProbe {
    #[serde(rename = "type")]
    kind: String,
    schema_version: Option<u32>,
}

/// The schema version a first line declares, if it is a run_started line.
pub fn declared_version(line: &str) -> Option<u32> {
    let probe: VersionProbe = serde_json::from_str(line).ok()?;
    (probe.kind == "run_started")
        .then_some(probe.schema_version.unwrap_or(super::schema::UNVERSIONED))
}

/// What reading a record back found: the records that parse, and where it stopped if not at the end.
#[derive(Debug, Default)]
pub struct ReadBack {
    pub records: Vec<Record>,
    /// A final line cut short (a kill -9 mid-write): its line number.
    pub truncated_at_line: Option<usize>,
    /// Lines that do not parse or break the chain: (line number, what is wrong).
    pub problems: Vec<(usize, String)>,
}

/// Reads `events.jsonl` record by record, checking the hash chain as it goes, so that a record
/// of any length is read in the memory of one line. `problems` and `truncated_at_line` are
/// complete once `next_record` has returned `None`.
pub struct Reader {
    lines: std::io::Split<BufReader<File>>,
    line_number: usize,
    prev: String,
    next_seq: u64,
    /// A line that did not parse: a problem if another line follows, a cut-short end if not.
    unparsed: Option<(usize, String)>,
    pub problems: Vec<(usize, String)>,
    pub truncated_at_line: Option<usize>,
    /// Whether each line's hash is checked against the next line's `prev`.
    check_chain: bool,
}

impl Reader {
    pub fn open(dir: &Path) -> std::io::Result<Reader> {
        let file = File::open(dir.join(EVENTS_FILE))?;
        Ok(Reader {
            lines: BufReader::with_capacity(1 << 16, file).split(b'\n'),
            line_number: 0,
            prev: GENESIS_HASH.to_string(),
            next_seq: 0,
            unparsed: None,
            problems: Vec::new(),
            truncated_at_line: None,
            check_chain: true,
        })
    }

    /// `open`, leaving the hash chain to a verification that runs beside this reading and
    /// decides whether what is read is used (`pumphil report`): lines are not hashed.
    pub fn open_unchained(dir: &Path) -> std::io::Result<Reader> {
        let mut reader = Self::open(dir)?;
        reader.check_chain = false;
        Ok(reader)
    }

    /// Records parsed so far.
    pub fn records_read(&self) -> u64 {
        self.next_seq
    }

    /// The next record that parses. A first line that is a run_started of another schema version
    /// is an error: nothing after it could be read correctly.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            let Some(raw) = self.lines.next().transpose()? else {
                self.truncated_at_line = self.unparsed.take().map(|(number, _)| number);
                return Ok(None);
            };
            self.line_number += 1;
            let number = self.line_number;
            if let Some(earlier) = self.unparsed.take() {
                self.problems.push(earlier);
            }
            let Ok(line) = String::from_utf8(raw) else {
                self.problems.push((number, "not UTF-8".to_string()));
                continue;
            };
            if line.is_empty() {
                continue;
            }
            if self.next_seq == 0 && self.problems.is_empty() {
                if let Some(found) = declared_version(&line) {
                    if found != super::schema::SCHEMA_VERSION {
                        return Err(ReadError::SchemaVersion {
                            found,
                            expected: super::schema::SCHEMA_VERSION,
                        });
                    }
                }
            }
            match parse_record(line.as_bytes()) {
                Ok(record) => {
                    if self.check_chain && record.prev != self.prev {
                        self.problems.push((number, format!("hash chain broken: line {number} says the previous record hashes to {}, but it hashes to {}", record.prev, self.prev)));
                    }
                    if record.seq != self.next_seq {
                        self.problems.push((
                            number,
                            format!(
                                "sequence {} where {} was expected (a record was removed or added)",
                                record.seq, self.next_seq
                            ),
                        ));
                    }
                    if self.check_chain {
                        self.prev = sha256_line(&line);
                    }
                    self.next_seq += 1;
                    return Ok(Some(record));
                }
                Err(err) => self.unparsed = Some((number, format!("does not parse: {err}"))),
            }
        }
    }
}

/// Reads all of `events.jsonl` into memory (see `Reader` for records too long for that).
pub fn read(dir: &Path) -> Result<ReadBack, ReadError> {
    let mut reader = Reader::open(dir)?;
    let mut records = Vec::new();
    while let Some(record) = reader.next_record()? {
        records.push(record);
    }
    Ok(ReadBack {
        records,
        truncated_at_line: reader.truncated_at_line,
        problems: reader.problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"seq":3,"prev":"b75a","at_utc":"2026-12-02T19:26:53Z","type":"sample","scenario":"s","t_ms":0,"device_time_ms":0,"delivered_nl":0,"calculated_nl":40000000,"dose_rate_ug_per_day":200,"concentration_ug_per_ml":500,"therapy_state":"running","battery_permille":1000,"elective_replacement":false,"end_of_service":false,"active_alarms":["low_reservoir"],"balance_g":-0.0002,"balance_stable":true,"tip_nl":0,"actual_reservoir_nl":40000000,"pocket_nl":0}"#;

    #[test]
    fn a_sample_line_reads_as_the_general_path_reads_it() {
        let fast = parse_record(SAMPLE.as_bytes()).unwrap();
        let general = serde_json::from_str::<Record>(SAMPLE).unwrap();
        assert_eq!(fast, general);
        assert!(matches!(fast.event, RunEvent::Sample { .. }));
        // Optional fields left out read as absent both ways.
        let without = SAMPLE.replace(r#","actual_reservoir_nl":40000000,"pocket_nl":0"#, "");
        assert_eq!(
            parse_record(without.as_bytes()).unwrap(),
            serde_json::from_str::<Record>(&without).unwrap()
        );
    }

    #[test]
    fn lines_the_fast_path_does_not_take_read_the_general_way() {
        // Not a sample: the general path reads it.
        let deviation = r#"{"seq":4,"prev":"ab","at_utc":"2026-12-02T19:26:53Z","type":"deviation","scenario":"s","t_ms":null,"kind":"retry","detail":"the \"type\":\"sample\" words"}"#;
        assert_eq!(
            parse_record(deviation.as_bytes()).unwrap(),
            serde_json::from_str::<Record>(deviation).unwrap()
        );
        // A sample with a field missing fails as the general path fails.
        let broken = SAMPLE.replace(r#""delivered_nl":0,"#, "");
        assert!(parse_record(broken.as_bytes()).is_err());
        assert!(serde_json::from_str::<Record>(&broken).is_err());
    }
}
