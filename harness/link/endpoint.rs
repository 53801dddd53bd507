//! Where a device is reached: a local device path, `tcp://host:port` (a raw TCP serial server)
//! or `rfc2217://host:port` (a Telnet COM port server). The endpoint is a resource, as in
//! labgrid: its address and line settings ([`SerialSettings`]); drivers only ever see the link.

use super::serial::{open_serial, SerialSettings};
use super::{BoxLink, LinkError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A serial device or a pseudo-terminal's slave, by path.
    Device(String),
    /// `host:port` of a raw TCP serial server.
    Tcp(String),
    /// `host:port` of an RFC 2217 server.
    Rfc2217(String),
}

const FORMS: &str = "write a device path (/dev/ttyUSB0), tcp://host:port or rfc2217://host:port";

impl Address {
    /// Parses what a bench file or `--port` says.
    pub fn parse(text: &str) -> Result<Address, LinkError> {
        let bad = |hint: String| LinkError::Address {
            text: text.to_string(),
            hint,
        };
        if text.trim().is_empty() {
            return Err(bad(format!("the port is empty: {FORMS}")));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Address::Device(text.to_string()));
        };
        let address = rest.trim_end_matches('/');
        let port_ok = address.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            return Err(bad(format!(
                "{scheme}:// needs a host and a port number, e.g. {scheme}://192.168.1.20:3001"
            )));
        }
        match scheme {
            "tcp" => Ok(Address::Tcp(address.to_string())),
            "rfc2217" => Ok(Address::Rfc2217(address.to_string())),
            other => Err(bad(format!("unknown scheme {other}://: {FORMS}"))),
        }
    }
}

/// Opens the endpoint `settings.path` names with its line settings. Over raw TCP the settings
/// are the server's business; over RFC 2217 they are sent to it; locally they are applied.
/// Needs a tokio runtime.
pub async fn open(settings: &SerialSettings) -> Result<BoxLink, LinkError> {
    match Address::parse(&settings.path)? {
        Address::Device(_) => open_serial(settings),
        Address::Tcp(address) => super::tcp::connect(&address, &settings.path).await,
        Address::Rfc2217(address) => {
            settings.check()?;
            let link = super::rfc2217::connect(&address, &settings.path, settings).await?;
            Ok(Box::new(link))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse_and_mistakes_say_how_to_write_them() {
        assert_eq!(
            Address::parse("/dev/ttyUSB0").unwrap(),
            Address::Device("/dev/ttyUSB0".into())
        );
        assert_eq!(
            Address::parse("tcp://127.0.0.1:3001").unwrap(),
            Address::Tcp("127.0.0.1:3001".into())
        );
        assert_eq!(
            Address::parse("rfc2217://bench-7.lab:4001/").unwrap(),
            Address::Rfc2217("bench-7.lab:4001".into())
        );
        assert_eq!(
            Address::parse("tcp://[::1]:3001").unwrap(),
            Address::Tcp("[::1]:3001".into())
        );
        for (text, expected) in [
            ("", "empty"),
            ("  ", "empty"),
            ("tcp://127.0.0.1", "needs a host and a port"),
            ("tcp://:3001", "needs a host and a port"),
            ("rfc2217://host:99999", "needs a host and a port"),
            ("telnet://host:23", "unknown scheme telnet://"),
        ] {
            let err = Address::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_names_the_endpoint() {
        // Bind then drop: the port is free and nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("tcp://127.0.0.1:{port}");
        let Err(err) = open(&SerialSettings::pump(&endpoint)).await else {
            panic!("connected to a port nobody listens on");
        };
        let text = err.explained();
        assert!(
            text.contains(&endpoint) && text.contains("serial server"),
            "{text}"
        );
    }
}
