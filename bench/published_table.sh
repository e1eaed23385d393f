#!/usr/bin/env bash
# The published-accelerator comparison of issue 17 (README "Main results", docs/RESULTS.md):
# for each preset of a published accelerator (sharp, ark, craterlake, bts, f1), heaccel's
# simulated latencies beside the published ones (docs/PUBLISHED.md):
#   - ResNet-20 (CIFAR-10, minimax ReLU alpha 8, SpENCNN, bootstrapped on the deep set chosen
#     for the preset's words): `heaccel simulate --model resnet20 --activation relu-minimax:8`,
#     the whole program and the per-operation sum;
#   - one bootstrapping of n16-boot (2^15 slots; primes capped to the words):
#     `heaccel simulate --op bootstrap`, the whole program and the per-operation sum;
#   - HMult and HRot alone at the ResNet-20 deep set's N, top level and dnum:
#     `heaccel simulate --op hmult|hrot` (an operation alone streams its operands and keys).
# With ../shared/data beside the checkout, also the trained ResNet-20 (alpha 8 and 13) on
# sharp, ark, bts, asic and fpga-u280. Writes bench/results/published-DATE.json with every
# command, the date, CPU model and load.
#
# Run:  bash bench/published_table.sh [--out FILE]
# About 6 minutes on 2 cores (3 without ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="bench/results/published-$(date -u +%Y-%m-%d).json"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?}"; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "published_table.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
cargo build --release -q -p heaccel-cli
heaccel=$root/target/release/heaccel
work=$(mktemp -d "${TMPDIR:-/tmp}/heaccel-published.XXXXXX")
trap 'rm -rf "$work"' EXIT
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
load=$(cat /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

for preset in sharp ark craterlake bts f1; do
  echo "== $preset" >&2
  resnet="simulate --model resnet20 --activation relu-minimax:8 --config $preset --json"
  boot="simulate --op bootstrap --config $preset --json"
  echo "$resnet" >"$work/$preset-resnet20.cmd"
  echo "$boot" >"$work/$preset-bootstrap.cmd"
  # shellcheck disable=SC2086
  "$heaccel" $boot >"$work/$preset-bootstrap.json"
  # shellcheck disable=SC2086
  if ! "$heaccel" $resnet >"$work/$preset-resnet20.json" 2>"$work/$preset-resnet20.err"; then
    cat "$work/$preset-resnet20.err" >&2
    continue
  fi
  read -r log_n top dnum < <(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["params"]
print(p["log_n"], p["levels"] + p["bootstrap_levels"], p["dnum"])' "$work/$preset-resnet20.json")
  for op in hmult hrot; do
    cmd="simulate --op $op --log-n $log_n --levels $top --dnum $dnum --config $preset --allow-insecure --json"
    # shellcheck disable=SC2086
    "$heaccel" $cmd >"$work/$preset-$op.json"
    echo "$cmd" >"$work/$preset-$op.cmd"
  done
done

# The trained CIFAR-10 ResNet-20 (akamaster's weights, option-A shortcuts; the network of
# `heaccel accuracy` and `infer-boot`), dense as the encrypted run, with the minimax ReLU at
# alpha 8 and 13, when the project's test data is beside the checkout.
weights=$root/../shared/data/resnet20-akamaster.safetensors
if [ -f "$weights" ]; then
  for preset in sharp ark bts asic fpga-u280; do
    for alpha in 8 13; do
      cmd="simulate --model resnet20 --weights $weights --strategy dense --activation relu-minimax:$alpha --config $preset --json"
      echo "== trained resnet20 alpha $alpha on $preset" >&2
      echo "$cmd" >"$work/trained-$preset-$alpha.cmd"
      # shellcheck disable=SC2086
      if ! "$heaccel" $cmd >"$work/trained-$preset-$alpha.json" 2>"$work/trained-$preset-$alpha.err"; then
        cat "$work/trained-$preset-$alpha.err" >&2
      fi
    done
  done
else
  echo "notice: $weights is absent: the trained ResNet-20 rows are skipped" >&2
fi

python3 - "$work" "$out" "$cpu" "$load" "$started" <<'PY'
import json, os, sys
work, out, cpu, load, started = sys.argv[1:6]
# Published latencies, milliseconds (docs/PUBLISHED.md, from the project's background brief;
# HMult and HRot were not found in the sources reachable while writing the presets).
published = {
    "sharp": {"bootstrap_ms": 3.12, "resnet20_ms": 99.0},
    "ark": {"bootstrap_ms": 3.52, "resnet20_ms": 125.0},
    "craterlake": {"bootstrap_ms": 3.91, "resnet20_ms": 249.45},
    "bts": {"bootstrap_ms": 22.9, "resnet20_ms": 1910.0},
    "f1": {},
}
rows = {}
for preset in published:
    load_json = lambda kind: json.load(open(os.path.join(work, f"{preset}-{kind}.json")))
    cmd = lambda kind: "heaccel " + open(os.path.join(work, f"{preset}-{kind}.cmd")).read().strip()
    b = load_json("bootstrap")
    bootstrap = {
        "command": cmd("bootstrap"),
        "whole_program_ms": b["whole_program"]["time_us"] / 1e3,
        "per_op_sum_ms": b["time_us"] / 1e3,
        "level_top": b["level_top"],
        "dnum": b["dnum"],
        "galois_keys": b["galois_keys"],
        "offchip_gb": b["whole_program"]["offchip_bytes"] / 1e9,
        "offchip_lower_bound_gb": b["whole_program"]["offchip_lower_bound_bytes"] / 1e9,
        "bound": b["whole_program"]["bound"],
    }
    err = os.path.join(work, f"{preset}-resnet20.err")
    if os.path.getsize(err) > 0:
        rows[preset] = {
            "published": published[preset],
            "bootstrap": bootstrap,
            "resnet20": {"command": cmd("resnet20"), "error": open(err).read().strip()},
        }
        continue
    r, hm, hr = (load_json(k) for k in ("resnet20", "hmult", "hrot"))
    w = r["whole_program"]
    rows[preset] = {
        "published": published[preset],
        "resnet20": {
            "command": cmd("resnet20"),
            "whole_program_ms": r["total"]["time_us"] / 1e3,
            "per_op_sum_ms": r["total"]["per_op_sum_us"] / 1e3,
            "bootstrappings": r["total"]["bootstrappings"],
            "params": r["params"],
            "instructions": w["instructions"],
            "offchip_gb": w["offchip_bytes"] / 1e9,
            "offchip_by_class_gb": {k: v / 1e9 for k, v in w["offchip_by_class"].items()},
            "offchip_lower_bound_gb": w["offchip_lower_bound_bytes"] / 1e9,
            "bound": w["bound"],
            "busy": w["busy"],
            "wall_seconds": r["run"]["wall_seconds"],
        },
        "bootstrap": bootstrap,
        "hmult": {"command": cmd("hmult"), "ms": hm["time_us"] / 1e3, "bound": hm["bound"]},
        "hrot": {"command": cmd("hrot"), "ms": hr["time_us"] / 1e3, "bound": hr["bound"]},
    }
trained = {}
for preset in ("sharp", "ark", "bts", "asic", "fpga-u280"):
    for alpha in (8, 13):
        path = os.path.join(work, f"trained-{preset}-{alpha}.json")
        if not os.path.exists(path):
            continue
        err = path[:-5] + ".err"
        if os.path.getsize(err) > 0:
            trained[f"{preset}/alpha{alpha}"] = {
                "command": "heaccel " + open(path[:-5] + ".cmd").read().strip(),
                "error": open(err).read().strip(),
            }
            continue
        r = json.load(open(path))
        trained[f"{preset}/alpha{alpha}"] = {
            "command": "heaccel " + open(path[:-5] + ".cmd").read().strip(),
            "whole_program_ms": r["total"]["time_us"] / 1e3,
            "per_op_sum_ms": r["total"]["per_op_sum_us"] / 1e3,
            "bootstrappings": r["total"]["bootstrappings"],
            "levels": r["params"]["levels"],
        }
doc = {
    "command": "bash bench/published_table.sh",
    "date": started,
    "cpu_model": cpu,
    "loadavg_at_start": load,
    "presets": rows,
    "trained_resnet20": trained,
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(tmp, out)
for p, r in rows.items():
    pub = r["published"]
    if "error" in r["resnet20"]:
        print(f"{p:11} resnet20: {r['resnet20']['error']}  boot {r['bootstrap']['whole_program_ms']:7.2f} ms")
        continue
    print(f"{p:11} resnet20 {r['resnet20']['whole_program_ms']:9.1f} ms (per-op {r['resnet20']['per_op_sum_ms']:9.1f}; published {pub.get('resnet20_ms', '-')})"
          f"  boot {r['bootstrap']['whole_program_ms']:7.2f} ms (per-op {r['bootstrap']['per_op_sum_ms']:7.2f}; published {pub.get('bootstrap_ms', '-')})"
          f"  hmult {r['hmult']['ms']:.3f}  hrot {r['hrot']['ms']:.3f} ms")
for k, r in trained.items():
    if "error" in r:
        print(f"trained resnet20 {k:18} {r['error']}")
        continue
    print(f"trained resnet20 {k:18} {r['whole_program_ms']:9.1f} ms (per-op {r['per_op_sum_ms']:9.1f}), {r['bootstrappings']} bootstrappings")
print(f"wrote {out}")
PY
