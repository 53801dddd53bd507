//! What the evidence report says, section by section, as renderer-neutral blocks.

use super::csf::{self, CsfOutcome};
use super::doc::{Block, Cell, Table, Tone};
use super::plots;
use super::traceability;
use super::view::{Progress, RunView, ScenarioView};
use super::ReportConfig;
use crate::protocol::Priority;
use crate::record::schema::{CheckResult, StepAction};
use crate::record::{Mode, RunVerdict, ScenarioVerdict};
use crate::scenario::duration::format_duration;
use crate::scenario::{Action, FaultSpec};
use crate::units::format_ml;

pub fn t(ms: u64) -> String {
    format_duration(ms)
}

/// Durations computed by the model, shown to the second.
fn t_rounded(ms: u64) -> String {
    format_duration((ms + 500) / 1000 * 1000)
}

/// A scenario's verdict in the word every output uses, with why it is INCOMPLETE when the
/// record does not reach a verdict.
pub fn scenario_verdict(view: &ScenarioView) -> (String, Tone) {
    let verdict = view.verdict();
    let tone = match verdict {
        ScenarioVerdict::Passed => Tone::Pass,
        ScenarioVerdict::Failed | ScenarioVerdict::ControlMissed | ScenarioVerdict::Error => {
            Tone::Fail
        }
        ScenarioVerdict::ControlCaught => Tone::Control,
        ScenarioVerdict::Incomplete => Tone::Warn,
    };
    let label = match (view.finished.is_some(), view.progress()) {
        (false, Progress::NeverStarted) => format!("{}: never started", verdict.label()),
        (false, _) => format!("{}: no verdict recorded", verdict.label()),
        _ => verdict.label().to_string(),
    };
    (label, tone)
}

/// A check's verdict read in its scenario's light: in a negative control, required failures
/// are the intended outcome and are shown apart from real failures.
pub fn check_verdict(view: &ScenarioView, check: &CheckResult) -> (String, Tone) {
    if check.not_evaluated() {
        return ("NOT EVALUATED".into(), Tone::Warn);
    }
    if check.inconclusive() {
        return ("INCONCLUSIVE".into(), Tone::Warn);
    }
    let required = view.required_to_fail(&check.name);
    match (view.is_negative_control(), check.passed(), required) {
        (false, true, _) => ("pass".into(), Tone::Pass),
        (false, false, _) => ("FAIL".into(), Tone::Fail),
        (true, false, true) => ("failed as required".into(), Tone::Control),
        (true, false, false) => ("also failed (not required)".into(), Tone::Neutral),
        (true, true, true) => ("PASSED — required to fail".into(), Tone::Fail),
        (true, true, false) => ("pass".into(), Tone::Pass),
    }
}

fn overall(view: &RunView) -> (String, Tone, Vec<String>) {
    let verdict = view.verdict();
    let tone = match verdict {
        RunVerdict::Pass => Tone::Pass,
        RunVerdict::Fail | RunVerdict::Error => Tone::Fail,
        RunVerdict::Incomplete => Tone::Warn,
    };
    let n = view.tally();
    let mut lines = vec![
        format!(
            "{} scenarios: {} passed, {} negative control(s) caught their defect, {} failed, {} negative control(s) missed their defect, {} error(s), {} incomplete",
            view.scenarios.len(),
            n.passed,
            n.defect_caught,
            n.failed,
            n.defect_missed,
            n.errors,
            n.incomplete + n.never_started
        ),
        format!(
            "{} planned: {} finished, {} incomplete, {} never started",
            n.planned, n.finished, n.incomplete, n.never_started
        ),
    ];
    match &view.end {
        Some(end) => lines.push(format!("pumphil exit code {}", end.exit_code)),
        None => lines.push("the run did not record its end".into()),
    }
    if view.scenarios.is_empty() {
        lines.push("the record holds no scenario".into());
    }
    (verdict.word().into(), tone, lines)
}

fn unique<T: PartialEq + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn joined(items: Vec<String>, none: &str) -> Cell {
    if items.is_empty() {
        Cell::toned(none, Tone::Warn)
    } else {
        Cell::text(items.join(", "))
    }
}

/// A bench's station, measured round trips and adapter latency timers (none on the emulator).
fn bench_measurements(view: &RunView) -> Vec<(String, Cell)> {
    let systems: Vec<_> = view
        .scenarios
        .iter()
        .filter_map(|s| s.test_system.clone())
        .collect();
    if systems.is_empty() {
        return Vec::new();
    }
    let round_trip = |rt: &Option<crate::record::RoundTrip>| match rt {
        Some(rt) => format!(
            "p50 {:.1} ms, p99 {:.1} ms ({} requests)",
            rt.p50_ms, rt.p99_ms, rt.requests
        ),
        None => "not measured".into(),
    };
    let timer = |t: Option<u32>| match t {
        Some(ms) => format!("{ms} ms"),
        None => "not shown by the adapter".into(),
    };
    // Several benches: each figure says whose it is.
    let several = unique(systems.iter().map(|t| t.station.clone())).len() > 1;
    let of = |t: &crate::record::TestSystem, text: String| {
        if several {
            format!("{}: {text}", t.station)
        } else {
            text
        }
    };
    let slow = systems.iter().any(|t| {
        [t.pump_latency_timer_ms, t.balance_latency_timer_ms]
            .into_iter()
            .flatten()
            .any(|ms| ms >= 16)
    });
    let timers = joined(
        unique(systems.iter().map(|t| {
            of(
                t,
                format!(
                    "pump {}, balance {}",
                    timer(t.pump_latency_timer_ms),
                    timer(t.balance_latency_timer_ms)
                ),
            )
        })),
        "—",
    );
    let mut rows = vec![
        (
            "Station".into(),
            joined(unique(systems.iter().map(|t| t.station.clone())), "—"),
        ),
        (
            "Pump round trip".into(),
            joined(
                unique(
                    systems
                        .iter()
                        .map(|t| of(t, round_trip(&t.pump_round_trip))),
                ),
                "—",
            ),
        ),
        (
            "Balance round trip".into(),
            joined(
                unique(
                    systems
                        .iter()
                        .map(|t| of(t, round_trip(&t.balance_round_trip))),
                ),
                "—",
            ),
        ),
        (
            "Timeout per attempt".into(),
            joined(
                unique(systems.iter().filter_map(|t| {
                    let pump = t.pump_timeout_ms?;
                    let balance = t
                        .balance_timeout_ms
                        .map(|ms| format!(", balance {ms} ms"))
                        .unwrap_or_default();
                    Some(of(t, format!("pump {pump} ms{balance}")))
                })),
                "—",
            ),
        ),
        (
            "USB latency timer".into(),
            if slow {
                Cell::toned(
                    format!("{} (16 ms slows every answer: set it to 1 ms)", timers.text),
                    Tone::Warn,
                )
            } else {
                timers
            },
        ),
    ];
    let answered: Vec<String> = unique(view.scenarios.iter().filter_map(|s| {
        s.balance
            .as_ref()
            .and_then(|b| b.answered.as_ref())
            .map(|a| {
                format!(
                    "I2 \"{} {}\", I4 \"{}\"",
                    a.model, a.capacity, a.serial_number
                )
            })
    }));
    if !answered.is_empty() {
        rows.push(("Balance answered".into(), joined(answered, "—")));
    }
    rows
}

