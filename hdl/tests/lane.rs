//! The core's element-wise lane ([`EwLane`]): the rust-hdl simulation against u128
//! arithmetic on every operation (corners 0, 1, q - 1, q / 2, products just above and below
//! multiples of q, random operands) for primes from 2 to 30 bits; the exact pipeline timing
//! (each result exactly `LATENCY` edges after its operands, one per cycle); its Verilog under
//! Icarus and Verilator on the same vectors (with negative controls), `verilator --lint-only
//! -Wall` and Yosys `synth_xilinx` with the DSP count asserted.

mod common;

use std::collections::HashMap;

use heaccel_hdl::blocks::{ew_lane_bundle, ew_lane_reference};
use heaccel_hdl::core::{lane_op, EwLane};
use heaccel_hdl::rtlsim::{cycle, record_vcd, start, stream, VCD_CLOCK_PERIOD_PS};
use heaccel_hdl::verilog::{
    build_verilator, corrupt_vectors, lint, run_icarus, run_verilator, synth, Bundle,
};
use heaccel_hdl::Prime;
use heaccel_verification::arith::{is_prime, ntt_primes};
use rust_hdl::prelude::*;

use common::{expect_fail, expect_pass};

const CMD: &str = "cargo test -p heaccel-hdl --test lane";

/// The largest prime below `2^30` that is 1 mod `2^11` (an NTT prime of N = 2^10).
fn largest_1_mod_2_11() -> u64 {
    let mut q = (1u64 << 30) - (1 << 11) + 1;
    while !is_prime(q) {
        q -= 1 << 11;
    }
    q
}

/// The smallest prime above `2^29`: the 30-bit prime of the largest `2^b / q` (the Barrett
/// estimate's worst case).
fn smallest_30_bit_prime() -> u64 {
    let mut q = (1u64 << 29) + 1;
    while !is_prime(q) {
        q += 2;
    }
    q
}

/// Primes of 2 to 30 bits: the largest below 2^30 that is 1 mod 2^11, the largest 30-bit
/// NTT prime of N = 2^14 (1 mod 2^15), the smallest 30-bit prime, NTT primes of 27 and 20
/// bits, 12289 (N = 2^12's 14-bit prime), 521 and 263 (whose Barrett remainders reach `3q`),
/// 17 and 3.
fn primes() -> Vec<u64> {
    let mut v = vec![
        largest_1_mod_2_11(),
        ntt_primes(30, 14, 1, &[]).unwrap()[0],
        smallest_30_bit_prime(),
    ];
    v.extend(ntt_primes(27, 12, 1, &[]).unwrap());
    v.extend(ntt_primes(20, 8, 1, &[]).unwrap());
    v.extend([12289, 521, 263, 17, 3]);
    v
}

fn drive(lane: &mut EwLane, r: &[u64]) {
    lane.op.next = r[0].to_bits();
    lane.a.next = r[1].to_bits();
    lane.b.next = r[2].to_bits();
    lane.c.next = r[3].to_bits();
}

/// The rust-hdl simulation's outputs on the bundle's records, streamed one per cycle.
fn simulate(q: Prime, b: &Bundle) -> Vec<u64> {
    let mut lane = EwLane::new(q);
    start(&mut lane);
    stream(
        &mut lane,
        |l| &mut l.clock,
        b.records.len(),
        EwLane::LATENCY,
        |l, i| drive(l, i.map_or(&[0, 0, 0, 0][..], |i| &b.records[i])),
        |l| l.y.val().to_u64(),
    )
}

