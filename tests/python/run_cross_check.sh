#!/usr/bin/env bash
# Starts `pumphil emulate --pty --json`, runs the Python client on the printed pump port, stops
# the emulator, and exits with the client's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pumphil=${PUMPHIL:-target/debug/pumphil}
out=$(mktemp)
"$pumphil" emulate --pty --json >"$out" &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
port=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["pump"])' "$out")
echo "emulated pump on $port"
python3 "$here/pumphil_client.py" --port "$port"
