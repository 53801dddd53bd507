//! A serial port behind an RFC 2217 server (ser2net in telnet/rfc2217 mode): a TCP connection
//! that carries data binary-safe (IAC doubled) and sets the remote port's line settings.
//!
//! At connect the client asks for binary both ways and the COM port option, sends baud, data
//! size, parity, stop size and flow control and waits for each to be acknowledged with the
//! value asked for. DTR and RTS are then raised (a local port raises them on open) and both
//! buffers purged; those answers are not waited for: a server serving a pseudo-terminal cannot
//! set modem lines and may never answer them. docs/endpoints.md lists the bytes.

use super::serial::SerialSettings as LineSettings;
use super::telnet::{self, com, Command, Decoder, Negotiator};
use super::LinkError;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How long the server may take to agree to the COM port option and to each setting.
pub const NEGOTIATION_TIMEOUT: Duration = Duration::from_secs(3);

pub struct Rfc2217Link {
    stream: TcpStream,
    decoder: Decoder,
    negotiator: Negotiator,
    /// Data received and not yet read.
    incoming: Vec<u8>,
    /// Telnet bytes (answers, or the tail of an escaped 0xFF) not yet on the wire.
    outgoing: Vec<u8>,
    /// The last value the server reported for each COM port request; SET-CONTROL's flow
    /// control setting is kept apart from its modem-line answers.
    replies: HashMap<u8, Vec<u8>>,
    flow_reply: Option<u8>,
}

impl Rfc2217Link {
    fn new(stream: TcpStream) -> Rfc2217Link {
        Rfc2217Link {
            stream,
            decoder: Decoder::default(),
            negotiator: Negotiator::default(),
            incoming: Vec::new(),
            outgoing: Vec::new(),
            replies: HashMap::new(),
            flow_reply: None,
        }
    }

    /// Writes out what is waiting in `outgoing`.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.outgoing.is_empty() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.outgoing))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.outgoing.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// Reads one chunk from the socket and decodes it; Ok(0) when the server closed.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut raw = [0u8; 4096];
        let mut buf = ReadBuf::new(&mut raw);
        ready!(Pin::new(&mut self.stream).poll_read(cx, &mut buf))?;
        let bytes = buf.filled();
        for command in self.decoder.push(bytes, &mut self.incoming) {
            match command {
                Command::Negotiation { verb, option } => {
                    let answer = self.negotiator.answer(verb, option);
                    self.outgoing.extend(answer);
                }
                Command::Subnegotiation { option, payload } => {
                    if let Some(reply) = telnet::com_reply(option, &payload) {
                        match (reply.request, reply.value.as_slice()) {
                            (com::SET_CONTROL, &[v]) if v <= com::CONTROL_HARDWARE => {
                                self.flow_reply = Some(v)
                            }
                            (com::SET_CONTROL, _) => {}
                            (request, value) => {
                                self.replies.insert(request, value.to_vec());
                            }
                        }
                    }
                }
                Command::Other(_) => {}
            }
        }
        Poll::Ready(Ok(bytes.len()))
    }

    async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            let _ = self.poll_drain(cx)?;
            self.poll_fill(cx)
        })
        .await
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.outgoing.extend(bytes);
        std::future::poll_fn(|cx| self.poll_drain(cx)).await
    }

    /// Reads until `done` holds, the server closes, or the timeout passes (then `Ok(false)`).
    async fn wait_for(&mut self, done: impl Fn(&Rfc2217Link) -> bool) -> io::Result<bool> {
        let deadline = tokio::time::Instant::now() + NEGOTIATION_TIMEOUT;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.fill()).await {
                Err(_) => return Ok(false),
                Ok(Ok(0)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(read) => {
                    read?;
                }
            }
        }
        Ok(true)
    }
}

/// The settings as RFC 2217 requests: (request, value) in the order they are sent.
pub fn setting_requests(line: &LineSettings) -> Vec<(u8, Vec<u8>)> {
    vec![
        (com::SET_BAUDRATE, line.baud.to_be_bytes().to_vec()),
        (com::SET_DATASIZE, vec![line.data_bits]),
        (
            com::SET_PARITY,
            vec![match line.parity.as_str() {
                "odd" => 2,
                "even" => 3,
                _ => 1,
            }],
        ),
        (com::SET_STOPSIZE, vec![line.stop_bits]),
    ]
}

fn flow_value(line: &LineSettings) -> u8 {
    match line.flow_control.as_str() {
        "software" => com::CONTROL_XON_XOFF,
        "hardware" => com::CONTROL_HARDWARE,
        _ => com::CONTROL_NO_FLOW,
    }
}

