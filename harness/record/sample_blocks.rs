//! Samples in blocks: the side files `traces/<stem>.csv` the journal writes a scenario's samples
//! to, and the `sample_block` records that hash each block into the chain.
//!
//! Writing: a scenario's sample lines wait in its pending block until the journal closes it
//! (`BlockWriter`); its bytes are written and flushed, then the journal appends the block's
//! record. Reading: a block record is checked against the bytes it names and turned back into
//! its samples (`BlockReader`), which also finds bytes of a side file no block covers.

use super::sample_csv::{self, DIR};
use super::schema::{Sample, SampleBlock};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

/// Samples a block holds at most.
pub const BLOCK_SAMPLES: u64 = 1024;
/// Wall time after which the next sample closes its scenario's block: a kill -9 loses at most
/// the samples of about this long.
pub const BLOCK_WALL: Duration = Duration::from_secs(1);

/// One scenario's side file while the run writes it.
struct SideFile {
    /// Relative to the run directory, `/`-separated.
    path: String,
    /// Open while the scenario runs; reopened to append if a sample comes after its end.
    file: Option<File>,
    /// Bytes written so far (the next block's offset), and the next sample's line number.
    offset: u64,
    next_line: u64,
    pending: Vec<u8>,
    tags: String,
    count: u64,
    first_t_ms: u64,
    last_t_ms: u64,
    /// When its last block closed (None: none yet).
    last_closed: Option<Instant>,
}

/// The pending blocks of every scenario of a run, and their side files.
pub struct BlockWriter {
    run_dir: PathBuf,
    files: HashMap<String, SideFile>,
    /// `BLOCK_WALL`, but in tests that must not depend on the machine's speed.
    wall: Duration,
}

impl BlockWriter {
    pub fn new(run_dir: &Path) -> BlockWriter {
        BlockWriter {
            run_dir: run_dir.to_path_buf(),
            files: HashMap::new(),
            wall: BLOCK_WALL,
        }
    }

    /// Blocks close by count and events only (and a scenario's first sample at once), never
    /// by wall time: the same events give the same record on any machine (tests).
    pub fn without_wall_clock(mut self) -> BlockWriter {
        self.wall = Duration::MAX;
        self
    }

    fn waited(&self, side: &SideFile) -> bool {
        side.last_closed.is_none_or(|at| at.elapsed() >= self.wall)
    }

    /// Makes the scenario's side file (its header) if it has none yet.
    pub fn open(&mut self, scenario: &str) -> std::io::Result<()> {
        if self.files.contains_key(scenario) {
            return Ok(());
        }
        let stem = sample_csv::file_stem(scenario);
        // Two ids that differ only in characters a file name cannot hold would share a
        // file: the later one gets a numbered name (its block records name it).
        let taken = |path: &str| self.files.values().any(|f| f.path == path);
        let path = std::iter::once(format!("{DIR}/{stem}.csv"))
            .chain((2..).map(|n| format!("{DIR}/{stem}-{n}.csv")))
            .find(|p| !taken(p))
            .unwrap_or_default();
        std::fs::create_dir_all(self.run_dir.join(DIR))?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(self.run_dir.join(&path))?;
        let header = sample_csv::header();
        file.write_all(header.as_bytes())?;
        self.files.insert(
            scenario.to_string(),
            SideFile {
                path,
                file: Some(file),
                offset: header.len() as u64,
                next_line: 2,
                pending: Vec::with_capacity(128 * BLOCK_SAMPLES as usize),
                tags: String::with_capacity(4 * BLOCK_SAMPLES as usize),
                count: 0,
                first_t_ms: 0,
                last_t_ms: 0,
                last_closed: None,
            },
        );
        Ok(())
    }

    /// Adds a sample to its scenario's pending block; true when the block is due to close
    /// (full, or its scenario's last block closed at least `BLOCK_WALL` ago).
    pub fn push(&mut self, scenario: &str, sample: &Sample) -> std::io::Result<bool> {
        if !self.files.contains_key(scenario) {
            self.open(scenario)?;
        }
        let wall = self.wall;
        let Some(side) = self.files.get_mut(scenario) else {
            return Err(std::io::Error::other("no side file for the scenario"));
        };
        let start = side.pending.len();
        sample_csv::push_line(&mut side.pending, sample);
        let end = side.pending.len() - 1;
        sample_csv::push_tag(&mut side.tags, &side.pending[start..end]);
        if side.count == 0 {
            side.first_t_ms = sample.t_ms;
        }
        side.last_t_ms = sample.t_ms;
        side.count += 1;
        let waited = side.last_closed.is_none_or(|at| at.elapsed() >= wall);
        Ok(side.count >= BLOCK_SAMPLES || waited)
    }

