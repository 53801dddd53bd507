//! `events.jsonl`: the append-only, hash-chained run record, flushed line by line, with the
//! samples in side files whose blocks the record hashes (`sample_blocks`).

use super::event::RunEvent;
use super::sample_blocks::{BlockReader, BlockWriter, Uncovered};
use super::signing::{self, StationKey};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
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

/// One line of the record, parsed.
pub fn parse_record(line: &[u8]) -> serde_json::Result<Record> {
    serde_json::from_slice::<Record>(line)
}

pub fn sha256_line(line: &str) -> String {
    crate::scenario::sha256_hex(line.as_bytes())
}

/// Appends records; every record is written and flushed before `append` returns, so a crash,
/// a kill -9 or a lost device loses nothing already recorded, but samples: they wait in their
/// scenario's block, which is written to its side file and recorded when it holds
/// `BLOCK_SAMPLES`, when a sample comes `BLOCK_WALL` after the scenario's last block, before
/// any other event of the scenario or of the run, and at `sync` (a kill -9 loses at most the
/// samples of the last second or so).
pub struct Journal {
    file: File,
    seq: u64,
    prev: String,
    /// The station key: signs the chain head after each scenario's and the run's end.
    signer: Option<std::sync::Arc<StationKey>>,
    /// The samples' side files; None for a record that copies block records (a merge).
    blocks: Option<BlockWriter>,
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
            blocks: Some(BlockWriter::new(dir)),
        })
    }

    /// A new record of copied events (`pumphil merge`): it takes `SampleBlock`s as they are and
    /// refuses samples, and makes no side files.
    pub fn create_copy(
        dir: &Path,
        signer: Option<std::sync::Arc<StationKey>>,
    ) -> std::io::Result<Journal> {
        let mut journal = Journal::create_signed(dir, signer)?;
        journal.blocks = None;
        Ok(journal)
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

    /// Sample blocks close by count and events only, never by wall time: the same events give
    /// the same record however fast they come (synthetic records in tests).
    pub fn without_wall_clock(mut self) -> Journal {
        self.blocks = self.blocks.take().map(BlockWriter::without_wall_clock);
        self
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
            blocks: None,
        })
    }

    /// The chain head: the hash of the last line written, and its sequence number.
    pub fn head(&self) -> (Option<u64>, &str) {
        (self.seq.checked_sub(1), &self.prev)
    }

    /// Appends an event; after a scenario's or the run's end, a signed journal appends the
    /// station's signature of the chain head too. A sample is only buffered (see `Journal`).
    pub fn append(&mut self, event: RunEvent) -> std::io::Result<Record> {
        if matches!(event, RunEvent::Sample { .. }) {
            // No clock read or time formatted for a sample: its block line is stamped when written.
            return self.buffer_sample(event, String::new());
        }
        let now = crate::record::utc_now();
        self.append_at(event, &now)
    }

    /// `append`, with the time the event was first written: a merged run (`pumphil merge`)
    /// copies its parts' events with their own times.
    pub fn append_at(&mut self, event: RunEvent, at_utc: &str) -> std::io::Result<Record> {
        if matches!(event, RunEvent::Sample { .. }) {
            return self.buffer_sample(event, at_utc.to_string());
        }
        // A scenario's samples go before its next event, and every scenario's before the run's.
        match event.scenario() {
            Some(id) => self.close_block(id)?,
            None => self.close_blocks()?,
        }
        if let (Some(blocks), RunEvent::ScenarioStarted { scenario, .. }) =
            (self.blocks.as_mut(), &event)
        {
            blocks.open(scenario)?;
        }
        if let (Some(blocks), RunEvent::ScenarioFinished { scenario, .. }) =
            (self.blocks.as_mut(), &event)
        {
            blocks.open(scenario)?;
            blocks.finish(scenario);
        }
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

    /// Adds a sample to its scenario's block, closing the block when it is due. The record
    /// returned is the line the block will be if nothing else is written first, with `at_utc`
    /// as given (the block line's own time is when it is written).
    fn buffer_sample(&mut self, event: RunEvent, at_utc: String) -> std::io::Result<Record> {
        let RunEvent::Sample { scenario, sample } = &event else {
            return Err(std::io::Error::other("not a sample"));
        };
        let Some(blocks) = self.blocks.as_mut() else {
            return Err(std::io::Error::other(
                "this record copies sample blocks; it takes no samples",
            ));
        };
        if blocks.push(scenario, sample)? {
            let scenario = scenario.clone();
            self.close_block(&scenario)?;
        }
        Ok(Record {
            seq: self.seq,
            prev: self.prev.clone(),
            at_utc,
            event,
        })
    }

    /// Writes the scenario's pending samples and appends their block record.
    fn close_block(&mut self, scenario: &str) -> std::io::Result<()> {
        let Some(blocks) = self.blocks.as_mut() else {
            return Ok(());
        };
        if let Some(block) = blocks.close(scenario)? {
            self.write(
                RunEvent::SampleBlock {
                    scenario: scenario.to_string(),
                    block,
                },
                crate::record::utc_now(),
            )?;
        }
        Ok(())
    }

    fn close_blocks(&mut self) -> std::io::Result<()> {
        let pending = self.blocks.as_ref().map(BlockWriter::pending);
        for scenario in pending.unwrap_or_default() {
            self.close_block(&scenario)?;
        }
        Ok(())
    }

    /// Records the blocks whose samples have waited `BLOCK_WALL` (called on a timer, so that
    /// samples do not wait for the next event of a scenario that has gone quiet).
    pub fn close_overdue(&mut self) -> std::io::Result<()> {
        let overdue = self.blocks.as_ref().map(BlockWriter::overdue);
        for scenario in overdue.unwrap_or_default() {
            self.close_block(&scenario)?;
        }
        Ok(())
    }

    /// Records every pending block, then forces the record and its side files to stable storage
    /// (at scenario ends; per line would cost a disk sync each).
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.close_blocks()?;
        if let Some(blocks) = &self.blocks {
            blocks.sync()?;
        }
        self.file.sync_data()
    }
}

