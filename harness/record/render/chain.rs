//! Locating tampering in `events.jsonl`: which line was changed, added or removed, from the hash chain.
//!
//! `journal::read` reports a broken link at the line that holds the stale hash, which is one line
//! after the edit. Verification has to name the edited line, so it looks at the neighbouring links
//! too: an edited record breaks only the link after it; an edited `prev` field breaks the links
//! on both sides; an inserted line is skipped over by its successor; a removal makes `seq` jump.

use crate::record::journal::Record;
use crate::scenario::{digest_from_hex, sha256};
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};
use std::io::BufRead;

/// The hash the first record links to (`journal::GENESIS_HASH`), as bytes.
const GENESIS: [u8; 32] = [0; 32];

/// The chain fields alone, readable even when the event in a line no longer parses.
#[derive(Deserialize)]
struct LinkFields {
    seq: u64,
    prev: String,
}

/// A line's link: its sequence number and the hash it names for the line before (`None`: not a
/// digest as the journal writes one, so it links to nothing).
struct Link {
    seq: u64,
    prev: Option<[u8; 32]>,
}

struct Line {
    number: usize,
    hash: [u8; 32],
    link: Option<Link>,
    parse_error: Option<String>,
}

/// One non-empty line of `events.jsonl` as the chain check read it, for whoever reads the record
/// in the same pass (`verify` checks signatures and re-derives verdicts from it).
pub struct LineRead {
    pub number: usize,
    /// SHA-256 of the line's bytes, without its newline.
    pub hash: [u8; 32],
    /// Whether the line is UTF-8 text.
    pub utf8: bool,
    /// The record, when the line parses.
    pub record: Option<Record>,
}

/// What the chain check found: record count, the line cut short at the end, problems by line.
#[derive(Debug, Default)]
pub struct ChainCheck {
    pub records: usize,
    pub truncated_at_line: Option<usize>,
    /// (line number, what is wrong), sorted by line number.
    pub problems: Vec<(usize, String)>,
}

fn parse(number: usize, raw: &[u8]) -> (Line, Option<Record>) {
    let hash = sha256(raw);
    match crate::record::journal::parse_record(raw) {
        Ok(record) => {
            let link = Link {
                seq: record.seq,
                prev: digest_from_hex(&record.prev),
            };
            let line = Line {
                number,
                hash,
                link: Some(link),
                parse_error: None,
            };
            (line, Some(record))
        }
        Err(e) => {
            let link = serde_json::from_slice::<LinkFields>(raw)
                .ok()
                .map(|l| Link {
                    seq: l.seq,
                    prev: digest_from_hex(&l.prev),
                });
            let line = Line {
                number,
                hash,
                link,
                parse_error: Some(e.to_string()),
            };
            (line, None)
        }
    }
}

/// Checks the chain and sequence of the bytes of an `events.jsonl`.
pub fn check(bytes: &[u8]) -> ChainCheck {
    // Reading from memory cannot fail.
    check_reader(bytes).unwrap_or_default()
}

/// Checks an `events.jsonl` on disk, a line at a time: a year-long record is checked in the
/// memory of four lines.
pub fn check_file(path: &std::path::Path) -> std::io::Result<ChainCheck> {
    check_reader(std::io::BufReader::with_capacity(
        1 << 16,
        std::fs::File::open(path)?,
    ))
}

/// The lines a verdict needs: judging line k looks back two lines (an added line is skipped
/// over by its successor) and ahead one (an edited record breaks the next line's link).
struct Window {
    lines: VecDeque<Line>,
    blamed: VecDeque<bool>,
    /// Position in the whole record of `lines[0]`.
    first: usize,
    expected_seq: u64,
    problems: BTreeMap<usize, String>,
}

impl Window {
    fn hash_before(&self, k: usize) -> [u8; 32] {
        if k + self.first == 0 {
            GENESIS
        } else {
            self.lines[k - 1].hash
        }
    }

    fn link_ok(&self, k: usize) -> bool {
        let expected = self.hash_before(k);
        self.lines[k]
            .link
            .as_ref()
            .is_some_and(|l| l.prev == Some(expected))
    }

