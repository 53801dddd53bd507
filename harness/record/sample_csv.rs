//! A sample as one line of `traces/<stem>.csv`: the columns, writing a line, reading it back.
//!
//! The line is the record's only copy of a sample (`sample_blocks` hashes it into the chain),
//! so reading it back must give the sample that was written: every field but `balance_g` is an
//! integer, a name or a boolean, and `balance_g` is written to 5 decimals (10 ug), finer than
//! the balances' readings it comes from (4 decimals).

use super::schema::Sample;
use crate::protocol::{AlarmKind, TherapyState};
use std::io::Write;

/// The folder of the trace files, in the run directory.
pub const DIR: &str = "traces";

/// The columns, in order.
pub const COLUMNS: [&str; 16] = [
    "t_ms",
    "device_time_ms",
    "delivered_nl",
    "calculated_nl",
    "dose_rate_ug_per_day",
    "concentration_ug_per_ml",
    "therapy_state",
    "battery_permille",
    "elective_replacement",
    "end_of_service",
    "active_alarms",
    "balance_g",
    "balance_stable",
    "tip_nl",
    "actual_reservoir_nl",
    "pocket_nl",
];

/// The header line, with its newline.
pub fn header() -> String {
    format!("{}\n", COLUMNS.join(","))
}

/// A file name for a scenario id. Ids are lowercase letters, digits and dashes when linted, but
/// the record is read back from disk, so anything else is replaced rather than trusted as a path.
pub fn file_stem(id: &str) -> String {
    let stem: String = id
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    if stem.is_empty() {
        "_".into()
    } else {
        stem
    }
}

/// Whether a run directory's file is a sample trace (written by the run, part of the record)
/// rather than a rendered output such as an alarm trace.
pub fn is_sample_trace(path: &str) -> bool {
    path.strip_prefix(DIR)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| {
            !name.contains('/') && name.ends_with(".csv") && !name.ends_with("-alarms.csv")
        })
}

/// Appends the sample's line, newline included, to `out` (no allocation beyond `out`'s growth).
pub fn push_line(out: &mut Vec<u8>, s: &Sample) {
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "{},{},{},{},{},{},{},{},{},{},",
        s.t_ms,
        s.device_time_ms,
        s.delivered_nl,
        s.calculated_nl,
        s.dose_rate_ug_per_day,
        s.concentration_ug_per_ml,
        s.therapy_state.name(),
        s.battery_permille,
        s.elective_replacement,
        s.end_of_service,
    );
    for (i, alarm) in s.active_alarms.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(alarm.name().as_bytes());
    }
    out.push(b',');
    if let Some(g) = s.balance_g {
        let _ = write!(out, "{g:.5}");
    }
    out.push(b',');
    if let Some(stable) = s.balance_stable {
        let _ = write!(out, "{stable}");
    }
    for value in [s.tip_nl, s.actual_reservoir_nl, s.pocket_nl] {
        out.push(b',');
        if let Some(v) = value {
            let _ = write!(out, "{v}");
        }
    }
    out.push(b'\n');
}

/// A 16-bit tag of a line (FNV-1a, folded): it names which line of a block was edited, cheaply;
/// it proves nothing (the block's SHA-256 does).
pub fn line_tag(line: &[u8]) -> u16 {
    let mut hash: u32 = 0x811c_9dc5;
    for &byte in line {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    ((hash >> 16) ^ (hash & 0xffff)) as u16
}

/// Appends a line's tag as four hex digits.
pub fn push_tag(out: &mut String, line: &[u8]) {
    use std::fmt::Write as _;
    let _ = write!(out, "{:04x}", line_tag(line));
}

fn field<'a>(fields: &mut impl Iterator<Item = &'a str>, name: &str) -> Result<&'a str, String> {
    fields.next().ok_or_else(|| format!("no {name} column"))
}

fn number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{name} {text:?} is not a number"))
}

fn optional<T: std::str::FromStr>(text: &str, name: &str) -> Result<Option<T>, String> {
    if text.is_empty() {
        Ok(None)
    } else {
        number(text, name).map(Some)
    }
}

fn boolean(text: &str, name: &str) -> Result<bool, String> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{name} {text:?} is not true or false")),
    }
}

