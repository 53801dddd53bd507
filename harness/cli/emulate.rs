//! `pumphil emulate`: the built-in pump and balance on new pseudo-terminals or existing ttys.

use super::exit;
use crate::emulator::config::EmulatorArgs;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct EmulateArgs {
    /// Create pseudo-terminals and print their paths.
    #[arg(long, conflicts_with = "port")]
    pub pty: bool,
    /// Serve an existing tty for the pump instead.
    #[arg(long)]
    pub port: Option<String>,
    /// With --port: serve the balance on this tty.
    #[arg(long, requires = "port")]
    pub balance_port: Option<String>,
    /// Print the ports as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// Device time follows the wall clock (AdvanceTime is refused).
    #[arg(long)]
    pub realtime: bool,
    #[command(flatten)]
    pub emulator: EmulatorArgs,
}

pub fn run(args: &EmulateArgs) -> u8 {
    let config = match args.emulator.resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if !args.pty && args.port.is_none() {
        eprintln!("error: say where to serve: --pty (new pseudo-terminals) or --port PATH\n  = help: pumphil emulate --pty");
        return exit::USAGE;
    }
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return exit::INFRASTRUCTURE;
    };
    rt.block_on(async {
        let started = match &args.port {
            Some(port) => crate::emulator::serve_ports(config, port, args.balance_port.as_deref(), args.realtime).await,
            None => crate::emulator::spawn_on_ptys(config, args.realtime).await,
        };
        let mut handle = match started {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::INFRASTRUCTURE;
            }
        };
        let (pump, balance) = (handle.pump_port.display().to_string(), handle.balance_port.display().to_string());
        if args.json {
            println!("{}", serde_json::json!({ "pump": pump, "balance": balance, "realtime": args.realtime }));
        } else {
            println!("pump: {pump}\nbalance: {balance}");
            eprintln!("serving {} time; Ctrl-C to stop", if args.realtime { "real" } else { "virtual" });
        }
        let _ = std::io::stdout().flush();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match &mut term { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            _ = handle.wait() => {}
        }
        exit::PASSED
    })
}
