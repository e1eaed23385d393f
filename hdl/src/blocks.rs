//! The emitted blocks: each one's rust-hdl instance, Verilog bundle and reference vectors.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;

use heaccel_verification::arith::Modulus;
use heaccel_verification::automorphism::{
    automorphism_coeff, automorphism_ntt, galois_element_conjugate, galois_element_for_rotation,
    ntt_index_map,
};
use heaccel_verification::ntt::NttTable;

use crate::automorph::{galois_inverse, AutomorphGeometry, AutomorphUnit};
use crate::core::{lane_op, EwLane};
use crate::ntt::{NttGeometry, NttUnit};
use crate::params::Prime;
use crate::verilog::{vector_bits, Bench, Bundle};
use crate::{CtButterfly, GsButterfly, ModMul};

/// Residues for vectors: corners (0, 1, q - 1, q / 2) then uniform random ones.
fn residues(q: u64, count: usize, rng: &mut impl Rng) -> Vec<u64> {
    let corners = [0, 1, q - 1, q / 2];
    let mut v: Vec<u64> = corners.to_vec();
    v.extend((0..count.saturating_sub(corners.len())).map(|_| rng.gen_range(0..q)));
    v
}

/// `a * w mod q` by u128 arithmetic (the oracle of the multiplier vectors; also for primes
/// above the reference model's 61 bits).
fn mulmod(a: u64, w: u64, q: u64) -> u64 {
    (a as u128 * w as u128 % q as u128) as u64
}

fn emit<B: Block>(mut uut: B) -> String {
    uut.connect_all();
    generate_verilog(&uut)
}