    /// Scenarios with samples waiting.
    pub fn pending(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .files
            .iter()
            .filter(|(_, f)| f.count > 0)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Scenarios whose samples have waited at least `BLOCK_WALL` since their last block.
    pub fn overdue(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .files
            .iter()
            .filter(|(_, f)| f.count > 0 && self.waited(f))
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Writes and flushes the scenario's pending samples; the block record to append (None
    /// when nothing was pending).
    pub fn close(&mut self, scenario: &str) -> std::io::Result<Option<SampleBlock>> {
        let run_dir = &self.run_dir;
        let Some(side) = self.files.get_mut(scenario).filter(|f| f.count > 0) else {
            return Ok(None);
        };
        if side.file.is_none() {
            side.file = Some(
                OpenOptions::new()
                    .append(true)
                    .open(run_dir.join(&side.path))?,
            );
        }
        if let Some(file) = side.file.as_mut() {
            file.write_all(&side.pending)?;
            file.flush()?;
        }
        let block = SampleBlock {
            file: side.path.clone(),
            offset: side.offset,
            length: side.pending.len() as u64,
            first_line: side.next_line,
            count: side.count,
            first_t_ms: side.first_t_ms,
            last_t_ms: side.last_t_ms,
            sha256: crate::scenario::sha256_hex(&side.pending),
            line_tags: std::mem::take(&mut side.tags),
        };
        side.offset += block.length;
        side.next_line += block.count;
        side.pending.clear();
        side.tags.reserve(4 * BLOCK_SAMPLES as usize);
        side.count = 0;
        side.last_closed = Some(Instant::now());
        Ok(Some(block))
    }

    /// The scenario has ended: its file is closed (the block must have been closed first).
    pub fn finish(&mut self, scenario: &str) {
        if let Some(side) = self.files.get_mut(scenario) {
            side.file = None;
            side.pending = Vec::new();
            side.tags = String::new();
        }
    }

    /// Forces the open side files to stable storage.
    pub fn sync(&self) -> std::io::Result<()> {
        for file in self.files.values().filter_map(|f| f.file.as_ref()) {
            file.sync_data()?;
        }
        Ok(())
    }
}

/// A side file's bytes past what the blocks cover: what a run killed between writing samples
/// and recording their block left, or what was added to the file afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    pub file: String,
    /// The first line no block covers.
    pub from_line: u64,
    pub bytes: u64,
    /// Whole lines (samples) among them.
    pub samples: u64,
}

impl std::fmt::Display for Uncovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} line {}: {} sample(s) ({} bytes) from here on are not covered by the record's hash chain",
            self.file, self.from_line, self.samples, self.bytes
        )
    }
}

/// How far the blocks read so far cover a side file.
struct Coverage {
    end: u64,
    next_line: u64,
}

/// Reads block records back into samples, checking them against their side files.
pub struct BlockReader {
    run_dir: PathBuf,
    covered: HashMap<String, Coverage>,
    /// Side files found missing or unreadable: named once, not once a block.
    unreadable: std::collections::HashSet<String>,
}

