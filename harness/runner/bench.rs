//! `bench.toml`: a real test bench — pump and balance ports, fluid, and the devices allowed on it.

use crate::scenario::{InputError, S};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    pub port: String,
    pub baud: Option<u32>,
    /// 5, 6, 7 or 8.
    pub data_bits: Option<u8>,
    /// "none", "odd" or "even".
    pub parity: Option<String>,
    /// 1 or 2.
    pub stop_bits: Option<u8>,
    /// "none", "software" or "hardware".
    pub flow_control: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceConfig {
    #[serde(flatten)]
    pub link: PortConfig,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub readability_mg: Option<f64>,
    /// Repeatability (one standard deviation of repeated readings, mg) from the balance's
    /// certificate: the volume and flow checks widen for it.
    pub repeatability_mg: Option<f64>,
    /// Calibration due date as written on the balance's certificate (shown on the report).
    pub calibration_due: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBench {
    pub station: Option<String>,
    pub pump: PortConfig,
    pub balance: Option<BalanceConfig>,
    pub density_g_per_ml: Option<f64>,
    /// Serial numbers of the pumps this bench may program. Anything else is refused.
    pub allowed_serial_numbers: S<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Bench {
    pub path: PathBuf,
    pub sha256: String,
    pub station: String,
    pub pump: PortConfig,
    pub balance: Option<BalanceConfig>,
    pub density_g_per_ml: Option<f64>,
    pub allowed_serial_numbers: Vec<String>,
}

pub fn load(path: &Path) -> Result<Bench, InputError> {
    let bytes = std::fs::read(path).map_err(|e| {
        InputError::new(path, "", "bench::read", format!("cannot read bench file: {e}"))
            .help("pass --bench with the path of your bench.toml (see README.md, \"Wiring a real bench\")")
    })?;
    let sha256 = crate::scenario::sha256_hex(&bytes);
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        InputError::new(
            path,
            &String::from_utf8_lossy(e.as_bytes()),
            "bench::utf8",
            format!("invalid UTF-8 at byte {at}"),
        )
        .at(at..at + 1)
        .help("save the bench file as UTF-8")
    })?;
    let raw: RawBench = toml::from_str(&text).map_err(|e| {
        let mut err = InputError::new(path, &text, "bench::syntax", e.message().to_string())
            .help("see README.md, \"Wiring a real bench\", for the bench file's keys");
        if let Some(span) = e.span() {
            err = err.at(span);
        }
        err
    })?;
    if raw.allowed_serial_numbers.get_ref().is_empty() {
        return Err(InputError::new(
            path,
            &text,
            "bench::allow-list",
            "allowed_serial_numbers is empty",
        )
        .at(raw.allowed_serial_numbers.span())
        .help("list the serial numbers of the test pumps this bench may program"));
    }
    if let Some(d) = raw.density_g_per_ml {
        if !(0.9..=1.1).contains(&d) {
            return Err(InputError::new(
                path,
                &text,
                "bench::range",
                format!("density_g_per_ml is {d}"),
            )
            .help("0.9 % saline is 1.0046 g/mL at 22 °C"));
        }
    }
    Ok(Bench {
        path: path.to_path_buf(),
        sha256,
        station: raw.station.unwrap_or_else(|| "bench".to_string()),
        pump: raw.pump,
        balance: raw.balance,
        density_g_per_ml: raw.density_g_per_ml,
        allowed_serial_numbers: raw.allowed_serial_numbers.into_inner(),
    })
}
