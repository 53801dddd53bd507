//! `bench.toml`: a real test bench — pump and balance ports, fluid, and the devices allowed on it.
//! Every value is checked where it is read, and a problem names the file, line and column.

use crate::link::endpoint::Address;
use crate::link::serial::SerialSettings;
use crate::record::TimeBase;
use crate::scenario::input::{self, InputKind, TextFile};
use crate::scenario::{InputError, S};
use serde::Deserialize;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A port as the rest of the harness uses it, the bench file's checks done.
#[derive(Debug, Clone)]
pub struct PortConfig {
    /// A device path, tcp://host:port or rfc2217://host:port.
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

#[derive(Debug, Clone)]
pub struct BalanceConfig {
    pub link: PortConfig,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub readability_mg: Option<f64>,
    /// Repeatability (one standard deviation of repeated readings, mg) from the balance's
    /// certificate: the volume and flow checks widen for it.
    pub repeatability_mg: Option<f64>,
    /// Calibration due date, `YYYY-MM-DD` (shown on the report; "EXPIRED" added when a run
    /// was allowed to use an expired balance).
    pub calibration_due: Option<String>,
    /// The calibration certificate's expanded uncertainty, mg, and its coverage factor
    /// (`calibration_uncertainty_mg`, `calibration_coverage_factor`, k = 2 by default).
    pub calibration_uncertainty: Option<(f64, f64)>,
    /// Measured evaporation from the vessel, mg/h (`evaporation_mg_per_h`): added back and
    /// counted in the budget; without it the budget takes a default for `oil_film`.
    pub evaporation_mg_per_h: Option<f64>,
    /// The vessel has an oil film (`oil_film`, default true as README.md wires it).
    pub oil_film: bool,
}

impl BalanceConfig {
    /// The figures the uncertainty budget takes from this balance.
    pub fn figures(&self, bench: &Bench) -> crate::expect::uncertainty::BalanceFigures {
        crate::expect::uncertainty::BalanceFigures {
            readability_mg: self
                .readability_mg
                .unwrap_or(crate::units::nominal::BALANCE_READABILITY_MG),
            repeatability_mg: self.repeatability_mg.unwrap_or(0.0),
            calibration: self.calibration_uncertainty,
            evaporation: crate::expect::uncertainty::Evaporation {
                declared_mg_per_h: self.evaporation_mg_per_h,
                oil_film: self.oil_film,
            },
            temperature_c: bench.temperature_c,
            source: format!("bench file {}", bench.path.display()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPort {
    port: S<String>,
    baud: Option<S<u32>>,
    data_bits: Option<S<u8>>,
    parity: Option<S<String>>,
    stop_bits: Option<S<u8>>,
    flow_control: Option<S<String>>,
}

/// The balance table: the port keys of `[pump]` (serde's flatten would lose their places)
/// and the instrument's own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBalance {
    port: S<String>,
    baud: Option<S<u32>>,
    data_bits: Option<S<u8>>,
    parity: Option<S<String>>,
    stop_bits: Option<S<u8>>,
    flow_control: Option<S<String>>,
    model: Option<String>,
    serial_number: Option<String>,
    readability_mg: Option<S<f64>>,
    repeatability_mg: Option<S<f64>>,
    calibration_due: Option<S<toml::Value>>,
    calibration_uncertainty_mg: Option<S<f64>>,
    calibration_coverage_factor: Option<S<f64>>,
    evaporation_mg_per_h: Option<S<f64>>,
    oil_film: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBench {
    station: Option<String>,
    /// "real" (default): the device's own clock; "virtual": the harness advances it.
    time: Option<S<String>>,
    pump: RawPort,
    balance: Option<RawBalance>,
    density_g_per_ml: Option<S<f64>>,
    /// The fluid's temperature at the balance, °C (the uncertainty budget's density).
    temperature_c: Option<S<f64>>,
    /// How far the pump's clock may run from the host's before the watchdog ends a scenario.
    clock_tolerance_ms: Option<S<u64>>,
    /// Serial numbers of the pumps this bench may program. Anything else is refused.
    allowed_serial_numbers: S<Vec<S<String>>>,
    /// The station's signing key (`pumphil keygen`), relative to the bench file.
    signing_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Bench {
    pub path: PathBuf,
    pub sha256: String,
    pub station: String,
    /// Whose clock runs the scenario: `time = "virtual"` drives the device's clock with
    /// AdvanceTime (a third-party emulator or simulated firmware), `"real"` waits for it.
    pub time: TimeBase,
    pub pump: PortConfig,
    pub balance: Option<BalanceConfig>,
    pub density_g_per_ml: Option<f64>,
    /// `temperature_c`: the fluid's temperature at the balance, °C; wins over a scenario's.
    pub temperature_c: Option<f64>,
    pub allowed_serial_numbers: Vec<String>,
    /// `clock_tolerance_ms`: how far the pump's clock may run from the host's (watchdog).
    pub clock_tolerance: std::time::Duration,
    /// The station key that signs this bench's runs, resolved against the bench file's folder.
    pub signing_key: Option<PathBuf>,
}

/// How bench files are read.
const BENCH_FILE: InputKind = InputKind {
    read_code: "bench::read",
    read_message: "cannot read bench file",
    read_help:
        "pass --bench with the path of your bench.toml (see README.md, \"Wiring a real bench\")",
    utf8_code: "bench::utf8",
    utf8_help: "save the bench file as UTF-8",
    max_bytes: None,
    plural: "bench files",
};

/// A calendar date, compared as (year, month, day).
pub type Date = (i32, u32, u32);

/// Today's date in UTC.
pub fn today_utc() -> Date {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    civil_from_days(days)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// `YYYY-MM-DD`, a real day of a real month.
fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (year, month, day): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month)
        .contains(&day)
        .then_some((year, month, day))
}

/// What a bench file is checked against besides itself.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    pub today: Date,
    /// `pumphil run --allow-expired-calibration`: a past calibration date is recorded, not refused.
    pub allow_expired_calibration: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            today: today_utc(),
            allow_expired_calibration: false,
        }
    }
}

/// Checks as the bench file is read, each naming the place of the value it refuses.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn error(&self, span: Range<usize>, code: &'static str, message: String) -> InputError {
        InputError::new(self.path, self.text, code, message).at(span)
    }

