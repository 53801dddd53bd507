//! Time for the runner: the device's, virtual on the emulator (advance by command); the host's
//! on a real-time bench, where the host is the time authority.
//!
//! The same scenario code runs against both; only how it waits differs. Tokio's clock is
//! never paused here: the waits wrap real file-descriptor I/O.

use super::watchdog::ClockWatch;
use crate::driver::balance::{BalanceDriver, BalanceError};
use crate::driver::pump::{DriverError, PumpDriver};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest wait without hearing from a real pump or balance.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// The device that stopped answering while the runner waited.
#[derive(Debug)]
pub enum Lost {
    Pump(DriverError),
    Balance(BalanceError),
    /// The pump's clock stopped or drifted beyond the bench's tolerance (the watchdog's words).
    Clock(String),
}

pub enum DeviceClock {
    /// Test-mode `AdvanceTime`: 90 device-days pass in milliseconds.
    Virtual { origin_ms: u64 },
    /// Wall-clock waits; device time is read from the pump's status, and watched.
    RealTime {
        origin_ms: u64,
        started: Instant,
        watch: Mutex<ClockWatch>,
    },
}

impl DeviceClock {
    /// A real-time clock from device time `origin_ms` now, watched against `tolerance`.
    pub fn real_time(origin_ms: u64, tolerance: Duration) -> DeviceClock {
        let started = Instant::now();
        DeviceClock::RealTime {
            origin_ms,
            started,
            watch: Mutex::new(ClockWatch::new(origin_ms, started, tolerance)),
        }
    }

    /// Device time at scenario time 0.
    pub fn origin_ms(&self) -> u64 {
        match self {
            DeviceClock::Virtual { origin_ms } | DeviceClock::RealTime { origin_ms, .. } => {
                *origin_ms
            }
        }
    }

    /// Host milliseconds since scenario time 0 on a real-time bench; None in virtual time,
    /// where the device clock is the reference.
    pub fn host_elapsed_ms(&self) -> Option<u64> {
        match self {
            DeviceClock::Virtual { .. } => None,
            DeviceClock::RealTime { started, .. } => Some(started.elapsed().as_millis() as u64),
        }
    }

    /// Returns when scenario time `t_ms` has come: on the device's clock in virtual time, on
    /// the host's on a real-time bench.
    pub async fn wait_until(
        &self,
        driver: &PumpDriver,
        mut balance: Option<&mut BalanceDriver>,
        t_ms: u64,
    ) -> Result<(), Lost> {
        match self {
            DeviceClock::Virtual { origin_ms } => {
                driver
                    .advance_to(origin_ms + t_ms)
                    .await
                    .map_err(Lost::Pump)?;
                Ok(())
            }
            DeviceClock::RealTime { started, watch, .. } => {
                let due = *started + Duration::from_millis(t_ms);
                // The host's clock is the judge (issue 11 §7): the balance is read when the host
                // says the time has come, whatever the pump's clock says, so a pump whose clock
                // runs fast shows its over-infusion; the device's clock is measured against the
                // host's (`clock-drift`). While waiting, a status request and a balance reading
                // every second are a heartbeat: a lost pump or balance ends the scenario within
                // its timeout, not at the next sample half an hour later.
                loop {
                    let now = Instant::now();
                    if due > now {
                        tokio::time::sleep((due - now).min(HEARTBEAT)).await;
                    }
                    let status = driver.status().await.map_err(Lost::Pump)?;
                    // A clock that stops would keep this loop waiting for ever.
                    if let Ok(mut watch) = watch.lock() {
                        watch
                            .observe(status.device_time_ms, Instant::now())
                            .map_err(Lost::Clock)?;
                    }
                    if let Some(balance) = balance.as_deref_mut() {
                        // Only silence or a dead link ends the wait: a busy or overloaded
                        // balance is still there, and the next sample records what it says.
                        if let Err(e @ (BalanceError::Lost(_) | BalanceError::Timeout(_))) =
                            balance.weigh_immediate().await
                        {
                            return Err(Lost::Balance(e));
                        }
                    }
                    if Instant::now() >= due {
                        return Ok(());
                    }
                }
            }
        }
    }
}
