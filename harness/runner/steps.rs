//! What a scenario asks of the pump, as the driver's typed requests: the setup that brings it to
//! the scenario's starting state, and each step of the timeline.

use crate::driver::pump::{DriverError, PumpDriver};
use crate::protocol::{AlarmAction, Fault};
use crate::scenario::{Action, FaultSpec, Scenario};

/// One request of the setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Threshold {
        threshold_nl: u64,
    },
    InitialFill {
        volume_nl: u64,
        concentration_ug_per_ml: u32,
    },
    BatteryCharge {
        permille: u16,
    },
}

impl Setup {
    /// The scenario's starting state, in the order it is set.
    pub fn for_scenario(scenario: &Scenario) -> Vec<Setup> {
        let d = &scenario.device;
        let mut out = vec![
            Setup::Threshold {
                threshold_nl: d.low_reservoir_threshold_nl,
            },
            Setup::InitialFill {
                volume_nl: d.initial_fill_nl,
                concentration_ug_per_ml: d.concentration_ug_per_ml,
            },
        ];
        if let Some(permille) = d.battery_permille {
            out.push(Setup::BatteryCharge { permille });
        }
        out
    }

    /// What the record calls it when it fails.
    pub fn label(&self) -> &'static str {
        match self {
            Setup::Threshold { .. } => "set low-reservoir threshold",
            Setup::InitialFill { .. } => "initial fill",
            Setup::BatteryCharge { .. } => "battery state of charge",
        }
    }

    pub async fn apply(&self, pump: &PumpDriver) -> Result<(), DriverError> {
        match *self {
            Setup::Threshold { threshold_nl } => pump.set_threshold(threshold_nl).await,
            Setup::InitialFill {
                volume_nl,
                concentration_ug_per_ml,
            } => pump.refill(volume_nl, concentration_ug_per_ml).await,
            Setup::BatteryCharge { permille } => {
                pump.inject_fault(Fault::BatteryCharge { permille }).await
            }
        }
    }
}

/// Before a pocket-fill refill: tell the bench plant what physically goes in.
pub async fn prepare(pump: &PumpDriver, action: &Action) -> Result<(), DriverError> {
    if let Action::Refill {
        actual_nl: Some(actual),
        ..
    } = action
    {
        pump.inject_fault(Fault::PhysicalRefillVolume { volume_nl: *actual })
            .await?;
    }
    Ok(())
}

/// Sends a step's action to the pump.
pub async fn apply(pump: &PumpDriver, action: &Action) -> Result<(), DriverError> {
    match action {
        Action::ProgramContinuous { dose_ug_per_day } => {
            pump.program_continuous(*dose_ug_per_day).await
        }
        Action::ProgramFlexible { steps } => {
            pump.program_flexible(steps.iter().map(|s| (*s).into()).collect())
                .await
        }
        Action::Bolus {
            dose_ug,
            duration_ms,
            bridge,
        } => {
            pump.bolus(*dose_ug, (*duration_ms / 1000) as u32, *bridge)
                .await
        }
        Action::Refill {
            volume_nl,
            concentration_ug_per_ml,
            ..
        } => pump.refill(*volume_nl, *concentration_ug_per_ml).await,
        Action::Inject { fault } => pump.inject_fault(to_fault(*fault)).await,
        Action::Clear { fault } => pump.clear_fault(*fault).await,
        Action::Acknowledge { alarm } => pump.acknowledge(*alarm, AlarmAction::Acknowledge).await,
        Action::Silence { alarm } => pump.acknowledge(*alarm, AlarmAction::Silence).await,
        Action::Stop => pump.stop().await,
        Action::Resume => pump.resume().await,
        Action::SetThreshold { threshold_nl } => pump.set_threshold(*threshold_nl).await,
        // Not a request: the runner asks the operator, or sends the emulated action itself.
        Action::Operator { .. } => Ok(()),
    }
}

