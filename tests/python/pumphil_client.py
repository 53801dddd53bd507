"""A minimal pumphil protocol client written from docs/protocol.md alone (pyserial).

Identifies the pump, refills 3.0 mL at 500 ug/mL, programs 600 ug/day, advances device time to
20 h and checks the status: calculated reservoir 2.0 mL and a low_reservoir alarm active.
Usage: python3 pumphil_client.py --port /dev/pts/N
"""
import argparse
import struct
import sys

import serial

TIMEOUTS = {0x40: 10.0, 0x0B: 1.0}  # section 6; every other request 250 ms
RETRIES = 3


def crc16_ibm3740(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def cobs_encode(data: bytes) -> bytes:
    out = bytearray([0])
    code_at, code = 0, 1
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


def cobs_decode(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise ValueError("bad COBS")
        out += data[i + 1 : i + code]
        i += code
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def build_frame(seq: int, msg_type: int, payload: bytes) -> bytes:
    body = struct.pack("<BHB", 1, seq, msg_type) + payload
    raw = body + struct.pack("<H", crc16_ibm3740(body))
    assert len(raw) <= 256
    return cobs_encode(raw) + b"\x00"


def parse_frame(block: bytes):
    raw = cobs_decode(block)
    if len(raw) < 6:
        raise ValueError("short frame")
    body, (crc,) = raw[:-2], struct.unpack("<H", raw[-2:])
    if crc16_ibm3740(body) != crc:
        raise ValueError("bad CRC")
    version, seq, msg_type = struct.unpack("<BHB", body[:4])
    if version != 1:
        raise ValueError(f"protocol version {version}")
    return seq, msg_type, body[4:]


class Pump:
    def __init__(self, port: str):
        self.port = serial.Serial(port, 115200, timeout=0.05)
        self.seq = 0
        self.buffer = bytearray()
        self.events = []

    def _frames(self):
        chunk = self.port.read(256)
        if chunk == b"" and not self.port.is_open:
            raise ConnectionError("device lost")
        self.buffer += chunk
        while b"\x00" in self.buffer:
            block, _, rest = bytes(self.buffer).partition(b"\x00")
            self.buffer = bytearray(rest)
            if block:
                yield parse_frame(block)

    def request(self, msg_type: int, payload: bytes = b"") -> bytes:
        self.seq = self.seq % 65535 + 1
        frame = build_frame(self.seq, msg_type, payload)
        timeout = TIMEOUTS.get(msg_type, 0.25)
        for _attempt in range(1 + RETRIES):
            self.port.write(frame)
            waited = 0.0
            while waited < timeout:
                for seq, rtype, body in self._frames():
                    if rtype in (0xE1, 0xE2, 0xE3):
                        self.events.append((seq, rtype, body))
                    elif seq != self.seq:
                        continue  # a stale answer
                    elif rtype == 0x7F:
                        if body[1] == 1:  # BadCrc: re-send the same frame
                            break
                        raise RuntimeError(f"NACK code {body[1]} for type 0x{body[0]:02X}")
                    elif rtype == msg_type | 0x80:
                        return body
                waited += 0.05
        raise TimeoutError(f"no answer to 0x{msg_type:02X}")


def text(payload: bytes, at: int):
    n = payload[at]
    return payload[at + 1 : at + 1 + n].decode(), at + 1 + n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", required=True)
    args = parser.parse_args()
    pump = Pump(args.port)

    body = pump.request(0x01)
    model, at = text(body, 0)
    serial_number, at = text(body, at)
    firmware, at = text(body, at)
    protocol, capacity, test_unit = struct.unpack("<BQB", body[at : at + 10])
    print(f"identify: {model} {serial_number} firmware {firmware}, protocol {protocol}, "
          f"{capacity / 1e6:.1f} mL, test unit {bool(test_unit)}")
    if not test_unit:
        print("not a test unit: cannot advance time", file=sys.stderr)
        return 1

    pump.request(0x06, struct.pack("<QI", 3_000_000, 500))  # refill 3.0 mL at 500 ug/mL
    pump.request(0x09, struct.pack("<Q", 2_000_000))  # threshold 2.0 mL
    pump.request(0x03, struct.pack("<I", 600))  # 600 ug/day
    (now,) = struct.unpack("<Q", pump.request(0x40, struct.pack("<Q", 20 * 3_600_000)))

    s = pump.request(0x02)
    device_time, calculated, delivered, rate, conc, threshold = struct.unpack("<QQQIIQ", s[:40])
    state, battery, flags, count = struct.unpack("<BHBB", s[40:45])
    alarms = [struct.unpack("<BBB", s[45 + 3 * i : 48 + 3 * i]) for i in range(count)]
    print(f"status at {device_time / 3.6e6:.1f} h: calculated {calculated / 1e6:.3f} mL, "
          f"delivered {delivered / 1e6:.3f} mL, {rate} ug/day, state {state}, alarms {alarms}")
    raised = [e for e in pump.events if e[1] == 0xE1]
    print(f"events: {len(pump.events)} ({len(raised)} alarm raised)")

    problems = []
    if now != 72_000_000:
        problems.append(f"device time {now}, expected 72000000")
    if calculated != 2_000_000:
        problems.append(f"calculated reservoir {calculated} nL, expected 2000000 (3.0 - 1.2 x 20/24 mL)")
    if not any(a[0] == 1 for a in alarms):
        problems.append("no low_reservoir alarm active")
    for p in problems:
        print("FAIL:", p, file=sys.stderr)
    print("1 passed, 0 failed" if not problems else "0 passed, 1 failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
