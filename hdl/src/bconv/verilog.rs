//! The Verilog text of the basis-conversion unit (`BconvUnit`'s `hdl()`): the same
//! registers, ROM and formulas as its Rust model in `unit.rs`; and the streaming testbench of
//! its vector bundle (`bundle.rs`).

use std::fmt::Write as _;

use crate::muxtree::pick_tree;
use crate::verilog::{vector_bits, VECTOR_END, VECTOR_MAGIC};

use super::unit::{reduction_steps, CORRECTION_DELAY};
use super::BconvConstants;

/// Verilog body of the unit; every register of `BconvUnit::step` and every combinational
/// signal of `BconvUnit::drive` by the same formulas.
pub(super) fn bconv_verilog(c: &BconvConstants, w: usize) -> String {
    let (k, l) = (c.from_primes().len(), c.to_primes().len());
    let steps = reduction_steps(k);
    let rb = steps.max(1);
    let aw = w + 2;
    let hw = w.div_ceil(4);
    let mut v = String::new();
    let _ = writeln!(
        v,
        "// Basis conversion: K = {k} source primes, L = {l} target primes, W = {w}; \
         accumulators of {aw} bits, {steps} reduction step(s)."
    );
    // Limb indices on rb bits (index bits of K words, at least one).
    let _ = writeln!(v, "reg [{}:0] limb = {rb}'d0;", rb - 1);
    for d in 1..=5 {
        let _ = writeln!(
            v,
            "reg d{d}_v = 1'b0;\nreg [{}:0] d{d}_i = {rb}'d0;",
            rb - 1
        );
    }
    let _ = writeln!(
        v,
        "reg s_v = 1'b0;\nreg s_first = 1'b0;\nreg s_last = 1'b0;\nreg [{w1}:0] s_y = {w}'d0;",
        w1 = w - 1
    );
    for m in 1..=5 {
        let _ = writeln!(
            v,
            "reg m{m}_v = 1'b0;\nreg m{m}_f = 1'b0;\nreg m{m}_l = 1'b0;"
        );
    }
    let _ = writeln!(v, "reg done = 1'b0;");
    for t in 1..=steps {
        let _ = writeln!(v, "reg lad{t}_v = 1'b0;");
    }
    // The constant ROM: row i (source limb), one word and its Shoup constant per target.
    for j in 0..l {
        let _ = writeln!(
            v,
            "reg [{w1}:0] s_w_{j} = {w}'d0;\nreg [{w1}:0] s_ws_{j} = {w}'d0;\nreg [{a1}:0] acc_{j} \
             = {aw}'d0;",
            w1 = w - 1,
            a1 = aw - 1
        );
        for t in 1..=steps {
            let _ = writeln!(v, "reg [{}:0] lad{t}_{j} = {aw}'d0;", aw - 1);
        }
        for (name, pick) in [("rom_w", 0), ("rom_s", 1)] {
            let _ = writeln!(
                v,
                "reg [{}:0] {name}_{j} [0:{}];\ninitial begin",
                w - 1,
                k - 1
            );
            for i in 0..k {
                let (cw, cs) = c.rom(i, j);
                let x = if pick == 0 { cw } else { cs };
                let _ = writeln!(v, "  {name}_{j}[{i}] = {w}'h{x:0hw$x};");
            }
            let _ = writeln!(v, "end");
        }
    }
    let ys: Vec<String> = (0..k).map(|i| format!("pre${i}$y")).collect();
    let ysel = pick_tree(&mut v, "ysel", &ys, "d5_i", w);
    let centered = c
        .correction()
        .map(|corr| centered_declarations(&mut v, c, corr, w, steps));
    // Registers.
    let _ = writeln!(
        v,
        "always @(posedge clock) begin\n  d1_v <= in_valid;\n  d1_i <= limb;\n  if (in_valid) \
         limb <= (limb == {rb}'d{k1}) ? {rb}'d0 : (limb + {rb}'d1);",
        k1 = k - 1
    );
    for d in 2..=5 {
        let _ = writeln!(v, "  d{d}_v <= d{e}_v;\n  d{d}_i <= d{e}_i;", e = d - 1);
    }
    let _ = writeln!(
        v,
        "  s_v <= d5_v;\n  s_first <= (d5_i == {rb}'d0);\n  s_last <= (d5_i == {rb}'d{});\n  s_y <= \
         {ysel};",
        k - 1
    );
    for j in 0..l {
        let _ = writeln!(
            v,
            "  s_w_{j} <= rom_w_{j}[d5_i];\n  s_ws_{j} <= rom_s_{j}[d5_i];"
        );
    }
    let _ = writeln!(v, "  m1_v <= s_v;\n  m1_f <= s_first;\n  m1_l <= s_last;");
    for m in 2..=5 {
        let _ = writeln!(
            v,
            "  m{m}_v <= m{e}_v;\n  m{m}_f <= m{e}_f;\n  m{m}_l <= m{e}_l;",
            e = m - 1
        );
    }
    for j in 0..l {
        let _ = writeln!(
            v,
            "  if (m5_v) acc_{j} <= (m5_f ? {aw}'d0 : acc_{j}) + {{2'b00, mac${j}$y}};"
        );
    }
    let _ = writeln!(v, "  done <= m5_v && m5_l;");
    if centered.is_some() {
        centered_registers(&mut v, c, w, steps);
    }
    for t in 1..=steps {
        let (pv, prev) = if t == 1 {
            ("done".to_string(), "acc".to_string())
        } else {
            (format!("lad{}_v", t - 1), format!("lad{}", t - 1))
        };
        let _ = writeln!(v, "  lad{t}_v <= {pv};");
        for (j, b) in c.to_primes().iter().enumerate() {
            let m = (b.value() as u128) << (steps - t);
            let _ = writeln!(
                v,
                "  lad{t}_{j} <= ({prev}_{j} >= {aw}'d{m}) ? ({prev}_{j} - {aw}'d{m}) : {prev}_{j};"
            );
        }
    }
    let _ = writeln!(v, "end");
    // Outputs and multiplier inputs.
    let (ov, last) = if steps == 0 {
        ("done".to_string(), "acc".to_string())
    } else {
        (format!("lad{steps}_v"), format!("lad{steps}"))
    };
    if centered.is_some() {
        let _ = writeln!(v, "always @(*) begin\n  out_valid = fin_v;");
        for j in 0..l {
            let _ = writeln!(v, "  out${j} = fin_{j};");
        }
    } else {
        let _ = writeln!(v, "always @(*) begin\n  out_valid = {ov};");
        for j in 0..l {
            let _ = writeln!(v, "  out${j} = {last}_{j}[{}:0];", w - 1);
        }
    }
    for i in 0..k {
        let (sw, ss) = c.scale(i);
        let _ = writeln!(
            v,
            "  pre${i}$a = x;\n  pre${i}$w = {w}'h{sw:0hw$x};\n  pre${i}$w_shoup = \
             {w}'h{ss:0hw$x};"
        );
    }
    for j in 0..l {
        let _ = writeln!(
            v,
            "  mac${j}$a = s_y;\n  mac${j}$w = s_w_{j};\n  mac${j}$w_shoup = s_ws_{j};"
        );
    }
    // The multipliers' clocks last: at the first edge, whose evaluation of this block is the
    // first, their operands' port updates are queued before their clocks' (Icarus samples
    // them in that order), so the first residue is not sampled as X.
    for i in 0..k {
        let _ = writeln!(v, "  pre${i}$clock = clock;");
    }
    for j in 0..l {
        let _ = writeln!(v, "  mac${j}$clock = clock;");
    }
    let _ = writeln!(v, "end");
    v
}

