//! Network serial endpoints over real TCP sockets on loopback: Debian's ser2net serving the
//! emulator's pseudo-terminals in raw mode (tcp://) and in RFC 2217 mode (rfc2217://) with a
//! whole scenario driven through each, every byte value through RFC 2217 both ways, a restarted
//! server connected again, and `pumphil emulate --tcp` without ser2net (a scenario, a dropped
//! connection, the binary).

use pumphil::driver::balance::BalanceDriver;
use pumphil::driver::pump::{DeviationKind, DriverOptions, PumpDriver, Reopen};
use pumphil::emulator::link_faults::LinkFaults;
use pumphil::emulator::{serve_tcp, spawn_on_ptys, EmulatorHandle};
use pumphil::expect::fixture;
use pumphil::link::endpoint;
use pumphil::link::pty::PtyPair;
use pumphil::link::serial::SerialSettings;
use pumphil::protocol::{LogEntryKind, Request, ResponseBody};
use pumphil::record::journal::Journal;
use pumphil::record::ScenarioVerdict;
use pumphil::runner::console::Console;
use pumphil::runner::devices::emulator_config;
use pumphil::runner::devices::Devices;
use pumphil::runner::execute::{run_scenario, Expected};
use pumphil::runner::sink::Sink;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SCENARIO: &str = "scenarios/battery-end-of-life.toml";

/// A free loopback port: bound by the system, then released for the server to take.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

