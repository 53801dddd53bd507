//! `pumphil identify --port PATH`: a pump's identity and status, for people, on day one.

use super::exit;
use crate::driver::pump::PumpDriver;
use crate::link::serial::SerialSettings;
use crate::protocol::{Identity, Status};
use crate::units::{format_device_time, format_ml};

#[derive(Debug, clap::Args)]
pub struct IdentifyArgs {
    /// The pump's serial port, tcp://host:port (raw serial server) or rfc2217://host:port, or the
    /// pty printed by `pumphil emulate --pty`.
    #[arg(long)]
    pub port: String,
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
}

/// The identity and status as aligned `label  value` lines, in mL, µg/day and device time.
pub fn describe(id: &Identity, s: &Status) -> String {
    let mut rows: Vec<(&str, String)> = vec![
        ("model", id.model.clone()),
        ("serial number", id.serial_number.clone()),
        ("firmware", id.firmware_version.clone()),
        ("protocol version", id.protocol_version.to_string()),
        ("reservoir", format_ml(id.reservoir_capacity_nl)),
        ("test unit", if id.test_unit { "yes" } else { "no" }.into()),
        ("device time", format_device_time(s.device_time_ms)),
        ("therapy", s.therapy_state.to_string()),
        (
            "dose rate",
            format!(
                "{} µg/day at {} µg/mL",
                s.dose_rate_ug_per_day, s.concentration_ug_per_ml
            ),
        ),
        ("calculated volume", format_ml(s.calculated_reservoir_nl)),
        ("delivered", format_ml(s.delivered_nl)),
        ("low threshold", format_ml(s.low_reservoir_threshold_nl)),
        (
            "battery",
            format!(
                "{}.{}%{}{}",
                s.battery_permille / 10,
                s.battery_permille % 10,
                if s.elective_replacement { ", ERI" } else { "" },
                if s.end_of_service { ", EOS" } else { "" }
            ),
        ),
    ];
    if s.alarms.is_empty() {
        rows.push(("alarms", "none".into()));
    }
    for a in &s.alarms {
        rows.push((
            "alarm",
            format!("{} ({}, {})", a.alarm, a.priority, a.state),
        ));
    }
    rows.iter()
        .map(|(label, value)| format!("{label:<18}{value}\n"))
        .collect()
}

pub fn run(args: &IdentifyArgs) -> u8 {
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let settings = SerialSettings {
            baud: args.baud,
            ..SerialSettings::pump(&args.port)
        };
        let link = match super::open_port(&settings).await {
            Ok(link) => link,
            Err(code) => return code,
        };
        let pump = PumpDriver::new(link);
        let answers = match pump.identify().await {
            Ok(id) => pump.status().await.map(|s| (id, s)),
            Err(e) => Err(e),
        };
        match answers {
            Ok((id, s)) => {
                write!(super::out::stdout(), "{}", describe(&id, &s));
                exit::PASSED
            }
            Err(e) => {
                super::print_error(
                    "identify::no-answer",
                    e,
                    Some(&format!("is a pump (or `pumphil emulate --pty`) on {} at {} baud, powered and connected?", args.port, args.baud)),
                );
                exit::INFRASTRUCTURE
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::*;

    #[test]
    fn describes_in_people_units() {
        let id = Identity {
            model: "PH-EMU-40".into(),
            serial_number: "EMU-0001".into(),
            firmware_version: "emu-0.1.0".into(),
            protocol_version: 1,
            reservoir_capacity_nl: 40_000_000,
            test_unit: true,
        };
        let status = Status {
            device_time_ms: 20 * 3_600_000,
            calculated_reservoir_nl: 2_000_000,
            delivered_nl: 1_000_000,
            dose_rate_ug_per_day: 600,
            concentration_ug_per_ml: 500,
            low_reservoir_threshold_nl: 2_000_000,
            therapy_state: TherapyState::Running,
            battery_permille: 995,
            elective_replacement: false,
            end_of_service: false,
            alarms: vec![ActiveAlarm {
                alarm: AlarmKind::LowReservoir,
                priority: Priority::Medium,
                state: AlarmState::Active,
            }],
        };
        let text = describe(&id, &status);
        for line in [
            "reservoir         40.000 mL\n",
            "device time       0d 20:00:00.000\n",
            "dose rate         600 µg/day at 500 µg/mL\n",
            "calculated volume 2.000 mL\n",
            "battery           99.5%\n",
            "alarm             low_reservoir (medium, active)\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
    }
}
