//! The clock watchdog of a real-time bench: a pump whose clock stops, or drifts from the host's
//! beyond the bench's tolerance, for longer than `GRACE` ends the scenario instead of hanging it.

use std::time::{Duration, Instant};

/// How long the pump's clock may stand still or stay out of tolerance.
pub const GRACE: Duration = Duration::from_secs(10);

/// How far the pump's clock may run from the host's when the bench file does not say.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(2);

/// Follows the pump's device time against the host's monotonic clock.
#[derive(Debug)]
pub struct ClockWatch {
    origin_ms: u64,
    started: Instant,
    tolerance: Duration,
    last_device_ms: u64,
    last_advanced: Instant,
    out_of_tolerance_since: Option<Instant>,
}

impl ClockWatch {
    /// Starts watching: the pump's device time was `origin_ms` at host instant `started`.
    pub fn new(origin_ms: u64, started: Instant, tolerance: Duration) -> ClockWatch {
        ClockWatch {
            origin_ms,
            started,
            tolerance,
            last_device_ms: origin_ms,
            last_advanced: started,
            out_of_tolerance_since: None,
        }
    }

    /// One reading of the pump's device time at host instant `now`; an error names what the
    /// pump's clock did.
    pub fn observe(&mut self, device_ms: u64, now: Instant) -> Result<(), String> {
        if device_ms > self.last_device_ms {
            self.last_device_ms = device_ms;
            self.last_advanced = now;
        } else {
            let still = now.saturating_duration_since(self.last_advanced);
            if still > GRACE {
                return Err(format!(
                    "the pump's clock stopped: its device time stayed at {device_ms} ms for {:.1} s of host time (the watchdog allows {} s). Check the pump's clock (time base, test mode) before running again",
                    still.as_secs_f64(),
                    GRACE.as_secs()
                ));
            }
        }
        let host_ms = now.saturating_duration_since(self.started).as_millis() as i128;
        let drift_ms = (device_ms as i128 - self.origin_ms as i128) - host_ms;
        if drift_ms.unsigned_abs() <= self.tolerance.as_millis() {
            self.out_of_tolerance_since = None;
            return Ok(());
        }
        let since = *self.out_of_tolerance_since.get_or_insert(now);
        let out_for = now.saturating_duration_since(since);
        if out_for > GRACE {
            let direction = if drift_ms > 0 { "ahead of" } else { "behind" };
            return Err(format!(
                "the pump's clock drifted: it ran {} ms {direction} the host's clock, beyond the bench's tolerance of {} ms, for {:.1} s. Check the pump's clock, or declare a wider clock_tolerance_ms in the bench file",
                drift_ms.unsigned_abs(),
                self.tolerance.as_millis(),
                out_for.as_secs_f64()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_running_clock_passes_and_a_stopped_one_fails_after_the_grace() {
        let t0 = Instant::now();
        let mut watch = ClockWatch::new(5_000, t0, DEFAULT_TOLERANCE);
        for s in 1..=30u64 {
            assert!(watch.observe(5_000 + s * 1_000, t0 + S * s as u32).is_ok());
        }
        // Stopped at 35 000 ms (host 30 s): fine for 10 s, not after.
        for s in 31..=40u32 {
            let result = watch.observe(35_000, t0 + S * s);
            // Within the grace both checks hold their fire.
            assert!(result.is_ok(), "{s}: {result:?}");
        }
        let err = watch.observe(35_000, t0 + S * 41).unwrap_err();
        assert!(
            err.contains("the pump's clock stopped") && err.contains("35000 ms"),
            "{err}"
        );
    }

    #[test]
    fn a_drifting_clock_fails_only_after_staying_out_of_tolerance() {
        let t0 = Instant::now();
        let mut watch = ClockWatch::new(0, t0, Duration::from_millis(500));
        // Twice as fast: out of tolerance from 1 s on, for more than 10 s at 12 s.
        let mut result = Ok(());
        let mut failed_at = None;
        for s in 1..=20u32 {
            result = watch.observe(u64::from(s) * 2_000, t0 + S * s);
            if result.is_err() {
                failed_at = Some(s);
                break;
            }
        }
        assert_eq!(failed_at, Some(12), "{result:?}");
        let err = result.unwrap_err();
        assert!(err.contains("ahead of") && err.contains("500 ms"), "{err}");
        // Back in tolerance resets the count.
        let mut watch = ClockWatch::new(0, t0, Duration::from_millis(500));
        assert!(watch.observe(3_000, t0 + S).is_ok());
        assert!(watch.observe(5_000, t0 + S * 5).is_ok());
        assert!(watch.observe(20_000, t0 + S * 12).is_ok());
    }
}
