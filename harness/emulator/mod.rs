//! The built-in emulated pump and balance: a deterministic discrete-event model served over ptys.

#[cfg(test)]
mod alarm_tests;
mod alarms;
pub mod balance;
mod battery;
pub mod config;
mod delivery;
pub mod device;
#[cfg(test)]
mod device_tests;
pub mod link_faults;
pub mod server;
pub mod weighings;

pub use device::Device;
pub use server::TimeMode;

use crate::link::pty::PtyPair;
use crate::link::{BoxLink, LinkError};
use config::EmulatorConfig;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::task::JoinHandle;

/// A running in-process emulator. Dropping it closes both masters: clients see a hang-up.
pub struct EmulatorHandle {
    pub pump_port: PathBuf,
    pub balance_port: PathBuf,
    pub device: Arc<Mutex<Device>>,
    tasks: Vec<JoinHandle<()>>,
    _slaves: Vec<OwnedFd>,
    /// Holds the stable port name of a pump that can be unplugged; removed on drop.
    port_dir: Option<PathBuf>,
}

impl EmulatorHandle {
    /// Stops serving now (the masters close when the tasks end).
    pub fn shutdown(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }

    /// Resolves when both servers have ended (a client hang-up does not end them).
    pub async fn wait(&mut self) {
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.shutdown();
        if let Some(dir) = &self.port_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A directory for the stable name (`pump`, a symlink to the current pty) under which an
/// unpluggable pump comes back, as a USB adapter's /dev/serial/by-id name does.
fn stable_port_dir() -> Result<PathBuf, LinkError> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pumphil-emu-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| LinkError::Open {
        path: dir.display().to_string(),
        source,
        hint: "the emulator names an unpluggable port in the temporary directory: is it writable?",
    })?;
    Ok(dir)
}

/// Points `link` at `target`, replacing any old link in one step (rename is atomic).
fn point_link(link: &std::path::Path, target: &std::path::Path) -> std::io::Result<()> {
    let fresh = link.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    std::os::unix::fs::symlink(target, &fresh)?;
    std::fs::rename(&fresh, link)
}

/// Where an unplugged pump's port comes back: a new pty under the stable name, or a new
/// in-memory link handed to the client through a slot.
enum Replug {
    /// No stable name: an unplugged pty pump stays away.
    Never,
    Pty {
        stable: PathBuf,
        /// The new pty's slave, held open so its master reads no hang-up before a client opens it.
        slave: Option<OwnedFd>,
    },
    Memory(PumpSlot),
}

impl Replug {
    /// The port goes away with the cable: false when it can never come back.
    fn unplug(&mut self) -> bool {
        match self {
            Replug::Never => false,
            // An unplugged adapter's device node goes away with it.
            Replug::Pty { stable, .. } => {
                let _ = std::fs::remove_file(stable);
                true
            }
            Replug::Memory(_) => true,
        }
    }

    /// Plugs a new port in and returns the device's end of it.
    fn plug(&mut self) -> Option<BoxLink> {
        match self {
            Replug::Never => None,
            Replug::Pty { stable, slave } => {
                let (master, path, new_slave) = PtyPair::open().ok()?.into_parts();
                point_link(stable, &path).ok()?;
                *slave = Some(new_slave);
                Some(Box::new(master))
            }
            Replug::Memory(slot) => {
                let (client, device) = crate::link::memory::memory_pair();
                *slot.lock().ok()? = Some(client);
                Some(device)
            }
        }
    }
}

/// Serves the pump; after an injected unplug, on a new port (a pty under the same stable name,
/// or a new in-memory link), with the same protocol session (its retry cache survives the cable).
async fn serve_pump_replugging(
    first: BoxLink,
    mut replug: Replug,
    device: Arc<Mutex<Device>>,
    time_mode: TimeMode,
) {
    let mut session = server::Session::new(device.clone(), time_mode);
    let mut faults = server::injector_for(&device);
    let mut link = first;
    loop {
        match server::serve_pump_with_faults(link, &mut session, &mut faults).await {
            Ok(server::Ended::Unplugged(away)) => {
                if !replug.unplug() {
                    return;
                }
                tokio::time::sleep(away).await;
                match replug.plug() {
                    Some(next) => link = next,
                    None => return,
                }
            }
            _ => return,
        }
    }
}