fn to_fault(spec: FaultSpec) -> Fault {
    match spec {
        FaultSpec::CatheterDisconnect => Fault::CatheterDisconnect,
        FaultSpec::CatheterOcclusion => Fault::CatheterOcclusion,
        FaultSpec::MotorStall => Fault::MotorStall,
        FaultSpec::BatteryCharge { permille } => Fault::BatteryCharge { permille },
        FaultSpec::FlowBias { centi_percent } => Fault::FlowBias { centi_percent },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{
        encode_frame, AlarmKind, FaultKind, FlexStep, FrameAssembler, Message, Request,
        ResponseBody,
    };
    use crate::scenario::FlexStepSpec;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A pump that acknowledges everything and keeps the requests it received.
    fn recording_pump() -> (PumpDriver, Arc<Mutex<Vec<Request>>>) {
        let (host, mut device) = crate::link::memory::memory_pair();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            let mut frames = FrameAssembler::new();
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = device.read(&mut buf).await {
                for frame in frames.push(&buf[..n]).into_iter().flatten() {
                    let Message::Request(request) = frame.message else {
                        continue;
                    };
                    let answer = Message::Response {
                        request: request.kind(),
                        body: ResponseBody::Ack,
                    };
                    log.lock().unwrap().push(request);
                    let bytes = encode_frame(frame.seq, &answer).unwrap();
                    if device.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            }
        });
        (PumpDriver::new(host), received)
    }

    #[tokio::test]
    async fn each_action_sends_its_request() {
        let cases = [
            (
                Action::ProgramContinuous {
                    dose_ug_per_day: 400,
                },
                Request::ProgramContinuous {
                    dose_ug_per_day: 400,
                },
            ),
            (
                Action::ProgramFlexible {
                    steps: vec![FlexStepSpec {
                        start_minute: 60,
                        dose_ug_per_day: 300,
                    }],
                },
                Request::ProgramFlexible {
                    steps: vec![FlexStep {
                        start_minute: 60,
                        dose_ug_per_day: 300,
                    }],
                },
            ),
            (
                Action::Bolus {
                    dose_ug: 50,
                    duration_ms: 90_500,
                    bridge: true,
                },
                Request::Bolus {
                    dose_ug: 50,
                    duration_s: 90,
                    bridge: true,
                },
            ),
            (
                Action::Refill {
                    volume_nl: 20_000_000,
                    concentration_ug_per_ml: 500,
                    actual_nl: None,
                },
                Request::Refill {
                    volume_nl: 20_000_000,
                    concentration_ug_per_ml: 500,
                },
            ),
            (
                Action::Inject {
                    fault: FaultSpec::FlowBias {
                        centi_percent: -1500,
                    },
                },
                Request::InjectFault {
                    fault: Fault::FlowBias {
                        centi_percent: -1500,
                    },
                },
            ),
            (
                Action::Clear {
                    fault: FaultKind::MotorStall,
                },
                Request::ClearFault {
                    fault: FaultKind::MotorStall,
                },
            ),
            (
                Action::Acknowledge {
                    alarm: AlarmKind::LowReservoir,
                },
                Request::AcknowledgeAlarm {
                    alarm: AlarmKind::LowReservoir,
                    action: AlarmAction::Acknowledge,
                },
            ),
            (
                Action::Silence {
                    alarm: AlarmKind::LowReservoir,
                },
                Request::AcknowledgeAlarm {
                    alarm: AlarmKind::LowReservoir,
                    action: AlarmAction::Silence,
                },
            ),
            (Action::Stop, Request::StopTherapy),
            (Action::Resume, Request::ResumeTherapy),
            (
                Action::SetThreshold {
                    threshold_nl: 1_000_000,
                },
                Request::SetLowReservoirThreshold {
                    threshold_nl: 1_000_000,
                },
            ),
        ];
        let (pump, received) = recording_pump();
        for (action, _) in &cases {
            apply(&pump, action).await.unwrap();
        }
        let expected: Vec<Request> = cases.into_iter().map(|(_, r)| r).collect();
        assert_eq!(*received.lock().unwrap(), expected);
    }

    #[tokio::test]
    async fn only_a_pocket_fill_refill_is_prepared_with_its_physical_volume() {
        let (pump, received) = recording_pump();
        let plain = Action::Refill {
            volume_nl: 5,
            concentration_ug_per_ml: 1,
            actual_nl: None,
        };
        let pocket = Action::Refill {
            volume_nl: 5,
            concentration_ug_per_ml: 1,
            actual_nl: Some(3),
        };
        prepare(&pump, &plain).await.unwrap();
        prepare(&pump, &Action::Stop).await.unwrap();
        prepare(&pump, &pocket).await.unwrap();
        assert_eq!(
            *received.lock().unwrap(),
            [Request::InjectFault {
                fault: Fault::PhysicalRefillVolume { volume_nl: 3 }
            }]
        );
    }
}
