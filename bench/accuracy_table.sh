#!/usr/bin/env bash
# Top-1 accuracy of the pretrained CIFAR-10 ResNets (../shared/data) on the 10,000 CIFAR-10
# JPEG test images, exact ReLU beside the composite minimax ReLU of each alpha: docs/RESULTS.md's
# accuracy table. Each run is `heaccel accuracy ... --json --out`; the summary (command, date,
# CPU, load, one row per model and activation) goes to --out (default
# bench/results/accuracy-cifar10-<date>.json), each run's full report beside it in
# target/accuracy-table/.
#
# Run:  bash bench/accuracy_table.sh [--models "resnet20 resnet56"] [--alphas "7 8 ... 14"]
#                                    [--per-class K] [--reuse] [--out FILE]
# --reuse keeps each run's report already in target/accuracy-table/ (from an interrupted
# table on the same build) instead of running it again.
# Needs ../shared/data (the CIFAR-10 tarball is extracted once into target/shared-data/).
# Minimax runs take about 80 s (ResNet-20) and 4 min (ResNet-56) each on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

models="resnet20 resnet56"
alphas="7 8 9 10 11 12 13 14"
per_class=""
reuse=0
out="bench/results/accuracy-cifar10-$(date +%Y-%m-%d).json"
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="${2:?--models needs a list}"; shift ;;
    --alphas) alphas="${2:?--alphas needs a list}"; shift ;;
    --per-class) per_class="${2:?--per-class needs K}"; shift ;;
    --reuse) reuse=1 ;;
    --out) out="${2:?--out needs a file}"; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "accuracy_table.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

shared=../shared/data
data=$(bash bench/cifar10_dir.sh)

cargo build --release -q -p heaccel-cli
heaccel=./target/release/heaccel
runs=target/accuracy-table
mkdir -p "$runs" "$(dirname "$out")"
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
load=$(cat /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
command="bash bench/accuracy_table.sh --models \"$models\" --alphas \"$alphas\""
[ -n "$per_class" ] && command="$command --per-class $per_class"
[ "$reuse" = 1 ] && command="$command --reuse"

files=()
for model in $models; do
  for act in relu $(for a in $alphas; do echo "relu-minimax:$a"; done); do
    file="$runs/$model-${act/:/-}.json"
    args=(accuracy --model "$model" --weights "$shared/$model-akamaster.safetensors"
          --data "$data/test" --activation "$act" --json --out "$file")
    [ -n "$per_class" ] && args+=(--per-class "$per_class")
    if [ "$reuse" = 0 ] || [ ! -f "$file" ]; then
      "$heaccel" "${args[@]}" > /dev/null
    fi
    python3 - "$file" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["report"]["minimax"]
extra = "" if m is None else (
    f"  outside {r['outside_bound']}  below eps {100 * r['below_eps'] / r['relu_values']:.2f} %"
    f"  (eps 2^{m['log2_eps']:.0f}, depth {m['relu_depth']})")
print(f"{r['model']:9} {r['activation']:16} {100 * r['top1']:6.2f} %  {r['seconds']:6.1f} s{extra}")
EOF
    files+=("$file")
  done
done

python3 - "$out" "$command" "$started" "$cpu" "$load" "${files[@]}" <<'EOF'
import json, os, sys
out, command, started, cpu, load, *files = sys.argv[1:]
rows = []
for f in files:
    r = json.load(open(f))
    m = r["report"]["minimax"]
    rows.append({
        "model": r["model"], "activation": r["activation"], "correct": r["correct"],
        "total": r["total"], "top1": r["top1"], "seconds": r["seconds"],
        "images_per_second": r["images_per_second"], "threads": r["threads"],
        "outside_bound": r["outside_bound"], "below_eps": r["below_eps"],
        "relu_values": r["relu_values"],
        "eps": None if m is None else m["eps"],
        "sign_error": None if m is None else m["sign_error"],
        "degrees": None if m is None else m["degrees"],
        "relu_depth": None if m is None else m["relu_depth"],
        "calibration": r["calibration"],
    })
summary = {"command": command, "date": started, "cpu": cpu, "cores": os.cpu_count(),
           "loadavg_at_start": load, "data": "CIFAR-10 JPEG test set (../shared/data)",
           "rows": rows}
tmp = out + ".tmp"
with open(tmp, "w") as fh:
    json.dump(summary, fh, indent=2)
    fh.write("\n")
os.replace(tmp, out)
print(f"wrote {out}")
EOF
