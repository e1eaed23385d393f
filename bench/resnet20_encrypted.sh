#!/usr/bin/env bash
# ResNet-20 (pretrained, ../shared/data) on encrypted CIFAR-10 test images at N = 2^16 with
# bootstrapping (n16-boot: 128-bit with its sparse secret), minimax ReLU, on the reference
# evaluator: `heaccel infer-boot`, timed by /usr/bin/time, its JSON report (images,
# agree_with_plaintext, max_logit_error, seconds_per_image, bootstrappings, ...) written to
# --out (default bench/results/resnet20-encrypted.json) with the command, date, CPU and load.
#
# Run:  bash bench/resnet20_encrypted.sh [--count K] [--activation relu-minimax:ALPHA]
#                                        [--preset NAME] [--out FILE]
# About 15 GB of memory and 10-15 minutes per image on 2 cores (keys ~2 minutes first).
set -euo pipefail
cd "$(dirname "$0")/.."

count=2
activation=relu-minimax:8
preset=n16-boot
out=bench/results/resnet20-encrypted.json
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count="${2:?}"; shift ;;
    --activation) activation="${2:?}"; shift ;;
    --preset) preset="${2:?}"; shift ;;
    --allow-insecure) extra+=(--allow-insecure) ;;
    --out) out="${2:?}"; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "resnet20_encrypted.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

shared=../shared/data
data=$(bash bench/cifar10_dir.sh)
cargo build --release -q -p heaccel-cli
mkdir -p target/resnet20-encrypted "$(dirname "$out")"
raw=target/resnet20-encrypted/run.json
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
load=$(cat /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
args=(infer-boot --model resnet20 --weights "$shared/resnet20-akamaster.safetensors"
      --data "$data/test" --count "$count" --activation "$activation" --preset "$preset"
      "${extra[@]}" --out "$raw")
/usr/bin/time -v -o target/resnet20-encrypted/time.txt ./target/release/heaccel "${args[@]}"
python3 - "$raw" "$out" "$started" "$cpu" "$load" "heaccel ${args[*]}" \
  target/resnet20-encrypted/time.txt <<'PY'
import json, os, sys
raw, out, started, cpu, load, command, timefile = sys.argv[1:]
run = json.load(open(raw))
wall = maxrss = None
for line in open(timefile):
    line = line.strip()
    if line.startswith("Elapsed (wall clock) time"):
        wall = line.split(": ", 1)[1]
    if line.startswith("Maximum resident set size"):
        maxrss = int(line.split(": ", 1)[1]) * 1024
record = {"command": "bash bench/resnet20_encrypted.sh -> " + command, "date": started,
          "cpu_model": cpu, "cores": os.cpu_count(), "loadavg_at_start": load,
          "wall_clock": wall, "max_rss_bytes": maxrss}
record.update(run)
tmp = out + ".tmp"
with open(tmp, "w") as fh:
    json.dump(record, fh, indent=2)
    fh.write("\n")
os.replace(tmp, out)
print(f"wrote {out}")
PY
