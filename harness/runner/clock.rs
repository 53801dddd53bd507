//! Device time for the runner: virtual on the emulator (advance by command), real on a bench.
//!
//! The same scenario code runs against both; only how it waits differs. Tokio's clock is
//! never paused here: the waits wrap real file-descriptor I/O.

use crate::driver::pump::{DriverError, PumpDriver};
use crate::protocol::{Request, ResponseBody};
use std::time::{Duration, Instant};

/// Longest wait without hearing from a real pump.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

pub enum DeviceClock {
    /// Test-mode `AdvanceTime`: 90 device-days pass in milliseconds.
    Virtual { origin_ms: u64 },
    /// Wall-clock waits; device time is read from the pump's status.
    RealTime { origin_ms: u64, started: Instant },
}

impl DeviceClock {
    /// Device time at scenario time 0.
    pub fn origin_ms(&self) -> u64 {
        match self {
            DeviceClock::Virtual { origin_ms } | DeviceClock::RealTime { origin_ms, .. } => {
                *origin_ms
            }
        }
    }

    /// Returns when the device has reached scenario time `t_ms`.
    pub async fn wait_until(&self, driver: &PumpDriver, t_ms: u64) -> Result<(), DriverError> {
        match self {
            DeviceClock::Virtual { origin_ms } => {
                driver
                    .request(&Request::AdvanceTime {
                        to_ms: origin_ms + t_ms,
                    })
                    .await?;
                Ok(())
            }
            DeviceClock::RealTime { origin_ms, started } => {
                let due = *started + Duration::from_millis(t_ms);
                // The pump's clock is the judge. While waiting, a status request every second
                // is a heartbeat: a lost pump ends the scenario within its timeout, not at
                // the next sample half an hour later.
                loop {
                    let now = Instant::now();
                    if due > now {
                        tokio::time::sleep((due - now).min(HEARTBEAT)).await;
                    }
                    if let ResponseBody::Status(s) = driver.request(&Request::Status).await? {
                        if s.device_time_ms >= origin_ms + t_ms {
                            return Ok(());
                        }
                    }
                    if Instant::now() >= due {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
}
