//! Link faults the emulator can inject on its pump port: corrupted bytes, dropped, duplicated
//! and delayed frames, and a hang-up at a chosen device time. Seeded, so a run can be replayed.

use super::balance::Noise;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Fault rates; all zero (a clean link) by default. Plain data: the command line builds it
/// (`cli::emulator_args::LinkFaultArgs`), and so do `[link]` tables in emulator config files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkFaults {
    /// Probability that each byte, either way, is corrupted (one to eight bits flipped).
    pub corrupt_rate: f64,
    /// Probability that each frame the device sends is dropped.
    pub drop_rate: f64,
    /// Probability that each frame the device sends is sent twice.
    pub duplicate_rate: f64,
    /// Probability that an answer is held back by `delay_ms`.
    pub delay_rate: f64,
    pub delay_ms: u64,
    /// The device hangs up (closes its port) once its clock reaches this time.
    pub hangup_at_ms: Option<u64>,
    /// The port is unplugged once the device's clock reaches this time, and plugged back in
    /// (under the same path) `unplug_for_ms` of wall time later; the pump keeps its state.
    pub unplug_at_ms: Option<u64>,
    pub unplug_for_ms: u64,
    pub seed: u64,
}

impl Default for LinkFaults {
    fn default() -> Self {
        LinkFaults {
            corrupt_rate: 0.0,
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            delay_rate: 0.0,
            delay_ms: 0,
            hangup_at_ms: None,
            unplug_at_ms: None,
            unplug_for_ms: 1000,
            seed: 0,
        }
    }
}

impl LinkFaults {
    /// A fault rate as read from the command line: a probability from 0 to 1.
    pub fn parse_rate(text: &str) -> Result<f64, String> {
        match text.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
            _ => Err(format!(
                "{text:?} is not a probability; give a number from 0 to 1 (0.01 is one in a hundred)"
            )),
        }
    }

    pub fn is_clean(&self) -> bool {
        self.corrupt_rate <= 0.0
            && self.drop_rate <= 0.0
            && self.duplicate_rate <= 0.0
            && self.delay_rate <= 0.0
            && self.hangup_at_ms.is_none()
            && self.unplug_at_ms.is_none()
    }
}

/// Applies `LinkFaults` to the bytes crossing the device's port.
pub struct FaultInjector {
    faults: LinkFaults,
    rng: Noise,
    unplugged: bool,
}

impl FaultInjector {
    pub fn new(faults: LinkFaults) -> FaultInjector {
        let rng = Noise::new(faults.seed ^ 0x5EED_F417);
        FaultInjector {
            faults,
            rng,
            unplugged: false,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.uniform() < p
    }

    fn corrupt(&mut self, bytes: &mut [u8]) {
        for b in bytes.iter_mut() {
            if self.chance(self.faults.corrupt_rate) {
                *b ^= ((self.rng.uniform() * 255.0) as u8).max(1);
            }
        }
    }

    /// Bytes the host sent, as the device receives them.
    pub fn incoming(&mut self, bytes: &mut [u8]) {
        self.corrupt(bytes);
    }

    /// Bytes the device sends, as they reach the host, and how long to hold them first.
    pub fn outgoing(&mut self, bytes: &[u8]) -> (Vec<u8>, Option<Duration>) {
        let mut out = Vec::with_capacity(bytes.len() + 16);
        for frame in bytes.split_inclusive(|b| *b == 0) {
            if self.chance(self.faults.drop_rate) {
                continue;
            }
            let copies = if self.chance(self.faults.duplicate_rate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let mut f = frame.to_vec();
                self.corrupt(&mut f);
                out.extend_from_slice(&f);
            }
        }
        let delay = self
            .chance(self.faults.delay_rate)
            .then(|| Duration::from_millis(self.faults.delay_ms));
        (out, delay)
    }

    /// True once: the first time the device's clock has reached the unplug time.
    pub fn unplugs_at(&mut self, device_time_ms: u64) -> Option<Duration> {
        let due = !self.unplugged
            && self
                .faults
                .unplug_at_ms
                .is_some_and(|t| device_time_ms >= t);
        self.unplugged |= due;
        due.then(|| Duration::from_millis(self.faults.unplug_for_ms))
    }

    pub fn hangs_up_at(&self, device_time_ms: u64) -> bool {
        self.faults
            .hangup_at_ms
            .is_some_and(|t| device_time_ms >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_link_changes_nothing() {
        let mut f = FaultInjector::new(LinkFaults::default());
        let (out, delay) = f.outgoing(b"\x03\x01\x01\x00\x02\x05\x00");
        assert_eq!(out, b"\x03\x01\x01\x00\x02\x05\x00");
        assert_eq!(delay, None);
    }

    #[test]
    fn rates_act_at_about_their_probability_and_replay_from_the_seed() {
        let faults = LinkFaults {
            drop_rate: 0.1,
            corrupt_rate: 0.01,
            seed: 9,
            ..LinkFaults::default()
        };
        let frames: Vec<u8> = (0..10_000)
            .flat_map(|_| [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 0])
            .collect();
        let (a, _) = FaultInjector::new(faults.clone()).outgoing(&frames);
        let (b, _) = FaultInjector::new(faults).outgoing(&frames);
        assert_eq!(a, b, "same seed, same faults");
        let kept = a.len() / 10;
        assert!(
            (8_700..9_300).contains(&kept),
            "about 10 % of frames dropped: kept {kept}"
        );
        let damaged = a
            .chunks(10)
            .filter(|c| c != &[1u8, 2, 3, 4, 5, 6, 7, 8, 9, 0])
            .count();
        assert!(
            (700..1_200).contains(&damaged),
            "about 1 % of bytes corrupted: {damaged} frames damaged"
        );
    }
}