/// A side file path a record may name: relative, inside the run directory.
fn is_inside(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// The side files a record's `sample_block` lines name, each once in the order first named, for
/// copying a record with the samples it hashes (`pumphil report --force`: a merged run's blocks
/// name its parts' traces). Lines that do not parse, and names outside the run directory, are
/// passed over: what they lack is the verification's to report.
pub fn named_files(run_dir: &Path) -> std::io::Result<Vec<String>> {
    use std::io::BufRead;
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "type")]
        kind: String,
        file: Option<String>,
    }
    let events = File::open(run_dir.join(super::journal::EVENTS_FILE))?;
    let mut files: Vec<String> = Vec::new();
    for line in std::io::BufReader::new(events).split(b'\n') {
        let line = line?;
        if !line.windows(14).any(|w| w == b"\"sample_block\"") {
            continue;
        }
        if let Ok(Named {
            kind,
            file: Some(file),
        }) = serde_json::from_slice::<Named>(&line)
        {
            if kind == "sample_block" && is_inside(&file) && !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

impl BlockReader {
    pub fn new(run_dir: &Path) -> BlockReader {
        BlockReader {
            run_dir: run_dir.to_path_buf(),
            covered: HashMap::new(),
            unreadable: Default::default(),
        }
    }

    /// A scenario has started: its side file, if there is one where the journal makes it, is
    /// checked for bytes no block covers even if no block names it.
    pub fn expect_file(&mut self, scenario: &str) {
        let path = format!("{DIR}/{}.csv", sample_csv::file_stem(scenario));
        if !self.covered.contains_key(&path) && self.run_dir.join(&path).is_file() {
            self.covered.insert(
                path,
                Coverage {
                    end: sample_csv::header().len() as u64,
                    next_line: 2,
                },
            );
        }
    }

    /// The samples of a block, and what is wrong with it (each naming the side file and line).
    /// Samples are returned even when the block does not check out, as far as they parse.
    pub fn read(&mut self, block: &SampleBlock) -> (Vec<Sample>, Vec<String>) {
        let mut problems = Vec::new();
        let name = &block.file;
        if !is_inside(name) {
            problems.push(format!(
                "sample block names {name:?}, which is not a file inside the run directory"
            ));
            return (Vec::new(), problems);
        }
        let header_len = sample_csv::header().len() as u64;
        let coverage = self.covered.entry(name.clone()).or_insert(Coverage {
            end: header_len,
            next_line: 2,
        });
        if block.offset > coverage.end {
            problems.push(format!(
                "{name} line {}: bytes {}..{} are not covered by any sample block",
                coverage.next_line, coverage.end, block.offset
            ));
        } else if block.offset < coverage.end {
            problems.push(format!(
                "{name} line {}: the sample block at byte {} overlaps the block before it (which ends at byte {})",
                block.first_line, block.offset, coverage.end
            ));
        } else if block.first_line != coverage.next_line {
            problems.push(format!(
                "{name}: the sample block at byte {} says it starts at line {}, but line {} starts there",
                block.offset, block.first_line, coverage.next_line
            ));
        }
        coverage.end = block.offset.saturating_add(block.length);
        coverage.next_line = block.first_line.saturating_add(block.count);
        let bytes = match self.read_bytes(block, header_len, &mut problems) {
            Some(bytes) => bytes,
            None => return (Vec::new(), problems),
        };
        let digest_ok = crate::scenario::sha256_hex(&bytes) == block.sha256;
        let mut samples = Vec::with_capacity(block.count as usize);
        let mut edited = None;
        let lines = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let mut count = 0;
        for (i, line) in lines.split(|b| *b == b'\n').enumerate() {
            count += 1;
            let number = block.first_line + i as u64;
            let tag = block.line_tags.get(4 * i..4 * i + 4);
            let mut own = String::with_capacity(4);
            if !digest_ok && edited.is_none() {
                sample_csv::push_tag(&mut own, line);
                if tag != Some(own.as_str()) {
                    edited = Some(number);
                }
            }
            match sample_csv::parse_line(line) {
                Ok(sample) => samples.push(sample),
                Err(what) => {
                    problems.push(format!("{name} line {number}: does not parse ({what})"))
                }
            }
        }
        if !bytes.ends_with(b"\n") {
            problems.push(format!(
                "{name} line {}: the sample block does not end with a whole line",
                block.first_line + count.max(1) - 1
            ));
        }
        if !digest_ok {
            let last = block.first_line + block.count.max(1) - 1;
            problems.push(match edited {
                Some(line) => format!(
                    "{name} line {line}: changed (the sample block's bytes do not hash to its record's SHA-256)"
                ),
                None => format!(
                    "{name} lines {}-{last}: changed (the sample block's bytes do not hash to its record's SHA-256)",
                    block.first_line
                ),
            });
        } else if count != block.count
            || samples.first().map(|s| s.t_ms) != Some(block.first_t_ms)
            || samples.last().map(|s| s.t_ms) != Some(block.last_t_ms)
        {
            problems.push(format!(
                "{name} line {}: the sample block's count or times differ from the samples it holds",
                block.first_line
            ));
        }
        (samples, problems)
    }

    fn read_bytes(
        &mut self,
        block: &SampleBlock,
        header_len: u64,
        problems: &mut Vec<String>,
    ) -> Option<Vec<u8>> {
        let name = &block.file;
        let mut file = match File::open(self.run_dir.join(name)) {
            Ok(file) => file,
            Err(e) => {
                if self.unreadable.insert(name.clone()) {
                    problems.push(format!(
                        "{name}: cannot be read ({e}); the record's sample blocks name it"
                    ));
                }
                return None;
            }
        };
        if block.offset == header_len {
            let mut header = vec![0; header_len as usize];
            let same =
                file.read_exact(&mut header).is_ok() && header == sample_csv::header().as_bytes();
            if !same {
                problems.push(format!("{name} line 1: changed (not the trace header)"));
            }
        }
        let mut bytes = vec![0; block.length as usize];
        let read = file
            .seek(SeekFrom::Start(block.offset))
            .and_then(|_| read_up_to(&mut file, &mut bytes));
        match read {
            Ok(n) if n == bytes.len() => Some(bytes),
            Ok(n) => {
                problems.push(format!(
                    "{name} line {}: the file ends {} bytes short of the sample block that starts here (cut short or truncated)",
                    block.first_line,
                    bytes.len() - n
                ));
                None
            }
            Err(e) => {
                problems.push(format!("{name}: cannot be read ({e})"));
                None
            }
        }
    }

    /// Side files with bytes after the last block that covers them, by file name.
    pub fn uncovered(&self) -> Vec<Uncovered> {
        let mut out = Vec::new();
        for (name, coverage) in &self.covered {
            let Ok(mut file) = File::open(self.run_dir.join(name)) else {
                continue;
            };
            let mut tail = Vec::new();
            let read = file
                .seek(SeekFrom::Start(coverage.end))
                .and_then(|_| file.read_to_end(&mut tail));
            if read.is_ok() && !tail.is_empty() {
                out.push(Uncovered {
                    file: name.clone(),
                    from_line: coverage.next_line,
                    bytes: tail.len() as u64,
                    samples: tail.iter().filter(|b| **b == b'\n').count() as u64,
                });
            }
        }
        out.sort_by(|a, b| a.file.cmp(&b.file));
        out
    }
}

/// Reads as much of `buf` as the file holds.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(samples: u64) -> (tempfile::TempDir, Vec<SampleBlock>) {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BlockWriter::new(dir.path());
        writer.open("s").unwrap();
        let mut blocks = Vec::new();
        for t in 0..samples {
            writer.push("s", &Sample::running_at(t * 1000)).unwrap();
            if t % 3 == 2 {
                blocks.extend(writer.close("s").unwrap());
            }
        }
        blocks.extend(writer.close("s").unwrap());
        (dir, blocks)
    }

    #[test]
    fn blocks_read_back_as_their_samples_and_cover_the_file() {
        let (dir, blocks) = written(7);
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[1].first_line, 5);
        let mut reader = BlockReader::new(dir.path());
        let mut times = Vec::new();
        for block in &blocks {
            let (samples, problems) = reader.read(block);
            assert!(problems.is_empty(), "{problems:?}");
            times.extend(samples.iter().map(|s| s.t_ms));
        }
        assert_eq!(times, (0..7).map(|t| t * 1000).collect::<Vec<_>>());
        assert!(reader.uncovered().is_empty());
    }

    #[test]
    fn an_edited_byte_is_named_by_file_and_line() {
        let (dir, blocks) = written(7);
        let path = dir.path().join("traces/s.csv");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("4000,4000", "4000,4001", 1)).unwrap();
        let mut reader = BlockReader::new(dir.path());
        let problems: Vec<String> = blocks.iter().flat_map(|b| reader.read(b).1).collect();
        assert_eq!(
            problems,
            ["traces/s.csv line 6: changed (the sample block's bytes do not hash to its record's SHA-256)"]
        );
    }

    #[test]
    fn a_cut_file_and_bytes_past_the_last_block_are_found() {
        let (dir, blocks) = written(7);
        let path = dir.path().join("traces/s.csv");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 10);
        std::fs::write(&path, &bytes).unwrap();
        let mut reader = BlockReader::new(dir.path());
        let problems = reader.read(&blocks[2]).1;
        assert!(
            problems.iter().any(|p| p.contains("line 8: the file ends")),
            "{problems:?}"
        );
        let mut reader = BlockReader::new(dir.path());
        reader.read(&blocks[0]);
        assert_eq!(
            reader.uncovered(),
            [Uncovered {
                file: "traces/s.csv".into(),
                from_line: 5,
                bytes: bytes.len() as u64 - blocks[1].offset,
                samples: 3,
            }]
        );
    }
}