    /// Judges `lines[k]`, whose successor (if any) is `lines[k + 1]`.
    fn judge(&mut self, k: usize) {
        let position = k + self.first;
        let line = &self.lines[k];
        let seq = line.link.as_ref().map(|l| l.seq);
        let expected_here = self.expected_seq;
        self.expected_seq = seq.unwrap_or(expected_here) + 1;
        if let Some(err) = &line.parse_error {
            self.problems
                .insert(line.number, format!("changed (does not parse: {err})"));
            self.blamed[k] = true;
            return;
        }
        let seq_jump = seq.filter(|s| *s != expected_here);
        if self.link_ok(k) {
            if let Some(s) = seq_jump {
                self.problems.insert(
                    line.number,
                    format!("sequence {s} where {expected_here} was expected, though the hash chain links (the chain was rewritten)"),
                );
            }
            return;
        }
        if position > 0 && self.blamed[k - 1] {
            return;
        }
        let prev = line.link.as_ref().and_then(|l| l.prev);
        let skips_one = match position {
            0 => false,
            1 => prev == Some(GENESIS),
            _ => prev == Some(self.lines[k - 2].hash),
        };
        let next_broken = k + 1 < self.lines.len() && !self.link_ok(k + 1);
        let number = line.number;
        if skips_one {
            let skipped_to = if position >= 2 {
                self.lines[k - 2].number
            } else {
                0
            };
            self.problems.insert(
                self.lines[k - 1].number,
                format!(
                    "added (hash chain broken: line {number} links to line {skipped_to}, skipping this one)"
                ),
            );
            self.blamed[k - 1] = true;
        } else if next_broken {
            self.problems.insert(
                number,
                "changed (hash chain broken: its link to the line before and the next line's link to it both fail)".into(),
            );
            self.blamed[k] = true;
        } else if let Some(s) = seq_jump.filter(|s| *s > expected_here) {
            self.problems.insert(
                number,
                format!(
                    "{} record(s) removed before this line (hash chain broken; sequence jumps to {s} where {expected_here} was expected)",
                    s - expected_here
                ),
            );
        } else if position == 0 {
            self.problems.insert(
                number,
                "changed (hash chain broken: the first record does not start from the genesis hash)"
                    .into(),
            );
            self.blamed[k] = true;
        } else {
            self.problems.insert(
                self.lines[k - 1].number,
                format!("changed (hash chain broken: line {number} holds a different hash for it)"),
            );
            self.blamed[k - 1] = true;
        }
    }

    /// Keeps the two lines before `lines[k]` and what follows; drops the rest.
    fn forget_before(&mut self, k: usize) {
        let drop = k.saturating_sub(2);
        self.lines.drain(..drop);
        self.blamed.drain(..drop);
        self.first += drop;
    }
}

/// Checks the chain and sequence of an `events.jsonl` read line by line.
pub fn check_reader(input: impl BufRead) -> std::io::Result<ChainCheck> {
    check_reader_each(input, |_| {})
}

/// `check_file`, handing every non-empty line to `each` as it passes (the last line cut short
/// included), so that the record is read, hashed and parsed once for everything `verify` checks.
pub fn check_file_each(
    path: &std::path::Path,
    each: impl FnMut(LineRead),
) -> std::io::Result<ChainCheck> {
    check_reader_each(
        std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(path)?),
        each,
    )
}

