//! `requirements.toml`: the hazards, the risk controls that answer them and the requirements
//! that implement the controls, which scenarios name by id (ISO 14971 traceability).

use super::error::{InputError, InputErrors};
use super::input::{self, InputKind};
use super::raw::S;
use super::Scenario;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the requirements file is looked for when `--requirements` is not given: beside
/// `scenarios/`.
pub const DEFAULT_PATH: &str = "requirements.toml";

const REQUIREMENTS_FILE: InputKind = InputKind {
    read_code: "requirements::read",
    read_message: "cannot read requirements file",
    read_help:
        "check the path given with --requirements (default: requirements.toml beside scenarios/)",
    utf8_code: "requirements::utf8",
    utf8_help: "save the file as UTF-8",
    max_bytes: Some((1024 * 1024, "is this really a requirements file?")),
    plural: "requirements files",
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hazard {
    pub id: String,
    pub description: String,
    /// The harm the hazard can lead to.
    pub harm: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskControl {
    pub id: String,
    pub description: String,
    /// Ids of the hazards this control reduces.
    pub hazards: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    pub id: String,
    pub text: String,
    /// Ids of the risk controls this requirement implements.
    pub risk_controls: Vec<String>,
}

/// The checked requirements file, as the run records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirements {
    pub path: String,
    pub sha256: String,
    pub hazards: Vec<Hazard>,
    pub risk_controls: Vec<RiskControl>,
    pub requirements: Vec<Requirement>,
}

impl Requirements {
    pub fn hazard(&self, id: &str) -> Option<&Hazard> {
        self.hazards.iter().find(|h| h.id == id)
    }

    pub fn control(&self, id: &str) -> Option<&RiskControl> {
        self.risk_controls.iter().find(|c| c.id == id)
    }

    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default, rename = "hazard")]
    hazards: Vec<RawHazard>,
    #[serde(default, rename = "risk_control")]
    risk_controls: Vec<RawControl>,
    #[serde(default, rename = "requirement")]
    requirements: Vec<RawRequirement>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHazard {
    id: S<String>,
    description: S<String>,
    harm: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    id: S<String>,
    #[serde(default)]
    description: String,
    hazards: S<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: S<String>,
    text: S<String>,
    risk_controls: S<Vec<S<String>>>,
}

struct Checker<'a> {
    path: &'a Path,
    source: &'a str,
    errors: Vec<InputError>,
}

impl Checker<'_> {
    fn fail(
        &mut self,
        span: std::ops::Range<usize>,
        code: &'static str,
        message: String,
        help: &str,
    ) {
        self.errors.push(
            InputError::new(self.path, self.source, code, message)
                .at(span)
                .help(help),
        );
    }

    fn text(&mut self, value: &S<String>, what: &str) {
        if value.get_ref().trim().is_empty() {
            self.fail(
                value.span(),
                "requirements::blank",
                format!("{what} is blank"),
                "write what it is: a reviewer reads it in the traceability matrix",
            );
        }
    }

    /// Checks an id (not blank, no surrounding spaces, not used before) and adds it to `seen`.
    fn id(&mut self, id: &S<String>, what: &str, seen: &mut BTreeSet<String>) {
        let text = id.get_ref();
        if text.trim().is_empty() || text.trim() != text {
            self.fail(
                id.span(),
                "requirements::id",
                format!("{what} id {text:?} is blank or has surrounding spaces"),
                "ids are short names such as \"HAZ-01\", \"RC-01\" or \"PH-REQ-010\"",
            );
        } else if !seen.insert(text.clone()) {
            self.fail(
                id.span(),
                "requirements::duplicate-id",
                format!("{what} id {text:?} is defined twice"),
                "give each hazard, risk control and requirement its own id",
            );
        }
    }

    fn references(
        &mut self,
        list: &S<Vec<S<String>>>,
        what: &str,
        known: &BTreeSet<String>,
        kind: &str,
    ) -> Vec<String> {
        if list.get_ref().is_empty() {
            self.fail(
                list.span(),
                "requirements::unlinked",
                format!("{what} is empty"),
                &format!("name at least one {kind} id, so the chain runs from hazard to scenario"),
            );
        }
        for id in list.get_ref() {
            if !known.contains(id.get_ref()) {
                let listed = known.iter().cloned().collect::<Vec<_>>().join(", ");
                self.fail(
                    id.span(),
                    "requirements::unknown-id",
                    format!(
                        "{what} names {kind} {:?}, which is not defined",
                        id.get_ref()
                    ),
                    &format!("define it in this file, or use one of: {listed}"),
                );
            }
        }
        list.get_ref().iter().map(|s| s.get_ref().clone()).collect()
    }
}

/// Reads and checks a requirements file; every problem is returned, not just the first.
pub fn load(path: &Path) -> Result<Requirements, InputErrors> {
    let file = input::read_text(path, &REQUIREMENTS_FILE).map_err(|e| InputErrors(vec![e]))?;
    parse(path, &file.text, file.sha256)
}

