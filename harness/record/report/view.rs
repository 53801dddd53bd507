//! The run record regrouped for reporting: one run header, one view per scenario, the gaps.
//!
//! Built from `Record`s alone. Fields that the record may lack (a run killed mid-way) are
//! `Option`s, so every renderer has to say what is missing instead of inventing it.

use crate::checks::CheckResult;
use crate::record::journal::Record;
use crate::record::{BalanceInfo, DeviceInfo, FileRef, RunEvent, Sample, ScenarioVerdict};
use crate::scenario::NegativeControl;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct RunHeader {
    pub run_id: String,
    pub started_utc: String,
    pub harness_version: String,
    pub git_commit: String,
    pub host: String,
    pub os: String,
    pub operator: Option<String>,
    pub command_line: Vec<String>,
    pub mode: String,
    pub bench_file: Option<FileRef>,
    pub seed: u64,
    pub jobs: usize,
    pub scenario_files: Vec<FileRef>,
    pub csf: super::csf::CsfParams,
}

#[derive(Debug, Clone)]
pub struct RunEnd {
    pub finished_utc: String,
    pub exit_code: u8,
    pub passed: usize,
    pub failed: usize,
    pub incomplete: usize,
    pub errors: usize,
}

/// One row of the fixture's expected trace (see `ScenarioStarted.expected_samples`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpectedRow {
    pub t_ms: u64,
    pub delivered_nl: u64,
    pub calculated_nl: u64,
    pub tip_nl: u64,
    pub actual_nl: u64,
    pub programmed_nl_per_day: u64,
}

#[derive(Debug, Clone)]
pub struct AppliedStep {
    pub t_ms: u64,
    pub index: usize,
    pub action: Value,
    pub outcome: String,
}

#[derive(Debug, Clone)]
pub struct AlarmRow {
    pub t_ms: u64,
    pub alarm: String,
    pub priority: String,
    pub raised: bool,
}

#[derive(Debug, Clone)]
pub struct FindingRow {
    pub kind: String,
    pub t_ms: u64,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub verdict: ScenarioVerdict,
    pub failed_checks: Vec<String>,
    pub reason: Option<String>,
}

/// An expected alarm with its acceptance windows (scenario time, inclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedWindow {
    pub alarm: String,
    pub priority: String,
    pub raised: (u64, u64),
    pub cleared: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Default)]
pub struct ScenarioView {
    pub id: String,
    /// False when the record has a `ScenarioFinished` without a `ScenarioStarted`.
    pub started: bool,
    pub title: String,
    pub description: String,
    pub requirements: Vec<String>,
    pub hazard: String,
    pub negative_control: Option<NegativeControl>,
    pub file: Option<FileRef>,
    pub fixtures: Vec<FileRef>,
    pub device: Option<DeviceInfo>,
    pub balance: Option<BalanceInfo>,
    pub end_ms: u64,
    pub sample_ms: u64,
    pub setup: Value,
    pub planned_steps: Value,
    pub expectations: Value,
    pub expected: Vec<ExpectedRow>,
    pub applied: Vec<AppliedStep>,
    pub samples: Vec<Sample>,
    pub alarms: Vec<AlarmRow>,
    pub findings: Vec<FindingRow>,
    pub checks: Vec<CheckResult>,
    pub finished: Option<Finished>,
}

impl ScenarioView {
    /// How many recorded samples each plotted sample stands for, when a long scenario's samples
    /// were thinned for the report (None when every sample is here).
    pub fn plotted_stride(&self) -> Option<u64> {
        let first = self.samples.first()?.t_ms;
        let second = self.samples.get(1)?.t_ms;
        let stride = (second - first) / self.sample_ms.max(1);
        (stride > 1).then_some(stride)
    }
}

#[derive(Debug, Clone)]
pub struct DeviationRow {
    pub scenario: Option<String>,
    pub t_ms: Option<u64>,
    pub kind: String,
    pub detail: String,
}

/// A file of the run directory or an input of the run, with its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedFile {
    pub path: String,
    pub sha256: String,
    pub bytes: Option<u64>,
}

/// Where reading the record stopped short and what did not check out.
#[derive(Debug, Clone, Default)]
pub struct RecordIntegrity {
    pub truncated_at_line: Option<usize>,
    pub problems: Vec<(usize, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct RunView {
    pub run: Option<RunHeader>,
    pub end: Option<RunEnd>,
    pub scenarios: Vec<ScenarioView>,
    pub deviations: Vec<DeviationRow>,
    pub last_seq: Option<u64>,
    pub integrity: RecordIntegrity,
    /// Files of the run directory (outputs other than the reports and the manifest).
    pub run_files: Vec<HashedFile>,
}

fn u64_at(value: &Value, path: &[&str]) -> Option<u64> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_u64()
}

fn f64_at(value: &Value, path: &[&str]) -> Option<f64> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_f64()
}

