"""A pumphil protocol client written from docs/protocol.md alone: the cross-language check.

COBS, the CRC, frames, sequence numbers, retries, timeouts and event gap detection are all
implemented here from the document, not shared with the Rust code. Against a freshly started
emulated pump it refills 3.0 mL at 500 ug/mL, programs 600 ug/day, advances device time to
20 h and checks the status: calculated reservoir 2.0 mL (3.0 - 1.2 x 20/24) and a medium
low_reservoir alarm active.

Usage: python3 pumphil_client.py --port /dev/pts/N
Exit status: 0 all checks passed, 1 a check failed, 2 the device was lost or misbehaved.
"""
import argparse
import struct
import sys
import time

import serial

PROTOCOL_VERSION = 1
MAX_FRAME_LEN = 256
NACK = 0x7F
EVENTS = {0xE1: "alarm raised", 0xE2: "alarm cleared", 0xE3: "therapy state changed"}
NACK_CODES = {1: "BadCrc", 2: "UnknownMessage", 3: "MalformedPayload", 4: "OutOfRange",
              5: "NotAllowedInState", 6: "NotInTestMode", 7: "UnsupportedVersion"}
ALARMS = {1: "low_reservoir", 2: "empty_reservoir", 3: "elective_replacement",
          4: "end_of_service", 5: "motor_stall"}
PRIORITIES = {1: "low", 2: "medium", 3: "high"}
ALARM_STATES = {0: "active", 1: "acknowledged", 2: "silenced"}
THERAPY_STATES = {0: "Idle", 1: "Running", 2: "Bolus", 3: "Stopped", 4: "Halted"}

IDENTIFY, STATUS, PROGRAM_CONTINUOUS, REFILL, SET_THRESHOLD = 0x01, 0x02, 0x03, 0x06, 0x09
READ_EVENT_LOG, READ_EVENT_LOG_ENTRIES, ADVANCE_TIME = 0x0B, 0x0C, 0x40
TIMEOUTS_S = {ADVANCE_TIME: 10.0, READ_EVENT_LOG: 1.0, READ_EVENT_LOG_ENTRIES: 1.0}  # section 6.4
LOG_ALARM_RAISED = 1  # section 11, log entry kinds
DEFAULT_TIMEOUT_S = 0.25
RETRIES = 3  # re-sends after the first attempt (section 6.2)
NL_PER_ML = 1_000_000
MS_PER_HOUR = 3_600_000


class DeviceLost(Exception):
    pass


class Refused(Exception):
    pass


