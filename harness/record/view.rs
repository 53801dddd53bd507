//! The one view of a run: the fold of its record, read once, that every output is rendered
//! from (JUnit, summary.json, the closing table, the HTML and Markdown reports).
//!
//! Built from `Record`s alone, one at a time: a long scenario's samples are thinned as they pass
//! (`thin::PLOT_POINTS`), so a year-long soak folds in the memory of a short run; a scenario's
//! part is complete at its `scenario_finished`, when its report section can be rendered and its
//! samples let go (`Fold::release`), so a run of many scenarios does too. Fields that the
//! record may lack (a run killed mid-way) are `Option`s, so every renderer has to say what is
//! missing instead of inventing it. Scenarios are in the order the run was given them.

use crate::expect::thin::{Thinner, PLOT_POINTS};
use crate::expect::{ExpectedAlarmEvent, ExpectedSample};
use crate::protocol::{AlarmKind, Priority};
use crate::record::journal::Record;
use crate::record::schema::{
    AlarmTransition, CheckResult, Mode, PlannedScenario, Sample, ScenarioKind, ScenarioSetup,
    StepAction, StepOutcome, TrumpetResult,
};
use crate::record::verdict::{self, RunVerdict};
use crate::record::{BalanceInfo, DeviceInfo, FileRef, RunEvent, ScenarioVerdict, TestSystem};
use crate::scenario::{Expectations, FindingKind, NegativeControl, Step, Window};

#[derive(Debug, Clone)]
pub struct RunHeader {
    pub schema_version: u32,
    pub run_id: String,
    pub started_utc: String,
    pub harness_version: String,
    pub git_commit: String,
    pub host: String,
    pub os: String,
    pub operator: Option<String>,
    pub command_line: Vec<String>,
    pub mode: Mode,
    pub bench_file: Option<FileRef>,
    pub seed: u64,
    pub jobs: usize,
    /// The scenarios the run was given, in order.
    pub planned: Vec<PlannedScenario>,
    pub csf: crate::expect::csf::CsfParams,
    /// The hazards, risk controls and requirements the scenarios trace to, as recorded.
    pub requirements: Option<crate::scenario::requirements::Requirements>,
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
pub type ExpectedRow = ExpectedSample;

#[derive(Debug, Clone)]
pub struct AppliedStep {
    pub t_ms: u64,
    pub index: usize,
    pub action: StepAction,
    pub outcome: StepOutcome,
}

/// An operator step as recorded: the instruction, who or what confirmed it, and when.
#[derive(Debug, Clone)]
pub struct OperatorRow {
    pub t_ms: u64,
    pub index: usize,
    pub instruction: String,
    pub confirmation: crate::record::Confirmation,
    pub host_utc: String,
    pub device_time_ms: u64,
}

#[derive(Debug, Clone)]
pub struct AlarmRow {
    pub t_ms: u64,
    pub alarm: AlarmKind,
    pub priority: Priority,
    pub raised: bool,
}

#[derive(Debug, Clone)]
pub struct FindingRow {
    pub kind: FindingKind,
    pub t_ms: u64,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub verdict: ScenarioVerdict,
    pub failed_checks: Vec<String>,
    pub reason: Option<String>,
    pub wall_ms: u64,
}

/// An expected alarm with its acceptance windows (scenario time, inclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedWindow {
    pub alarm: AlarmKind,
    pub priority: Priority,
    pub raised: (u64, u64),
    pub cleared: Option<(u64, u64)>,
}

/// Where a scenario got to: what the report and summary count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Planned, but the record has nothing of it.
    NeverStarted,
    /// Started (or given up on) without a verdict that judges it: cut short, or no verdict.
    Incomplete,
    /// Ran to its end and was judged (or could not start: an input error).
    Finished,
}

