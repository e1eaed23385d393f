//! The core's Verilog body: every register and memory of the Rust model's step and every
//! combinational signal of its drive, by the same formulas.

use std::fmt::Write as _;

use super::phase;
use crate::core::lane::{lane_op, EwLane};
use crate::core::{opcode, reg, CoreGeometry, CoreIssue, Engine, SLOTS_PER_EXTENSION};
use crate::muxtree::pick_tree;

/// `c0 ? v0 : c1 ? v1 : ... : default` over the primes, selected by register `sel`.
fn by_prime(sel: &str, primes: usize, value: impl Fn(usize) -> String, default: &str) -> String {
    let mut s = String::new();
    for m in 0..primes {
        let _ = write!(s, "({sel} == 32'd{m}) ? {} : ", value(m));
    }
    s + default
}

/// `c0 ? v0 : ... : 32'd0` over the conversion tables, selected by `bc_sel`.
fn by_table(tables: usize, value: impl Fn(usize) -> String) -> String {
    by_table_or(tables, value, "32'd0")
}

/// [`by_table`] with another default.
fn by_table_or(tables: usize, value: impl Fn(usize) -> String, default: &str) -> String {
    let mut e = String::new();
    for t in 0..tables {
        let _ = write!(e, "(bc_sel == 32'd{t}) ? {} : ", value(t));
    }
    e + default
}

/// The seven slot fields of an extension entry (the head's field wires).
const EXT_FIELDS: [&str; SLOTS_PER_EXTENSION] = ["f_dst", "f_a", "f_b", "x_3", "x_4", "x_5", "x_6"];

/// Verilog body of the core: every register and memory of [`Core::step`] and every
/// combinational signal of [`Core::drive`] by the same formulas.
///
/// [`Core::step`]: super::Core::step
/// [`Core::drive`]: super::Core::drive
pub(super) fn core_verilog_body(geo: &CoreGeometry) -> String {
    let (d, w, s_count) = (geo.depth(), geo.width(), geo.slots());
    let l = geo.primes().len();
    let qd = geo.queue();
    let qb = qd.trailing_zeros() as usize;
    let sl_count = geo.max_bconv_slots().div_ceil(SLOTS_PER_EXTENSION) * SLOTS_PER_EXTENSION;
    let mut v = String::new();
    let _ = writeln!(
        v,
        "// heaccel core: N = 2^{}, P = {} NTT lanes, rows of {w} words, {l} primes, {s_count} \
         slots of {d} rows, instruction queue of {qd}, {} issue.",
        geo.log_n(),
        geo.lanes(),
        geo.issue().name()
    );
    let _ = writeln!(v, "localparam [31:0] MASKR = 32'd{};", d - 1);
    let regs32 = [
        "q_phase", "q_pc", "q_t", "q_cycles", "q_count", "q_iqaddr", "q_w0", "ls_ph", "ls_dst",
        "ls_a", "ls_t", "ew_ph", "ew_op", "ew_sel", "ew_dst", "ew_a", "ew_b", "ew_imm", "ew_t",
        "nt_ph", "nt_op", "nt_sel", "nt_dst", "nt_a", "nt_t", "au_ph", "au_sel", "au_dst", "au_a",
        "au_imm", "au_t", "bc_ph", "bc_sel",
    ];
    for r in regs32 {
        let _ = writeln!(v, "reg [31:0] {r} = 32'd0;");
    }
    for r in ["q_busy", "q_done", "q_err", "ls_ov"] {
        let _ = writeln!(v, "reg {r} = 1'b0;");
    }
    for s in 0..s_count {
        let _ = writeln!(v, "reg [2:0] own_{s} = 3'd0;");
    }
    // Instruction queue.
    let _ = writeln!(
        v,
        "reg [31:0] iq0 [0:{qm}];\nreg [31:0] iq1 [0:{qm}];\ninteger qi;\ninitial begin\n  for \
         (qi = 0; qi < {qd}; qi = qi + 1) begin\n    iq0[qi] = 32'd0;\n    iq1[qi] = 32'd0;\n  \
         end\nend\nalways @(posedge clock) begin\n  if (reg_we && (reg_addr == 8'd{})) begin\n    \
         iq0[q_iqaddr[{qb1}:0]] <= q_w0;\n    iq1[q_iqaddr[{qb1}:0]] <= reg_wdata;\n  end\nend",
        reg::IQ_WORD1,
        qm = qd - 1,
        qb1 = qb - 1
    );
    decode_and_dispatch(&mut v, geo);
    engine_signals(&mut v, geo);
    bconv_declarations(&mut v, geo, sl_count);
    scratchpad(&mut v, geo);
    bconv_sources(&mut v, geo, sl_count);
    operands(&mut v, geo);
    control(&mut v, geo, sl_count);
    outputs(&mut v, geo);
    v
}

