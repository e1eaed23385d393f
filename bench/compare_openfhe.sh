#!/usr/bin/env bash
# CKKS bootstrapping, heaccel (`heaccel ckks bootstrap`) beside OpenFHE (PyPI wheel `openfhe`,
# which is built for CPython 3.10 only), one thread each, in one run:
#   N = 2^12: heaccel --preset boot-test (insecure test preset) vs bench/openfhe_bootstrap.py
#             --preset n12, two rounds in alternating order
#   N = 2^16: heaccel --preset n16-boot vs openfhe_bootstrap.py --preset n16, one round
#             (skipped with --quick; minutes and several GB of memory each)
# Both sides: full slots (N/2), sparse ternary secret of Hamming weight 192, uniform real slots
# in [-1, 1], bootstrapping from the lowest level; see bench/openfhe_bootstrap.py for how close
# the OpenFHE parameters are (its moduli, security level and timing rules).
# Prints a table (time, levels left, precision, ratio = heaccel / OpenFHE time) and writes the
# raw JSON of every run to --out (default bench/results/bootstrap-openfhe-<date>.json).
#
# Run:  bash bench/compare_openfhe.sh [--quick] [--out FILE]
# It makes bench/.venv-openfhe from a CPython 3.10 (pyenv's, python3.10 on PATH, uv's, or
# Debian/Ubuntu's python3.10 package where the distribution has one; PYTHON310=/path/to/python3.10
# picks one) and pip-installs openfhe and numpy into it. heaccel is built (incrementally) first;
# it runs with --threads 1. Run on an otherwise idle machine: concurrent jobs distort
# both sides.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
out="bench/results/bootstrap-openfhe-$(date +%Y-%m-%d).json"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) out="${2:?--out needs a file}"; shift ;;
    --out=*) out="${1#--out=}" ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_openfhe.sh: unknown argument '$1' (use --quick, --out FILE)" >&2; exit 2 ;;
  esac
  shift
done

venv=bench/.venv-openfhe
openfhe_pin="openfhe==1.6.1.0.22.4"

is_py310() { "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

find_py310() {
  local c
  # A pyenv shim named python3.10 exists even when pyenv has no 3.10 selected and then fails,
  # so every candidate is run, not just looked up.
  for c in "${PYTHON310:-}" "$HOME"/.pyenv/versions/3.10.13/bin/python3.10 \
           "$HOME"/.pyenv/versions/3.10.*/bin/python3.10 \
           "$(command -v python3.10 || true)" /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -n "$c" ] && [ -x "$c" ] && is_py310 "$c" && { echo "$c"; return 0; }
  done
  if command -v uv >/dev/null 2>&1; then
    c=$(uv python find 3.10 2>/dev/null || { uv python install 3.10 >&2 && uv python find 3.10; } || true)
    [ -n "$c" ] && is_py310 "$c" && { echo "$c"; return 0; }
  fi
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    if ! apt-cache policy python3.10 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      apt-get update -qq >&2 || true
    fi
    if apt-cache policy python3.10 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.10 python3.10-venv >&2
      is_py310 /usr/bin/python3.10 && { echo /usr/bin/python3.10; return 0; }
    fi
  fi
  return 1
}

if ! { [ -x "$venv/bin/python" ] && is_py310 "$venv/bin/python"; }; then
  if ! py310=$(find_py310); then
    cat >&2 <<'EOF'
compare_openfhe.sh: no CPython 3.10 found. The openfhe wheel on PyPI is built for 3.10 only.
Tried: $PYTHON310, ~/.pyenv/versions/3.10.*/bin/python3.10, python3.10 on PATH, /usr/bin and
/usr/local/bin, `uv python find/install 3.10`, and apt's python3.10 (none in Debian 12).
Install one (e.g. `pyenv install 3.10`) or point PYTHON310 at a python3.10 and re-run.
EOF
    exit 1
  fi
  echo "creating $venv with $py310" >&2
  rm -rf "$venv"
  "$py310" -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -c 'import openfhe, numpy' 2>/dev/null || "$py" -m pip install -q "$openfhe_pin" numpy

heaccel=./target/release/heaccel
cargo build --release -q -p heaccel-cli