    fn port(&self, table: &str, raw: &RawPortRef<'_>) -> Result<PortConfig, InputError> {
        let port = raw.port.get_ref();
        if let Err(e) = Address::parse(port) {
            let hint = match &e {
                crate::link::LinkError::Address { hint, .. } => hint.clone(),
                other => other.to_string(),
            };
            return Err(self
                .error(
                    raw.port.span(),
                    "bench::port",
                    format!("[{table}] port {port:?} cannot be used"),
                )
                .help(hint));
        }
        if let Some(baud) = raw.baud {
            if *baud.get_ref() == 0 {
                return Err(self
                    .error(baud.span(), "bench::baud", format!("[{table}] baud is 0"))
                    .help("give the port's baud rate (the pump 115200, an MT-SICS balance 9600 by default), or leave baud out for the default"));
            }
        }
        let config = PortConfig {
            port: port.clone(),
            baud: raw.baud.map(|b| *b.get_ref()),
            data_bits: raw.data_bits.map(|v| *v.get_ref()),
            parity: raw.parity.map(|v| v.get_ref().clone()),
            stop_bits: raw.stop_bits.map(|v| *v.get_ref()),
            flow_control: raw.flow_control.map(|v| v.get_ref().clone()),
        };
        let mut settings = SerialSettings::pump(port);
        if let Err(e) = settings.apply_text_options(
            config.data_bits,
            config.parity.as_deref(),
            config.stop_bits,
            config.flow_control.as_deref(),
        ) {
            let (message, hint) = match &e {
                crate::link::LinkError::Setting {
                    setting,
                    value,
                    hint,
                } => (format!("{setting} = {value:?} cannot be used"), *hint),
                other => (other.to_string(), "see README.md, \"Wiring a real bench\""),
            };
            let e = message;
            let span = [
                (e.contains("data_bits"), raw.data_bits.map(|v| v.span())),
                (e.contains("parity"), raw.parity.map(|v| v.span())),
                (e.contains("stop_bits"), raw.stop_bits.map(|v| v.span())),
                (
                    e.contains("flow_control"),
                    raw.flow_control.map(|v| v.span()),
                ),
            ]
            .into_iter()
            .find_map(|(named, span)| named.then_some(span).flatten())
            .unwrap_or(raw.port.span());
            return Err(self
                .error(span, "bench::serial", format!("[{table}]: {e}"))
                .help(hint));
        }
        Ok(config)
    }