/// The head entry's fields, its checks, the scoreboard look-ups and the dispatch decision
/// `go` (head to its engine) / `x_go` (an extension entry taken), the stop `halt`.
fn decode_and_dispatch(v: &mut String, geo: &CoreGeometry) {
    use phase::*;
    let s_count = geo.slots();
    let l = geo.primes().len();
    let tables = geo.conversions();
    let t_count = tables.len();
    let qb1 = geo.queue().trailing_zeros() as usize - 1;
    let _ = writeln!(
        v,
        "wire [31:0] f_w0 = iq0[q_pc[{qb1}:0]];\nwire [31:0] f_w1 = iq1[q_pc[{qb1}:0]];\nwire \
         [31:0] f_op = f_w0 & 32'd15;\nwire [31:0] f_sel = (f_w0 >> 4) & 32'd15;\nwire [31:0] \
         f_dst = (f_w0 >> 8) & 32'd255;\nwire [31:0] f_a = (f_w0 >> 16) & 32'd255;\nwire [31:0] \
         f_b = f_w0 >> 24;\nwire [31:0] x_3 = f_w1 & 32'd255;\nwire [31:0] x_4 = (f_w1 >> 8) & \
         32'd255;\nwire [31:0] x_5 = (f_w1 >> 16) & 32'd255;\nwire [31:0] x_6 = f_w1 >> 24;\nwire \
         f_bad = (f_op > 32'd{bc}) || ((f_op == 32'd{bc}) ? {bad_table} : (f_sel >= 32'd{l})) || \
         (f_dst >= 32'd{s_count}) || (f_a >= 32'd{s_count}) || (f_b >= 32'd{s_count});",
        bc = opcode::BCONV,
        // Without tables every bconv is malformed (and `f_sel >= 0` would be constant).
        bad_table = if t_count == 0 {
            "1'b1".to_string()
        } else {
            format!("(f_sel >= 32'd{t_count})")
        },
    );
    let op = |o: u32| format!("(f_op == 32'd{o})");
    let _ = writeln!(
        v,
        "wire [2:0] f_eng = ({} || {}) ? 3'd{} : ({} || {}) ? 3'd{} : {} ? 3'd{} : {} ? 3'd{} : \
         3'd{};",
        op(opcode::LOAD),
        op(opcode::STORE),
        Engine::Stream.id(),
        op(opcode::NTT),
        op(opcode::INTT),
        Engine::Ntt.id(),
        op(opcode::AUTOMORPH),
        Engine::Automorph.id(),
        op(opcode::BCONV),
        Engine::Bconv.id(),
        Engine::ElementWise.id()
    );
    let _ = writeln!(
        v,
        "wire ls_idle = (ls_ph == 32'd{IDLE});\nwire ew_idle = (ew_ph == 32'd{IDLE});\nwire \
         nt_idle = (nt_ph == 32'd{IDLE});\nwire au_idle = (au_ph == 32'd{IDLE});\nwire bc_idle = \
         (bc_ph == 32'd{IDLE});\nwire all_idle = ls_idle && ew_idle && nt_idle && au_idle && \
         bc_idle;\nwire f_eng_idle = (f_eng == 3'd1) ? ls_idle : (f_eng == 3'd3) ? nt_idle : \
         (f_eng == 3'd4) ? au_idle : (f_eng == 3'd5) ? bc_idle : ew_idle;"
    );
    // The scoreboard: the owner of each slot the entry names.
    let owners: Vec<String> = (0..s_count).map(|s| format!("own_{s}")).collect();
    for field in EXT_FIELDS {
        let root = pick_tree(v, &format!("ow_{field}"), &owners, field, 3);
        let _ = writeln!(v, "wire [2:0] o_{field} = {root};");
    }
    let _ = writeln!(
        v,
        "wire use_dst = !{};\nwire use_a = !{};\nwire use_b = {}({} || {} || {} || {});\nwire f_free \
         = {} || ((!use_dst || (o_f_dst == 3'd0)) && (!use_a || (o_f_a == 3'd0)) && (!use_b || \
         (o_f_b == 3'd0)));\nwire go = (q_phase == 32'd{FETCH}) && (q_pc < q_count) && !f_bad && \
         f_eng_idle && ({} || all_idle) && f_free;\nwire halt_fetch = (q_phase == 32'd{FETCH}) && \
         ((q_pc >= q_count) || f_bad) && all_idle;",
        op(opcode::STORE),
        op(opcode::LOAD),
        // The negative control: `b` neither checked nor locked.
        if geo.scoreboard_fault() { "1'b0 && " } else { "" },
        op(opcode::ADD),
        op(opcode::SUB),
        op(opcode::MUL),
        op(opcode::MAC),
        op(opcode::BCONV),
        if geo.issue() == CoreIssue::Overlapped {
            "1'b1"
        } else {
            "1'b0"
        }
    );
    // Extension entries: checks, the named positions of this entry, their owners.
    let count = by_table(t_count, |t| {
        format!("32'd{}", tables[t].from.len() + tables[t].to.len())
    });
    let last_ext = by_table(t_count, |t| {
        format!("32'd{}", tables[t].extension_entries() - 1)
    });
    let slot_ok = EXT_FIELDS
        .iter()
        .map(|f| format!("({f} < 32'd{s_count})"))
        .collect::<Vec<_>>()
        .join(" && ");
    let _ = writeln!(
        v,
        "wire [31:0] x_count = {count};\nwire [31:0] x_base = q_t * 32'd{SLOTS_PER_EXTENSION};\nwire \
         x_bad = (f_op != 32'd{ext}) || (f_sel != 32'd0) || !({slot_ok});\nwire x_last = (q_t == \
         ({last_ext}));",
        ext = opcode::EXT
    );
    let mut free = Vec::new();
    for (p, field) in EXT_FIELDS.iter().enumerate() {
        // Without tables no entry is an extension of anything (and `< 0` would be constant).
        if t_count == 0 {
            let _ = writeln!(v, "wire x_named_{p} = 1'b0;");
        } else {
            let _ = writeln!(v, "wire x_named_{p} = (x_base + 32'd{p}) < x_count;");
        }
        free.push(format!(
            "(!x_named_{p} || (o_{field} == 3'd0) || (o_{field} == 3'd{}))",
            Engine::Bconv.id()
        ));
    }
    let _ = writeln!(
        v,
        "wire x_go = (q_phase == 32'd{BC_EXT}) && !x_bad && {};\nwire halt_ext = (q_phase == \
         32'd{BC_EXT}) && x_bad && all_idle;\nwire halt = halt_fetch || halt_ext;",
        free.join(" && ")
    );
}