fn cover(view: &RunView) -> Vec<Block> {
    let mut out = Vec::new();
    let devices: Vec<crate::record::DeviceInfo> = view
        .scenarios
        .iter()
        .filter_map(|s| s.device.clone())
        .collect();
    let field = |f: &dyn Fn(&crate::record::DeviceInfo) -> String| {
        joined(unique(devices.iter().map(f)), "not recorded")
    };
    let product = Block::Facts {
        title: "Product under test".into(),
        rows: vec![
            ("Model".into(), field(&|d| d.model.clone())),
            ("Serial number".into(), field(&|d| d.serial_number.clone())),
            ("Firmware".into(), field(&|d| d.firmware_version.clone())),
            (
                "Protocol version".into(),
                field(&|d| d.protocol_version.to_string()),
            ),
            (
                "Reservoir".into(),
                field(&|d| format_ml(d.reservoir_capacity_nl)),
            ),
            (
                "Unit".into(),
                field(&|d| {
                    let unit = if d.test_unit {
                        "test unit"
                    } else {
                        "clinical unit"
                    };
                    format!("{unit} ({})", d.kind)
                }),
            ),
            (
                "Time base".into(),
                field(&|d| d.time_base.describe().to_string()),
            ),
        ],
    };
    let missing = || Cell::toned("not recorded", Tone::Warn);
    let run = view.run.as_ref();
    let mut test_system_rows = match run {
        Some(r) => vec![
            (
                "Harness".into(),
                Cell::text(format!("pumphil {}", r.harness_version)),
            ),
            (
                "Commit".into(),
                if r.git_commit.ends_with("-dirty") {
                    Cell::toned(
                        format!("{} (built with uncommitted changes)", r.git_commit),
                        Tone::Warn,
                    )
                } else {
                    Cell::mono(&r.git_commit)
                },
            ),
            ("Mode".into(), Cell::text(r.mode.name())),
            (
                "Seed / jobs".into(),
                Cell::text(format!("{} / {}", r.seed, r.jobs)),
            ),
            ("Command".into(), Cell::mono(r.command_line.join(" "))),
        ],
        None => vec![("Harness".into(), missing())],
    };
    let in_memory = crate::record::link_mark::in_memory(view);
    if let Some(memory) = &in_memory {
        test_system_rows.push((
            "Link".into(),
            Cell::toned(
                format!(
                    "{}: {}",
                    memory.mark(),
                    crate::record::link_mark::NOT_A_SERIAL_PATH
                ),
                Tone::Warn,
            ),
        ));
    }
    test_system_rows.extend(bench_measurements(view));
    let test_system = Block::Facts {
        title: "Test system".into(),
        rows: test_system_rows,
    };
    let run_facts = Block::Facts {
        title: "Run".into(),
        rows: vec![
            ("Run id".into(), Cell::mono(view.run_id())),
            (
                "Started (UTC)".into(),
                run.map(|r| Cell::text(&r.started_utc))
                    .unwrap_or_else(missing),
            ),
            (
                "Finished (UTC)".into(),
                view.end
                    .as_ref()
                    .map(|e| Cell::text(&e.finished_utc))
                    .unwrap_or_else(|| {
                        Cell::toned("not recorded: the run did not finish", Tone::Warn)
                    }),
            ),
            (
                "Operator".into(),
                run.and_then(|r| r.operator.clone())
                    .map(Cell::text)
                    .unwrap_or_else(|| Cell::toned("not recorded (pass --operator)", Tone::Warn)),
            ),
            (
                "Host / OS".into(),
                run.map(|r| Cell::text(format!("{} / {}", r.host, r.os)))
                    .unwrap_or_else(missing),
            ),
            (
                "Signed by".into(),
                if view.station_keys.is_empty() {
                    Cell::toned("unsigned run (no station key)", Tone::Warn)
                } else {
                    Cell::mono(super::signed_by(view))
                },
            ),
        ],
    };
    let ports = unique(
        view.scenarios
            .iter()
            .filter_map(|s| s.device.as_ref().map(|d| d.port.clone())),
    );
    let balances: Vec<_> = unique(view.scenarios.iter().filter_map(|s| s.balance.clone()).map(
        |b| {
            (
                b.identity,
                b.port,
                format!("{} mg", b.readability_mg),
                format!("{:.4} g/mL", b.density_g_per_ml),
                b.calibration_due,
            )
        },
    ));
    let emulated = run.is_some_and(|r| r.mode == Mode::Emulator);
    let due = unique(balances.iter().map(|b| match &b.4 {
        Some(d) => d.clone(),
        None if emulated => "n/a (emulated balance)".into(),
        None => "not stated in the bench file".into(),
    }));
    let bench = Block::Facts {
        title: "Bench".into(),
        rows: vec![
            ("Pump port(s)".into(), joined(ports, "not recorded")),
            (
                "Balance".into(),
                joined(
                    unique(balances.iter().map(|b| b.0.clone())),
                    "none (no scenario used a balance)",
                ),
            ),
            (
                "Balance port(s)".into(),
                joined(unique(balances.iter().map(|b| b.1.clone())), "—"),
            ),
            (
                "Readability".into(),
                joined(unique(balances.iter().map(|b| b.2.clone())), "—"),
            ),
            (
                "Fluid density".into(),
                joined(unique(balances.iter().map(|b| b.3.clone())), "—"),
            ),
            ("Calibration due".into(), joined(due, "—")),
            (
                "Bench file".into(),
                match run.and_then(|r| r.bench_file.as_ref()) {
                    Some(f) => Cell::mono(
                        unique(std::iter::once(f.path.clone()).chain(
                            view.scenarios.iter().filter_map(|s| {
                                Some(s.test_system.as_ref()?.bench_file.as_ref()?.path.clone())
                            }),
                        ))
                        .join(", "),
                    ),
                    None if emulated => Cell::text("none (built-in emulator)"),
                    None => Cell::toned("not recorded", Tone::Warn),
                },
            ),
        ],
    };
    if !view.not_verified.is_empty() {
        out.push(Block::Callout {
            tone: Tone::Fail,
            title: "NOT VERIFIED: this rendering was forced from a record that does not verify"
                .into(),
            lines: view.not_verified.clone(),
        });
    }
    let (label, tone, lines) = overall(view);
    out.push(Block::Verdict { label, tone, lines });
    if let Some(memory) = &in_memory {
        out.push(Block::Callout {
            tone: Tone::Warn,
            title: format!("Run over an {}", memory.mark()),
            lines: vec![
                crate::record::link_mark::NOT_A_SERIAL_PATH.to_string(),
                format!(
                    "Scenarios reached in memory: {}.",
                    memory.scenarios.join(", ")
                ),
            ],
        });
    }
    let gaps = view.gaps();
    if !gaps.is_empty() {
        out.push(Block::Callout {
            tone: Tone::Warn,
            title: "The record is incomplete".into(),
            lines: gaps,
        });
    }
    out.push(Block::Grid(vec![product, run_facts, test_system, bench]));
    out.extend(partition_provenance(view));
    out.push(Block::Small(
        "Rendered from the run directory's events.jsonl alone (hash-chained, append-only). \
         \"pumphil report DIR\" renders this report again byte for byte; \"pumphil verify DIR\" \
         checks every file against MANIFEST.sha256, the record's hash chain and its signatures."
            .into(),
    ));
    out
}

