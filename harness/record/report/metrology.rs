//! The report's measurement-science sections for one scenario: the trumpet curve (plot and
//! table) from the record's `trumpet` event. Kept apart from content.rs so that each section
//! can grow without touching the others.

use super::doc::{Block, Cell, Table, Tone};
use super::svg::{self, colour, Level, Series, XyChart};
use super::view::ScenarioView;
use crate::record::schema::{TrumpetResult, TrumpetScaling, TrumpetWindow, Verdict};
use crate::scenario::duration::format_duration;

fn percent(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:+.2} %"))
        .unwrap_or_else(|| "—".into())
}

fn chart(t: &TrumpetResult) -> String {
    let points = |f: fn(&TrumpetWindow) -> Option<f64>| {
        t.windows
            .iter()
            .filter_map(|w| Some((w.window_min, f(w)?)))
            .collect::<Vec<_>>()
    };
    let mut levels = Vec::new();
    if let Some(a) = t.mean_error_percent {
        levels.push(Level {
            name: format!("A = {a:+.2} %"),
            colour: colour::EXPECTED,
            value: a,
        });
    }
    for (name, value) in [
        ("Ep(max) limit", t.limit_ep_max_percent),
        ("Ep(min) limit", t.limit_ep_min_percent),
    ] {
        if let Some(value) = value {
            levels.push(Level {
                name: format!("{name} {value:+.1} %"),
                colour: colour::LIMIT,
                value,
            });
        }
    }
    svg::xy_chart(&XyChart {
        x_label: "observation window P (min)".into(),
        y_label: "error (% of programmed rate)".into(),
        height: 240.0,
        series: vec![
            Series {
                name: "Ep(max)".into(),
                colour: colour::BALANCE,
                dashed: false,
                points: points(|w| w.ep_max_percent),
            },
            Series {
                name: "Ep(min)".into(),
                colour: colour::DEVICE,
                dashed: false,
                points: points(|w| w.ep_min_percent),
            },
        ],
        levels,
    })
}

fn table(t: &TrumpetResult) -> Table {
    let mut table = Table::new(
        "trumpet",
        &[
            "Window asked",
            "Window used",
            "Strokes",
            "Windows",
            "Ep(max)",
            "Ep(min)",
        ],
    );
    for w in &t.windows {
        let why = match w.scaling {
            TrumpetScaling::None => "",
            TrumpetScaling::Sampling => " (whole samples)",
            TrumpetScaling::Strokes => " (scaled to the strokes)",
        };
        table.row(vec![
            Cell::text(format!("{:.1} min", w.nominal_min)),
            Cell::text(format!("{:.1} min{why}", w.window_min)),
            Cell::text(format!("{:.1}", w.strokes)),
            Cell::text(w.count.to_string()),
            Cell::text(percent(w.ep_max_percent)),
            Cell::text(percent(w.ep_min_percent)),
        ]);
    }
    table
}

/// The trumpet-curve section, when the scenario asked for one.
pub fn trumpet(s: &ScenarioView) -> Vec<Block> {
    let Some(t) = &s.trumpet else {
        return Vec::new();
    };
    let mut out = vec![Block::Heading {
        level: 2,
        text: "Flow accuracy (trumpet curve)".into(),
        anchor: None,
        badge: None,
    }];
    out.push(Block::Para(format!(
        "Period {} to {} at {:.6} mL/h programmed, {} balance readings every {}: mean error A = {}.",
        format_duration(t.from_ms),
        format_duration(t.to_ms),
        t.rate_ml_per_h,
        t.samples,
        format_duration(t.sample_ms),
        percent(t.mean_error_percent)
    )));
    if t.windows.iter().any(|w| w.ep_max_percent.is_some()) {
        out.push(Block::Figure {
            svg: chart(t),
            caption: "Trumpet curve: the largest and smallest window-averaged flow error Ep(max) and Ep(min) for each observation window length, with the mean error A over the period and the flow-accuracy limits where the scenario gives them.".into(),
            file: None,
        });
    } else {
        out.push(Block::Callout {
            tone: Tone::Warn,
            title: "No trumpet curve".into(),
            lines: vec![
                "No observation window fitted the period with balance readings at both ends."
                    .into(),
            ],
        });
    }
    out.push(Block::Table(table(t)));
    out.push(Block::Small(format!(
        "Method (docs/metrology.md): Qi = 60·ΔWi/(S·d) mL/h; Ep = 100·(Q̄ − r)/r over every window of P minutes that fits the period, sliding one sample at a time. Windows holding fewer than {} strokes at the programmed rate are lengthened to hold {} (the scaled windows are the ones reported), and every window is a whole number of sample intervals. The arithmetic is the IEC 60601-2-24 method, used as an engineering method: that standard excludes implantable pumps, so this is not a compliance claim.",
        t.min_strokes, t.min_strokes
    )));
    out
}

fn microlitres(value: Option<f64>) -> String {
    value
        .map(|v| format!("{v:.1} µL"))
        .unwrap_or_else(|| "—".into())
}

fn verdict_cell(verdict: Verdict) -> Cell {
    let tone = match verdict {
        Verdict::Pass => Tone::Pass,
        Verdict::Fail => Tone::Fail,
        Verdict::Inconclusive | Verdict::NotEvaluated => Tone::Warn,
    };
    Cell::toned(verdict.word(), tone)
}

