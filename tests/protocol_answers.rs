//! The answers docs/protocol.md gives a device vendor, shown on the emulator over a real pty:
//! acknowledging twice, silencing an acknowledged alarm, an absent alarm, and what clearing
//! physical_refill_volume does.

mod common;

use common::emulated_pump;
use pumphil::driver::pump::DriverError;
use pumphil::protocol::*;

fn state_of(status: &Status, alarm: AlarmKind) -> Option<AlarmState> {
    status
        .alarms
        .iter()
        .find(|a| a.alarm == alarm)
        .map(|a| a.state)
}

#[tokio::test]
async fn a_present_alarm_may_be_acknowledged_twice_and_an_absent_one_not_at_all() {
    let (_emulator, pump) = emulated_pump().await;
    // 1 mL in, threshold 2 mL: low_reservoir is present at once.
    pump.set_threshold(2_000_000).await.unwrap();
    pump.refill(1_000_000, 500).await.unwrap();
    let low = AlarmKind::LowReservoir;
    assert_eq!(
        state_of(&pump.status().await.unwrap(), low),
        Some(AlarmState::Active)
    );
    pump.acknowledge(low, AlarmAction::Acknowledge)
        .await
        .unwrap();
    pump.acknowledge(low, AlarmAction::Acknowledge)
        .await
        .expect("acknowledging an acknowledged alarm is allowed");
    assert_eq!(
        state_of(&pump.status().await.unwrap(), low),
        Some(AlarmState::Acknowledged)
    );
    // Silencing an acknowledged alarm silences it; 2 minutes later it is active again.
    pump.acknowledge(low, AlarmAction::Silence).await.unwrap();
    let now = pump.status().await.unwrap().device_time_ms;
    assert_eq!(
        state_of(&pump.status().await.unwrap(), low),
        Some(AlarmState::Silenced)
    );
    pump.advance_to(now + 120_000).await.unwrap();
    assert_eq!(
        state_of(&pump.status().await.unwrap(), low),
        Some(AlarmState::Active)
    );
    // An alarm that is not present: NotAllowedInState.
    let refused = pump
        .acknowledge(AlarmKind::MotorStall, AlarmAction::Acknowledge)
        .await;
    assert!(
        matches!(
            refused,
            Err(DriverError::Nack {
                code: NackCode::NotAllowedInState,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn clearing_physical_refill_volume_before_the_refill_puts_it_all_in_the_reservoir() {
    let (_emulator, pump) = emulated_pump().await;
    pump.inject_fault(Fault::PhysicalRefillVolume {
        volume_nl: 1_000_000,
    })
    .await
    .unwrap();
    pump.clear_fault(FaultKind::PhysicalRefillVolume)
        .await
        .unwrap();
    pump.refill(3_000_000, 500).await.unwrap();
    let plant = pump.plant().await.unwrap();
    assert_eq!((plant.actual_reservoir_nl, plant.pocket_nl), (3_000_000, 0));
    // Used by a refill, it is gone: the next refill is whole again.
    pump.inject_fault(Fault::PhysicalRefillVolume {
        volume_nl: 1_000_000,
    })
    .await
    .unwrap();
    pump.refill(3_000_000, 500).await.unwrap();
    pump.refill(3_000_000, 500).await.unwrap();
    let plant = pump.plant().await.unwrap();
    assert_eq!(plant.pocket_nl, 2_000_000, "{plant:?}");
}
