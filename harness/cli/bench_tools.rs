//! Day-one bench commands: `ports`, `identify --port`, `balance --port`.

use super::exit;
use crate::driver::balance::BalanceDriver;
use crate::driver::pump::PumpDriver;
use crate::link::serial::{open_serial, SerialSettings};
use crate::units::{format_device_time, format_ml};

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
}

#[derive(Debug, clap::Args)]
pub struct PortsArgs {}

pub fn ports(_: &PortsArgs) -> u8 {
    match serialport::available_ports() {
        Ok(ports) if ports.is_empty() => println!("no serial ports found (pseudo-terminals are not listed: `pumphil emulate --pty` prints its own)"),
        Ok(ports) => {
            for p in ports {
                println!("{}  {:?}", p.port_name, p.port_type);
            }
            println!("(pseudo-terminals are not listed: `pumphil emulate --pty` prints its own)");
        }
        Err(e) => {
            eprintln!("error: cannot list serial ports: {e}");
            return exit::INFRASTRUCTURE;
        }
    }
    exit::PASSED
}

#[derive(Debug, clap::Args)]
pub struct IdentifyArgs {
    /// The pump's serial port (or the pty printed by `pumphil emulate --pty`).
    #[arg(long)]
    pub port: String,
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
}

pub fn identify(args: &IdentifyArgs) -> u8 {
    let Some(rt) = runtime() else {
        return exit::INFRASTRUCTURE;
    };
    rt.block_on(async {
        let link = match open_serial(&SerialSettings { baud: args.baud, ..SerialSettings::pump(&args.port) }) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INFRASTRUCTURE;
            }
        };
        let pump = PumpDriver::new(link);
        let (id, s) = match (pump.identify().await, pump.status().await) {
            (Ok(id), Ok(s)) => (id, s),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: {e}\n  = help: is a pump (or `pumphil emulate`) on {}?", args.port);
                return exit::INFRASTRUCTURE;
            }
        };
        println!("model             {}\nserial number     {}\nfirmware          {}\nprotocol version  {}\nreservoir         {}\ntest unit         {}", id.model, id.serial_number, id.firmware_version, id.protocol_version, format_ml(id.reservoir_capacity_nl), if id.test_unit { "yes" } else { "no" });
        println!("device time       {}\ntherapy           {}\ndose rate         {} ug/day at {} ug/mL\ncalculated volume {}\ndelivered         {}\nlow threshold     {}\nbattery           {} per mille{}{}", format_device_time(s.device_time_ms), s.therapy_state, s.dose_rate_ug_per_day, s.concentration_ug_per_ml, format_ml(s.calculated_reservoir_nl), format_ml(s.delivered_nl), format_ml(s.low_reservoir_threshold_nl), s.battery_permille, if s.elective_replacement { ", ERI" } else { "" }, if s.end_of_service { ", EOS" } else { "" });
        if s.alarms.is_empty() {
            println!("alarms            none");
        }
        for a in &s.alarms {
            println!("alarm             {} ({}, {})", a.alarm, a.priority, a.state);
        }
        exit::PASSED
    })
}

#[derive(Debug, clap::Args)]
pub struct BalanceArgs {
    /// The balance's serial port.
    #[arg(long)]
    pub port: String,
    #[arg(long, default_value_t = 9_600)]
    pub baud: u32,
    /// Keep printing readings until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    #[arg(long, default_value_t = 500)]
    pub interval_ms: u64,
}

pub fn balance(args: &BalanceArgs) -> u8 {
    let Some(rt) = runtime() else {
        return exit::INFRASTRUCTURE;
    };
    rt.block_on(async {
        let link = match open_serial(&SerialSettings {
            baud: args.baud,
            ..SerialSettings::balance(&args.port)
        }) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INFRASTRUCTURE;
            }
        };
        let mut balance = BalanceDriver::new(link);
        loop {
            match balance.weigh_immediate().await {
                Ok(r) => println!(
                    "{:.4} g {}",
                    r.grams,
                    if r.stable { "stable" } else { "dynamic" }
                ),
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::INFRASTRUCTURE;
                }
            }
            if !args.watch {
                return exit::PASSED;
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(args.interval_ms)) => {}
                _ = tokio::signal::ctrl_c() => return exit::PASSED,
            }
        }
    })
}