/// Which share of a set a partition ran, or the parts a merged run was made of, each with
/// its own provenance (they may come from other hosts, benches and commits).
fn partition_provenance(view: &RunView) -> Vec<Block> {
    let mut out = Vec::new();
    if let Some(p) = &view.partition {
        out.push(Block::Small(format!(
            "Partition {}/{} of a set of {} scenarios (set SHA-256 {}): \"pumphil merge\" joins it with the other partitions into one run.",
            p.index, p.count, p.set_size, p.set_sha256
        )));
    }
    if view.parts.is_empty() {
        return out;
    }
    let mut table = Table::new(
        "parts",
        &[
            "Part",
            "Run id",
            "Host / OS",
            "Mode / bench file",
            "Harness / commit",
            "Started – finished (UTC)",
            "Signed by",
        ],
    );
    for part in &view.parts {
        table.row_with_detail(
            vec![
                Cell::text(format!(
                    "{}/{} ({})",
                    part.partition.index, part.partition.count, part.dir
                )),
                Cell::mono(&part.run_id),
                Cell::text(format!("{} / {}", part.host, part.os)),
                Cell::text(match &part.bench_file {
                    Some(f) => format!("{} ({})", part.mode, f.path),
                    None => part.mode.name().to_string(),
                }),
                Cell::mono(format!("{} / {}", part.harness_version, part.git_commit)),
                Cell::text(format!(
                    "{} – {}",
                    part.started_utc,
                    part.finished_utc.as_deref().unwrap_or("not finished")
                )),
                if part.station_keys.is_empty() {
                    Cell::toned("unsigned", Tone::Warn)
                } else {
                    Cell::mono(part.station_keys.join(", "))
                },
            ],
            format!(
                "{} records, chain head {}, MANIFEST.sha256 SHA-256 {}",
                part.records, part.chain_head, part.manifest_sha256
            ),
        );
    }
    out.push(Block::Facts {
        title: "Merged run".into(),
        rows: vec![(
            "Made of".into(),
            Cell::text(format!(
                "{} partitions of one set of scenarios, each kept whole under parts/ (its own record, manifest and signatures); this record copies their events and \"pumphil verify\" checks the copy against them",
                view.parts.len()
            )),
        )],
    });
    out.push(Block::Table(table));
    out
}

fn summary(view: &RunView) -> Vec<Block> {
    let mut out = vec![Block::Heading {
        level: 1,
        text: "Results and traceability".into(),
        anchor: Some("summary".into()),
        badge: None,
    }];
    let mut table = Table::new(
        "results",
        &[
            "Scenario",
            "Kind",
            "Requirements",
            "Hazards",
            "Checks passed",
            "Verdict",
        ],
    );
    for s in &view.scenarios {
        let (label, tone) = scenario_verdict(s);
        let kind = s.kind().name();
        table.row(vec![
            Cell::mono(&s.id),
            Cell::text(kind),
            Cell::text(s.requirements.join(", ")),
            Cell::text(match traceability::hazards_of(view, s) {
                h if h.is_empty() => "—".to_string(),
                h => h.join(", "),
            }),
            Cell::text(format!(
                "{} / {}",
                s.checks.iter().filter(|c| c.passed()).count(),
                s.checks.len()
            )),
            Cell::toned(label, tone),
        ]);
    }
    out.push(Block::Heading {
        level: 2,
        text: "Scenarios".into(),
        anchor: None,
        badge: None,
    });
    if view.scenarios.is_empty() {
        out.push(Block::Callout {
            tone: Tone::Warn,
            title: "No scenario in the record".into(),
            lines: vec![
                "The record holds no scenario; there is nothing to report as evidence.".into(),
            ],
        });
    } else {
        out.push(Block::Table(table));
        out.push(Block::Small(
            "A negative control runs a pump with a deliberately injected defect; it succeeds when the \
             checks it names fail (\"defect caught\"). Negative controls show that the checks can \
             fail; they are not evidence that the product meets a requirement."
                .into(),
        ));
    }
    let trace = traceability::build(view);
    out.extend(hazard_chain(view, &trace));
    out.push(Block::Heading {
        level: 2,
        text: "Traceability matrix".into(),
        anchor: Some("traceability".into()),
        badge: None,
    });
    if trace.rows.is_empty() {
        out.push(Block::Para(
            "No positive scenario names a requirement.".into(),
        ));
    } else {
        out.push(Block::Table(matrix(view, "trace", &trace.rows)));
    }
    out.push(Block::Heading {
        level: 2,
        text: "Negative controls".into(),
        anchor: Some("negative-controls".into()),
        badge: None,
    });
    if trace.control_rows.is_empty() {
        out.push(Block::Para(
            "No negative control names a requirement.".into(),
        ));
    } else {
        out.push(Block::Table(matrix(view, "controls", &trace.control_rows)));
        out.push(Block::Small(
            "A negative control shows that the checks of its requirement can fail; it is not evidence \
             that the product meets the requirement."
                .into(),
        ));
    }
    out.extend(without_evidence(&trace));
    out
}

fn evidence_cell(evidence: &[(String, Option<Mode>)]) -> Cell {
    if evidence.is_empty() {
        return Cell::toned("none", Tone::Fail);
    }
    let list = evidence
        .iter()
        .map(|(id, mode)| format!("{id} ({})", mode.map_or("?", Mode::name)))
        .collect::<Vec<_>>()
        .join(", ");
    Cell::toned(list, Tone::Pass)
}

/// Hazard → risk control → requirement → passing scenarios, from the recorded requirements file.
fn hazard_chain(view: &RunView, trace: &traceability::Traceability) -> Vec<Block> {
    let mut out = vec![Block::Heading {
        level: 2,
        text: "Hazards, risk controls and requirements".into(),
        anchor: Some("hazards".into()),
        badge: None,
    }];
    let Some(file) = view.run.as_ref().and_then(|r| r.requirements.as_ref()) else {
        out.push(Block::Callout {
            tone: Tone::Warn,
            title: "No requirements file recorded".into(),
            lines: vec![
                "The run recorded no requirements.toml: hazards and risk controls are not traced, and only the requirement ids the scenarios name are known.".into(),
            ],
        });
        return out;
    };
    out.push(Block::Para(format!(
        "From {} (SHA-256 {}): {} hazard(s), {} risk control(s), {} requirement(s).",
        file.path,
        file.sha256,
        file.hazards.len(),
        file.risk_controls.len(),
        file.requirements.len()
    )));
    let mut table = Table::new(
        "hazards",
        &["Hazard", "Risk control", "Requirement", "Passing evidence"],
    );
    let (mut last_hazard, mut last_control) = (None::<&str>, None::<(&str, &str)>);
    for link in &trace.chain {
        let hazard = if last_hazard == Some(link.hazard.as_str()) {
            Cell::text("")
        } else {
            let h = file.hazard(&link.hazard);
            Cell::text(format!(
                "{}: {} (harm: {})",
                link.hazard,
                h.map_or("", |h| h.description.as_str()),
                h.map_or("", |h| h.harm.as_str())
            ))
        };
        let control = if last_control == Some((link.hazard.as_str(), link.control.as_str())) {
            Cell::text("")
        } else {
            Cell::text(format!(
                "{}: {}",
                link.control,
                file.control(&link.control)
                    .map_or("", |c| c.description.as_str())
            ))
        };
        last_hazard = Some(&link.hazard);
        last_control = Some((&link.hazard, &link.control));
        let requirement = match file.requirement(&link.requirement) {
            Some(r) => Cell::text(format!("{}: {}", r.id, r.text)),
            None => Cell::toned("no requirement implements it", Tone::Fail),
        };
        table.row(vec![
            hazard,
            control,
            requirement,
            evidence_cell(&link.evidence),
        ]);
    }
    out.push(Block::Table(table));
    out
}