/// Per engine: its finishing condition, scratchpad write, read row, and the selected prime's
/// sub-block outputs.
fn engine_signals(v: &mut String, geo: &CoreGeometry) {
    use phase::*;
    let (d, w, l) = (geo.depth(), geo.width(), geo.primes().len());
    let lat = EwLane::LATENCY;
    let t_count = geo.conversions().len();
    let _ = writeln!(
        v,
        "wire bc_out = (bc_ph == 32'd{BC}) && ({});",
        by_table_or(t_count, |t| format!("bconv${}$out_valid", t * w), "1'b0")
    );
    let _ = writeln!(
        v,
        "wire ls_fin = ((ls_ph == 32'd{LOAD}) && s_tvalid && (ls_t == 32'd{dm})) || ((ls_ph == \
         32'd{STORE}) && ls_ov && m_tready && (ls_t == 32'd{dm}));\nwire ew_fin = (ew_ph == \
         32'd{EW}) && (ew_t == 32'd{dl});\nwire nt_fin = (nt_ph == 32'd{NTT_OUT}) && (nt_t == \
         32'd{d});\nwire au_fin = (au_ph == 32'd{AUT_RUN}) && !aut$busy;\nwire bc_fin = bc_out && \
         (q_wr == 32'd{dm});\nwire ls_we = (ls_ph == 32'd{LOAD}) && s_tvalid;\nwire ew_we = \
         (ew_ph == 32'd{EW}) && (ew_t > 32'd{lat});\nwire nt_we = (nt_ph == 32'd{NTT_OUT}) && \
         (nt_t >= 32'd1);\nwire au_we = (au_ph == 32'd{AUT_RUN}) && aut$out_valid;\nwire [31:0] \
         ra_ls = ((ls_ov && m_tready) ? (ls_t + 32'd1) : ls_t) & MASKR;\nwire [31:0] ew_row = \
         (ew_t - 32'd{lp1}) & MASKR;\nwire [31:0] nt_row = (nt_t - 32'd1) & MASKR;\nwire [31:0] \
         au_row = {{16'd0, aut$out_row}} & MASKR;",
        dm = d - 1,
        dl = d + lat,
        lp1 = lat + 1
    );
    let _ = writeln!(
        v,
        "wire nt_busy = {};\nwire [31:0] au_q = {};",
        by_prime("nt_sel", l, |m| format!("ntt${m}$busy"), "1'b0"),
        by_prime(
            "au_sel",
            l,
            |m| format!("32'd{}", geo.primes()[m].value()),
            "32'd0"
        )
    );
    for j in 0..w {
        let _ = writeln!(
            v,
            "wire [31:0] nttd_{j} = {};\nwire [31:0] ewy_{j} = {};\nwire [31:0] autd_{j} = \
             (aut$dneg${j} && (aut$dout${j} != 32'd0)) ? (au_q - aut$dout${j}) : aut$dout${j};",
            by_prime("nt_sel", l, |m| format!("ntt${m}$dout${j}"), "32'd0"),
            by_prime("ew_sel", l, |m| format!("ew${}$y", m * w + j), "32'd0"),
        );
    }
}

