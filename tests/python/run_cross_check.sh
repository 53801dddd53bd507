#!/usr/bin/env bash
# Cross-language check: starts `pumphil emulate --pty --json` (the binary in $PUMPHIL, default
# target/debug/pumphil), runs the Python client written from docs/protocol.md against the
# printed pump port, stops the emulator and exits with the client's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pumphil=${PUMPHIL:-$root/target/debug/pumphil}
if [ ! -x "$pumphil" ]; then
    echo "error: no pumphil binary at $pumphil (run cargo build, or set PUMPHIL)" >&2
    exit 2
fi

out=$(mktemp)
"$pumphil" emulate --pty --json >"$out" &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true; rm -f "$out"' EXIT

# The first stdout line is {"pump": "/dev/pts/N", "balance": ..., "realtime": false}.
for _ in $(seq 200); do
    if grep -q '}' "$out" 2>/dev/null; then break; fi
    if ! kill -0 "$emulator" 2>/dev/null; then
        echo "error: the emulator exited before printing its ports" >&2
        exit 2
    fi
    sleep 0.05
done
port=$(python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["pump"])' "$out") || {
    echo "error: could not read the pump port from the emulator's first line: $(head -c 200 "$out")" >&2
    exit 2
}
echo "emulated pump on $port"
status=0
python3 "$here/pumphil_client.py" --port "$port" || status=$?
exit "$status"
