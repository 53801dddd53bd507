#!/usr/bin/env bash
# Suite scaling (docs/performance.md, "How the suite scales"): times `pumphil run` on the suite
# in scenarios/ and on COPIES copies of it (distinct ids, the same fixtures), with each --jobs
# of SUITE_COPIES_JOBS (default "1 2 8"). The copies live in a temporary directory and are
# removed afterwards.
#
#   cargo build --release && harness/benches/suite_copies.sh [COPIES] [BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
copies=${1:-100}
binary=${2:-${CARGO_TARGET_DIR:-target}/release/pumphil}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/copies/scenarios" "$work/copies/fixtures"
cp requirements.toml "$work/copies/"
for copy in $(seq -w 1 "$copies"); do
  for file in scenarios/*.toml; do
    id=$(sed -n 's/^id = "\(.*\)"$/\1/p' "$file")
    sed "s/^id = \".*\"$/id = \"$id-copy$copy\"/" "$file" >"$work/copies/scenarios/$id-copy$copy.toml"
    cp -r "fixtures/$id" "$work/copies/fixtures/$id-copy$copy"
  done
done
count=$(ls scenarios/*.toml | wc -l)

# One line a run: what, jobs, scenarios, wall seconds, peak RSS, exit code.
time_run() {
  local label=$1 jobs=$2 scenarios=$3 dir=$4
  local reports="$work/reports-$label-$jobs"
  local code=0
  /usr/bin/time -o "$work/time" -f "%e %M" "$binary" run --plain --quiet --jobs "$jobs" \
    --reports "$reports" "$dir" >/dev/null 2>"$work/stderr" || code=$?
  read -r wall rss <"$work/time"
  local bytes
  bytes=$(du -sb "$reports" | cut -f1)
  printf '%-8s jobs %s  %5s scenarios  %7.2f s wall  %6.1f MiB peak RSS  %6.0f MB record  exit %s\n' \
    "$label" "$jobs" "$scenarios" "$wall" "$(echo "$rss / 1024" | bc -l)" \
    "$(echo "$bytes / 1000000" | bc -l)" "$code"
  rm -rf "$reports"
}

for jobs in ${SUITE_COPIES_JOBS:-1 2 8}; do
  time_run suite "$jobs" "$count" scenarios
  time_run copies "$jobs" "$((count * 10#$copies))" "$work/copies/scenarios"
done
