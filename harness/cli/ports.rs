//! `pumphil ports`: lists serial ports for a bench (pseudo-terminals are not serial ports).

use super::exit;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct PortsArgs {}

/// Device-name prefixes of USB and on-board serial adapters, for the /dev scan fallback.
/// ttyS* is left out: Linux creates ttyS0..ttyS31 whether or not a UART is behind them.
const SERIAL_PREFIXES: &[&str] = &["ttyUSB", "ttyACM", "ttyAMA", "ttyXRUSB", "rfcomm"];

/// Ports as `(path, description)`: serialport's sysfs scan where /sys is there (it has no
/// libudev here), else a scan of /dev by name.
pub fn list_ports() -> Result<Vec<(String, String)>, String> {
    // serialport panics if /sys/class/tty is missing (some containers): look first.
    if Path::new("/sys/class/tty").is_dir() {
        let ports = serialport::available_ports().map_err(|e| e.to_string())?;
        if !ports.is_empty() {
            return Ok(ports
                .into_iter()
                .map(|p| (p.port_name, describe(&p.port_type)))
                .collect());
        }
    }
    scan_dev(Path::new("/dev")).map_err(|e| format!("cannot read /dev: {e}"))
}

fn describe(kind: &serialport::SerialPortType) -> String {
    match kind {
        serialport::SerialPortType::UsbPort(usb) => format!(
            "USB {:04x}:{:04x} {} {}{}",
            usb.vid,
            usb.pid,
            usb.manufacturer.as_deref().unwrap_or(""),
            usb.product.as_deref().unwrap_or(""),
            usb.serial_number
                .as_deref()
                .map(|s| format!(" (serial {s})"))
                .unwrap_or_default()
        ),
        serialport::SerialPortType::PciPort => "PCI".into(),
        serialport::SerialPortType::BluetoothPort => "Bluetooth".into(),
        serialport::SerialPortType::Unknown => "serial".into(),
    }
}

fn scan_dev(dev: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(dev)?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| SERIAL_PREFIXES.iter().any(|p| name.starts_with(p)))
        .map(|name| (dev.join(name).display().to_string(), "found in /dev".into()))
        .collect();
    found.sort();
    Ok(found)
}

pub fn run(_: &PortsArgs) -> u8 {
    let ports = match list_ports() {
        Ok(p) => p,
        Err(e) => {
            super::print_error(
                "ports::list",
                format!("cannot list serial ports: {e}"),
                Some("pass the port you know with --port; `ls /dev/ttyUSB* /dev/ttyACM*` shows USB adapters"),
            );
            return exit::INFRASTRUCTURE;
        }
    };
    if ports.is_empty() {
        writeln!(super::out::stdout(), "no serial ports found");
    }
    for (path, description) in &ports {
        writeln!(super::out::stdout(), "{path:<20} {description}");
    }
    writeln!(
        super::out::stdout(),
        "(pseudo-terminals are not listed: `pumphil emulate --pty` prints the emulator's)"
    );
    exit::PASSED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_scan_keeps_serial_adapters_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["ttyUSB0", "ttyACM1", "ttyS0", "tty1", "null", "ttyAMA0"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let names: Vec<String> = scan_dev(dir.path())
            .unwrap()
            .into_iter()
            .map(|(path, _)| path.rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(names, vec!["ttyACM1", "ttyAMA0", "ttyUSB0"]);
    }
}
