//! Integer units used everywhere: nanolitres, device milliseconds, µg/day, µg/mL.

/// Millisecond counts for the common spans.
pub const MS_PER_SECOND: u64 = 1_000;
pub const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
pub const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
pub const NL_PER_ML: u64 = 1_000_000;
pub const NL_PER_UL: u64 = 1_000;

/// Nominal values, defined once: what a scenario, a bench file or the emulator assumes when it
/// is not told otherwise. Everything that needs one of these reads it from here.
pub mod nominal {
    /// One pump stroke (the accumulator's volume): 2.5 µL, in nL.
    pub const STROKE_NL: u64 = 2_500;
    /// 0.9 % saline at 22 °C, g/mL (water at 20 °C would be 0.9982).
    pub const SALINE_DENSITY_G_PER_ML: f64 = 1.0046;
    /// Fluid temperatures the density tables cover, °C (`temperature_c` outside is refused).
    pub const FLUID_TEMPERATURE_RANGE_C: (f64, f64) = (15.0, 30.0);
    /// Readability of the analytical balance (a 4-place balance), mg.
    pub const BALANCE_READABILITY_MG: f64 = 0.1;
    /// Repeat interval of an unacknowledged high-priority alarm's annunciation, minutes.
    pub const HIGH_ALARM_REPEAT_MIN: u64 = 10;
    /// Repeat interval of an unacknowledged medium-priority alarm's annunciation, minutes.
    pub const MEDIUM_ALARM_REPEAT_MIN: u64 = 60;
    /// Low-priority alarms are annunciated once, not repeated (0).
    pub const LOW_ALARM_REPEAT_MIN: u64 = 0;
}

/// Volume rate in nanolitres per day for a dose rate and a concentration:
/// (µg/day) / (µg/mL) = mL/day. Rounded down; zero concentration gives zero.
pub fn nl_per_day(dose_ug_per_day: u64, concentration_ug_per_ml: u64) -> u64 {
    if concentration_ug_per_ml == 0 {
        return 0;
    }
    ((dose_ug_per_day as u128 * NL_PER_ML as u128) / concentration_ug_per_ml as u128) as u64
}

/// Volume in nanolitres that holds `dose_ug` at the given concentration, rounded to nearest.
pub fn nl_for_dose(dose_ug: u64, concentration_ug_per_ml: u64) -> u64 {
    if concentration_ug_per_ml == 0 {
        return 0;
    }
    let c = concentration_ug_per_ml as u128;
    ((dose_ug as u128 * NL_PER_ML as u128 + c / 2) / c) as u64
}

/// Formats nanolitres as millilitres with three decimals, for people.
pub fn format_ml(nl: u64) -> String {
    format!("{}.{:03} mL", nl / NL_PER_ML, (nl % NL_PER_ML) / 1_000)
}

/// Formats a device time as `Nd HH:MM:SS.mmm`.
pub fn format_device_time(ms: u64) -> String {
    let days = ms / MS_PER_DAY;
    let rest = ms % MS_PER_DAY;
    format!(
        "{}d {:02}:{:02}:{:02}.{:03}",
        days,
        rest / MS_PER_HOUR,
        (rest % MS_PER_HOUR) / MS_PER_MINUTE,
        (rest % MS_PER_MINUTE) / MS_PER_SECOND,
        rest % MS_PER_SECOND
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_example_600_ug_at_500_ug_per_ml_is_1_2_ml_a_day() {
        assert_eq!(nl_per_day(600, 500), 1_200_000);
    }

    #[test]
    fn device_time_formats_days_and_clock() {
        assert_eq!(
            format_device_time(MS_PER_DAY + 20 * MS_PER_HOUR + 5),
            "1d 20:00:00.005"
        );
    }
}
