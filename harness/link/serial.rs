//! Real serial ports (and pty slaves, which look like one) through tokio-serial.

use super::{BoxLink, LinkError};
use serde::Deserialize;
use tokio_serial::{DataBits, FlowControl, Parity, SerialPortBuilderExt, StopBits};

/// An endpoint as a resource: where the device is and the line settings it is used at.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialSettings {
    /// A device path, `tcp://host:port` or `rfc2217://host:port` (see [`super::endpoint`]).
    pub path: String,
    pub baud: u32,
    pub data_bits: u8,
    /// "none", "odd" or "even".
    pub parity: String,
    pub stop_bits: u8,
    /// "none", "software" or "hardware".
    pub flow_control: String,
    /// Lock the port against other programs (TIOCEXCL and flock). Default: yes for real
    /// ports, no for pseudo-terminals (/dev/pts/*), whose emulator keeps the slave open so a
    /// crashed client's TIOCEXCL would lock every later client out.
    #[serde(default)]
    pub exclusive: Option<bool>,
}

impl SerialSettings {
    /// The pump link: 115200 8N1, no flow control.
    pub fn pump(path: &str) -> SerialSettings {
        SerialSettings {
            path: path.to_string(),
            baud: 115_200,
            data_bits: 8,
            parity: "none".into(),
            stop_bits: 1,
            flow_control: "none".into(),
            exclusive: None,
        }
    }

    pub fn wants_exclusive(&self) -> bool {
        self.exclusive
            .unwrap_or_else(|| !self.path.starts_with("/dev/pts/"))
    }

    /// MT-SICS balances default to 9600 8N1.
    pub fn balance(path: &str) -> SerialSettings {
        SerialSettings {
            baud: 9_600,
            ..SerialSettings::pump(path)
        }
    }

    /// Overrides from a bench file, checked.
    pub fn apply_text_options(
        &mut self,
        data_bits: Option<u8>,
        parity: Option<&str>,
        stop_bits: Option<u8>,
        flow: Option<&str>,
    ) -> Result<(), LinkError> {
        if let Some(v) = data_bits {
            self.data_bits = v;
        }
        if let Some(v) = parity {
            self.parity = v.to_string();
        }
        if let Some(v) = stop_bits {
            self.stop_bits = v;
        }
        if let Some(v) = flow {
            self.flow_control = v.to_string();
        }
        self.parsed().map(|_| ())
    }

    /// Whether every setting is one a port can take.
    pub fn check(&self) -> Result<(), LinkError> {
        self.parsed().map(|_| ())
    }

    fn parsed(&self) -> Result<(DataBits, Parity, StopBits, FlowControl), LinkError> {
        let bad = |setting, value: String, hint| LinkError::Setting {
            setting,
            value,
            hint,
        };
        let data = match self.data_bits {
            5 => DataBits::Five,
            6 => DataBits::Six,
            7 => DataBits::Seven,
            8 => DataBits::Eight,
            v => return Err(bad("data_bits", v.to_string(), "use 5, 6, 7 or 8")),
        };
        let parity = match self.parity.as_str() {
            "none" => Parity::None,
            "odd" => Parity::Odd,
            "even" => Parity::Even,
            v => return Err(bad("parity", v.to_string(), "use none, odd or even")),
        };
        let stop = match self.stop_bits {
            1 => StopBits::One,
            2 => StopBits::Two,
            v => return Err(bad("stop_bits", v.to_string(), "use 1 or 2")),
        };
        let flow = match self.flow_control.as_str() {
            "none" => FlowControl::None,
            "software" => FlowControl::Software,
            "hardware" => FlowControl::Hardware,
            v => {
                return Err(bad(
                    "flow_control",
                    v.to_string(),
                    "use none, software or hardware",
                ))
            }
        };
        Ok((data, parity, stop, flow))
    }
}

/// Opens a serial port (or a pty slave) as a link, in raw mode (serialport applies
/// cfmakeraw). Modem lines (DTR/RTS) are never touched: on a pty those calls fail with ENOTTY.
/// Needs a tokio runtime.
pub fn open_serial(settings: &SerialSettings) -> Result<BoxLink, LinkError> {
    let (data, parity, stop, flow) = settings.parsed()?;
    let open = |exclusive: bool| {
        tokio_serial::new(&settings.path, settings.baud)
            .data_bits(data)
            .parity(parity)
            .stop_bits(stop)
            .flow_control(flow)
            .exclusive(exclusive)
            .open_native_async()
    };
    let opened = match open(settings.wants_exclusive()) {
        // A port that cannot be locked (unsupported ioctl) is still usable; one that another
        // program has locked fails the second, shared open as well, so nothing is shared.
        Err(_) if settings.wants_exclusive() => open(false),
        other => other,
    };
    let port = opened.map_err(|e| LinkError::Open {
        path: settings.path.clone(),
        source: e.into(),
        hint: "check the path (`pumphil ports` lists ports; `pumphil emulate --pty` prints the emulator's: is it running?), that no other program holds it, and your permissions (dialout group)",
    })?;
    Ok(Box::new(port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_per_device_and_exclusivity_by_path() {
        let pump = SerialSettings::pump("/dev/ttyUSB0");
        assert_eq!((pump.baud, pump.data_bits, pump.stop_bits), (115_200, 8, 1));
        assert!(pump.wants_exclusive());
        assert_eq!(SerialSettings::balance("/dev/ttyUSB1").baud, 9_600);
        assert!(!SerialSettings::pump("/dev/pts/3").wants_exclusive());
    }

    #[test]
    fn bench_file_settings_are_checked() {
        let parsed: SerialSettings = toml::from_str(
            "path = \"/dev/ttyUSB0\"\nbaud = 9600\ndata_bits = 7\nparity = \"even\"\nstop_bits = 1\nflow_control = \"none\"",
        )
        .unwrap();
        assert_eq!(parsed.parity, "even");
        assert!(toml::from_str::<SerialSettings>("path = \"x\"\nbaud = 1\nspeed = 2").is_err());
        let mut s = SerialSettings::balance("/dev/ttyUSB1");
        let err = s
            .apply_text_options(Some(9), None, None, None)
            .unwrap_err()
            .explained();
        assert!(err.contains("use 5, 6, 7 or 8"), "{err}");
        assert!(s
            .apply_text_options(None, Some("mark"), None, None)
            .is_err());
    }

    #[tokio::test]
    async fn a_missing_port_says_what_to_do() {
        let Err(err) = open_serial(&SerialSettings::pump("/dev/does-not-exist")) else {
            panic!("opened a port that does not exist");
        };
        let text = err.explained();
        assert!(
            text.contains("/dev/does-not-exist") && text.contains("pumphil ports"),
            "{text}"
        );
    }
}
