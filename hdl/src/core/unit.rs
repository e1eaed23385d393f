//! The core block ([`Core`]: Rust model and Verilog body) and its hand-stepped driver
//! ([`CoreSim`]).

use std::fmt::Write as _;

use rust_hdl::prelude::*;

use super::lane::{lane_op, EwLane};
use super::{cycles_of, opcode, reg, CoreGeometry, CoreInstr};
use crate::automorph::{AutomorphGeometry, AutomorphUnit};
use crate::muxtree::pick_tree;
use crate::ntt::NttUnit;
use crate::params::HdlError;

/// Control phases of the core.
mod phase {
    pub const IDLE: u32 = 0;
    pub const FETCH: u32 = 1;
    pub const EW: u32 = 2;
    pub const LOAD: u32 = 3;
    pub const STORE: u32 = 4;
    pub const NTT_IN: u32 = 5;
    pub const NTT_START: u32 = 6;
    pub const NTT_WAIT: u32 = 7;
    pub const NTT_OUT: u32 = 8;
    pub const AUT_IN: u32 = 9;
    pub const AUT_START: u32 = 10;
    pub const AUT_RUN: u32 = 11;
}

/// Register state of the Rust model (mirrors the Verilog `q_*` and `rd_*` registers).
#[derive(Clone, Debug, Default)]
struct CoreState {
    phase: u32,
    busy: bool,
    done: bool,
    err: bool,
    ov: bool,
    pc: u32,
    t: usize,
    cycles: u32,
    count: u32,
    iq_addr: u32,
    w0: u32,
    ins: CoreInstr,
    /// Registered read data, `[slot][lane]`.
    rd: Vec<Vec<u32>>,
}

impl Default for CoreInstr {
    fn default() -> Self {
        CoreInstr::decode(0, 0)
    }
}

/// The accelerator core (see the [module documentation](super)).
#[derive(LogicBlock)]
pub struct Core {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Register write enable.
    pub reg_we: Signal<In, bool>,
    /// Register word address ([`reg`]).
    pub reg_addr: Signal<In, Bits<8>>,
    /// Register write data.
    pub reg_wdata: Signal<In, Bits<32>>,
    /// Register at `reg_addr` (combinational).
    pub reg_rdata: Signal<Out, Bits<32>>,
    /// AXI4-Stream input: beat valid.
    pub s_tvalid: Signal<In, bool>,
    /// AXI4-Stream input: the core takes the beat.
    pub s_tready: Signal<Out, bool>,
    /// AXI4-Stream input: words `2P r + j` of beat `r`.
    pub s_tdata: Vec<Signal<In, Bits<32>>>,
    /// AXI4-Stream output: beat valid.
    pub m_tvalid: Signal<Out, bool>,
    /// AXI4-Stream output: the host takes the beat.
    pub m_tready: Signal<In, bool>,
    /// AXI4-Stream output: last beat of a stored slot.
    pub m_tlast: Signal<Out, bool>,
    /// AXI4-Stream output: words `2P r + j` of beat `r`.
    pub m_tdata: Vec<Signal<Out, Bits<32>>>,
    /// A run is in progress.
    pub busy: Signal<Out, bool>,
    /// The last run finished (cleared by the next start).
    pub done: Signal<Out, bool>,
    /// One NTT unit per prime.
    pub ntt: Vec<NttUnit>,
    /// Element-wise lanes, `2P` per prime: lane `j` of prime `m` is `m 2P + j`.
    pub ew: Vec<EwLane>,
    /// The automorphism unit (`2P` lanes).
    pub aut: AutomorphUnit,
    _geo: CoreGeometry,
    _sp: Vec<Vec<Vec<u32>>>,
    _iq: Vec<(u32, u32)>,
    _st: CoreState,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("geometry", &self._geo)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// The core for `geo`.
    pub fn new(geo: CoreGeometry) -> Result<Self, HdlError> {
        let w = geo.width();
        let ntt = geo
            .primes()
            .iter()
            .map(|&q| <NttUnit>::new(q, geo.ntt_geometry()))
            .collect::<Result<Vec<_>, _>>()?;
        let ew = geo
            .primes()
            .iter()
            .flat_map(|&q| (0..w).map(move |_| EwLane::new(q)))
            .collect();
        let aut = <AutomorphUnit>::new(AutomorphGeometry::new(geo.log_n(), w)?);
        Ok(Core {
            clock: Signal::default(),
            reg_we: Signal::default(),
            reg_addr: Signal::default(),
            reg_wdata: Signal::default(),
            reg_rdata: Signal::default(),
            s_tvalid: Signal::default(),
            s_tready: Signal::default(),
            s_tdata: (0..w).map(|_| Signal::default()).collect(),
            m_tvalid: Signal::default(),
            m_tready: Signal::default(),
            m_tlast: Signal::default(),
            m_tdata: (0..w).map(|_| Signal::default()).collect(),
            busy: Signal::default(),
            done: Signal::default(),
            ntt,
            ew,
            aut,
            _sp: vec![vec![vec![0; geo.depth()]; w]; geo.slots()],
            _iq: vec![(0, 0); geo.queue()],
            _st: CoreState {
                rd: vec![vec![0; w]; geo.slots()],
                ..CoreState::default()
            },
            _geo: geo,
        })
    }