/// The device as serving finds it: its clock at the configured start (`clock.starts_at_ms`,
/// a pump switched on before the host connects). In real time the server's clock adds it.
fn switched_on(config: EmulatorConfig, realtime: bool) -> Arc<Mutex<Device>> {
    let starts_at_ms = config.clock.starts_at_ms;
    let mut device = Device::new(config);
    if !realtime {
        device.advance_to(starts_at_ms);
    }
    Arc::new(Mutex::new(device))
}

fn mode(realtime: bool) -> TimeMode {
    if realtime {
        TimeMode::RealTime(Instant::now())
    } else {
        TimeMode::Virtual
    }
}

/// Starts an emulator on two new pseudo-terminals (pump, balance) served by tokio tasks.
pub async fn spawn_on_ptys(
    config: EmulatorConfig,
    realtime: bool,
) -> Result<EmulatorHandle, LinkError> {
    let unpluggable = config.link.unplug_at_ms.is_some();
    let device = switched_on(config, realtime);
    let (pump_master, pts_port, pump_slave) = PtyPair::open()?.into_parts();
    let (pump_port, port_dir, stable) = if unpluggable {
        let dir = stable_port_dir()?;
        let stable = dir.join("pump");
        point_link(&stable, &pts_port).map_err(|source| LinkError::Open {
            path: stable.display().to_string(),
            source,
            hint: "the emulator names an unpluggable port in the temporary directory: is it writable?",
        })?;
        (stable.clone(), Some(dir), Some(stable))
    } else {
        (pts_port, None, None)
    };
    let (balance_master, balance_port, balance_slave) = PtyPair::open()?.into_parts();
    let time_mode = mode(realtime);
    // A client that closes its end leaves the master waiting for the next one (EIO is "no peer").
    let tasks = vec![
        tokio::spawn({
            let device = device.clone();
            async move {
                let replug = match stable {
                    Some(stable) => Replug::Pty {
                        stable,
                        slave: None,
                    },
                    None => Replug::Never,
                };
                serve_pump_replugging(Box::new(pump_master), replug, device, time_mode).await;
            }
        }),
        tokio::spawn({
            let device = device.clone();
            async move {
                let _ = balance::serve_balance(Box::new(balance_master), device, realtime).await;
            }
        }),
    ];
    Ok(EmulatorHandle {
        pump_port,
        balance_port,
        device,
        tasks,
        _slaves: vec![pump_slave, balance_slave],
        port_dir,
    })
}

/// Where the client takes a pump's new in-memory link after an injected unplug (empty while
/// the pump is away).
pub type PumpSlot = Arc<Mutex<Option<BoxLink>>>;

/// The client's ends of an emulator reached over in-memory links.
pub struct InMemoryPorts {
    pub pump: BoxLink,
    pub balance: BoxLink,
    /// Where the pump's link comes back after an injected unplug.
    pub pump_replugged: PumpSlot,
}

/// Starts an emulator reached over in-memory links (`run --link memory`, for long soaks): the
/// same device and servers as on ptys, without a file descriptor between them and the client,
/// so nothing of a serial path is exercised. The handle's ports read `in-memory link`.
pub fn spawn_in_memory(config: EmulatorConfig, realtime: bool) -> (EmulatorHandle, InMemoryPorts) {
    let device = switched_on(config, realtime);
    let (pump_client, pump_device) = crate::link::memory::memory_pair();
    let (balance_client, balance_device) = crate::link::memory::memory_pair();
    let slot: PumpSlot = Arc::new(Mutex::new(None));
    let time_mode = mode(realtime);
    let tasks = vec![
        tokio::spawn({
            let device = device.clone();
            let replug = Replug::Memory(slot.clone());
            async move {
                serve_pump_replugging(pump_device, replug, device, time_mode).await;
            }
        }),
        tokio::spawn({
            let device = device.clone();
            async move {
                let _ = balance::serve_balance(balance_device, device, realtime).await;
            }
        }),
    ];
    let handle = EmulatorHandle {
        pump_port: PathBuf::from(IN_MEMORY_PORT),
        balance_port: PathBuf::from(IN_MEMORY_PORT),
        device,
        tasks,
        _slaves: Vec::new(),
        port_dir: None,
    };
    let ports = InMemoryPorts {
        pump: pump_client,
        balance: balance_client,
        pump_replugged: slot,
    };
    (handle, ports)
}

/// The port name recorded for a device reached over an in-memory link.
pub const IN_MEMORY_PORT: &str = "in-memory link";

fn bind_failed(address: &str, source: std::io::Error) -> LinkError {
    LinkError::Open {
        path: address.to_string(),
        source,
        hint: "give a free HOST:PORT (port 0 picks one; the address served is printed)",
    }
}

