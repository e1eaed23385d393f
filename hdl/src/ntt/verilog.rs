//! The Verilog text of the NTT unit ([`NttUnit`]'s `hdl()`): the same registers, memories
//! and formulas as its Rust model in `unit.rs`, plus the stage-selected routing networks.

use std::fmt::Write as _;

use super::{NttGeometry, NttUnit};

/// `function [31:0] name; input [31:0] b; case (b) ... endcase endfunction` of a table.
fn case_function(name: &str, values: &[usize]) -> String {
    let mut s = format!("function [31:0] {name};\n  input [31:0] b;\n  begin\n    case (b)\n");
    for (i, v) in values.iter().enumerate() {
        let _ = writeln!(s, "      32'd{i}: {name} = 32'd{v};");
    }
    let _ = write!(
        s,
        "      default: {name} = 32'd0;\n    endcase\n  end\nendfunction\n"
    );
    s
}

/// Verilog body of the unit; every register and memory of [`NttUnit::step`] and every
/// combinational signal of [`NttUnit::drive`] by the same formulas.
pub(super) fn ntt_verilog<const W: usize>(u: &NttUnit<W>, w: usize) -> String {
    let g = u._geo;
    let n = g.log_n() as usize;
    let p = g.bank_bits() as usize;
    let d = g.depth();
    let ab = g.row_bits() as usize;
    let banks = g.banks();
    let lanes = g.lanes();
    let rd = g.rom_depth();
    let rb = (usize::BITS - (rd - 1).leading_zeros()).max(1) as usize;
    let pipe = NttUnit::<W>::LATENCY - 1;
    let hw = w.div_ceil(4);
    let mut v = String::new();
    let _ = writeln!(
        v,
        "// NTT unit: N = 2^{n}, P = {lanes} lanes, {banks} banks of {d} words, twiddle ROMs of \
         {rd} words per lane."
    );
    let _ = writeln!(v, "localparam [31:0] MASKP = 32'd{};", banks - 1);
    let _ = writeln!(v, "localparam [31:0] MASKR = 32'd{};", d - 1);
    // fold: XOR of the p-bit fields.
    let fields = n.div_ceil(p);
    let terms: Vec<String> = (0..fields)
        .map(|f| format!("((a >> {}) & MASKP)", f * p))
        .collect();
    let _ = writeln!(
        v,
        "function [31:0] fold;\n  input [31:0] a;\n  begin\n    fold = {};\n  end\nendfunction",
        terms.join(" ^ ")
    );
    let _ = writeln!(
        v,
        "function [31:0] slot_addr;\n  input [31:0] c;\n  input [31:0] w0;\n  input [31:0] sv;\n  \
         begin\n    slot_addr = ((c >> w0) << (w0 + 32'd{p})) | (sv << w0) | (c & ((32'd1 << w0) \
         - 32'd1));\n  end\nendfunction"
    );
    let _ = writeln!(
        v,
        "function [31:0] rotr;\n  input [31:0] x;\n  input [31:0] s;\n  begin\n    rotr = \
         (((x << {p}) | x) >> s) & MASKP;\n  end\nendfunction"
    );
    let bits: Vec<usize> = (0..n).collect();
    v += &case_function(
        "w0_of",
        &bits.iter().map(|&b| g.window(b)).collect::<Vec<_>>(),
    );
    v += &case_function(
        "rot_of",
        &bits.iter().map(|&b| g.rotation(b)).collect::<Vec<_>>(),
    );
    let bases: Vec<usize> = (0..n)
        .map(|s| g.rom_base(false, s))
        .chain((0..n).map(|s| g.rom_base(true, s)))
        .collect();
    v += &case_function("tbase", &bases);
    // Registers.
    let _ = writeln!(
        v,
        "reg q_busy = 1'b0;\nreg q_inv = 1'b0;\nreg [31:0] q_stage = 32'd0;\nreg [31:0] q_t = \
         32'd0;\nreg [31:0] q_cycles = 32'd0;\nreg [15:0] q_row = 16'd0;"
    );
    for i in 1..=pipe {
        let _ = writeln!(
            v,
            "reg i{i}_valid = 1'b0;\nreg [31:0] i{i}_c = 32'd0;\nreg [31:0] i{i}_stage = 32'd0;"
        );
    }
    // Stage decode at issue (0), lane input (1) and write-back (pipe); the rotation only
    // where bank addresses are generated (the lanes' routing decodes the stage itself).
    for (tag, stage, c, addresses) in [
        ("0", "q_stage".to_string(), "q_t".to_string(), true),
        ("1", "i1_stage".to_string(), "i1_c".to_string(), false),
        ("w", format!("i{pipe}_stage"), format!("i{pipe}_c"), true),
    ] {
        let _ = writeln!(
            v,
            "wire [31:0] b{tag} = q_inv ? {stage} : (32'd{} - {stage});\nwire [31:0] w0{tag} = \
             w0_of(b{tag});\nwire [31:0] z{tag} = fold(slot_addr({c}, w0{tag}, 32'd0));",
            n - 1
        );
        if addresses {
            let _ = writeln!(v, "wire [31:0] rot{tag} = rot_of(b{tag});");
        }
    }
    let _ = writeln!(
        v,
        "wire issue = q_busy && (q_t < 32'd{d});\nwire [31:0] taddr = issue ? (tbase({{31'd0, \
         q_inv}} * 32'd{n} + q_stage) + (q_t >> w00)) : 32'd0;\nwire [31:0] zl = fold(({{16'd0, \
         wr_row}} & MASKR) << {p});\nwire [31:0] zr = fold(({{16'd0, q_row}} & MASKR) << {p});"
    );
    for m in 0..banks {
        let _ = writeln!(
            v,
            "reg [{w1}:0] rd_{m} = {w}'d0;\nreg [{w1}:0] bank_{m} [0:{}];",
            d - 1,
            w1 = w - 1
        );
    }
    // Routing (see "Routing" in the module documentation): one-hot stage decodes, then per
    // direction a stage-selected fixed permutation and an XOR network.
    for b in 0..n {
        let _ = writeln!(
            v,
            "wire s1_{b} = (b1 == 32'd{b});\nwire sw_{b} = (bw == 32'd{b});"
        );
    }
    let words =
        |prefix: &str| -> Vec<String> { (0..banks).map(|i| format!("{prefix}{i}")).collect() };
    // Write-back: bank m takes source(m ^ zw), source(c) the lane output of window value
    // rotr(c, rot); loads: bank m takes din(m ^ zl).
    let sources: Vec<String> = (0..banks)
        .map(|c| {
            stage_select(&g, "sw", |b| {
                let (r, rot) = (g.pair_pos(b), g.rotation(b));
                let wv = g.rotr(c, rot);
                let lane = ((wv >> (r + 1)) << r) | (wv & ((1 << r) - 1));
                let half = if (wv >> r) & 1 == 1 { "v" } else { "u" };
                format!("lanes${lane}${half}")
            })
        })
        .collect();
    for (c, src) in sources.iter().enumerate() {
        let _ = writeln!(v, "wire [{}:0] ws_{c} = {src};", w - 1);
    }
    let wb = xor_network(&mut v, "xw", &words("ws_"), "zw", w);
    let ld = xor_network(&mut v, "xl", &words("din$"), "zl", w);
    // Banks: one read and one write per edge.
    for m in 0..banks {
        let _ = writeln!(
            v,
            "wire [31:0] ra_{m} = q_busy ? (slot_addr(q_t, w00, rotr(32'd{m} ^ z0, rot0)) >> {p}) \
             : {{16'd0, rd_row}};\nwire [31:0] wa_{m} = q_busy ? (slot_addr(i{pipe}_c, w0w, \
             rotr(32'd{m} ^ zw, rotw)) >> {p}) : {{16'd0, wr_row}};\nwire [{w1}:0] wd_{m} = q_busy \
             ? {} : {};\nwire we_{m} = q_busy ? i{pipe}_valid : wr_en;\nalways @(posedge clock) \
             begin\n  if (we_{m}) bank_{m}[wa_{m}[{ab1}:0]] <= wd_{m};\n  rd_{m} <= \
             bank_{m}[ra_{m}[{ab1}:0]];\nend",
            wb[m],
            ld[m],
            ab1 = ab - 1,
            w1 = w - 1
        );
    }
    // Reads: lane k's x (y) is rd(rotl(v_x, rot) ^ z1); port j is rd(j ^ zr).
    let lane_in = xor_network(&mut v, "xr", &words("rd_"), "z1", w);
    let unload = xor_network(&mut v, "xo", &words("rd_"), "zr", w);
    // Twiddle ROMs.
    for k in 0..lanes {
        for (name, rom) in [("rom_w", &u._rom_w[k]), ("rom_s", &u._rom_s[k])] {
            let _ = writeln!(
                v,
                "reg [{}:0] {name}_{k} [0:{}];\ninitial begin",
                w - 1,
                rd - 1
            );
            for (i, x) in rom.iter().enumerate() {
                let _ = writeln!(v, "  {name}_{k}[{i}] = {w}'h{x:0hw$x};");
            }
            let _ = writeln!(v, "end");
        }
        let _ = writeln!(
            v,
            "reg [{w1}:0] tw_{k} = {w}'d0;\nreg [{w1}:0] tws_{k} = {w}'d0;\nalways @(posedge clock) \
             begin\n  tw_{k} <= rom_w_{k}[taddr[{rb1}:0]];\n  tws_{k} <= \
             rom_s_{k}[taddr[{rb1}:0]];\nend",
            rb1 = rb - 1,
            w1 = w - 1
        );
    }
    // Control and issue pipeline.
    let _ = writeln!(v, "always @(posedge clock) begin\n  q_row <= rd_row;");
    let _ = writeln!(
        v,
        "  i1_valid <= issue;\n  i1_c <= q_t;\n  i1_stage <= q_stage;"
    );
    for i in 2..=pipe {
        let _ = writeln!(
            v,
            "  i{i}_valid <= i{j}_valid;\n  i{i}_c <= i{j}_c;\n  i{i}_stage <= i{j}_stage;",
            j = i - 1
        );
    }
    let _ = writeln!(
        v,
        "  if (!q_busy) begin\n    if (start) begin\n      q_busy <= 1'b1;\n      q_stage <= \
         32'd0;\n      q_t <= 32'd0;\n      q_inv <= inverse;\n      q_cycles <= 32'd1;\n    \
         end\n  end else begin\n    q_cycles <= q_cycles + 32'd1;\n    if (q_t == 32'd{}) begin\n \
         q_t <= 32'd0;\n      if (q_stage == 32'd{}) q_busy <= 1'b0;\n      else q_stage <= \
         q_stage + 32'd1;\n    end else q_t <= q_t + 32'd1;\n  end\nend",
        d + NttUnit::<W>::LATENCY - 2,
        n - 1
    );
    // Outputs and lane inputs.
    let [s1, ss1, sn, ssn] = u._scale;
    let lane_words: Vec<[String; 2]> = (0..lanes)
        .map(|k| {
            [0, 1].map(|which| {
                stage_select(&g, "s1", |b| {
                    let slots = g.lane_slots(k, g.pair_pos(b));
                    let slot = if which == 0 { slots.0 } else { slots.1 };
                    lane_in[g.rotl(slot, g.rotation(b))].clone()
                })
            })
        })
        .collect();
    let _ = writeln!(
        v,
        "wire last_inv = q_inv && s1_{};\nalways @(*) begin\n  busy = q_busy;\n  cycles = \
         q_cycles;",
        n - 1
    );
    for (j, word) in unload.iter().enumerate() {
        let _ = writeln!(v, "  dout${j} = {word};");
    }
    for (k, [x, y]) in lane_words.iter().enumerate() {
        let _ = writeln!(
            v,
            "  lanes${k}$clock = clock;\n  lanes${k}$inverse = q_inv;\n  lanes${k}$x = {x};\n  \
             lanes${k}$y = {y};\n  lanes${k}$w = tw_{k};\n  lanes${k}$w_shoup = tws_{k};\n  \
             lanes${k}$s = last_inv ? {w}'h{sn:0hw$x} : {w}'h{s1:0hw$x};\n  lanes${k}$s_shoup = \
             last_inv ? {w}'h{ssn:0hw$x} : {w}'h{ss1:0hw$x};"
        );
    }
    let _ = writeln!(v, "end");
    v
}