/// Bits of the correction `u` in `[0, K]`: `ceil(log2(K + 1))`, the index width of the
/// `K + 1` words of `u Q mod b_j`; they lie within the 128-bit sum above bit `F`, as
/// `F <= 126 - ceil(log2(K + 1))`.
fn correction_bits(k: usize) -> usize {
    (usize::BITS - k.leading_zeros()) as usize
}

/// Declarations of the centered variant (`BconvUnit::step`'s `s_c`, `cp`, `cacc`, `ud*`,
/// `fin*` and the ROMs of `c_i` and `u Q mod b_j`); returns the name of the delayed
/// correction that meets the reduced sums (`ft_j`, `fsub_j`, `fadd_j` read it).
fn centered_declarations(
    v: &mut String,
    c: &BconvConstants,
    corr: &heaccel_verification::rns::CenteredCorrection,
    w: usize,
    steps: usize,
) -> String {
    let k = c.from_primes().len();
    let f = corr.shift() as usize;
    let ub = correction_bits(k);
    let delay = CORRECTION_DELAY + steps;
    let _ = writeln!(
        v,
        "// Centered: correction u = (sum y_i c_i + 2^{fm1}) >> {f}, then out = sum - u Q mod b_j.\n         reg [63:0] s_c = 64'd0;\nreg [127:0] cp = 128'd0;\nreg [127:0] cacc = 128'd0;\n         wire [127:0] cround = cacc + (128'd1 << {fm1});\nreg fin_v = 1'b0;",
        fm1 = f - 1
    );
    for d in 0..delay {
        let _ = writeln!(v, "reg [{}:0] ud{d} = {ub}'d0;", ub - 1);
    }
    let _ = writeln!(v, "reg [63:0] rom_c [0:{}];\ninitial begin", k - 1);
    for (i, ci) in corr.constants().iter().enumerate() {
        let _ = writeln!(v, "  rom_c[{i}] = 64'h{ci:016x};");
    }
    let _ = writeln!(v, "end");
    let hw = w.div_ceil(4);
    let aw = w + 2;
    let last = if steps == 0 {
        "acc".to_string()
    } else {
        format!("lad{steps}")
    };
    let last_u = format!("ud{}", delay - 1);
    for (j, b) in c.to_primes().iter().enumerate() {
        let _ = writeln!(
            v,
            "reg [{w1}:0] fin_{j} = {w}'d0;\nreg [{w1}:0] rom_t_{j} [0:{k}];\ninitial begin",
            w1 = w - 1
        );
        for u in 0..=k {
            let t = c.u_q(j, u).expect("centered constants");
            let _ = writeln!(v, "  rom_t_{j}[{u}] = {w}'h{t:0hw$x};");
        }
        let _ = writeln!(
            v,
            "end\nwire [{a1}:0] ft_{j} = {{2'b00, rom_t_{j}[{last_u}]}};\n\
             wire [{a1}:0] fsub_{j} = {last}_{j} - ft_{j};\n\
             wire [{a1}:0] fadd_{j} = {last}_{j} + {aw}'d{b} - ft_{j};",
            a1 = aw - 1,
            b = b.value()
        );
    }
    last_u
}

