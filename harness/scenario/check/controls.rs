//! Negative controls and emulator defects: a control must be able to prove something, and a
//! defect belongs only in a control.

use super::Checker;
use crate::emulator::config::Defects;
use crate::scenario::check_names::{self as names, is_valid_check_name};
use crate::scenario::model::*;
use crate::scenario::raw::*;

impl Checker<'_> {
    /// The `[defects]` table, checked against the emulator's knobs; each knob must change
    /// something, and only a negative control may set them.
    pub(super) fn defects(&mut self, raw: &RawScenario) -> Option<Defects> {
        let table = raw.defects.as_ref()?;
        let defects = match defects_of_table(table.get_ref()) {
            Ok(defects) => defects,
            Err(message) => {
                return self.fail(
                    table.span(),
                    "scenario::defects",
                    format!("[defects]: {message}"),
                    "see docs/emulator.md for the defect knobs and their types",
                )
            }
        };
        if raw.negative_control.is_none() {
            self.fail::<()>(
                table.span(),
                "scenario::defects",
                "[defects] is set, but this scenario is not a negative control".to_string(),
                "a defect makes the emulator wrong on purpose: add [negative_control] with must_fail naming the checks it turns red, or remove [defects]",
            );
        }
        if table.get_ref().is_empty() {
            self.fail::<()>(
                table.span(),
                "scenario::defects",
                "[defects] sets no defect".to_string(),
                "set the emulator defect knob this control proves the checks can catch (docs/emulator.md)",
            );
        }
        for (key, value) in table.get_ref() {
            let one = toml::Table::from_iter([(key.clone(), value.clone())]);
            let changes_nothing = toml::Value::Table(one)
                .try_into::<Defects>()
                .is_ok_and(|d| d == Defects::default());
            if changes_nothing {
                let span = self.key_span(table.span(), key);
                self.fail::<()>(
                    span,
                    "scenario::defects",
                    format!("{key} = {value} is the emulator's correct behaviour: this defect changes nothing"),
                    "give the knob a value that makes the emulator wrong (e.g. 30 minutes, 20 %, true), or remove it",
                );
            }
        }
        Some(defects)
    }

    /// Where `key = ` is written inside `within`, or all of `within` when it cannot be found.
    fn key_span(&self, within: std::ops::Range<usize>, key: &str) -> std::ops::Range<usize> {
        let text = self.source.get(within.clone()).unwrap_or("");
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if trimmed
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
            {
                let start = within.start + offset + indent;
                return start..start + key.len();
            }
            offset += line.len();
        }
        within
    }

    /// A negative control proves something only if it sets a defect and names checks that
    /// the scenario produces and that the defect must turn red.
    pub(super) fn negative_control(
        &mut self,
        raw: &RawScenario,
        expect: Option<&Expectations>,
        balance: bool,
    ) -> Option<NegativeControl> {
        let nc = raw.negative_control.as_ref()?;
        let must_fail = &nc.get_ref().must_fail;
        let flow_accuracy = raw.analysis.trumpet.as_ref().is_some_and(|t| {
            let t = t.get_ref();
            t.ep_max_percent.is_some()
                || t.ep_min_percent.is_some()
                || t.mean_error_percent.is_some()
        });
        if raw.defects.is_none() {
            self.fail::<()>(
                nc.span(),
                "scenario::negative-control",
                "a negative control needs a [defects] table".to_string(),
                "set the emulator defect knob this control proves the checks can catch",
            );
        }
        if must_fail.get_ref().is_empty() {
            self.fail::<()>(
                must_fail.span(),
                "scenario::negative-control",
                "must_fail is empty: the control would count as caught without any check failing"
                    .to_string(),
                "name the checks the defect must turn red, e.g. must_fail = [\"alarm-onset:low_reservoir\"]",
            );
        }
        let has_steps = !raw.steps.is_empty();
        // A bolus, or a program after the first: bolus-volume judges it (on a balance).
        let changes = raw.steps.iter().any(|s| s.get_ref().bolus.is_some())
            || raw
                .steps
                .iter()
                .filter(|s| s.get_ref().program.is_some())
                .count()
                > 1;
        let produced = expect.map(|e| {
            let mut produced = produced_checks(e, balance, flow_accuracy, has_steps);
            if balance && changes {
                produced.push(names::BOLUS_VOLUME.to_string());
            }
            produced
        });
        for name in must_fail.get_ref() {
            let name_text = name.get_ref();
            if !is_valid_check_name(name_text) {
                self.fail::<()>(name.span(), "scenario::check-name", format!("{name_text:?} is not a check name"), "check names are listed in README.md (e.g. delivered-volume, alarm-onset:low_reservoir, under-infusion)");
            } else if let Some(produced) = produced.as_ref().filter(|p| !p.contains(name_text)) {
                self.fail::<()>(
                    name.span(),
                    "scenario::check-name",
                    format!("this scenario produces no check {name_text:?}, so it can never fail"),
                    &format!(
                        "name one of the checks this scenario produces: {}",
                        produced.join(", ")
                    ),
                );
            }
        }
        Some(NegativeControl {
            must_fail: must_fail
                .get_ref()
                .iter()
                .map(|n| n.get_ref().clone())
                .collect(),
            reason: nc.get_ref().reason.clone(),
        })
    }
}

/// The names of the checks a scenario's run produces (harness/checks): the volume series it
/// asks for, the alarm checks of each expected alarm, the flow findings when a balance is on,
/// `steps-accepted` when there are steps.
fn produced_checks(
    expect: &Expectations,
    balance: bool,
    flow_accuracy: bool,
    has_steps: bool,
) -> Vec<String> {
    let mut out: Vec<String> = [
        (expect.check_delivered, names::DELIVERED_VOLUME),
        (expect.check_calculated, names::CALCULATED_RESERVOIR),
        (expect.check_tip, names::TIP_VOLUME),
        (expect.check_actual, names::ACTUAL_RESERVOIR),
        (true, names::UNEXPECTED_ALARMS),
        (!expect.forbidden.is_empty(), names::FORBIDDEN_ALARMS),
        (balance, names::UNDER_INFUSION),
        (balance, names::OVER_INFUSION),
        (balance, names::SILENT_DEPLETION),
        (balance && flow_accuracy, names::FLOW_ACCURACY),
        (has_steps, names::STEPS_ACCEPTED),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name.to_string())
    .collect();
    for alarm in &expect.alarms {
        for family in names::PER_ALARM {
            let name = names::per_alarm(family, alarm.alarm);
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// Reads a `[defects]` table into the emulator's defect knobs (the knobs' type lives in the
/// emulator, below the scenario layer, so the scenario parses into it).
fn defects_of_table(table: &toml::Table) -> Result<Defects, String> {
    toml::Value::Table(table.clone())
        .try_into::<Defects>()
        .map_err(|e| e.message().to_string())
}
