//! Durations as people write them in scenario files: "2d 3h", "90s", "1h30m", "250ms".

use crate::units::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND};

/// Why a duration did not parse; `offset` is the byte inside the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DurationError {
    pub offset: usize,
    pub message: String,
}

const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
];

/// Parses a sum of `<integer><unit>` terms (units d, h, m, s, ms; spaces optional) into ms.
pub fn parse_duration(text: &str) -> Result<u64, DurationError> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut total: u64 = 0;
    let mut terms = 0;
    let fail = |offset: usize, message: String| DurationError { offset, message };
    while at < bytes.len() {
        if bytes[at].is_ascii_whitespace() {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
        }
        if start == at {
            return Err(fail(
                start,
                format!(
                    "expected a number at '{}'; write durations like \"2d 3h\", \"90s\" or \"250ms\"",
                    &text[start..]
                ),
            ));
        }
        if bytes.get(at) == Some(&b'.') {
            return Err(fail(start, decimal_message(&text[start..])));
        }
        let number: u64 = text[start..at]
            .parse()
            .map_err(|_| fail(start, "number too large".to_string()))?;
        let unit_start = at;
        while at < bytes.len() && bytes[at].is_ascii_alphabetic() {
            at += 1;
        }
        let unit = &text[unit_start..at];
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            let shown = if unit.is_empty() { "nothing" } else { unit };
            return Err(fail(
                unit_start,
                format!("unit {shown:?} after {number} is not one of d, h, m, s, ms"),
            ));
        };
        total = number
            .checked_mul(scale)
            .and_then(|term| total.checked_add(term))
            .ok_or_else(|| fail(start, "duration too large".to_string()))?;
        terms += 1;
    }
    if terms == 0 {
        return Err(fail(
            0,
            "empty duration; write for example \"0s\", \"20h\" or \"2d 3h\"".to_string(),
        ));
    }
    Ok(total)
}

/// Explains a decimal term such as "1.5h": each term is a whole number of its unit, and the
/// same time written that way ("1h 30m") is offered when it is a whole number of milliseconds.
fn decimal_message(term_and_rest: &str) -> String {
    let term: String = term_and_rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let unit: String = term_and_rest[term.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let written = format!("{term}{unit}");
    let scale = UNITS.iter().find(|(name, _)| *name == unit).map(|u| u.1);
    let whole_ms = term
        .parse::<f64>()
        .ok()
        .zip(scale)
        .map(|(value, scale)| value * scale as f64)
        .filter(|ms| ms.is_finite() && (ms - ms.round()).abs() < 1e-6);
    match whole_ms {
        Some(ms) => format!(
            "{written:?} is a decimal; durations are sums of whole numbers of each unit: write {:?}",
            format_duration(ms.round() as u64)
        ),
        None => format!(
            "{written:?} is a decimal; durations are sums of whole numbers of each unit, e.g. \"1h 30m\" for one and a half hours"
        ),
    }
}

/// Formats milliseconds the way a scenario author would write them ("1d 4h 30m").
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut rest = ms;
    let mut parts = Vec::new();
    for (name, scale) in [
        ("d", MS_PER_DAY),
        ("h", MS_PER_HOUR),
        ("m", MS_PER_MINUTE),
        ("s", MS_PER_SECOND),
        ("ms", 1),
    ] {
        if rest >= scale {
            parts.push(format!("{}{}", rest / scale, name));
            rest %= scale;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_terms_in_any_spacing() {
        assert_eq!(
            parse_duration("2d 3h").unwrap(),
            2 * MS_PER_DAY + 3 * MS_PER_HOUR
        );
        assert_eq!(parse_duration("1h30m").unwrap(), 90 * MS_PER_MINUTE);
        assert_eq!(parse_duration("90s").unwrap(), 90_000);
        assert_eq!(parse_duration("250ms").unwrap(), 250);
    }

    #[test]
    fn rejects_unknown_units_and_names_the_offset() {
        let err = parse_duration("2d 3x").unwrap_err();
        assert_eq!(err.offset, 4);
        assert!(err.message.contains("\"x\""), "{}", err.message);
        assert_eq!(parse_duration("").unwrap_err().offset, 0);
        assert_eq!(parse_duration("h").unwrap_err().offset, 0);
        assert!(parse_duration("-5m").is_err());
    }

    #[test]
    fn a_decimal_is_explained_with_its_whole_units() {
        let err = parse_duration("2d 1.5h").unwrap_err();
        assert_eq!(err.offset, 3);
        assert!(
            err.message.contains("\"1.5h\" is a decimal"),
            "{}",
            err.message
        );
        assert!(err.message.ends_with("write \"1h 30m\""), "{}", err.message);
        let err = parse_duration("0.25s").unwrap_err();
        assert!(err.message.ends_with("write \"250ms\""), "{}", err.message);
    }

    #[test]
    fn formats_back() {
        assert_eq!(
            format_duration(MS_PER_DAY + 4 * MS_PER_HOUR + 30 * MS_PER_MINUTE),
            "1d 4h 30m"
        );
        for text in ["20h", "2d 3h", "90d 12h 5m 7s 3ms"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