impl Drop for Journal {
    /// Samples still waiting are recorded: only a kill loses them.
    fn drop(&mut self) {
        let _ = self.close_blocks();
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
    /// Samples in side files past their last block (a run killed before recording them).
    pub uncovered: Vec<Uncovered>,
}

/// Reads `events.jsonl` record by record, checking the hash chain as it goes, so that a record
/// of any length is read in the memory of one line (and one sample block). Each `sample_block`
/// is read back as its samples, each carrying the block line's `seq`, `prev` and `at_utc`
/// (`open_raw` leaves it a block). A block that does not check out against its side file is a
/// problem on the block's line, naming the side file and its line. `problems`,
/// `truncated_at_line` and `uncovered` are complete once `next_record` has returned `None`.
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
    /// Reads sample blocks back into samples (None: blocks are returned as they are).
    blocks: Option<BlockReader>,
    /// Samples of the last block read, still to be returned.
    queued: VecDeque<Record>,
    pub uncovered: Vec<Uncovered>,
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
            blocks: Some(BlockReader::new(dir)),
            queued: VecDeque::new(),
            uncovered: Vec::new(),
        })
    }

    /// `open`, returning `sample_block` records as they are (a merge copies them).
    pub fn open_raw(dir: &Path) -> std::io::Result<Reader> {
        let mut reader = Self::open(dir)?;
        reader.blocks = None;
        Ok(reader)
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
            if let Some(record) = self.queued.pop_front() {
                return Ok(Some(record));
            }
            let Some(record) = self.next_line()? else {
                if let Some(blocks) = &self.blocks {
                    self.uncovered = blocks.uncovered();
                }
                return Ok(None);
            };
            let Some(blocks) = self.blocks.as_mut() else {
                return Ok(Some(record));
            };
            match unblock(blocks, record) {
                Unblocked::Samples { records, problems } => {
                    let number = self.line_number;
                    self.problems
                        .extend(problems.into_iter().map(|p| (number, p)));
                    self.queued.extend(records);
                }
                Unblocked::Event(record) => return Ok(Some(record)),
            }
        }
    }

    /// The next line's record that parses, as it is.
    fn next_line(&mut self) -> Result<Option<Record>, ReadError> {
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

/// Reads all of `events.jsonl` into memory, samples read back from their blocks (see `Reader`
/// for records too long for that).
pub fn read(dir: &Path) -> Result<ReadBack, ReadError> {
    read_from(Reader::open(dir)?)
}

/// `read`, a record a line: sample blocks as they are.
pub fn read_raw(dir: &Path) -> Result<ReadBack, ReadError> {
    read_from(Reader::open_raw(dir)?)
}

fn read_from(mut reader: Reader) -> Result<ReadBack, ReadError> {
    let mut records = Vec::new();
    while let Some(record) = reader.next_record()? {
        records.push(record);
    }
    Ok(ReadBack {
        records,
        truncated_at_line: reader.truncated_at_line,
        problems: reader.problems,
        uncovered: reader.uncovered,
    })
}

/// A record as read back: an event, or a sample block turned back into its samples' records
/// (each with the block's place in the chain) and what is wrong with the block.
// Matched as soon as it is returned, never stored: boxing the event would cost an allocation
// a record for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Unblocked {
    Event(Record),
    Samples {
        records: Vec<Record>,
        problems: Vec<String>,
    },
}