def crc16_ibm3740(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def cobs_encode(data: bytes) -> bytes:
    out, code_at, code = bytearray([0]), 0, 1
    for byte in data:
        if byte == 0:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
        else:
            out.append(byte)
            code += 1
            if code == 0xFF:
                out[code_at] = code
                code_at, code = len(out), 1
                out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(block: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(block):
        code = block[i]
        if code == 0 or i + code > len(block) or 0 in block[i + 1 : i + code]:
            raise ValueError("invalid COBS block")
        out += block[i + 1 : i + code]
        i += code
        if code != 0xFF and i < len(block):
            out.append(0)
    return bytes(out)


def build_frame(seq: int, msg_type: int, payload: bytes) -> bytes:
    body = struct.pack("<BHB", PROTOCOL_VERSION, seq, msg_type) + payload
    raw = body + struct.pack("<H", crc16_ibm3740(body))
    if len(raw) > MAX_FRAME_LEN:
        raise ValueError(f"frame of {len(raw)} bytes exceeds {MAX_FRAME_LEN}")
    return cobs_encode(raw) + b"\x00"


def parse_frame(block: bytes):
    """(seq, type, payload) of one COBS block; ValueError if it is not a valid frame."""
    raw = cobs_decode(block)
    if not 6 <= len(raw) <= MAX_FRAME_LEN:
        raise ValueError(f"frame of {len(raw)} bytes")
    body, (crc,) = raw[:-2], struct.unpack("<H", raw[-2:])
    if crc16_ibm3740(body) != crc:
        raise ValueError("bad CRC")
    version, seq, msg_type = struct.unpack("<BHB", body[:4])
    if version != PROTOCOL_VERSION:
        raise ValueError(f"protocol version {version}")
    return seq, msg_type, body[4:]


class Pump:
    def __init__(self, port: str):
        try:
            self.port = serial.Serial(port, 115200, timeout=0.05)
        except serial.SerialException as err:
            raise DeviceLost(f"cannot open {port}: {err}") from err
        self.seq = 0
        self.buffer = bytearray()
        self.events = []  # (event seq, type, payload)
        self.gaps = []  # (expected seq, got seq)
        self.retries = 0
        self._write(b"\x00")  # flush whatever the receiver holds (section 2)

    def _write(self, data: bytes):
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as err:
            raise DeviceLost(f"the port failed or hung up: {err}") from err

    def _read_frames(self, wait_s: float):
        self.port.timeout = max(wait_s, 0.001)
        try:
            chunk = self.port.read(max(1, self.port.in_waiting))
        except (serial.SerialException, OSError) as err:
            # pyserial reports a hang-up (a read of 0 bytes) as an exception.
            raise DeviceLost(f"the port failed or hung up: {err}") from err
        self.buffer += chunk
        frames = []
        while b"\x00" in self.buffer:
            block, _, rest = bytes(self.buffer).partition(b"\x00")
            self.buffer = bytearray(rest)
            if block:
                try:
                    frames.append(parse_frame(block))
                except ValueError as err:
                    print(f"discarded a frame from the device: {err}", file=sys.stderr)
        return frames

    def _event(self, seq: int, msg_type: int, payload: bytes):
        if self.events:
            expected = self.events[-1][0] % 65535 + 1
            if seq != expected:
                self.gaps.append((expected, seq))
        self.events.append((seq, msg_type, payload))

    def request(self, msg_type: int, payload: bytes = b"") -> bytes:
        self.seq = self.seq % 65535 + 1  # 1, 2, ..., 65535, 1: never 0
        frame = build_frame(self.seq, msg_type, payload)
        timeout = TIMEOUTS_S.get(msg_type, DEFAULT_TIMEOUT_S)
        for attempt in range(1 + RETRIES):
            if attempt:
                self.retries += 1
            self._write(frame)
            deadline = time.monotonic() + timeout
            resend = False
            while not resend and time.monotonic() < deadline:
                for seq, rtype, body in self._read_frames(deadline - time.monotonic()):
                    if rtype in EVENTS:
                        self._event(seq, rtype, body)
                    elif seq != self.seq:
                        print(f"discarded a stale answer (seq {seq})", file=sys.stderr)
                    elif rtype == NACK and len(body) == 2:
                        if body[1] == 1:  # BadCrc: re-send the same bytes at once
                            resend = True
                            break
                        code = NACK_CODES.get(body[1], f"code {body[1]}")
                        raise Refused(f"request 0x{msg_type:02X} refused: {code}")
                    elif rtype == msg_type | 0x80:
                        return body
                    else:
                        raise DeviceLost(f"answer of type 0x{rtype:02X} to request 0x{msg_type:02X}")
        raise DeviceLost(f"no answer to request 0x{msg_type:02X} after {1 + RETRIES} attempts")


def read_text(payload: bytes, at: int):
    n = payload[at]
    return payload[at + 1 : at + 1 + n].decode("utf-8"), at + 1 + n


def parse_identity(body: bytes) -> dict:
    model, at = read_text(body, 0)
    serial_number, at = read_text(body, at)
    firmware, at = read_text(body, at)
    protocol, capacity_nl, test_unit = struct.unpack("<BQB", body[at : at + 10])
    return {"model": model, "serial": serial_number, "firmware": firmware,
            "protocol": protocol, "capacity_nl": capacity_nl, "test_unit": test_unit == 1}


def parse_status(body: bytes) -> dict:
    time_ms, calculated, delivered, rate, conc, threshold = struct.unpack("<QQQIIQ", body[:40])
    state, battery, flags, count = struct.unpack("<BHBB", body[40:45])
    if len(body) != 45 + 3 * count:
        raise DeviceLost(f"status payload of {len(body)} bytes for {count} alarms")
    alarms = [struct.unpack("<BBB", body[45 + 3 * k : 48 + 3 * k]) for k in range(count)]
    return {"time_ms": time_ms, "calculated_nl": calculated, "delivered_nl": delivered,
            "rate": rate, "concentration": conc, "threshold_nl": threshold,
            "state": THERAPY_STATES.get(state, state), "battery_permille": battery,
            "eri": bool(flags & 1), "eos": bool(flags & 2),
            "alarms": [(ALARMS.get(a), PRIORITIES.get(p), ALARM_STATES.get(s)) for a, p, s in alarms]}


def read_log(pump: "Pump") -> list:
    """Every entry still kept, two at a time (section 12.10a): (time ms, kind, code, value)."""
    entries, index = [], 0
    while True:
        body = pump.request(READ_EVENT_LOG_ENTRIES, struct.pack("<IB", index, 2))
        total, first, count = struct.unpack_from("<IIB", body)
        entries += [struct.unpack_from("<QBBq", body, 9 + 18 * k) for k in range(count)]
        index = first + count
        if count == 0 or index >= total:
            return entries


def run(port: str) -> int:
    pump = Pump(port)
    identity = parse_identity(pump.request(IDENTIFY))
    print(f"identify: {identity['model']} serial {identity['serial']} firmware "
          f"{identity['firmware']}, protocol {identity['protocol']}, "
          f"{identity['capacity_nl'] / NL_PER_ML:.1f} mL, test unit {identity['test_unit']}")
    if not identity["test_unit"]:
        print("FAIL: not a test unit, so time cannot be advanced", file=sys.stderr)
        return 1

    target_ms = 20 * MS_PER_HOUR
    pump.request(REFILL, struct.pack("<QI", 3 * NL_PER_ML, 500))
    pump.request(SET_THRESHOLD, struct.pack("<Q", 2 * NL_PER_ML))
    pump.request(PROGRAM_CONTINUOUS, struct.pack("<I", 600))
    (now_ms,) = struct.unpack("<Q", pump.request(ADVANCE_TIME, struct.pack("<Q", target_ms)))
    status = parse_status(pump.request(STATUS))
    print(f"status at {status['time_ms'] / MS_PER_HOUR:.1f} h: {status['state']}, "
          f"calculated {status['calculated_nl'] / NL_PER_ML:.3f} mL, delivered "
          f"{status['delivered_nl'] / NL_PER_ML:.3f} mL, {status['rate']} ug/day at "
          f"{status['concentration']} ug/mL, alarms {status['alarms']}")

    raised = [struct.unpack("<QBB", body) for _, t, body in pump.events if t == 0xE1]
    log = read_log(pump)
    print(f"events: {len(pump.events)} received, gaps {pump.gaps}, retries {pump.retries}")

    # 600 ug/day at 500 ug/mL is 1.2 mL/day; 20 h of it is 1.0 mL, leaving 2.0 of 3.0 mL.
    expected_calculated = 3 * NL_PER_ML - 1_200_000 * 20 // 24
    checks = [
        ("device time is 20 h", now_ms == target_ms and status["time_ms"] == target_ms),
        ("calculated reservoir is 2.000 mL", status["calculated_nl"] == expected_calculated),
        ("1.000 mL delivered", status["delivered_nl"] == 1_000_000),
        ("therapy is Running", status["state"] == "Running"),
        ("low_reservoir alarm active, medium",
         ("low_reservoir", "medium", "active") in status["alarms"]),
        ("low_reservoir raised event at 20 h", (target_ms, 1, 2) in raised),
        ("no event gaps", not pump.gaps),
        ("the event log holds low_reservoir raised (medium) at 20 h",
         (target_ms, LOG_ALARM_RAISED, 1, 2) in log),
    ]
    failed = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", required=True, help="the pump's serial port, e.g. /dev/pts/3")
    args = parser.parse_args()
    try:
        return run(args.port)
    except (DeviceLost, Refused, ValueError, struct.error) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
