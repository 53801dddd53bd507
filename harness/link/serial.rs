//! Real serial ports (and pty slaves, which look like one) through tokio-serial.

use super::{BoxLink, LinkError};
use serde::Deserialize;
use tokio_serial::{DataBits, FlowControl, Parity, SerialPortBuilderExt, StopBits};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialSettings {
    pub path: String,
    pub baud: u32,
    pub data_bits: u8,
    /// "none", "odd" or "even".
    pub parity: String,
    pub stop_bits: u8,
    /// "none", "software" or "hardware".
    pub flow_control: String,
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
        }
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
    ) -> Result<(), String> {
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
        self.parsed().map(|_| ()).map_err(|e| e.to_string())
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

/// Opens a serial port (or a pty slave) as a link. Needs a tokio runtime.
pub fn open_serial(settings: &SerialSettings) -> Result<BoxLink, LinkError> {
    let (data, parity, stop, flow) = settings.parsed()?;
    let mut port = tokio_serial::new(&settings.path, settings.baud)
        .data_bits(data)
        .parity(parity)
        .stop_bits(stop)
        .flow_control(flow)
        .open_native_async()
        .map_err(|e| LinkError::Open {
            path: settings.path.clone(),
            source: e.into(),
            hint: "check the path (`pumphil ports` lists ports; `pumphil emulate --pty` prints the emulator's), that no other program holds it, and your permissions (dialout group)",
        })?;
    // Exclusive access protects a bench from a second harness; ptys may refuse it, which is fine.
    let _ = port.set_exclusive(false);
    Ok(Box::new(port))
}
