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
/// With dynamic detection on (real-time serving), a reading taken while the tip volume has
/// changed since the previous reading is `S D` (dynamic); `S` still answers at once with the
/// current value, where a real balance would wait for it to settle.
pub struct BalanceModel {
    params: BalanceParams,
    zero_g: f64,
    tare_g: f64,
    noise: Option<Noise>,
    software: String,
    dynamic_detection: bool,
    last_tip_nl: Option<u64>,
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
        }
    }

    /// Turns dynamic detection on (real time) or off (virtual time: every reading is stable).
    pub fn with_dynamic_detection(mut self, on: bool) -> BalanceModel {
        self.dynamic_detection = on;
        self
    }

    /// Whether the mass moved since the previous reading; remembers this one.
    fn moved(&mut self, tip_nl: u64) -> bool {
        let moved = self.last_tip_nl.is_some_and(|last| last != tip_nl);
        self.last_tip_nl = Some(tip_nl);
        self.dynamic_detection && moved
    }

    /// Mass on the pan for a tip volume: volume × density.
    pub fn gross_g(&self, tip_nl: u64) -> f64 {
        tip_nl as f64 * 1e-6 * self.params.density_g_per_ml
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
        let gross = self.gross_g(tip_nl);
        if gross > self.params.capacity_g {
            return format!("{prefix} +");
        }
        let net = self.noisy(gross - self.zero_g - self.tare_g);
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
                self.zero_g = self.gross_g(tip_nl);
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
                let gross = self.gross_g(tip_nl);
                self.tare_g = self.round(gross - self.zero_g);
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

/// Serves MT-SICS on a link, weighing the device's catheter-tip volume; `realtime` turns on
/// dynamic (`S D`) readings. Lines may end CR LF or LF alone.
pub async fn serve_balance(
    link: BoxLink,
    device: Arc<Mutex<Device>>,
    realtime: bool,
) -> std::io::Result<()> {
    let params = device
        .lock()
        .map(|d| d.config().balance.clone())
        .unwrap_or_default();
    let mut model = BalanceModel::new(params).with_dynamic_detection(realtime);
    let (read, mut write) = tokio::io::split(link);
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    let mut repeating = false;
    let tip = |device: &Arc<Mutex<Device>>| device.lock().map(|d| d.tip_nl()).unwrap_or(0);
    loop {
        line.clear();
        let read = if repeating {
            match tokio::time::timeout(
                Duration::from_millis(100),
                reader.read_until(b'\n', &mut line),
            )
            .await
            {
                Ok(r) => r?,
                Err(_) => {
                    let reading = model.repeat_line(tip(&device));
                    write.write_all(format!("{reading}\r\n").as_bytes()).await?;
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
        let reply = match model.respond(&text, tip(&device)) {
            Reply::Lines(lines) => lines,
            Reply::Repeat => {
                repeating = true;
                vec![model.repeat_line(tip(&device))]
            }
        };
        let mut out = String::new();
        for l in reply {
            out.push_str(&l);
            out.push_str("\r\n");
        }
        write.write_all(out.as_bytes()).await?;
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
}
