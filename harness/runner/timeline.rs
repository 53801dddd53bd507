//! A scenario's timeline: its steps and samples merged in time order, and the wait for each
//! moment in virtual (emulator) or real (bench) time, cut short by a lost device or a signal.

use super::clock::{DeviceClock, Lost};
use crate::driver::balance::BalanceDriver;
use crate::driver::pump::{DriverError, PumpDriver};
use std::iter::Peekable;
use tokio::sync::watch;

/// Why a scenario stopped before its end.
#[derive(Debug)]
pub enum Interrupted {
    Device(DriverError),
    Balance(String),
    /// The pump's clock stopped or drifted (the clock watchdog of a real-time bench).
    Clock(String),
    /// The expected trace stopped matching the sample times (its file changed during the run).
    Fixture(String),
    /// An operator step was not confirmed (timeout, no terminal).
    Operator(String),
    Signal,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Interrupted::Device(e) => write!(f, "pump: {e}"),
            Interrupted::Balance(e) => write!(f, "balance: {e}"),
            Interrupted::Clock(e) => write!(f, "pump's clock: {e}"),
            Interrupted::Fixture(e) => write!(f, "expected trace: {e}"),
            Interrupted::Operator(e) => write!(f, "operator step {e}"),
            Interrupted::Signal => write!(f, "interrupted by signal"),
        }
    }
}

/// What happens at a moment of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Apply the step with this index (into the scenario's steps).
    Step {
        index: usize,
        t_ms: u64,
    },
    Sample {
        t_ms: u64,
    },
}

/// Steps and samples in time order; a step due at a sample's time comes first, so the sample
/// sees its effect.
pub struct Schedule<S: Iterator<Item = u64>> {
    step_times: Vec<u64>,
    next_step: usize,
    samples: Peekable<S>,
}

impl<S: Iterator<Item = u64>> Schedule<S> {
    /// `step_times` in the steps' order (a scenario's steps are sorted by time).
    pub fn new(step_times: Vec<u64>, sample_times: S) -> Schedule<S> {
        Schedule {
            step_times,
            next_step: 0,
            samples: sample_times.peekable(),
        }
    }
}

impl<S: Iterator<Item = u64>> Iterator for Schedule<S> {
    type Item = Moment;

    fn next(&mut self) -> Option<Moment> {
        let step = self.step_times.get(self.next_step).copied();
        match (step, self.samples.peek().copied()) {
            (Some(at), sample) if sample.is_none_or(|s| at <= s) => {
                self.next_step += 1;
                Some(Moment::Step {
                    index: self.next_step - 1,
                    t_ms: at,
                })
            }
            (_, Some(t_ms)) => {
                self.samples.next();
                Some(Moment::Sample { t_ms })
            }
            _ => None,
        }
    }
}

/// Returns when the device has reached scenario time `t_ms`, or why it never will.
pub async fn wait_until(
    clock: &DeviceClock,
    pump: &PumpDriver,
    balance: Option<&mut BalanceDriver>,
    t_ms: u64,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), Interrupted> {
    if *shutdown.borrow() {
        return Err(Interrupted::Signal);
    }
    tokio::select! {
        result = clock.wait_until(pump, balance, t_ms) => result.map_err(|lost| match lost {
            Lost::Pump(e) => Interrupted::Device(e),
            Lost::Balance(e) => Interrupted::Balance(e.to_string()),
            Lost::Clock(e) => Interrupted::Clock(e),
        }),
        _ = shutdown.changed() => Err(Interrupted::Signal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(steps: Vec<u64>, samples: Vec<u64>) -> Vec<Moment> {
        Schedule::new(steps, samples.into_iter()).collect()
    }

    #[test]
    fn steps_and_samples_come_in_time_order() {
        assert_eq!(
            moments(vec![5, 25], vec![0, 10, 20, 30]),
            [
                Moment::Sample { t_ms: 0 },
                Moment::Step { index: 0, t_ms: 5 },
                Moment::Sample { t_ms: 10 },
                Moment::Sample { t_ms: 20 },
                Moment::Step { index: 1, t_ms: 25 },
                Moment::Sample { t_ms: 30 },
            ]
        );
    }

    #[test]
    fn a_step_at_a_sample_time_comes_before_the_sample() {
        assert_eq!(
            moments(vec![0, 10, 10], vec![0, 10]),
            [
                Moment::Step { index: 0, t_ms: 0 },
                Moment::Sample { t_ms: 0 },
                Moment::Step { index: 1, t_ms: 10 },
                Moment::Step { index: 2, t_ms: 10 },
                Moment::Sample { t_ms: 10 },
            ]
        );
    }

    #[test]
    fn steps_after_the_last_sample_still_run() {
        assert_eq!(
            moments(vec![40], vec![0]),
            [
                Moment::Sample { t_ms: 0 },
                Moment::Step { index: 0, t_ms: 40 }
            ]
        );
        assert_eq!(moments(vec![], vec![]), []);
    }

    #[test]
    fn a_raised_shutdown_stops_the_wait_before_the_device_is_asked() {
        // No pump is needed: the signal is seen first.
        let (tx, mut rx) = watch::channel(false);
        tx.send(true).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = runtime.block_on(async {
            let (host, _device) = crate::link::memory::memory_pair();
            let pump = PumpDriver::new(host);
            let clock = DeviceClock::Virtual { origin_ms: 0 };
            wait_until(&clock, &pump, None, 1_000, &mut rx).await
        });
        assert!(matches!(result, Err(Interrupted::Signal)), "{result:?}");
    }
}