fn setting_name(request: u8) -> &'static str {
    match request {
        com::SET_BAUDRATE => "baud",
        com::SET_DATASIZE => "data_bits",
        com::SET_PARITY => "parity",
        com::SET_STOPSIZE => "stop_bits",
        _ => "flow_control",
    }
}

const CLOSED_DURING_SETUP: &str = "the RFC 2217 server closed the connection while the port was being set up; is another client connected (ser2net serves one at a time unless kickolduser is set)?";

/// Connects to an RFC 2217 server and sets up its port; `address` is `host:port`.
pub async fn connect(
    address: &str,
    endpoint: &str,
    line: &LineSettings,
) -> Result<Rfc2217Link, LinkError> {
    let stream = super::tcp::connect_stream(address, endpoint).await?;
    let mut link = Rfc2217Link::new(stream);
    let failed = |e: io::Error| LinkError::Network {
        endpoint: endpoint.to_string(),
        source: e,
        hint: CLOSED_DURING_SETUP,
    };
    let refused = |what: String| LinkError::Rfc2217 {
        endpoint: endpoint.to_string(),
        what,
    };
    let opening = link.negotiator.opening();
    link.send(&opening).await.map_err(failed)?;
    if !link
        .wait_for(|l| l.negotiator.com_port().is_some())
        .await
        .map_err(failed)?
    {
        return Err(refused(format!(
            "the server did not answer the COM port option (44) within {NEGOTIATION_TIMEOUT:?}"
        )));
    }
    if link.negotiator.com_port() == Some(false) {
        return Err(refused(
            "the server refused the COM port option (44): it is not an RFC 2217 server".into(),
        ));
    }
    let requests = setting_requests(line);
    let flow = flow_value(line);
    let mut wire = Vec::new();
    for (request, value) in &requests {
        wire.extend(telnet::com_port(*request, value));
    }
    wire.extend(telnet::com_port(com::SET_CONTROL, &[flow]));
    link.send(&wire).await.map_err(failed)?;
    link.wait_for(|l| {
        l.flow_reply.is_some() && requests.iter().all(|(r, _)| l.replies.contains_key(r))
    })
    .await
    .map_err(failed)?;
    for (request, value) in &requests {
        match link.replies.get(request) {
            Some(got) if got == value => {}
            Some(got) => {
                return Err(refused(format!(
                    "the server set {} to {got:?} when asked for {value:?}",
                    setting_name(*request)
                )))
            }
            None => {
                return Err(refused(format!(
                    "the server did not acknowledge {} within {NEGOTIATION_TIMEOUT:?}",
                    setting_name(*request)
                )))
            }
        }
    }
    match link.flow_reply {
        Some(got) if got == flow => {}
        Some(got) => {
            return Err(refused(format!(
                "the server set flow_control to {got} when asked for {flow} ({})",
                line.flow_control
            )))
        }
        None => {
            return Err(refused(format!(
                "the server did not acknowledge flow_control within {NEGOTIATION_TIMEOUT:?}"
            )))
        }
    }
    // Not waited for: a pty behind the server cannot set modem lines and may stay silent.
    let mut wire = Vec::new();
    wire.extend(telnet::com_port(com::SET_CONTROL, &[com::CONTROL_DTR_ON]));
    wire.extend(telnet::com_port(com::SET_CONTROL, &[com::CONTROL_RTS_ON]));
    wire.extend(telnet::com_port(com::PURGE_DATA, &[com::PURGE_BOTH]));
    link.send(&wire).await.map_err(failed)?;
    // Bytes the port held before we set it up belong to no request of ours.
    link.incoming.clear();
    Ok(link)
}