/// Checks requirements text as if read from `path`.
pub fn parse(path: &Path, source: &str, sha256: String) -> Result<Requirements, InputErrors> {
    let raw: RawFile = toml::from_str(source).map_err(|e| {
        let mut err = InputError::new(path, source, "requirements::syntax", e.message().to_string())
            .help("the file holds [[hazard]] (id, description, harm), [[risk_control]] (id, description, hazards) and [[requirement]] (id, text, risk_controls) tables");
        if let Some(span) = e.span() {
            err = err.at(span);
        }
        InputErrors(vec![err])
    })?;
    let mut c = Checker {
        path,
        source,
        errors: Vec::new(),
    };
    let mut hazard_ids = BTreeSet::new();
    let mut control_ids = BTreeSet::new();
    let mut requirement_ids = BTreeSet::new();
    for h in &raw.hazards {
        c.id(&h.id, "hazard", &mut hazard_ids);
        c.text(&h.description, "hazard description");
        c.text(&h.harm, "hazard harm");
    }
    for rc in &raw.risk_controls {
        c.id(&rc.id, "risk control", &mut control_ids);
    }
    for r in &raw.requirements {
        c.id(&r.id, "requirement", &mut requirement_ids);
        c.text(&r.text, "requirement text");
    }
    let hazards = raw
        .hazards
        .into_iter()
        .map(|h| Hazard {
            id: h.id.into_inner(),
            description: h.description.into_inner(),
            harm: h.harm.into_inner(),
        })
        .collect();
    let risk_controls = raw
        .risk_controls
        .iter()
        .map(|rc| RiskControl {
            id: rc.id.get_ref().clone(),
            description: rc.description.clone(),
            hazards: c.references(&rc.hazards, "risk_control.hazards", &hazard_ids, "hazard"),
        })
        .collect();
    let requirements = raw
        .requirements
        .iter()
        .map(|r| Requirement {
            id: r.id.get_ref().clone(),
            text: r.text.get_ref().clone(),
            risk_controls: c.references(
                &r.risk_controls,
                "requirement.risk_controls",
                &control_ids,
                "risk control",
            ),
        })
        .collect();
    if !c.errors.is_empty() {
        return Err(InputErrors(c.errors));
    }
    Ok(Requirements {
        path: path.display().to_string(),
        sha256,
        hazards,
        risk_controls,
        requirements,
    })
}

/// Which requirements file a command means: the one named, or `requirements.toml` when it
/// exists (None when it does not: the scenarios' ids are then not checked against a list).
pub fn locate(named: Option<&Path>) -> Option<PathBuf> {
    match named {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_PATH)).filter(|p| p.exists()),
    }
}

/// The scenarios' requirement ids that the requirements file does not define, each placed in
/// its scenario file.
pub fn unknown_in(requirements: &Requirements, scenarios: &[Scenario]) -> Vec<InputError> {
    let mut errors = Vec::new();
    for s in scenarios {
        let source = std::fs::read_to_string(&s.path).unwrap_or_default();
        for (i, id) in s.requirements.iter().enumerate() {
            if requirements.requirement(id).is_some() {
                continue;
            }
            let mut err = InputError::new(
                &s.path,
                &source,
                "scenario::unknown-requirement",
                format!(
                    "requirement {id:?} is not defined in {}",
                    requirements.path
                ),
            )
            .help("add it to the requirements file with the risk controls it implements, or fix the id");
            if let Some(span) = s
                .requirement_spans
                .get(i)
                .filter(|sp| sp.end <= source.len())
            {
                err = err.at(span.clone());
            }
            errors.push(err);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[hazard]]
id = "HAZ-1"
description = "catheter disconnect"
harm = "withdrawal"

[[risk_control]]
id = "RC-1"
description = "alarm"
hazards = ["HAZ-1"]

[[requirement]]
id = "REQ-1"
text = "the pump alarms"
risk_controls = ["RC-1"]
"#;

    #[test]
    fn a_linked_file_parses() {
        let r = parse(Path::new("r.toml"), GOOD, "x".into()).unwrap();
        assert_eq!(r.requirement("REQ-1").unwrap().risk_controls, ["RC-1"]);
        assert_eq!(r.control("RC-1").unwrap().hazards, ["HAZ-1"]);
        assert_eq!(r.hazard("HAZ-1").unwrap().harm, "withdrawal");
    }

    #[test]
    fn unknown_blank_and_duplicate_ids_are_placed() {
        let bad = GOOD.replace("hazards = [\"HAZ-1\"]", "hazards = [\"HAZ-9\"]")
            + "\n[[requirement]]\nid = \"REQ-1\"\ntext = \" \"\nrisk_controls = []\n";
        let errors = parse(Path::new("r.toml"), &bad, "x".into()).unwrap_err().0;
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                "requirements::duplicate-id",
                "requirements::blank",
                "requirements::unknown-id",
                "requirements::unlinked"
            ]
        );
        assert_eq!(errors[0].line_col(), Some((18, 6)));
        assert_eq!(errors[2].line_col(), Some((10, 12)));
    }
}
