//! Locating tampering in `events.jsonl`: which line was changed, added or removed, from the hash chain.
//!
//! `journal::read` reports a broken link at the line that holds the stale hash, which is one line
//! after the edit. Verification has to name the edited line, so it looks at the neighbouring links
//! too: an edited record breaks only the link after it; an edited `prev` field breaks the links
//! on both sides; an inserted line is skipped over by its successor; a removal makes `seq` jump.

use crate::record::journal::{Record, GENESIS_HASH};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The chain fields alone, readable even when the event in a line no longer parses.
#[derive(Deserialize)]
struct Link {
    seq: u64,
    prev: String,
}

struct Line {
    number: usize,
    hash: String,
    link: Option<Link>,
    parse_error: Option<String>,
}

/// What the chain check found: record count, the line cut short at the end, problems by line.
#[derive(Debug, Default)]
pub struct ChainCheck {
    pub records: usize,
    pub truncated_at_line: Option<usize>,
    /// (line number, what is wrong), sorted by line number.
    pub problems: Vec<(usize, String)>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse(number: usize, raw: &[u8]) -> Line {
    let hash = sha256_hex(raw);
    let parse_error = match serde_json::from_slice::<Record>(raw) {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    Line {
        number,
        hash,
        link: serde_json::from_slice::<Link>(raw).ok(),
        parse_error,
    }
}

/// Checks the chain and sequence of the bytes of an `events.jsonl`.
pub fn check(bytes: &[u8]) -> ChainCheck {
    let mut out = ChainCheck::default();
    let mut problems: BTreeMap<usize, String> = BTreeMap::new();
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let pieces: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // A file that ends in a newline splits into a last, empty piece that is not a line.
    let piece_count = if ends_with_newline {
        pieces.len() - 1
    } else {
        pieces.len()
    };
    let mut lines: Vec<Line> = Vec::new();
    for (i, raw) in pieces.iter().take(piece_count).enumerate() {
        let number = i + 1;
        if raw.is_empty() {
            problems.insert(
                number,
                "empty line (added: the journal never writes one)".into(),
            );
            continue;
        }
        let line = parse(number, raw);
        if line.parse_error.is_some() && number == piece_count && !ends_with_newline {
            // A kill -9 in the middle of a write: not tampering, and nothing follows it.
            out.truncated_at_line = Some(number);
            continue;
        }
        lines.push(line);
    }
    out.records = lines.iter().filter(|l| l.parse_error.is_none()).count();

    let link_ok = |k: usize| -> bool {
        let expected = if k == 0 {
            GENESIS_HASH
        } else {
            lines[k - 1].hash.as_str()
        };
        lines[k].link.as_ref().is_some_and(|l| l.prev == expected)
    };
    // Lines already named as changed or added: the broken link after them is explained.
    let mut blamed = vec![false; lines.len()];
    let mut expected_seq = 0u64;
    for k in 0..lines.len() {
        let line = &lines[k];
        let seq = line.link.as_ref().map(|l| l.seq);
        let expected_here = expected_seq;
        expected_seq = seq.unwrap_or(expected_here) + 1;
        if let Some(err) = &line.parse_error {
            problems.insert(line.number, format!("changed (does not parse: {err})"));
            blamed[k] = true;
            continue;
        }
        let seq_jump = seq.filter(|s| *s != expected_here);
        if link_ok(k) {
            if let Some(s) = seq_jump {
                problems.insert(
                    line.number,
                    format!("sequence {s} where {expected_here} was expected, though the hash chain links (the chain was rewritten)"),
                );
            }
            continue;
        }
        if k > 0 && blamed[k - 1] {
            continue;
        }
        let prev = line.link.as_ref().map(|l| l.prev.as_str()).unwrap_or("");
        let skips_one = match k {
            0 => false,
            1 => prev == GENESIS_HASH,
            _ => prev == lines[k - 2].hash,
        };
        let next_broken = k + 1 < lines.len() && !link_ok(k + 1);
        if skips_one {
            let skipped_to = if k >= 2 { lines[k - 2].number } else { 0 };
            problems.insert(
                lines[k - 1].number,
                format!(
                    "added (hash chain broken: line {} links to line {skipped_to}, skipping this one)",
                    line.number
                ),
            );
            blamed[k - 1] = true;
        } else if next_broken {
            problems.insert(
                line.number,
                "changed (hash chain broken: its link to the line before and the next line's link to it both fail)".into(),
            );
            blamed[k] = true;
        } else if let Some(s) = seq_jump.filter(|s| *s > expected_here) {
            problems.insert(
                line.number,
                format!(
                    "{} record(s) removed before this line (hash chain broken; sequence jumps to {s} where {expected_here} was expected)",
                    s - expected_here
                ),
            );
        } else if k == 0 {
            problems.insert(
                line.number,
                "changed (hash chain broken: the first record does not start from the genesis hash)"
                    .into(),
            );
            blamed[k] = true;
        } else {
            problems.insert(
                lines[k - 1].number,
                format!(
                    "changed (hash chain broken: line {} holds a different hash for it)",
                    line.number
                ),
            );
            blamed[k - 1] = true;
        }
    }
    out.problems = problems.into_iter().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::journal::sha256_line;

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
}