fn ser2net_binary() -> PathBuf {
    [
        "/usr/sbin/ser2net",
        "/usr/bin/ser2net",
        "/usr/local/sbin/ser2net",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .unwrap_or_else(|| {
        panic!(
            "ser2net is not installed, and these tests need it: install it with \
                 `apt-get install ser2net` (Debian/Ubuntu; .ci/run does this)"
        )
    })
}

/// A ser2net process of our own, serving ptys on loopback ports; killed when dropped.
struct Ser2net {
    child: Child,
    dir: tempfile::TempDir,
}

#[derive(Clone, Copy)]
enum Mode {
    Raw,
    Rfc2217,
}

impl Ser2net {
    /// Serves each (pty path, line settings) on a free port; returns the endpoints in order.
    fn serve(mode: Mode, ptys: &[(&Path, &str)]) -> (Ser2net, Vec<String>) {
        let binary = ser2net_binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut yaml = String::new();
        let mut endpoints = Vec::new();
        // chardelay off: ser2net's default holds each answer ~12 ms, making a scenario 10x slower.
        // nodelay: without it an answer read from the pty in two pieces waits for our delayed
        // ACK (Nagle), about 45 ms a sample: the battery life took 11 s, with it 0.6 s.
        for (i, (pty, line)) in ptys.iter().enumerate() {
            let port = free_port();
            let (accepter, scheme) = match mode {
                Mode::Raw => ("tcp(nodelay)", "tcp"),
                Mode::Rfc2217 => ("telnet(rfc2217),tcp(nodelay)", "rfc2217"),
            };
            yaml.push_str(&format!(
                "connection: &port{i}\n  accepter: {accepter},127.0.0.1,{port}\n  \
                 connector: serialdev,{},{line},local\n  options:\n    kickolduser: true\n    chardelay: false\n",
                pty.display()
            ));
            endpoints.push(format!("{scheme}://127.0.0.1:{port}"));
        }
        std::fs::write(dir.path().join("ser2net.yaml"), yaml).expect("write the ser2net config");
        let server = Ser2net {
            child: Ser2net::start(&binary, dir.path()),
            dir,
        };
        for endpoint in &endpoints {
            server.wait_listening(endpoint);
        }
        (server, endpoints)
    }

    fn start(binary: &Path, dir: &Path) -> Child {
        // -n: foreground; -u: no UUCP lock files; -P: our own pid file, not /run's.
        Command::new(binary)
            .arg("-c")
            .arg(dir.join("ser2net.yaml"))
            .arg("-n")
            .arg("-u")
            .arg("-P")
            .arg(dir.join("ser2net.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ser2net")
    }

    /// Stops the server (its connections drop) and starts it again on the same ports.
    fn restart(&mut self, endpoints: &[String]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Ser2net::start(&ser2net_binary(), self.dir.path());
        for endpoint in endpoints {
            self.wait_listening(endpoint);
        }
    }

    fn wait_listening(&self, endpoint: &str) {
        let address = endpoint
            .split_once("://")
            .map(|(_, a)| a)
            .unwrap_or(endpoint);
        for _ in 0..100 {
            if std::net::TcpStream::connect(address).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("ser2net did not listen on {endpoint} within 5 s");
    }
}

impl Drop for Ser2net {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn open(settings: SerialSettings) -> pumphil::link::BoxLink {
    let text = settings.path.clone();
    endpoint::open(&settings)
        .await
        .unwrap_or_else(|e| panic!("open {text}: {e}"))
}

/// Runs the scenario (a correct emulator: it passes) with the pump and balance reached at the
/// given endpoints, the harness's own runner doing setup, timeline, samples and checks.
async fn run_through(
    scenario: &pumphil::scenario::Scenario,
    pump_endpoint: &str,
    balance_endpoint: &str,
) -> (ScenarioVerdict, Option<String>, PumpDriver) {
    let pump_settings = SerialSettings::pump(pump_endpoint);
    let pump = PumpDriver::with_reopen(
        open(pump_settings.clone()).await,
        DriverOptions::default(),
        Reopen::endpoint(pump_settings, Duration::from_secs(3)),
    );
    let balance = BalanceDriver::new(open(SerialSettings::balance(balance_endpoint)).await);
    let mut devices = Devices {
        pump,
        balance: Some(balance),
        device_kind: pumphil::record::Mode::Emulator,
        link: pumphil::record::DeviceLink::Port,
        pump_port: pump_endpoint.to_string(),
        balance_info: None,
        density_g_per_ml: scenario.bench.density_g_per_ml,
        virtual_time: true,
        // The emulator behind ser2net weighs without noise (`emulator_config(.., 0.0, ..)`).
        balance_noise_mg: 0.0,
        balance_figures: Default::default(),
        test_system: None,
        warnings: Vec::new(),
        clock_tolerance: pumphil::runner::watchdog::DEFAULT_TOLERANCE,
        // Learnt from the first sample (protocol 12.16), as for any emulator on a clean link.
        sampling: pumphil::runner::sample::PumpSampling::Untried,
        // ser2net in between: a device on a network port is sampled one request at a time.
        sample_batch: 1,
    };
    let root = fixture::default_root(&scenario.path);
    let checked = fixture::check(&root, scenario).expect("the scenario's fixture");
    let expected = Expected {
        rows: fixture::rows(&root, scenario).expect("the expected trace"),
        plot_rows: &checked.plot_rows,
        alarms: &checked.alarms,
        fixture_files: Vec::new(),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (stop, _stopped) = tokio::sync::watch::channel(false);
    let sink = Sink::new(
        Journal::create(dir.path()).expect("journal"),
        Console::new(true, true),
        stop,
    );
    let (_keep, shutdown) = tokio::sync::watch::channel(false);
    let (verdict, reason) =
        run_scenario(scenario, expected, &mut devices, &sink, shutdown, false).await;
    (verdict, reason, devices.pump)
}

fn scenario() -> pumphil::scenario::Scenario {
    pumphil::scenario::load(Path::new(SCENARIO)).expect("load the scenario")
}

async fn emulator_on_ptys(scenario: &pumphil::scenario::Scenario) -> EmulatorHandle {
    let config = emulator_config(scenario, 1, 0.0, &LinkFaults::default()).expect("config");
    spawn_on_ptys(config, false).await.expect("emulator")
}

async fn scenario_through_ser2net(mode: Mode) {
    let scenario = scenario();
    let emulator = emulator_on_ptys(&scenario).await;
    let (_server, endpoints) = Ser2net::serve(
        mode,
        &[
            (&emulator.pump_port, "115200n81"),
            (&emulator.balance_port, "9600n81"),
        ],
    );
    let (verdict, reason, pump) = run_through(&scenario, &endpoints[0], &endpoints[1]).await;
    assert_eq!(verdict, ScenarioVerdict::Passed, "{reason:?}");
    let bad = pump
        .take_deviations()
        .iter()
        .filter(|d| d.kind == DeviationKind::BadFrame)
        .count();
    assert_eq!(bad, 0, "frames garbled on the way through ser2net");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_scenario_runs_through_ser2net_in_raw_mode() {
    scenario_through_ser2net(Mode::Raw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_scenario_runs_through_ser2net_in_rfc2217_mode() {
    scenario_through_ser2net(Mode::Rfc2217).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_byte_value_crosses_rfc2217_both_ways_unchanged() {
    let (mut master, slave, _keep) = PtyPair::open().expect("pty").into_parts();
    let (_server, endpoints) = Ser2net::serve(Mode::Rfc2217, &[(&slave, "115200n81")]);
    let mut client = open(SerialSettings::pump(&endpoints[0])).await;
    // 0xFF (IAC) alone, doubled and at the end, CR NUL and CR LF (which Telnet outside binary
    // mode would rewrite), and every other byte value besides.
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend([
        b'\r', 0x00, b'\r', b'\n', 0xFF, 0xFF, 0x00, 0xFF, 250, 240, 0xFF,
    ]);
    client.write_all(&bytes).await.unwrap();
    let mut got = vec![0u8; bytes.len()];
    tokio::time::timeout(Duration::from_secs(5), master.read_exact(&mut got))
        .await
        .expect("the bytes arrive at the port")
        .unwrap();
    assert_eq!(got, bytes, "client to port");
    master.write_all(&bytes).await.unwrap();
    let mut back = vec![0u8; bytes.len()];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut back))
        .await
        .expect("the bytes arrive at the client")
        .unwrap();
    assert_eq!(back, bytes, "port to client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_scenario_runs_against_emulate_tcp() {
    let scenario = scenario();
    let config = emulator_config(&scenario, 1, 0.0, &LinkFaults::default()).expect("config");
    let emulator = serve_tcp(config, "127.0.0.1:0", Some("127.0.0.1:0"), false)
        .await
        .expect("serve on loopback");
    let pump = emulator.pump_port.display().to_string();
    let balance = emulator.balance_port.display().to_string();
    assert!(pump.starts_with("tcp://127.0.0.1:"), "{pump}");
    let (verdict, reason, _) = run_through(&scenario, &pump, &balance).await;
    assert_eq!(verdict, ScenarioVerdict::Passed, "{reason:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_made_again_and_the_lost_answer_re_sent() {
    let mut config = pumphil::emulator::config::EmulatorConfig::default();
    config.pump.initial_fill_nl = 3_000_000;
    // At 1 h the server drops the connection as it answers, and listens again 300 ms later.
    config.link.unplug_at_ms = Some(3_600_000);
    config.link.unplug_for_ms = 300;
    let emulator = serve_tcp(config, "127.0.0.1:0", None, false)
        .await
        .expect("serve on loopback");
    let pump_endpoint = emulator.pump_port.display().to_string();
    let settings = SerialSettings::pump(&pump_endpoint);
    let pump = PumpDriver::with_reopen(
        open(settings.clone()).await,
        DriverOptions::default(),
        Reopen::endpoint(settings, Duration::from_secs(3)),
    );
    pump.identify().await.expect("identify");
    pump.program_continuous(600).await.expect("program");
    pump.advance_to(3_600_000).await.expect("advance to 1 h");
    pump.bolus(100, 600, false)
        .await
        .expect("the bolus is answered after the reconnection");
    let deviations = pump.take_deviations();
    let reconnected = deviations
        .iter()
        .filter(|d| d.kind == DeviationKind::Reconnected)
        .count();
    assert_eq!(reconnected, 1, "{deviations:?}");
    let mut device = emulator.device.lock().unwrap();
    let Ok(ResponseBody::EventLogPage(page)) = device.handle(&Request::ReadEventLog { page: 0 })
    else {
        panic!("no event log");
    };
    let boluses = page
        .entries
        .iter()
        .filter(|e| e.kind == LogEntryKind::BolusStarted)
        .count();
    assert_eq!(
        boluses, 1,
        "the re-sent bolus was answered from the cache, not given twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_ser2net_is_connected_again_and_the_session_goes_on() {
    let mut config = pumphil::emulator::config::EmulatorConfig::default();
    config.pump.initial_fill_nl = 3_000_000;
    let emulator = spawn_on_ptys(config, false).await.expect("emulator");
    for mode in [Mode::Raw, Mode::Rfc2217] {
        let (mut server, endpoints) = Ser2net::serve(mode, &[(&emulator.pump_port, "115200n81")]);
        let settings = SerialSettings::pump(&endpoints[0]);
        let pump = PumpDriver::with_reopen(
            open(settings.clone()).await,
            DriverOptions::default(),
            Reopen::endpoint(settings, Duration::from_secs(3)),
        );
        pump.identify().await.expect("identify");
        server.restart(&endpoints);
        let status = pump.status().await;
        assert!(status.is_ok(), "{}: {status:?}", endpoints[0]);
        let deviations = pump.take_deviations();
        assert_eq!(
            deviations
                .iter()
                .filter(|d| d.kind == DeviationKind::Reconnected)
                .count(),
            1,
            "{}: {deviations:?}",
            endpoints[0]
        );
    }
}

/// Starts `pumphil emulate --tcp` and reads the addresses it printed.
fn emulate_tcp() -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .args([
            "emulate",
            "--tcp",
            "127.0.0.1:0",
            "--balance-tcp",
            "127.0.0.1:0",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pumphil emulate");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the addresses");
    let json: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    let pump = json["pump"].as_str().expect("pump").to_string();
    let balance = json["balance"].as_str().expect("balance").to_string();
    (child, pump, balance)
}

#[test]
fn identify_and_balance_reach_emulate_tcp() {
    let (mut emulator, pump, balance) = emulate_tcp();
    assert!(pump.starts_with("tcp://127.0.0.1:") && balance.starts_with("tcp://127.0.0.1:"));
    let identify = Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .args(["identify", "--port", &pump])
        .output()
        .expect("run identify");
    let weigh = Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .args(["balance", "--port", &balance])
        .output()
        .expect("run balance");
    let _ = emulator.kill();
    let _ = emulator.wait();
    let text = String::from_utf8_lossy(&identify.stdout);
    assert!(identify.status.success(), "{text}");
    assert!(text.contains("serial number     EMU-0001"), "{text}");
    let text = String::from_utf8_lossy(&weigh.stdout);
    assert!(
        weigh.status.success() && text.contains(" g  stable"),
        "{text}"
    );
}

#[test]
fn a_port_nobody_listens_on_is_an_infrastructure_error_naming_it() {
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let out = Command::new(env!("CARGO_BIN_EXE_pumphil"))
        .args(["identify", "--port", &endpoint])
        .output()
        .expect("run identify");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&endpoint) && !text.contains("dialout"),
        "{text}"
    );
}
