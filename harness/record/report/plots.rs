//! The report's figures for one scenario, built from its samples, fixture rows and alarms.

use super::csf::CsfEstimate;
use super::doc::Block;
use super::svg::{self, colour, Band, Lane, Level, LineChart, Marker, Series, SpanKind, TimeAxis};
use super::view::ScenarioView;
use crate::protocol::{AlarmKind, Priority};
use crate::units::MS_PER_DAY;

const ML: f64 = 1e6;

fn axis(s: &ScenarioView) -> TimeAxis {
    TimeAxis::new(s.end_ms.max(s.last_t_ms()))
}

fn series(name: &str, colour: &'static str, dashed: bool, points: Vec<(f64, f64)>) -> Series {
    Series {
        name: name.into(),
        colour,
        dashed,
        points,
    }
}

fn delivered(s: &ScenarioView) -> Option<Block> {
    if s.samples.is_empty() && s.expected.is_empty() {
        return None;
    }
    let mut chart = LineChart {
        axis: axis(s),
        y_label: "cumulative volume (mL)".into(),
        height: 250.0,
        series: vec![],
        bands: vec![],
        levels: vec![],
        markers: vec![],
    };
    let mut caption = "Cumulative delivered volume: expected (reference calculation), device-reported, and measured by the balance at the catheter tip.".to_string();
    if let Some((rel, abs)) = s.volume_tolerance() {
        let rows = svg::downsample(&s.expected, 600);
        chart.bands.push(Band {
            name: "delivered-volume tolerance".into(),
            colour: colour::BAND,
            points: rows
                .iter()
                .map(|r| {
                    let e = r.delivered_nl as f64;
                    let tol = crate::checks::volume::band_nl(rel, abs, r.delivered_nl);
                    (r.t_ms as f64, (e - tol).max(0.0) / ML, (e + tol) / ML)
                })
                .collect(),
        });
        caption.push_str(&format!(
            " Shaded: tolerance ±max({:.0} % of expected, {:.4} mL).",
            rel * 100.0,
            abs as f64 / ML
        ));
    }
    chart.series.push(series(
        "expected delivered",
        colour::EXPECTED,
        true,
        s.expected
            .iter()
            .map(|r| (r.t_ms as f64, r.delivered_nl as f64 / ML))
            .collect(),
    ));
    if s.expected.iter().any(|r| r.tip_nl != r.delivered_nl) {
        chart.series.push(series(
            "expected at tip",
            colour::LIMIT,
            true,
            s.expected
                .iter()
                .map(|r| (r.t_ms as f64, r.tip_nl as f64 / ML))
                .collect(),
        ));
    }
    chart.series.push(series(
        "device-reported",
        colour::DEVICE,
        false,
        s.samples
            .iter()
            .map(|x| (x.t_ms as f64, x.delivered_nl as f64 / ML))
            .collect(),
    ));
    let tip: Vec<(f64, f64)> = s
        .samples
        .iter()
        .filter_map(|x| Some((x.t_ms as f64, x.tip_nl? as f64 / ML)))
        .collect();
    if !tip.is_empty() {
        chart
            .series
            .push(series("balance-measured", colour::BALANCE, false, tip));
    }
    Some(Block::Figure {
        svg: svg::line_chart(&chart),
        caption,
        file: None,
    })
}

