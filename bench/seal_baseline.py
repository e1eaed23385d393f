#!/usr/bin/env python3
"""Microsoft SEAL CKKS baseline timings via TenSEAL's low-level bindings (tenseal.sealapi).

Prints ONE JSON object on stdout: library/version, parameters, per-op medians (ms),
correctness/precision checks and environment facts (HEXL, CPU, threads).
Progress/diagnostics go to stderr.

Example:
    OMP_NUM_THREADS=1 python3 bench/seal_baseline.py --log-n 14 --scale-bits 31 --reps 20
    python3 bench/seal_baseline.py --log-n 14 --primes 8589279233,2143092737,...,8589475841

Conventions (same as SEAL): the LAST prime in --primes is the special (key-switching) prime;
all others are data primes. SEAL key switching uses exactly one special prime and decomposes
per data prime (dnum = number of data primes).
"""
import os

# Must be set before the native modules are loaded. SEAL itself has no internal threading
# (the wheel's _sealapi_cpp .so does not even import pthread_create); this is belt and braces.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import math
import platform
import re
import statistics
import sys
import time

import numpy as np
import tenseal
import tenseal.sealapi as seal

_sealapi_cpp = sys.modules.get("_sealapi_cpp")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Environment facts
# ---------------------------------------------------------------------------------------
def seal_version_from_header(ct):
    """SEAL writes version_major/version_minor into every serialization header.
    Layout (seal/serialization.h): u16 magic=0xA15E, u8 header_size, u8 major, u8 minor,
    u8 compr_mode, u16 reserved, u64 size."""
    path = "/tmp/_seal_baseline_hdr_%d.bin" % os.getpid()
    try:
        ct.save(path)
        with open(path, "rb") as f:
            hdr = f.read(16)
    finally:
        try:
            os.remove(path)
        except OSError:
            pass
    magic = int.from_bytes(hdr[0:2], "little")
    if magic != 0xA15E:
        return "unknown"
    return "%d.%d" % (hdr[3], hdr[4])


def native_libs():
    libs = []
    for mod in ("_sealapi_cpp", "_tenseal_cpp"):
        m = sys.modules.get(mod)
        if m is not None and getattr(m, "__file__", None):
            libs.append(m.__file__)
    site = os.path.dirname(os.path.dirname(tenseal.__file__))
    for name in os.listdir(site):
        if name.startswith("libtenseal") and name.endswith(".so"):
            libs.append(os.path.join(site, name))
    # also anything bundled in a tenseal.libs dir (auditwheel)
    for d in ("tenseal.libs", "tenseal/.libs"):
        p = os.path.join(site, d)
        if os.path.isdir(p):
            libs += [os.path.join(p, n) for n in os.listdir(p)]
    return sorted(set(libs))


def hexl_check():
    """Scan the wheel's native libraries for any trace of Intel HEXL (symbols, strings)."""
    out = {}
    for path in native_libs():
        with open(path, "rb") as f:
            data = f.read()
        out[os.path.basename(path)] = {
            "hexl_string_hits": len(re.findall(rb"(?i)hexl", data)),
            "size_bytes": len(data),
        }
    built_with_hexl = any(v["hexl_string_hits"] > 0 for v in out.values())
    return built_with_hexl, out