    /// The core's geometry.
    pub fn geometry(&self) -> &CoreGeometry {
        &self._geo
    }

    fn read_row(&self) -> usize {
        let st = &self._st;
        let d = self._geo.depth();
        match st.phase {
            phase::EW | phase::NTT_IN | phase::AUT_IN => st.t & (d - 1),
            phase::STORE => {
                if st.ov && self.m_tready.val() {
                    (st.t + 1) & (d - 1)
                } else {
                    st.t & (d - 1)
                }
            }
            _ => 0,
        }
    }

    fn fetch_bad(&self, ins: &CoreInstr) -> bool {
        let s = self._geo.slots() as u32;
        ins.op > opcode::COPY
            || ins.modulus >= self._geo.primes().len() as u32
            || ins.dst >= s
            || ins.a >= s
            || ins.b >= s
    }

    /// Clock edge: every register and memory takes its next value (reads see the state
    /// before the edge, as Verilog nonblocking assignments).
    fn step(&mut self) {
        let geo = self._geo.clone();
        let (d, w) = (geo.depth(), geo.width());
        let lat = EwLane::LATENCY;
        let st = self._st.clone();
        let mut next = st.clone();
        let sel = st.ins.modulus as usize;
        // Scratchpad reads (before writes).
        let ra = self.read_row();
        for s in 0..geo.slots() {
            for j in 0..w {
                next.rd[s][j] = self._sp[s][j][ra];
            }
        }
        // Scratchpad write.
        let write: Option<(usize, Vec<u32>)> = match st.phase {
            phase::LOAD if self.s_tvalid.val() => Some((
                st.t,
                self.s_tdata.iter().map(|x| x.val().to_u32()).collect(),
            )),
            phase::EW if st.t > lat => Some((
                st.t - lat - 1,
                (0..w)
                    .map(|j| self.ew[sel * w + j].y.val().to_u32())
                    .collect(),
            )),
            phase::NTT_OUT if st.t >= 1 => Some((
                st.t - 1,
                self.ntt[sel]
                    .dout
                    .iter()
                    .map(|x| x.val().to_u32())
                    .collect(),
            )),
            phase::AUT_RUN if self.aut.out_valid.val() => Some((
                self.aut.out_row.val().index(),
                self.aut.dout.iter().map(|x| x.val().to_u32()).collect(),
            )),
            _ => None,
        };
        if let Some((row, data)) = write {
            let slot = st.ins.dst as usize;
            for j in 0..w {
                self._sp[slot][j][row & (d - 1)] = data[j];
            }
        }
        // Control.
        if st.busy {
            next.cycles = st.cycles.wrapping_add(1);
        }
        match st.phase {
            phase::FETCH => {
                if st.pc >= st.count {
                    next.busy = false;
                    next.done = true;
                    next.phase = phase::IDLE;
                } else {
                    let (w0, w1) = self._iq[st.pc as usize & (geo.queue() - 1)];
                    let ins = CoreInstr::decode(w0, w1);
                    if self.fetch_bad(&ins) {
                        next.busy = false;
                        next.done = true;
                        next.err = true;
                        next.phase = phase::IDLE;
                    } else {
                        next.ins = ins;
                        next.pc = st.pc + 1;
                        next.t = 0;
                        next.ov = false;
                        next.phase = match ins.op {
                            opcode::LOAD => phase::LOAD,
                            opcode::STORE => phase::STORE,
                            opcode::NTT | opcode::INTT => phase::NTT_IN,
                            opcode::AUTOMORPH => phase::AUT_IN,
                            _ => phase::EW,
                        };
                    }
                }
            }
            phase::LOAD if self.s_tvalid.val() => {
                if st.t == d - 1 {
                    next.phase = phase::FETCH;
                } else {
                    next.t = st.t + 1;
                }
            }
            phase::STORE => {
                if !st.ov {
                    next.ov = true;
                } else if self.m_tready.val() {
                    if st.t == d - 1 {
                        next.ov = false;
                        next.phase = phase::FETCH;
                    } else {
                        next.t = st.t + 1;
                    }
                }
            }
            phase::EW => {
                if st.t == d + lat {
                    next.phase = phase::FETCH;
                } else {
                    next.t = st.t + 1;
                }
            }
            phase::NTT_IN | phase::AUT_IN => {
                if st.t == d {
                    next.t = 0;
                    next.phase = if st.phase == phase::NTT_IN {
                        phase::NTT_START
                    } else {
                        phase::AUT_START
                    };
                } else {
                    next.t = st.t + 1;
                }
            }
            phase::NTT_START => next.phase = phase::NTT_WAIT,
            phase::NTT_WAIT if !self.ntt[sel].busy.val() => {
                next.phase = phase::NTT_OUT;
                next.t = 0;
            }
            phase::NTT_OUT => {
                if st.t == d {
                    next.phase = phase::FETCH;
                } else {
                    next.t = st.t + 1;
                }
            }
            phase::AUT_START => next.phase = phase::AUT_RUN,
            phase::AUT_RUN if !self.aut.busy.val() => next.phase = phase::FETCH,
            _ => {}
        }
        // Register file writes.
        if self.reg_we.val() {
            let data = self.reg_wdata.val().to_u32();
            match self.reg_addr.val().to_u32() {
                reg::CTRL if data & 1 == 1 && !st.busy => {
                    next.busy = true;
                    next.done = false;
                    next.err = false;
                    next.pc = 0;
                    next.phase = phase::FETCH;
                    next.cycles = 1;
                }
                reg::COUNT => next.count = data,
                reg::IQ_ADDR => next.iq_addr = data,
                reg::IQ_WORD0 => next.w0 = data,
                reg::IQ_WORD1 => {
                    self._iq[st.iq_addr as usize & (geo.queue() - 1)] = (st.w0, data);
                    next.iq_addr = st.iq_addr.wrapping_add(1);
                }
                _ => {}
            }
        }
        self._st = next;
    }

