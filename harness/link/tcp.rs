//! Raw TCP serial servers (ser2net in raw mode, socat): the connection carries the port's bytes
//! unchanged, and the line settings are the server's own configuration.

use super::{BoxLink, LinkError};
use std::time::Duration;
use tokio::net::TcpStream;

/// How long a connection may take before the server counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to `address` (`host:port`); `endpoint` is the text the user wrote, for messages.
pub async fn connect_stream(address: &str, endpoint: &str) -> Result<TcpStream, LinkError> {
    let failed = |source: std::io::Error| {
        LinkError::Network {
        endpoint: endpoint.to_string(),
        source,
        hint: "is the serial server running and listening on that port, and reachable from here (firewall)?",
    }
    };
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(connected) => connected.map_err(failed)?,
        Err(_) => {
            return Err(failed(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection within {CONNECT_TIMEOUT:?}"),
            )))
        }
    };
    // Frames are small and answered one at a time: Nagle's delay would only add latency.
    stream.set_nodelay(true).map_err(failed)?;
    Ok(stream)
}

/// A raw TCP connection as a link.
pub async fn connect(address: &str, endpoint: &str) -> Result<BoxLink, LinkError> {
    Ok(Box::new(connect_stream(address, endpoint).await?))
}
