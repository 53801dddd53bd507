//! `pumphil balance --port PATH [--watch]`: balance readings over MT-SICS, for bench bring-up.

use super::exit;
use crate::driver::balance::{BalanceDriver, Reading};
use crate::link::serial::SerialSettings;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct BalanceArgs {
    /// The balance's serial port, tcp://host:port (raw serial server) or rfc2217://host:port, or the
    /// pty printed by `pumphil emulate --pty`.
    #[arg(long)]
    pub port: String,
    #[arg(long, default_value_t = 9_600)]
    pub baud: u32,
    /// Keep printing readings until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: time between readings.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(50..))]
    pub interval_ms: u64,
}

/// One reading as printed: grams to 0.1 mg and whether it was stable.
pub fn format_reading(r: &Reading) -> String {
    format!(
        "{:>12.4} g  {}",
        r.grams,
        if r.stable { "stable" } else { "dynamic" }
    )
}

pub fn run(args: &BalanceArgs) -> u8 {
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let settings = SerialSettings {
            baud: args.baud,
            ..SerialSettings::balance(&args.port)
        };
        let link = match super::open_port(&settings).await {
            Ok(link) => link,
            Err(code) => return code,
        };
        let mut balance = BalanceDriver::new(link);
        loop {
            match balance.weigh_immediate().await {
                Ok(r) => writeln!(super::out::stdout(), "{}", format_reading(&r)),
                Err(e) => {
                    super::print_error(
                        "balance::no-answer",
                        e,
                        Some(&format!(
                            "is the balance on {} set to MT-SICS at {} baud 8N1?",
                            args.port, args.baud
                        )),
                    );
                    return exit::INFRASTRUCTURE;
                }
            }
            if !args.watch {
                return exit::PASSED;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(args.interval_ms)) => {}
                _ = tokio::signal::ctrl_c() => return exit::PASSED,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_print_to_a_tenth_of_a_milligram() {
        let r = Reading {
            grams: 1.20552,
            stable: false,
            unit: "g".into(),
        };
        assert_eq!(format_reading(&r), "      1.2055 g  dynamic");
    }
}