/// Reads a line (without its newline) back into the sample it was written from.
pub fn parse_line(line: &[u8]) -> Result<Sample, String> {
    let line = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_string())?;
    let mut fields = line.split(',');
    let mut next = |name: &str| field(&mut fields, name);
    let t_ms = number(next("t_ms")?, "t_ms")?;
    let device_time_ms = number(next("device_time_ms")?, "device_time_ms")?;
    let delivered_nl = number(next("delivered_nl")?, "delivered_nl")?;
    let calculated_nl = number(next("calculated_nl")?, "calculated_nl")?;
    let dose_rate_ug_per_day = number(next("dose_rate_ug_per_day")?, "dose_rate_ug_per_day")?;
    let concentration_ug_per_ml =
        number(next("concentration_ug_per_ml")?, "concentration_ug_per_ml")?;
    let state = next("therapy_state")?;
    let therapy_state = TherapyState::from_name(state)
        .ok_or_else(|| format!("therapy_state {state:?} is not a therapy state"))?;
    let battery_permille = number(next("battery_permille")?, "battery_permille")?;
    let elective_replacement = boolean(next("elective_replacement")?, "elective_replacement")?;
    let end_of_service = boolean(next("end_of_service")?, "end_of_service")?;
    let alarms = next("active_alarms")?;
    let active_alarms = alarms
        .split(' ')
        .filter(|a| !a.is_empty())
        .map(|a| AlarmKind::from_name(a).ok_or_else(|| format!("{a:?} is not an alarm")))
        .collect::<Result<Vec<_>, _>>()?;
    let balance_g = optional(next("balance_g")?, "balance_g")?;
    let stable = next("balance_stable")?;
    let balance_stable = if stable.is_empty() {
        None
    } else {
        Some(boolean(stable, "balance_stable")?)
    };
    let tip_nl = optional(next("tip_nl")?, "tip_nl")?;
    let actual_reservoir_nl = optional(next("actual_reservoir_nl")?, "actual_reservoir_nl")?;
    let pocket_nl = optional(next("pocket_nl")?, "pocket_nl")?;
    if fields.next().is_some() {
        return Err(format!("more than {} columns", COLUMNS.len()));
    }
    Ok(Sample {
        t_ms,
        device_time_ms,
        delivered_nl,
        calculated_nl,
        dose_rate_ug_per_day,
        concentration_ug_per_ml,
        therapy_state,
        battery_permille,
        elective_replacement,
        end_of_service,
        active_alarms,
        balance_g,
        balance_stable,
        tip_nl,
        actual_reservoir_nl,
        pocket_nl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Sample {
        let mut s = Sample::running_at(600_000);
        s.device_time_ms = 605_000;
        s.delivered_nl = 25_000;
        s.active_alarms = vec![AlarmKind::LowReservoir, AlarmKind::MotorStall];
        s.balance_g = Some(-0.0003);
        s.balance_stable = Some(false);
        s.tip_nl = Some(0);
        s.actual_reservoir_nl = Some(39_975_000);
        s.pocket_nl = Some(12);
        s
    }

    #[test]
    fn a_line_reads_back_as_the_sample_it_was_written_from() {
        for sample in [full(), Sample::running_at(0)] {
            let mut line = Vec::new();
            push_line(&mut line, &sample);
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(parse_line(&line[..line.len() - 1]), Ok(sample));
        }
    }

    #[test]
    fn the_line_is_the_trace_csv_format() {
        let mut line = Vec::new();
        push_line(&mut line, &full());
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "600000,605000,25000,0,0,0,running,1000,false,false,low_reservoir motor_stall,-0.00030,false,0,39975000,12\n"
        );
        assert_eq!(header().split(',').count(), 16);
    }

    #[test]
    fn a_broken_line_says_what_is_wrong() {
        let mut line = Vec::new();
        push_line(&mut line, &full());
        let text = String::from_utf8(line).unwrap();
        let edited = text.trim_end().replacen("running", "runing", 1);
        assert!(parse_line(edited.as_bytes())
            .unwrap_err()
            .contains("therapy_state \"runing\""));
        assert!(parse_line(b"1,2,3")
            .unwrap_err()
            .contains("no calculated_nl"));
        assert!(parse_line(format!("{},9", text.trim_end()).as_bytes())
            .unwrap_err()
            .contains("more than 16 columns"));
    }

    #[test]
    fn sample_traces_are_told_from_alarm_traces_and_other_files() {
        assert!(is_sample_trace("traces/refill.csv"));
        assert!(!is_sample_trace("traces/refill-alarms.csv"));
        assert!(!is_sample_trace("traces/x/refill.csv"));
        assert!(!is_sample_trace("tracesx/refill.csv"));
        assert!(!is_sample_trace("junit.xml"));
    }

    #[test]
    fn one_changed_byte_changes_the_tag() {
        assert_ne!(line_tag(b"0,5000,0"), line_tag(b"0,5001,0"));
        let mut tags = String::new();
        push_tag(&mut tags, b"x");
        assert_eq!(tags.len(), 4);
    }
}
