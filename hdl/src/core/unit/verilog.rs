//! The core's Verilog body: every register and memory of the Rust model's step and every
//! combinational signal of its drive, by the same formulas.

use std::fmt::Write as _;

use super::phase;
use crate::core::lane::{lane_op, EwLane};
use crate::core::{opcode, reg, CoreGeometry, SLOTS_PER_EXTENSION};
use crate::muxtree::pick_tree;

/// `c0 ? v0 : c1 ? v1 : ... : default` over the primes.
fn by_prime(primes: usize, value: impl Fn(usize) -> String, default: &str) -> String {
    let mut s = String::new();
    for m in 0..primes {
        let _ = write!(s, "(q_sel == 32'd{m}) ? {} : ", value(m));
    }
    s + default
}

/// Verilog body of the core: every register and memory of [`Core::step`] and every
/// combinational signal of [`Core::drive`] by the same formulas.
///
/// [`Core::step`]: super::Core::step
/// [`Core::drive`]: super::Core::drive
pub(super) fn core_verilog_body(geo: &CoreGeometry) -> String {
    use phase::*;
    let (d, w, s_count) = (geo.depth(), geo.width(), geo.slots());
    let l = geo.primes().len();
    let qd = geo.queue();
    let ab = d.trailing_zeros() as usize;
    let qb = qd.trailing_zeros() as usize;
    let lat = EwLane::LATENCY;
    let tables = geo.conversions();
    let t_count = tables.len();
    let sl_count = geo.max_bconv_slots().div_ceil(SLOTS_PER_EXTENSION) * SLOTS_PER_EXTENSION;
    let mut v = String::new();
    let _ = writeln!(
        v,
        "// heaccel core: N = 2^{}, P = {} NTT lanes, rows of {w} words, {l} primes, {s_count} \
         slots of {d} rows, instruction queue of {qd}.",
        geo.log_n(),
        geo.lanes()
    );
    let _ = writeln!(v, "localparam [31:0] MASKR = 32'd{};", d - 1);
    let _ = writeln!(
        v,
        "reg [31:0] q_phase = 32'd0;\nreg q_busy = 1'b0;\nreg q_done = 1'b0;\nreg q_err = \
         1'b0;\nreg q_ov = 1'b0;\nreg [31:0] q_pc = 32'd0;\nreg [31:0] q_t = 32'd0;\nreg [31:0] \
         q_cycles = 32'd0;\nreg [31:0] q_count = 32'd0;\nreg [31:0] q_iqaddr = 32'd0;\nreg \
         [31:0] q_w0 = 32'd0;\nreg [31:0] q_op = 32'd0;\nreg [31:0] q_sel = 32'd0;\nreg [31:0] \
         q_dst = 32'd0;\nreg [31:0] q_a = 32'd0;\nreg [31:0] q_b = 32'd0;\nreg [31:0] q_imm = \
         32'd0;"
    );
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
    let _ = writeln!(
        v,
        "wire [31:0] f_w0 = iq0[q_pc[{qb1}:0]];\nwire [31:0] f_w1 = iq1[q_pc[{qb1}:0]];\nwire \
         [31:0] f_op = f_w0 & 32'd15;\nwire [31:0] f_sel = (f_w0 >> 4) & 32'd15;\nwire [31:0] \
         f_dst = (f_w0 >> 8) & 32'd255;\nwire [31:0] f_a = (f_w0 >> 16) & 32'd255;\nwire [31:0] \
         f_b = f_w0 >> 24;\nwire f_bad = (f_op > 32'd{bc}) || ((f_op == 32'd{bc}) ? {bad_table} : \
         (f_sel >= 32'd{l})) || (f_dst >= 32'd{s_count}) || (f_a >= \
         32'd{s_count}) || (f_b >= 32'd{s_count});",
        bc = opcode::BCONV,
        // Without tables every bconv is malformed (and `f_sel >= 0` would be constant).
        bad_table = if t_count == 0 {
            "1'b1".to_string()
        } else {
            format!("(f_sel >= 32'd{t_count})")
        },
        qb1 = qb - 1
    );
    // Sub-block outputs of the selected prime.
    let _ = writeln!(
        v,
        "wire sel_busy = {};",
        by_prime(l, |m| format!("ntt${m}$busy"), "1'b0")
    );
    for j in 0..w {
        let _ = writeln!(
            v,
            "wire [31:0] nttd_{j} = {};\nwire [31:0] ewy_{j} = {};",
            by_prime(l, |m| format!("ntt${m}$dout${j}"), "32'd0"),
            by_prime(l, |m| format!("ew${}$y", m * w + j), "32'd0")
        );
    }
    // Scratchpad read row, write enable, row and data.
    let _ = writeln!(
        v,
        "wire [31:0] ra = ((q_phase == 32'd{EW}) || (q_phase == 32'd{NTT_IN}) || (q_phase == \
         32'd{AUT_IN})) ? (q_t & MASKR) : (q_phase == 32'd{STORE}) ? (((q_ov && m_tready) ? (q_t \
         + 32'd1) : q_t) & MASKR) : (q_phase == 32'd{BC}) ? q_row : 32'd0;\nwire we = (q_phase == 32'd{LOAD}) ? s_tvalid : \
         (q_phase == 32'd{EW}) ? (q_t > 32'd{lat}) : (q_phase == 32'd{NTT_OUT}) ? (q_t >= 32'd1) \
         : (q_phase == 32'd{AUT_RUN}) ? aut$out_valid : 1'b0;\nwire [31:0] wrow = ((q_phase == \
         32'd{LOAD}) ? q_t : (q_phase == 32'd{EW}) ? (q_t - 32'd{lp1}) : (q_phase == \
         32'd{NTT_OUT}) ? (q_t - 32'd1) : {{16'd0, aut$out_row}}) & MASKR;",
        lp1 = lat + 1
    );
    // The automorphism unit's words, negated mod the selected prime where it flags them.
    let _ = writeln!(
        v,
        "wire [31:0] qsel_val = {};",
        by_prime(l, |m| format!("32'd{}", geo.primes()[m].value()), "32'd0")
    );
    for j in 0..w {
        let _ = writeln!(
            v,
            "wire [31:0] autd_{j} = (aut$dneg${j} && (aut$dout${j} != 32'd0)) ? (qsel_val - \
             aut$dout${j}) : aut$dout${j};\nwire [31:0] wd_{j} = (q_phase == 32'd{LOAD}) ? \
             s_tdata${j} : (q_phase == 32'd{EW}) ? ewy_{j} : (q_phase == 32'd{NTT_OUT}) ? nttd_{j} \
             : autd_{j};"
        );
    }
    bconv_declarations(&mut v, geo, sl_count);
    for s in 0..s_count {
        for j in 0..w {
            let _ = writeln!(
                v,
                "reg [31:0] sp_{s}_{j} [0:{dm}];\nreg [31:0] rd_{s}_{j} = 32'd0;\ninteger i_{s}_{j};\n\
                 initial for (i_{s}_{j} = 0; i_{s}_{j} < {d}; i_{s}_{j} = i_{s}_{j} + 1) \
                 sp_{s}_{j}[i_{s}_{j}] = 32'd0;\nalways @(posedge clock) begin\n  if (we && (q_dst \
                 == 32'd{s})) sp_{s}_{j}[wrow[{ab1}:0]] <= wd_{j};\n  else if (bcw_{s}) \
                 sp_{s}_{j}[q_wr[{ab1}:0]] <= bcd_{s}_{j};\n  rd_{s}_{j} <= \
                 sp_{s}_{j}[ra[{ab1}:0]];\nend",
                dm = d - 1,
                ab1 = ab - 1
            );
        }
    }
    bconv_sources(&mut v, geo, sl_count);
    // Operands: the registered read data of slots a, b and dst, lane by lane.
    for j in 0..w {
        let col: Vec<String> = (0..s_count).map(|s| format!("rd_{s}_{j}")).collect();
        let [a, b, c] = [("a", "q_a"), ("b", "q_b"), ("c", "q_dst")]
            .map(|(tag, index)| pick_tree(&mut v, &format!("rd{tag}{j}"), &col, index, 32));
        let _ = writeln!(
            v,
            "wire [31:0] rda_{j} = {a};\nwire [31:0] rdb_{j} = {b};\nwire [31:0] rdc_{j} = {c};\n\
             wire [31:0] lb_{j} = ((q_op == 32'd{as_}) || (q_op == 32'd{ms})) ? q_imm : (q_op == \
             32'd{cp}) ? 32'd0 : rdb_{j};",
            as_ = opcode::ADD_SCALAR,
            ms = opcode::MUL_SCALAR,
            cp = opcode::COPY
        );
    }
    let _ = writeln!(
        v,
        "wire [1:0] lop = (q_op == 32'd{sub}) ? 2'd{ls} : ((q_op == 32'd{mul}) || (q_op == \
         32'd{ms})) ? 2'd{lm} : (q_op == 32'd{mac}) ? 2'd{lc} : 2'd{la};\nwire [31:0] wr_row_in = \
         (q_t - 32'd1) & MASKR;",
        sub = opcode::SUB,
        mul = opcode::MUL,
        ms = opcode::MUL_SCALAR,
        mac = opcode::MAC,
        ls = lane_op::SUB,
        lm = lane_op::MUL,
        lc = lane_op::MAC,
        la = lane_op::ADD
    );
    // Control.
    let _ = writeln!(
        v,
        "always @(posedge clock) begin\n  if (q_busy) q_cycles <= q_cycles + 32'd1;\n  case \
         (q_phase)\n    32'd{FETCH}: begin\n      if (q_pc >= q_count) begin\n        q_busy <= \
         1'b0;\n        q_done <= 1'b1;\n        q_phase <= 32'd{IDLE};\n      end else if (f_bad) \
         begin\n        q_busy <= 1'b0;\n        q_done <= 1'b1;\n        q_err <= 1'b1;\n        \
         q_phase <= 32'd{IDLE};\n      end else begin\n        q_op <= f_op;\n        q_sel <= \
         f_sel;\n        q_dst <= f_dst;\n        q_a <= f_a;\n        q_b <= f_b;\n        q_imm \
         <= f_w1;\n        q_pc <= q_pc + 32'd1;\n        q_t <= 32'd0;\n        q_ov <= 1'b0;\n \
         q_phase <= (f_op == 32'd{o_bc}) ? 32'd{BC_EXT} : (f_op == 32'd{o_load}) ? 32'd{LOAD} : \
         (f_op == 32'd{o_store}) ? 32'd{STORE} \
         : ((f_op == 32'd{o_ntt}) || (f_op == 32'd{o_intt})) ? 32'd{NTT_IN} : (f_op == \
         32'd{o_aut}) ? 32'd{AUT_IN} : 32'd{EW};\n      end\n    end\n    32'd{LOAD}: if \
         (s_tvalid) begin\n      if (q_t == 32'd{dm}) q_phase <= 32'd{FETCH};\n      else q_t <= \
         q_t + 32'd1;\n    end\n    32'd{STORE}: begin\n      if (!q_ov) q_ov <= 1'b1;\n      \
         else if (m_tready) begin\n        if (q_t == 32'd{dm}) begin\n          q_ov <= 1'b0;\n   \
         q_phase <= 32'd{FETCH};\n        end else q_t <= q_t + 32'd1;\n      end\n    end\n    \
         32'd{EW}: begin\n      if (q_t == 32'd{dl}) q_phase <= 32'd{FETCH};\n      else q_t <= \
         q_t + 32'd1;\n    end\n    32'd{NTT_IN}, 32'd{AUT_IN}: begin\n      if (q_t == 32'd{d}) \
         begin\n        q_t <= 32'd0;\n        q_phase <= (q_phase == 32'd{NTT_IN}) ? \
         32'd{NTT_START} : 32'd{AUT_START};\n      end else q_t <= q_t + 32'd1;\n    end\n    \
         32'd{NTT_START}: q_phase <= 32'd{NTT_WAIT};\n    32'd{NTT_WAIT}: if (!sel_busy) begin\n \
         q_phase <= 32'd{NTT_OUT};\n      q_t <= 32'd0;\n    end\n    32'd{NTT_OUT}: begin\n      \
         if (q_t == 32'd{d}) q_phase <= 32'd{FETCH};\n      else q_t <= q_t + 32'd1;\n    end\n \
         32'd{AUT_START}: q_phase <= 32'd{AUT_RUN};\n    32'd{AUT_RUN}: if (!aut$busy) q_phase <= \
         32'd{FETCH};\n{bconv_control}    default: begin\n    end\n  endcase\n  if (reg_we) begin\n    case \
         (reg_addr)\n      8'd{r_ctrl}: if (reg_wdata[0] && !q_busy) begin\n        q_busy <= \
         1'b1;\n        q_done <= 1'b0;\n        q_err <= 1'b0;\n        q_pc <= 32'd0;\n        \
         q_phase <= 32'd{FETCH};\n        q_cycles <= 32'd1;\n      end\n      8'd{r_count}: \
         q_count <= reg_wdata;\n      8'd{r_iqaddr}: q_iqaddr <= reg_wdata;\n      8'd{r_w0}: \
         q_w0 <= reg_wdata;\n      8'd{r_w1}: q_iqaddr <= q_iqaddr + 32'd1;\n      default: \
         begin\n      end\n    endcase\n  end\nend",
        o_bc = opcode::BCONV,
        o_load = opcode::LOAD,
        o_store = opcode::STORE,
        o_ntt = opcode::NTT,
        o_intt = opcode::INTT,
        o_aut = opcode::AUTOMORPH,
        dm = d - 1,
        dl = d + lat,
        r_ctrl = reg::CTRL,
        r_count = reg::COUNT,
        r_iqaddr = reg::IQ_ADDR,
        r_w0 = reg::IQ_WORD0,
        r_w1 = reg::IQ_WORD1,
        bconv_control = bconv_control(geo, sl_count),
    );
    // Outputs and sub-block inputs.
    let _ = writeln!(
        v,
        "always @(*) begin\n  busy = q_busy;\n  done = q_done;\n  case (reg_addr)\n    \
         8'd{}: reg_rdata = {{29'd0, q_err, q_done, q_busy}};\n    8'd{}: reg_rdata = q_count;\n \
         8'd{}: reg_rdata = q_cycles;\n    8'd{}: reg_rdata = q_pc;\n    8'd{}: reg_rdata = \
         q_iqaddr;\n    8'd{}: reg_rdata = 32'h{:08x};\n    default: reg_rdata = 32'd0;\n  \
         endcase\n  s_tready = (q_phase == 32'd{LOAD});\n  m_tvalid = (q_phase == 32'd{STORE}) && \
         q_ov;\n  m_tlast = (q_phase == 32'd{STORE}) && q_ov && (q_t == 32'd{});",
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
        let _ = writeln!(v, "  m_tdata${j} = rda_{j};");
    }
    for m in 0..l {
        let _ = writeln!(
            v,
            "  ntt${m}$clock = clock;\n  ntt${m}$start = (q_phase == 32'd{NTT_START}) && (q_sel \
             == 32'd{m});\n  ntt${m}$inverse = (q_op == 32'd{});\n  ntt${m}$wr_en = (q_phase == \
             32'd{NTT_IN}) && (q_t >= 32'd1) && (q_sel == 32'd{m});\n  ntt${m}$wr_row = \
             wr_row_in[15:0];\n  ntt${m}$rd_row = q_t[15:0] & MASKR[15:0];",
            opcode::INTT
        );
        for j in 0..w {
            let _ = writeln!(v, "  ntt${m}$din${j} = rda_{j};");
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
        "  aut$clock = clock;\n  aut$start = (q_phase == 32'd{AUT_START});\n  aut$galois = \
         q_imm;\n  aut$coeff = q_imm[31];\n  aut$wr_en = (q_phase == 32'd{AUT_IN}) && (q_t >= 32'd1);\n  aut$wr_row = \
         wr_row_in[15:0];"
    );
    for j in 0..w {
        let _ = writeln!(v, "  aut$din${j} = rda_{j};");
    }
    for t in 0..t_count {
        for j in 0..w {
            let i = t * w + j;
            let _ = writeln!(
                v,
                "  bconv${i}$clock = clock;\n  bconv${i}$in_valid = (q_phase == 32'd{BC}) && q_fv && \
                 (q_sel == 32'd{t});\n  bconv${i}$x = rdx_{j};"
            );
        }
    }
    let _ = writeln!(v, "end");
    v
}

/// The `bconv` registers and write signals: the slot list `q_sl_*`, the row, limb and write
/// counters, the selected table's output valid `bc_out`, and per slot its write enable
/// `bcw_s` and words `bcd_s_j`.
fn bconv_declarations(v: &mut String, geo: &CoreGeometry, sl_count: usize) {
    use phase::BC;
    let (w, s_count) = (geo.width(), geo.slots());
    let _ = writeln!(
        v,
        "reg [31:0] q_row = 32'd0;\nreg [31:0] q_limb = 32'd0;\nreg q_feed = 1'b0;\nreg q_fv = \
         1'b0;\nreg [31:0] q_fi = 32'd0;\nreg [31:0] q_wr = 32'd0;"
    );
    for n in 0..sl_count {
        let _ = writeln!(v, "reg [31:0] q_sl_{n} = 32'd0;");
    }
    let tables = geo.conversions();
    let by_table = |value: &dyn Fn(usize) -> String| -> String {
        let mut e = String::new();
        for t in 0..tables.len() {
            let _ = write!(e, "(q_sel == 32'd{t}) ? {} : ", value(t));
        }
        e + "1'b0"
    };
    let _ = writeln!(
        v,
        "wire bc_out = (q_phase == 32'd{BC}) && ({});",
        by_table(&|t| format!("bconv${}$out_valid", t * w))
    );
    for s in 0..s_count {
        let mut hit = Vec::new();
        for (t, c) in tables.iter().enumerate() {
            let k = c.from.len();
            for pos in 0..c.to.len() {
                hit.push((
                    format!("((q_sel == 32'd{t}) && (q_sl_{} == 32'd{s}))", k + pos),
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

/// The `case` arms of the `bconv` phases in the control block.
fn bconv_control(geo: &CoreGeometry, sl_count: usize) -> String {
    use phase::*;
    let tables = geo.conversions();
    let d = geo.depth();
    if tables.is_empty() {
        return String::new();
    }
    let by_table = |value: &dyn Fn(usize) -> usize| -> String {
        let mut e = String::new();
        for t in 0..tables.len() {
            let _ = write!(e, "(q_sel == 32'd{t}) ? 32'd{} : ", value(t));
        }
        e + "32'd0"
    };
    let last_ext = by_table(&|t| tables[t].extension_entries() - 1);
    let last_limb = by_table(&|t| tables[t].from.len() - 1);
    let s_count = geo.slots();
    let slot_ok = "(f_dst < 32'd{S}) && (f_a < 32'd{S}) && (f_b < 32'd{S}) && ((f_w1 & 32'd255) < \
                   32'd{S}) && (((f_w1 >> 8) & 32'd255) < 32'd{S}) && (((f_w1 >> 16) & 32'd255) < \
                   32'd{S}) && ((f_w1 >> 24) < 32'd{S})"
        .replace("{S}", &s_count.to_string());
    let mut c = String::new();
    let _ = write!(
        c,
        "    32'd{BC_EXT}: begin\n      if ((f_op != 32'd{ext}) || (f_sel != 32'd0) || !({slot_ok})) \
         begin\n        q_busy <= 1'b0;\n        q_done <= 1'b1;\n        q_err <= 1'b1;\n        \
         q_phase <= 32'd{IDLE};\n      end else begin\n",
        ext = opcode::EXT
    );
    let fields = [
        "f_dst",
        "f_a",
        "f_b",
        "(f_w1 & 32'd255)",
        "((f_w1 >> 8) & 32'd255)",
        "((f_w1 >> 16) & 32'd255)",
        "(f_w1 >> 24)",
    ];
    for n in 0..sl_count {
        let _ = writeln!(
            c,
            "        if (q_t == 32'd{}) q_sl_{n} <= {};",
            n / SLOTS_PER_EXTENSION,
            fields[n % SLOTS_PER_EXTENSION]
        );
    }
    let _ = write!(
        c,
        "        q_pc <= q_pc + 32'd1;\n        if (q_t == ({last_ext})) begin\n          q_phase \
         <= 32'd{BC};\n          q_row <= 32'd0;\n          q_limb <= 32'd0;\n          q_feed <= \
         1'b1;\n          q_wr <= 32'd0;\n        end else q_t <= q_t + 32'd1;\n      end\n    \
         end\n    32'd{BC}: begin\n      if (q_feed) begin\n        if (q_limb == ({last_limb})) \
         begin\n          q_limb <= 32'd0;\n          if (q_row == 32'd{dm}) q_feed <= 1'b0;\n      \
         else q_row <= q_row + 32'd1;\n        end else q_limb <= q_limb + 32'd1;\n      end\n      \
         q_fv <= q_feed;\n      q_fi <= q_limb;\n      if (bc_out) begin\n        if (q_wr == \
         32'd{dm}) q_phase <= 32'd{FETCH};\n        else q_wr <= q_wr + 32'd1;\n      end\n    \
         end\n",
        dm = d - 1
    );
    c
}