/// Requirement → scenario → checks → verdict rows.
fn matrix(view: &RunView, id: &'static str, rows: &[traceability::TraceRow]) -> Table {
    let mut matrix = Table::new(
        id,
        &["Requirement", "Scenario", "Checks", "Verdict", "Evidence"],
    );
    let mut previous: Option<&str> = None;
    for row in rows {
        let scenario = view.scenarios.iter().find(|s| s.id == row.scenario);
        let (label, tone) = scenario
            .map(scenario_verdict)
            .unwrap_or(("—".into(), Tone::Warn));
        let evidence = if row.is_evidence() {
            Cell::toned(
                format!("yes ({})", row.mode.map_or("?", Mode::name)),
                Tone::Pass,
            )
        } else if row.negative_control {
            Cell::toned("no: negative control", Tone::Neutral)
        } else {
            Cell::toned("no", Tone::Warn)
        };
        let mut checks = format!("{}/{} passed", row.checks_passed, row.checks_total);
        let (required, other): (Vec<&String>, Vec<&String>) = row
            .failed_checks
            .iter()
            .partition(|c| scenario.is_some_and(|s| s.required_to_fail(c)));
        let list = |v: &[&String]| v.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
        if !required.is_empty() {
            checks.push_str(&format!("; failed as required: {}", list(&required)));
        }
        if !other.is_empty() {
            let what = if row.negative_control {
                "also failed"
            } else {
                "failed"
            };
            checks.push_str(&format!("; {what}: {}", list(&other)));
        }
        let requirement = if previous == Some(row.requirement.as_str()) {
            Cell::text("")
        } else {
            Cell::mono(&row.requirement)
        };
        previous = Some(&row.requirement);
        matrix.row(vec![
            requirement,
            Cell::mono(&row.scenario),
            Cell::text(checks),
            Cell::toned(label, tone),
            evidence,
        ]);
    }
    matrix
}

fn without_evidence(trace: &traceability::Traceability) -> Vec<Block> {
    let mut out = vec![Block::Heading {
        level: 2,
        text: "Without passing evidence".into(),
        anchor: Some("unevidenced".into()),
        badge: None,
    }];
    let mut lists = vec![];
    if trace.from_file {
        lists.push(("hazard(s)", &trace.unevidenced_hazards));
        lists.push(("risk control(s)", &trace.unevidenced_controls));
    }
    lists.push(("requirement(s)", &trace.unevidenced));
    for (what, list) in lists {
        if list.is_empty() {
            out.push(Block::Callout {
                tone: Tone::Pass,
                title: format!(
                    "Every {} has passing evidence",
                    what.trim_end_matches("(s)")
                ),
                lines: vec![],
            });
        } else {
            out.push(Block::Callout {
                tone: Tone::Fail,
                title: format!("{} {what} without passing evidence", list.len()),
                lines: list
                    .iter()
                    .map(|u| format!("{}: {}", u.requirement, u.why))
                    .collect(),
            });
        }
    }
    if !trace.emulator_only.is_empty() {
        out.push(Block::Callout {
            tone: Tone::Warn,
            title: format!(
                "{} requirement(s) with passing evidence from the emulator only",
                trace.emulator_only.len()
            ),
            lines: vec![
                format!("{}.", trace.emulator_only.join(", ")),
                "Emulator evidence shows the harness and its checks work; the product itself is verified on a bench.".into(),
            ],
        });
    }
    out
}

fn deviations(view: &RunView) -> Vec<Block> {
    let mut out = vec![Block::Heading {
        level: 2,
        text: "Deviations".into(),
        anchor: Some("deviations".into()),
        badge: None,
    }];
    let mut table = Table::new(
        "deviations",
        &["Scenario", "Time", "Kind", "Count", "Detail"],
    );
    for group in deviation_groups(view, None) {
        let time = match (group.first_ms, group.last_ms) {
            (Some(a), Some(b)) if a != b => format!("{} – {}", t(a), t(b)),
            (Some(a), _) => t(a),
            _ => "—".into(),
        };
        let detail = if group.count > 1 {
            format!("{} (first of {})", group.detail, group.count)
        } else {
            group.detail.to_string()
        };
        table.row(vec![
            Cell::mono(group.scenario.unwrap_or("(run)")),
            Cell::text(time),
            Cell::text(group.kind),
            Cell::text(group.count.to_string()),
            Cell::text(detail),
        ]);
    }
    for s in &view.scenarios {
        for step in s.applied.iter().filter(|a| !a.outcome.is_ok()) {
            table.row(vec![
                Cell::mono(&s.id),
                Cell::text(t(step.t_ms)),
                Cell::text("step outcome"),
                Cell::text(format!("step {}: {}", step.index + 1, step.outcome)),
            ]);
        }
        let (kind, tone) = match (s.recorded_verdict(), s.progress()) {
            (Some(ScenarioVerdict::Incomplete), _) => ("aborted scenario", Tone::Warn),
            (Some(ScenarioVerdict::Error), _) => ("scenario not run", Tone::Fail),
            (None, Progress::NeverStarted) => ("never started", Tone::Warn),
            (None, _) => ("record ends", Tone::Warn),
            _ => continue,
        };
        let detail = s
            .finished
            .as_ref()
            .and_then(|f| f.reason.clone())
            .unwrap_or_else(|| {
                format!(
                    "no verdict recorded; the record reaches {}",
                    t(s.last_t_ms())
                )
            });
        table.row(vec![
            Cell::mono(&s.id),
            Cell::text(t(s.last_t_ms())),
            Cell::toned(kind, tone),
            Cell::text("1"),
            Cell::text(detail),
        ]);
    }
    if let Some(line) = view.integrity.truncated_at_line {
        table.row(vec![
            Cell::mono("(record)"),
            Cell::text("—"),
            Cell::toned("truncated record", Tone::Warn),
            Cell::text("1"),
            Cell::text(format!(
                "events.jsonl line {line} was cut short and is not part of this report"
            )),
        ]);
    }
    for (line, problem) in &view.integrity.problems {
        table.row(vec![
            Cell::mono("(record)"),
            Cell::text("—"),
            Cell::toned("record integrity", Tone::Fail),
            Cell::text("1"),
            Cell::text(format!("events.jsonl line {line}: {problem}")),
        ]);
    }
    if table.rows.is_empty() {
        out.push(Block::Para(
            "None recorded: no retries, link errors, lost events, refused steps or aborted scenarios.".into(),
        ));
    } else {
        let counted: usize = table
            .rows
            .iter()
            .filter_map(|r| r.get(3)?.text.parse::<usize>().ok())
            .sum();
        out.push(Block::Para(format!(
            "{counted} deviation(s) in {} group(s) of the same scenario and kind. Retries, link errors, lost events and aborted scenarios are counted here once each and never removed from the record.",
            table.rows.len()
        )));
        out.push(Block::Table(table));
    }
    out
}

/// Recorded deviations of one scenario (or of the run) and one kind, counted.
struct DeviationGroup<'a> {
    scenario: Option<&'a str>,
    kind: &'a str,
    count: usize,
    first_ms: Option<u64>,
    last_ms: Option<u64>,
    /// The first one's detail.
    detail: &'a str,
}