impl AsyncRead for Rfc2217Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.incoming.is_empty() {
                let n = this.incoming.len().min(buf.remaining());
                buf.put_slice(&this.incoming[..n]);
                this.incoming.drain(..n);
                return Poll::Ready(Ok(()));
            }
            // Negotiation answers go out as soon as they are due, even if nothing is written.
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            if ready!(this.poll_fill(cx))? == 0 {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl AsyncWrite for Rfc2217Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if data[0] == telnet::IAC {
            // The doubled 0xFF goes out whole, or its second half waits in `outgoing` (it
            // leaves before any later byte: every write drains first).
            let n = ready!(Pin::new(&mut this.stream).poll_write(cx, &[telnet::IAC, telnet::IAC]))?;
            return match n {
                0 => Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                1 => {
                    this.outgoing.push(telnet::IAC);
                    Poll::Ready(Ok(1))
                }
                _ => Poll::Ready(Ok(1)),
            };
        }
        let plain = data
            .iter()
            .position(|&b| b == telnet::IAC)
            .unwrap_or(data.len());
        Pin::new(&mut this.stream).poll_write(cx, &data[..plain])
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::telnet::{com_port, negotiation, DO, DONT, OPT_COM_PORT, WILL};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// How the fake server behaves.
    #[derive(Clone, Copy)]
    enum Server {
        /// Acknowledges the line settings and flow control, never modem lines or purges (as
        /// a server on a pseudo-terminal may), and echoes data.
        SilentOnModemLines,
        /// Sets 9600 baud whatever is asked.
        FixedBaud,
        /// Refuses the COM port option.
        NotRfc2217,
    }

    async fn fake_server(behaviour: Server) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut decoder = Decoder::default();
            let mut buf = [0u8; 1024];
            loop {
                let Ok(n) = stream.read(&mut buf).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                let mut data = Vec::new();
                let mut out = Vec::new();
                for command in decoder.push(&buf[..n], &mut data) {
                    match (behaviour, command) {
                        (Server::NotRfc2217, Command::Negotiation { verb: WILL, option }) => {
                            out.extend(negotiation(DONT, option))
                        }
                        (_, Command::Negotiation { verb: WILL, option }) => {
                            out.extend(negotiation(DO, option))
                        }
                        (_, Command::Subnegotiation { option, payload }) => {
                            assert_eq!(option, OPT_COM_PORT);
                            let (request, value) = (payload[0], &payload[1..]);
                            let silent = request == com::PURGE_DATA
                                || (request == com::SET_CONTROL && value[0] > 3);
                            let value = match (behaviour, request) {
                                (Server::FixedBaud, com::SET_BAUDRATE) => {
                                    9600u32.to_be_bytes().to_vec()
                                }
                                _ => value.to_vec(),
                            };
                            if !silent {
                                out.extend(com_port(request + com::SERVER_OFFSET, &value));
                            }
                        }
                        _ => {}
                    }
                }
                out.extend(telnet::escape(&data));
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
        address
    }

    fn settings(address: &str) -> LineSettings {
        LineSettings::pump(&format!("rfc2217://{address}"))
    }

    #[tokio::test]
    async fn unanswered_modem_line_and_purge_requests_do_not_fail_the_connection() {
        let address = fake_server(Server::SilentOnModemLines).await;
        let mut link = connect(&address, "test", &settings(&address))
            .await
            .expect("connected although DTR, RTS and the purge were never answered");
        let bytes = [0x7E, 0xFF, 0x00, 0xFF, 0xFF, 0x01];
        link.write_all(&bytes).await.unwrap();
        let mut echoed = [0u8; 6];
        tokio::time::timeout(Duration::from_secs(2), link.read_exact(&mut echoed))
            .await
            .expect("echo within 2 s")
            .unwrap();
        assert_eq!(echoed, bytes);
    }

    #[tokio::test]
    async fn a_setting_the_server_does_not_take_is_refused_naming_it() {
        let address = fake_server(Server::FixedBaud).await;
        let Err(err) = connect(&address, "rfc2217://x", &settings(&address)).await else {
            panic!("connected at the wrong baud rate");
        };
        let text = err.to_string();
        assert!(
            text.contains("baud") && text.contains("rfc2217://x"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_server_that_refuses_the_com_port_option_is_not_rfc2217() {
        let address = fake_server(Server::NotRfc2217).await;
        let Err(err) = connect(&address, "rfc2217://x", &settings(&address)).await else {
            panic!("connected without the COM port option");
        };
        let text = err.explained();
        assert!(
            text.contains("not an RFC 2217 server") && text.contains("tcp://"),
            "{text}"
        );
    }

    #[test]
    fn settings_become_rfc2217_values() {
        let mut line = LineSettings::balance("x");
        line.parity = "even".into();
        line.stop_bits = 2;
        line.data_bits = 7;
        assert_eq!(
            setting_requests(&line),
            [
                (com::SET_BAUDRATE, vec![0, 0, 0x25, 0x80]),
                (com::SET_DATASIZE, vec![7]),
                (com::SET_PARITY, vec![3]),
                (com::SET_STOPSIZE, vec![2]),
            ]
        );
        line.flow_control = "hardware".into();
        assert_eq!(flow_value(&line), com::CONTROL_HARDWARE);
    }
}