#[test]
fn every_operation_matches_u128_arithmetic() {
    // Products by floor(r / q) of their Barrett remainder r, over every prime.
    let mut seen = [0; 4];
    for q in primes() {
        let prime = Prime::new(q).unwrap();
        let b = ew_lane_bundle(prime, 100, CMD);
        let got = simulate(prime, &b);
        assert_eq!(got.len(), b.records.len());
        let (mut muls, mut top) = (0, [0; 4]);
        for (r, y) in b.records.iter().zip(&got) {
            let (op, a, bb, c) = (r[0] as u32, r[1], r[2], r[3]);
            let (a, bw, c, qw) = (a as u128, bb as u128, c as u128, q as u128);
            let want = match op {
                lane_op::ADD => (a + bw) % qw,
                lane_op::SUB => (a + qw - bw) % qw,
                lane_op::MUL => a * bw % qw,
                _ => (c + a * bw) % qw,
            };
            assert_eq!(r[4] as u128, want, "q = {q}: the bundle's expected word");
            assert_eq!(
                *y as u128, want,
                "q = {q}: op {op} on a = {a}, b = {bb}, c = {c}"
            );
            if op == lane_op::MUL || op == lane_op::MAC {
                muls += 1;
                top[(EwLane::barrett_remainder(prime, r[1] * r[2]) / q) as usize] += 1;
            }
        }
        // 100 random MUL and MAC each, 2 x 32 corner records, 2 x 20 near multiples of q,
        // 2 x 8 of the largest Barrett remainders.
        assert_eq!(muls, 2 * 100 + 2 * 32 + 2 * 20 + 2 * 8, "q = {q}: products");
        // Below 2^10 the vectors hold the largest remainder of any product `a b` (an
        // exhaustive search): both conditional subtractions taken where they can be, `r >= 3q` for 263
        // and 521.
        if q < 1 << 10 {
            let worst = (0..q * q)
                .map(|x| EwLane::barrett_remainder(prime, (x / q) * (x % q)) / q)
                .max()
                .unwrap();
            assert!(top[worst as usize] > 0, "q = {q}: remainders {top:?}");
            assert!(![263, 521].contains(&q) || worst == 3, "q = {q}");
        }
        for (k, n) in top.iter().enumerate() {
            seen[k] += n;
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "remainders {seen:?}");
}

/// Each result shows exactly `LATENCY` edges after the edge that sampled its operands, and
/// the pipeline takes one operation per cycle: a back-to-back stream of distinct products
/// with `y` checked after every edge (0 before the first result).
#[test]
fn results_appear_exactly_latency_edges_later_one_per_cycle() {
    let q = largest_1_mod_2_11();
    let prime = Prime::new(q).unwrap();
    let ops: Vec<[u64; 4]> = (1..=12u64)
        .map(|i| [lane_op::MUL as u64, q - i, q - 2 * i, 0])
        .chain([[lane_op::ADD as u64, 0, 0, 0]; 12])
        .collect();
    let want: Vec<u64> = ops
        .iter()
        .map(|r| ew_lane_reference(r[0] as u32, r[1], r[2], r[3], q))
        .collect();
    // Distinct and nonzero, so an off-by-one edge cannot match.
    for i in 1..12 {
        assert!(want[i] != 0 && want[i] != want[i - 1]);
    }
    let mut lane = EwLane::new(prime);
    start(&mut lane);
    for (t, r) in ops.iter().enumerate() {
        drive(&mut lane, r);
        cycle(&mut lane, |l| &mut l.clock);
        // Edge t + 1 has passed: the result of the operands sampled at edge t + 1 - LATENCY.
        let y = lane.y.val().to_u64();
        let expect = (t + 1).checked_sub(EwLane::LATENCY).map_or(0, |k| want[k]);
        assert_eq!(y, expect, "after edge {}", t + 1);
    }
}

/// Value changes `(time, value)` of the top-scope signals of a VCD text, by signal name.
fn vcd_changes(text: &str) -> HashMap<String, Vec<(u64, u64)>> {
    let (header, body) = text.split_once("$enddefinitions $end").unwrap();
    let (mut depth, mut names) = (0, HashMap::new());
    for w in header
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
    {
        match w.first().copied() {
            Some("$scope") => depth += 1,
            Some("$upscope") => depth -= 1,
            Some("$var") if depth == 1 => {
                names.insert(w[3].to_string(), w[4].to_string());
            }
            _ => {}
        }
    }
    let (mut now, mut out) = (0, HashMap::<String, Vec<(u64, u64)>>::new());
    for line in body.lines() {
        let (bits, id) = if let Some(t) = line.strip_prefix('#') {
            now = t.parse().unwrap();
            continue;
        } else if let Some(v) = line.strip_prefix('b') {
            v.split_once(' ').unwrap()
        } else if line.starts_with('0') || line.starts_with('1') {
            line.split_at(1)
        } else {
            continue;
        };
        if let Some(name) = names.get(id) {
            let v = u64::from_str_radix(bits, 2).unwrap();
            out.entry(name.clone()).or_default().push((now, v));
        }
    }
    out
}

/// The value of `name` at time `t` (its last change at or before `t`).
fn value_at(changes: &HashMap<String, Vec<(u64, u64)>>, name: &str, t: u64) -> u64 {
    changes[name]
        .iter()
        .take_while(|c| c.0 <= t)
        .last()
        .unwrap()
        .1
}

/// The VCD waveform of the lane streaming the bundle's records: at every rising edge the
/// sampled `op, a, b, c` give, by u128 arithmetic, the `y` shown `LATENCY - 1` periods later
/// (after `LATENCY` edges), for one record per cycle.
#[test]
fn waveform_shows_each_result_latency_edges_later() {
    let q = largest_1_mod_2_11();
    let prime = Prime::new(q).unwrap();
    let b = ew_lane_bundle(prime, 25, CMD);
    let (_, vcd) = record_vcd(|| simulate(prime, &b));
    let wave = vcd_changes(std::str::from_utf8(&vcd).unwrap());
    let p = VCD_CLOCK_PERIOD_PS;
    let rising: Vec<u64> = wave["clock"]
        .iter()
        .filter(|c| c.1 == 1)
        .map(|c| c.0)
        .collect();
    assert_eq!(rising.len(), b.records.len() + EwLane::LATENCY - 1);
    let want = |k: usize| {
        let r = &b.records[k];
        ew_lane_reference(r[0] as u32, r[1], r[2], r[3], q)
    };
    let mut products = 0;
    for (k, &t) in rising.iter().take(b.records.len()).enumerate() {
        assert_eq!(t, k as u64 * p + p / 2, "edge {k}");
        let at = |name| value_at(&wave, name, t);
        let (op, a, bb, c) = (at("op") as u32, at("a"), at("b"), at("c"));
        assert_eq!(
            vec![op as u64, a, bb, c],
            b.records[k][..4],
            "inputs at edge {k}"
        );
        let later = t + (EwLane::LATENCY as u64 - 1) * p;
        assert_eq!(value_at(&wave, "y", later), want(k), "record {k}");
        // One period earlier y still shows the previous record's result (0 before the first).
        let before = k.checked_sub(1).map_or(0, want);
        assert_eq!(
            value_at(&wave, "y", later - p),
            before,
            "record {k}, a period early"
        );
        products += usize::from(op >= lane_op::MUL);
    }
    assert_eq!(products, 2 * 25 + 2 * 32 + 2 * 20 + 2 * 8);
}

/// The lane's Verilog on the vectors the rust-hdl model was checked on (and equals): Icarus
/// for four primes, Verilator for one, each with a corrupted expected word and a missing
/// vector file rejected; `verilator --lint-only -Wall` with the standard waivers.
#[test]
fn verilog_matches_the_model() {
    let qs = [largest_1_mod_2_11(), 12289, 263, 17];
    for (k, q) in qs.into_iter().enumerate() {
        let prime = Prime::new(q).unwrap();
        let b = ew_lane_bundle(prime, 100, CMD);
        let model = simulate(prime, &b);
        assert!(
            b.records.iter().zip(&model).all(|(r, y)| r[4] == *y),
            "q = {q}"
        );
        let dir = common::out_dir("lane", &format!("ew-lane-{q}"));
        let files = b.write(&dir).unwrap();
        let n = b.records.len();
        expect_pass(
            &format!("ew_lane q = {q} icarus"),
            run_icarus(&files, &files.vectors, n),
        );
        let bad = dir.join("corrupted.hex");
        corrupt_vectors(&b, &files.vectors, &bad, b.record_words - 1).unwrap();
        expect_fail(
            &format!("ew_lane q = {q} icarus corrupted"),
            run_icarus(&files, &bad, n),
        );
        let missing = dir.join("missing.hex");
        expect_fail(
            &format!("ew_lane q = {q} icarus missing"),
            run_icarus(&files, &missing, n),
        );
        expect_pass(&format!("ew_lane q = {q} lint"), lint(&files));
        if k == 0 {
            match build_verilator(&files) {
                Ok(exe) => {
                    expect_pass("ew_lane verilator", run_verilator(&exe, &files.vectors, n));
                    expect_fail("ew_lane verilator corrupted", run_verilator(&exe, &bad, n));
                }
                Err(o) => expect_pass("ew_lane verilator build", o),
            }
        }
    }
}

/// Yosys `synth_xilinx` of one lane: exactly `PARTIAL_PRODUCTS` (9) DSP48E2 less the
/// products by a constant power of two or zero (`EwLane::folded_products`).
#[test]
fn yosys_dsp_count() {
    let qs = [
        largest_1_mod_2_11(),
        ntt_primes(30, 14, 1, &[]).unwrap()[0],
        smallest_30_bit_prime(),
        12289,
    ];
    for q in qs {
        let prime = Prime::new(q).unwrap();
        let b = ew_lane_bundle(prime, 0, CMD);
        let files = b
            .write(&common::out_dir("lane", &format!("ew-lane-dsp-{q}")))
            .unwrap();
        match synth(&files).map(|stat| stat.total().unwrap()) {
            Ok(r) => {
                let folded = EwLane::folded_products(prime);
                eprintln!("ew_lane q = {q}: {r:?} ({folded} folded products)");
                assert_eq!(
                    r.dsp,
                    (EwLane::PARTIAL_PRODUCTS - folded) as u64,
                    "q = {q}: {r:?}"
                );
                assert!(r.dsp <= 12 && r.lut > 0 && r.ff > 0, "q = {q}: {r:?}");
            }
            Err(o) => expect_pass(&format!("ew_lane q = {q} yosys"), o),
        }
    }
}