fn reservoir(s: &ScenarioView) -> Option<Block> {
    if s.samples.is_empty() && s.expected.is_empty() {
        return None;
    }
    let mut chart = LineChart {
        axis: axis(s),
        y_label: "reservoir volume (mL)".into(),
        height: 230.0,
        series: vec![series(
            "expected calculated",
            colour::EXPECTED,
            true,
            s.expected
                .iter()
                .map(|r| (r.t_ms as f64, r.calculated_nl as f64 / ML))
                .collect(),
        )],
        bands: vec![],
        levels: vec![],
        markers: vec![],
    };
    chart.series.push(series(
        "calculated (device)",
        colour::DEVICE,
        false,
        s.samples
            .iter()
            .map(|x| (x.t_ms as f64, x.calculated_nl as f64 / ML))
            .collect(),
    ));
    let actual: Vec<(f64, f64)> = s
        .samples
        .iter()
        .filter_map(|x| Some((x.t_ms as f64, x.actual_reservoir_nl? as f64 / ML)))
        .collect();
    let has_actual = !actual.is_empty();
    if has_actual {
        chart
            .series
            .push(series("actual (bench plant)", colour::PLANT, false, actual));
    }
    if let Some(threshold) = s.low_reservoir_threshold_nl() {
        chart.levels.push(Level {
            name: "low-reservoir threshold".into(),
            colour: colour::LIMIT,
            value: threshold as f64 / ML,
        });
    }
    let caption = if has_actual {
        "Reservoir volume: calculated by the pump from what it believes it delivered, and the actual volume in the bench plant. They diverge under flow error or a pocket fill."
    } else {
        "Reservoir volume calculated by the pump (the actual volume is not measurable on this bench)."
    };
    Some(Block::Figure {
        svg: svg::line_chart(&chart),
        caption: caption.into(),
        file: None,
    })
}

fn priority_colour(priority: Priority) -> &'static str {
    match priority {
        Priority::High => colour::HIGH,
        Priority::Medium => colour::MEDIUM,
        Priority::Low => colour::LOW,
    }
}

