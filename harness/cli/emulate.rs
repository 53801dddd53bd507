//! `pumphil emulate`: the built-in pump and balance on new pseudo-terminals or existing ttys.

use super::emulator_args::EmulatorArgs;
use super::exit;

#[derive(Debug, clap::Args)]
pub struct EmulateArgs {
    /// Create pseudo-terminals and print their paths.
    #[arg(long, conflicts_with_all = ["port", "tcp"])]
    pub pty: bool,
    /// Serve an existing tty for the pump instead (e.g. one end of a null-modem cable), or
    /// tcp://host:port / rfc2217://host:port of a serial server to serve through.
    #[arg(long, conflicts_with = "tcp")]
    pub port: Option<String>,
    /// With --port: serve the balance on this tty (or endpoint).
    #[arg(long, requires = "port")]
    pub balance_port: Option<String>,
    /// Serve the pump on TCP at HOST:PORT (port 0: any free port; the address is printed).
    #[arg(long, value_name = "HOST:PORT")]
    pub tcp: Option<String>,
    /// With --tcp: serve the balance on TCP at HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", requires = "tcp")]
    pub balance_tcp: Option<String>,
    /// Print the ports as one JSON line: {"pump": ..., "balance": ..., "realtime": ...}.
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
            super::diagnostic::show(&e);
            return exit::USAGE;
        }
    };
    if !args.pty && args.port.is_none() && args.tcp.is_none() {
        super::print_error(
            "emulate::where",
            "say where to serve",
            Some("`pumphil emulate --pty` (new pseudo-terminals), `pumphil emulate --port PATH` or `pumphil emulate --tcp 127.0.0.1:3001`"),
        );
        return exit::USAGE;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        super::print_error("runtime", "cannot start the async runtime", None);
        return exit::INFRASTRUCTURE;
    };
    runtime.block_on(async {
        let started = match (&args.port, &args.tcp) {
            (_, Some(address)) => {
                crate::emulator::serve_tcp(
                    config,
                    address,
                    args.balance_tcp.as_deref(),
                    args.realtime,
                )
                .await
            }
            (Some(port), None) => {
                crate::emulator::serve_ports(
                    config,
                    port,
                    args.balance_port.as_deref(),
                    args.realtime,
                )
                .await
            }
            (None, None) => crate::emulator::spawn_on_ptys(config, args.realtime).await,
        };
        let mut handle = match started {
            Ok(h) => h,
            Err(e) => {
                super::diagnostic::show(&e);
                return exit::INFRASTRUCTURE;
            }
        };
        let pump = handle.pump_port.display().to_string();
        let balance = (!handle.balance_port.as_os_str().is_empty())
            .then(|| handle.balance_port.display().to_string());
        if args.json {
            writeln!(
                super::out::stdout(),
                "{}",
                serde_json::json!({ "pump": pump, "balance": balance, "realtime": args.realtime })
            );
        } else {
            writeln!(super::out::stdout(), "pump: {pump}");
            if let Some(balance) = &balance {
                writeln!(super::out::stdout(), "balance: {balance}");
            }
            eprintln!(
                "serving in {} time; Ctrl-C to stop",
                if args.realtime { "real" } else { "virtual" }
            );
        }
        // Whoever started us reads the ports from a pipe: they must not sit in a buffer.
        super::out::stdout().flush();
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match &mut terminate {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
            _ = handle.wait() => {}
        }
        exit::PASSED
    })
}
