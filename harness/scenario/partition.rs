//! `run --partition K/N`: which share of a set of scenarios one machine runs.
//!
//! The set is sorted by scenario id and the K-th share is every scenario whose position in
//! that order, counted from 0, is K-1 modulo N: the same files give the same shares on every
//! machine, whatever order they were named in, and negative controls are shared out like any
//! other scenario. The set's digest (each id with its file's SHA-256) goes in the record, so
//! `pumphil merge` can tell parts of one set from parts of another.

use super::Scenario;

/// K of N, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionSpec {
    pub index: usize,
    pub count: usize,
}

impl PartitionSpec {
    /// Parses `K/N` with 1 <= K <= N (the command line's value parser).
    pub fn parse(text: &str) -> Result<PartitionSpec, String> {
        let wrong = || {
            format!("'{text}' is not K/N with 1 <= K <= N, e.g. 2/3 for the second of three shares")
        };
        let (k, n) = text.trim().split_once('/').ok_or_else(wrong)?;
        let index: usize = k.trim().parse().map_err(|_| wrong())?;
        let count: usize = n.trim().parse().map_err(|_| wrong())?;
        if index == 0 || count == 0 || index > count {
            return Err(wrong());
        }
        Ok(PartitionSpec { index, count })
    }
}

impl std::fmt::Display for PartitionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The whole set's digest: SHA-256 of `<id>  <file SHA-256>\n` per scenario, sorted by id.
pub fn set_sha256(scenarios: &[Scenario]) -> String {
    let mut lines: Vec<String> = scenarios
        .iter()
        .map(|s| format!("{}  {}\n", s.id, s.sha256))
        .collect();
    lines.sort();
    super::sha256_hex(lines.concat().as_bytes())
}

/// The share `spec` names, in the order the scenarios were given.
pub fn share(scenarios: Vec<Scenario>, spec: PartitionSpec) -> Vec<Scenario> {
    let mut ids: Vec<&str> = scenarios.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    let chosen: std::collections::BTreeSet<String> = ids
        .iter()
        .enumerate()
        .filter(|(position, _)| position % spec.count == spec.index - 1)
        .map(|(_, id)| id.to_string())
        .collect();
    scenarios
        .into_iter()
        .filter(|s| chosen.contains(&s.id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_of_n_is_read_and_nonsense_is_refused() {
        assert_eq!(
            PartitionSpec::parse("2/3"),
            Ok(PartitionSpec { index: 2, count: 3 })
        );
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "/2"] {
            assert!(PartitionSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shares_of_a_set_cover_it_once_whatever_order_it_was_given_in() {
        let dir = std::path::Path::new("scenarios");
        let mut all = crate::scenario::paths::expand_and_load(&[dir.to_path_buf()])
            .expect("the shipped scenarios load");
        let whole: Vec<String> = {
            let mut ids: Vec<String> = all.iter().map(|s| s.id.clone()).collect();
            ids.sort();
            ids
        };
        let digest = set_sha256(&all);
        let mut seen = Vec::new();
        for index in 1..=3 {
            let part = share(all.clone(), PartitionSpec { index, count: 3 });
            assert!(!part.is_empty());
            seen.extend(part.into_iter().map(|s| s.id));
        }
        seen.sort();
        assert_eq!(seen, whole);
        all.reverse();
        assert_eq!(
            set_sha256(&all),
            digest,
            "the digest ignores the order given"
        );
        let reversed = share(all, PartitionSpec { index: 1, count: 3 });
        let mut first: Vec<String> = reversed.into_iter().map(|s| s.id).collect();
        first.sort();
        assert_eq!(first, whole.iter().step_by(3).cloned().collect::<Vec<_>>());
    }
}