/// The centered variant's registers (inside the clocked block).
fn centered_registers(v: &mut String, c: &BconvConstants, w: usize, steps: usize) {
    let f = c.correction().expect("centered").shift() as usize;
    let ub = correction_bits(c.from_primes().len());
    let delay = CORRECTION_DELAY + steps;
    let _ = writeln!(
        v,
        "  s_c <= rom_c[d5_i];\n  cp <= {{{{{pad}{{1'b0}}}}, s_y}} * {{64'd0, s_c}};\n  if (m1_v)          cacc <= (m1_f ? 128'd0 : cacc) + cp;\n  ud0 <= cround[{top}:{f}];",
        pad = 128 - w,
        top = f + ub - 1
    );
    for d in 1..delay {
        let _ = writeln!(v, "  ud{d} <= ud{};", d - 1);
    }
    let (pv, last) = if steps == 0 {
        ("done".to_string(), "acc".to_string())
    } else {
        (format!("lad{steps}_v"), format!("lad{steps}"))
    };
    let _ = writeln!(v, "  fin_v <= {pv};");
    for j in 0..c.to_primes().len() {
        let _ = writeln!(
            v,
            "  fin_{j} <= ({last}_{j} >= ft_{j}) ? fsub_{j}[{w1}:0] : fadd_{j}[{w1}:0];",
            w1 = w - 1
        );
    }
}