/// The word chosen by stage: `word(b)` for the stage pairing bit `b` (`b` in `[0, log_n)`),
/// as a chain of multiplexers on the one-hot decodes `{decode}_{b}` with one arm per distinct
/// word (at most `log_n` arms; a single word needs no multiplexer).
fn stage_select(g: &NttGeometry, decode: &str, word: impl Fn(usize) -> String) -> String {
    let mut arms: Vec<(String, Vec<usize>)> = Vec::new();
    for b in 0..g.log_n() as usize {
        let wd = word(b);
        match arms.iter_mut().find(|(x, _)| *x == wd) {
            Some((_, stages)) => stages.push(b),
            None => arms.push((wd, vec![b])),
        }
    }
    let (last, _) = arms.pop().expect("log_n >= 2 stages");
    arms.iter().rev().fold(last, |rest, (wd, stages)| {
        let hit: Vec<String> = stages.iter().map(|b| format!("{decode}_{b}")).collect();
        format!("({}) ? {wd} : ({rest})", hit.join(" | "))
    })
}

/// Emits the `p`-stage XOR network `out[i] = inputs[i ^ z]` over a power-of-two number of
/// inputs (`z` a Verilog expression whose low `log2(inputs.len())` bits are read): stage `s` swaps the words whose indices differ in
/// bit `s` when bit `s` of `z` is set. Returns the names of the outputs, in index order.
fn xor_network(v: &mut String, name: &str, inputs: &[String], z: &str, w: usize) -> Vec<String> {
    let mut cur: Vec<String> = inputs.to_vec();
    let stages = inputs.len().trailing_zeros() as usize;
    for s in 0..stages {
        let next: Vec<String> = (0..inputs.len())
            .map(|i| format!("{name}{}_{i}", s + 1))
            .collect();
        for (i, out) in next.iter().enumerate() {
            let _ = writeln!(
                v,
                "wire [{}:0] {out} = {z}[{s}] ? {} : {};",
                w - 1,
                cur[i ^ (1 << s)],
                cur[i]
            );
        }
        cur = next;
    }
    cur
}
