//! Alarm windows, forbidden spans and findings: the `[expect]` tables checked against the steps.

use super::Checker;
use crate::protocol::Priority;
use crate::scenario::duration::format_duration;
use crate::scenario::model::*;
use crate::scenario::raw::*;
use crate::units::MS_PER_MINUTE;
use std::ops::Range;

impl Checker<'_> {
    pub(super) fn window(
        &mut self,
        raw: &S<RawWindow>,
        steps: &[Step],
        alarm_tol: u64,
        end_ms: u64,
    ) -> Option<Window> {
        let w = raw.get_ref();
        let help = "write a window as { at = \"20h\" } (± tolerance.alarm), { earliest = \"19h\", latest = \"21h\" }, or { after_step = \"refill\", within = \"5m\" }";
        let window = match (&w.at, &w.earliest, &w.latest, &w.after_step, &w.within) {
            (Some(at), None, None, None, None) => {
                let at = self.duration(at, "window time")?;
                Window {
                    earliest_ms: at.saturating_sub(alarm_tol),
                    latest_ms: at + alarm_tol,
                }
            }
            (None, Some(e), Some(l), None, None) => {
                let earliest = self.duration(e, "earliest")?;
                let latest = self.duration(l, "latest")?;
                if earliest > latest {
                    return self.fail(
                        l.span(),
                        "scenario::window",
                        format!(
                            "latest ({}) is before earliest ({})",
                            l.get_ref(),
                            e.get_ref()
                        ),
                        "swap the two times",
                    );
                }
                Window {
                    earliest_ms: earliest,
                    latest_ms: latest,
                }
            }
            (None, None, None, Some(step), Some(within)) => {
                let within_ms = self.duration(within, "within")?;
                let Some(found) = steps
                    .iter()
                    .find(|s| s.name.as_deref() == Some(step.get_ref().as_str()))
                else {
                    let names: Vec<&str> = steps.iter().filter_map(|s| s.name.as_deref()).collect();
                    return self.fail(
                        step.span(),
                        "scenario::unknown-step",
                        format!("no step is named {:?}", step.get_ref()),
                        &format!(
                            "give the step `name = {:?}`, or use one of: {}",
                            step.get_ref(),
                            if names.is_empty() {
                                "(no named steps)".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    );
                };
                Window {
                    earliest_ms: found.at_ms,
                    latest_ms: found.at_ms + within_ms,
                }
            }
            _ => {
                return self.fail(
                    raw.span(),
                    "scenario::window",
                    "a window needs exactly one of: at; earliest and latest; after_step and within"
                        .to_string(),
                    help,
                )
            }
        };
        if window.earliest_ms > end_ms {
            return self.fail(
                raw.span(),
                "scenario::past-end",
                format!(
                    "window starts at {} ms, after the scenario's end ({} ms)",
                    window.earliest_ms, end_ms
                ),
                "move the window before timing.end or extend timing.end",
            );
        }
        Some(window)
    }

    pub(super) fn expectations(
        &mut self,
        raw: &RawExpect,
        steps: &[Step],
        alarm_tol: u64,
        end: u64,
        balance: bool,
    ) -> Option<Expectations> {
        let mut ok = true;
        let mut alarms = Vec::new();
        let mut alarm_spans = Vec::new();
        for a in &raw.alarm {
            let e = a.get_ref();
            let line = self.line_of(a.span().start);
            let alarm = self.alarm(&e.alarm);
            let priority = Priority::from_name(e.priority.get_ref()).or_else(|| {
                self.fail(
                    e.priority.span(),
                    "scenario::unknown-priority",
                    format!("unknown priority {:?}", e.priority.get_ref()),
                    "use high, medium or low",
                )
            });
            let raised = self.window(&e.raised, steps, alarm_tol, end);
            let cleared = match &e.cleared {
                Some(w) => self.window(w, steps, alarm_tol, end).map(Some),
                None => Some(None),
            };
            if let (Some(r), Some(Some(c)), Some(cleared_raw)) = (raised, cleared, &e.cleared) {
                if c.latest_ms < r.earliest_ms {
                    self.fail::<()>(
                        cleared_raw.span(),
                        "scenario::window",
                        format!(
                            "the alarm must clear by {}, before its raising window opens at {}",
                            format_duration(c.latest_ms),
                            format_duration(r.earliest_ms)
                        ),
                        "an alarm clears after it is raised: move the cleared window after the raised window",
                    );
                    ok = false;
                }
            }
            match (alarm, priority, raised, cleared) {
                (Some(alarm), Some(priority), Some(raised), Some(cleared)) => {
                    alarms.push(ExpectedAlarm {
                        alarm,
                        line,
                        priority,
                        raised,
                        cleared,
                    });
                    alarm_spans.push(e.alarm.span());
                }
                _ => ok = false,
            }
        }
        let mut forbidden = Vec::new();
        let mut forbid_lines = Vec::new();
        for f in &raw.forbid {
            let e = f.get_ref();
            let mut kinds = Vec::new();
            for name in &e.alarms {
                if name.get_ref() == "any" {
                    continue;
                }
                match self.alarm(name) {
                    Some(k) => kinds.push(k),
                    None => ok = false,
                }
            }
            let (Some(from), Some(to)) = (
                self.duration(&e.from, "forbid.from"),
                self.duration(&e.to, "forbid.to"),
            ) else {
                ok = false;
                continue;
            };
            if from > to || to > end {
                self.fail::<()>(
                    f.span(),
                    "scenario::window",
                    "forbid needs from <= to <= timing.end".to_string(),
                    "fix the span's times",
                );
                ok = false;
                continue;
            }
            if e.alarms.iter().any(|name| name.get_ref() == "any") {
                kinds.clear();
            }
            forbid_lines.push(self.line_of(f.span().start));
            forbidden.push(ForbiddenSpan {
                alarms: kinds,
                span: Window {
                    earliest_ms: from,
                    latest_ms: to,
                },
            });
        }
        if !self.alarms_consistent(&alarms, &alarm_spans, &forbidden, &forbid_lines) {
            ok = false;
        }
        let mut findings = Vec::new();
        for f in &raw.finding {
            let e = f.get_ref();
            let kind = FindingKind::from_name(e.kind.get_ref()).or_else(|| {
                self.fail(
                    e.kind.span(),
                    "scenario::unknown-finding",
                    format!("unknown finding {:?}", e.kind.get_ref()),
                    "use under_infusion, over_infusion or silent_depletion",
                )
            });
            if !balance {
                self.fail::<()>(
                    f.span(),
                    "scenario::finding",
                    "findings need a balance".to_string(),
                    "set bench.balance = true: findings come from the independent measurement",
                );
                ok = false;
            }
            let (Some(kind), Some(earliest), Some(latest)) = (
                kind,
                self.duration(&e.earliest, "finding.earliest"),
                self.duration(&e.latest, "finding.latest"),
            ) else {
                ok = false;
                continue;
            };
            if earliest > latest || latest > end {
                self.fail::<()>(
                    f.span(),
                    "scenario::window",
                    "a finding window needs earliest <= latest <= timing.end".to_string(),
                    "fix the window's times",
                );
                ok = false;
                continue;
            }
            findings.push(ExpectedFinding {
                kind,
                window: Window {
                    earliest_ms: earliest,
                    latest_ms: latest,
                },
            });
        }
        let d = &raw.discrepancy;
        let window_ms = match &d.window {
            Some(w) => self.duration(w, "discrepancy.window"),
            None => Some(15 * MS_PER_MINUTE),
        };
        let ratio = |c: &mut Self, v: &Option<S<f64>>, default: f64, what: &str| -> Option<f64> {
            match v {
                Some(v) if v.get_ref().is_finite() && (0.0..=10.0).contains(v.get_ref()) => {
                    Some(*v.get_ref())
                }
                Some(v) => c.fail(
                    v.span(),
                    "scenario::range",
                    format!("{what} is {}", v.get_ref()),
                    "ratios are fractions of the programmed flow, e.g. 0.9",
                ),
                None => Some(default),
            }
        };
        let under = ratio(self, &d.under_ratio, 0.9, "discrepancy.under_ratio");
        let over = ratio(self, &d.over_ratio, 1.1, "discrepancy.over_ratio");
        let stopped = ratio(self, &d.stopped_ratio, 0.1, "discrepancy.stopped_ratio");
        let min_strokes = match &d.min_strokes {
            Some(v) => self
                .int_in(
                    v,
                    "discrepancy.min_strokes",
                    1..=10_000,
                    "strokes a window must span",
                )
                .map(|v| v as u32),
            None => Some(20),
        };
        if !ok {
            return None;
        }
        Some(Expectations {
            alarms,
            forbidden,
            findings,
            check_delivered: raw.volume.delivered.unwrap_or(true),
            check_calculated: raw.volume.calculated.unwrap_or(true),
            check_tip: raw.volume.tip.unwrap_or(balance) && balance,
            check_actual: raw.volume.actual.unwrap_or(false),
            discrepancy: DiscrepancyParams {
                window_ms: window_ms?,
                under_ratio: under?,
                over_ratio: over?,
                min_strokes: min_strokes?,
                stopped_ratio: stopped?,
            },
        })
    }

    /// Expectations that no device could meet: the same raise expected twice, or an alarm
    /// expected in a span where it is also forbidden.
    fn alarms_consistent(
        &mut self,
        alarms: &[ExpectedAlarm],
        spans: &[Range<usize>],
        forbidden: &[ForbiddenSpan],
        forbid_lines: &[usize],
    ) -> bool {
        let before = self.errors.len();
        for (i, (exp, span)) in alarms.iter().zip(spans).enumerate() {
            // An alarm is raised again only after it has cleared.
            if let Some(first) = alarms[..i].iter().rev().find(|a| a.alarm == exp.alarm) {
                let clears_first = first
                    .cleared
                    .is_some_and(|c| c.earliest_ms <= exp.raised.latest_ms);
                if !clears_first {
                    self.fail::<()>(
                        span.clone(),
                        "scenario::alarm-twice",
                        format!(
                            "{} is already expected on line {}, and that alarm {} before this raise",
                            exp.alarm,
                            first.line,
                            match first.cleared {
                                None => "stays active to the end".to_string(),
                                Some(c) => format!("clears no earlier than {}", format_duration(c.earliest_ms)),
                            }
                        ),
                        "remove the duplicate, or give the first expectation a cleared window that comes before this raise",
                    );
                }
            }
            for (f, line) in forbidden.iter().zip(forbid_lines) {
                let names_it = f.alarms.is_empty() || f.alarms.contains(&exp.alarm);
                let overlaps = f.span.earliest_ms <= exp.raised.latest_ms
                    && exp.raised.earliest_ms <= f.span.latest_ms;
                if names_it && overlaps {
                    self.fail::<()>(
                        span.clone(),
                        "scenario::expected-and-forbidden",
                        format!(
                            "{} is expected between {} and {}, but the span on line {line} forbids it from {} to {}",
                            exp.alarm,
                            format_duration(exp.raised.earliest_ms),
                            format_duration(exp.raised.latest_ms),
                            format_duration(f.span.earliest_ms),
                            format_duration(f.span.latest_ms)
                        ),
                        "end the forbidden span before the expected window, or leave this alarm out of its list",
                    );
                }
            }
        }
        self.errors.len() == before
    }
}