/// `check_reader`, handing every non-empty line to `each` as it passes.
pub fn check_reader_each(
    mut input: impl BufRead,
    mut each: impl FnMut(LineRead),
) -> std::io::Result<ChainCheck> {
    let mut out = ChainCheck::default();
    let mut window = Window {
        lines: VecDeque::new(),
        blamed: VecDeque::new(),
        first: 0,
        expected_seq: 0,
        problems: BTreeMap::new(),
    };
    let mut number = 0;
    let mut raw = Vec::new();
    loop {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        number += 1;
        let terminated = raw.last() == Some(&b'\n');
        if terminated {
            raw.pop();
        }
        if raw.is_empty() {
            window.problems.insert(
                number,
                "empty line (added: the journal never writes one)".into(),
            );
            continue;
        }
        let (line, record) = parse(number, &raw);
        each(LineRead {
            number,
            hash: line.hash,
            utf8: std::str::from_utf8(&raw).is_ok(),
            record,
        });
        if line.parse_error.is_some() && !terminated {
            // A kill -9 in the middle of a write: not tampering, and nothing follows it.
            out.truncated_at_line = Some(number);
            continue;
        }
        if line.parse_error.is_none() {
            out.records += 1;
        }
        window.lines.push_back(line);
        window.blamed.push_back(false);
        if window.lines.len() >= 2 {
            let k = window.lines.len() - 2;
            window.judge(k);
            window.forget_before(k + 1);
        }
    }
    if !window.lines.is_empty() {
        let k = window.lines.len() - 1;
        window.judge(k);
    }
    out.problems = window.problems.into_iter().collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::journal::{sha256_line, GENESIS_HASH};
    use crate::scenario::digest::hex;

    /// A valid chain of `n` minimal lines (events that parse: RunFinished).
    fn chain(n: usize) -> Vec<String> {
        let mut prev = GENESIS_HASH.to_string();
        (0..n)
            .map(|seq| {
                let line = format!(
                    r#"{{"seq":{seq},"prev":"{prev}","at_utc":"2026-01-01T00:00:00Z","type":"run_finished","finished_utc":"x","exit_code":0,"passed":{seq},"failed":0,"incomplete":0,"errors":0}}"#
                );
                prev = sha256_line(&line);
                line
            })
            .collect()
    }

    fn bytes(lines: &[String]) -> Vec<u8> {
        lines
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn each_non_empty_line_is_handed_on_once_with_its_hash_and_record() {
        let mut lines = chain(4);
        lines[2] = lines[2].replacen('{', "[", 1);
        let mut raw = bytes(&lines);
        raw.extend_from_slice(b"\n{\"seq\":4,\"pre");
        let mut seen = Vec::new();
        let found = check_reader_each(raw.as_slice(), |line| {
            seen.push((
                line.number,
                hex(&line.hash),
                line.utf8,
                line.record.map(|r| r.seq),
            ))
        })
        .unwrap();
        assert_eq!(found.truncated_at_line, Some(6));
        let expected: Vec<_> = [(1, 0), (2, 1), (3, 2), (4, 3), (6, 4)]
            .into_iter()
            .map(|(number, index)| {
                let text = if index < 4 {
                    lines[index].clone()
                } else {
                    "{\"seq\":4,\"pre".to_string()
                };
                let parsed = (index != 2 && index < 4).then_some(index as u64);
                (number, sha256_line(&text), true, parsed)
            })
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn an_intact_chain_has_no_problems() {
        let found = check(&bytes(&chain(5)));
        assert_eq!(found.records, 5);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
    }

    #[test]
    fn an_edited_record_is_named_not_its_successor() {
        let mut lines = chain(5);
        lines[2] = lines[2].replace("\"passed\":2", "\"passed\":9");
        let found = check(&bytes(&lines));
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert_eq!(found.problems[0].0, 3);
        assert!(found.problems[0].1.starts_with("changed"));
    }

    #[test]
    fn an_edited_prev_field_names_that_line() {
        let mut lines = chain(5);
        lines[2] = lines[2].replacen("\"prev\":\"", "\"prev\":\"f", 1);
        let found = check(&bytes(&lines));
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert_eq!(found.problems[0].0, 3);
    }

    #[test]
    fn a_line_that_no_longer_parses_is_named() {
        let mut lines = chain(4);
        lines[1] = lines[1].replacen('{', "[", 1);
        let found = check(&bytes(&lines));
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert_eq!(found.problems[0].0, 2);
        assert!(found.problems[0].1.contains("does not parse"));
    }

    #[test]
    fn a_removed_record_is_named_once() {
        let mut lines = chain(6);
        lines.remove(3);
        let found = check(&bytes(&lines));
        assert_eq!(
            found.problems,
            vec![(
                4,
                "1 record(s) removed before this line (hash chain broken; sequence jumps to 4 where 3 was expected)".to_string()
            )]
        );
    }

    #[test]
    fn a_duplicated_record_is_named_as_added() {
        let mut lines = chain(5);
        let copy = lines[2].clone();
        lines.insert(3, copy);
        let found = check(&bytes(&lines));
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert!(found.problems[0].1.starts_with("added"));
    }

    #[test]
    fn a_last_line_cut_short_is_a_truncation_not_a_problem() {
        let lines = chain(3);
        let mut raw = bytes(&lines);
        raw.extend_from_slice(b"{\"seq\":3,\"pre");
        let found = check(&raw);
        assert_eq!(found.truncated_at_line, Some(4));
        assert_eq!(found.records, 3);
        assert!(found.problems.is_empty(), "{:?}", found.problems);
    }

    #[test]
    fn an_edited_first_record_is_named() {
        let mut lines = chain(5);
        lines[0] = lines[0].replace("\"passed\":0", "\"passed\":7");
        let found = check(&bytes(&lines));
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert_eq!(found.problems[0].0, 1);
        assert!(found.problems[0].1.starts_with("changed"));
    }

    #[test]
    fn a_line_added_far_into_a_long_record_is_named_from_a_file() {
        let mut lines = chain(2000);
        let copy = lines[1500].clone();
        lines.insert(1501, copy);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, bytes(&lines)).unwrap();
        let found = check_file(&path).unwrap();
        assert_eq!(found.records, 2001);
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        // The copy and the original are the same bytes: the chain can only say that one of
        // lines 1501 and 1502 is extra, and names the first.
        assert_eq!(found.problems[0].0, 1501);
        assert!(found.problems[0].1.starts_with("added"));
    }
}
