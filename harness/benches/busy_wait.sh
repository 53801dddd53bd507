#!/usr/bin/env bash
# Busy-waiting on the in-process emulator's ports, against parking on the reactor
# (docs/performance.md, "What a sample costs"): the 10-day scenario (28 801 samples, balance
# on, sampled with Advance and sample), `pumphil run` end to end, alternately with
# PUMPHIL_BUSY_WAIT_US=0 and =WINDOW, PAIRS times, the order swapped each pair. One line a run:
# window, wall s, user s, system s; then the medians.
#
#   cargo build --release && harness/benches/busy_wait.sh [PAIRS] [WINDOW_US] [BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
pairs=${1:-5}
window=${2:-200}
binary=$(realpath "${3:-${CARGO_TARGET_DIR:-target}/release/pumphil}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp harness/benches/ten_days.toml "$work/"
cd "$work"
"$binary" expect --write --fixtures fixtures ten_days.toml >/dev/null

time_run() {
  local us=$1
  PUMPHIL_BUSY_WAIT_US=$us /usr/bin/time -o time -f "%e %U %S" "$binary" run --plain --quiet \
    --jobs 1 --reports reports --fixtures fixtures ten_days.toml >/dev/null
  read -r wall user system <time
  printf '%5s us  %6.2f s wall  %5.2f s user  %5.2f s system\n' "$us" "$wall" "$user" "$system"
  echo "$wall" >>"walls-$us"
  rm -rf reports
}

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for pair in $(seq "$pairs"); do
  if ((pair % 2)); then order="0 $window"; else order="$window 0"; fi
  for us in $order; do time_run "$us"; done
done
echo "median wall: parked $(median walls-0) s, busy-waiting $window us $(median "walls-$window") s"
