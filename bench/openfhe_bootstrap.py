#!/usr/bin/env python3
"""OpenFHE CKKS bootstrapping, single thread, as the baseline for `heaccel ckks bootstrap`.

Prints ONE JSON object on stdout: parameters (ring dimension, slots, secret distribution and
its Hamming weight, level budget, modulus sizes, log QP, security level), times (key
generation, bootstrapping setup, median bootstrapping time over --reps after one warm-up),
the levels left after bootstrapping and the precision on uniform real slots in [-1, 1].
Progress goes to stderr.

Needs the PyPI wheel `openfhe` (built for CPython 3.10 only) and numpy;
bench/compare_openfhe.sh makes a venv with both. Example:
    OMP_NUM_THREADS=1 bench/.venv-openfhe/bin/python bench/openfhe_bootstrap.py --preset n12 --reps 3

Presets (the nearest OpenFHE can get to heaccel's presets; OpenFHE picks every modulus from
two sizes, firstModSize for q_0 and scalingModSize for all others):
    n12  ring dim 2^12, 2^11 slots, SPARSE_TERNARY, level budget {3,3}, 2 levels left,
         HEStd_NotSet (toy size, like heaccel's insecure `boot-test`)
    n16  ring dim 2^16, 2^15 slots, SPARSE_TERNARY, level budget {3,3}, 9 levels left,
         HEStd_128_classic if OpenFHE accepts the parameters, else HEStd_NotSet (recorded
         in "security"); like heaccel's `n16-boot`
Both use FLEXIBLEAUTO with firstModSize 60 and scalingModSize 59, the values OpenFHE's
bootstrapping examples and docs recommend for 64-bit builds, so every level left after
bootstrapping is a 59-bit prime (heaccel's are 40-bit). Smaller scaling primes cost OpenFHE
precision: at n12, 50 gives about 13.7 mean bits instead of 25, and 40 is refused by
EvalBootstrap ("Degree [20] must be less than or equal to the correction factor [11]").
With 59-bit primes and the default 3 key-switching digits, n16 has log QP = 2075 (26 q-primes,
9 60-bit p-primes), above the bound OpenFHE applies at 2^16 (1747 in v1.5.1's table), so
HEStd_128_classic is rejected and n16 runs HEStd_NotSet. 13 digits (log QP about 1656) is the
fewest wheel 1.6.1 accepts (9 to 12 digits, about 1716, are rejected); each key-switching key
would then be about 3.5 times larger, and this preset already peaks at 12 GB.

The input is encrypted the way OpenFHE's own example does it
(MakeCKKSPackedPlaintext(x, 1, depth - 1), i.e. with two towers q_0 q_1 left: FLEXIBLEAUTO
spends q_1 on its scale adjustment before ModRaise), then EvalBootstrap.
"""
import os

# Must be set before the native module (and its bundled libgomp) is loaded.
os.environ["OMP_NUM_THREADS"] = "1"

import argparse
import json
import math
import platform
import resource
import statistics
import sys
import time

import numpy as np
import openfhe as fhe

PRESETS = {
    "n12": dict(log_n=12, levels_after=2, security="NotSet"),
    "n16": dict(log_n=16, levels_after=9, security="128_classic"),
}
DEFAULTS = dict(secret="sparse", level_budget=[3, 3], scaling_mod_size=59, first_mod_size=60,
                num_large_digits=0)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def threads_now():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return None