/// Turns a block back into its samples through `blocks`; a scenario's start tells `blocks`
/// where that scenario's side file is, so that bytes no block covers are found.
pub fn unblock(blocks: &mut BlockReader, record: Record) -> Unblocked {
    match record.event {
        RunEvent::SampleBlock { scenario, block } => {
            let (samples, problems) = blocks.read(&block);
            let records = samples
                .into_iter()
                .map(|sample| Record {
                    seq: record.seq,
                    prev: record.prev.clone(),
                    at_utc: record.at_utc.clone(),
                    event: RunEvent::Sample {
                        scenario: scenario.clone(),
                        sample,
                    },
                })
                .collect();
            Unblocked::Samples { records, problems }
        }
        event => {
            if let RunEvent::ScenarioStarted { scenario, .. } = &event {
                blocks.expect_file(scenario);
            }
            Unblocked::Event(Record { event, ..record })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::sample_blocks::BLOCK_SAMPLES;
    use crate::record::schema::Sample;

    fn sample(t_ms: u64) -> RunEvent {
        RunEvent::Sample {
            scenario: "s".into(),
            sample: Sample::running_at(t_ms),
        }
    }

    fn deviation() -> RunEvent {
        RunEvent::Deviation {
            scenario: Some("s".into()),
            t_ms: None,
            kind: "retry".into(),
            detail: "x".into(),
        }
    }

    fn types(dir: &Path) -> Vec<String> {
        read_raw(dir)
            .unwrap()
            .records
            .iter()
            .map(|r| match &r.event {
                RunEvent::SampleBlock { block, .. } => format!("block {}", block.count),
                RunEvent::Deviation { .. } => "deviation".into(),
                _ => "other".into(),
            })
            .collect()
    }

    #[test]
    fn samples_are_recorded_in_blocks_before_the_next_event_of_their_scenario() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(dir.path()).unwrap().without_wall_clock();
        // The first sample closes its block at once (no block before it); the next ones wait
        // for the deviation.
        for t in 0..3 {
            journal.append(sample(t * 1000)).unwrap();
        }
        journal.append(deviation()).unwrap();
        for t in 3..(3 + BLOCK_SAMPLES + 1) {
            journal.append(sample(t * 1000)).unwrap();
        }
        journal.sync().unwrap();
        assert_eq!(
            types(dir.path()),
            ["block 1", "block 2", "deviation", "block 1024", "block 1"]
        );
        let back = read(dir.path()).unwrap();
        assert!(back.problems.is_empty(), "{:?}", back.problems);
        assert!(back.uncovered.is_empty());
        let times: Vec<u64> = back
            .records
            .iter()
            .filter_map(|r| match &r.event {
                RunEvent::Sample { sample, .. } => Some(sample.t_ms),
                _ => None,
            })
            .collect();
        assert_eq!(
            times,
            (0..BLOCK_SAMPLES + 4).map(|t| t * 1000).collect::<Vec<_>>()
        );
        // A sample carries its block line's sequence number.
        assert_eq!(back.records[2].seq, 1);
    }

    #[test]
    fn samples_not_yet_recorded_are_found_past_the_last_block() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(dir.path()).unwrap();
        for t in 0..5 {
            journal.append(sample(t)).unwrap();
        }
        journal.sync().unwrap();
        // A run killed after writing a block's samples and before recording the block.
        let path = dir.path().join("traces/s.csv");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("9,9,0,0,0,0,running,1000,false,false,,,,,,\n");
        std::fs::write(&path, text).unwrap();
        let back = read(dir.path()).unwrap();
        assert_eq!(back.uncovered.len(), 1);
        assert_eq!(back.uncovered[0].from_line, 7);
        assert_eq!(back.uncovered[0].samples, 1);
    }

    #[test]
    fn a_copied_record_takes_blocks_but_no_samples() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::create_copy(dir.path(), None).unwrap();
        assert!(journal.append(sample(0)).is_err());
        assert!(!dir.path().join("traces").exists());
    }
}