    fn calibration(
        &self,
        value: &S<toml::Value>,
        options: &LoadOptions,
    ) -> Result<String, InputError> {
        let written = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
            other => other.to_string(),
        };
        let Some(date) = parse_date(&written) else {
            return Err(self
                .error(
                    value.span(),
                    "bench::calibration",
                    format!("calibration_due {written:?} is not a date"),
                )
                .help("write the due date from the balance's calibration certificate as YYYY-MM-DD, e.g. \"2027-03-01\""));
        };
        if date >= options.today {
            return Ok(written);
        }
        if options.allow_expired_calibration {
            return Ok(format!(
                "{written} (EXPIRED: run with --allow-expired-calibration)"
            ));
        }
        let (y, m, d) = options.today;
        Err(self
            .error(
                value.span(),
                "bench::calibration-expired",
                format!("the balance's calibration was due on {written}; today is {y:04}-{m:02}-{d:02}"),
            )
            .help("have the balance calibrated and write the new due date; to run anyway (the report says so), pass --allow-expired-calibration"))
    }
}

/// The port keys of `[pump]` or `[balance]`.
struct RawPortRef<'a> {
    port: &'a S<String>,
    baud: Option<&'a S<u32>>,
    data_bits: Option<&'a S<u8>>,
    parity: Option<&'a S<String>>,
    stop_bits: Option<&'a S<u8>>,
    flow_control: Option<&'a S<String>>,
}

/// Whether two ports name the same endpoint: the same text, or device paths that resolve to
/// the same device (a /dev/serial/by-id link and the node it points at).
pub fn same_endpoint(a: &str, b: &str) -> bool {
    if a.trim() == b.trim() {
        return true;
    }
    match (Address::parse(a), Address::parse(b)) {
        (Ok(Address::Device(a)), Ok(Address::Device(b))) => {
            match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
        }
        _ => false,
    }
}

pub fn load(path: &Path) -> Result<Bench, InputError> {
    load_with(path, &LoadOptions::default())
}

pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Bench, InputError> {
    let TextFile { text, sha256 } = input::read_text(path, &BENCH_FILE)?;
    let raw: RawBench = toml::from_str(&text).map_err(|e| {
        let mut err = InputError::new(path, &text, "bench::syntax", e.message().to_string())
            .help("see README.md, \"Wiring a real bench\", for the bench file's keys");
        if let Some(span) = e.span() {
            err = err.at(span);
        }
        err
    })?;
    let check = Checker { path, text: &text };
    if raw.allowed_serial_numbers.get_ref().is_empty() {
        return Err(check
            .error(
                raw.allowed_serial_numbers.span(),
                "bench::allow-list",
                "allowed_serial_numbers is empty".into(),
            )
            .help("list the serial numbers of the test pumps this bench may program"));
    }
    if let Some(blank) = raw
        .allowed_serial_numbers
        .get_ref()
        .iter()
        .find(|s| s.get_ref().trim().is_empty())
    {
        return Err(check
            .error(
                blank.span(),
                "bench::allow-list",
                "an entry of allowed_serial_numbers is empty".into(),
            )
            .help(
                "each entry is a test pump's serial number as it identifies (`pumphil identify`)",
            ));
    }
    let temperature_c = match &raw.temperature_c {
        Some(t) => {
            let value = *t.get_ref();
            let (coldest, warmest) = crate::expect::uncertainty::TEMPERATURE_RANGE_C;
            if !(value.is_finite() && (coldest..=warmest).contains(&value)) {
                return Err(check
                    .error(
                        t.span(),
                        "bench::range",
                        format!("temperature_c is {value}; the density tables cover {coldest}-{warmest} °C"),
                    )
                    .help("give the fluid's temperature at the balance in °C, e.g. temperature_c = 22.5"));
            }
            Some(value)
        }
        None => None,
    };
    if let Some(d) = &raw.density_g_per_ml {
        let value = *d.get_ref();
        if !(0.9..=1.1).contains(&value) {
            return Err(check
                .error(
                    d.span(),
                    "bench::range",
                    format!("density_g_per_ml is {value}"),
                )
                .help("0.9 % saline is 1.0046 g/mL at 22 °C"));
        }
    }
    if let Some(t) = &raw.clock_tolerance_ms {
        if *t.get_ref() == 0 {
            return Err(check
                .error(t.span(), "bench::clock-tolerance", "clock_tolerance_ms is 0".into())
                .help("give how far (ms) the pump's clock may run from the host's, e.g. 2000, or leave it out for 2000"));
        }
    }
    let time = match &raw.time {
        None => TimeBase::Real,
        Some(t) => match t.get_ref().as_str() {
            "real" => TimeBase::Real,
            "virtual" => TimeBase::Virtual,
            other => {
                return Err(check
                    .error(t.span(), "bench::time", format!("time = {other:?} is not a time base"))
                    .help("write time = \"real\" (the device's own clock, the default) or time = \"virtual\" (the harness advances the device's clock with AdvanceTime: a simulator)"))
            }
        },
    };
    let p = &raw.pump;
    let pump = check.port(
        "pump",
        &RawPortRef {
            port: &p.port,
            baud: p.baud.as_ref(),
            data_bits: p.data_bits.as_ref(),
            parity: p.parity.as_ref(),
            stop_bits: p.stop_bits.as_ref(),
            flow_control: p.flow_control.as_ref(),
        },
    )?;
    let balance = match &raw.balance {
        None => None,
        Some(b) => {
            let link = check.port(
                "balance",
                &RawPortRef {
                    port: &b.port,
                    baud: b.baud.as_ref(),
                    data_bits: b.data_bits.as_ref(),
                    parity: b.parity.as_ref(),
                    stop_bits: b.stop_bits.as_ref(),
                    flow_control: b.flow_control.as_ref(),
                },
            )?;
            if same_endpoint(&link.port, &pump.port) {
                return Err(check
                    .error(
                        b.port.span(),
                        "bench::same-port",
                        format!("the balance's port {} is the pump's port", link.port),
                    )
                    .help("the pump and the balance each need their own port"));
            }
            if let Some(r) = &b.readability_mg {
                let value = *r.get_ref();
                if !(value.is_finite() && value > 0.0) {
                    return Err(check
                        .error(
                            r.span(),
                            "bench::readability",
                            format!("readability_mg is {value}"),
                        )
                        .help("the balance's readability (its smallest step) in mg, from its data sheet: e.g. 0.01 for an XPR205"));
                }
            }
            if let Some(r) = &b.repeatability_mg {
                let value = *r.get_ref();
                if !(value.is_finite() && value >= 0.0) {
                    return Err(check
                        .error(
                            r.span(),
                            "bench::repeatability",
                            format!("repeatability_mg is {value}"),
                        )
                        .help("the balance's repeatability (one standard deviation, mg) from its calibration certificate, e.g. 0.02"));
                }
            }
            let number = |value: Option<&S<f64>>,
                          key: &str,
                          ok: fn(f64) -> bool,
                          help: &str|
             -> Result<Option<f64>, InputError> {
                match value {
                    Some(v) if !ok(*v.get_ref()) => Err(check
                        .error(
                            v.span(),
                            "bench::balance-figure",
                            format!("{key} is {}", v.get_ref()),
                        )
                        .help(help)),
                    other => Ok(other.map(|v| *v.get_ref())),
                }
            };
            let calibration_u = number(
                b.calibration_uncertainty_mg.as_ref(),
                "calibration_uncertainty_mg",
                |v| v.is_finite() && v > 0.0,
                "the expanded uncertainty U of the balance's calibration certificate, in mg (e.g. 0.05), with calibration_coverage_factor if k is not 2",
            )?;
            let coverage = number(
                b.calibration_coverage_factor.as_ref(),
                "calibration_coverage_factor",
                |v| v.is_finite() && (1.0..=4.0).contains(&v),
                "the certificate's coverage factor k, between 1 and 4 (usually 2)",
            )?;
            if let (Some(k), None) = (&b.calibration_coverage_factor, calibration_u) {
                return Err(check
                    .error(
                        k.span(),
                        "bench::balance-figure",
                        "calibration_coverage_factor without calibration_uncertainty_mg".into(),
                    )
                    .help("give the certificate's expanded uncertainty as calibration_uncertainty_mg, or remove the coverage factor"));
            }
            let evaporation = number(
                b.evaporation_mg_per_h.as_ref(),
                "evaporation_mg_per_h",
                |v| v.is_finite() && (0.0..=1000.0).contains(&v),
                "the vessel's measured mass loss in mg per hour with the pump stopped (0 to 1000), e.g. 0.1 under an oil film",
            )?;
            let calibration_due = b
                .calibration_due
                .as_ref()
                .map(|c| check.calibration(c, options))
                .transpose()?;
            Some(BalanceConfig {
                link,
                model: b.model.clone(),
                serial_number: b.serial_number.clone(),
                readability_mg: b.readability_mg.as_ref().map(|r| *r.get_ref()),
                repeatability_mg: b.repeatability_mg.as_ref().map(|r| *r.get_ref()),
                calibration_due,
                calibration_uncertainty: calibration_u.map(|u| (u, coverage.unwrap_or(2.0))),
                evaporation_mg_per_h: evaporation,
                oil_film: b.oil_film.unwrap_or(true),
            })
        }
    };
    Ok(Bench {
        path: path.to_path_buf(),
        sha256,
        station: raw.station.unwrap_or_else(|| "bench".to_string()),
        time,
        pump,
        balance,
        density_g_per_ml: raw.density_g_per_ml.map(|d| d.into_inner()),
        temperature_c,
        clock_tolerance: raw
            .clock_tolerance_ms
            .map(|t| std::time::Duration::from_millis(t.into_inner()))
            .unwrap_or(super::watchdog::DEFAULT_TOLERANCE),
        allowed_serial_numbers: raw
            .allowed_serial_numbers
            .into_inner()
            .into_iter()
            .map(|s| s.into_inner())
            .collect(),
        signing_key: raw
            .signing_key
            .map(|key| path.parent().unwrap_or_else(|| Path::new(".")).join(key)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_real_days() {
        assert_eq!(parse_date("2027-03-01"), Some((2027, 3, 1)));
        assert_eq!(parse_date("2028-02-29"), Some((2028, 2, 29)));
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "2027-3-1",
            "not a date",
            "2027-03-01T00:00",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    fn load_text(text: &str, options: &LoadOptions) -> Result<Bench, InputError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.toml");
        std::fs::write(&path, text).unwrap();
        load_with(&path, options)
    }

    const BENCH: &str = "allowed_serial_numbers = [\"TU-1\"]\n[pump]\nport = \"tcp://127.0.0.1:3001\"\n[balance]\nport = \"rfc2217://127.0.0.1:3002\"\nreadability_mg = 0.01\ncalibration_due = \"2027-03-01\"\n";

    /// The budget's figures come from the bench file, each named as its source.
    #[test]
    fn the_balance_figures_feed_the_budget() {
        let options = LoadOptions {
            today: (2027, 1, 1),
            allow_expired_calibration: false,
        };
        let text = BENCH.replace(
            "allowed_serial_numbers",
            "temperature_c = 24.5\nallowed_serial_numbers",
        ) + "repeatability_mg = 0.02\ncalibration_uncertainty_mg = 0.06\ncalibration_coverage_factor = 3\nevaporation_mg_per_h = 0.2\noil_film = false\n";
        let bench = load_text(&text, &options).expect("bench");
        let figures = bench.balance.as_ref().unwrap().figures(&bench);
        assert_eq!(figures.readability_mg, 0.01);
        assert_eq!(figures.repeatability_mg, 0.02);
        assert_eq!(figures.calibration, Some((0.06, 3.0)));
        assert_eq!(figures.evaporation.declared_mg_per_h, Some(0.2));
        assert!(!figures.evaporation.oil_film);
        assert_eq!(figures.temperature_c, Some(24.5));
        assert!(figures.source.starts_with("bench file") && figures.source.ends_with("bench.toml"));
        // Without the keys: no certificate, the default evaporation under an oil film.
        let plain = load_text(BENCH, &options).expect("bench");
        let figures = plain.balance.as_ref().unwrap().figures(&plain);
        assert_eq!(figures.calibration, None);
        assert_eq!(figures.evaporation.declared_mg_per_h, None);
        assert!(figures.evaporation.oil_film);
        assert_eq!(figures.temperature_c, None);
    }

    #[test]
    fn a_calibration_date_is_checked_against_today() {
        let before = LoadOptions {
            today: (2027, 3, 1),
            allow_expired_calibration: false,
        };
        let bench = load_text(BENCH, &before).expect("due today is still in date");
        let balance = bench.balance.unwrap();
        assert_eq!(balance.calibration_due.as_deref(), Some("2027-03-01"));
        assert_eq!(balance.readability_mg, Some(0.01));
        let after = LoadOptions {
            today: (2027, 3, 2),
            ..before
        };
        let err = load_text(BENCH, &after).unwrap_err().to_string();
        assert!(
            err.contains("bench.toml:7:19") && err.contains("--allow-expired-calibration"),
            "{err}"
        );
        let allowed = LoadOptions {
            allow_expired_calibration: true,
            ..after
        };
        let due = load_text(BENCH, &allowed)
            .unwrap()
            .balance
            .unwrap()
            .calibration_due;
        assert!(due.unwrap().contains("EXPIRED"));
        // A TOML date literal is a date too.
        let literal = BENCH.replace("\"2027-03-01\"", "2027-03-01");
        assert!(load_text(&literal, &before).is_ok());
    }

    #[test]
    fn the_time_base_is_real_unless_the_bench_says_virtual() {
        let options = LoadOptions {
            today: (2027, 1, 1),
            allow_expired_calibration: false,
        };
        assert_eq!(load_text(BENCH, &options).unwrap().time, TimeBase::Real);
        let virtual_bench = format!("time = \"virtual\"\n{BENCH}");
        assert_eq!(
            load_text(&virtual_bench, &options).unwrap().time,
            TimeBase::Virtual
        );
        let err = load_text(&format!("time = \"fast\"\n{BENCH}"), &options)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bench.toml:1:8") && err.contains("\"fast\""),
            "{err}"
        );
    }
}
