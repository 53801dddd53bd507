//! Alarm checks: each expected alarm raised inside its window with its priority and cleared when
//! expected; no alarm outside the expectations; none inside a forbidden span.

use super::{names, time, CheckResult, ObservedAlarm, Verdict};
use crate::scenario::{Scenario, Window};

fn window_text(w: &Window) -> String {
    format!("{} .. {}", time(w.earliest_ms), time(w.latest_ms))
}

fn margin_s(w: &Window, t: u64) -> f64 {
    let early = t as f64 - w.earliest_ms as f64;
    let late = w.latest_ms as f64 - t as f64;
    early.min(late) / 1000.0
}

#[allow(clippy::too_many_arguments)] // one row of a results table, every column named at the call
fn result(
    name: String,
    pass: bool,
    expected: String,
    measured: String,
    tolerance: String,
    margin: Option<f64>,
    at_ms: Option<u64>,
    detail: String,
) -> CheckResult {
    CheckResult {
        name,
        verdict: if pass { Verdict::Pass } else { Verdict::Fail },
        expected,
        measured,
        tolerance,
        margin,
        unit: "s".to_string(),
        at_ms,
        detail,
        margin_percent: None,
        end_value: None,
        uncertainty: None,
    }
}

pub fn check_alarms(scenario: &Scenario, observed: &[ObservedAlarm]) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let mut matched = vec![false; observed.len()];
    let mut seen = std::collections::HashMap::new();
    for exp in &scenario.expect.alarms {
        let count = seen.entry(exp.alarm).or_insert(0);
        *count += 1;
        let suffix = if *count > 1 {
            format!("#{count}")
        } else {
            String::new()
        };
        let name = |family: &str| format!("{}{suffix}", names::per_alarm(family, exp.alarm));
        // The first unmatched raise of this alarm is the one this expectation judges.
        let raise = observed
            .iter()
            .enumerate()
            .find(|(i, o)| !matched[*i] && o.raised && o.alarm == exp.alarm);
        match raise {
            Some((i, o)) => {
                matched[i] = true;
                out.push(result(
                    name(names::ALARM_ONSET),
                    exp.raised.contains(o.t_ms),
                    window_text(&exp.raised),
                    time(o.t_ms),
                    "window".into(),
                    Some(margin_s(&exp.raised, o.t_ms)),
                    Some(o.t_ms),
                    format!("{} raised at {} (device time)", exp.alarm, time(o.t_ms)),
                ));
                out.push(result(
                    name(names::ALARM_PRIORITY),
                    o.priority == exp.priority,
                    exp.priority.name().into(),
                    o.priority.name().into(),
                    "exact".into(),
                    None,
                    Some(o.t_ms),
                    format!("{} raised with priority {}", exp.alarm, o.priority),
                ));
                let clear = observed
                    .iter()
                    .enumerate()
                    .find(|(j, c)| *j > i && !c.raised && c.alarm == exp.alarm);
                match (&exp.cleared, clear) {
                    (Some(w), Some((j, c))) => {
                        matched[j] = true;
                        out.push(result(
                            name(names::ALARM_CLEARED),
                            w.contains(c.t_ms),
                            window_text(w),
                            time(c.t_ms),
                            "window".into(),
                            Some(margin_s(w, c.t_ms)),
                            Some(c.t_ms),
                            format!("{} cleared at {}", exp.alarm, time(c.t_ms)),
                        ));
                    }
                    (Some(w), None) => out.push(result(
                        name(names::ALARM_CLEARED),
                        false,
                        window_text(w),
                        "never cleared".into(),
                        "window".into(),
                        None,
                        None,
                        format!("{} was still active at the end", exp.alarm),
                    )),
                    (None, Some((j, c))) => {
                        matched[j] = true;
                        out.push(result(
                            name(names::ALARM_CLEARED),
                            false,
                            "active to the end".into(),
                            time(c.t_ms),
                            "none".into(),
                            None,
                            Some(c.t_ms),
                            format!(
                                "{} cleared at {} but should have stayed active",
                                exp.alarm,
                                time(c.t_ms)
                            ),
                        ));
                    }
                    (None, None) => out.push(result(
                        name(names::ALARM_CLEARED),
                        true,
                        "active to the end".into(),
                        "active to the end".into(),
                        "none".into(),
                        None,
                        None,
                        format!("{} stayed active to the end", exp.alarm),
                    )),
                }
            }
            None => {
                for family in [
                    names::ALARM_ONSET,
                    names::ALARM_PRIORITY,
                    names::ALARM_CLEARED,
                ] {
                    out.push(result(
                        name(family),
                        false,
                        if family == names::ALARM_ONSET {
                            window_text(&exp.raised)
                        } else {
                            "an alarm to judge".into()
                        },
                        "not raised".into(),
                        "window".into(),
                        None,
                        None,
                        format!("{} was never raised", exp.alarm),
                    ));
                }
            }
        }
    }
    let unexpected: Vec<&ObservedAlarm> = observed
        .iter()
        .enumerate()
        .filter(|(i, o)| !matched[*i] && o.raised)
        .map(|(_, o)| o)
        .collect();
    let listed: Vec<String> = unexpected
        .iter()
        .map(|o| format!("{} ({}) at {}", o.alarm, o.priority, time(o.t_ms)))
        .collect();
    out.push(result(
        names::UNEXPECTED_ALARMS.into(),
        unexpected.is_empty(),
        "no alarm beyond the expected ones".into(),
        if listed.is_empty() {
            "none".into()
        } else {
            listed.join(", ")
        },
        "none".into(),
        None,
        unexpected.first().map(|o| o.t_ms),
        format!(
            "{} alarm raises observed, {} unexpected",
            observed.iter().filter(|o| o.raised).count(),
            unexpected.len()
        ),
    ));
    if !scenario.expect.forbidden.is_empty() {
        let mut hits = Vec::new();
        for span in &scenario.expect.forbidden {
            for o in observed.iter().filter(|o| {
                o.raised
                    && span.span.contains(o.t_ms)
                    && (span.alarms.is_empty() || span.alarms.contains(&o.alarm))
            }) {
                hits.push(format!(
                    "{} at {} (forbidden {})",
                    o.alarm,
                    time(o.t_ms),
                    window_text(&span.span)
                ));
            }
        }
        out.push(result(
            names::FORBIDDEN_ALARMS.into(),
            hits.is_empty(),
            "no alarm in the forbidden spans".into(),
            if hits.is_empty() {
                "none".into()
            } else {
                hits.join(", ")
            },
            "none".into(),
            None,
            None,
            format!(
                "{} forbidden spans checked",
                scenario.expect.forbidden.len()
            ),
        ));
    }
    out
}
