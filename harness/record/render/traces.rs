//! `traces/<scenario>.csv` and `traces/<scenario>-alarms.csv`: the measured traces.

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

const SAMPLE_HEADER: [&str; 16] = [
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

const ALARM_HEADER: [&str; 6] = [
    "t_ms",
    "device_time_ms",
    "alarm",
    "priority",
    "transition",
    "event_seq",
];

type CsvFile = csv::Writer<std::io::BufWriter<std::fs::File>>;

/// Writes each scenario's trace files as its records stream past: a scenario gets its files
/// when it starts (or finishes without starting), and every sample and alarm after that is
/// appended, so a year of samples is never held in memory. A scenario's files are closed at its
/// end, so the open files (and their buffers) do not grow with the number of scenarios.
pub struct TraceWriter {
    dir: std::path::PathBuf,
    open: Vec<(String, CsvFile, CsvFile)>,
    /// Scenarios whose files were closed at their end; reopened to append, should the record
    /// go on about one.
    closed: std::collections::HashSet<String>,
}

fn create(path: std::path::PathBuf, header: &[&str]) -> std::io::Result<CsvFile> {
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(std::fs::File::create(path)?));
    w.write_record(header).map_err(std::io::Error::other)?;
    Ok(w)
}

impl TraceWriter {
    pub fn create(dir: &Path) -> std::io::Result<TraceWriter> {
        Self::create_in(&dir.join(DIR))
    }

    /// Writes the trace files into `traces` itself rather than a run directory's `traces/`.
    pub fn create_in(traces: &Path) -> std::io::Result<TraceWriter> {
        std::fs::create_dir_all(traces)?;
        Ok(TraceWriter {
            dir: traces.to_path_buf(),
            open: Vec::new(),
            closed: Default::default(),
        })
    }

    /// A scenario's open files; a closed scenario's are opened again to append to.
    fn files(&mut self, id: &str) -> std::io::Result<Option<&mut (String, CsvFile, CsvFile)>> {
        if self.closed.remove(id) {
            let stem = file_stem(id);
            let append = |name: String| -> std::io::Result<CsvFile> {
                let file = std::fs::OpenOptions::new()
                    .append(true)
                    .open(self.dir.join(name))?;
                Ok(csv::Writer::from_writer(std::io::BufWriter::new(file)))
            };
            let files = (
                id.to_string(),
                append(format!("{stem}.csv"))?,
                append(format!("{stem}-alarms.csv"))?,
            );
            self.open.push(files);
        }
        Ok(self.open.iter_mut().find(|(open, _, _)| open == id))
    }

    /// Flushes and closes a finished scenario's files.
    fn close(&mut self, id: &str) -> std::io::Result<()> {
        if let Some(at) = self.open.iter().position(|(open, _, _)| open == id) {
            let (id, mut samples, mut alarms) = self.open.swap_remove(at);
            samples.flush()?;
            alarms.flush()?;
            self.closed.insert(id);
        }
        Ok(())
    }

    pub fn record(&mut self, record: &Record) -> std::io::Result<()> {
        match &record.event {
            RunEvent::ScenarioStarted { scenario, .. }
            | RunEvent::ScenarioFinished { scenario, .. }
                if self.files(scenario)?.is_none() =>
            {
                let stem = file_stem(scenario);
                let samples = create(self.dir.join(format!("{stem}.csv")), &SAMPLE_HEADER)?;
                let alarms = create(self.dir.join(format!("{stem}-alarms.csv")), &ALARM_HEADER)?;
                self.open.push((scenario.clone(), samples, alarms));
            }
            RunEvent::Sample {
                scenario,
                sample: s,
            } => {
                if let Some((_, samples, _)) = self.files(scenario)? {
                    samples
                        .write_record([
                            s.t_ms.to_string(),
                            s.device_time_ms.to_string(),
                            s.delivered_nl.to_string(),
                            s.calculated_nl.to_string(),
                            s.dose_rate_ug_per_day.to_string(),
                            s.concentration_ug_per_ml.to_string(),
                            s.therapy_state.name().to_string(),
                            s.battery_permille.to_string(),
                            s.elective_replacement.to_string(),
                            s.end_of_service.to_string(),
                            alarm_names(&s.active_alarms),
                            s.balance_g.map(|g| format!("{g:.5}")).unwrap_or_default(),
                            opt(&s.balance_stable),
                            opt(&s.tip_nl),
                            opt(&s.actual_reservoir_nl),
                            opt(&s.pocket_nl),
                        ])
                        .map_err(std::io::Error::other)?;
                }
            }
            RunEvent::Alarm {
                scenario,
                t_ms,
                device_time_ms,
                alarm,
                priority,
                transition,
                event_seq,
            } => {
                if let Some((_, _, alarms)) = self.files(scenario)? {
                    alarms
                        .write_record([
                            t_ms.to_string(),
                            device_time_ms.to_string(),
                            alarm.name().to_string(),
                            priority.name().to_string(),
                            transition_name(*transition).to_string(),
                            event_seq.to_string(),
                        ])
                        .map_err(std::io::Error::other)?;
                }
            }
            _ => {}
        }
        if let RunEvent::ScenarioFinished { scenario, .. } = &record.event {
            self.close(scenario)?;
        }
        Ok(())
    }

    pub fn finish(self) -> std::io::Result<()> {
        for (_, mut samples, mut alarms) in self.open {
            samples.flush()?;
            alarms.flush()?;
        }
        Ok(())
    }
}

/// Active alarms as one space-separated field.
fn alarm_names(alarms: &[crate::protocol::AlarmKind]) -> String {
    let mut out = String::new();
    for (i, alarm) in alarms.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(alarm.name());
    }
    out
}

fn transition_name(transition: crate::record::schema::AlarmTransition) -> &'static str {
    match transition {
        crate::record::schema::AlarmTransition::Raised => "raised",
        crate::record::schema::AlarmTransition::Cleared => "cleared",
    }
}
