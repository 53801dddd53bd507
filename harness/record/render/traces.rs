//! `traces/<scenario>.csv` and `traces/<scenario>-alarms.csv`: the measured traces.

use super::{scenario_ids, scenario_records};
use crate::record::journal::Record;
use crate::record::RunEvent;
use std::path::Path;

pub const DIR: &str = "traces";

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

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(|v| v.to_string()).unwrap_or_default()
}

pub fn write(dir: &Path, records: &[Record]) -> std::io::Result<()> {
    let traces = dir.join(DIR);
    std::fs::create_dir_all(&traces)?;
    for id in scenario_ids(records) {
        let mut samples = csv::Writer::from_writer(Vec::new());
        let mut alarms = csv::Writer::from_writer(Vec::new());
        let header = [
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
        samples
            .write_record(header)
            .map_err(std::io::Error::other)?;
        alarms
            .write_record([
                "t_ms",
                "device_time_ms",
                "alarm",
                "priority",
                "transition",
                "event_seq",
            ])
            .map_err(std::io::Error::other)?;
        for r in scenario_records(records, &id) {
            match &r.event {
                RunEvent::Sample { sample: s, .. } => {
                    samples
                        .write_record([
                            s.t_ms.to_string(),
                            s.device_time_ms.to_string(),
                            s.delivered_nl.to_string(),
                            s.calculated_nl.to_string(),
                            s.dose_rate_ug_per_day.to_string(),
                            s.concentration_ug_per_ml.to_string(),
                            s.therapy_state.clone(),
                            s.battery_permille.to_string(),
                            s.elective_replacement.to_string(),
                            s.end_of_service.to_string(),
                            s.active_alarms.join(" "),
                            s.balance_g.map(|g| format!("{g:.5}")).unwrap_or_default(),
                            opt(&s.balance_stable),
                            opt(&s.tip_nl),
                            opt(&s.actual_reservoir_nl),
                            opt(&s.pocket_nl),
                        ])
                        .map_err(std::io::Error::other)?;
                }
                RunEvent::Alarm {
                    t_ms,
                    device_time_ms,
                    alarm,
                    priority,
                    transition,
                    event_seq,
                    ..
                } => {
                    alarms
                        .write_record([
                            t_ms.to_string(),
                            device_time_ms.to_string(),
                            alarm.clone(),
                            priority.clone(),
                            transition.clone(),
                            event_seq.to_string(),
                        ])
                        .map_err(std::io::Error::other)?;
                }
                _ => {}
            }
        }
        std::fs::write(
            traces.join(format!("{}.csv", file_stem(&id))),
            samples
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        )?;
        std::fs::write(
            traces.join(format!("{}-alarms.csv", file_stem(&id))),
            alarms
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        )?;
    }
    Ok(())
}
