//! One sample of a scenario: the pump's status, the bench plant and the balance reading taken at
//! the same scenario time, put together as the record's [`Sample`]; and whether the pump can be
//! advanced and read in one request (protocol 12.16) or needs three.

use crate::driver::balance::Reading;
use crate::driver::pump::{DriverError, PumpDriver};
use crate::protocol::{NackCode, Plant, Status};
use crate::record::Sample;

/// Whether the pump answers Advance and sample, learnt from its first one in a scenario: a
/// device without it refuses with the unknown-type NACK and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PumpSampling {
    #[default]
    Untried,
    /// One round trip a sample.
    Combined,
    /// Advance time, then Status and Read bench plant.
    Separate,
}

impl PumpSampling {
    /// Advances the pump to device time `to_ms` and reads its plant and status in one request,
    /// or returns `None` once the pump is known not to have that request (then the caller
    /// advances and reads separately).
    pub async fn advance_and_read(
        &mut self,
        pump: &PumpDriver,
        to_ms: u64,
    ) -> Result<Option<(Plant, Status)>, DriverError> {
        if *self == PumpSampling::Separate {
            return Ok(None);
        }
        match pump.advance_and_sample(to_ms).await {
            Ok(read) => {
                *self = PumpSampling::Combined;
                Ok(Some(read))
            }
            Err(DriverError::Nack {
                code: NackCode::UnknownMessage,
                ..
            }) if *self == PumpSampling::Untried => {
                *self = PumpSampling::Separate;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// What was read at scenario time `t_ms`. The balance weighs the fluid that left the catheter
/// tip; `density_g_per_ml` turns its grams into a volume (never below zero: a balance that
/// drifts under its zero has not seen fluid flow back).
pub fn assemble(
    t_ms: u64,
    status: &Status,
    plant: Option<&Plant>,
    balance: Option<&Reading>,
    density_g_per_ml: f64,
) -> Sample {
    let balance_g = balance.map(|r| r.grams);
    Sample {
        t_ms,
        device_time_ms: status.device_time_ms,
        delivered_nl: status.delivered_nl,
        calculated_nl: status.calculated_reservoir_nl,
        dose_rate_ug_per_day: status.dose_rate_ug_per_day,
        concentration_ug_per_ml: status.concentration_ug_per_ml,
        therapy_state: status.therapy_state,
        battery_permille: status.battery_permille,
        elective_replacement: status.elective_replacement,
        end_of_service: status.end_of_service,
        active_alarms: status.alarms.iter().map(|a| a.alarm).collect(),
        balance_g,
        balance_stable: balance.map(|r| r.stable),
        tip_nl: balance_g.map(|g| (g / density_g_per_ml * 1e6).round().max(0.0) as u64),
        actual_reservoir_nl: plant.map(|p| p.actual_reservoir_nl),
        pocket_nl: plant.map(|p| p.pocket_nl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::memory::memory_pair;
    use crate::protocol::{encode_frame, FrameAssembler, Message, Request, ResponseBody};
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A test-mode pump that answers Advance time, Status and Read bench plant, and Advance and
    /// sample only if `knows_combined`; returns the driver and the requests it received.
    fn pump(knows_combined: bool) -> (PumpDriver, Arc<Mutex<Vec<Request>>>) {
        let (host, mut device) = memory_pair();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut frames = FrameAssembler::new();
            let mut buf = [0u8; 512];
            while let Ok(n @ 1..) = device.read(&mut buf).await {
                for frame in frames.push(&buf[..n]).into_iter().flatten() {
                    let Message::Request(request) = frame.message else {
                        continue;
                    };
                    log.lock().unwrap().push(request.clone());
                    let kind = request.kind();
                    let body = match request {
                        Request::AdvanceAndSample { .. } if !knows_combined => None,
                        Request::AdvanceAndSample { .. } => Some(ResponseBody::Sample {
                            plant: plant(),
                            status: status(),
                        }),
                        Request::AdvanceTime { to_ms } => Some(ResponseBody::Time {
                            device_time_ms: to_ms,
                        }),
                        Request::Status => Some(ResponseBody::Status(status())),
                        _ => Some(ResponseBody::Plant(plant())),
                    };
                    let message = match body {
                        Some(body) => Message::Response {
                            request: kind,
                            body,
                        },
                        None => Message::Nack {
                            request_type: kind as u8,
                            code: NackCode::UnknownMessage,
                        },
                    };
                    let reply = encode_frame(frame.seq, &message).unwrap();
                    if device.write_all(&reply).await.is_err() {
                        return;
                    }
                }
            }
        });
        (PumpDriver::new(host), seen)
    }

    #[tokio::test]
    async fn a_pump_with_advance_and_sample_is_read_in_one_request_a_sample() {
        let (driver, seen) = pump(true);
        let mut way = PumpSampling::default();
        for to_ms in [1_000, 2_000] {
            let read = way.advance_and_read(&driver, to_ms).await.unwrap();
            assert_eq!(read, Some((plant(), status())));
        }
        assert_eq!(way, PumpSampling::Combined);
        assert_eq!(
            *seen.lock().unwrap(),
            [
                Request::AdvanceAndSample { to_ms: 1_000 },
                Request::AdvanceAndSample { to_ms: 2_000 }
            ]
        );
    }

    #[tokio::test]
    async fn a_pump_without_it_is_asked_once_then_read_separately() {
        let (driver, seen) = pump(false);
        let mut way = PumpSampling::default();
        for to_ms in [1_000, 2_000] {
            assert_eq!(way.advance_and_read(&driver, to_ms).await.unwrap(), None);
        }
        assert_eq!(way, PumpSampling::Separate);
        assert_eq!(
            *seen.lock().unwrap(),
            [Request::AdvanceAndSample { to_ms: 1_000 }],
            "the unknown-type NACK is learnt: the request is not sent again"
        );
    }
    use crate::protocol::{
        ActiveAlarm, AlarmKind, AlarmState, CatheterState, Priority, TherapyState,
    };

    fn status() -> Status {
        Status {
            device_time_ms: 5_000_123,
            calculated_reservoir_nl: 19_000_000,
            delivered_nl: 1_000_000,
            dose_rate_ug_per_day: 1000,
            concentration_ug_per_ml: 500,
            low_reservoir_threshold_nl: 2_000_000,
            therapy_state: TherapyState::Running,
            battery_permille: 870,
            elective_replacement: false,
            end_of_service: false,
            alarms: vec![ActiveAlarm {
                alarm: AlarmKind::LowReservoir,
                priority: Priority::Medium,
                state: AlarmState::Silenced,
            }],
        }
    }

    fn plant() -> Plant {
        Plant {
            actual_reservoir_nl: 18_500_000,
            tip_nl: 900_000,
            pocket_nl: 100_000,
            catheter: CatheterState::Connected,
            motor_stalled: false,
            flow_bias_centi_percent: 0,
        }
    }

    fn reading(grams: f64, stable: bool) -> Reading {
        Reading {
            grams,
            stable,
            unit: "g".into(),
        }
    }

    #[test]
    fn the_pump_status_fills_the_pump_fields() {
        let s = assemble(600_000, &status(), None, None, 1.0);
        assert_eq!(s.t_ms, 600_000);
        assert_eq!(s.device_time_ms, 5_000_123);
        assert_eq!((s.delivered_nl, s.calculated_nl), (1_000_000, 19_000_000));
        assert_eq!(
            (s.dose_rate_ug_per_day, s.concentration_ug_per_ml),
            (1000, 500)
        );
        assert_eq!(s.therapy_state, crate::protocol::TherapyState::Running);
        assert_eq!(s.battery_permille, 870);
        assert_eq!(s.active_alarms, [crate::protocol::AlarmKind::LowReservoir]);
        assert_eq!(
            (s.balance_g, s.balance_stable, s.tip_nl),
            (None, None, None)
        );
        assert_eq!((s.actual_reservoir_nl, s.pocket_nl), (None, None));
    }

    #[test]
    fn the_balance_reading_becomes_a_tip_volume_through_the_density() {
        let s = assemble(0, &status(), None, Some(&reading(1.0046, false)), 1.0046);
        assert_eq!(s.balance_g, Some(1.0046));
        assert_eq!(s.balance_stable, Some(false));
        assert_eq!(s.tip_nl, Some(1_000_000));
        // 0.0000015 g at 1 g/mL is 1.5 nL: rounded, not truncated.
        let s = assemble(0, &status(), None, Some(&reading(0.000_001_5, true)), 1.0);
        assert_eq!(s.tip_nl, Some(2));
    }

    #[test]
    fn a_reading_under_zero_is_no_volume() {
        let s = assemble(0, &status(), None, Some(&reading(-0.0003, true)), 1.0);
        assert_eq!(s.balance_g, Some(-0.0003));
        assert_eq!(s.tip_nl, Some(0));
    }

    #[test]
    fn the_plant_gives_the_actual_reservoir_and_the_pocket() {
        let plant = Plant {
            actual_reservoir_nl: 18_500_000,
            tip_nl: 900_000,
            pocket_nl: 100_000,
            catheter: CatheterState::Disconnected,
            motor_stalled: false,
            flow_bias_centi_percent: 0,
        };
        let s = assemble(0, &status(), Some(&plant), None, 1.0);
        assert_eq!(s.actual_reservoir_nl, Some(18_500_000));
        assert_eq!(s.pocket_nl, Some(100_000));
        assert_eq!(
            s.tip_nl, None,
            "the tip volume comes from the balance, not the plant"
        );
    }
}