/// The scratchpad: per slot its owner's read row, its writes (the bconv's destinations, the
/// stream, element-wise, NTT and automorphism engines' destination), its owner register.
fn scratchpad(v: &mut String, geo: &CoreGeometry) {
    let (d, w, s_count) = (geo.depth(), geo.width(), geo.slots());
    let ab1 = d.trailing_zeros() as usize - 1;
    let bc = Engine::Bconv.id();
    for s in 0..s_count {
        let _ = writeln!(
            v,
            "wire [31:0] ra_{s} = (own_{s} == 3'd1) ? ra_ls : ((own_{s} == 3'd2) || (own_{s} == \
             3'd3) || (own_{s} == 3'd4)) ? (((own_{s} == 3'd2) ? ew_t : (own_{s} == 3'd3) ? nt_t \
             : au_t) & MASKR) : (own_{s} == 3'd5) ? q_row : 32'd0;\nwire acq_{s} = go && (f_op != \
             32'd{}) && ((use_dst && (f_dst == 32'd{s})) || (use_a && (f_a == 32'd{s})) || (use_b \
             && (f_b == 32'd{s})));\nwire xacq_{s} = x_go && ({});\nwire rel_{s} = ((own_{s} == \
             3'd1) && ls_fin) || ((own_{s} == 3'd2) && ew_fin) || ((own_{s} == 3'd3) && nt_fin) || \
             ((own_{s} == 3'd4) && au_fin) || ((own_{s} == 3'd5) && bc_fin);\nalways @(posedge \
             clock) begin\n  if (halt) own_{s} <= 3'd0;\n  else if (acq_{s}) own_{s} <= f_eng;\n  \
             else if (xacq_{s}) own_{s} <= 3'd{bc};\n  else if (rel_{s}) own_{s} <= 3'd0;\nend",
            opcode::BCONV,
            EXT_FIELDS
                .iter()
                .enumerate()
                .map(|(p, f)| format!("(x_named_{p} && ({f} == 32'd{s}))"))
                .collect::<Vec<_>>()
                .join(" || ")
        );
        for j in 0..w {
            let _ = writeln!(
                v,
                "reg [31:0] sp_{s}_{j} [0:{dm}];\nreg [31:0] rd_{s}_{j} = 32'd0;\ninteger i_{s}_{j};\n\
                 initial for (i_{s}_{j} = 0; i_{s}_{j} < {d}; i_{s}_{j} = i_{s}_{j} + 1) \
                 sp_{s}_{j}[i_{s}_{j}] = 32'd0;\nalways @(posedge clock) begin\n  if (bcw_{s}) \
                 sp_{s}_{j}[q_wr[{ab1}:0]] <= bcd_{s}_{j};\n  else if (au_we && (au_dst == \
                 32'd{s})) sp_{s}_{j}[au_row[{ab1}:0]] <= autd_{j};\n  else if (nt_we && (nt_dst \
                 == 32'd{s})) sp_{s}_{j}[nt_row[{ab1}:0]] <= nttd_{j};\n  else if (ew_we && \
                 (ew_dst == 32'd{s})) sp_{s}_{j}[ew_row[{ab1}:0]] <= ewy_{j};\n  else if (ls_we && \
                 (ls_dst == 32'd{s})) sp_{s}_{j}[ls_t[{ab1}:0]] <= s_tdata${j};\n  rd_{s}_{j} <= \
                 sp_{s}_{j}[ra_{s}[{ab1}:0]];\nend",
                dm = d - 1,
            );
        }
    }
}