def cpu_facts():
    model, flags = platform.processor(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {
        "cpu_model": model,
        "logical_cpus": os.cpu_count(),
        "cpu_has_avx512f": "avx512f" in flags,
        "cpu_has_avx512ifma": "avx512ifma" in flags,
        "cpu_has_avx2": "avx2" in flags,
    }


def thread_count():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


# ---------------------------------------------------------------------------------------
# Timing helpers
# ---------------------------------------------------------------------------------------
def time_op(fn, reps, setup=None, warmup=2):
    """Median wall time (ms) of fn() over reps; setup() (untimed) runs before each call."""
    samples, cpu = [], []
    for i in range(warmup + reps):
        if setup is not None:
            setup()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        c1 = time.thread_time()
        if i >= warmup:
            samples.append((t1 - t0) * 1e3)
            cpu.append((c1 - c0) * 1e3)
    return {
        "ms": statistics.median(samples),
        "min_ms": min(samples),
        "max_ms": max(samples),
        "cpu_ms": statistics.median(cpu),
        "reps": reps,
    }


def bits(err):
    return float("inf") if err == 0 else -math.log2(err)


# ---------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log-n", type=int, default=14)
    ap.add_argument("--primes", type=str, default=None,
                    help="comma-separated explicit primes; last one = special prime. "
                         "Default: CoeffModulus.Create(N, [33]+[31]*12+[33])")
    ap.add_argument("--bit-sizes", type=str, default="33," + ",".join(["31"] * 12) + ",33",
                    help="bit sizes for CoeffModulus.Create when --primes is omitted")
    ap.add_argument("--scale-bits", type=int, default=31)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--sec-level", choices=["tc128", "none"], default="tc128",
                    help="SEAL security check (tc128 max for N=2^14 is 438 bits total)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    load_start = os.getloadavg()
    N = 1 << args.log_n
    slots = N // 2
    scale = 2.0 ** args.scale_bits
    rng = np.random.default_rng(args.seed)

    # ---- parameters -------------------------------------------------------------------
    parms = seal.EncryptionParameters(seal.SCHEME_TYPE.CKKS)
    parms.set_poly_modulus_degree(N)
    if args.primes:
        primes = [int(x) for x in args.primes.split(",") if x.strip()]
        coeff_modulus = [seal.Modulus(p) for p in primes]   # exact primes
        primes_source = "explicit"
    else:
        bit_sizes = [int(x) for x in args.bit_sizes.split(",")]
        coeff_modulus = seal.CoeffModulus.Create(N, bit_sizes)
        primes = [m.value() for m in coeff_modulus]
        primes_source = "CoeffModulus.Create(N, %s)" % bit_sizes
    parms.set_coeff_modulus(coeff_modulus)
    sec = seal.SEC_LEVEL_TYPE.TC128 if args.sec_level == "tc128" else seal.SEC_LEVEL_TYPE.NONE
    ctx = seal.SEALContext(parms, True, sec)
    if not ctx.parameters_set():
        log("SEAL rejected parameters: %s (%s)" % (ctx.parameters_error_message(),
                                                 ctx.parameters_error_name()))
        sys.exit(2)
    key_cd, first_cd = ctx.key_context_data(), ctx.first_context_data()
    log("N=%d primes=%s, total %d bits (data %d bits), levels=%d, keyswitching=%s" % (
        N, primes, key_cd.total_coeff_modulus_bit_count(), first_cd.total_coeff_modulus_bit_count(),
        first_cd.chain_index(), ctx.using_keyswitching()))

    # ---- keys -------------------------------------------------------------------------
    keygen = seal.KeyGenerator(ctx)
    sk = keygen.secret_key()
    pk = seal.PublicKey()
    keygen.create_public_key(pk)
    rlk = seal.RelinKeys()
    keygen.create_relin_keys(rlk)
    # NB: the binding registers create_galois_keys(vector<uint32_t> galois_elts, ...) BEFORE
    # create_galois_keys(vector<int> steps, ...), so a list of non-negative Python ints is
    # taken as Galois ELEMENTS, not steps. Convert steps -> elements explicitly.
    gtool = first_cd.galois_tool()
    rot_step = 1
    galois_elts = [gtool.get_elt_from_step(rot_step), gtool.get_elt_from_step(0)]  # rot, conj
    gk = seal.GaloisKeys()
    keygen.create_galois_keys(galois_elts, gk)

    encoder = seal.CKKSEncoder(ctx)
    encryptor = seal.Encryptor(ctx, pk, sk)   # encrypt() = public-key, encrypt_symmetric() = sk
    decryptor = seal.Decryptor(ctx, sk)
    ev = seal.Evaluator(ctx)
    assert encoder.slot_count() == slots

    # ---- inputs -----------------------------------------------------------------------
    xa = rng.uniform(-1, 1, slots)
    xb = rng.uniform(-1, 1, slots)
    xc = rng.uniform(-1, 1, slots)
    xa_l, xb_l, xc_l = xa.tolist(), xb.tolist(), xc.tolist()

    def enc(vals):
        pt = seal.Plaintext()
        encoder.encode(vals, scale, pt)
        ct = seal.Ciphertext()
        encryptor.encrypt(pt, ct)
        return ct

    def dec(ct):
        pt = seal.Plaintext()
        decryptor.decrypt(ct, pt)
        return np.array(encoder.decode_double(pt))

    def dec_c(ct):
        pt = seal.Plaintext()
        decryptor.decrypt(ct, pt)
        return np.array(encoder.decode_complex(pt))

    ca, cb = enc(xa_l), enc(xb_l)
    pc = seal.Plaintext()
    encoder.encode(xc_l, scale, pc)

    # ---- correctness / precision ------------------------------------------------------
    checks = {}

    def check(name, got, want):
        err = float(np.max(np.abs(got - want)))
        checks[name] = {"max_abs_err": err, "precision_bits": round(bits(err), 2)}
        return err

    check("encrypt_decrypt", dec(ca), xa)
    prod = seal.Ciphertext()
    ev.multiply(ca, cb, prod)
    ev.relinearize_inplace(prod, rlk)
    check("hmult_relin (before rescale)", dec(prod), xa * xb)
    ev.rescale_to_next_inplace(prod)
    check("hmult_relin_rescale", dec(prod), xa * xb)
    rot = seal.Ciphertext()
    ev.rotate_vector(ca, rot_step, gk, rot)
    check("rotate(+1) == np.roll(x,-1)", dec(rot), np.roll(xa, -rot_step))
    pm = seal.Ciphertext()
    ev.multiply_plain(ca, pc, pm)
    check("pmult", dec(pm), xa * xc)
    sm = seal.Ciphertext()
    ev.add(ca, cb, sm)
    check("add", dec(sm), xa + xb)
    zc = (rng.uniform(-1, 1, slots) + 1j * rng.uniform(-1, 1, slots))
    ptz = seal.Plaintext()
    encoder.encode(zc.tolist(), scale, ptz)
    cz = seal.Ciphertext()
    encryptor.encrypt(ptz, cz)
    cj = seal.Ciphertext()
    ev.complex_conjugate(cz, gk, cj)
    check("conjugate (complex slots)", dec_c(cj), np.conj(zc))
    worst = max(v["max_abs_err"] for v in checks.values())
    # Fresh/HMult/PMult errors are ~1e-5 at Δ=2^31; key switching at the top level with a
    # single 33-bit special prime over 31-bit digits adds ~1e-4..1e-3 (rotate/conjugate).
    # A wrong result (e.g. wrong rotation direction) gives errors of order 1.
    if not worst < 1e-2:
        log("CORRECTNESS FAILURE: %s" % json.dumps(checks, indent=1))
        sys.exit(3)
    for k, v in checks.items():
        log("check %-32s max_abs_err=%.3e  (%.1f bits)" % (k, v["max_abs_err"], v["precision_bits"]))

    # ---- timings (all at the top data level, fresh ciphertexts) -------------------------
    R = args.reps
    ops = []
    dst = seal.Ciphertext()
    pt_tmp = seal.Plaintext()
    ct_tmp = seal.Ciphertext()

    def add_op(name, res, note):
        d = {"name": name, "ms": round(res["ms"], 4), "min_ms": round(res["min_ms"], 4),
             "max_ms": round(res["max_ms"], 4), "thread_cpu_ms": round(res["cpu_ms"], 4),
             "reps": res["reps"], "what": note}
        ops.append(d)
        log("%-17s median %9.4f ms   (min %.4f, max %.4f; thread-cpu median %.4f)" % (
            name, res["ms"], res["min_ms"], res["max_ms"], res["cpu_ms"]))

    def hmult():
        ev.multiply(ca, cb, dst)
        ev.relinearize_inplace(dst, rlk)
    add_op("hmult_relin", time_op(hmult, R),
           "Evaluator.multiply(ct,ct)->3 comps + relinearize_inplace (no rescale)")

    add_op("rotate", time_op(lambda: ev.rotate_vector(ca, rot_step, gk, dst), R),
           "Evaluator.rotate_vector(ct, 1, galois_keys) (automorphism + key switch)")

    resc = seal.Ciphertext()

    def resc_setup():
        ev.multiply(ca, cb, resc)
        ev.relinearize_inplace(resc, rlk)
    add_op("rescale", time_op(lambda: ev.rescale_to_next_inplace(resc), R, setup=resc_setup),
           "Evaluator.rescale_to_next_inplace of a relinearized product (product built untimed)")

    add_op("pmult", time_op(lambda: ev.multiply_plain(ca, pc, dst), R),
           "Evaluator.multiply_plain(ct, pt) (pt in NTT form, no rescale)")

    add_op("add", time_op(lambda: ev.add(ca, cb, dst), R), "Evaluator.add(ct, ct)")

    add_op("encode", time_op(lambda: encoder.encode(xa_l, scale, pt_tmp), R),
           "CKKSEncoder.encode(%d real doubles as Python list) at top level (incl. pybind list->vector)" % slots)

    add_op("encrypt", time_op(lambda: encryptor.encrypt(pc, ct_tmp), R),
           "Encryptor.encrypt(pt) public-key encryption")

    def dd():
        decryptor.decrypt(ca, pt_tmp)
        encoder.decode_double(pt_tmp)
    add_op("decrypt_decode", time_op(dd, R),
           "Decryptor.decrypt + CKKSEncoder.decode_double (incl. pybind vector->Python list)")

    add_op("conjugate", time_op(lambda: ev.complex_conjugate(ca, gk, dst), R),
           "Evaluator.complex_conjugate(ct, galois_keys) (automorphism + key switch)")

    # extras (not in the core list)
    add_op("encrypt_symmetric", time_op(lambda: encryptor.encrypt_symmetric(pc, ct_tmp), R),
           "extra: Encryptor.encrypt_symmetric(pt) secret-key encryption")
    add_op("decrypt", time_op(lambda: decryptor.decrypt(ca, pt_tmp), R), "extra: Decryptor.decrypt only")
    decryptor.decrypt(ca, pt_tmp)
    add_op("decode", time_op(lambda: encoder.decode_double(pt_tmp), R),
           "extra: CKKSEncoder.decode_double only (incl. pybind vector->Python list)")

    def relin_setup():
        ev.multiply(ca, cb, resc)
    add_op("relinearize", time_op(lambda: ev.relinearize_inplace(resc, rlk), R, setup=relin_setup),
           "extra: relinearize_inplace only (size-3 product built untimed)")
    add_op("multiply_norelin", time_op(lambda: ev.multiply(ca, cb, dst), R),
           "extra: Evaluator.multiply only (tensor product, no relin)")

    # rough Python-binding overhead estimates for encode/decode (they move 2^(logN-1) doubles
    # through Python lists): encode() with slots+1 values converts the list then throws early.
    too_long = xa_l + [0.0]

    def enc_conv():
        try:
            encoder.encode(too_long, scale, pt_tmp)
        except (ValueError, RuntimeError):
            pass
    conv_in = time_op(enc_conv, R)["ms"]
    conv_out = time_op(lambda: xa.tolist(), R)["ms"]

    threads_after = thread_count()

    # ---- environment -------------------------------------------------------------------
    seal_ver = seal_version_from_header(ca)
    built_with_hexl, hexl_detail = hexl_check()
    env = {
        "python": platform.python_version(),
        "tenseal_version": tenseal.__version__,
        "seal_version_major_minor": seal_ver,
        "seal_version_source": "serialization header of a saved Ciphertext (major.minor only)",
        "seal_built_with_intel_hexl": built_with_hexl,
        "hexl_scan": hexl_detail,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "process_threads_after_timing": threads_after,
        "loadavg_1_5_15_start": [round(x, 2) for x in load_start],
        "loadavg_1_5_15_end": [round(x, 2) for x in os.getloadavg()],
        "numpy": np.__version__,
        **cpu_facts(),
        "binding_overhead_est_ms": {
            "encode_list_to_vector": round(conv_in, 4),
            "decode_vector_to_list(approx via ndarray.tolist)": round(conv_out, 4),
        },
    }

    result = {
        "library": "SEAL %s via TenSEAL %s" % (seal_ver, tenseal.__version__),
        "scheme": "CKKS",
        "log_n": args.log_n,
        "slots": slots,
        "primes": primes,
        "primes_source": primes_source,
        "prime_bits": [p.bit_length() for p in primes],
        "special_prime": primes[-1],
        "dnum": len(primes) - 1,
        "total_modulus_bits": key_cd.total_coeff_modulus_bit_count(),
        "data_modulus_bits": first_cd.total_coeff_modulus_bit_count(),
        "levels": first_cd.chain_index(),
        "scale_bits": args.scale_bits,
        "sec_level": args.sec_level,
        "timer": "ms = time.perf_counter wall-clock median of reps (after 2 warm-up calls), single "
                 "thread; thread_cpu_ms = time.thread_time median (robust to being descheduled "
                 "on a loaded machine)",
        "ops": ops,
        "checks": checks,
        "env": env,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