/// The `bolus-volume` table: every bolus and programmed rate change, measured at the tip.
pub fn boluses(s: &ScenarioView) -> Vec<Block> {
    if s.boluses.is_empty() {
        return Vec::new();
    }
    let mut table = Table::new(
        "boluses",
        &[
            "At",
            "What",
            "Programmed",
            "Window",
            "Background",
            "Measured",
            "Error",
            "Tolerance",
            "U (k = 2)",
            "Verdict",
        ],
    );
    for r in &s.boluses {
        let window = match (r.from_ms, r.to_ms) {
            (Some(a), Some(b)) => format!("{} .. {}", format_duration(a), format_duration(b)),
            _ => "no balance sample at one end".into(),
        };
        table.row(vec![
            Cell::text(format_duration(r.at_ms)),
            Cell::text(format!("{}: {}", r.kind.label(), r.programmed)),
            Cell::text(microlitres(Some(r.programmed_ul))),
            Cell::text(window),
            Cell::text(microlitres(Some(r.background_ul))),
            Cell::text(microlitres(r.measured_ul)),
            Cell::text(percent(r.error_percent())),
            Cell::text(format!("±{:.1} µL", r.tolerance_ul)),
            Cell::text(microlitres(r.expanded_ul)),
            verdict_cell(r.verdict),
        ]);
    }
    vec![
        Block::Heading {
            level: 2,
            text: "Bolus and step accuracy".into(),
            anchor: None,
            badge: None,
        },
        Block::Table(table),
        Block::Small(format!(
            "Method (docs/metrology.md, check bolus-volume): a bolus is weighed from the last balance reading at or before its start to the first at or after its end plus {} of settling, and the basal delivery expected meanwhile (the reference arithmetic's tip increment less the bolus) is subtracted; a rate change is weighed from the change to the next step. Tolerance: the scenario's relative volume tolerance of the programmed volume plus its absolute floor and five standard deviations of two balance readings; U is the expanded uncertainty of the measured increment from the run's budget. A row without a balance reading at both ends is NOT EVALUATED, never a pass.",
            format_duration(crate::checks::bolus::SETTLING_MS)
        )),
    ]
}

/// The uncertainty budgets of the scenario's gravimetric checks and the decision rule each
/// applied (ISO/IEC 17025 §7.8.6: a statement of conformity names its rule).
pub fn uncertainty(s: &ScenarioView) -> Vec<Block> {
    let judged: Vec<_> = s
        .checks
        .iter()
        .filter_map(|c| Some((c, c.uncertainty.as_ref()?)))
        .collect();
    if judged.is_empty() {
        return Vec::new();
    }
    let mut out = vec![Block::Heading {
        level: 2,
        text: "Uncertainty and decision rule".into(),
        anchor: None,
        badge: None,
    }];
    for (check, u) in judged {
        let unit = u.unit.as_ref().unwrap_or(&check.unit);
        out.push(Block::Para(format!(
            "{}: {} has an expanded uncertainty U = {:.3} {unit} (k = {}, u_c = {:.3} {unit}). Decision rule: {}; guard band w = {:.3} {unit}; a PASS is false with at most {:.1} % probability. Verdict: {}.",
            check.name,
            u.quantity,
            u.expanded,
            u.coverage_factor,
            u.combined,
            u.decision_rule,
            u.guard_band,
            u.false_accept_percent,
            check.verdict.word()
        )));
        let mut table = Table::new("budget", &["Term", "Evaluation", "Standard uncertainty"]);
        for term in &u.terms {
            table.row(vec![
                Cell::text(&term.name),
                Cell::text(&term.basis),
                Cell::text(format!("{:.4} {unit}", term.standard)),
            ]);
        }
        out.push(Block::Table(table));
        if !u.results.is_empty() {
            let mut results = Table::new(
                "uncertain-results",
                &[
                    "Result",
                    "Expected",
                    "Measured",
                    "Tolerance",
                    "U (k = 2)",
                    "Verdict",
                ],
            );
            for r in &u.results {
                let unit = &r.unit;
                results.row(vec![
                    Cell::text(&r.quantity),
                    Cell::text(format!("{:.3} {unit}", r.expected)),
                    Cell::text(format!("{:.3} {unit}", r.measured)),
                    Cell::text(format!("±{:.3} {unit}", r.tolerance)),
                    Cell::text(format!("{:.3} {unit}", r.expanded)),
                    verdict_cell(r.verdict),
                ]);
            }
            out.push(Block::Table(results));
        }
    }
    out.push(Block::Small(
        "Budget (docs/metrology.md): GUM method, independent terms combined root-sum-square, expanded with k = 2; each term names where its figure came from (the emulated balance, or the bench file's readability, repeatability, calibration certificate and evaporation); the fluid density is the scenario's, declared at 22 °C and moved along water's slope to the run's temperature (the bench file's temperature_c, else the scenario's, else 22 °C). The rule is applied to the check's headline judgement (the one that used the most of its tolerance); the table under a budget lists the check's further results (the worst total, interval and segment; each bolus; the flow windows nearest the limits), each with its own U. Simple acceptance passes a value inside the limits whatever its uncertainty (up to 50 % false-accept risk just inside a limit); guarded acceptance passes only when value ± w lies inside, and is INCONCLUSIVE when that interval straddles a limit.".into(),
    ));
    out
}
