//! The titration interlock: label limits on every change of the daily dose, whatever the
//! program form (continuous, flexible, or one replacing the other).

use super::Checker;
use crate::scenario::duration::format_duration;
use crate::scenario::model::*;
use crate::units::MS_PER_DAY;
use std::ops::Range;

/// A program step as the interlock sees it: when, its daily total, where it is written.
pub(super) struct ProgramChange {
    pub at_ms: u64,
    pub daily_ug: f64,
    pub marked: bool,
    pub span: Range<usize>,
}

/// Shows a daily total without a spurious ".0" (flexible totals can be fractional).
fn ug(total: f64) -> String {
    if (total - total.round()).abs() < 0.05 {
        format!("{total:.0}")
    } else {
        format!("{total:.1}")
    }
}

impl Checker<'_> {
    /// Label titration limits (domain.md), judged on the daily total against the highest daily
    /// total in force during the previous 24 h: a rise is at most the group's limit (more at a
    /// refill at the same device time, wherever the refill is written), and comes at least 24 h
    /// after the previous change; a cut is at most 20 %. The first program is the starting dose
    /// and is bounded only by the label's dose range. Steps marked `out_of_range_test` are
    /// exempt but still count as the program in force.
    pub(super) fn titration(
        &mut self,
        steps: &[Step],
        changes: &[ProgramChange],
        group: PatientGroup,
    ) {
        for (i, change) in changes.iter().enumerate() {
            let Some(previous) = i.checked_sub(1).map(|p| &changes[p]) else {
                continue;
            };
            if change.marked {
                continue;
            }
            let t = change.at_ms;
            let window_start = t.saturating_sub(MS_PER_DAY);
            // A program is in force from its step until the next program step.
            let highest = changes[..i]
                .iter()
                .enumerate()
                .filter(|(k, c)| {
                    let until = changes[k + 1].at_ms;
                    *k + 1 == i || (c.at_ms < t && until > window_start)
                })
                .map(|(_, c)| c.daily_ug)
                .fold(f64::MIN, f64::max);
            let change_pct = (change.daily_ug / highest - 1.0) * 100.0;
            let at_refill = steps
                .iter()
                .any(|s| s.at_ms == t && matches!(s.action, Action::Refill { .. }));
            let group_text = group.name();
            if change.daily_ug > previous.daily_ug + 1e-9 && t - previous.at_ms < MS_PER_DAY {
                self.fail::<()>(
                    change.span.clone(),
                    "scenario::titration",
                    format!(
                        "the daily dose rises from {} to {} µg/day {} after the previous change; the label allows one rise per 24 h",
                        ug(previous.daily_ug),
                        ug(change.daily_ug),
                        format_duration(t - previous.at_ms)
                    ),
                    "titrate at most once per 24 h, or mark the step out_of_range_test = true",
                );
            } else if change.daily_ug > highest + 1e-9 {
                let limit = group.max_rise(at_refill);
                if change_pct > limit * 100.0 + 1e-6 {
                    self.fail::<()>(
                        change.span.clone(),
                        "scenario::titration",
                        format!(
                            "the daily dose rises by {change_pct:.0} % ({} to {} µg/day, against the highest daily total of the previous 24 h); the label allows at most +{:.0} % {} for a {group_text} patient",
                            ug(highest),
                            ug(change.daily_ug),
                            limit * 100.0,
                            if at_refill { "at a refill" } else { "in 24 h" }
                        ),
                        "titrate in smaller steps (the limits: spinal +30 %, +40 % at a refill; cerebral and child +15 %, +20 % at a refill; [device] patient_group names the group), or mark the step out_of_range_test = true",
                    );
                }
            } else if change.daily_ug < highest * (1.0 - MAX_CUT) - 1e-9 {
                self.fail::<()>(
                    change.span.clone(),
                    "scenario::titration",
                    format!(
                        "the daily dose is cut by {:.0} % ({} to {} µg/day, against the highest daily total of the previous 24 h); the label describes cuts of at most {:.0} %",
                        -change_pct,
                        ug(highest),
                        ug(change.daily_ug),
                        MAX_CUT * 100.0
                    ),
                    "a deeper cut risks withdrawal: cut in steps of at most 20 % a day, or mark the step out_of_range_test = true to test the device's own limits",
                );
            }
        }
    }

    /// A bolus requested while another runs is refused by the device (docs/protocol.md,
    /// section 8), so a scenario that overlaps two boluses tests something it does not say,
    /// unless the later step states the refusal (`refused`, whose code `pumphil lint` checks
    /// against the arithmetic). A refused bolus does not run.
    pub(super) fn overlapping_boluses(&mut self, steps: &[Step], spans: &[Range<usize>]) {
        let mut running: Option<(u64, usize)> = None;
        for (step, span) in steps.iter().zip(spans) {
            match step.action {
                Action::Stop if step.refused.is_none() => running = None,
                Action::Bolus { .. } if step.refused.is_some() => {}
                Action::Bolus { duration_ms, .. } => {
                    if let Some((end, line)) = running.filter(|(end, _)| step.at_ms < *end) {
                        self.fail::<()>(
                            span.clone(),
                            "scenario::bolus-overlap",
                            format!(
                                "this bolus starts while the bolus on line {line} still runs (until {}); the device refuses it",
                                format_duration(end)
                            ),
                            &format!(
                                "start this bolus at {} or later, when the first one has ended, or state the refusal: refused = \"not_allowed_in_state\"",
                                format_duration(end)
                            ),
                        );
                    } else {
                        running = Some((step.at_ms + duration_ms, step.line));
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse, Action, FlexStepSpec, InputErrors, Scenario};
    use std::path::Path;

    fn scenario(device: &str, steps: &str) -> Result<Scenario, InputErrors> {
        let text = format!(
            "id = \"t\"\ntitle = \"t\"\nrequirements = [\"R\"]\nhazard = \"h\"\n[device]\nreservoir_ml = 40\ninitial_fill_ml = 20.0\nconcentration_ug_per_ml = 500\n{device}\n[timing]\nend = \"5d\"\nsample_every = \"1h\"\n{steps}"
        );
        parse(Path::new("t.toml"), &text, String::new())
    }

    fn step(at: &str, action: &str) -> String {
        format!("[[step]]\nat = \"{at}\"\n{action}\n")
    }

    fn program(ug: u32) -> String {
        format!("program = {{ continuous_ug_per_day = {ug} }}")
    }

    const REFILL: &str = "refill = { volume_ml = 20.0, concentration_ug_per_ml = 500 }";

    #[test]
    fn a_refill_at_the_same_time_allows_more_whatever_the_order_in_the_file() {
        let start = step("0s", &program(500));
        let rise = step("2d", &program(700));
        let refill = step("2d", REFILL);
        assert!(scenario("", &format!("{start}{rise}{refill}")).is_ok());
        assert!(scenario("", &format!("{start}{refill}{rise}")).is_ok());
        let alone = scenario("", &format!("{start}{rise}"))
            .unwrap_err()
            .to_string();
        assert!(alone.contains("at most +30 % in 24 h"), "{alone}");
        let later = scenario("", &format!("{start}{}{rise}", step("1d", REFILL)));
        assert!(later.is_err(), "a refill a day earlier gives no allowance");
    }

    #[test]
    fn the_patient_group_sets_the_limits() {
        let steps = format!("{}{}", step("0s", &program(500)), step("2d", &program(575)));
        assert!(scenario("", &steps).is_ok());
        assert!(scenario("patient_group = \"cerebral\"", &steps).is_ok());
        let steps = format!("{}{}", step("0s", &program(500)), step("2d", &program(580)));
        assert!(scenario("", &steps).is_ok());
        assert!(scenario("patient_group = \"child\"", &steps).is_err());
    }

    #[test]
    fn flexible_schedules_are_judged_on_their_daily_total() {
        let flex = "program = { flexible = [{ start = \"06:00\", ug_per_day = 500 }, { start = \"18:00\", ug_per_day = 700 }] }";
        assert!(scenario(
            "",
            &format!("{}{}", step("0s", &program(500)), step("2d", flex))
        )
        .is_ok());
        let too_much = format!("{}{}", step("0s", &program(450)), step("2d", flex));
        assert!(scenario("", &too_much).is_err(), "450 to 600 is +33 %");
        let action = Action::ProgramFlexible {
            steps: vec![
                FlexStepSpec {
                    start_minute: 360,
                    dose_ug_per_day: 400,
                },
                FlexStepSpec {
                    start_minute: 1080,
                    dose_ug_per_day: 600,
                },
            ],
        };
        assert_eq!(action.daily_total_ug(), Some(500.0));
    }

    #[test]
    fn a_marked_step_may_cut_deeply_and_a_20_percent_cut_needs_no_mark() {
        let cut = |mark: &str, ug: u32| {
            scenario(
                "",
                &format!(
                    "{}{}{mark}\n",
                    step("0s", &program(1000)),
                    step("2d", &program(ug))
                ),
            )
        };
        assert!(cut("", 800).is_ok());
        assert!(cut("", 790).is_err());
        assert!(cut("out_of_range_test = true", 200).is_ok());
    }

    #[test]
    fn an_overlapping_bolus_is_allowed_only_when_it_states_the_refusal() {
        let bolus = "bolus = { dose_ug = 50, duration = \"1h\" }";
        let start = step("0s", &program(500));
        let overlap = format!("{start}{}{}", step("1h", bolus), step("1h 30m", bolus));
        let err = scenario("", &overlap).unwrap_err().to_string();
        assert!(err.contains("scenario::bolus-overlap"), "{err}");
        let stated = format!("{overlap}refused = \"not_allowed_in_state\"\n");
        let s = scenario("", &stated).unwrap();
        assert_eq!(
            s.steps[2].refused,
            Some(crate::protocol::NackCode::NotAllowedInState)
        );
        // The refused bolus does not run: a third one at 2h follows the first, not the second.
        let third = format!("{stated}{}", step("2h", bolus));
        assert!(scenario("", &third).is_ok());
    }

    #[test]
    fn a_bolus_may_follow_one_that_has_ended_or_was_stopped() {
        let bolus = "bolus = { dose_ug = 50, duration = \"1h\" }";
        let start = step("0s", &program(500));
        let back_to_back = format!("{start}{}{}", step("1h", bolus), step("2h", bolus));
        assert!(scenario("", &back_to_back).is_ok());
        let after_stop = format!(
            "{start}{}{}{}{}",
            step("1h", bolus),
            step("1h 10m", "stop = true"),
            step("1h 20m", "resume = true"),
            step("1h 30m", bolus)
        );
        assert!(scenario("", &after_stop).is_ok());
    }
}