fn expected_rows(value: &Value) -> Vec<ExpectedRow> {
    let Some(rows) = value.as_array() else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(|row| {
            let n = |i: usize| row.get(i).and_then(Value::as_u64);
            Some(ExpectedRow {
                t_ms: n(0)?,
                delivered_nl: n(1)?,
                calculated_nl: n(2)?,
                tip_nl: n(3)?,
                actual_nl: n(4)?,
                programmed_nl_per_day: n(5)?,
            })
        })
        .collect()
}

fn window(value: &Value) -> Option<(u64, u64)> {
    Some((
        u64_at(value, &["earliest_ms"])?,
        u64_at(value, &["latest_ms"])?,
    ))
}

impl ScenarioView {
    fn new(id: &str) -> ScenarioView {
        ScenarioView {
            id: id.to_string(),
            ..ScenarioView::default()
        }
    }

    pub fn is_negative_control(&self) -> bool {
        self.negative_control.is_some()
    }

    pub fn verdict(&self) -> Option<ScenarioVerdict> {
        self.finished.as_ref().map(|f| f.verdict)
    }

    /// Relative and absolute volume tolerance from the recorded setup: (fraction, nL).
    pub fn volume_tolerance(&self) -> Option<(f64, u64)> {
        Some((
            f64_at(&self.setup, &["tolerance", "volume_relative"])?,
            u64_at(&self.setup, &["tolerance", "volume_absolute_nl"])?,
        ))
    }

    pub fn low_reservoir_threshold_nl(&self) -> Option<u64> {
        u64_at(&self.setup, &["device", "low_reservoir_threshold_nl"])
    }

    pub fn expected_windows(&self) -> Vec<ExpectedWindow> {
        let Some(alarms) = self.expectations.get("alarms").and_then(Value::as_array) else {
            return Vec::new();
        };
        alarms
            .iter()
            .filter_map(|a| {
                Some(ExpectedWindow {
                    alarm: a.get("alarm")?.as_str()?.to_string(),
                    priority: a
                        .get("priority")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    raised: window(a.get("raised")?)?,
                    cleared: a.get("cleared").and_then(window),
                })
            })
            .collect()
    }

    /// Spans in which alarms are forbidden: (alarm names, empty meaning any; span).
    pub fn forbidden_spans(&self) -> Vec<(Vec<String>, (u64, u64))> {
        let Some(spans) = self.expectations.get("forbidden").and_then(Value::as_array) else {
            return Vec::new();
        };
        spans
            .iter()
            .filter_map(|f| {
                let names = f
                    .get("alarms")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|n| n.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                Some((names, window(f.get("span")?)?))
            })
            .collect()
    }

    /// Expected harness findings: (kind, window).
    pub fn expected_findings(&self) -> Vec<(String, (u64, u64))> {
        let Some(list) = self.expectations.get("findings").and_then(Value::as_array) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|f| {
                Some((
                    f.get("kind")?.as_str()?.to_string(),
                    window(f.get("window")?)?,
                ))
            })
            .collect()
    }

    /// Whether a check is one the negative control requires to fail.
    pub fn required_to_fail(&self, check: &str) -> bool {
        self.negative_control.as_ref().is_some_and(|nc| {
            nc.must_fail
                .iter()
                .any(|m| m == check || crate::checks::names::family(check) == m)
        })
    }

    /// The scenario time the record reaches (last sample, alarm or step).
    pub fn last_t_ms(&self) -> u64 {
        let samples = self.samples.last().map(|s| s.t_ms).unwrap_or(0);
        let alarms = self.alarms.iter().map(|a| a.t_ms).max().unwrap_or(0);
        let steps = self.applied.iter().map(|s| s.t_ms).max().unwrap_or(0);
        samples.max(alarms).max(steps)
    }
}

impl RunView {
    pub fn from_records(records: &[Record]) -> RunView {
        let mut view = RunView {
            last_seq: records.last().map(|r| r.seq),
            ..RunView::default()
        };
        for record in records {
            view.absorb(&record.event);
        }
        view
    }

    fn scenario_mut(&mut self, id: &str) -> &mut ScenarioView {
        let position = match self.scenarios.iter().position(|s| s.id == id) {
            Some(p) => p,
            None => {
                self.scenarios.push(ScenarioView::new(id));
                self.scenarios.len() - 1
            }
        };
        &mut self.scenarios[position]
    }