/// The engines' operands: the registered read data of their slots, lane by lane.
fn operands(v: &mut String, geo: &CoreGeometry) {
    for j in 0..geo.width() {
        let col: Vec<String> = (0..geo.slots()).map(|s| format!("rd_{s}_{j}")).collect();
        for (tag, index) in [
            ("a", "ew_a"),
            ("b", "ew_b"),
            ("c", "ew_dst"),
            ("s", "ls_a"),
            ("n", "nt_a"),
            ("u", "au_a"),
        ] {
            let root = pick_tree(v, &format!("rd{tag}{j}"), &col, index, 32);
            let _ = writeln!(v, "wire [31:0] rd{tag}_{j} = {root};");
        }
        let _ = writeln!(
            v,
            "wire [31:0] lb_{j} = ((ew_op == 32'd{as_}) || (ew_op == 32'd{ms})) ? ew_imm : (ew_op \
             == 32'd{cp}) ? 32'd0 : rdb_{j};",
            as_ = opcode::ADD_SCALAR,
            ms = opcode::MUL_SCALAR,
            cp = opcode::COPY
        );
    }
    let _ = writeln!(
        v,
        "wire [1:0] lop = (ew_op == 32'd{sub}) ? 2'd{ls} : ((ew_op == 32'd{mul}) || (ew_op == \
         32'd{ms})) ? 2'd{lm} : (ew_op == 32'd{mac}) ? 2'd{lc} : 2'd{la};",
        sub = opcode::SUB,
        mul = opcode::MUL,
        ms = opcode::MUL_SCALAR,
        mac = opcode::MAC,
        ls = lane_op::SUB,
        lm = lane_op::MUL,
        lc = lane_op::MAC,
        la = lane_op::ADD
    );
}