fn pipeline(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The `W`-bit [`ModMul`] bundle for prime `q < 2^(W-2)`: every (a, w) pair of corners and
/// `a = 2^(W-2) - 1`, then `random` random pairs, and the fixed operands include every forward
/// and inverse twiddle at `N = 2^log_n` (when `q = 1 mod 2N` and the reference supports `q`).
pub fn modmul_bundle<const W: usize>(q: Prime, log_n: u32, random: usize, command: &str) -> Bundle {
    let qv = q.value();
    let mut rng = ChaCha8Rng::seed_from_u64(0x6d6d);
    let corners = [0, 1, qv - 1, qv / 2];
    let mut pairs: Vec<(u64, u64)> = corners
        .iter()
        .flat_map(|&a| corners.iter().map(move |&w| (a, w)))
        .collect();
    pairs.push(((1 << (W - 2)) - 1, qv - 1));
    if let Ok(t) = NttTable::new(qv, log_n) {
        for &w in t.psi_rev().iter().chain(t.inv_psi_rev()) {
            pairs.push((rng.gen_range(0..qv), w));
        }
    }
    pairs.extend((0..random).map(|_| (rng.gen_range(0..qv), rng.gen_range(0..qv))));
    let records = pairs
        .iter()
        .map(|&(a, w)| vec![a, w, q.shoup_for(w, W), mulmod(a, w, qv)])
        .collect();
    Bundle {
        name: "modmul".into(),
        command: command.into(),
        verilog: emit(ModMul::<W>::new(q)),
        word: W,
        bench: Bench::Pipeline {
            inputs: pipeline(&["a", "w", "w_shoup"]),
            outputs: pipeline(&["y"]),
            latency: ModMul::<W>::LATENCY,
        },
        records,
        record_words: 4,
        geometry: None,
    }
}

/// `x^e mod q` (square and multiply on u128).
fn powmod(x: u64, mut e: u64, q: u64) -> u64 {
    let (mut r, mut b, q) = (1u128, x as u128 % q as u128, q as u128);
    while e > 0 {
        if e & 1 == 1 {
            r = r * b % q;
        }
        b = b * b % q;
        e >>= 1;
    }
    r as u64
}

/// The [`EwLane`] bundle for prime `q < 2^30` (inputs `op, a, b, c`, output `y`; `op` is a
/// 2-bit port driven from a 32-bit testbench register): every operation on every pair of the
/// corners 0, 1, q - 1, q / 2 (with `c` = q - 1, then 0), products `a b = t mod q` for
/// `t` in {0, 1, 2, q - 2, q - 1} (just above and below multiples of q) with random `a`, eight
/// products of the largest Barrett remainders ([`EwLane::barrett_remainder`]) as MUL and MAC,
/// then `random` random records of each operation. Expected outputs by u128 arithmetic.
pub fn ew_lane_bundle(q: Prime, random: usize, command: &str) -> Bundle {
    let qv = q.value();
    let mut rng = ChaCha8Rng::seed_from_u64(0x6577);
    let ops = [lane_op::ADD, lane_op::SUB, lane_op::MUL, lane_op::MAC];
    let corners = [0, 1, qv - 1, qv / 2];
    let mut inputs: Vec<(u32, u64, u64, u64)> = Vec::new();
    for &op in &ops {
        for &a in &corners {
            for &b in &corners {
                inputs.push((op, a, b, qv - 1));
                inputs.push((op, a, b, 0));
            }
        }
    }
    for t in [0, 1, 2, qv - 2, qv - 1] {
        for _ in 0..4 {
            let a = rng.gen_range(1..qv);
            let b = mulmod(t, powmod(a, qv - 2, qv), qv);
            let c = rng.gen_range(0..qv);
            inputs.push((lane_op::MUL, a, b, c));
            inputs.push((lane_op::MAC, a, b, c));
        }
    }
    // The products of the largest Barrett remainders `r = a b - q3 q` (both conditional
    // subtractions taken, `r >= 3q` where it occurs): every pair for q < 2^10, else 20,000
    // random pairs; eight of them, as MUL and MAC.
    let mut pairs: Vec<(u64, u64)> = if qv < 1 << 10 {
        (0..qv).flat_map(|a| (0..qv).map(move |b| (a, b))).collect()
    } else {
        (0..20_000)
            .map(|_| (rng.gen_range(0..qv), rng.gen_range(0..qv)))
            .collect()
    };
    pairs.sort_by_cached_key(|&(a, b)| std::cmp::Reverse(EwLane::barrett_remainder(q, a * b)));
    for &(a, b) in pairs.iter().take(8) {
        let c = rng.gen_range(0..qv);
        inputs.push((lane_op::MUL, a, b, c));
        inputs.push((lane_op::MAC, a, b, c));
    }
    for _ in 0..random {
        for &op in &ops {
            let mut r = || rng.gen_range(0..qv);
            inputs.push((op, r(), r(), r()));
        }
    }
    let records = inputs
        .iter()
        .map(|&(op, a, b, c)| {
            let y = ew_lane_reference(op, a, b, c, qv);
            vec![op as u64, a, b, c, y]
        })
        .collect();
    Bundle {
        name: "ew_lane".into(),
        command: command.into(),
        verilog: emit(EwLane::new(q)),
        word: 32,
        bench: Bench::Pipeline {
            inputs: pipeline(&["op", "a", "b", "c"]),
            outputs: pipeline(&["y"]),
            latency: EwLane::LATENCY,
        },
        records,
        record_words: 5,
        geometry: None,
    }
}

/// The [`EwLane`] result of operation `op` ([`lane_op`]) on `a, b, c` in `[0, q)`, by u128
/// arithmetic.
pub fn ew_lane_reference(op: u32, a: u64, b: u64, c: u64, q: u64) -> u64 {
    let (a, b, c, q) = (a as u128, b as u128, c as u128, q as u128);
    let y = match op {
        lane_op::ADD => a + b,
        lane_op::SUB => a + q - b,
        lane_op::MUL => a * b,
        lane_op::MAC => c + a * b,
        _ => panic!("lane operation {op} does not exist"),
    };
    (y % q) as u64
}

/// `W`-bit butterfly bundles: `inverse = false` for [`CtButterfly`], `true` for
/// [`GsButterfly`]; every twiddle of `N = 2^log_n` with random `x, y`, every corner triple,
/// random triples.
pub fn butterfly_bundle<const W: usize>(
    q: Prime,
    log_n: u32,
    inverse: bool,
    random: usize,
    command: &str,
) -> Bundle {
    let qv = q.value();
    let add = |x: u64, y: u64| ((x as u128 + y as u128) % qv as u128) as u64;
    let sub = |x: u64, y: u64| ((x as u128 + qv as u128 - y as u128) % qv as u128) as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(0x6266 + inverse as u64);
    let corners = [0, 1, qv - 1];
    let mut triples = Vec::new();
    for &x in &corners {
        for &y in &corners {
            for &w in &corners {
                triples.push((x, y, w));
            }
        }
    }
    if let Ok(t) = NttTable::new(qv, log_n) {
        let tw = if inverse {
            t.inv_psi_rev()
        } else {
            t.psi_rev()
        };
        for &w in tw {
            triples.push((rng.gen_range(0..qv), rng.gen_range(0..qv), w));
        }
    }
    let ws = residues(qv, random, &mut rng);
    for w in ws {
        triples.push((rng.gen_range(0..qv), rng.gen_range(0..qv), w));
    }
    let records = triples
        .iter()
        .map(|&(x, y, w)| {
            let (u, v) = if inverse {
                (add(x, y), mulmod(sub(x, y), w, qv))
            } else {
                let wy = mulmod(w, y, qv);
                (add(x, wy), sub(x, wy))
            };
            vec![x, y, w, q.shoup_for(w, W), u, v]
        })
        .collect();
    let (name, verilog, latency) = if inverse {
        (
            "gs_butterfly",
            emit(GsButterfly::<W>::new(q)),
            GsButterfly::<W>::LATENCY,
        )
    } else {
        (
            "ct_butterfly",
            emit(CtButterfly::<W>::new(q)),
            CtButterfly::<W>::LATENCY,
        )
    };
    Bundle {
        name: name.into(),
        command: command.into(),
        verilog,
        word: W,
        bench: Bench::Pipeline {
            inputs: pipeline(&["x", "y", "w", "w_shoup"]),
            outputs: pipeline(&["u", "v"]),
            latency,
        },
        records,
        record_words: 6,
        geometry: None,
    }
}

/// Ports declared by a unit testbench: `reg` inputs and `wire` outputs, with the
/// `top dut(...)` instance.
fn unit_ports(inputs: &[(String, usize)], outputs: &[(String, usize)]) -> String {
    let mut s = String::from("`timescale 1ns/1ps\nmodule tb;\n  reg clock = 1'b0;\n");
    let width = |w: usize| {
        if w == 1 {
            String::new()
        } else {
            format!("[{}:0] ", w - 1)
        }
    };
    for (name, w) in inputs {
        s += &format!("  reg {}{name} = {w}'d0;\n", width(*w));
    }
    for (name, w) in outputs {
        s += &format!("  wire {}{name};\n", width(*w));
    }
    let conns: Vec<String> = std::iter::once("clock".to_string())
        .chain(inputs.iter().chain(outputs).map(|(n, _)| n.clone()))
        .map(|p| format!(".{p}({p})"))
        .collect();
    s += &format!("  top dut({});\n", conns.join(", "));
    s
}

/// The vector-file guards shared by the unit testbenches (reads `+vectors=`, checks magic,
/// count and end marker) and the `tick` task; vector words of `vw` bits.
fn unit_guards(record_words: usize, vw: usize) -> String {
    format!(
        "  reg [{vw1}:0] mem [0:`VECTOR_WORDS-1];\n  reg [8*1024-1:0] path;\n  integer count, i, t, r, \
         base, cyc, errors, checked, rows_seen, bad;\n  task tick;\n    begin\n      #1 clock = \
         1'b1;\n      #1;\n      #1 clock = 1'b0;\n      #1;\n    end\n  endtask\n  initial \
         begin\n    for (i = 0; i < `VECTOR_WORDS; i = i + 1) mem[i] = {vw}'h{xs};\n    if \
         (!$value$plusargs(\"vectors=%s\", path)) begin\n      $display(\"FAIL: no +vectors=PATH \
         given\");\n      $finish;\n    end\n    $readmemh(path, mem);\n    if (mem[0] !== \
         32'h{magic:08x}) begin\n      $display(\"FAIL: vector file not read (magic %h)\", \
         mem[0]);\n      $finish;\n    end\n    count = mem[1];\n    if (count < 1 || 3 + count * \
         {record_words} != `VECTOR_WORDS || mem[2 + count * {record_words}] !== 32'h{end:08x}) \
         begin\n      $display(\"FAIL: vector file malformed (count %0d)\", count);\n      \
         $finish;\n    end\n    errors = 0;\n    checked = 0;\n",
        magic = crate::verilog::VECTOR_MAGIC,
        end = crate::verilog::VECTOR_END,
        vw1 = vw - 1,
        xs = "x".repeat(vw / 4),
    )
}

const UNIT_VERDICT: &str =
    "    if (errors == 0 && checked == count) $display(\"PASS %0d vectors\", \
     checked);\n    else $display(\"FAIL: %0d mismatches in %0d records\", errors, checked);\n    \
     $finish;\n  end\nendmodule\n";

/// Records of the `W`-bit NTT unit: `[inverse, cycles, input[N], output[N]]` for forward
/// transforms of the corners (zero, all `q - 1`, `X`: every odd power of `psi`) and `random`
/// random polynomials, then inverse transforms of `random` random bit-reversed inputs.
pub fn ntt_bundle<const W: usize>(
    q: Prime,
    geo: NttGeometry,
    random: usize,
    command: &str,
) -> Bundle {
    let qv = q.value();
    let n = geo.n();
    let table = NttTable::new(qv, geo.log_n()).expect("q = 1 mod 2N");
    let mut rng = ChaCha8Rng::seed_from_u64(0x6e74);
    let mut cases: Vec<(bool, Vec<u64>)> = vec![
        (false, vec![0; n]),
        (false, vec![qv - 1; n]),
        (false, (0..n).map(|i| (i == 1) as u64).collect()),
    ];
    for _ in 0..random {
        cases.push((false, (0..n).map(|_| rng.gen_range(0..qv)).collect()));
        cases.push((true, (0..n).map(|_| rng.gen_range(0..qv)).collect()));
    }
    let cycles = geo.cycles() as u64;
    let records = cases
        .into_iter()
        .map(|(inverse, a)| {
            let mut out = a.clone();
            if inverse {
                table.inverse(&mut out);
            } else {
                table.forward(&mut out);
            }
            let mut r = vec![inverse as u64, cycles];
            r.extend(a.iter().chain(&out));
            r
        })
        .collect();
    let mut unit = NttUnit::<W>::new(q, geo).expect("q = 1 mod 2N");
    unit.connect_all();
    let w = geo.banks();
    let rw = 2 + 2 * n;
    let mut inputs: Vec<(String, usize)> = vec![
        ("start".into(), 1),
        ("inverse".into(), 1),
        ("wr_en".into(), 1),
        ("wr_row".into(), 16),
        ("rd_row".into(), 16),
    ];
    inputs.extend((0..w).map(|j| (format!("din${j}"), W)));
    let mut outputs: Vec<(String, usize)> = (0..w).map(|j| (format!("dout${j}"), W)).collect();
    outputs.push(("busy".into(), 1));
    outputs.push(("cycles".into(), 32));
    let mut tb = unit_ports(&inputs, &outputs) + &unit_guards(rw, vector_bits(W));
    tb += &format!(
        "    for (t = 0; t < count; t = t + 1) begin\n      base = 2 + t * {rw};\n      bad = 0;\n      \
         for (r = 0; r < {d}; r = r + 1) begin\n        wr_en = 1'b1;\n        wr_row = r;\n",
        d = geo.depth()
    );
    for j in 0..w {
        tb += &format!("        din${j} = mem[base + 2 + {w} * r + {j}];\n");
    }
    tb += &format!(
        "        tick;\n      end\n      wr_en = 1'b0;\n      start = 1'b1;\n      inverse = \
         mem[base][0];\n      tick;\n      start = 1'b0;\n      cyc = 1;\n      while (busy && \
         cyc < {limit}) begin\n        tick;\n        cyc = cyc + 1;\n      end\n      if (cyc != \
         mem[base + 1] || cycles != mem[base + 1]) begin\n        bad = 1;\n        \
         $display(\"MISMATCH record %0d: %0d cycles (port %0d), want %0d\", t, cyc, cycles, \
         mem[base + 1]);\n      end\n      for (r = 0; r < {d}; r = r + 1) begin\n        rd_row \
         = r;\n        tick;\n",
        limit = 2 * geo.cycles(),
        d = geo.depth()
    );
    for j in 0..w {
        tb += &format!(
            "        if (dout${j} !== mem[base + 2 + {n} + {w} * r + {j}]) begin\n          bad = \
             1;\n          if (errors < 8) $display(\"MISMATCH record %0d coefficient %0d: got %h \
             want %h\", t, {w} * r + {j}, dout${j}, mem[base + 2 + {n} + {w} * r + {j}]);\n        \
             end\n"
        );
    }
    tb += "      end\n      errors = errors + bad;\n      checked = checked + 1;\n    end\n";
    tb += UNIT_VERDICT;
    Bundle {
        name: "ntt".into(),
        command: command.into(),
        verilog: generate_verilog(&unit),
        word: W,
        bench: Bench::Custom(tb),
        records,
        record_words: rw,
        geometry: Some((geo.log_n(), geo.lanes())),
    }
}

/// The Galois elements every automorphism check uses: rotations by 1, 2, 3, 5, N/4, -1 and
/// conjugation, with their names.
pub fn required_galois_elements(log_n: u32) -> Vec<(String, u64)> {
    let n = 1i64 << log_n;
    let mut v: Vec<(String, u64)> = [1, 2, 3, 5, n / 4, -1]
        .iter()
        .map(|&k| {
            (
                format!("rotation {k}"),
                galois_element_for_rotation(k, log_n),
            )
        })
        .collect();
    v.push(("conjugation".into(), galois_element_conjugate(log_n)));
    v
}

/// Records of the `W`-bit automorphism unit: `[g, cycles, input[N], output[N]]` for
/// [`required_galois_elements`] on a polynomial of distinct values and on random ones.
pub fn automorph_bundle<const W: usize>(
    q: Prime,
    geo: AutomorphGeometry,
    random: usize,
    command: &str,
) -> Bundle {
    automorph_bundle_of::<W>(q, AutomorphUnit::new(geo), random, command)
}

/// [`automorph_bundle`] of a given unit (a routing, or a negative control built wrong on
/// purpose: its records still hold the reference outputs).
pub fn automorph_bundle_of<const W: usize>(
    q: Prime,
    unit: AutomorphUnit<W>,
    random: usize,
    command: &str,
) -> Bundle {
    automorph_form_bundle::<W>(q, unit, random, command, false)
}

/// The coefficient form of [`automorph_bundle_of`] (bundle `automorph-coeff`): records
/// `[g^-1 mod 2N, cycles, input[N], output[N]]` with the output of `automorphism_coeff` mod
/// `q`; the testbench starts with `coeff` high and negates the words flagged on `dneg$j`
/// mod `q` before comparing.
pub fn automorph_coeff_bundle_of<const W: usize>(
    q: Prime,
    unit: AutomorphUnit<W>,
    random: usize,
    command: &str,
) -> Bundle {
    automorph_form_bundle::<W>(q, unit, random, command, true)
}

fn automorph_form_bundle<const W: usize>(
    q: Prime,
    mut unit: AutomorphUnit<W>,
    random: usize,
    command: &str,
    coeff: bool,
) -> Bundle {
    let geo = unit.geometry();
    let qv = q.value();
    let (n, log_n, p) = (geo.n(), geo.log_n(), geo.lanes());
    let mut rng = ChaCha8Rng::seed_from_u64(0x6175);
    let mut inputs_list: Vec<Vec<u64>> = vec![(0..n as u64).map(|x| x % qv).collect()];
    inputs_list.extend((0..random).map(|_| (0..n).map(|_| rng.gen_range(0..qv)).collect()));
    let cycles = geo.cycles() as u64;
    let mut records = Vec::new();
    for a in &inputs_list {
        for (_, g) in required_galois_elements(log_n) {
            let (port, out) = if coeff {
                let m = Modulus::new(qv).expect("an NTT prime");
                (
                    u64::from(galois_inverse(g as u32)) & ((2 << log_n) - 1),
                    automorphism_coeff(a, g, &m).expect("odd g < 2N"),
                )
            } else {
                let idx = ntt_index_map(g, log_n).expect("odd g < 2N");
                (g, automorphism_ntt(a, &idx))
            };
            let mut r = vec![port, cycles];
            r.extend(a.iter().chain(&out));
            records.push(r);
        }
    }
    unit.connect_all();
    let rw = 2 + 2 * n;
    let mut inputs: Vec<(String, usize)> = vec![
        ("start".into(), 1),
        ("galois".into(), 32),
        // Set once: the NTT form, or the coefficient form (automorph_coeff_bundle_of).
        ("coeff".into(), 1),
        ("wr_en".into(), 1),
        ("wr_row".into(), 16),
    ];
    inputs.extend((0..p).map(|j| (format!("din${j}"), W)));
    let mut outputs: Vec<(String, usize)> = (0..p).map(|j| (format!("dout${j}"), W)).collect();
    outputs.extend((0..p).map(|j| (format!("dneg${j}"), 1)));
    outputs.push(("out_valid".into(), 1));
    outputs.push(("out_row".into(), 16));
    outputs.push(("busy".into(), 1));
    outputs.push(("cycles".into(), 32));
    let mut tb = unit_ports(&inputs, &outputs) + &unit_guards(rw, vector_bits(W));
    if coeff {
        tb += "    coeff = 1'b1;\n";
    }
    tb += &format!(
        "    for (t = 0; t < count; t = t + 1) begin\n      base = 2 + t * {rw};\n      bad = 0;\n      \
         for (r = 0; r < {rows}; r = r + 1) begin\n        wr_en = 1'b1;\n        wr_row = r;\n",
        rows = geo.rows()
    );
    for j in 0..p {
        tb += &format!("        din${j} = mem[base + 2 + {p} * r + {j}];\n");
    }
    tb += &format!(
        "        tick;\n      end\n      wr_en = 1'b0;\n      start = 1'b1;\n      galois = \
         mem[base];\n      tick;\n      start = 1'b0;\n      cyc = 1;\n      rows_seen = 0;\n      \
         while (cyc < {limit}) begin\n        if (out_valid) begin\n          r = out_row;\n          \
         rows_seen = rows_seen + 1;\n"
    ,
        limit = 2 * geo.cycles() + 8
    );
    for j in 0..p {
        // The word shown, negated mod q where flagged in coefficient form.
        let got = if coeff {
            format!("((dneg${j} && dout${j} != {W}'d0) ? ({W}'d{qv} - dout${j}) : dout${j})")
        } else {
            format!("dout${j}")
        };
        tb += &format!(
            "          if ({got} !== mem[base + 2 + {n} + {p} * r + {j}]) begin\n            bad \
             = 1;\n            if (errors < 8) $display(\"MISMATCH record %0d position %0d: got \
             %h want %h\", t, {p} * r + {j}, {got}, mem[base + 2 + {n} + {p} * r + {j}]);\n          \
             end\n"
        );
    }
    tb += &format!(
        "        end\n        if (!busy) cyc = cyc + {limit};\n        else begin\n          tick;\n          \
         cyc = cyc + 1;\n        end\n      end\n      cyc = cyc - {limit};\n      if (rows_seen != \
         {rows} || cyc != mem[base + 1] || cycles != mem[base + 1]) begin\n        bad = 1;\n        \
         $display(\"MISMATCH record %0d: %0d rows, %0d cycles (port %0d), want %0d\", t, rows_seen, \
         cyc, cycles, mem[base + 1]);\n      end\n      errors = errors + bad;\n      checked = \
         checked + 1;\n    end\n",
        limit = 2 * geo.cycles() + 8,
        rows = geo.rows()
    );
    tb += UNIT_VERDICT;
    Bundle {
        name: if coeff {
            "automorph-coeff"
        } else {
            "automorph"
        }
        .into(),
        command: command.into(),
        verilog: generate_verilog(&unit),
        word: W,
        bench: Bench::Custom(tb),
        records,
        record_words: rw,
        geometry: Some((geo.log_n(), geo.lanes())),
    }
}