#[derive(Debug, Clone, Default)]
pub struct ScenarioView {
    pub id: String,
    /// Whether `run_started` lists it.
    pub planned: bool,
    /// Its kind as planned (before `scenario_started` says more).
    pub planned_kind: Option<ScenarioKind>,
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
    pub test_system: Option<TestSystem>,
    pub end_ms: u64,
    pub sample_ms: u64,
    pub setup: Option<ScenarioSetup>,
    pub planned_steps: Vec<Step>,
    pub expectations: Option<Expectations>,
    /// The fixture's expected rows; empty once the scenario's report section was rendered
    /// (`Fold::release`), as are `expected_alarms`.
    pub expected: Vec<ExpectedRow>,
    pub expected_alarms: Vec<ExpectedAlarmEvent>,
    pub applied: Vec<AppliedStep>,
    pub operator_steps: Vec<OperatorRow>,
    /// The thinned samples; only the last once the scenario's report section was rendered.
    pub samples: Vec<Sample>,
    pub alarms: Vec<AlarmRow>,
    pub findings: Vec<FindingRow>,
    /// The checks judged; without their uncertainty budgets once the scenario's report section
    /// was rendered (`Fold::release`).
    pub checks: Vec<CheckResult>,
    /// The `[analysis.trumpet]` curve, when the scenario asked for one.
    pub trumpet: Option<TrumpetResult>,
    /// The `bolus-volume` table: every bolus and rate change judged.
    pub boluses: Vec<crate::record::schema::BolusRow>,
    pub finished: Option<Finished>,
    /// Samples recorded (the `samples` above may be a thinned subset).
    pub sample_count: u64,
    /// When `scenario_started` was written (UTC, RFC 3339).
    pub started_utc: Option<String>,
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
    /// Samples in side files past their last block (a run killed before recording them).
    pub uncovered: Vec<crate::record::sample_blocks::Uncovered>,
}

/// A person's electronic signature, as the signature block shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureRow {
    pub name: String,
    pub role: crate::record::SignatureRole,
    pub meaning: String,
    pub signed_utc: String,
    pub fingerprint: String,
    /// The record line (seq) whose chain head it signs.
    pub signs_seq: u64,
}

#[derive(Debug, Clone, Default)]
pub struct RunView {
    pub run: Option<RunHeader>,
    pub end: Option<RunEnd>,
    pub scenarios: Vec<ScenarioView>,
    pub deviations: Vec<DeviationRow>,
    pub last_seq: Option<u64>,
    /// Records read (every one, samples included, whatever was thinned).
    pub records: u64,
    pub integrity: RecordIntegrity,
    /// Files of the run directory (outputs other than the reports and the manifest).
    pub run_files: Vec<HashedFile>,
    /// Fingerprints of the station keys that signed the record's chain, in order of first use.
    pub station_keys: Vec<String>,
    /// Electronic signatures, in the order signed.
    pub signatures: Vec<SignatureRow>,
    /// Why this rendering is NOT VERIFIED (`pumphil report --force`); empty for a verified one.
    pub not_verified: Vec<String>,
    /// The share of a whole set this run ran (`run --partition K/N`), as `run_started` says.
    pub partition: Option<crate::record::schema::Partition>,
    /// The runs a merged run was made of (`pumphil merge`), as `run_started` says.
    pub parts: Vec<crate::record::MergedPart>,
}

fn window(w: &Window) -> (u64, u64) {
    (w.earliest_ms, w.latest_ms)
}

impl ScenarioView {
    fn new(id: &str) -> ScenarioView {
        ScenarioView {
            id: id.to_string(),
            ..ScenarioView::default()
        }
    }

    pub fn is_negative_control(&self) -> bool {
        self.kind() == ScenarioKind::NegativeControl
    }

    /// Its kind: from `scenario_started` when recorded, else as planned.
    pub fn kind(&self) -> ScenarioKind {
        match (&self.negative_control, self.started) {
            (Some(_), _) => ScenarioKind::NegativeControl,
            (None, true) => ScenarioKind::Scenario,
            (None, false) => self.planned_kind.unwrap_or(ScenarioKind::Scenario),
        }
    }

    /// The recorded verdict, if the record reaches it (see `verdict()` for what counts).
    pub fn recorded_verdict(&self) -> Option<ScenarioVerdict> {
        self.finished.as_ref().map(|f| f.verdict)
    }