/// The clocked control: the engines' phases and counters, the dispatcher, the register file.
fn control(v: &mut String, geo: &CoreGeometry, sl_count: usize) {
    use phase::*;
    let d = geo.depth();
    let tables = geo.conversions();
    let last_limb = by_table(tables.len(), |t| {
        format!("32'd{}", tables[t].from.len() - 1)
    });
    let mut sl_writes = String::new();
    for n in 0..sl_count {
        let _ = writeln!(
            sl_writes,
            "        if (q_t == 32'd{}) q_sl_{n} <= {};",
            n / SLOTS_PER_EXTENSION,
            EXT_FIELDS[n % SLOTS_PER_EXTENSION]
        );
    }
    let _ = writeln!(
        v,
        "always @(posedge clock) begin\n  if (q_busy) q_cycles <= q_cycles + 32'd1;\n  // Stream \
         engine.\n  if (go && (f_eng == 3'd1)) begin\n    ls_ph <= (f_op == 32'd{o_load}) ? \
         32'd{LOAD} : 32'd{STORE};\n    ls_dst <= f_dst;\n    ls_a <= f_a;\n    ls_t <= 32'd0;\n    \
         ls_ov <= 1'b0;\n  end else if (ls_fin) begin\n    ls_ph <= 32'd{IDLE};\n    ls_ov <= \
         1'b0;\n  end else if ((ls_ph == 32'd{LOAD}) && s_tvalid) ls_t <= ls_t + 32'd1;\n  else if \
         (ls_ph == 32'd{STORE}) begin\n    if (!ls_ov) ls_ov <= 1'b1;\n    else if (m_tready) \
         ls_t <= ls_t + 32'd1;\n  end\n  // Element-wise engine.\n  if (go && (f_eng == 3'd2)) \
         begin\n    ew_ph <= 32'd{EW};\n    ew_op <= f_op;\n    ew_sel <= f_sel;\n    ew_dst <= \
         f_dst;\n    ew_a <= f_a;\n    ew_b <= f_b;\n    ew_imm <= f_w1;\n    ew_t <= 32'd0;\n  \
         end else if (ew_fin) ew_ph <= 32'd{IDLE};\n  else if (ew_ph == 32'd{EW}) ew_t <= ew_t + \
         32'd1;\n  // NTT engine.\n  if (go && (f_eng == 3'd3)) begin\n    nt_ph <= \
         32'd{NTT_IN};\n    nt_op <= f_op;\n    nt_sel <= f_sel;\n    nt_dst <= f_dst;\n    nt_a \
         <= f_a;\n    nt_t <= 32'd0;\n  end else if (nt_fin) nt_ph <= 32'd{IDLE};\n  else case \
         (nt_ph)\n    32'd{NTT_IN}: if (nt_t == 32'd{d}) begin\n      nt_t <= 32'd0;\n      nt_ph \
         <= 32'd{NTT_START};\n    end else nt_t <= nt_t + 32'd1;\n    32'd{NTT_START}: nt_ph <= \
         32'd{NTT_WAIT};\n    32'd{NTT_WAIT}: if (!nt_busy) begin\n      nt_ph <= \
         32'd{NTT_OUT};\n      nt_t <= 32'd0;\n    end\n    32'd{NTT_OUT}: nt_t <= nt_t + \
         32'd1;\n    default: begin\n    end\n  endcase\n  // Automorphism engine.\n  if (go && \
         (f_eng == 3'd4)) begin\n    au_ph <= 32'd{AUT_IN};\n    au_sel <= f_sel;\n    au_dst <= \
         f_dst;\n    au_a <= f_a;\n    au_imm <= f_w1;\n    au_t <= 32'd0;\n  end else if \
         (au_fin) au_ph <= 32'd{IDLE};\n  else case (au_ph)\n    32'd{AUT_IN}: if (au_t == \
         32'd{d}) begin\n      au_t <= 32'd0;\n      au_ph <= 32'd{AUT_START};\n    end else au_t \
         <= au_t + 32'd1;\n    32'd{AUT_START}: au_ph <= 32'd{AUT_RUN};\n    default: begin\n    \
         end\n  endcase\n  // Basis-conversion engine.\n  if (go && (f_eng == 3'd5)) bc_sel <= \
         f_sel;\n  if (x_go && x_last) begin\n    bc_ph <= 32'd{BC};\n    q_row <= 32'd0;\n    \
         q_limb <= 32'd0;\n    q_feed <= 1'b1;\n    q_wr <= 32'd0;\n  end else if (bc_ph == \
         32'd{BC}) begin\n    if (bc_fin) bc_ph <= 32'd{IDLE};\n    if (q_feed) begin\n      if \
         (q_limb == ({last_limb})) begin\n        q_limb <= 32'd0;\n        if (q_row == \
         32'd{dm}) q_feed <= 1'b0;\n        else q_row <= q_row + 32'd1;\n      end else q_limb <= \
         q_limb + 32'd1;\n    end\n    q_fv <= q_feed;\n    q_fi <= q_limb;\n    if (bc_out && \
         (q_wr != 32'd{dm})) q_wr <= q_wr + 32'd1;\n  end\n  // Dispatcher.\n  if (halt) begin\n  \
         q_busy <= 1'b0;\n    q_done <= 1'b1;\n    q_err <= halt_ext || (q_pc < q_count);\n    \
         q_phase <= 32'd{IDLE};\n  end else if (go) begin\n    q_pc <= q_pc + 32'd1;\n    if \
         (f_eng == 3'd5) begin\n      q_phase <= 32'd{BC_EXT};\n      q_t <= 32'd0;\n    end\n  \
         end else if (x_go) begin\n{sl_writes}        q_pc <= q_pc + 32'd1;\n    if (x_last) \
         q_phase <= 32'd{FETCH};\n    else q_t <= q_t + 32'd1;\n  end\n  if (reg_we) begin\n    \
         case (reg_addr)\n      8'd{r_ctrl}: if (reg_wdata[0] && !q_busy) begin\n        q_busy \
         <= 1'b1;\n        q_done <= 1'b0;\n        q_err <= 1'b0;\n        q_pc <= 32'd0;\n      \
         q_phase <= 32'd{FETCH};\n        q_cycles <= 32'd1;\n      end\n      8'd{r_count}: \
         q_count <= reg_wdata;\n      8'd{r_iqaddr}: q_iqaddr <= reg_wdata;\n      8'd{r_w0}: \
         q_w0 <= reg_wdata;\n      8'd{r_w1}: q_iqaddr <= q_iqaddr + 32'd1;\n      default: \
         begin\n      end\n    endcase\n  end\nend",
        o_load = opcode::LOAD,
        dm = d - 1,
        r_ctrl = reg::CTRL,
        r_count = reg::COUNT,
        r_iqaddr = reg::IQ_ADDR,
        r_w0 = reg::IQ_WORD0,
        r_w1 = reg::IQ_WORD1,
    );
}

