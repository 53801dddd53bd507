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
