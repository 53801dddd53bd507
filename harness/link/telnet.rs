//! The Telnet byte codec and the RFC 2217 COM-PORT-OPTION messages, with no I/O: escaping data
//! (IAC doubling), splitting a received stream into data and Telnet commands, option
//! negotiation answers, and the COM port requests and replies.

/// Interpret As Command: every Telnet command starts with it; 0xFF in data is sent twice.
pub const IAC: u8 = 0xFF;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
/// Subnegotiation begin and end.
pub const SB: u8 = 250;
pub const SE: u8 = 240;

pub const OPT_BINARY: u8 = 0;
pub const OPT_ECHO: u8 = 1;
pub const OPT_SUPPRESS_GO_AHEAD: u8 = 3;
/// RFC 2217.
pub const OPT_COM_PORT: u8 = 44;

/// RFC 2217 client-to-server subcommands; the server answers with the same number plus 100.
pub mod com {
    pub const SET_BAUDRATE: u8 = 1;
    pub const SET_DATASIZE: u8 = 2;
    pub const SET_PARITY: u8 = 3;
    pub const SET_STOPSIZE: u8 = 4;
    pub const SET_CONTROL: u8 = 5;
    pub const PURGE_DATA: u8 = 12;
    pub const SERVER_OFFSET: u8 = 100;

    /// SET-CONTROL values.
    pub const CONTROL_NO_FLOW: u8 = 1;
    pub const CONTROL_XON_XOFF: u8 = 2;
    pub const CONTROL_HARDWARE: u8 = 3;
    pub const CONTROL_DTR_ON: u8 = 8;
    pub const CONTROL_RTS_ON: u8 = 11;
    /// PURGE-DATA value: both the receive and the transmit buffer.
    pub const PURGE_BOTH: u8 = 3;
}

/// Data bytes as they go on a Telnet connection: each 0xFF doubled.
pub fn escape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    escape_into(data, &mut out);
    out
}

fn escape_into(data: &[u8], out: &mut Vec<u8>) {
    for &b in data {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
}

/// A negotiation command: `IAC verb option`.
pub fn negotiation(verb: u8, option: u8) -> [u8; 3] {
    [IAC, verb, option]
}

/// A COM-PORT-OPTION subnegotiation: `IAC SB 44 command value… IAC SE`, the value escaped.
pub fn com_port(command: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![IAC, SB, OPT_COM_PORT, command];
    escape_into(value, &mut out);
    out.extend([IAC, SE]);
    out
}

/// Something other than data found in the received stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `IAC WILL/WONT/DO/DONT option`.
    Negotiation { verb: u8, option: u8 },
    /// `IAC SB option payload… IAC SE`, the payload unescaped.
    Subnegotiation { option: u8, payload: Vec<u8> },
    /// Any other two-byte command (NOP, AYT, GA, …): dropped from the data.
    Other(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    Verb(u8),
    Sub,
    SubIac,
}

/// Splits a received Telnet stream into data and commands; a command cut between two reads
/// is completed by the next.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
    sub: Vec<u8>,
}

/// A subnegotiation longer than this is not RFC 2217; its bytes are dropped, not buffered.
const MAX_SUBNEGOTIATION: usize = 64;

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            state: State::Data,
            sub: Vec::new(),
        }
    }
}

impl Decoder {
    /// Appends the data in `bytes` to `data` and returns the commands found among them.
    pub fn push(&mut self, bytes: &[u8], data: &mut Vec<u8>) -> Vec<Command> {
        let mut commands = Vec::new();
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, _) => {
                    data.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    data.push(IAC);
                    State::Data
                }
                (State::Iac, WILL | WONT | DO | DONT) => State::Verb(b),
                (State::Iac, SB) => {
                    self.sub.clear();
                    State::Sub
                }
                (State::Iac, _) => {
                    commands.push(Command::Other(b));
                    State::Data
                }
                (State::Verb(verb), option) => {
                    commands.push(Command::Negotiation { verb, option });
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => {
                    if self.sub.len() < MAX_SUBNEGOTIATION {
                        self.sub.push(b);
                    }
                    State::Sub
                }
                (State::SubIac, IAC) => {
                    if self.sub.len() < MAX_SUBNEGOTIATION {
                        self.sub.push(IAC);
                    }
                    State::Sub
                }
                (State::SubIac, SE) => {
                    if let Some((&option, payload)) = self.sub.split_first() {
                        commands.push(Command::Subnegotiation {
                            option,
                            payload: payload.to_vec(),
                        });
                    }
                    self.sub.clear();
                    State::Data
                }
                // IAC followed by anything else inside a subnegotiation: a broken peer. Give
                // up on the subnegotiation rather than swallow the data that follows.
                (State::SubIac, _) => {
                    self.sub.clear();
                    State::Data
                }
            };
        }
        commands
    }
}