/// The streaming testbench: residues in limb order with the idle cycles of `gap_after`,
/// every `out_valid` checked against the next record's expected words and against the cycle
/// it is due (`latency` edges after the one that sampled the coefficient's last residue).
pub(super) fn testbench(k: usize, l: usize, w: usize, latency: usize, count: usize) -> String {
    let vw = vector_bits(w);
    let rw = k + l;
    let mut s = format!(
        "`timescale 1ns/1ps\nmodule tb;\n  reg clock = 1'b0;\n  reg in_valid = 1'b0;\n  reg \
         [{w1}:0] x = {w}'d0;\n  wire out_valid;\n",
        w1 = w - 1
    );
    for j in 0..l {
        let _ = writeln!(s, "  wire [{}:0] out${j};", w - 1);
    }
    let outs: String = (0..l).map(|j| format!(", .out${j}(out${j})")).collect();
    let _ = writeln!(
        s,
        "  top dut(.clock(clock), .in_valid(in_valid), .x(x), .out_valid(out_valid){outs});"
    );
    let _ = write!(
        s,
        "  reg [{vw1}:0] mem [0:`VECTOR_WORDS-1];\n  reg [8*1024-1:0] path;\n  integer due \
         [0:{c1}];\n  integer count, i, cyc, r_in, i_in, r_out, gap, errors, checked, bad, \
         limit;\n  initial begin\n    for (i = 0; i < `VECTOR_WORDS; i = i + 1) mem[i] = \
         {vw}'h{xs};\n    if (!$value$plusargs(\"vectors=%s\", path)) begin\n      \
         $display(\"FAIL: no +vectors=PATH given\");\n      $finish;\n    end\n    \
         $readmemh(path, mem);\n    if (mem[0] !== 32'h{VECTOR_MAGIC:08x}) begin\n      \
         $display(\"FAIL: vector file not read (magic %h)\", mem[0]);\n      $finish;\n    \
         end\n    count = mem[1];\n    if (count != {count} || 3 + count * {rw} != \
         `VECTOR_WORDS || mem[2 + count * {rw}] !== 32'h{VECTOR_END:08x}) begin\n      \
         $display(\"FAIL: vector file malformed (count %0d)\", count);\n      $finish;\n    \
         end\n    errors = 0;\n    checked = 0;\n    r_in = 0;\n    i_in = 0;\n    r_out = \
         0;\n    gap = 0;\n    limit = count * {k1} + {latency} + 4;\n    for (cyc = 0; cyc < \
         limit; cyc = cyc + 1) begin\n      if (r_in < count && gap == 0) begin\n        \
         in_valid = 1'b1;\n        x = mem[2 + r_in * {rw} + i_in];\n        if (i_in == {km1}) \
         begin\n          due[r_in] = cyc + {lm1};\n          gap = (r_in % 3 == 2);\n          \
         i_in = 0;\n          r_in = r_in + 1;\n        end else i_in = i_in + 1;\n      end else \
         begin\n        in_valid = 1'b0;\n        x = {w}'d0;\n        gap = 0;\n      end\n      \
         #1 clock = 1'b1;\n      #1;\n      if (out_valid) begin\n        bad = 0;\n        if \
         (r_out >= count) begin\n          bad = 1;\n          $display(\"MISMATCH: output %0d \
         beyond the %0d records\", r_out, count);\n        end else begin\n          if (cyc != \
         due[r_out]) begin\n            bad = 1;\n            $display(\"MISMATCH record %0d: \
         at cycle %0d, due at %0d\", r_out, cyc, due[r_out]);\n          end\n",
        vw1 = vw - 1,
        c1 = count.max(1) - 1,
        xs = "x".repeat(vw / 4),
        k1 = k + 1,
        km1 = k - 1,
        lm1 = latency - 1,
    );
    for j in 0..l {
        let _ = write!(
            s,
            "          if (out${j} !== mem[2 + r_out * {rw} + {o}]) begin\n            bad = \
             1;\n            if (errors < 8) $display(\"MISMATCH record %0d out${j}: got %h \
             want %h\", r_out, out${j}, mem[2 + r_out * {rw} + {o}]);\n          end\n",
            o = k + j
        );
    }
    let _ = write!(
        s,
        "          checked = checked + 1;\n        end\n        errors = errors + bad;\n        \
         r_out = r_out + 1;\n      end\n      #1 clock = 1'b0;\n      #1;\n    end\n    if \
         (errors == 0 && checked == count && r_out == count) $display(\"PASS %0d vectors\", \
         checked);\n    else $display(\"FAIL: %0d mismatches, %0d of %0d records shown\", \
         errors, r_out, count);\n    $finish;\n  end\nendmodule\n"
    );
    s
}