/// The recorded deviations grouped by scenario and kind in the order first seen; only those of
/// `scenario` when it is given.
fn deviation_groups<'a>(view: &'a RunView, scenario: Option<&str>) -> Vec<DeviationGroup<'a>> {
    let mut groups: Vec<DeviationGroup<'a>> = Vec::new();
    for d in &view.deviations {
        if scenario.is_some() && d.scenario.as_deref() != scenario {
            continue;
        }
        match groups
            .iter_mut()
            .find(|g| g.scenario == d.scenario.as_deref() && g.kind == d.kind)
        {
            Some(g) => {
                g.count += 1;
                g.first_ms = g.first_ms.min(d.t_ms).or(g.first_ms).or(d.t_ms);
                g.last_ms = g.last_ms.max(d.t_ms);
            }
            None => groups.push(DeviationGroup {
                scenario: d.scenario.as_deref(),
                kind: &d.kind,
                count: 1,
                first_ms: d.t_ms,
                last_ms: d.t_ms,
                detail: &d.detail,
            }),
        }
    }
    groups
}

fn describe_fault(fault: &FaultSpec) -> String {
    match fault {
        FaultSpec::BatteryCharge { permille } => format!("battery state of charge {permille} ‰"),
        FaultSpec::FlowBias { centi_percent } => {
            format!("flow bias {:+.2} %", *centi_percent as f64 / 100.0)
        }
        other => other.kind().name().replace('_', " "),
    }
}

