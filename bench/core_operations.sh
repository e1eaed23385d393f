#!/usr/bin/env bash
# Whole CKKS operations on the accelerator core with the Verilator co-run: for each of hmult,
# rotate, rescale and conjugate and each issue policy, `heaccel verify core --op OP --log-n K
# --lanes P --issue I --json` (rust-hdl and the Verilator-built core against the functional
# executor and the reference evaluator, cycles against the simulator's derived configuration
# of that policy). Summary (command, date, CPU, load, one row per run) to --out (default
# bench/results/core-operations-<date>.json). A run that fails is recorded as failed.
#
# Run:  bash bench/core_operations.sh [--ops "hmult rotate rescale conjugate"]
#       [--issues "overlapped in-order"] [--log-n K] [--lanes P] [--out FILE]
# About 20 minutes at N = 2^10, P = 2 on 2 cores (most of it the Verilator C++ builds).
set -euo pipefail
cd "$(dirname "$0")/.."

ops="hmult rotate rescale conjugate"
issues="overlapped in-order"
log_n=10
lanes=2
out="bench/results/core-operations-$(date +%Y-%m-%d).json"
while [ $# -gt 0 ]; do
  case "$1" in
    --ops) ops="${2:?--ops needs a list}"; shift ;;
    --issues) issues="${2:?--issues needs a list}"; shift ;;
    --log-n) log_n="${2:?--log-n needs K}"; shift ;;
    --lanes) lanes="${2:?--lanes needs P}"; shift ;;
    --out) out="${2:?--out needs a file}"; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "core_operations.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

cargo build --release -q -p heaccel-cli
heaccel=./target/release/heaccel
logs=target/core-operations
mkdir -p "$logs"
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
load=$(cat /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
runs=()
for issue in $issues; do
  for op in $ops; do
    name="$op-$issue"
    args=(verify core --op "$op" --log-n "$log_n" --lanes "$lanes" --issue "$issue"
      --out "$logs/$name" --json)
    echo "$name ..." >&2
    begin=$(date +%s)
    status=0
    "$heaccel" "${args[@]}" > "$logs/$name.json" || status=$?
    runs+=("$name $status $(( $(date +%s) - begin )) heaccel ${args[*]}")
  done
done

python3 - "$logs" "$out" "$started" "$cpu" "$load" "${runs[@]}" <<'PY'
import json, os, sys
logs, out, started, cpu, load = sys.argv[1:6]
rows = []
for r in sys.argv[6:]:
    name, status, seconds, command = r.split(" ", 3)
    with open(os.path.join(logs, name + ".json")) as f:
        report = json.load(f)
    matched = next(c for c in report["simulator"] if c["config"] == report["simulator_match"])
    rows.append({
        "operation": name.split("-", 1)[0],
        "issue": report["issue"],
        "command": command,
        "exit_status": int(status),
        "seconds": int(seconds),
        "pass": report["pass"],
        "rust_hdl_bit_exact": report["rust_hdl_bit_exact"],
        "verilator": report["verilator"],
        "reference_bit_exact": report["reference_bit_exact"],
        "core_cycles": report["core_cycles"],
        "simulator_config": matched["config"],
        "simulator_cycles": matched["simulator"],
        "difference_percent": round(matched["difference_percent"], 3),
        "simulator_all": {c["config"]: c["simulator"] for c in report["simulator"]},
        "instructions": report["instructions"],
        "limbs": report["limbs"],
    })
summary = {
    "what": "whole CKKS operations on the accelerator core, rust-hdl and Verilator, against "
            "the reference evaluator (heaccel verify core --op)",
    "script": "bash bench/core_operations.sh",
    "date": started,
    "cpu": cpu,
    "load_before": load,
    "runs": rows,
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(summary, f, indent=2)
    f.write("\n")
os.replace(tmp, out)
print(json.dumps(summary, indent=2))
PY