    /// Combinational outputs and sub-block inputs from the registers.
    fn drive(&mut self) {
        let geo = &self._geo;
        let st = &self._st;
        let (d, w) = (geo.depth(), geo.width());
        let ins = st.ins;
        let sel = ins.modulus as usize;
        self.busy.next = st.busy;
        self.done.next = st.done;
        let rdata = match self.reg_addr.val().to_u32() {
            reg::STATUS => st.busy as u32 | (st.done as u32) << 1 | (st.err as u32) << 2,
            reg::COUNT => st.count,
            reg::CYCLES => st.cycles,
            reg::PC => st.pc,
            reg::IQ_ADDR => st.iq_addr,
            reg::INFO => geo.info(),
            _ => 0,
        };
        self.reg_rdata.next = rdata.to_bits();
        self.s_tready.next = st.phase == phase::LOAD;
        self.m_tvalid.next = st.phase == phase::STORE && st.ov;
        self.m_tlast.next = st.phase == phase::STORE && st.ov && st.t == d - 1;
        let a = ins.a as usize;
        for j in 0..w {
            self.m_tdata[j].next = st.rd[a][j].to_bits();
        }
        let wr_row = (st.t.wrapping_sub(1) & (d - 1)) as u32;
        for (m, unit) in self.ntt.iter_mut().enumerate() {
            unit.start.next = st.phase == phase::NTT_START && m == sel;
            unit.inverse.next = ins.op == opcode::INTT;
            unit.wr_en.next = st.phase == phase::NTT_IN && st.t >= 1 && m == sel;
            unit.wr_row.next = wr_row.to_bits();
            unit.rd_row.next = ((st.t & (d - 1)) as u32).to_bits();
            for j in 0..w {
                unit.din[j].next = st.rd[a][j].to_bits();
            }
        }
        self.aut.start.next = st.phase == phase::AUT_START;
        self.aut.galois.next = ins.imm.to_bits();
        self.aut.wr_en.next = st.phase == phase::AUT_IN && st.t >= 1;
        self.aut.wr_row.next = wr_row.to_bits();
        for j in 0..w {
            self.aut.din[j].next = st.rd[a][j].to_bits();
        }
        let op = match ins.op {
            opcode::SUB => lane_op::SUB,
            opcode::MUL | opcode::MUL_SCALAR => lane_op::MUL,
            opcode::MAC => lane_op::MAC,
            _ => lane_op::ADD,
        };
        for (i, lane) in self.ew.iter_mut().enumerate() {
            let j = i % w;
            let b = match ins.op {
                opcode::ADD_SCALAR | opcode::MUL_SCALAR => ins.imm,
                opcode::COPY => 0,
                _ => st.rd[ins.b as usize][j],
            };
            lane.op.next = op.to_bits();
            lane.a.next = st.rd[a][j].to_bits();
            lane.b.next = b.to_bits();
            lane.c.next = st.rd[ins.dst as usize][j].to_bits();
        }
    }
}