/// Outputs and sub-block inputs.
fn outputs(v: &mut String, geo: &CoreGeometry) {
    use phase::*;
    let (d, w, l) = (geo.depth(), geo.width(), geo.primes().len());
    let _ = writeln!(
        v,
        "always @(*) begin\n  busy = q_busy;\n  done = q_done;\n  case (reg_addr)\n    \
         8'd{}: reg_rdata = {{29'd0, q_err, q_done, q_busy}};\n    8'd{}: reg_rdata = q_count;\n \
         8'd{}: reg_rdata = q_cycles;\n    8'd{}: reg_rdata = q_pc;\n    8'd{}: reg_rdata = \
         q_iqaddr;\n    8'd{}: reg_rdata = 32'h{:08x};\n    default: reg_rdata = 32'd0;\n  \
         endcase\n  s_tready = (ls_ph == 32'd{LOAD});\n  m_tvalid = (ls_ph == 32'd{STORE}) && \
         ls_ov;\n  m_tlast = (ls_ph == 32'd{STORE}) && ls_ov && (ls_t == 32'd{});",
        reg::STATUS,
        reg::COUNT,
        reg::CYCLES,
        reg::PC,
        reg::IQ_ADDR,
        reg::INFO,
        geo.info(),
        d - 1
    );
    for j in 0..w {
        let _ = writeln!(v, "  m_tdata${j} = rds_{j};");
    }
    for m in 0..l {
        let _ = writeln!(
            v,
            "  ntt${m}$clock = clock;\n  ntt${m}$start = (nt_ph == 32'd{NTT_START}) && (nt_sel \
             == 32'd{m});\n  ntt${m}$inverse = (nt_op == 32'd{});\n  ntt${m}$wr_en = (nt_ph == \
             32'd{NTT_IN}) && (nt_t >= 32'd1) && (nt_sel == 32'd{m});\n  ntt${m}$wr_row = \
             nt_row[15:0];\n  ntt${m}$rd_row = nt_t[15:0] & MASKR[15:0];",
            opcode::INTT
        );
        for j in 0..w {
            let _ = writeln!(v, "  ntt${m}$din${j} = rdn_{j};");
        }
        for j in 0..w {
            let i = m * w + j;
            let _ = writeln!(
                v,
                "  ew${i}$clock = clock;\n  ew${i}$op = lop;\n  ew${i}$a = rda_{j};\n  ew${i}$b = \
                 lb_{j};\n  ew${i}$c = rdc_{j};"
            );
        }
    }
    let _ = writeln!(
        v,
        "  aut$clock = clock;\n  aut$start = (au_ph == 32'd{AUT_START});\n  aut$galois = \
         au_imm;\n  aut$coeff = au_imm[31];\n  aut$wr_en = (au_ph == 32'd{AUT_IN}) && (au_t >= \
         32'd1);\n  aut$wr_row = au_in_row[15:0];"
    );
    for j in 0..w {
        let _ = writeln!(v, "  aut$din${j} = rdu_{j};");
    }
    for t in 0..geo.conversions().len() {
        for j in 0..w {
            let i = t * w + j;
            let _ = writeln!(
                v,
                "  bconv${i}$clock = clock;\n  bconv${i}$in_valid = (bc_ph == 32'd{BC}) && q_fv && \
                 (bc_sel == 32'd{t});\n  bconv${i}$x = rdx_{j};"
            );
        }
    }
    let _ = writeln!(v, "end");
}