/// The options this client agrees to: binary both ways (no CR/NUL stuffing), no go-ahead, and
/// the COM port option on our side (we are the client of RFC 2217).
fn we_will(option: u8) -> bool {
    matches!(option, OPT_BINARY | OPT_SUPPRESS_GO_AHEAD | OPT_COM_PORT)
}

fn they_may(option: u8) -> bool {
    // The server echoing would send our own frames back as if the device had sent them.
    matches!(option, OPT_BINARY | OPT_SUPPRESS_GO_AHEAD | OPT_COM_PORT)
}

/// Per-option negotiation state, after RFC 1143 in its simplest form: an answer is sent only
/// when the state changes, so two peers never loop answering each other.
#[derive(Debug, Clone)]
pub struct Negotiator {
    /// Our side of each option: None until negotiated.
    ours: [Option<bool>; 256],
    theirs: [Option<bool>; 256],
    /// Options we asked for and whose answer has not come yet.
    asked_ours: [bool; 256],
    asked_theirs: [bool; 256],
}

impl Default for Negotiator {
    fn default() -> Self {
        Negotiator {
            ours: [None; 256],
            theirs: [None; 256],
            asked_ours: [false; 256],
            asked_theirs: [false; 256],
        }
    }
}

impl Negotiator {
    /// What a client sends first: WILL/DO BINARY, WILL/DO SUPPRESS-GO-AHEAD, WILL COM-PORT.
    pub fn opening(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        for option in [OPT_BINARY, OPT_SUPPRESS_GO_AHEAD, OPT_COM_PORT] {
            self.asked_ours[option as usize] = true;
            out.extend(negotiation(WILL, option));
        }
        for option in [OPT_BINARY, OPT_SUPPRESS_GO_AHEAD] {
            self.asked_theirs[option as usize] = true;
            out.extend(negotiation(DO, option));
        }
        out
    }

    /// Whether the server agreed (DO) to our COM-PORT-OPTION: Some(false) if it refused.
    pub fn com_port(&self) -> Option<bool> {
        self.ours[OPT_COM_PORT as usize]
    }

    /// The answer to a negotiation from the server (empty when none is due).
    pub fn answer(&mut self, verb: u8, option: u8) -> Vec<u8> {
        let i = option as usize;
        let (state, asked, wanted, yes, no) = match verb {
            DO | DONT => (
                &mut self.ours[i],
                &mut self.asked_ours[i],
                we_will(option),
                WILL,
                WONT,
            ),
            WILL | WONT => (
                &mut self.theirs[i],
                &mut self.asked_theirs[i],
                they_may(option),
                DO,
                DONT,
            ),
            _ => return Vec::new(),
        };
        let enable = matches!(verb, DO | WILL);
        let was_asked = std::mem::replace(asked, false);
        let now = enable && wanted;
        if *state == Some(now) {
            return Vec::new();
        }
        let before = *state;
        *state = Some(now);
        if was_asked && enable == now {
            // The answer to our own request (agreed, or refused): nothing to acknowledge.
            return Vec::new();
        }
        if !enable && before != Some(true) {
            // A refusal of something that was never on needs no answer.
            return Vec::new();
        }
        negotiation(if now { yes } else { no }, option).to_vec()
    }
}

/// A COM-PORT-OPTION reply from the server: which request it answers and the value it set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComReply {
    pub request: u8,
    pub value: Vec<u8>,
}

