//! The emulated analytical balance: MT-SICS commands, weighing what left the catheter tip.

use super::config::BalanceParams;
use super::device::Device;
use crate::link::BoxLink;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// SplitMix64: a tiny, well-known generator; enough for reproducible reading noise.
#[derive(Debug, Clone)]
pub struct Noise {
    state: u64,
}

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform sample in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box-Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// MT-SICS weight values are right-aligned in a 10-character field (`S S     1.0046 g`).
pub const VALUE_WIDTH: usize = 10;

/// What the balance does in answer to one command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Lines(Vec<String>),
    /// SIR: send a reading now and repeatedly until the next command.
    Repeat,
}

/// The MT-SICS command processor: pure, so its replies can be tested line by line.
///
/// What it shows is the pan's mass (tip volume × density, less what evaporated since device
/// time 0) plus the balance's own drift, less zero and tare, plus repeatability noise, rounded
/// to the readability step. Device time comes from `set_clock`.
///
/// A reading is dynamic (`S D`) when the mass changed since the previous reading (with dynamic
/// detection on, in real time) or within `settle_ms` of the reading that first saw it change
/// (in either time mode). `S` answers at once with `S D` while settling, where a real balance
/// would wait for stability; `SI` is always immediate.
pub struct BalanceModel {
    params: BalanceParams,
    zero_g: f64,
    tare_g: f64,
    noise: Option<Noise>,
    software: String,
    dynamic_detection: bool,
    last_tip_nl: Option<u64>,
    now_ms: u64,
    /// Device time of the reading that first saw the current mass.
    changed_at_ms: Option<u64>,
}

impl BalanceModel {
    pub fn new(params: BalanceParams) -> BalanceModel {
        let noise = (params.noise_mg > 0.0).then(|| Noise::new(params.noise_seed.unwrap_or(0)));
        BalanceModel {
            params,
            zero_g: 0.0,
            tare_g: 0.0,
            noise,
            software: format!("emu-{}", crate::VERSION),
            dynamic_detection: false,
            last_tip_nl: None,
            now_ms: 0,
            changed_at_ms: None,
        }
    }

    /// Turns dynamic detection on (real time) or off (virtual time: only settling is dynamic).
    pub fn with_dynamic_detection(mut self, on: bool) -> BalanceModel {
        self.dynamic_detection = on;
        self
    }