def is_prime(n):
    """Deterministic Miller-Rabin for n < 3.3e24 (enough for 64-bit moduli)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def context_facts(cc):
    """Moduli of Q, the key-switching digit count and the special primes P.

    Q's primes come from the context's own serialization. OpenFHE does not serialize P and the
    Python bindings do not expose it, so P is rebuilt the way
    CryptoParametersRNS::PrecomputeCRTTables builds it (rns-cryptoparameters.cpp):
    sizeP = ceil(max bits of a digit Q_j / auxBits) primes, p = 1 mod 2N, walking down from
    FirstPrime(auxBits, 2N) and skipping primes of Q."""
    d = json.loads(fhe.Serialize(cc, fhe.JSON))
    cp = d["value0"]["ptr_wrapper"]["data"]["cc"]["ptr_wrapper"]["data"]["value0"]
    rns = cp["value0"]["value0"]
    towers = rns["elp"]["ptr_wrapper"]["data"]["p"]
    q = [int(t["ptr_wrapper"]["data"]["value0"]["cm"]["v"]) for t in towers]
    dnum, aux_bits = int(cp["dnum"]), int(cp["ab"])
    n = cc.GetRingDimension()
    per_digit = math.ceil(len(q) / dnum)
    digits = [math.prod(q[j:j + per_digit]) for j in range(0, len(q), per_digit)]
    size_p = math.ceil(max(x.bit_length() for x in digits) / aux_bits)
    m = 2 * n
    first = (1 << aux_bits) + 1 - ((1 << aux_bits) % m) + (m if (1 << aux_bits) % m else 0)
    while not is_prime(first):
        first += m
    p, cand, qs = [], first, set(q)
    while len(p) < size_p:
        cand -= m
        while not is_prime(cand) or cand in qs:
            cand -= m
        p.append(cand)
    return dict(q=q, p=p, dnum=dnum, aux_bits=aux_bits)


def _ntt(a, w, mod):
    """out_j = sum_k a_k w^(k j) mod `mod` (radix-2, len(a) a power of two)."""
    n = len(a)
    if n == 1:
        return a[:]
    w2 = w * w % mod
    even, odd = _ntt(a[0::2], w2, mod), _ntt(a[1::2], w2, mod)
    out, t, h = [0] * n, 1, n // 2
    for k in range(h):
        x = odd[k] * t % mod
        out[k] = (even[k] + x) % mod
        out[k + h] = (even[k] - x) % mod
        t = t * w % mod
    return out


def secret_hamming_weight(cc, sk):
    """Counts the non-zero coefficients of the secret key actually generated.

    The key is serialized in EVALUATION format; tower t holds s(psi^(2 br(k) + 1)) at index k
    (br = bit reversal, psi = the tower's 2N-th root of unity, also serialized). Inverting that
    on the smallest tower must give coefficients in {-1, 0, 1}, which checks the layout;
    returns None if it does not."""
    d = json.loads(fhe.Serialize(sk, fhe.JSON))
    data = d["value0"]["ptr_wrapper"]["data"]
    towers = data["s"]["v"]
    roots = {}
    elp = data["value0"]["value0"]["cc"]["ptr_wrapper"]["data"]["cc"]["ptr_wrapper"]["data"]
    for t in elp["value0"]["value0"]["value0"]["elp"]["ptr_wrapper"]["data"]["p"]:
        v = t["ptr_wrapper"]["data"]["value0"]
        roots[int(v["cm"]["v"])] = int(v["ru"]["v"])
    if int(data["s"]["f"]) != 0:  # 0 = Format::EVALUATION
        return None
    best = min(towers, key=lambda t: int(t["v"]["ptr_wrapper"]["data"]["m"]["v"]))
    mod = int(best["v"]["ptr_wrapper"]["data"]["m"]["v"])
    vals = best["v"]["ptr_wrapper"]["data"]["v"]
    psi = roots[mod]
    n = len(vals)
    lg = n.bit_length() - 1
    a = [int(vals[int(format(k, "0%db" % lg)[::-1], 2)]) for k in range(n)]
    b = _ntt(a, pow(psi * psi % mod, -1, mod), mod)
    n_inv, psi_inv = pow(n, -1, mod), pow(psi, -1, mod)
    weight, t = 0, n_inv
    for j in range(n):
        c = b[j] * t % mod
        t = t * psi_inv % mod
        if c not in (0, 1, mod - 1):
            return None
        weight += c != 0
    return weight


def make_context(log_n, depth, secret, sec_name, sms, fms, dnum):
    p = fhe.CCParamsCKKSRNS()
    p.SetSecretKeyDist(secret)
    p.SetSecurityLevel(getattr(fhe.SecurityLevel, "HEStd_" + sec_name))
    p.SetRingDim(1 << log_n)
    p.SetScalingModSize(sms)
    p.SetFirstModSize(fms)
    p.SetScalingTechnique(fhe.ScalingTechnique.FLEXIBLEAUTO)
    p.SetKeySwitchTechnique(fhe.KeySwitchTechnique.HYBRID)
    if dnum:
        p.SetNumLargeDigits(dnum)
    p.SetMultiplicativeDepth(depth)
    return fhe.GenCryptoContext(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="n12")
    ap.add_argument("--reps", type=int, default=3, help="timed bootstrappings after one warm-up")
    ap.add_argument("--seed", type=int, default=1, help="numpy seed of the slot values")
    ap.add_argument("--secret", choices=["sparse", "uniform"], default=DEFAULTS["secret"])
    ap.add_argument("--level-budget", default=None, help="CoeffsToSlots,SlotsToCoeffs (default 3,3)")
    ap.add_argument("--levels-after", type=int, default=None)
    ap.add_argument("--scaling-mod-size", type=int, default=DEFAULTS["scaling_mod_size"])
    ap.add_argument("--first-mod-size", type=int, default=DEFAULTS["first_mod_size"])
    ap.add_argument("--num-large-digits", type=int, default=DEFAULTS["num_large_digits"],
                    help="key-switching digits (0 = OpenFHE's default, 3 for these depths)")
    ap.add_argument("--security", choices=["128_classic", "NotSet"], default=None,
                    help="default per preset; 128_classic falls back to NotSet if rejected")
    ap.add_argument("--no-hw-check", action="store_true",
                    help="skip counting the secret key's non-zero coefficients")
    args = ap.parse_args()

    pre = PRESETS[args.preset]
    log_n = pre["log_n"]
    levels_after = pre["levels_after"] if args.levels_after is None else args.levels_after
    lb = DEFAULTS["level_budget"] if args.level_budget is None else \
        [int(x) for x in args.level_budget.split(",")]
    sec_req = pre["security"] if args.security is None else args.security
    secret = fhe.SecretKeyDist.SPARSE_TERNARY if args.secret == "sparse" \
        else fhe.SecretKeyDist.UNIFORM_TERNARY
    boot_depth = fhe.CryptoContext.GetBootstrapDepth(lb, secret)
    depth = levels_after + boot_depth
    sms, fms, dnum = args.scaling_mod_size, args.first_mod_size, args.num_large_digits

    t0 = time.perf_counter()
    security, rejected = sec_req, None
    try:
        cc = make_context(log_n, depth, secret, sec_req, sms, fms, dnum)
    except Exception as e:  # OpenFHE raises RuntimeError with its message
        if sec_req == "NotSet":
            raise
        rejected = str(e).split("):")[-1].strip()
        log(f"HEStd_{sec_req} rejected ({rejected}); using HEStd_NotSet")
        security = "NotSet"
        cc = make_context(log_n, depth, secret, security, sms, fms, dnum)
    for f in (fhe.PKE, fhe.KEYSWITCH, fhe.LEVELEDSHE, fhe.ADVANCEDSHE, fhe.FHE):
        cc.Enable(f)
    context_s = time.perf_counter() - t0
    n = cc.GetRingDimension()
    slots = n // 2
    facts = context_facts(cc)
    log_q = sum(math.log2(x) for x in facts["q"])
    log_p = sum(math.log2(x) for x in facts["p"])
    log(f"N = {n}, {slots} slots, depth {depth} (bootstrap {boot_depth} + {levels_after}), "
        f"{len(facts['q'])} q-primes, {len(facts['p'])} p-primes, dnum {facts['dnum']}, "
        f"log QP = {log_q + log_p:.1f}, HEStd_{security}")

    t0 = time.perf_counter()
    cc.EvalBootstrapSetup(lb, [0, 0], slots)
    setup_s = time.perf_counter() - t0
    log(f"EvalBootstrapSetup {setup_s:.2f} s")

    t0 = time.perf_counter()
    kp = cc.KeyGen()
    cc.EvalMultKeyGen(kp.secretKey)
    cc.EvalBootstrapKeyGen(kp.secretKey, slots)
    keygen_s = time.perf_counter() - t0
    log(f"KeyGen + EvalMultKeyGen + EvalBootstrapKeyGen {keygen_s:.2f} s")

    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1.0, 1.0, slots)
    pt = cc.MakeCKKSPackedPlaintext(x.tolist(), 1, depth - 1, None, slots)
    ct = cc.Encrypt(kp.publicKey, pt)
    level_in = ct.GetLevel()

    times = []
    for rep in range(args.reps + 1):
        t0 = time.perf_counter()
        out = cc.EvalBootstrap(ct)
        dt = time.perf_counter() - t0
        log(f"EvalBootstrap {'warm-up' if rep == 0 else rep}: {dt:.3f} s")
        if rep:
            times.append(dt)
        else:
            first_s = dt
    threads = threads_now()

    # Levels left: towers above the current level, minus a pending rescale (FLEXIBLEAUTO leaves
    # the product unrescaled, noise-scale degree 2).
    level_out, nsd = out.GetLevel(), out.GetNoiseScaleDeg()
    levels_left = depth - level_out - (nsd - 1)

    res = cc.Decrypt(kp.secretKey, out)
    res.SetLength(slots)
    y = np.array(res.GetRealPackedValue()[:slots])
    err = np.abs(y - x)

    # Use up the levels: multiplying by 1.0 costs one level each; the result must still decrypt.
    ct_l = out
    for _ in range(levels_left):
        ct_l = cc.EvalMult(ct_l, 1.0)
    r2 = cc.Decrypt(kp.secretKey, ct_l)
    r2.SetLength(slots)
    err_l = float(np.max(np.abs(np.array(r2.GetRealPackedValue()[:slots]) - x)))

    hw = None if args.no_hw_check else secret_hamming_weight(cc, kp.secretKey)

    result = {
        "library": "openfhe",
        "version": getattr(fhe, "__version__", None),
        "preset": args.preset,
        "ring_dim": n,
        "slots": slots,
        "secret": "sparse_ternary" if args.secret == "sparse" else "uniform_ternary",
        "hamming_weight": hw,
        "hamming_weight_note": "counted in the generated key" if hw is not None else
        ("OpenFHE source: 192 for SPARSE_TERNARY (base-pke.cpp, since PR #489)"
         if args.secret == "sparse" else "uniform ternary, about 2N/3"),
        "security": "HEStd_" + security,
        "security_rejected": None if rejected is None else f"HEStd_{sec_req}: {rejected}",
        "security_note": "OpenFHE checks log QP against the HE-standard table for uniform ternary "
                         "secrets whatever the secret distribution; it does not estimate sparse "
                         "secrets" if args.secret == "sparse" and security != "NotSet" else None,
        "scaling_technique": "FLEXIBLEAUTO",
        "level_budget": lb,
        "scaling_mod_size": sms,
        "first_mod_size": fms,
        "bootstrap_depth": boot_depth,
        "mult_depth": depth,
        "levels_after": levels_left,
        "levels_after_checked_max_err": err_l,
        "num_large_digits": facts["dnum"],
        "log_q_moduli": [round(math.log2(v), 3) for v in facts["q"]],
        "log_p_moduli": [round(math.log2(v), 3) for v in facts["p"]],
        "log_qp": round(log_q + log_p, 3),
        "log_p_note": "P rebuilt by OpenFHE's PrecomputeCRTTables rule (not exposed by the bindings)",
        "input_level": level_in,
        "output_level": level_out,
        "output_noise_scale_deg": nsd,
        "context_s": context_s,
        "keygen_s": keygen_s,
        "setup_s": setup_s,
        "bootstrap_s": statistics.median(times) if times else None,
        "bootstrap_all_s": times,
        "bootstrap_first_s": first_s,
        "reps": args.reps,
        "precision_mean_bits": -math.log2(float(np.mean(err))),
        "precision_min_bits": -math.log2(float(np.max(err))),
        "seed": args.seed,
        "input": "uniform real in [-1, 1], all slots",
        "threads": threads,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "python": platform.python_version(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
