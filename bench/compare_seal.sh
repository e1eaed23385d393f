#!/usr/bin/env bash
# heaccel's CKKS beside Microsoft SEAL (TenSEAL 0.3.18 wheel, SEAL 4.3 without HEXL) on the
# same primes (preset spencnn-n14: N = 2^14, 33 + 12 x 31-bit primes, one 33-bit special
# prime), single thread, in one run: two alternating rounds, ratio = heaccel / SEAL per round.
# Run on an otherwise idle machine: concurrent builds distort both sides.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import tenseal" 2>/dev/null || pip install -q tenseal==0.3.18
cargo build --release -q -p heaccel-cli
primes=$(./target/release/heaccel ckks params --preset spencnn-n14 |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(",".join(map(str, d["q"] + d["p"])))')
out=target/compare-seal
mkdir -p "$out"
# The CPU and the kernels each prime dispatches to, so the figures can be traced to their path.
./target/release/heaccel ckks kernels --preset spencnn-n14
ops="hmult_relin rotate rescale conjugate pmult add"
for round in 1 2; do
  OMP_NUM_THREADS=1 python3 bench/seal_baseline.py --log-n 14 --primes "$primes" --scale-bits 31 \
    --reps 20 > "$out/seal-$round.json" 2> "$out/seal-$round.log"
  cargo bench -q -p heaccel-verification --bench ckks -- \
    "ckks/(hmult_relin|rotate|rescale|conjugate|pmult|add)/spencnn-n14" \
    --warm-up-time 1 --measurement-time 3 --noplot > "$out/heaccel-$round.log" 2>&1
  python3 - "$out/seal-$round.json" "$round" $ops <<'PY'
import json, sys, pathlib
seal = {op["name"]: op["ms"] for op in json.load(open(sys.argv[1]))["ops"]}
round_ = sys.argv[2]
print(f"round {round_}: {'operation':<12} {'heaccel ms':>11} {'SEAL ms':>9} {'ratio':>7}")
for op in sys.argv[3:]:
    est = pathlib.Path(f"target/criterion/ckks/{op}_spencnn-n14/new/estimates.json")
    ours = json.load(open(est))["median"]["point_estimate"] / 1e6
    print(f"round {round_}: {op:<12} {ours:>11.3f} {seal[op]:>9.3f} {ours / seal[op]:>7.2f}")
PY
done
