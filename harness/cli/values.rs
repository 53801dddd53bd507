//! Command-line values checked where they are read: clap calls these parsers, and clap's error
//! names the option (`invalid value '0' for '--jobs <JOBS>': ...`), so a bad value is never
//! discovered later and blamed on something else (a scenario file, a device).

/// Most scenarios run at once: each holds an emulator and two pseudo-terminals.
pub const MAX_JOBS: usize = 1024;

/// `--jobs`: at least one scenario at a time, at most `MAX_JOBS`.
pub fn jobs(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("0 scenarios at a time would run nothing; give 1 or more".into()),
        Ok(n) if n > MAX_JOBS => Err(format!(
            "{n} scenarios at a time is more than the {MAX_JOBS} the harness allows (each needs an emulator and two pseudo-terminals)"
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "{text:?} is not a whole number; give how many scenarios run at once (1 or more)"
        )),
    }
}

/// `--seed`: a whole number from 0 to 2^64 - 1; a negative one is named as such.
pub fn seed(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    match trimmed.parse::<u64>() {
        Ok(n) => Ok(n),
        Err(_) if trimmed.starts_with('-') => Err(format!(
            "{text:?} is negative; a seed is a whole number from 0 to {}",
            u64::MAX
        )),
        Err(_) => Err(format!(
            "{text:?} is not a whole number; a seed is a whole number from 0 to {}",
            u64::MAX
        )),
    }
}

/// `--noise-mg`: a standard deviation, so finite and not negative (0 means no noise).
pub fn noise_mg(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "{text:?} is not a standard deviation in mg; give a number of 0 or more (the default is 0.1)"
        )),
    }
}

/// `--operator`: a name for the evidence report, so not empty or blank.
pub fn operator(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() {
        Err("the operator's name is empty; give who ran the test, or leave the option out".into())
    } else {
        Ok(name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_refused_and_good_ones_kept() {
        assert!(jobs("0").is_err());
        assert!(jobs("two").is_err());
        assert!(jobs("18446744073709551615").is_err());
        assert_eq!(jobs("2"), Ok(2));
        assert!(seed("-1").unwrap_err().contains("negative"));
        assert!(seed("x").unwrap_err().contains("not a whole number"));
        assert_eq!(seed("7"), Ok(7));
        for bad in ["NaN", "inf", "-0.1", "x"] {
            assert!(noise_mg(bad).is_err(), "{bad}");
        }
        assert_eq!(noise_mg("0"), Ok(0.0));
        assert!(operator("  ").is_err());
        assert_eq!(operator(" Ada "), Ok("Ada".into()));
    }
}