    /// The device time of the next commands, for drift, evaporation and settling.
    pub fn set_clock(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    /// Whether the reading is dynamic; remembers the mass this reading saw.
    fn moved(&mut self, tip_nl: u64) -> bool {
        let moved = self.last_tip_nl.is_some_and(|last| last != tip_nl);
        if moved {
            self.changed_at_ms = Some(self.now_ms);
        }
        self.last_tip_nl = Some(tip_nl);
        let settling = self
            .changed_at_ms
            .is_some_and(|at| self.now_ms.saturating_sub(at) < self.params.settle_ms);
        (self.dynamic_detection && moved) || settling
    }

    /// Mass on the pan for a tip volume: volume × density, less what evaporated by now.
    pub fn gross_g(&self, tip_nl: u64) -> f64 {
        let hours = self.now_ms as f64 / 3_600_000.0;
        tip_nl as f64 * 1e-6 * self.params.density_g_per_ml
            - self.params.evaporation_mg_per_h * 1e-3 * hours
    }

    /// What the balance would show before zero, tare, noise and rounding: mass plus drift.
    fn indicated_g(&self, tip_nl: u64) -> f64 {
        let hours = self.now_ms as f64 / 3_600_000.0;
        self.gross_g(tip_nl) + self.params.drift_mg_per_h * 1e-3 * hours
    }

    fn noisy(&mut self, grams: f64) -> f64 {
        match &mut self.noise {
            Some(noise) => grams + noise.gaussian() * self.params.noise_mg * 1e-3,
            None => grams,
        }
    }

    fn round(&self, grams: f64) -> f64 {
        let step = self.params.readability_mg * 1e-3;
        (grams / step).round() * step
    }

    fn decimals(&self) -> usize {
        let step_g = self.params.readability_mg * 1e-3;
        (-step_g.log10()).ceil().max(0.0) as usize
    }

    fn weight_line(&mut self, prefix: &str, tip_nl: u64) -> String {
        let status = if self.moved(tip_nl) { "D" } else { "S" };
        let indicated = self.indicated_g(tip_nl);
        if indicated > self.params.capacity_g {
            return format!("{prefix} +");
        }
        let net = self.noisy(indicated - self.zero_g - self.tare_g);
        if net < -self.params.capacity_g {
            return format!("{prefix} -");
        }
        let value = self.round(net);
        format!(
            "{prefix} {status} {:>width$.*} g",
            self.decimals(),
            value,
            width = VALUE_WIDTH
        )
    }

    pub fn respond(&mut self, command: &str, tip_nl: u64) -> Reply {
        let command = command.trim();
        let lines = |v: Vec<String>| Reply::Lines(v);
        match command {
            "S" | "SI" => lines(vec![self.weight_line("S", tip_nl)]),
            "SIR" => Reply::Repeat,
            "Z" | "ZI" => {
                let moved = self.moved(tip_nl);
                self.zero_g = self.indicated_g(tip_nl);
                self.tare_g = 0.0;
                lines(vec![match (command, moved) {
                    ("Z", _) => "Z A".into(),
                    // ZI zeroes at once; D says it did so while the mass was moving.
                    (_, true) => "ZI D".into(),
                    _ => "ZI S".into(),
                }])
            }
            "T" | "TI" => {
                let moved = self.moved(tip_nl);
                let indicated = self.indicated_g(tip_nl);
                self.tare_g = self.round(indicated - self.zero_g);
                // TI tares at once; D says it did so while the mass was moving (as ZI).
                let status = if command == "TI" && moved { "D" } else { "S" };
                lines(vec![format!(
                    "{command} {status} {:>width$.*} g",
                    self.decimals(),
                    self.tare_g,
                    width = VALUE_WIDTH
                )])
            }
            "@" => {
                self.zero_g = 0.0;
                self.tare_g = 0.0;
                lines(vec![format!("I4 A \"{}\"", self.params.serial_number)])
            }
            "I0" => {
                let commands = [
                    "I0", "I1", "I2", "I3", "I4", "S", "SI", "SIR", "Z", "ZI", "T", "TI", "@",
                ];
                let n = commands.len();
                lines(
                    commands
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            format!("I0 {} 0 \"{c}\"", if i + 1 == n { "A" } else { "B" })
                        })
                        .collect(),
                )
            }
            "I1" => lines(vec!["I1 A \"01\" \"2.20\" \"2.20\" \"\" \"\"".into()]),
            "I2" => lines(vec![format!(
                "I2 A \"{} {:.4} g\"",
                self.params.model, self.params.capacity_g
            )]),
            "I3" => lines(vec![format!("I3 A \"{}\"", self.software)]),
            "I4" => lines(vec![format!("I4 A \"{}\"", self.params.serial_number)]),
            "" => lines(vec![]),
            _ => lines(vec!["ES".into()]),
        }
    }

    /// A reading for SIR repeats.
    pub fn repeat_line(&mut self, tip_nl: u64) -> String {
        self.weight_line("S", tip_nl)
    }
}

/// MT-SICS lines as sent: each ended with CR LF.
fn crlf_lines(lines: impl IntoIterator<Item = String>) -> String {
    lines.into_iter().map(|l| l + "\r\n").collect()
}