    /// The scenario's verdict as every output shows it (`record::verdict` decides).
    pub fn verdict(&self) -> ScenarioVerdict {
        verdict::scenario_outcome(self)
    }

    pub fn progress(&self) -> Progress {
        verdict::progress(self)
    }

    /// Relative and absolute volume tolerance from the recorded setup: (fraction, nL).
    pub fn volume_tolerance(&self) -> Option<(f64, u64)> {
        let t = &self.setup.as_ref()?.tolerance;
        Some((t.volume_relative, t.volume_absolute_nl))
    }

    pub fn low_reservoir_threshold_nl(&self) -> Option<u64> {
        Some(self.setup.as_ref()?.device.low_reservoir_threshold_nl)
    }

    /// Volume of one pump stroke, from the recorded setup.
    pub fn stroke_nl(&self) -> Option<u64> {
        Some(self.setup.as_ref()?.device.stroke_nl)
    }

    pub fn expected_windows(&self) -> Vec<ExpectedWindow> {
        let Some(expect) = &self.expectations else {
            return Vec::new();
        };
        expect
            .alarms
            .iter()
            .map(|a| ExpectedWindow {
                alarm: a.alarm,
                priority: a.priority,
                raised: window(&a.raised),
                cleared: a.cleared.as_ref().map(window),
            })
            .collect()
    }

    /// Spans in which alarms are forbidden: (alarms, empty meaning any; span).
    pub fn forbidden_spans(&self) -> Vec<(Vec<AlarmKind>, (u64, u64))> {
        let Some(expect) = &self.expectations else {
            return Vec::new();
        };
        expect
            .forbidden
            .iter()
            .map(|f| (f.alarms.clone(), window(&f.span)))
            .collect()
    }

    /// Expected harness findings: (kind, window).
    pub fn expected_findings(&self) -> Vec<(FindingKind, (u64, u64))> {
        let Some(expect) = &self.expectations else {
            return Vec::new();
        };
        expect
            .findings
            .iter()
            .map(|f| (f.kind, window(&f.window)))
            .collect()
    }

    /// Whether a check is one the negative control requires to fail.
    pub fn required_to_fail(&self, check: &str) -> bool {
        self.negative_control
            .as_ref()
            .is_some_and(|nc| verdict::is_required(&nc.must_fail, check))
    }

    /// Checks passed and judged.
    pub fn checks_passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed()).count()
    }

    /// Checks judged FAIL (a check not evaluated is neither passed nor failed).
    pub fn checks_failed(&self) -> usize {
        self.checks.iter().filter(|c| c.failed()).count()
    }

    /// Checks that could not be judged: listed as "not evaluated" in every output.
    pub fn checks_not_evaluated(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.not_evaluated())
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The scenario time the record reaches (last sample, alarm or step).
    pub fn last_t_ms(&self) -> u64 {
        let samples = self.samples.last().map(|s| s.t_ms).unwrap_or(0);
        let alarms = self.alarms.iter().map(|a| a.t_ms).max().unwrap_or(0);
        let steps = self.applied.iter().map(|s| s.t_ms).max().unwrap_or(0);
        samples.max(alarms).max(steps)
    }
}

/// Folds a record into a `RunView` one record at a time; see the module comment.
///
/// A scenario's part of the view is complete at its `scenario_finished` (`absorb` says so), so
/// its report section can be rendered then and what only that section needs let go
/// (`release`): a run of thousands of scenarios folds in the memory of one.
pub struct Fold {
    view: RunView,
    /// Each scenario's samples as they pass, parallel to `view.scenarios`; None once the
    /// thinned samples were put into the view (`finished_scenario`).
    samples: Vec<Option<Thinner<Sample>>>,
    /// Scenarios whose section was rendered and whose samples and fixture rows were let go.
    released: Vec<bool>,
    /// Whether a record reached a released scenario (or the run's header) after its section
    /// was rendered: that section no longer shows the whole record.
    stale: bool,
    /// False for a fold that keeps no samples or fixture rows (`for_verdicts`).
    keep_traces: bool,
    /// Each scenario's index in `view.scenarios`, by id (a run may have thousands).
    index: std::collections::HashMap<String, usize>,
}