fn alarm_lanes(s: &ScenarioView) -> Vec<Lane> {
    let windows = s.expected_windows();
    let forbidden = s.forbidden_spans();
    let mut names: Vec<AlarmKind> = Vec::new();
    for name in windows
        .iter()
        .map(|w| w.alarm)
        .chain(s.alarms.iter().map(|a| a.alarm))
        .chain(forbidden.iter().flat_map(|(n, _)| n.clone()))
    {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let end = s.end_ms.max(s.last_t_ms());
    let mut lanes: Vec<Lane> = Vec::new();
    if forbidden.iter().any(|(n, _)| n.is_empty()) {
        lanes.push(Lane {
            label: "any alarm".into(),
            spans: forbidden
                .iter()
                .filter(|(n, _)| n.is_empty())
                .map(|(_, (a, b))| (*a, *b, SpanKind::Forbidden))
                .collect(),
            marks: vec![],
        });
    }
    for name in names {
        let mut spans = Vec::new();
        for (n, (a, b)) in &forbidden {
            if n.contains(&name) {
                spans.push((*a, *b, SpanKind::Forbidden));
            }
        }
        for w in windows.iter().filter(|w| w.alarm == name) {
            spans.push((w.raised.0, w.raised.1, SpanKind::ExpectedRaise));
            if let Some((a, b)) = w.cleared {
                spans.push((a, b, SpanKind::ExpectedClear));
            }
        }
        let mut raised: Option<(u64, Priority)> = None;
        for a in s.alarms.iter().filter(|a| a.alarm == name) {
            match (a.raised, raised) {
                (true, None) => raised = Some((a.t_ms, a.priority)),
                (false, Some((start, priority))) => {
                    spans.push((start, a.t_ms, SpanKind::Active(priority_colour(priority))));
                    raised = None;
                }
                _ => {}
            }
        }
        if let Some((start, priority)) = raised {
            spans.push((start, end, SpanKind::Active(priority_colour(priority))));
        }
        lanes.push(Lane {
            label: name.name().replace('_', " "),
            spans,
            marks: vec![],
        });
    }
    let expected_findings = s.expected_findings();
    if !s.findings.is_empty() || !expected_findings.is_empty() {
        lanes.push(Lane {
            label: "harness findings".into(),
            spans: expected_findings
                .iter()
                .map(|(_, (a, b))| (*a, *b, SpanKind::ExpectedRaise))
                .collect(),
            marks: s.findings.iter().map(|f| f.t_ms).collect(),
        });
    }
    if lanes.is_empty() {
        lanes.push(Lane {
            label: "(no alarm)".into(),
            spans: vec![],
            marks: vec![],
        });
    }
    lanes
}

fn alarms(s: &ScenarioView) -> Block {
    Block::Figure {
        svg: svg::timeline(axis(s), &alarm_lanes(s)),
        caption: "Alarm timeline: bars are alarms the device reported active, coloured by priority; shaded boxes are the windows in which the scenario expects them raised or cleared; red tint marks spans where alarms are forbidden; triangles are harness findings.".into(),
        file: None,
    }
}

fn flow(s: &ScenarioView) -> Option<Block> {
    let tip: Vec<(u64, u64)> = s
        .samples
        .iter()
        .filter_map(|x| Some((x.t_ms, x.tip_nl?)))
        .collect();
    if tip.len() < 2 {
        return None;
    }
    // A window must hold about 20 strokes, or whole-stroke steps swamp the flow; at most 300
    // windows keep the plot small.
    let stroke_nl = s.stroke_nl()?;
    let fastest = s
        .expected
        .iter()
        .map(|r| r.programmed_nl_per_day)
        .max()
        .unwrap_or(0);
    let strokes_ms = (20 * MS_PER_DAY)
        .saturating_mul(stroke_nl)
        .checked_div(fastest)
        .unwrap_or(0);
    let span = tip
        .last()
        .map(|p| p.0)
        .unwrap_or(0)
        .saturating_sub(tip[0].0);
    let window = strokes_ms.max(s.sample_ms).max(span / 300).max(1);
    let mut measured = Vec::new();
    let mut i = 0;
    while let Some(j) = (i + 1..tip.len()).find(|&j| tip[j].0.saturating_sub(tip[i].0) >= window) {
        let ((t0, v0), (t1, v1)) = (tip[i], tip[j]);
        let ml_per_day = (v1 as f64 - v0 as f64) / ML * MS_PER_DAY as f64 / (t1 - t0) as f64;
        measured.push((t0 as f64, ml_per_day));
        measured.push((t1 as f64, ml_per_day));
        i = j;
    }
    // The flow judged normal is the scenario's own (recorded) under and over ratios.
    let ratios = s
        .expectations
        .as_ref()
        .map(|e| (e.discrepancy.under_ratio, e.discrepancy.over_ratio));
    let limits = ratios.map(|(under, over)| {
        let (below, above) = ((1.0 - under) * 100.0, (over - 1.0) * 100.0);
        if (below - above).abs() < 1e-9 {
            format!("±{above:.0} %")
        } else {
            format!("{:.0}–{:.0} %", under * 100.0, over * 100.0)
        }
    });
    let mut programmed = Vec::new();
    let mut band = Vec::new();
    let rows = svg::downsample(&s.expected, 300);
    for (i, r) in rows.iter().enumerate() {
        let rate = r.programmed_nl_per_day as f64 / ML;
        let next = rows.get(i + 1).map(|n| n.t_ms).unwrap_or(r.t_ms);
        for t in [r.t_ms, next] {
            programmed.push((t as f64, rate));
            if let Some((under, over)) = ratios {
                band.push((t as f64, rate * under, rate * over));
            }
        }
    }
    let chart = LineChart {
        axis: axis(s),
        y_label: "flow (mL/day)".into(),
        height: 230.0,
        series: vec![
            series("programmed", colour::EXPECTED, true, programmed),
            series("balance-derived", colour::BALANCE, false, measured),
        ],
        bands: limits
            .iter()
            .map(|limits| Band {
                name: format!("{limits} of programmed"),
                colour: colour::PLANT,
                points: band.clone(),
            })
            .collect(),
        levels: vec![],
        markers: vec![],
    };
    Some(Block::Figure {
        svg: svg::line_chart(&chart),
        caption: format!(
            "Flow at the catheter tip from the balance (mass / density), averaged over windows of {} (at least 20 strokes and one sample interval, so whole-stroke steps do not dominate), against the programmed flow{}.",
            crate::scenario::duration::format_duration(window),
            limits
                .map(|l| format!(" and the {l} under/over-infusion limits"))
                .unwrap_or_default()
        ),
        file: None,
    })
}

/// The first raise of `alarm` recorded at or after `from` (a window's earliest time), or the
/// last one before it when there is none after: the onset the window is judged against.
fn onset(s: &ScenarioView, alarm: AlarmKind, from: u64) -> Option<u64> {
    let raises = s
        .alarms
        .iter()
        .filter(|a| a.alarm == alarm && a.raised)
        .map(|a| a.t_ms);
    raises
        .clone()
        .filter(|t| *t >= from)
        .min()
        .or_else(|| raises.max())
}

/// A zoomed inset per expected alarm: its raise window (a few minutes, a sliver on a
/// scenario of months) and the observed onset, on an axis in minutes from the window's
/// opening. An onset further away than ten window widths (and three hours) is stated, not
/// drawn, so the window stays readable.
fn alarm_insets(s: &ScenarioView) -> Vec<Block> {
    let lanes = alarm_lanes(s);
    let mut out = Vec::new();
    for w in s.expected_windows() {
        let (open, close) = w.raised;
        let width = (close - open).max(60_000);
        let onset = onset(s, w.alarm, open);
        let reach = (10 * width).max(3 * crate::units::MS_PER_HOUR);
        let shown = onset.filter(|o| *o + reach >= open && *o <= close + reach);
        let first = shown.map_or(open, |o| o.min(open));
        let last = shown.map_or(close, |o| o.max(close));
        let pad = ((last - first) / 4).max(60_000);
        let axis = TimeAxis::window(
            first.saturating_sub(pad),
            last + pad,
            open,
            "device time from the opening of the expected raise window",
        );
        let label = w.alarm.name().replace('_', " ");
        let lane: Vec<Lane> = lanes.iter().filter(|l| l.label == label).cloned().collect();
        let fmt = crate::scenario::duration::format_duration;
        let observed = match onset {
            Some(o) if o < open => format!(
                "raised at {} ({} before the window opens)",
                fmt(o),
                fmt(open - o)
            ),
            Some(o) if o > close => format!(
                "raised at {} ({} after the window closes)",
                fmt(o),
                fmt(o - close)
            ),
            Some(o) => format!("raised at {}, inside the window", fmt(o)),
            None if s.last_t_ms() < close => format!(
                "not raised; the record ends at {}, before the window closes",
                fmt(s.last_t_ms())
            ),
            None => "not raised".to_string(),
        };
        let outside = if onset.is_some() && shown.is_none() {
            " The onset is outside this view."
        } else {
            ""
        };
        out.push(Block::Figure {
            svg: svg::timeline(axis, &lane),
            caption: format!(
                "Zoomed alarm window, {label} ({}): expected raised {} – {}; observed: {observed}.{outside}",
                w.priority.name(),
                fmt(open),
                fmt(close)
            ),
            file: None,
        });
    }
    out
}

pub fn scenario_figures(s: &ScenarioView) -> Vec<Block> {
    let mut out = Vec::new();
    out.extend(delivered(s));
    out.extend(reservoir(s));
    out.push(alarms(s));
    out.extend(alarm_insets(s));
    out.extend(flow(s));
    if s.samples.is_empty() {
        out.push(Block::Para(
            "No samples were recorded for this scenario.".into(),
        ));
    }
    out
}

pub fn csf(e: &CsfEstimate) -> Option<String> {
    if e.curve.is_empty() {
        return None;
    }
    let mut markers = vec![Marker {
        name: "interruption".into(),
        colour: colour::HIGH,
        t_ms: e.interruption.t_ms as f64,
    }];
    if let Some(r) = &e.first_response {
        markers.push(Marker {
            name: "first alarm or finding".into(),
            colour: colour::FINDING,
            t_ms: (e.interruption.t_ms + r.after_ms) as f64,
        });
    }
    let (start, end) = (e.curve[0].0, e.curve[e.curve.len() - 1].0);
    let chart = LineChart {
        axis: TimeAxis::window(
            start,
            end,
            e.interruption.t_ms,
            "time since the interruption",
        ),
        y_label: "CSF baclofen (ng/mL)".into(),
        height: 220.0,
        series: vec![series(
            "estimated CSF level",
            colour::DEVICE,
            false,
            e.curve.iter().map(|(t, c)| (*t as f64, *c)).collect(),
        )],
        bands: vec![],
        levels: vec![
            Level {
                name: "50 % of pre-interruption".into(),
                colour: colour::MEDIUM,
                value: e.level_before_ng_per_ml * 0.5,
            },
            Level {
                name: "25 %".into(),
                colour: colour::HIGH,
                value: e.level_before_ng_per_ml * 0.25,
            },
        ],
        markers,
    };
    Some(svg::line_chart(&chart))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::view::AlarmRow;
    use crate::units::MS_PER_HOUR;

    /// A 110-day scenario expecting low_reservoir at 20 h ± 5 min, raised at `raised_ms`.
    fn long_scenario(raised_ms: Option<u64>) -> ScenarioView {
        let source = r#"
id = "long"
title = "t"
description = "d"
requirements = ["PH-REQ-010"]
hazard = "h"
[device]
reservoir_ml = 40
initial_fill_ml = 3.0
concentration_ug_per_ml = 500
[timing]
end = "110d"
sample_every = "1h"
[[step]]
at = "0s"
program = { continuous_ug_per_day = 600 }
[[expect.alarm]]
alarm = "low_reservoir"
priority = "medium"
raised = { at = "20h" }
"#;
        let scenario =
            crate::scenario::parse(std::path::Path::new("long.toml"), source, String::new())
                .expect("the scenario parses");
        ScenarioView {
            id: "long".into(),
            end_ms: scenario.end_ms,
            expectations: Some(scenario.expect),
            alarms: raised_ms
                .map(|t_ms| AlarmRow {
                    t_ms,
                    alarm: AlarmKind::LowReservoir,
                    priority: Priority::Medium,
                    raised: true,
                })
                .into_iter()
                .collect(),
            ..ScenarioView::default()
        }
    }

    fn inset(s: &ScenarioView) -> (String, String) {
        match alarm_insets(s).as_slice() {
            [Block::Figure { svg, caption, .. }] => (svg.clone(), caption.clone()),
            other => panic!("one inset expected, got {other:?}"),
        }
    }

    /// The width of the first expected-window box drawn.
    fn window_width(svg: &str) -> f64 {
        let rect = svg
            .split("<rect ")
            .find(|r| r.contains(colour::WINDOW_RAISE) && r.contains("fill-opacity=\"0.35\""))
            .expect("the window is drawn");
        let width = rect.split("width=\"").nth(1).expect("a width");
        width[..width.find('"').unwrap()].parse().unwrap()
    }

    #[test]
    fn a_ten_minute_window_on_a_110_day_axis_is_drawn_wide_with_its_onset() {
        let s = long_scenario(Some(20 * MS_PER_HOUR + 3 * 60_000));
        let (svg, caption) = inset(&s);
        assert!(svg.contains("(min)"), "minutes on the axis");
        // On the whole axis the window is 3 px (its minimum); here it fills about half the plot.
        assert!(window_width(&svg) > 250.0, "{}", window_width(&svg));
        assert!(
            caption.contains("observed: raised at 20h 3m, inside the window"),
            "{caption}"
        );
    }

    #[test]
    fn a_late_onset_is_drawn_in_the_inset_or_named_when_far_away() {
        let (svg, caption) = inset(&long_scenario(Some(22 * MS_PER_HOUR)));
        assert!(
            caption.contains("1h 55m after the window closes"),
            "{caption}"
        );
        assert!(!caption.contains("outside this view"), "{caption}");
        assert!(svg.contains(colour::MEDIUM), "the active alarm is drawn");
        let (_, caption) = inset(&long_scenario(Some(30 * 24 * MS_PER_HOUR)));
        assert!(
            caption.contains("The onset is outside this view"),
            "{caption}"
        );
        let (_, caption) = inset(&long_scenario(None));
        assert!(caption.contains("observed: not raised"), "{caption}");
    }
}
