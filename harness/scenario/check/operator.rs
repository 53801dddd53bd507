//! Operator steps: `operator = "..."` or `operator = { text = "...", emulate = { ... } }`,
//! with an optional `timeout`; the instruction, its timeout and its test-mode equivalent.

use super::Checker;
use crate::protocol::FaultKind;
use crate::scenario::model::{Action, FaultSpec};
use crate::scenario::raw::{RawStep, S};

/// How long an operator has to confirm when the step gives no `timeout`.
pub const DEFAULT_OPERATOR_TIMEOUT_MS: u64 = 30 * 60 * 1000;

const HELP: &str = "write operator = \"Disconnect the catheter at the pump connector\", or operator = { text = \"...\", emulate = { inject = \"catheter_disconnect\" } }; emulate takes one of inject, clear (a fault name), stop = true or resume = true";

impl Checker<'_> {
    /// A step's `operator` value and its `timeout`.
    pub(super) fn operator(&mut self, s: &RawStep, value: &S<toml::Value>) -> Option<Action> {
        let span = value.span();
        let (text, emulate) = match value.get_ref() {
            toml::Value::String(text) => (text.clone(), None),
            toml::Value::Table(table) => {
                if let Some(key) = table
                    .keys()
                    .find(|k| !["text", "emulate"].contains(&k.as_str()))
                {
                    return self.fail(
                        span,
                        "scenario::operator",
                        format!("operator has an unknown key {key:?}"),
                        HELP,
                    );
                }
                let Some(toml::Value::String(text)) = table.get("text") else {
                    return self.fail(
                        span,
                        "scenario::operator",
                        "operator needs text = \"the instruction\"".into(),
                        HELP,
                    );
                };
                let emulate = match table.get("emulate") {
                    None => None,
                    Some(toml::Value::Table(e)) => Some(Box::new(self.emulated(e, span.clone())?)),
                    Some(_) => {
                        return self.fail(
                            span,
                            "scenario::operator",
                            "operator.emulate must be a table".into(),
                            HELP,
                        )
                    }
                };
                (text.clone(), emulate)
            }
            _ => {
                return self.fail(
                    span,
                    "scenario::operator",
                    "operator must be a text or a table".into(),
                    HELP,
                )
            }
        };
        if text.trim().is_empty() {
            return self.fail(span, "scenario::operator", "the operator's instruction is empty".into(), "say what the operator must do, e.g. \"Disconnect the catheter at the pump connector\"");
        }
        let timeout_ms = match &s.timeout {
            None => DEFAULT_OPERATOR_TIMEOUT_MS,
            Some(t) => {
                let ms = self.duration(t, "timeout")?;
                if ms == 0 {
                    return self.fail(
                        t.span(),
                        "scenario::range",
                        "timeout must be longer than 0s".into(),
                        "give the operator time to act, e.g. timeout = \"10m\"",
                    );
                }
                ms
            }
        };
        Some(Action::Operator {
            text,
            timeout_ms,
            emulate,
        })
    }

    /// The test-mode equivalent of an operator step, sent in virtual time instead.
    fn emulated(&mut self, table: &toml::Table, span: std::ops::Range<usize>) -> Option<Action> {
        if table.len() != 1 {
            return self.fail(
                span,
                "scenario::operator",
                format!(
                    "operator.emulate needs exactly one action; it has {}",
                    table.len()
                ),
                HELP,
            );
        }
        let (key, value) = table.iter().next()?;
        let action = match (key.as_str(), value) {
            ("inject", toml::Value::String(name)) => match name.as_str() {
                "catheter_disconnect" => Some(Action::Inject {
                    fault: FaultSpec::CatheterDisconnect,
                }),
                "catheter_occlusion" => Some(Action::Inject {
                    fault: FaultSpec::CatheterOcclusion,
                }),
                "motor_stall" => Some(Action::Inject {
                    fault: FaultSpec::MotorStall,
                }),
                _ => None,
            },
            ("clear", toml::Value::String(name)) => FaultKind::from_name(name)
                .filter(|k| *k != FaultKind::PhysicalRefillVolume)
                .map(|fault| Action::Clear { fault }),
            ("stop", toml::Value::Boolean(true)) => Some(Action::Stop),
            ("resume", toml::Value::Boolean(true)) => Some(Action::Resume),
            _ => None,
        };
        action.or_else(|| {
            self.fail(span, "scenario::operator", format!("operator.emulate: {key} = {value} is not an action it takes"), "inject = \"catheter_disconnect\" | \"catheter_occlusion\" | \"motor_stall\", clear = \"<fault>\", stop = true or resume = true")
        })
    }

    /// `timeout` belongs to operator steps only.
    pub(super) fn stray_timeout(&mut self, s: &RawStep) {
        if let (Some(t), None) = (&s.timeout, &s.operator) {
            self.fail::<()>(
                t.span(),
                "scenario::timeout",
                "timeout is for operator steps".into(),
                "remove timeout, or make the step an operator step (operator = \"...\")",
            );
        }
    }
}