/// A subnegotiation's payload as a COM port reply, if it is one.
pub fn com_reply(option: u8, payload: &[u8]) -> Option<ComReply> {
    let (&command, value) = payload.split_first()?;
    (option == OPT_COM_PORT && command > com::SERVER_OFFSET).then(|| ComReply {
        request: command - com::SERVER_OFFSET,
        value: value.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> (Vec<u8>, Vec<Command>) {
        let mut decoder = Decoder::default();
        let mut data = Vec::new();
        let mut commands = Vec::new();
        for chunk in chunks {
            commands.extend(decoder.push(chunk, &mut data));
        }
        (data, commands)
    }

    #[test]
    fn iac_is_doubled_and_undoubled() {
        assert_eq!(
            escape(&[1, 0xFF, 2, 0xFF, 0xFF]),
            [1, 0xFF, 0xFF, 2, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        let (data, commands) = decode_all(&[&[1, 0xFF, 0xFF, 2, 0xFF], &[0xFF]]);
        assert_eq!(data, [1, 0xFF, 2, 0xFF]);
        assert!(commands.is_empty());
    }

    #[test]
    fn commands_are_taken_out_of_the_data() {
        let mut wire = vec![b'a'];
        wire.extend(negotiation(WILL, OPT_ECHO));
        wire.push(b'b');
        wire.extend(com_port(com::SET_BAUDRATE + 100, &[0, 0, 0x25, 0x80]));
        wire.extend([IAC, 241, b'c']); // NOP
        let (data, commands) = decode_all(&[&wire]);
        assert_eq!(data, b"abc");
        assert_eq!(
            commands,
            [
                Command::Negotiation {
                    verb: WILL,
                    option: OPT_ECHO
                },
                Command::Subnegotiation {
                    option: OPT_COM_PORT,
                    payload: vec![101, 0, 0, 0x25, 0x80]
                },
                Command::Other(241),
            ]
        );
        let Command::Subnegotiation { option, payload } = &commands[1] else {
            unreachable!()
        };
        assert_eq!(
            com_reply(*option, payload),
            Some(ComReply {
                request: com::SET_BAUDRATE,
                value: vec![0, 0, 0x25, 0x80]
            })
        );
    }

    #[test]
    fn a_subnegotiation_value_may_contain_iac() {
        // 0xFF in a value (a baud rate of 255, say) is doubled inside the subnegotiation too.
        let wire = com_port(com::SET_BAUDRATE, &[0, 0, 0, 0xFF]);
        assert_eq!(wire, [IAC, SB, 44, 1, 0, 0, 0, 0xFF, 0xFF, IAC, SE]);
        let (data, commands) = decode_all(&[&wire[..5], &wire[5..]]);
        assert!(data.is_empty());
        assert_eq!(
            commands,
            [Command::Subnegotiation {
                option: 44,
                payload: vec![1, 0, 0, 0, 0xFF]
            }]
        );
    }

    #[test]
    fn negotiation_agrees_to_what_we_use_and_never_loops() {
        let mut n = Negotiator::default();
        let opening = n.opening();
        assert!(opening
            .windows(3)
            .any(|w| w == negotiation(WILL, OPT_COM_PORT)));
        // The server's answers to our own requests need no reply.
        assert!(n.answer(DO, OPT_COM_PORT).is_empty());
        assert_eq!(n.com_port(), Some(true));
        assert!(n.answer(WILL, OPT_BINARY).is_empty());
        // Asked again, already on: still no reply.
        assert!(n.answer(DO, OPT_COM_PORT).is_empty());
        // The server offers to echo: refused, once.
        assert_eq!(n.answer(WILL, OPT_ECHO), negotiation(DONT, OPT_ECHO));
        assert!(n.answer(WILL, OPT_ECHO).is_empty());
        // An unknown option asked of us: refused.
        assert_eq!(n.answer(DO, 24), negotiation(WONT, 24));
        // The server switches binary off: acknowledged.
        assert_eq!(n.answer(WONT, OPT_BINARY), negotiation(DONT, OPT_BINARY));
    }

    #[test]
    fn a_server_without_rfc2217_is_seen() {
        let mut n = Negotiator::default();
        n.opening();
        assert!(n.answer(DONT, OPT_COM_PORT).is_empty());
        assert_eq!(n.com_port(), Some(false));
    }

    /// Any stream of data, escaped, with commands put between its bytes.
    fn arb_command() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (
                prop::sample::select(vec![WILL, WONT, DO, DONT]),
                any::<u8>()
            )
                .prop_map(|(v, o)| negotiation(v, o).to_vec()),
            (100u8..=112, prop::collection::vec(any::<u8>(), 0..6))
                .prop_map(|(c, v)| com_port(c, &v)),
            (241u8..=249).prop_map(|c| vec![IAC, c]),
        ]
    }

    proptest! {
        #[test]
        fn any_bytes_survive_escaping_and_decoding(
            data in prop::collection::vec(any::<u8>(), 0..300),
            cut in 0usize..400,
        ) {
            let wire = escape(&data);
            let cut = cut.min(wire.len());
            let (decoded, commands) = decode_all(&[&wire[..cut], &wire[cut..]]);
            prop_assert_eq!(decoded, data);
            prop_assert!(commands.is_empty());
        }

        #[test]
        fn negotiation_bytes_never_leak_into_data(
            pieces in prop::collection::vec(
                prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..20).prop_map(|d| (true, d)),
                    arb_command().prop_map(|c| (false, c)),
                ],
                0..30,
            ),
            chunk in 1usize..17,
        ) {
            let mut wire = Vec::new();
            let mut data: Vec<u8> = Vec::new();
            let mut sent_commands = 0;
            for (is_data, bytes) in &pieces {
                if *is_data {
                    wire.extend(escape(bytes));
                    data.extend(bytes);
                } else {
                    wire.extend(bytes);
                    sent_commands += 1;
                }
            }
            let chunks: Vec<&[u8]> = wire.chunks(chunk).collect();
            let (decoded, commands) = decode_all(&chunks);
            prop_assert_eq!(decoded, data);
            prop_assert_eq!(commands.len(), sent_commands);
        }
    }
}