/// Serves the pump to one TCP client at a time, with one protocol session across connections
/// (a re-sent request after a reconnection is answered from the cache). A new connection
/// replaces the current one, as a replugged cable does.
async fn serve_pump_tcp(
    listener: tokio::net::TcpListener,
    device: Arc<Mutex<Device>>,
    mode: TimeMode,
) {
    let mut session = server::Session::new(device.clone(), mode);
    let mut faults = server::injector_for(&device);
    let Ok((mut stream, _)) = listener.accept().await else {
        return;
    };
    loop {
        let _ = stream.set_nodelay(true);
        let ended = tokio::select! {
            ended = server::serve_pump_with_faults(Box::new(stream), &mut session, &mut faults) => Some(ended),
            next = listener.accept() => match next {
                Ok((next, _)) => {
                    stream = next;
                    continue;
                }
                Err(_) => return,
            },
        };
        if let Some(Ok(server::Ended::Unplugged(away))) = ended {
            tokio::time::sleep(away).await;
        }
        stream = match listener.accept().await {
            Ok((next, _)) => next,
            Err(_) => return,
        };
    }
}

/// Serves the balance to one TCP client at a time; a new connection replaces the current one.
async fn serve_balance_tcp(
    listener: tokio::net::TcpListener,
    device: Arc<Mutex<Device>>,
    realtime: bool,
) {
    let Ok((mut stream, _)) = listener.accept().await else {
        return;
    };
    loop {
        tokio::select! {
            _ = balance::serve_balance(Box::new(stream), device.clone(), realtime) => {
                stream = match listener.accept().await {
                    Ok((next, _)) => next,
                    Err(_) => return,
                };
            }
            next = listener.accept() => match next {
                Ok((next, _)) => stream = next,
                Err(_) => return,
            },
        }
    }
}

/// Serves the pump (and the balance) on TCP (`pumphil emulate --tcp HOST:PORT
/// [--balance-tcp HOST:PORT]`); the handle's ports are the `tcp://` addresses bound.
pub async fn serve_tcp(
    config: EmulatorConfig,
    pump_address: &str,
    balance_address: Option<&str>,
    realtime: bool,
) -> Result<EmulatorHandle, LinkError> {
    let device = switched_on(config, realtime);
    let bind = |address: &str| {
        let address = address.to_string();
        async move {
            let listener = tokio::net::TcpListener::bind(&address)
                .await
                .map_err(|e| bind_failed(&address, e))?;
            let local = listener
                .local_addr()
                .map_err(|e| bind_failed(&address, e))?;
            Ok::<_, LinkError>((listener, PathBuf::from(format!("tcp://{local}"))))
        }
    };
    let (pump_listener, pump_port) = bind(pump_address).await?;
    let mut tasks = vec![tokio::spawn(serve_pump_tcp(
        pump_listener,
        device.clone(),
        mode(realtime),
    ))];
    let mut balance_port = PathBuf::new();
    if let Some(address) = balance_address {
        let (listener, port) = bind(address).await?;
        balance_port = port;
        tasks.push(tokio::spawn(serve_balance_tcp(
            listener,
            device.clone(),
            realtime,
        )));
    }
    Ok(EmulatorHandle {
        pump_port,
        balance_port,
        device,
        tasks,
        _slaves: Vec::new(),
        port_dir: None,
    })
}

/// Serves existing ttys (`pumphil emulate --port PATH [--balance-port PATH]`).
pub async fn serve_ports(
    config: EmulatorConfig,
    pump_port: &str,
    balance_port: Option<&str>,
    realtime: bool,
) -> Result<EmulatorHandle, LinkError> {
    use crate::link::endpoint::open;
    use crate::link::serial::SerialSettings;
    let device = switched_on(config, realtime);
    let time_mode = mode(realtime);
    let pump_link = open(&SerialSettings::pump(pump_port)).await?;
    let mut tasks = vec![tokio::spawn({
        let device = device.clone();
        async move {
            let _ = server::serve_pump(pump_link, device, time_mode).await;
        }
    })];
    if let Some(path) = balance_port {
        let link = open(&SerialSettings::balance(path)).await?;
        let device = device.clone();
        tasks.push(tokio::spawn(async move {
            let _ = balance::serve_balance(link, device, realtime).await;
        }));
    }
    Ok(EmulatorHandle {
        pump_port: PathBuf::from(pump_port),
        balance_port: balance_port.map(PathBuf::from).unwrap_or_default(),
        device,
        tasks,
        _slaves: Vec::new(),
        port_dir: None,
    })
}
