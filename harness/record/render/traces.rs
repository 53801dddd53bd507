//! `traces/<scenario>-alarms.csv`: the alarm traces. The sample traces `traces/<scenario>.csv`
//! are written once, by the journal during the run (`record::sample_blocks`), and only read here.

use crate::record::journal::Record;
use crate::record::RunEvent;
use std::path::Path;

pub use crate::record::sample_csv::{file_stem, DIR};

const ALARM_HEADER: [&str; 6] = [
    "t_ms",
    "device_time_ms",
    "alarm",
    "priority",
    "transition",
    "event_seq",
];

type CsvFile = csv::Writer<std::io::BufWriter<std::fs::File>>;

/// Writes each scenario's alarm trace as its records stream past: a scenario gets its file
/// when it starts (or finishes without starting), and every alarm after that is appended. A
/// scenario's file is closed at its end, so the open files (and their buffers) do not grow with
/// the number of scenarios.
pub struct TraceWriter {
    dir: std::path::PathBuf,
    open: Vec<(String, CsvFile)>,
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

    /// A scenario's open file; a closed scenario's is opened again to append to.
    fn files(&mut self, id: &str) -> std::io::Result<Option<&mut (String, CsvFile)>> {
        if self.closed.remove(id) {
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(self.dir.join(format!("{}-alarms.csv", file_stem(id))))?;
            let alarms = csv::Writer::from_writer(std::io::BufWriter::new(file));
            self.open.push((id.to_string(), alarms));
        }
        Ok(self.open.iter_mut().find(|(open, _)| open == id))
    }

    /// Flushes and closes a finished scenario's file.
    fn close(&mut self, id: &str) -> std::io::Result<()> {
        if let Some(at) = self.open.iter().position(|(open, _)| open == id) {
            let (id, mut alarms) = self.open.swap_remove(at);
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
                let alarms = create(self.dir.join(format!("{stem}-alarms.csv")), &ALARM_HEADER)?;
                self.open.push((scenario.clone(), alarms));
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
                if let Some((_, alarms)) = self.files(scenario)? {
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
        for (_, mut alarms) in self.open {
            alarms.flush()?;
        }
        Ok(())
    }
}

fn transition_name(transition: crate::record::schema::AlarmTransition) -> &'static str {
    match transition {
        crate::record::schema::AlarmTransition::Raised => "raised",
        crate::record::schema::AlarmTransition::Cleared => "cleared",
    }
}