impl Default for Fold {
    fn default() -> Fold {
        Fold::new()
    }
}

impl Fold {
    pub fn new() -> Fold {
        Fold {
            view: RunView::default(),
            samples: Vec::new(),
            released: Vec::new(),
            stale: false,
            keep_traces: true,
            index: Default::default(),
        }
    }

    /// A fold that keeps no scenario's samples, fixture rows or checks' uncertainty budgets,
    /// only what verdicts are decided from (`pumphil verify` re-derives them): its memory does
    /// not grow with the scenarios' traces. Its scenarios' `samples` are empty.
    pub fn for_verdicts() -> Fold {
        Fold {
            keep_traces: false,
            ..Fold::new()
        }
    }

    /// The view so far, with a finished scenario's thinned samples put in place, for rendering
    /// its section as soon as `absorb` says its record is complete.
    pub fn finished_scenario(&mut self, index: usize) -> (&RunView, &ScenarioView) {
        if let Some(samples) = self.samples[index].take() {
            self.view.scenarios[index].samples = samples.finish();
        }
        (&self.view, &self.view.scenarios[index])
    }

    /// Lets go of what only a scenario's own section shows (its thinned samples but the last,
    /// its fixture rows, its checks' uncertainty budgets), once that section is rendered; what
    /// the rest of the outputs read of the scenario stays.
    pub fn release(&mut self, index: usize) {
        let s = &mut self.view.scenarios[index];
        let last = s.samples.pop();
        s.samples = last.into_iter().collect();
        s.expected = Vec::new();
        s.expected_alarms = Vec::new();
        for check in &mut s.checks {
            check.uncertainty = None;
        }
        // Thousands of scenarios stay in the view: none keeps room it will not use.
        s.checks.shrink_to_fit();
        s.applied.shrink_to_fit();
        s.alarms.shrink_to_fit();
        s.findings.shrink_to_fit();
        self.samples[index] = None;
        self.released[index] = true;
    }

    /// Whether a record came after a released scenario's section was rendered and concerns it
    /// (a record of that scenario, or a `run_started`): that section must be rendered again
    /// from a fold that kept everything.
    pub fn stale(&self) -> bool {
        self.stale
    }

    fn index_of(&mut self, id: &str) -> usize {
        match self.index.get(id) {
            Some(&p) => p,
            None => {
                self.index.insert(id.to_string(), self.view.scenarios.len());
                self.view.scenarios.push(ScenarioView::new(id));
                self.samples
                    .push(self.keep_traces.then(|| Thinner::new(PLOT_POINTS)));
                self.released.push(false);
                self.view.scenarios.len() - 1
            }
        }
    }

    fn scenario_mut(&mut self, id: &str) -> &mut ScenarioView {
        let index = self.index_of(id);
        &mut self.view.scenarios[index]
    }

    /// Takes one record in; a sample is moved into its scenario's thinned trace. Returns the
    /// scenario's index when the record is its `scenario_finished`, the first time: its part of
    /// the view is complete.
    pub fn absorb(&mut self, record: Record) -> Option<usize> {
        let touched = match (&record.event, record.event.scenario()) {
            (RunEvent::RunStarted { .. }, _) => Some(self.released.contains(&true)),
            (_, Some(id)) => Some(
                self.index
                    .get(id)
                    .is_some_and(|&index| self.released[index]),
            ),
            _ => None,
        };
        self.stale |= touched == Some(true);
        let finished = match &record.event {
            RunEvent::ScenarioFinished { scenario, .. } => {
                let index = self.index_of(scenario);
                self.samples[index].is_some().then_some(index)
            }
            _ => None,
        };
        self.absorb_event(record);
        finished
    }