impl Logic for Core {
    fn update(&mut self) {
        for unit in &mut self.ntt {
            unit.clock.next = self.clock.val();
        }
        for lane in &mut self.ew {
            lane.clock.next = self.clock.val();
        }
        self.aut.clock.next = self.clock.val();
        // At the edge only the state moves; outputs follow in the next settle pass.
        if self.clock.pos_edge() {
            self.step();
        } else {
            self.drive();
        }
    }

    fn connect(&mut self) {
        self.reg_rdata.connect();
        self.s_tready.connect();
        self.m_tvalid.connect();
        self.m_tlast.connect();
        for x in &mut self.m_tdata {
            x.connect();
        }
        self.busy.connect();
        self.done.connect();
        for unit in &mut self.ntt {
            unit.clock.connect();
            unit.start.connect();
            unit.inverse.connect();
            unit.wr_en.connect();
            unit.wr_row.connect();
            unit.rd_row.connect();
            for x in &mut unit.din {
                x.connect();
            }
        }
        for lane in &mut self.ew {
            lane.clock.connect();
            lane.op.connect();
            lane.a.connect();
            lane.b.connect();
            lane.c.connect();
        }
        self.aut.clock.connect();
        self.aut.start.connect();
        self.aut.galois.connect();
        self.aut.wr_en.connect();
        self.aut.wr_row.connect();
        for x in &mut self.aut.din {
            x.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(core_verilog_body(&self._geo))
    }
}

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
fn core_verilog_body(geo: &CoreGeometry) -> String {
    use phase::*;
    let (d, w, s_count) = (geo.depth(), geo.width(), geo.slots());
    let l = geo.primes().len();
    let qd = geo.queue();
    let ab = d.trailing_zeros() as usize;
    let qb = qd.trailing_zeros() as usize;
    let lat = EwLane::LATENCY;
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
         f_b = f_w0 >> 24;\nwire f_bad = (f_op > 32'd{}) || (f_sel >= 32'd{l}) || (f_dst >= \
         32'd{s_count}) || (f_a >= 32'd{s_count}) || (f_b >= 32'd{s_count});",
        opcode::COPY,
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
         + 32'd1) : q_t) & MASKR) : 32'd0;\nwire we = (q_phase == 32'd{LOAD}) ? s_tvalid : \
         (q_phase == 32'd{EW}) ? (q_t > 32'd{lat}) : (q_phase == 32'd{NTT_OUT}) ? (q_t >= 32'd1) \
         : (q_phase == 32'd{AUT_RUN}) ? aut$out_valid : 1'b0;\nwire [31:0] wrow = ((q_phase == \
         32'd{LOAD}) ? q_t : (q_phase == 32'd{EW}) ? (q_t - 32'd{lp1}) : (q_phase == \
         32'd{NTT_OUT}) ? (q_t - 32'd1) : {{16'd0, aut$out_row}}) & MASKR;",
        lp1 = lat + 1
    );
    for j in 0..w {
        let _ = writeln!(
            v,
            "wire [31:0] wd_{j} = (q_phase == 32'd{LOAD}) ? s_tdata${j} : (q_phase == 32'd{EW}) ? \
             ewy_{j} : (q_phase == 32'd{NTT_OUT}) ? nttd_{j} : aut$dout${j};"
        );
    }
    for s in 0..s_count {
        for j in 0..w {
            let _ = writeln!(
                v,
                "reg [31:0] sp_{s}_{j} [0:{dm}];\nreg [31:0] rd_{s}_{j} = 32'd0;\ninteger i_{s}_{j};\n\
                 initial for (i_{s}_{j} = 0; i_{s}_{j} < {d}; i_{s}_{j} = i_{s}_{j} + 1) \
                 sp_{s}_{j}[i_{s}_{j}] = 32'd0;\nalways @(posedge clock) begin\n  if (we && (q_dst \
                 == 32'd{s})) sp_{s}_{j}[wrow[{ab1}:0]] <= wd_{j};\n  rd_{s}_{j} <= \
                 sp_{s}_{j}[ra[{ab1}:0]];\nend",
                dm = d - 1,
                ab1 = ab - 1
            );
        }
    }
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
         q_phase <= (f_op == 32'd{o_load}) ? 32'd{LOAD} : (f_op == 32'd{o_store}) ? 32'd{STORE} \
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
         32'd{FETCH};\n    default: begin\n    end\n  endcase\n  if (reg_we) begin\n    case \
         (reg_addr)\n      8'd{r_ctrl}: if (reg_wdata[0] && !q_busy) begin\n        q_busy <= \
         1'b1;\n        q_done <= 1'b0;\n        q_err <= 1'b0;\n        q_pc <= 32'd0;\n        \
         q_phase <= 32'd{FETCH};\n        q_cycles <= 32'd1;\n      end\n      8'd{r_count}: \
         q_count <= reg_wdata;\n      8'd{r_iqaddr}: q_iqaddr <= reg_wdata;\n      8'd{r_w0}: \
         q_w0 <= reg_wdata;\n      8'd{r_w1}: q_iqaddr <= q_iqaddr + 32'd1;\n      default: \
         begin\n      end\n    endcase\n  end\nend",
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
         q_imm;\n  aut$wr_en = (q_phase == 32'd{AUT_IN}) && (q_t >= 32'd1);\n  aut$wr_row = \
         wr_row_in[15:0];"
    );
    for j in 0..w {
        let _ = writeln!(v, "  aut$din${j} = rda_{j};");
    }
    let _ = writeln!(v, "end");
    v
}

/// Result of a program run on the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreRun {
    /// The slots the `store` instructions sent, in order, `N` words each.
    pub stores: Vec<Vec<u64>>,
    /// Cycles of the run (the `CYCLES` register, checked against the edges counted).
    pub cycles: usize,
    /// The `error` status bit.
    pub error: bool,
}

/// A started [`Core`] under hand-stepped rust-hdl simulation.
#[derive(Debug)]
pub struct CoreSim {
    /// The simulated core.
    pub core: Core,
}

impl CoreSim {
    /// Builds and starts the core.
    pub fn new(geo: CoreGeometry) -> Result<Self, HdlError> {
        let mut core = Core::new(geo)?;
        crate::rtlsim::start(&mut core);
        Ok(CoreSim { core })
    }

    fn cycle(&mut self) {
        crate::rtlsim::cycle(&mut self.core, |c| &mut c.clock);
    }

    /// Writes register `addr` (one clock cycle).
    pub fn write_reg(&mut self, addr: u32, data: u32) {
        self.core.reg_we.next = true;
        self.core.reg_addr.next = (addr as u8).to_bits();
        self.core.reg_wdata.next = data.to_bits();
        self.cycle();
        self.core.reg_we.next = false;
    }

    /// Reads register `addr` (combinational, no clock).
    pub fn read_reg(&mut self, addr: u32) -> u32 {
        self.core.reg_addr.next = (addr as u8).to_bits();
        crate::rtlsim::settle(&mut self.core);
        self.core.reg_rdata.val().to_u32()
    }

    /// Runs `program`: writes it into the queue, starts it, streams `loads` (one `N`-word
    /// vector per `load` instruction, in program order, values in `[0, q)`) into the
    /// AXI4-Stream input with `tvalid` always high, takes every output beat (`tready` always
    /// high), and returns the stored vectors and the cycle count. Errors when the program
    /// does not fit the queue or `loads` does not match its `load` instructions; panics if
    /// the core does not finish within twice the cycles of [`cycles_of`] (a bug of the core).
    pub fn run(&mut self, program: &[CoreInstr], loads: &[Vec<u64>]) -> Result<CoreRun, HdlError> {
        let geo = self.core.geometry().clone();
        let bad = |field: &str, value: usize, reason: String| HdlError::InvalidParameter {
            field: field.into(),
            value: value as u64,
            reason,
        };
        if program.len() > geo.queue() {
            return Err(bad(
                "instructions",
                program.len(),
                format!("the instruction queue holds {}", geo.queue()),
            ));
        }
        let wanted = program.iter().filter(|i| i.op == opcode::LOAD).count();
        if loads.len() != wanted || loads.iter().any(|l| l.len() != geo.n()) {
            return Err(bad(
                "loads",
                loads.len(),
                format!("need {wanted} vectors of N = {} words", geo.n()),
            ));
        }
        let (w, d) = (geo.width(), geo.depth());
        let beats: Vec<&[u64]> = loads.iter().flat_map(|l| l.chunks(w)).collect();
        self.write_reg(reg::IQ_ADDR, 0);
        for ins in program {
            let (w0, w1) = ins.encode();
            self.write_reg(reg::IQ_WORD0, w0);
            self.write_reg(reg::IQ_WORD1, w1);
        }
        self.write_reg(reg::COUNT, program.len() as u32);
        self.write_reg(reg::CTRL, 1);
        let limit = 2 * (1 + program.iter().map(|i| cycles_of(&geo, i.op)).sum::<usize>()) + 16;
        let mut edges = 1;
        let mut beat = 0;
        let mut out_words: Vec<u64> = Vec::new();
        self.core.m_tready.next = true;
        while self.core.busy.val() {
            let have = beat < beats.len();
            self.core.s_tvalid.next = have;
            if have {
                for j in 0..w {
                    self.core.s_tdata[j].next = (beats[beat][j] as u32).to_bits();
                }
            }
            crate::rtlsim::settle(&mut self.core);
            if have && self.core.s_tready.val() {
                beat += 1;
            }
            if self.core.m_tvalid.val() {
                out_words.extend(self.core.m_tdata.iter().map(|x| x.val().to_u64()));
            }
            self.cycle();
            edges += 1;
            assert!(edges <= limit, "core did not finish within {limit} cycles");
        }
        self.core.s_tvalid.next = false;
        let cycles = self.read_reg(reg::CYCLES) as usize;
        assert_eq!(cycles, edges, "CYCLES register vs edges counted");
        let status = self.read_reg(reg::STATUS);
        assert_eq!(out_words.len() % (w * d), 0, "partial store");
        Ok(CoreRun {
            stores: out_words.chunks(geo.n()).map(|c| c.to_vec()).collect(),
            cycles,
            error: status & 4 != 0,
        })
    }
}
