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

pub use device::Device;
pub use server::TimeMode;

use crate::link::pty::PtyPair;
use crate::link::LinkError;
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
    }
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
    let device = Arc::new(Mutex::new(Device::new(config)));
    let (pump_master, pump_port, pump_slave) = PtyPair::open()?.into_parts();
    let (balance_master, balance_port, balance_slave) = PtyPair::open()?.into_parts();
    let time_mode = mode(realtime);
    // A client that closes its end leaves the master waiting for the next one (EIO is "no peer").
    let tasks = vec![
        tokio::spawn({
            let device = device.clone();
            async move {
                let _ = server::serve_pump(Box::new(pump_master), device, time_mode).await;
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
    })
}

/// Serves existing ttys (`pumphil emulate --port PATH [--balance-port PATH]`).
pub async fn serve_ports(
    config: EmulatorConfig,
    pump_port: &str,
    balance_port: Option<&str>,
    realtime: bool,
) -> Result<EmulatorHandle, LinkError> {
    use crate::link::serial::{open_serial, SerialSettings};
    let device = Arc::new(Mutex::new(Device::new(config)));
    let time_mode = mode(realtime);
    let pump_link = open_serial(&SerialSettings::pump(pump_port))?;
    let mut tasks = vec![tokio::spawn({
        let device = device.clone();
        async move {
            let _ = server::serve_pump(pump_link, device, time_mode).await;
        }
    })];
    if let Some(path) = balance_port {
        let link = open_serial(&SerialSettings::balance(path))?;
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
    })
}