/// The `bconv` registers and write signals: the slot list `q_sl_*`, the row, limb and write
/// counters, and per slot its write enable `bcw_s` and words `bcd_s_j`.
fn bconv_declarations(v: &mut String, geo: &CoreGeometry, sl_count: usize) {
    let (w, s_count) = (geo.width(), geo.slots());
    let _ = writeln!(
        v,
        "reg [31:0] q_row = 32'd0;\nreg [31:0] q_limb = 32'd0;\nreg q_feed = 1'b0;\nreg q_fv = \
         1'b0;\nreg [31:0] q_fi = 32'd0;\nreg [31:0] q_wr = 32'd0;\nwire [31:0] au_in_row = (au_t \
         - 32'd1) & MASKR;"
    );
    for n in 0..sl_count {
        let _ = writeln!(v, "reg [31:0] q_sl_{n} = 32'd0;");
    }
    let tables = geo.conversions();
    for s in 0..s_count {
        let mut hit = Vec::new();
        for (t, c) in tables.iter().enumerate() {
            let k = c.from.len();
            for pos in 0..c.to.len() {
                hit.push((
                    format!("((bc_sel == 32'd{t}) && (q_sl_{} == 32'd{s}))", k + pos),
                    t,
                    pos,
                ));
            }
        }
        let any = if hit.is_empty() {
            "1'b0".to_string()
        } else {
            hit.iter()
                .map(|h| h.0.clone())
                .collect::<Vec<_>>()
                .join(" || ")
        };
        let _ = writeln!(v, "wire bcw_{s} = bc_out && ({any});");
        for j in 0..w {
            let mut e = String::new();
            for (cond, t, pos) in &hit {
                let _ = write!(e, "{cond} ? bconv${}$out${pos} : ", t * w + j);
            }
            let _ = writeln!(v, "wire [31:0] bcd_{s}_{j} = {e}32'd0;");
        }
    }
}

/// The `bconv` source words: the source slot of the row in `rd_*` (`bc_src`, from the slot
/// list by the registered limb) and its words `rdx_j`, lane by lane (after the scratchpad's
/// read registers).
fn bconv_sources(v: &mut String, geo: &CoreGeometry, sl_count: usize) {
    let sidx = if sl_count == 0 {
        "32'd0".to_string()
    } else {
        let list: Vec<String> = (0..sl_count).map(|n| format!("q_sl_{n}")).collect();
        pick_tree(v, "sidx", &list, "q_fi", 32)
    };
    let _ = writeln!(v, "wire [31:0] bc_src = {sidx};");
    for j in 0..geo.width() {
        let col: Vec<String> = (0..geo.slots()).map(|s| format!("rd_{s}_{j}")).collect();
        let x = pick_tree(v, &format!("rdx{j}"), &col, "bc_src", 32);
        let _ = writeln!(v, "wire [31:0] rdx_{j} = {x};");
    }
}
