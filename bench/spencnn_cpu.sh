#!/usr/bin/env bash
# SpENCNN's comparison measured the paper's way: each network's encrypted latency on one image
# on the CPU reference evaluator (heaccel's own CKKS, one thread like the paper's SEAL-based
# HEAR), dense baseline beside SpENCNN and SpENCNN with 50 % sub-block pruning, same parameter
# rule (N = 2^14, 31-bit primes). Each run is `heaccel --threads T infer --model M --strategy S
# [--prune 0.5] --backend reference --json` on the seeded input (latency does not depend on the
# weights' values, only on the pruning, which --prune applies to the seeded weights by the
# compiler's rule). Summary (command, date, CPU, load, one row per run) to --out (default
# bench/results/spencnn-cpu-<date>.json).
#
# Run:  bash bench/spencnn_cpu.sh [--models "lenet vgg5 hefnet"] [--threads T] [--out FILE]
# About 10 minutes on one thread of a 2-core AMD EPYC.
set -euo pipefail
cd "$(dirname "$0")/.."

models="lenet vgg5 hefnet"
threads=1
out="bench/results/spencnn-cpu-$(date +%Y-%m-%d).json"
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="${2:?--models needs a list}"; shift ;;
    --threads) threads="${2:?--threads needs T}"; shift ;;
    --out) out="${2:?--out needs a file}"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "spencnn_cpu.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

cargo build --release -q -p heaccel-cli
heaccel=./target/release/heaccel
logs=target/spencnn-cpu
mkdir -p "$logs"
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
load=$(cat /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
runs=()
for m in $models; do
  for variant in dense spencnn spencnn-p50; do
    args=(--threads "$threads" infer --model "$m" --backend reference --json)
    case "$variant" in
      dense) args+=(--strategy dense) ;;
      spencnn) args+=(--strategy spencnn) ;;
      spencnn-p50) args+=(--strategy spencnn --prune 0.5) ;;
    esac
    echo "$m $variant ..." >&2
    "$heaccel" "${args[@]}" > "$logs/$m-$variant.json"
    runs+=("$m $variant heaccel ${args[*]}")
  done
done

python3 - "$logs" "$out" "$started" "$cpu" "$load" "$threads" "${runs[@]}" <<'PY'
import json, os, sys
logs, out, started, cpu, load, threads = sys.argv[1:7]
runs = sys.argv[7:]
# Published overall speedups over the dense HE baseline (SpENCNN, Ran et al., ICML 2023; CPU,
# SEAL-based HEAR, N = 2^14): LeNet 8.37x, VGG-5 12.11x, HEFNet 19.26x.
published = {"lenet": 8.37, "vgg5": 12.11, "hefnet": 19.26}
rows = []
for r in runs:
    m, variant, command = r.split(" ", 2)
    d = json.load(open(f"{logs}/{m}-{variant}.json"))
    s = d["summary"]
    rows.append({
        "model": m, "variant": variant, "command": command,
        "log_n": d["params"]["log_n"], "levels": d["params"]["levels"], "dnum": d["params"]["dnum"],
        "rotations": d["ops"]["rotations"], "pmults": d["ops"]["pmults"],
        "key_switches": d["ops"].get("key_switches"),
        "evaluate_ms": s["mean_evaluate_ms"], "total_ms": s["mean_total_ms"],
        "cpu_ms": s["mean_cpu_ms"], "argmax_agree": s["argmax_agree"] == s["count"],
        "relative_error": s["max_relative_error"],
    })
by = {(r["model"], r["variant"]): r for r in rows}
speedups = []
for m in sorted({r["model"] for r in rows}):
    dense = by[(m, "dense")]["evaluate_ms"]
    speedups.append({
        "model": m,
        "spencnn": dense / by[(m, "spencnn")]["evaluate_ms"],
        "spencnn_p50": dense / by[(m, "spencnn-p50")]["evaluate_ms"],
        "published_overall": published.get(m),
    })
doc = {"command": "bash bench/spencnn_cpu.sh --threads " + threads, "date": started, "cpu": cpu,
       "load": load, "threads": int(threads), "rows": rows, "speedups_evaluate": speedups}
tmp = out + ".partial"
json.dump(doc, open(tmp, "w"), indent=1)
os.replace(tmp, out)
for s in speedups:
    print(f"{s['model']:<8} dense -> SpENCNN {s['spencnn']:.2f}x, + 50 % pruning {s['spencnn_p50']:.2f}x "
          f"(published {s['published_overall']}x)")
print(f"wrote {out}")
PY
