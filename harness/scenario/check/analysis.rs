//! Checks `[analysis]`: the trumpet curve's period, windows and limits.

use super::Checker;
use crate::scenario::model::*;
use crate::scenario::raw::*;

/// Longest observation window accepted, minutes (a day).
const MAX_WINDOW_MIN: f64 = 1440.0;

impl Checker<'_> {
    pub(super) fn analysis(
        &mut self,
        raw: &RawAnalysis,
        steps: &[Step],
        end_ms: u64,
        sample_ms: u64,
        balance: bool,
    ) -> Option<Analysis> {
        let trumpet = match &raw.trumpet {
            Some(t) => Some(self.trumpet(t, steps, end_ms, sample_ms, balance)?),
            None => None,
        };
        Some(Analysis { trumpet })
    }

    fn trumpet(
        &mut self,
        raw: &S<RawTrumpet>,
        steps: &[Step],
        end_ms: u64,
        sample_ms: u64,
        balance: bool,
    ) -> Option<TrumpetSpec> {
        let t = raw.get_ref();
        if !balance {
            return self.fail(
                raw.span(),
                "scenario::trumpet-needs-balance",
                "[analysis.trumpet] needs the balance trace, but bench.balance = false".into(),
                "set bench.balance = true or remove [analysis.trumpet]",
            );
        }
        let from = self.duration(&t.from, "analysis.trumpet.from");
        let to = self.duration(&t.to, "analysis.trumpet.to");
        let (from, to) = (from?, to?);
        let sample = sample_ms.max(1);
        if to > end_ms || from + 2 * sample > to {
            return self.fail(
                t.to.span(),
                "scenario::trumpet-period",
                format!(
                    "the analysis period runs from {} to {}: it must end by timing.end and hold at least two sample intervals",
                    super::super::duration::format_duration(from),
                    super::super::duration::format_duration(to)
                ),
                "the method's usual period is the second hour: from = \"1h\", to = \"2h\"",
            );
        }
        for (end, text) in [(from, &t.from), (to, &t.to)] {
            if end % sample != 0 && end != end_ms {
                return self.fail(
                    text.span(),
                    "scenario::trumpet-period",
                    "the analysis period must start and end on a sample time".into(),
                    "make from and to whole multiples of timing.sample_every",
                );
            }
        }
        if let Some(step) = steps.iter().find(|s| {
            s.at_ms > from
                && s.at_ms < to
                && matches!(
                    s.action,
                    Action::ProgramContinuous { .. }
                        | Action::ProgramFlexible { .. }
                        | Action::Bolus { .. }
                        | Action::Refill { .. }
                        | Action::Stop
                        | Action::Resume
                )
        }) {
            return self.fail(
                raw.span(),
                "scenario::trumpet-rate-changes",
                format!(
                    "the step on line {} changes delivery inside the analysis period",
                    step.line
                ),
                "the trumpet method judges one constant programmed rate: move the period or the step",
            );
        }
        let windows_min = match &t.windows {
            None => STANDARD_TRUMPET_WINDOWS_MIN.to_vec(),
            Some(list) if list.get_ref().is_empty() => {
                return self.fail(
                    list.span(),
                    "scenario::range",
                    "analysis.trumpet.windows is empty".into(),
                    "leave it out for the standard 2, 5, 11, 19, 31 minutes",
                )
            }
            Some(list) => {
                let mut out = Vec::new();
                for w in list.get_ref() {
                    let minutes = *w.get_ref();
                    if !(minutes.is_finite() && minutes > 0.0 && minutes <= MAX_WINDOW_MIN) {
                        return self.fail(
                            w.span(),
                            "scenario::range",
                            format!("observation window {minutes} min is out of range"),
                            "windows are minutes, more than 0 and at most 1440",
                        );
                    }
                    if out.last().is_some_and(|&last| minutes <= last) {
                        return self.fail(
                            w.span(),
                            "scenario::range",
                            format!("observation window {minutes} min is not longer than the one before"),
                            "list windows shortest first, each once, e.g. [2, 5, 11, 19, 31]",
                        );
                    }
                    out.push(minutes);
                }
                out
            }
        };
        let min_strokes = match &t.min_strokes {
            Some(v) => self.int_in(
                v,
                "analysis.trumpet.min_strokes",
                1..=10_000,
                "strokes a window must hold; 10 keeps one stroke of phase near 10 %",
            )? as u32,
            None => DEFAULT_TRUMPET_MIN_STROKES,
        };
        let percent = |c: &mut Self, v: &Option<S<f64>>, what: &str, ok: fn(f64) -> bool| {
            match v
        {
            Some(v) if v.get_ref().is_finite() && ok(*v.get_ref()) => Some(Some(*v.get_ref())),
            Some(v) => c.fail(
                v.span(),
                "scenario::range",
                format!("{what} is {}", v.get_ref()),
                "limits are percentages of the programmed rate: ep_max_percent above 0, ep_min_percent below 0, mean_error_percent 0 or more",
            ),
            None => Some(None),
        }
        };
        let limits = TrumpetLimits {
            ep_max_percent: percent(
                self,
                &t.ep_max_percent,
                "analysis.trumpet.ep_max_percent",
                |x| x > 0.0,
            )?,
            ep_min_percent: percent(
                self,
                &t.ep_min_percent,
                "analysis.trumpet.ep_min_percent",
                |x| x < 0.0,
            )?,
            mean_error_percent: percent(
                self,
                &t.mean_error_percent,
                "analysis.trumpet.mean_error_percent",
                |x| x >= 0.0,
            )?,
        };
        Some(TrumpetSpec {
            from_ms: from,
            to_ms: to,
            windows_min,
            min_strokes,
            limits,
        })
    }
}
