//! Wire enumerations shared by host and device: alarms, priorities, therapy states, faults, NACK codes.

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr => $text:expr),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant = $value),+ }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn to_wire(self) -> u8 { self as u8 }

            pub fn from_wire(byte: u8) -> Option<Self> {
                match byte { $($value => Some($name::$variant),)+ _ => None }
            }

            /// The snake_case name used in scenario files, CSV fixtures and reports.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn from_name(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted names, for "expected one of ..." messages.
            pub fn names() -> Vec<&'static str> {
                vec![$($text),+]
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

wire_enum! {
    /// Alarm conditions a pump can raise.
    AlarmKind {
        LowReservoir = 1 => "low_reservoir",
        EmptyReservoir = 2 => "empty_reservoir",
        ElectiveReplacement = 3 => "elective_replacement",
        EndOfService = 4 => "end_of_service",
        MotorStall = 5 => "motor_stall",
    }
}

wire_enum! {
    /// IEC 60601-1-8 alarm priorities. Vendors' "critical" maps to high, "non-critical" to medium.
    Priority {
        Low = 1 => "low",
        Medium = 2 => "medium",
        High = 3 => "high",
    }
}

wire_enum! {
    /// Whether an active alarm is still sounding, acknowledged or silenced.
    AlarmState {
        Active = 0 => "active",
        Acknowledged = 1 => "acknowledged",
        Silenced = 2 => "silenced",
    }
}

wire_enum! {
    /// What the host asks of an alarm in an AcknowledgeAlarm request.
    AlarmAction {
        Acknowledge = 0 => "acknowledge",
        Silence = 1 => "silence",
    }
}

wire_enum! {
    /// The pump's therapy state machine (docs/protocol.md, "Device state machine").
    TherapyState {
        Idle = 0 => "idle",
        Running = 1 => "running",
        Bolus = 2 => "bolus",
        Stopped = 3 => "stopped",
        Halted = 4 => "halted",
    }
}

wire_enum! {
    /// Bench faults that test mode can inject and clear.
    FaultKind {
        CatheterDisconnect = 1 => "catheter_disconnect",
        CatheterOcclusion = 2 => "catheter_occlusion",
        MotorStall = 3 => "motor_stall",
        BatteryCharge = 4 => "battery_charge",
        PhysicalRefillVolume = 5 => "physical_refill_volume",
        FlowBias = 6 => "flow_bias",
    }
}

wire_enum! {
    /// Why a device refused a request.
    NackCode {
        BadCrc = 1 => "bad_crc",
        UnknownMessage = 2 => "unknown_message",
        MalformedPayload = 3 => "malformed_payload",
        OutOfRange = 4 => "out_of_range",
        NotAllowedInState = 5 => "not_allowed_in_state",
        NotInTestMode = 6 => "not_in_test_mode",
        UnsupportedVersion = 7 => "unsupported_version",
    }
}

wire_enum! {
    /// The catheter as the bench plant sees it.
    CatheterState {
        Connected = 0 => "connected",
        Disconnected = 1 => "disconnected",
        Occluded = 2 => "occluded",
    }
}

wire_enum! {
    /// Kinds of entries in the device's event log.
    LogEntryKind {
        AlarmRaised = 1 => "alarm_raised",
        AlarmCleared = 2 => "alarm_cleared",
        AlarmAnnunciated = 3 => "alarm_annunciated",
        AlarmAcknowledged = 4 => "alarm_acknowledged",
        TherapyStateChanged = 5 => "therapy_state_changed",
        Programmed = 6 => "programmed",
        BolusStarted = 7 => "bolus_started",
        Refilled = 8 => "refilled",
        ThresholdSet = 9 => "threshold_set",
        FaultInjected = 10 => "fault_injected",
        FaultCleared = 11 => "fault_cleared",
    }
}
