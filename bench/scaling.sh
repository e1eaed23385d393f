#!/usr/bin/env bash
# Per-point and per-shard costs for docs/SCALING.md: a 1,000-point LeNet sweep unsharded (one
# thread and all cores), the compile / per-point cost of each zoo network on a 24-point grid,
# and, where a Slurm can run here (scripts/slurm-local.sh, root), the same 1,000-point sweep as
# a job array of 4 shards + merge job, end to end, beside a job array of 4 empty tasks (the
# scheduler's own turnaround). Writes bench/results/scaling-DATE.json with the command, date,
# CPU model and load.
#
# Run:  bash bench/scaling.sh [--out FILE]
# About 2 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="bench/results/scaling-$(date -u +%Y-%m-%d).json"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?}"; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scaling.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
cargo build --release -q -p heaccel-cli
heaccel=$root/target/release/heaccel
work=$(mktemp -d "${TMPDIR:-/tmp}/heaccel-scaling.XXXXXX")
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
load=$(cat /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cd "$work"

# 1,000 points: 10 x 10 x 10 (clock, bandwidth, memory latency).
cat >grid1000.toml <<'GRID'
base = "fpga-u280"
[grid]
clock_mhz = [150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 450.0, 500.0, 600.0, 800.0]
"memory.bandwidth_gb_s" = [100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 460.0, 600.0, 800.0]
"memory.latency_ns" = [50.0, 75.0, 100.0, 125.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0]
GRID
cat >grid24.toml <<'GRID'
base = "fpga-u280"
[grid]
"modmul.lanes" = [64, 128, 256, 512]
"ntt.butterflies_per_unit" = [16, 32, 64]
"memory.bandwidth_gb_s" = [230.0, 460.0]
GRID

wall() { # seconds of a command's wall time, its stdout to $1
  local to=$1; shift
  local t0; t0=$(date +%s%N)
  "$@" >"$to"
  echo "scale=3; ($(date +%s%N) - $t0) / 1000000000" | bc
}

w1=$(wall lenet1000-j1.json "$heaccel" sweep --model lenet --grid grid1000.toml --out s1 --jobs 1 --json)
w2=$(wall lenet1000-j2.json "$heaccel" sweep --model lenet --grid grid1000.toml --out s2 --jobs 2 --json)
for m in lenet hefnet vgg5 resnet20; do
  "$heaccel" sweep --model "$m" --grid grid24.toml --out "n-$m" --jobs 1 --json >"net-$m.json"
done

slurm=null
if env_line=$(bash "$root/scripts/slurm-local.sh" start "$work/cluster" 2>slurm-start.err); then
  eval "$env_line"
  trap 'bash "$root/scripts/slurm-local.sh" stop "$work/cluster" >/dev/null 2>&1 || true' EXIT
  wait_jobs() { while [ -n "$(squeue -h -o %i)" ]; do sleep 0.2; done; }
  t0=$(date +%s%N)
  id=$(sbatch --parsable --array=1-4 --output=/dev/null --wrap true)
  sbatch --parsable --dependency=afterok:"$id" --output=/dev/null --wrap true >/dev/null
  wait_jobs
  empty=$(echo "scale=3; ($(date +%s%N) - $t0) / 1000000000" | bc)
  t0=$(date +%s%N)
  "$heaccel" sweep --model lenet --grid grid1000.toml --out arr --slurm --array-size 4 --submit >/dev/null
  wait_jobs
  array=$(echo "scale=3; ($(date +%s%N) - $t0) / 1000000000" | bc)
  cmp arr/sweep.csv s2/sweep.csv
  slurm="{\"array_of_4_empty_tasks_plus_merge_s\": $empty, \"lenet_1000_array_of_4_plus_merge_s\": $array, \"merged_equals_unsharded\": true}"
else
  echo "scaling.sh: no Slurm here ($(cat slurm-start.err)); Slurm figures left out" >&2
fi

cd "$root"
mkdir -p "$(dirname "$out")"
python3 - "$work" "$out" "$w1" "$w2" "$cpu" "$load" "$started" "$slurm" <<'PY'
import json, sys
work, out, w1, w2, cpu, load, started, slurm = sys.argv[1:]
def load_json(name):
    return json.load(open(f"{work}/{name}"))
j1, j2 = load_json("lenet1000-j1.json"), load_json("lenet1000-j2.json")
nets = {}
for m in ["lenet", "hefnet", "vgg5", "resnet20"]:
    r = load_json(f"net-{m}.json")
    n = len(r["rows"])
    nets[m] = {
        "points": n,
        "compile_s_per_word_size": r["prepare_seconds"],
        "per_point_s": r["simulate_seconds"] / n,
    }
result = {
    "command": "bash bench/scaling.sh",
    "date": started,
    "cpu": cpu,
    "load_at_start": load,
    "lenet_1000_point_sweep": {
        "points": len(j1["rows"]),
        "one_thread": {"wall_s": float(w1), "prepare_s": j1["prepare_seconds"],
                       "simulate_s": j1["simulate_seconds"],
                       "per_point_ms": 1000 * j1["simulate_seconds"] / len(j1["rows"])},
        "two_threads": {"wall_s": float(w2), "prepare_s": j2["prepare_seconds"],
                        "simulate_s": j2["simulate_seconds"]},
    },
    "per_network_one_thread_24_points": nets,
    "slurm_single_node": None if slurm == "null" else json.loads(slurm),
}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
PY
echo "wrote $out"