fn describe_action(action: &StepAction) -> String {
    let action = match action {
        StepAction::Restore { restore } => {
            return format!("harness cleanup: clear fault {restore}")
        }
        StepAction::Scenario(action) => action,
    };
    match action {
        Action::ProgramContinuous { dose_ug_per_day } => {
            format!("program continuous {dose_ug_per_day} µg/day")
        }
        Action::ProgramFlexible { steps } => {
            let steps = steps
                .iter()
                .map(|st| {
                    let minute = st.start_minute;
                    format!(
                        "{:02}:{:02} {} µg/day",
                        minute / 60,
                        minute % 60,
                        st.dose_ug_per_day
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("program flexible schedule: {steps}")
        }
        Action::Bolus {
            dose_ug,
            duration_ms,
            bridge,
        } => format!(
            "{} {dose_ug} µg over {}",
            if *bridge { "bridge bolus" } else { "bolus" },
            t(*duration_ms)
        ),
        Action::Refill {
            volume_nl,
            concentration_ug_per_ml,
            actual_nl,
        } => {
            let mut text = format!(
                "refill {} at {concentration_ug_per_ml} µg/mL",
                format_ml(*volume_nl)
            );
            if let Some(actual) = actual_nl {
                text.push_str(&format!(
                    " (only {} reaches the reservoir: pocket fill of {})",
                    format_ml(*actual),
                    format_ml(volume_nl.saturating_sub(*actual))
                ));
            }
            text
        }
        Action::Inject { fault } => format!("inject fault: {}", describe_fault(fault)),
        Action::Clear { fault } => format!("clear fault: {fault}"),
        Action::Acknowledge { alarm } => format!("acknowledge alarm {alarm}"),
        Action::Silence { alarm } => format!("silence alarm {alarm}"),
        Action::Operator { text, emulate, .. } => match emulate {
            Some(action) => format!(
                "operator: \"{text}\" (emulated: {})",
                describe_action(&StepAction::Scenario(action.as_ref().clone()))
            ),
            None => format!("operator: \"{text}\""),
        },
        Action::Stop => "stop therapy".into(),
        Action::Resume => "resume therapy".into(),
        Action::SetThreshold { threshold_nl } => {
            format!("set low-reservoir threshold {}", format_ml(*threshold_nl))
        }
    }
}

fn setup_facts(s: &ScenarioView) -> Block {
    let Some(setup) = &s.setup else {
        return Block::Facts {
            title: "Setup".into(),
            rows: vec![(
                "Setup".into(),
                Cell::toned("not recorded (no scenario_started)", Tone::Warn),
            )],
        };
    };
    let d = &setup.device;
    let mut rows = vec![
        (
            "Reservoir".into(),
            Cell::text(format!("{} mL", d.reservoir_ml)),
        ),
        (
            "Initial fill".into(),
            Cell::text(format_ml(d.initial_fill_nl)),
        ),
        (
            "Concentration".into(),
            Cell::text(format!("{} µg/mL", d.concentration_ug_per_ml)),
        ),
        (
            "Low-reservoir threshold".into(),
            Cell::text(format_ml(d.low_reservoir_threshold_nl)),
        ),
        (
            "Battery at start".into(),
            Cell::text(
                d.battery_permille
                    .map(|v| format!("{v} ‰"))
                    .unwrap_or("full (not set)".into()),
            ),
        ),
        (
            "Stroke volume".into(),
            Cell::text(format!("{:.1} µL", d.stroke_nl as f64 / 1000.0)),
        ),
        (
            "Duration / sampling".into(),
            Cell::text(format!("{} / every {}", t(s.end_ms), t(s.sample_ms))),
        ),
    ];
    if let Some((rel, abs)) = s.volume_tolerance() {
        rows.push((
            "Volume tolerance".into(),
            Cell::text(format!(
                "±max({:.1} % of expected, {:.4} mL)",
                rel * 100.0,
                abs as f64 / 1e6
            )),
        ));
    }
    rows.push((
        "Alarm timing tolerance".into(),
        Cell::text(format!("±{}", t(setup.tolerance.alarm_ms))),
    ));
    if let Some(defects) = &setup.defects {
        rows.push((
            "Injected defects".into(),
            Cell::toned(
                serde_json::to_string(defects).unwrap_or_default(),
                Tone::Control,
            ),
        ));
    }
    Block::Facts {
        title: "Setup".into(),
        rows,
    }
}

fn identity_facts(s: &ScenarioView, view: &RunView) -> Block {
    let mut rows = vec![
        ("Hazard".into(), Cell::text(&s.hazard)),
        ("Requirements".into(), Cell::mono(s.requirements.join(", "))),
    ];
    if let Some(part) = view.part_of(&s.id) {
        rows.push((
            "Ran in".into(),
            Cell::text(format!(
                "part {}/{} ({}), run {} on {}, pumphil {} {}",
                part.partition.index,
                part.partition.count,
                part.dir,
                part.run_id,
                part.host,
                part.harness_version,
                part.git_commit
            )),
        ));
    }
    if let Some(f) = &s.file {
        rows.push(("Scenario file".into(), Cell::mono(&f.path)));
        rows.push(("SHA-256".into(), Cell::mono(&f.sha256)));
    }
    if let Some(d) = &s.device {
        rows.push((
            "Pump".into(),
            Cell::text(format!(
                "{} S/N {} fw {} on {}",
                d.model, d.serial_number, d.firmware_version, d.port
            )),
        ));
        rows.push(("Time base".into(), Cell::text(d.time_base.describe())));
    }
    if let Some(system) = &s.test_system {
        let file = system
            .bench_file
            .as_ref()
            .map(|f| {
                format!(
                    " ({}, SHA-256 {}…)",
                    f.path,
                    f.sha256.get(..12).unwrap_or(&f.sha256)
                )
            })
            .unwrap_or_default();
        rows.push((
            "Bench".into(),
            Cell::text(format!("{}{file}", system.station)),
        ));
    }
    for o in &s.operator_steps {
        rows.push((
            format!("Operator step {}", o.index + 1),
            Cell::text(format!(
                "at {}: \"{}\" — {} at {} (device time {} ms)",
                crate::scenario::duration::format_duration(o.t_ms),
                o.instruction,
                o.confirmation,
                o.host_utc,
                o.device_time_ms
            )),
        ));
    }
    let not_evaluated = s.checks_not_evaluated();
    if !not_evaluated.is_empty() {
        rows.push((
            "Not evaluated".into(),
            Cell::toned(not_evaluated.join(", "), Tone::Warn),
        ));
    }
    rows.push((
        "Balance".into(),
        match &s.balance {
            Some(b) => Cell::text(format!(
                "{} on {}, {} mg, density {:.4} g/mL",
                b.identity, b.port, b.readability_mg, b.density_g_per_ml
            )),
            None => Cell::text("none"),
        },
    ));
    Block::Facts {
        title: "Purpose and unit".into(),
        rows,
    }
}

fn timeline(s: &ScenarioView) -> Block {
    let planned = &s.planned_steps;
    let mut table = Table::new("steps", &["Time", "#", "Step", "Action", "Outcome"]);
    for a in &s.applied {
        let name = planned
            .get(a.index)
            .and_then(|p| p.name.as_deref())
            .unwrap_or("");
        let tone = if a.outcome.is_ok() {
            Tone::Pass
        } else {
            Tone::Warn
        };
        table.row(vec![
            Cell::text(t(a.t_ms)),
            Cell::text((a.index + 1).to_string()),
            Cell::text(name),
            Cell::text(describe_action(&a.action)),
            Cell::toned(a.outcome.to_string(), tone),
        ]);
    }
    for (index, p) in planned.iter().enumerate() {
        if s.applied.iter().any(|a| a.index == index) {
            continue;
        }
        table.row(vec![
            Cell::text(t(p.at_ms)),
            Cell::text((index + 1).to_string()),
            Cell::text(p.name.as_deref().unwrap_or("")),
            Cell::text(describe_action(&StepAction::Scenario(p.action.clone()))),
            Cell::toned("not reached", Tone::Warn),
        ]);
    }
    Block::Table(table)
}

fn margin(check: &CheckResult) -> String {
    match check.margin {
        Some(m) if m.is_finite() => format!("{m:+.3} {}", check.unit),
        _ => "—".into(),
    }
}

fn checks(s: &ScenarioView) -> Vec<Block> {
    let mut out = vec![Block::Heading {
        level: 2,
        text: "Checks".into(),
        anchor: None,
        badge: None,
    }];
    if s.checks.is_empty() {
        let why = match s.recorded_verdict() {
            Some(ScenarioVerdict::Passed | ScenarioVerdict::Failed) => "none recorded",
            _ => "not judged: the scenario did not run to its end",
        };
        out.push(Block::Callout {
            tone: Tone::Warn,
            title: "No checks".into(),
            lines: vec![why.into()],
        });
        return out;
    }
    let mut table = Table::new(
        "checks",
        &[
            "Check",
            "Expected",
            "Measured",
            "Tolerance",
            "Margin",
            "Verdict",
        ],
    );
    for c in &s.checks {
        let (label, tone) = check_verdict(s, c);
        let at = c
            .at_ms
            .map(|ms| format!(" (at {})", t(ms)))
            .unwrap_or_default();
        table.row_with_detail(
            vec![
                Cell::mono(&c.name),
                Cell::text(&c.expected),
                Cell::text(format!("{}{at}", c.measured)),
                Cell::text(&c.tolerance),
                Cell::text(margin(c)),
                Cell::toned(label, tone),
            ],
            c.detail.clone(),
        );
    }
    out.push(Block::Table(table));
    out.push(Block::Small(
        "Margin: distance to the nearest acceptance limit in the check's unit; negative when the limit was crossed.".into(),
    ));
    out
}

fn observations(s: &ScenarioView) -> Vec<Block> {
    let mut out = vec![Block::Heading {
        level: 2,
        text: "Alarms and findings".into(),
        anchor: None,
        badge: None,
    }];
    let mut expected: Vec<String> = s
        .expected_windows()
        .iter()
        .map(|w| {
            let cleared = match w.cleared {
                Some((a, b)) => format!(", cleared {} .. {}", t(a), t(b)),
                None => ", stays active".into(),
            };
            format!(
                "{} ({}) raised {} .. {}{cleared}",
                w.alarm,
                w.priority,
                t(w.raised.0),
                t(w.raised.1)
            )
        })
        .collect();
    expected.extend(s.forbidden_spans().iter().map(|(names, (a, b))| {
        let which = if names.is_empty() {
            "any alarm".to_string()
        } else {
            names
                .iter()
                .map(|n| n.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("forbidden: {which} from {} to {}", t(*a), t(*b))
    }));
    expected.extend(
        s.expected_findings().iter().map(|(kind, (a, b))| {
            format!("harness finding {kind} between {} and {}", t(*a), t(*b))
        }),
    );
    out.push(Block::Para(if expected.is_empty() {
        "Expected: no alarm and no finding.".into()
    } else {
        "Expected:".into()
    }));
    if !expected.is_empty() {
        out.push(Block::List(expected));
    }
    let mut table = Table::new("events", &["Time", "Source", "Event", "Detail"]);
    let mut rows: Vec<(u64, Vec<Cell>)> = Vec::new();
    for a in &s.alarms {
        let tone = if a.priority == Priority::High {
            Tone::Fail
        } else {
            Tone::Warn
        };
        rows.push((
            a.t_ms,
            vec![
                Cell::text(t(a.t_ms)),
                Cell::text("device"),
                Cell::toned(
                    format!(
                        "{} {}",
                        a.alarm,
                        if a.raised { "raised" } else { "cleared" }
                    ),
                    tone,
                ),
                Cell::text(format!("priority {}", a.priority)),
            ],
        ));
    }
    for f in &s.findings {
        rows.push((
            f.t_ms,
            vec![
                Cell::text(t(f.t_ms)),
                Cell::text("harness"),
                Cell::toned(format!("finding {}", f.kind), Tone::Neutral),
                Cell::text(&f.detail),
            ],
        ));
    }
    rows.sort_by_key(|(at, _)| *at);
    for (_, cells) in rows {
        table.row(cells);
    }
    if table.rows.is_empty() {
        out.push(Block::Para(
            "Observed: no alarm was raised and the harness made no finding.".into(),
        ));
    } else {
        out.push(Block::Table(table));
    }
    out
}

fn clinical(s: &ScenarioView, config: &ReportConfig) -> Vec<Block> {
    let outcome = csf::estimate(s, &config.csf);
    let mut out = Vec::new();
    let params = &config.csf;
    let source = if *params == csf::CsfParams::default() {
        "product label; set others with pumphil run --csf-half-life-h and --csf-clearance-ml-per-h"
    } else {
        "set for this run; the product label gives 1.51 h and 30 mL/h"
    };
    let method = format!(
        "One-compartment model of CSF baclofen: half-life {:.2} h and clearance {:.1} mL/h ({source}), \
         distribution volume V = CL·t½/ln 2 = {:.1} mL. Input is the balance-measured catheter-tip flow × concentration, \
         averaged over each sample interval and integrated exactly within it; the patient is assumed at steady state on \
         the mean delivery between the scenario start and the interruption (at most its first day).",
        params.half_life_h,
        params.clearance_ml_per_h,
        params.volume_ml()
    );
    let heading = Block::Heading {
        level: 2,
        text: "Clinical context: estimated CSF level after the interruption".into(),
        anchor: None,
        badge: None,
    };
    let warning = |extra: Vec<String>| Block::Callout {
        tone: Tone::Warn,
        title: "Engineering estimate — not clinical guidance".into(),
        lines: std::iter::once(method.clone()).chain(extra).collect(),
    };
    match outcome {
        CsfOutcome::NotApplicable => {}
        CsfOutcome::Unavailable { interruption, why } => {
            out.push(heading);
            out.push(warning(vec![]));
            out.push(Block::Para(format!(
                "Delivery is interrupted at {} ({}); no estimate: {why}.",
                t(interruption.t_ms),
                interruption.cause
            )));
        }
        CsfOutcome::Estimated(e) => {
            out.push(heading);
            let mut extra = Vec::new();
            if e.resolution_limited {
                extra.push(format!(
                    "Resolution limited by the sampling: samples every {} are coarse against a {:.2} h half-life, so the \
                     onset of the fall is known only to within one sample interval.",
                    t(e.sample_ms),
                    params.half_life_h
                ));
            }
            if s.is_negative_control() {
                extra.push("Negative control: the pump runs with a deliberate defect, so this shows the defect's consequence.".into());
            }
            out.push(warning(extra));
            let end_note = |what: &str| {
                format!(
                    "{what} within the record ({} after the interruption)",
                    t(e.record_end_ms.saturating_sub(e.interruption.t_ms))
                )
            };
            let mut table = Table::new("facts2", &["Quantity", "Value"]);
            table.row(vec![
                Cell::text("Interruption"),
                Cell::text(format!(
                    "at {}: {}",
                    t(e.interruption.t_ms),
                    e.interruption.cause
                )),
            ]);
            table.row(vec![
                Cell::text("Estimated CSF level before it"),
                Cell::text(format!("{:.1} ng/mL", e.level_before_ng_per_ml)),
            ]);
            table.row(vec![
                Cell::text("Interruption → first alarm or harness finding"),
                match &e.first_response {
                    Some(r) => {
                        Cell::toned(format!("{} ({})", t(r.after_ms), r.what), Tone::Neutral)
                    }
                    None => Cell::toned(end_note("none"), Tone::Fail),
                },
            ]);
            let fall = |value: Option<u64>, percent: u32| match value {
                Some(ms) => Cell::text(t_rounded(ms)),
                None => Cell::toned(end_note(&format!("not below {percent} %")), Tone::Neutral),
            };
            table.row(vec![
                Cell::text("Interruption → level below 50 %"),
                fall(e.t50_ms, 50),
            ]);
            table.row(vec![
                Cell::text("Interruption → level below 25 %"),
                fall(e.t25_ms, 25),
            ]);
            out.push(Block::Table(table));
            if let (Some(r), Some(t50)) = (&e.first_response, e.t50_ms) {
                let relation = if r.after_ms <= t50 {
                    format!("{} before", t_rounded(t50 - r.after_ms))
                } else {
                    format!("{} after", t_rounded(r.after_ms - t50))
                };
                out.push(Block::Para(format!(
                    "The first alarm or harness finding came {relation} the estimated level fell below half of its pre-interruption value."
                )));
            }
            if let Some(svg) = plots::csf(&e) {
                out.push(Block::Figure {
                    svg,
                    caption: "Estimated CSF baclofen level (engineering estimate): the hours after the interruption (from an hour before it until two hours after the level falls below 25 %, 12 h at least), with the interruption and the first alarm or finding.".into(),
                    file: None,
                });
            }
        }
    }
    out
}

fn scenario(s: &ScenarioView, view: &RunView, config: &ReportConfig) -> Vec<Block> {
    let (label, tone) = scenario_verdict(s);
    let title = if s.title.is_empty() {
        s.id.clone()
    } else {
        format!("{}: {}", s.id, s.title)
    };
    let mut out = vec![Block::Heading {
        level: 1,
        text: title,
        anchor: Some(format!("scenario-{}", s.id)),
        badge: Some((label, tone)),
    }];
    if !s.started {
        out.push(Block::Callout {
            tone: Tone::Warn,
            title: "Scenario did not start".into(),
            lines: vec!["The record has no scenario_started for it: setup, device and expectations are unknown.".into()],
        });
    }
    if let Some(nc) = &s.negative_control {
        out.push(Block::Callout {
            tone: Tone::Control,
            title: "Negative control".into(),
            lines: vec![
                "This scenario runs a pump with a deliberately injected defect. It succeeds when the checks named below fail; they are shown as \"failed as required\", apart from real failures.".into(),
                format!("Required to fail: {}", nc.must_fail.join(", ")),
                format!("Why: {}", nc.reason),
            ],
        });
    }
    match &s.finished {
        Some(f) => {
            if let Some(reason) = &f.reason {
                out.push(Block::Callout { tone, title: "Verdict reason".into(), lines: vec![reason.clone()] });
            }
        }
        None => out.push(Block::Callout {
            tone: Tone::Warn,
            title: "INCOMPLETE".into(),
            lines: vec![format!(
                "No verdict was recorded for this scenario: the record ends at seq {} and reaches {} of {} scenario time.",
                view.last_seq.map(|s| s.to_string()).unwrap_or("—".into()),
                t(s.last_t_ms()),
                t(s.end_ms)
            )],
        }),
    }
    if !s.description.is_empty() {
        out.push(Block::Para(
            s.description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ));
    }
    out.push(Block::Grid(vec![identity_facts(s, view), setup_facts(s)]));
    out.push(Block::Heading {
        level: 2,
        text: "Step timeline".into(),
        anchor: None,
        badge: None,
    });
    out.push(timeline(s));
    out.extend(checks(s));
    out.extend(observations(s));
    out.push(Block::Heading {
        level: 2,
        text: "Plots".into(),
        anchor: None,
        badge: None,
    });
    if let Some(stride) = s.plotted_stride() {
        out.push(Block::Para(format!(
            "This scenario recorded a sample every {}; the report is built from every {stride}th of them and the last (at most {} points a trace), and {} holds every sample. The checks judged every sample as it was taken.",
            crate::scenario::duration::format_duration(s.sample_ms),
            crate::expect::thin::PLOT_POINTS,
            view.sample_trace_of(&s.id)
        )));
    }
    out.extend(plots::scenario_figures(s));
    out.extend(super::metrology::trumpet(s));
    out.extend(super::metrology::boluses(s));
    out.extend(super::metrology::uncertainty(s));
    out.extend(clinical(s, config));
    let own = deviation_groups(view, Some(&s.id));
    out.push(Block::Heading {
        level: 2,
        text: "Deviations in this scenario".into(),
        anchor: None,
        badge: None,
    });
    if own.is_empty() {
        out.push(Block::Para("None recorded.".into()));
    } else {
        out.push(Block::Para(format!(
            "{}; each is listed once, under Deviations.",
            own.iter()
                .map(|g| format!("{} × {}", g.count, g.kind))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    out
}

fn raw_data(view: &RunView) -> Vec<Block> {
    let mut out = vec![Block::Heading {
        level: 1,
        text: "Raw data index".into(),
        anchor: Some("raw-data".into()),
        badge: None,
    }];
    out.push(Block::Para(
        "Files of the run directory when this report was rendered:".into(),
    ));
    let mut files = Table::new("files", &["File", "Bytes", "SHA-256"]);
    for f in &view.run_files {
        files.row(vec![
            Cell::mono(&f.path),
            Cell::text(f.bytes.map(|b| b.to_string()).unwrap_or("—".into())),
            Cell::mono(&f.sha256),
        ]);
    }
    out.push(Block::Table(files));
    out.push(Block::Small(format!(
        "Not listed: {} and {} (a file cannot contain its own hash) and {} (written after the reports; it lists the \
         SHA-256 of every file including both reports, but not of itself).",
        super::HTML_FILE,
        super::MARKDOWN_FILE,
        crate::record::render::manifest::FILE
    )));
    out.push(Block::Heading {
        level: 2,
        text: "Inputs used".into(),
        anchor: None,
        badge: None,
    });
    let mut inputs = Table::new("files", &["Kind", "File", "SHA-256"]);
    let mut seen: Vec<String> = Vec::new();
    let mut add = |kind: &str, path: &str, sha: &str, table: &mut Table| {
        if !seen.iter().any(|p| p == path) {
            seen.push(path.to_string());
            table.row(vec![Cell::text(kind), Cell::mono(path), Cell::mono(sha)]);
        }
    };
    if let Some(run) = &view.run {
        if let Some(b) = &run.bench_file {
            add("bench", &b.path, &b.sha256, &mut inputs);
        }
        for b in view
            .scenarios
            .iter()
            .filter_map(|s| s.test_system.as_ref()?.bench_file.as_ref())
        {
            add("bench", &b.path, &b.sha256, &mut inputs);
        }
        for f in &run.planned {
            add("scenario", &f.path, &f.sha256, &mut inputs);
        }
    }
    for s in &view.scenarios {
        if let Some(f) = &s.file {
            add("scenario", &f.path, &f.sha256, &mut inputs);
        }
        for f in &s.fixtures {
            let sha = if f.sha256.is_empty() {
                "(file missing at run time)"
            } else {
                &f.sha256
            };
            add("fixture", &f.path, sha, &mut inputs);
        }
    }
    out.push(Block::Table(inputs));
    out
}

fn signatures(view: &RunView) -> Vec<Block> {
    let (label, _, _) = overall(view);
    let trace = traceability::build(view);
    let unevidenced = if trace.from_file {
        format!(
            "{} hazard(s), {} risk control(s) and {} requirement(s)",
            trace.unevidenced_hazards.len(),
            trace.unevidenced_controls.len(),
            trace.unevidenced.len()
        )
    } else {
        format!("{} requirement(s)", trace.unevidenced.len())
    };
    vec![
        Block::Heading {
            level: 1,
            text: "Approval".into(),
            anchor: Some("approval".into()),
            badge: None,
        },
        Block::Para(format!(
            "This report covers run {} of {} scenario(s): overall verdict {label}; {} without passing evidence; \
             the deviations and any gaps in the record are listed in this report.",
            view.run_id(),
            view.scenarios.len(),
            unevidenced
        )),
        Block::Para(
            "By signing, each person confirms they have read this report, including its deviations, its gaps and every \
             hazard, risk control and requirement without passing evidence."
                .into(),
        ),
        Block::Signatures(
            crate::record::SignatureRole::ALL
                .into_iter()
                .map(|role| super::doc::SignatureSlot {
                    heading: role.heading().into(),
                    signed: view
                        .signatures
                        .iter()
                        .filter(|s| s.role == role)
                        .map(|s| {
                            [
                                s.name.clone(),
                                s.meaning.clone(),
                                s.signed_utc.clone(),
                                s.fingerprint.clone(),
                                (s.signs_seq + 1).to_string(),
                            ]
                        })
                        .collect(),
                })
                .collect(),
        ),
    ]
}

/// The whole report, cover first: the blocks before the scenarios' sections, the sections,
/// and the blocks after them.
pub fn build(view: &RunView, config: &ReportConfig) -> Vec<Block> {
    let sections: Vec<Vec<Block>> = view
        .scenarios
        .iter()
        .map(|s| scenario_section(s, view, config))
        .collect();
    let (mut out, tail) = around_sections(view, sections.iter().map(|b| contents(b)));
    out.extend(sections.into_iter().flatten());
    out.extend(tail);
    out
}

/// One scenario's section, its figures named: it reads only the scenario, the run's header
/// and the scenario's own deviations, so it can be rendered as soon as the scenario finished.
pub fn scenario_section(s: &ScenarioView, view: &RunView, config: &ReportConfig) -> Vec<Block> {
    let mut out = scenario(s, view, config);
    name_figures(&mut out);
    out
}

/// The entries of the table of contents a run of blocks gives: its headings with an anchor.
pub fn contents(blocks: &[Block]) -> Vec<(u8, String, String)> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading {
                level,
                text,
                anchor: Some(anchor),
                ..
            } => Some((*level, text.clone(), anchor.clone())),
            _ => None,
        })
        .collect()
}

/// What comes before the scenarios' sections (cover, contents, summary, deviations) and after
/// them (raw data, approval), given each section's contents entries in order.
pub fn around_sections(
    view: &RunView,
    sections: impl Iterator<Item = Vec<(u8, String, String)>>,
) -> (Vec<Block>, Vec<Block>) {
    let mut head = cover(view);
    head.extend(summary(view));
    head.extend(deviations(view));
    let mut tail = raw_data(view);
    tail.extend(signatures(view));
    let mut entries = contents(&head);
    entries.extend(sections.flatten());
    entries.extend(contents(&tail));
    let at = head
        .iter()
        .position(|b| matches!(b, Block::Heading { anchor: Some(a), .. } if a == "summary"))
        .unwrap_or(head.len());
    head.insert(at, Block::Contents(entries));
    name_figures(&mut head);
    name_figures(&mut tail);
    (head, tail)
}

/// Where each figure is written beside the reports: `figures/<section>-<n>.svg`, numbered
/// within the section (a scenario's anchor, or the run's) in the order they appear.
fn name_figures(blocks: &mut [Block]) {
    let mut section = "run".to_string();
    let mut n = 0;
    for b in blocks.iter_mut() {
        match b {
            Block::Heading {
                level: 1,
                anchor: Some(anchor),
                ..
            } => {
                section = anchor.clone();
                n = 0;
            }
            Block::Figure { file, .. } => {
                n += 1;
                *file = Some(format!("{FIGURES_DIR}/{section}-{n}.svg"));
            }
            _ => {}
        }
    }
}

/// The folder of the run directory the figures are written to.
pub const FIGURES_DIR: &str = "figures";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::view::DeviationRow;

    fn deviation(scenario: &str, t_ms: Option<u64>, kind: &str, detail: &str) -> DeviationRow {
        DeviationRow {
            scenario: Some(scenario.into()),
            t_ms,
            kind: kind.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn deviations_of_one_scenario_and_kind_are_counted_once() {
        let view = RunView {
            deviations: vec![
                deviation("a", Some(60_000), "retry", "first"),
                deviation("b", Some(1_000), "retry", "other scenario"),
                deviation("a", Some(120_000), "retry", "second"),
                deviation("a", None, "link error", "crc"),
            ],
            ..RunView::default()
        };
        let groups = deviation_groups(&view, None);
        type Seen<'a> = (
            Option<&'a str>,
            &'a str,
            usize,
            Option<u64>,
            Option<u64>,
            &'a str,
        );
        let seen: Vec<Seen> = groups
            .iter()
            .map(|g| (g.scenario, g.kind, g.count, g.first_ms, g.last_ms, g.detail))
            .collect();
        assert_eq!(
            seen,
            [
                (Some("a"), "retry", 2, Some(60_000), Some(120_000), "first"),
                (
                    Some("b"),
                    "retry",
                    1,
                    Some(1_000),
                    Some(1_000),
                    "other scenario"
                ),
                (Some("a"), "link error", 1, None, None, "crc"),
            ]
        );
        assert_eq!(deviation_groups(&view, Some("a")).len(), 2);
    }
}