    fn absorb_event(&mut self, record: Record) {
        let signs_seq = record.seq.saturating_sub(1);
        self.view.last_seq = Some(record.seq);
        self.view.records += 1;
        match record.event {
            RunEvent::RunStarted {
                schema_version,
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
                requirements,
                partition,
                parts,
            } => {
                self.view.partition = partition;
                self.view.parts = parts;
                for planned in &scenarios {
                    let s = self.scenario_mut(&planned.id);
                    s.planned = true;
                    s.planned_kind = Some(planned.kind);
                }
                self.view.run = Some(RunHeader {
                    schema_version,
                    csf,
                    requirements,
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
                    planned: scenarios,
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
                test_system,
                end_ms,
                sample_ms,
                setup,
                steps,
                expectations,
                expected_samples,
                expected_alarms,
            } => {
                let keep_traces = self.keep_traces;
                let s = self.scenario_mut(&scenario);
                s.started_utc = Some(record.at_utc.clone());
                s.started = true;
                s.title = title;
                s.description = description;
                s.requirements = requirements;
                s.hazard = hazard;
                s.negative_control = negative_control;
                s.file = Some(file);
                s.fixtures = fixtures;
                s.device = Some(device);
                s.balance = balance;
                s.test_system = test_system;
                s.end_ms = end_ms;
                s.sample_ms = sample_ms;
                s.setup = Some(setup);
                s.planned_steps = steps;
                s.expectations = Some(expectations);
                if keep_traces {
                    s.expected = expected_samples;
                    s.expected_alarms = expected_alarms;
                }
            }
            RunEvent::StepApplied {
                scenario,
                t_ms,
                index,
                action,
                outcome,
            } => self.scenario_mut(&scenario).applied.push(AppliedStep {
                t_ms,
                index,
                action,
                outcome,
            }),
            RunEvent::OperatorWaiting { .. } => {}
            RunEvent::OperatorConfirmed {
                scenario,
                t_ms,
                index,
                instruction,
                confirmation,
                host_utc,
                device_time_ms,
            } => self
                .scenario_mut(&scenario)
                .operator_steps
                .push(OperatorRow {
                    t_ms,
                    index,
                    instruction,
                    confirmation,
                    host_utc,
                    device_time_ms,
                }),
            RunEvent::Sample { scenario, sample } => {
                let index = self.index_of(&scenario);
                self.view.scenarios[index].sample_count += 1;
                if let Some(samples) = &mut self.samples[index] {
                    samples.push(sample);
                }
            }
            // Readers hand on a block's samples, not the block (`journal::Reader`).
            RunEvent::SampleBlock { .. } => {}
            RunEvent::Alarm {
                scenario,
                t_ms,
                alarm,
                priority,
                transition,
                ..
            } => self.scenario_mut(&scenario).alarms.push(AlarmRow {
                t_ms,
                alarm,
                priority,
                raised: transition == AlarmTransition::Raised,
            }),
            RunEvent::Deviation {
                scenario,
                t_ms,
                kind,
                detail,
            } => self.view.deviations.push(DeviationRow {
                scenario,
                t_ms,
                kind,
                detail,
            }),
            RunEvent::Finding {
                scenario,
                kind,
                t_ms,
                detail,
            } => self
                .scenario_mut(&scenario)
                .findings
                .push(FindingRow { kind, t_ms, detail }),
            RunEvent::Check {
                scenario,
                mut result,
            } => {
                if !self.keep_traces {
                    result.uncertainty = None;
                }
                self.scenario_mut(&scenario).checks.push(result)
            }
            RunEvent::Trumpet { scenario, result } => {
                self.scenario_mut(&scenario).trumpet = Some(result)
            }
            RunEvent::BolusVolumes { scenario, rows } => {
                self.scenario_mut(&scenario).boluses = rows
            }
            RunEvent::ScenarioFinished {
                scenario,
                verdict,
                failed_checks,
                reason,
                wall_ms,
            } => {
                self.scenario_mut(&scenario).finished = Some(Finished {
                    verdict,
                    failed_checks,
                    reason,
                    wall_ms,
                })
            }
            RunEvent::ChainSignature { fingerprint, .. } => {
                if !self.view.station_keys.contains(&fingerprint) {
                    self.view.station_keys.push(fingerprint);
                }
            }
            RunEvent::ElectronicSignature {
                name,
                role,
                meaning,
                signed_utc,
                fingerprint,
                ..
            } => self.view.signatures.push(SignatureRow {
                name,
                role,
                meaning,
                signed_utc,
                fingerprint,
                signs_seq,
            }),
            RunEvent::RunFinished {
                finished_utc,
                exit_code,
                passed,
                failed,
                incomplete,
                errors,
            } => {
                self.view.end = Some(RunEnd {
                    finished_utc,
                    exit_code,
                    passed,
                    failed,
                    incomplete,
                    errors,
                })
            }
        }
    }

    /// The view, with what reading the record found wrong with it.
    pub fn finish(self, integrity: RecordIntegrity) -> RunView {
        let mut view = self.view;
        for (scenario, samples) in view.scenarios.iter_mut().zip(self.samples) {
            if let Some(samples) = samples {
                scenario.samples = samples.finish();
            }
        }
        view.integrity = integrity;
        view
    }
}

impl RunView {
    /// The view of records already in memory (tests, re-rendering a slice).
    pub fn from_records(records: &[Record]) -> RunView {
        let mut fold = Fold::new();
        for record in records {
            fold.absorb(record.clone());
        }
        fold.finish(RecordIntegrity::default())
    }

    pub fn run_id(&self) -> &str {
        self.run
            .as_ref()
            .map(|r| r.run_id.as_str())
            .unwrap_or("(unknown: the record has no run_started)")
    }

    /// The run's overall verdict (`record::verdict` decides).
    pub fn verdict(&self) -> RunVerdict {
        verdict::run_outcome(self)
    }

    /// Scenarios planned, finished, incomplete, never started, and by verdict.
    pub fn tally(&self) -> verdict::Tally {
        verdict::tally(self)
    }

    /// Whether the record is whole: a run end, every scenario finished, nothing cut or broken.
    pub fn is_complete(&self) -> bool {
        self.run.is_some()
            && self.end.is_some()
            && self.scenarios.iter().all(|s| s.finished.is_some())
            && self.integrity.truncated_at_line.is_none()
            && self.integrity.problems.is_empty()
            && self.integrity.uncovered.is_empty()
    }

    /// The part of a merged run that ran `scenario` (None for a run that ran it itself).
    pub fn part_of(&self, scenario: &str) -> Option<&crate::record::MergedPart> {
        self.parts
            .iter()
            .find(|p| p.scenarios.iter().any(|id| id == scenario))
    }

    /// Where a scenario's samples are, relative to the run directory: its sample trace, or in a
    /// merged run the one its part wrote (the merged record's blocks name that file).
    pub fn sample_trace_of(&self, scenario: &str) -> String {
        let trace = format!(
            "{}/{}.csv",
            crate::record::sample_csv::DIR,
            crate::record::sample_csv::file_stem(scenario)
        );
        match self.part_of(scenario) {
            Some(part) => format!("{}/{trace}", part.dir),
            None => trace,
        }
    }

    /// The deviations recorded against a scenario.
    pub fn deviations_of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a DeviationRow> {
        self.deviations
            .iter()
            .filter(move |d| d.scenario.as_deref() == Some(id))
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
            if s.started {
                out.push(format!(
                    "{ends_at}; scenario {} INCOMPLETE: no verdict was recorded (its record reaches {})",
                    s.id,
                    crate::scenario::duration::format_duration(s.last_t_ms())
                ));
            } else {
                out.push(format!(
                    "{ends_at}; scenario {} INCOMPLETE: planned but never started",
                    s.id
                ));
            }
        }
        for (line, problem) in &self.integrity.problems {
            out.push(format!("events.jsonl line {line}: {problem}"));
        }
        for cut in &self.integrity.uncovered {
            let why = if self.end.is_some() {
                "added after the run (the run had finished)"
            } else {
                "the run was killed before recording them; they are not shown"
            };
            out.push(format!("{ends_at}; {cut}: {why}"));
        }
        out
    }
}