logs=target/compare-openfhe
mkdir -p "$logs" "$(dirname "$out")"
# One thread each: OpenFHE's OpenMP obeys OMP_NUM_THREADS (openfhe_bootstrap.py sets it too);
# heaccel runs with --threads 1.
export OMP_NUM_THREADS=1
# The CPU's features and the kernel each prime of both heaccel presets runs on.
"$heaccel" --threads 1 ckks kernels --preset boot-test --allow-insecure --json > "$logs/kernels-boot-test.json"
"$heaccel" --threads 1 ckks kernels --preset n16-boot --json > "$logs/kernels-n16-boot.json"
"$heaccel" --threads 1 ckks kernels --preset n16-boot
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
load=$(cat /proc/loadavg)
if [ "$quick" = 1 ]; then command="bash bench/compare_openfhe.sh --quick --out $out"
else command="bash bench/compare_openfhe.sh --out $out"; fi
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
: > "$logs/runs.jsonl"

# run ROUND PAIR LIBRARY PRESET: one bootstrapping benchmark, its JSON appended to runs.jsonl
run() {
  local round=$1 pair=$2 lib=$3 preset=$4 f="$logs/$2-$3-$1"
  echo "round $round: $lib $preset ..." >&2
  if [ "$lib" = heaccel ]; then
    local extra=()
    [ "$preset" = boot-test ] && extra=(--allow-insecure)
    "$heaccel" --threads 1 ckks bootstrap --preset "$preset" "${extra[@]}" --json > "$f.json" 2> "$f.log"
  else
    local reps=3
    [ "$preset" = n16 ] && reps=1
    "$py" bench/openfhe_bootstrap.py --preset "$preset" --reps "$reps" > "$f.json" 2> "$f.log"
  fi
  "$py" - "$f.json" "$round" "$pair" "$lib" "$preset" >> "$logs/runs.jsonl" <<'PY'
import json, sys
path, round_, pair, lib, preset = sys.argv[1:]
print(json.dumps({"round": int(round_), "pair": pair, "library": lib, "preset": preset,
                  "result": json.load(open(path))}))
PY
}

run 1 n12 heaccel boot-test
run 1 n12 openfhe n12
run 2 n12 openfhe n12
run 2 n12 heaccel boot-test
if [ "$quick" = 0 ]; then
  avail=$(awk '/^MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
  [ "$avail" -ge 14 ] || echo "warning: only $avail GB available; the N = 2^16 runs need several GB" >&2
  run 1 n16 heaccel n16-boot
  run 1 n16 openfhe n16
fi

"$py" - "$logs/runs.jsonl" "$out" "$command" "$started" "$cpu" "$load" "$logs" <<'PY'
import json, os, sys
runs_path, out, command, started, cpu, load, logs = sys.argv[1:]
runs = [json.loads(l) for l in open(runs_path) if l.strip()]
kernels = {p: json.load(open(os.path.join(logs, f"kernels-{p}.json"))) for p in ("boot-test", "n16-boot")}


def row(r):
    """library, N, slots, levels left (x bits), time s, first-run time s, mean/min bits."""
    d = r["result"]
    if r["library"] == "heaccel":
        n = 1 << d["log_n"] if "log_n" in d else d.get("ring_dim")
        t = d["time_ms"] / 1e3
        first = t  # one bootstrapping per heaccel run, no warm-up
        bits = d.get("log_scale_after")
    else:
        n, t, first, bits = d["ring_dim"], d["bootstrap_s"], d["bootstrap_first_s"], d["scaling_mod_size"]
    levels = f"{d['levels_after']}" + (f" x {bits:g}b" if bits is not None else "")
    return [r["library"], n, d["slots"], levels, t, first,
            d["precision_mean_bits"], d["precision_min_bits"]]


hdr = ["round", "pair", "library", "N", "slots", "levels left", "boot s", "1st s", "mean bits",
       "min bits"]
fmt = "{:<5} {:<4} {:<8} {:>6} {:>6} {:>11} {:>8} {:>8} {:>9} {:>8}"
print(fmt.format(*hdr))
by = {}
for r in runs:
    lib, n, slots, levels, t, first, mean, mn = row(r)
    by.setdefault((r["round"], r["pair"]), {})[lib] = t
    print(fmt.format(r["round"], r["pair"], lib, n, slots, levels, f"{t:.3f}", f"{first:.3f}",
                     f"{mean:.1f}", f"{mn:.1f}"))
for (round_, pair), t in sorted(by.items()):
    if "heaccel" in t and "openfhe" in t:
        print(f"round {round_} {pair}: time ratio heaccel / OpenFHE = {t['heaccel'] / t['openfhe']:.2f}")
print("heaccel: one bootstrapping per run (cold); OpenFHE: median of its reps after one warm-up "
      "(1st s = the warm-up). Levels left: count x bits of each remaining prime.")

doc = {"command": command, "date": started, "cpu": cpu, "load": load, "heaccel_threads": 1,
       "heaccel_kernels": kernels, "runs": runs}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
os.replace(tmp, out)
print(f"wrote {out}")
PY