    fn absorb(&mut self, event: &RunEvent) {
        match event {
            RunEvent::RunStarted {
                run_id,
                started_utc,
                harness_version,
                git_commit,
                host,
                os,
                operator,
                command_line,
                mode,
                bench_file,
                seed,
                jobs,
                scenarios,
                csf,
            } => {
                self.run = Some(RunHeader {
                    csf: *csf,
                    run_id: run_id.clone(),
                    started_utc: started_utc.clone(),
                    harness_version: harness_version.clone(),
                    git_commit: git_commit.clone(),
                    host: host.clone(),
                    os: os.clone(),
                    operator: operator.clone(),
                    command_line: command_line.clone(),
                    mode: mode.clone(),
                    bench_file: bench_file.clone(),
                    seed: *seed,
                    jobs: *jobs,
                    scenario_files: scenarios.clone(),
                })
            }
            RunEvent::ScenarioStarted {
                scenario,
                title,
                description,
                requirements,
                hazard,
                negative_control,
                file,
                fixtures,
                device,
                balance,
                end_ms,
                sample_ms,
                setup,
                steps,
                expectations,
                expected_samples,
                expected_alarms: _,
            } => {
                let s = self.scenario_mut(scenario);
                s.started = true;
                s.title = title.clone();
                s.description = description.clone();
                s.requirements = requirements.clone();
                s.hazard = hazard.clone();
                s.negative_control = negative_control.clone();
                s.file = Some(file.clone());
                s.fixtures = fixtures.clone();
                s.device = Some(device.clone());
                s.balance = balance.clone();
                s.end_ms = *end_ms;
                s.sample_ms = *sample_ms;
                s.setup = setup.clone();
                s.planned_steps = steps.clone();
                s.expectations = expectations.clone();
                s.expected = expected_rows(expected_samples);
            }
            RunEvent::StepApplied {
                scenario,
                t_ms,
                index,
                action,
                outcome,
            } => self.scenario_mut(scenario).applied.push(AppliedStep {
                t_ms: *t_ms,
                index: *index,
                action: action.clone(),
                outcome: outcome.clone(),
            }),
            RunEvent::Sample { scenario, sample } => {
                self.scenario_mut(scenario).samples.push(sample.clone())
            }
            RunEvent::Alarm {
                scenario,
                t_ms,
                alarm,
                priority,
                transition,
                ..
            } => self.scenario_mut(scenario).alarms.push(AlarmRow {
                t_ms: *t_ms,
                alarm: alarm.clone(),
                priority: priority.clone(),
                raised: transition == "raised",
            }),
            RunEvent::Deviation {
                scenario,
                t_ms,
                kind,
                detail,
            } => self.deviations.push(DeviationRow {
                scenario: scenario.clone(),
                t_ms: *t_ms,
                kind: kind.clone(),
                detail: detail.clone(),
            }),
            RunEvent::Finding {
                scenario,
                kind,
                t_ms,
                detail,
            } => self.scenario_mut(scenario).findings.push(FindingRow {
                kind: kind.clone(),
                t_ms: *t_ms,
                detail: detail.clone(),
            }),
            RunEvent::Check { scenario, result } => {
                self.scenario_mut(scenario).checks.push(result.clone())
            }
            RunEvent::ScenarioFinished {
                scenario,
                verdict,
                failed_checks,
                reason,
                ..
            } => {
                self.scenario_mut(scenario).finished = Some(Finished {
                    verdict: *verdict,
                    failed_checks: failed_checks.clone(),
                    reason: reason.clone(),
                })
            }
            RunEvent::RunFinished {
                finished_utc,
                exit_code,
                passed,
                failed,
                incomplete,
                errors,
            } => {
                self.end = Some(RunEnd {
                    finished_utc: finished_utc.clone(),
                    exit_code: *exit_code,
                    passed: *passed,
                    failed: *failed,
                    incomplete: *incomplete,
                    errors: *errors,
                })
            }
        }
    }

    pub fn run_id(&self) -> &str {
        self.run
            .as_ref()
            .map(|r| r.run_id.as_str())
            .unwrap_or("(unknown: the record has no run_started)")
    }

    /// Whether the record is whole: a run end, every scenario finished, nothing cut or broken.
    pub fn is_complete(&self) -> bool {
        self.run.is_some()
            && self.end.is_some()
            && self.scenarios.iter().all(|s| s.finished.is_some())
            && self.integrity.truncated_at_line.is_none()
            && self.integrity.problems.is_empty()
    }

    /// Statements of what the record lacks, most important first; empty for a whole record.
    pub fn gaps(&self) -> Vec<String> {
        let mut out = Vec::new();
        let ends_at = match self.last_seq {
            Some(seq) => format!("record ends at seq {seq}"),
            None => "record is empty".to_string(),
        };
        if self.run.is_none() {
            out.push(format!("{ends_at}; it has no run_started record, so the product and test system are unknown"));
        }
        if let Some(line) = self.integrity.truncated_at_line {
            out.push(format!("{ends_at}; line {line} of events.jsonl was cut short (the run was killed while writing it) and is not shown"));
        }
        if self.end.is_none() {
            out.push(format!(
                "{ends_at}; the run did not finish (no run_finished record)"
            ));
        }
        for s in self.scenarios.iter().filter(|s| s.finished.is_none()) {
            out.push(format!(
                "{ends_at}; scenario {} INCOMPLETE: no verdict was recorded (its record reaches {})",
                s.id,
                crate::scenario::duration::format_duration(s.last_t_ms())
            ));
        }
        for (line, problem) in &self.integrity.problems {
            out.push(format!("events.jsonl line {line}: {problem}"));
        }
        out
    }
}
