#!/usr/bin/env bash
# The main job's reports before and after a change (issue 21's floor for behaviour-preserving
# refactors): builds REV and HEAD in release mode, runs the main job twice with each, and compares the reports
# with bench/main_job_compare.py: lenet-compare.json and the SVG figures byte for byte,
# lenet-infer.json on every field but times, decrypted values and their errors (fresh keys
# from the OS's cryptographic RNG change those run to run; pass, argmax and the plaintext
# outputs must still agree). Writes bench/results/main-job-before-after-DATE.json.
#
# REV defaults to 1aeadc3, the last commit that changed the main job's reports on purpose
# (issue 17: total.time_us became the whole program's); every house step since is held to it.
#
#   bash bench/main_job_before_after.sh [REV]
#
# About 10 minutes on 2 cores (two release builds of the workspace crates).
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:-1aeadc3}"
work="${TMPDIR:-/tmp}/heaccel-before-after-$$"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/before-after}"
mkdir -p "$work"
git worktree add -q --detach "$work/before" "$rev"
git worktree add -q --detach "$work/after" HEAD
trap 'git worktree remove --force "$work/before"; git worktree remove --force "$work/after"; rm -rf "$work"' EXIT
for side in before after; do
  (cd "$work/$side" && cargo build --release --locked -p heaccel-cli)
  cp "$CARGO_TARGET_DIR/release/heaccel" "$work/heaccel-$side"
done
for side in before after; do
  for run in 1 2; do
    (cd "$work/$side" && "$work/heaccel-$side" --out "$work/out-$side-$run" > "$work/log-$side-$run")
  done
done
status=0
python3 bench/main_job_compare.py "$work/out-before-1" "$work/out-after-1" > "$work/cmp" || status=$?
cat "$work/cmp"
python3 bench/main_job_compare.py "$work/out-after-1" "$work/out-after-2" > /dev/null \
  || echo "note: two runs of the same binary differ in the compared fields"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
out="bench/results/main-job-before-after-$(date -u +%F).json"
python3 - "$out" "$rev" "$(git rev-parse HEAD)" "$cpu" "$status" "$work/cmp" <<'PY'
import json, sys, datetime
out, rev, head, cpu, status, cmp = sys.argv[1:]
json.dump({
    "command": "bash bench/main_job_before_after.sh " + rev,
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "cpu": cpu,
    "before": rev,
    "after": head,
    "identical": status == "0",
    "comparison": [l for l in open(cmp).read().splitlines() if not l.startswith("{")],
}, open(out, "w"), indent=2)
print("wrote", out)
PY
exit "$status"