/// Serves MT-SICS on a link, weighing the device's catheter-tip volume; `realtime` turns on
/// dynamic (`S D`) readings. Lines may end CR LF or LF alone. `SIR` repeats the weight every
/// 100 ms of wall time in real time, and at each sample of the pump in virtual time
/// ([`super::weighings`]).
pub async fn serve_balance(
    link: BoxLink,
    device: Arc<Mutex<Device>>,
    realtime: bool,
) -> std::io::Result<()> {
    let (params, ready) = device
        .lock()
        .map(|mut d| (d.config().balance.clone(), d.weighings().ready()))
        .unwrap_or_default();
    let mut model = BalanceModel::new(params).with_dynamic_detection(realtime);
    let (read, mut write) = tokio::io::split(link);
    let mut reader = BufReader::new(read);
    // Kept across a repeat that interrupts a read: the bytes of a line read so far stay in it.
    let mut line = Vec::new();
    let mut repeating = false;
    // The tip volume now, with the device clock handed to the model for drift and settling.
    let tip = |device: &Arc<Mutex<Device>>, model: &mut BalanceModel| {
        let (tip_nl, now_ms) = device
            .lock()
            .map(|d| (d.tip_nl(), d.now_ms()))
            .unwrap_or((0, 0));
        model.set_clock(now_ms);
        tip_nl
    };
    loop {
        let read = if repeating {
            tokio::select! {
                read = reader.read_until(b'\n', &mut line) => read?,
                _ = tokio::time::sleep(Duration::from_millis(100)), if realtime => {
                    let reading = {
                        let tip_nl = tip(&device, &mut model);
                        model.repeat_line(tip_nl)
                    };
                    write.write_all(format!("{reading}\r\n").as_bytes()).await?;
                    continue;
                }
                _ = ready.notified(), if !realtime => {
                    let weighings = device.lock().map(|mut d| d.weighings().take()).unwrap_or_default();
                    let lines = weighings.into_iter().map(|w| {
                        model.set_clock(w.now_ms);
                        model.repeat_line(w.tip_nl)
                    });
                    write.write_all(crlf_lines(lines).as_bytes()).await?;
                    continue;
                }
            }
        } else {
            reader.read_until(b'\n', &mut line).await?
        };
        if read == 0 {
            return Ok(());
        }
        repeating = false;
        let text = String::from_utf8_lossy(&line).to_string();
        line.clear();
        let tip_nl = tip(&device, &mut model);
        let reply = match model.respond(&text, tip_nl) {
            Reply::Lines(lines) => lines,
            Reply::Repeat => {
                repeating = true;
                vec![model.repeat_line(tip_nl)]
            }
        };
        if !realtime {
            if let Ok(mut d) = device.lock() {
                let weighings = d.weighings();
                if repeating {
                    weighings.start();
                } else {
                    weighings.stop();
                }
            }
        }
        write.write_all(crlf_lines(reply).as_bytes()).await?;
        write.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> BalanceModel {
        BalanceModel::new(BalanceParams::default())
    }

    #[test]
    fn weighs_tip_volume_times_density() {
        // 1.0 mL of 0.9 % saline at 1.0046 g/mL weighs 1.0046 g.
        let mut m = model();
        assert_eq!(
            m.respond("SI", 1_000_000),
            Reply::Lines(vec!["S S     1.0046 g".into()])
        );
    }

    #[test]
    fn zero_and_tare_shift_the_reading() {
        let mut m = model();
        assert_eq!(m.respond("Z", 500_000), Reply::Lines(vec!["Z A".into()]));
        assert_eq!(
            m.respond("S", 1_000_000),
            Reply::Lines(vec!["S S     0.5023 g".into()])
        );
        assert_eq!(
            m.respond("T", 1_000_000),
            Reply::Lines(vec!["T S     0.5023 g".into()])
        );
        assert_eq!(
            m.respond("S", 1_000_000),
            Reply::Lines(vec!["S S     0.0000 g".into()])
        );
    }

    #[test]
    fn overload_unknown_and_identity() {
        let mut m = model();
        assert_eq!(
            m.respond("S", 300_000_000),
            Reply::Lines(vec!["S +".into()])
        );
        assert_eq!(m.respond("XYZ", 0), Reply::Lines(vec!["ES".into()]));
        assert_eq!(
            m.respond("I4", 0),
            Reply::Lines(vec!["I4 A \"BAL-0001\"".into()])
        );
    }

    #[test]
    fn underload_below_minus_capacity() {
        let mut m = model();
        // Zero with 230 g on the pan (over capacity), then take it all off: net -230.9 g.
        m.respond("Z", 230_000_000);
        assert_eq!(m.respond("SI", 0), Reply::Lines(vec!["S -".into()]));
    }

    #[test]
    fn moving_mass_reads_dynamic_only_in_real_time() {
        let mut virtual_time = model();
        virtual_time.respond("SI", 0);
        assert_eq!(
            virtual_time.respond("SI", 2_500),
            Reply::Lines(vec!["S S     0.0025 g".into()])
        );
        let mut real_time = model().with_dynamic_detection(true);
        assert_eq!(
            real_time.respond("SI", 0),
            Reply::Lines(vec!["S S     0.0000 g".into()])
        );
        // One 2.5 uL stroke: 2.5e-3 mL x 1.0046 g/mL = 2.5115 mg, read as 2.5 mg to 0.1 mg.
        assert_eq!(
            real_time.respond("SI", 2_500),
            Reply::Lines(vec!["S D     0.0025 g".into()])
        );
        assert_eq!(
            real_time.respond("SI", 2_500),
            Reply::Lines(vec!["S S     0.0025 g".into()])
        );
        assert_eq!(
            real_time.respond("ZI", 5_000),
            Reply::Lines(vec!["ZI D".into()])
        );
        assert_eq!(
            real_time.respond("ZI", 5_000),
            Reply::Lines(vec!["ZI S".into()])
        );
    }

    #[test]
    fn identity_commands_and_reset() {
        let mut m = model();
        assert_eq!(
            m.respond("I2", 0),
            Reply::Lines(vec!["I2 A \"EMU-BAL 220.0000 g\"".into()])
        );
        assert_eq!(
            m.respond("I1", 0),
            Reply::Lines(vec!["I1 A \"01\" \"2.20\" \"2.20\" \"\" \"\"".into()])
        );
        let Reply::Lines(list) = m.respond("I0", 0) else {
            panic!("I0 lists commands")
        };
        assert_eq!(list.first().map(String::as_str), Some("I0 B 0 \"I0\""));
        assert_eq!(list.last().map(String::as_str), Some("I0 A 0 \"@\""));
        m.respond("T", 1_000_000);
        assert_eq!(
            m.respond("@", 1_000_000),
            Reply::Lines(vec!["I4 A \"BAL-0001\"".into()])
        );
        assert_eq!(
            m.respond("S\r\n", 1_000_000),
            Reply::Lines(vec!["S S     1.0046 g".into()])
        );
        assert_eq!(m.respond("SIR", 0), Reply::Repeat);
    }

    #[test]
    fn noise_is_reproducible_from_the_seed() {
        let params = BalanceParams {
            noise_mg: 0.5,
            noise_seed: Some(7),
            ..BalanceParams::default()
        };
        let (mut a, mut b) = (BalanceModel::new(params.clone()), BalanceModel::new(params));
        let ra: Vec<_> = (0..5).map(|_| a.respond("SI", 1_000_000)).collect();
        let rb: Vec<_> = (0..5).map(|_| b.respond("SI", 1_000_000)).collect();
        assert_eq!(ra, rb);
        assert!(ra.iter().any(|r| *r != ra[0]), "noise should vary readings");
    }

    fn with(params: BalanceParams) -> BalanceModel {
        BalanceModel::new(params)
    }

    #[test]
    fn readability_step_sets_the_rounding_and_the_decimals() {
        // 1.0 mL of saline is 1.0046 g; a 1 mg balance shows 1.005 g, a 0.01 mg one 1.00460 g.
        let mut coarse = with(BalanceParams {
            readability_mg: 1.0,
            ..BalanceParams::default()
        });
        assert_eq!(
            coarse.respond("SI", 1_000_000),
            Reply::Lines(vec!["S S      1.005 g".into()])
        );
        let mut fine = with(BalanceParams {
            readability_mg: 0.01,
            ..BalanceParams::default()
        });
        assert_eq!(
            fine.respond("SI", 1_000_000),
            Reply::Lines(vec!["S S    1.00460 g".into()])
        );
    }

    #[test]
    fn evaporation_takes_mass_off_the_pan_by_the_hour() {
        // 2 mg/h for 90 min is 3.0 mg: 1.0046 g − 0.0030 g = 1.0016 g.
        let mut m = with(BalanceParams {
            evaporation_mg_per_h: 2.0,
            ..BalanceParams::default()
        });
        m.set_clock(90 * 60_000);
        assert_eq!(
            m.respond("SI", 1_000_000),
            Reply::Lines(vec!["S S     1.0016 g".into()])
        );
        assert!((m.gross_g(1_000_000) - 1.0016).abs() < 1e-12);
    }

    #[test]
    fn drift_moves_the_reading_but_not_the_mass() {
        // +0.4 mg/h over 2 h 30 min is +1.0 mg on the display; the mass is still 1.0046 g.
        let mut m = with(BalanceParams {
            drift_mg_per_h: 0.4,
            ..BalanceParams::default()
        });
        m.set_clock(150 * 60_000);
        assert_eq!(
            m.respond("SI", 1_000_000),
            Reply::Lines(vec!["S S     1.0056 g".into()])
        );
        assert!((m.gross_g(1_000_000) - 1.0046).abs() < 1e-12);
        // Zeroing takes the drift so far away; an hour later 0.4 mg more has accrued.
        m.respond("Z", 1_000_000);
        m.set_clock(210 * 60_000);
        assert_eq!(
            m.respond("SI", 1_000_000),
            Reply::Lines(vec!["S S     0.0004 g".into()])
        );
    }

    #[test]
    fn a_new_mass_reads_dynamic_until_it_has_settled() {
        let mut m = with(BalanceParams {
            settle_ms: 2_000,
            ..BalanceParams::default()
        });
        m.set_clock(10_000);
        assert_eq!(
            m.respond("SI", 0),
            Reply::Lines(vec!["S S     0.0000 g".into()])
        );
        // A 2.5 uL stroke lands: dynamic from the reading that sees it (t = 11 s) until 13 s.
        m.set_clock(11_000);
        assert_eq!(
            m.respond("SI", 2_500),
            Reply::Lines(vec!["S D     0.0025 g".into()])
        );
        m.set_clock(12_999);
        assert_eq!(
            m.respond("S", 2_500),
            Reply::Lines(vec!["S D     0.0025 g".into()])
        );
        m.set_clock(13_000);
        assert_eq!(
            m.respond("S", 2_500),
            Reply::Lines(vec!["S S     0.0025 g".into()])
        );
    }

    #[test]
    fn repeatability_noise_has_the_configured_spread() {
        // 2000 readings of a fixed mass with sigma 0.5 mg on a 0.01 mg balance: the sample
        // standard deviation is within 10 % of 0.5 mg (its own relative s.d. is about 1.6 %)
        // and the mean within 0.05 mg of the true 1004.60 mg.
        let mut m = with(BalanceParams {
            readability_mg: 0.01,
            noise_mg: 0.5,
            noise_seed: Some(11),
            ..BalanceParams::default()
        });
        let readings: Vec<f64> = (0..2000)
            .map(|_| match m.respond("SI", 1_000_000) {
                Reply::Lines(lines) => lines[0]
                    .split_whitespace()
                    .nth(2)
                    .and_then(|grams| grams.parse::<f64>().ok())
                    .map_or(f64::NAN, |grams| grams * 1e3),
                Reply::Repeat => f64::NAN,
            })
            .collect();
        let n = readings.len() as f64;
        let mean = readings.iter().sum::<f64>() / n;
        let sd = (readings.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((mean - 1004.60).abs() < 0.05, "mean {mean} mg");
        assert!((sd - 0.5).abs() < 0.05, "standard deviation {sd} mg");
    }
}
