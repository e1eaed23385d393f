//! The core block ([`Core`]: Rust model and Verilog body) and its hand-stepped driver
//! ([`CoreSim`]).
//!
//! One concern a file: this file holds the core's Rust model (its registers, [`Core::step`]
//! and [`Core::drive`]); the Verilog body generated from the same formulas is in
//! `unit/verilog.rs`, the hand-stepped driver in `unit/sim.rs`.

use rust_hdl::prelude::*;

use super::lane::{lane_op, EwLane};
use super::{
    extension_slots, locked_slots, opcode, reg, uses_fields, CoreGeometry, CoreInstr, CoreIssue,
    Engine, SLOTS_PER_EXTENSION,
};
use crate::automorph::{AutomorphGeometry, AutomorphUnit};
use crate::bconv::BconvUnit;
use crate::ntt::NttUnit;
use crate::params::HdlError;

/// Phases: the dispatcher's (`IDLE`, `FETCH`, `BC_EXT`) and the engines' (the rest).
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
    pub const BC_EXT: u32 = 12;
    pub const BC: u32 = 13;
}

/// One engine's registers: its phase (`IDLE` when free), instruction, row counter and (the
/// stream engine's `store`) output-valid bit.
#[derive(Clone, Copy, Debug, Default)]
struct EngineState {
    ph: u32,
    ins: CoreInstr,
    t: usize,
    ov: bool,
}

/// Register state of the Rust model (mirrors the Verilog registers).
#[derive(Clone, Debug, Default)]
struct CoreState {
    /// The dispatcher's phase, PC and extension-entry counter.
    phase: u32,
    busy: bool,
    done: bool,
    err: bool,
    pc: u32,
    t: usize,
    cycles: u32,
    count: u32,
    iq_addr: u32,
    w0: u32,
    /// The scoreboard: the engine ([`Engine::id`]) holding each slot, 0 for none.
    own: Vec<usize>,
    /// Engines by [`Engine::id`] (index 0 unused).
    eng: [EngineState; 6],
    /// Registered read data, `[slot][lane]`.
    rd: Vec<Vec<u32>>,
    /// `bconv`: its slots (sources then destinations), the row and limb being read, whether
    /// residues are still being read, the registered limb of the row in `rd` and its valid
    /// bit, and the next row to write.
    sl: Vec<u32>,
    row: usize,
    limb: usize,
    feeding: bool,
    fv: bool,
    fi: usize,
    wr: usize,
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
    /// Basis-conversion units, one per conversion table and row lane: lane `j` of table `t`
    /// is `t 2P + j`.
    pub bconv: Vec<BconvUnit>,
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
        let mut bconv = Vec::new();
        for (t, c) in geo.conversions().iter().enumerate() {
            let mut constants = c.constants(&geo)?;
            if let Some(f) = geo.rom_fault().filter(|f| f.table == t) {
                let word = constants.rom(f.source, f.target).0 + 1;
                constants = constants.with_rom_word(f.source, f.target, word);
            }
            for _ in 0..w {
                bconv.push(BconvUnit::new(&constants)?);
            }
        }
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
            bconv,
            _sp: vec![vec![vec![0; geo.depth()]; w]; geo.slots()],
            _iq: vec![(0, 0); geo.queue()],
            _st: CoreState {
                own: vec![0; geo.slots()],
                rd: vec![vec![0; w]; geo.slots()],
                sl: vec![
                    0;
                    geo.max_bconv_slots().div_ceil(SLOTS_PER_EXTENSION) * SLOTS_PER_EXTENSION
                ],
                ..CoreState::default()
            },
            _geo: geo,
        })
    }

    /// The core's geometry.
    pub fn geometry(&self) -> &CoreGeometry {
        &self._geo
    }

    fn engine(&self, e: Engine) -> &EngineState {
        &self._st.eng[e.id()]
    }

    /// Row engine `e` (by id) reads this cycle; 0 for no engine.
    fn engine_row(&self, e: usize) -> usize {
        let st = &self._st;
        let d = self._geo.depth();
        let en = &st.eng[e];
        match e {
            1 if en.ov && self.m_tready.val() => (en.t + 1) & (d - 1),
            1..=4 => en.t & (d - 1),
            5 => st.row,
            _ => 0,
        }
    }

    fn fetch_bad(&self, ins: &CoreInstr) -> bool {
        let s = self._geo.slots() as u32;
        let (primes, tables) = (
            self._geo.primes().len() as u32,
            self._geo.conversions().len() as u32,
        );
        ins.op > opcode::BCONV
            || (ins.op == opcode::BCONV && ins.modulus >= tables)
            || (ins.op != opcode::BCONV && ins.modulus >= primes)
            || ins.dst >= s
            || ins.a >= s
            || ins.b >= s
    }

    /// Whether each engine (by id) finishes its instruction at this edge.
    fn finishing(&self) -> [bool; 6] {
        let st = &self._st;
        let d = self._geo.depth();
        let w = self._geo.width();
        let ls = self.engine(Engine::Stream);
        let ew = self.engine(Engine::ElementWise);
        let nt = self.engine(Engine::Ntt);
        let au = self.engine(Engine::Automorph);
        let table = self.engine(Engine::Bconv).ins.modulus as usize;
        let bc_out =
            self.engine(Engine::Bconv).ph == phase::BC && self.bconv[table * w].out_valid.val();
        [
            false,
            (ls.ph == phase::LOAD && self.s_tvalid.val() && ls.t == d - 1)
                || (ls.ph == phase::STORE && ls.ov && self.m_tready.val() && ls.t == d - 1),
            ew.ph == phase::EW && ew.t == d + EwLane::LATENCY,
            nt.ph == phase::NTT_OUT && nt.t == d,
            au.ph == phase::AUT_RUN && !self.aut.busy.val(),
            bc_out && st.wr == d - 1,
        ]
    }

    /// Clock edge: every register and memory takes its next value (reads see the state
    /// before the edge, as Verilog nonblocking assignments).
    fn step(&mut self) {
        let geo = self._geo.clone();
        let (d, w) = (geo.depth(), geo.width());
        let lat = EwLane::LATENCY;
        let st = self._st.clone();
        let mut next = st.clone();
        let eng = st.eng;
        let ls = eng[Engine::Stream.id()];
        let ew = eng[Engine::ElementWise.id()];
        let nt = eng[Engine::Ntt.id()];
        let au = eng[Engine::Automorph.id()];
        let bc = eng[Engine::Bconv.id()];
        // Scratchpad reads (before writes): each slot at its owner's row.
        for s in 0..geo.slots() {
            let ra = self.engine_row(st.own[s]);
            for j in 0..w {
                next.rd[s][j] = self._sp[s][j][ra];
            }
        }
        // Scratchpad writes: each engine into its destination (slots are never shared).
        let mut writes: Vec<(usize, usize, Vec<u32>)> = Vec::new();
        if ls.ph == phase::LOAD && self.s_tvalid.val() {
            let data = self.s_tdata.iter().map(|x| x.val().to_u32()).collect();
            writes.push((ls.ins.dst as usize, ls.t, data));
        }
        if ew.ph == phase::EW && ew.t > lat {
            let sel = ew.ins.modulus as usize;
            let data = (0..w)
                .map(|j| self.ew[sel * w + j].y.val().to_u32())
                .collect();
            writes.push((ew.ins.dst as usize, ew.t - lat - 1, data));
        }
        if nt.ph == phase::NTT_OUT && nt.t >= 1 {
            let sel = nt.ins.modulus as usize;
            let data = self.ntt[sel]
                .dout
                .iter()
                .map(|x| x.val().to_u32())
                .collect();
            writes.push((nt.ins.dst as usize, nt.t - 1, data));
        }
        if au.ph == phase::AUT_RUN && self.aut.out_valid.val() {
            // Coefficient form: the unit flags the words to negate mod the prime.
            let q = geo.primes()[au.ins.modulus as usize].value() as u32;
            let data = self
                .aut
                .dout
                .iter()
                .zip(&self.aut.dneg)
                .map(|(x, neg)| {
                    let x = x.val().to_u32();
                    if neg.val() && x != 0 {
                        q - x
                    } else {
                        x
                    }
                })
                .collect();
            writes.push((au.ins.dst as usize, self.aut.out_row.val().index(), data));
        }
        for (slot, row, data) in writes {
            for j in 0..w {
                self._sp[slot][j][row & (d - 1)] = data[j];
            }
        }
        // bconv: the selected table's units show a row; every destination slot takes it.
        let table = bc.ins.modulus as usize;
        let bc_out = bc.ph == phase::BC && self.bconv[table * w].out_valid.val();
        if bc_out {
            let c = &geo.conversions()[table];
            let k = c.from.len();
            // Lowest position last: it wins a repeated slot, as in the Verilog's priority mux.
            for pos in (0..c.to.len()).rev() {
                let slot = st.sl[k + pos] as usize;
                for j in 0..w {
                    self._sp[slot][j][st.wr] = self.bconv[table * w + j].out[pos].val().to_u32();
                }
            }
        }
        if st.busy {
            next.cycles = st.cycles.wrapping_add(1);
        }
        // Engines finishing at this edge go idle and free their slots.
        let fin = self.finishing();
        for e in Engine::ALL {
            if fin[e.id()] {
                next.eng[e.id()].ph = phase::IDLE;
                next.eng[e.id()].ov = false;
            }
        }
        for s in 0..geo.slots() {
            if fin[st.own[s]] {
                next.own[s] = 0;
            }
        }
        self.step_engines(&mut next, bc_out);
        self.step_dispatcher(&mut next);
        self.step_registers(&mut next);
        self._st = next;
    }

    /// The engines' phase counters (an engine finishing at this edge is already idle in
    /// `next`).
    fn step_engines(&self, next: &mut CoreState, bc_out: bool) {
        let geo = &self._geo;
        let d = geo.depth();
        let st = &self._st;
        let (ls, ew, nt, au) = (
            st.eng[Engine::Stream.id()],
            st.eng[Engine::ElementWise.id()],
            st.eng[Engine::Ntt.id()],
            st.eng[Engine::Automorph.id()],
        );
        let n = &mut next.eng;
        match ls.ph {
            phase::LOAD if self.s_tvalid.val() && ls.t != d - 1 => {
                n[Engine::Stream.id()].t = ls.t + 1
            }
            phase::STORE if !ls.ov => n[Engine::Stream.id()].ov = true,
            phase::STORE if self.m_tready.val() && ls.t != d - 1 => {
                n[Engine::Stream.id()].t = ls.t + 1
            }
            _ => {}
        }
        if ew.ph == phase::EW && ew.t != d + EwLane::LATENCY {
            n[Engine::ElementWise.id()].t = ew.t + 1;
        }
        let e = &mut n[Engine::Ntt.id()];
        match nt.ph {
            phase::NTT_IN if nt.t == d => {
                e.t = 0;
                e.ph = phase::NTT_START;
            }
            phase::NTT_IN | phase::NTT_OUT if nt.t != d => e.t = nt.t + 1,
            phase::NTT_START => e.ph = phase::NTT_WAIT,
            phase::NTT_WAIT if !self.ntt[nt.ins.modulus as usize].busy.val() => {
                e.ph = phase::NTT_OUT;
                e.t = 0;
            }
            _ => {}
        }
        let e = &mut n[Engine::Automorph.id()];
        match au.ph {
            phase::AUT_IN if au.t == d => {
                e.t = 0;
                e.ph = phase::AUT_START;
            }
            phase::AUT_IN => e.t = au.t + 1,
            phase::AUT_START => e.ph = phase::AUT_RUN,
            _ => {}
        }
        if st.eng[Engine::Bconv.id()].ph == phase::BC {
            let table = st.eng[Engine::Bconv.id()].ins.modulus as usize;
            let k = geo.conversions()[table].from.len();
            if st.feeding {
                if st.limb == k - 1 {
                    next.limb = 0;
                    if st.row == d - 1 {
                        next.feeding = false;
                    } else {
                        next.row = st.row + 1;
                    }
                } else {
                    next.limb = st.limb + 1;
                }
            }
            next.fv = st.feeding;
            next.fi = st.limb;
            if bc_out && st.wr != d - 1 {
                next.wr = st.wr + 1;
            }
        }
    }

    /// The dispatcher: the queue's next entry to its engine when the scoreboard allows.
    fn step_dispatcher(&self, next: &mut CoreState) {
        let geo = &self._geo;
        let st = &self._st;
        let all_idle = st.eng.iter().all(|e| e.ph == phase::IDLE);
        let stop = |next: &mut CoreState, err: bool| {
            if all_idle {
                next.busy = false;
                next.done = true;
                next.err = err;
                next.phase = phase::IDLE;
                next.own.iter_mut().for_each(|o| *o = 0);
            }
        };
        let (w0, w1) = self._iq[st.pc as usize & (geo.queue() - 1)];
        let ins = CoreInstr::decode(w0, w1);
        match st.phase {
            phase::FETCH if st.pc >= st.count => stop(next, false),
            phase::FETCH if self.fetch_bad(&ins) => stop(next, true),
            phase::FETCH => {
                let e = Engine::of(ins.op).id();
                let mut slots = locked_slots(&ins);
                if geo.scoreboard_fault() && uses_fields(ins.op)[2] {
                    slots.pop();
                }
                let free =
                    ins.op == opcode::BCONV || slots.iter().all(|&s| st.own[s as usize] == 0);
                let ready = st.eng[e].ph == phase::IDLE
                    && (geo.issue() == CoreIssue::Overlapped || all_idle)
                    && free;
                if ready {
                    next.pc = st.pc + 1;
                    if ins.op == opcode::BCONV {
                        next.eng[e].ins = ins;
                        next.phase = phase::BC_EXT;
                        next.t = 0;
                    } else {
                        next.eng[e] = EngineState {
                            ph: match ins.op {
                                opcode::LOAD => phase::LOAD,
                                opcode::STORE => phase::STORE,
                                opcode::NTT | opcode::INTT => phase::NTT_IN,
                                opcode::AUTOMORPH => phase::AUT_IN,
                                _ => phase::EW,
                            },
                            ins,
                            t: 0,
                            ov: false,
                        };
                        for s in slots {
                            next.own[s as usize] = e;
                        }
                    }
                }
            }
            phase::BC_EXT => {
                let bc = Engine::Bconv.id();
                let c = &geo.conversions()[st.eng[bc].ins.modulus as usize];
                let slots = extension_slots(&ins);
                let count = c.from.len() + c.to.len();
                let named = &slots[..(count - st.t * SLOTS_PER_EXTENSION).min(SLOTS_PER_EXTENSION)];
                if ins.op != opcode::EXT
                    || ins.modulus != 0
                    || slots.iter().any(|&x| x as usize >= geo.slots())
                {
                    stop(next, true);
                } else if named
                    .iter()
                    .all(|&s| st.own[s as usize] == 0 || st.own[s as usize] == bc)
                {
                    next.sl[st.t * SLOTS_PER_EXTENSION..(st.t + 1) * SLOTS_PER_EXTENSION]
                        .copy_from_slice(&slots);
                    for &s in named {
                        next.own[s as usize] = bc;
                    }
                    next.pc = st.pc + 1;
                    if st.t + 1 == c.extension_entries() {
                        next.eng[bc].ph = phase::BC;
                        next.phase = phase::FETCH;
                        next.row = 0;
                        next.limb = 0;
                        next.feeding = true;
                        next.wr = 0;
                    } else {
                        next.t = st.t + 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// Register-file writes (start, count, queue).
    fn step_registers(&mut self, next: &mut CoreState) {
        let st = &self._st;
        if !self.reg_we.val() {
            return;
        }
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
                let q = self._geo.queue();
                self._iq[st.iq_addr as usize & (q - 1)] = (st.w0, data);
                next.iq_addr = st.iq_addr.wrapping_add(1);
            }
            _ => {}
        }
    }

    /// Combinational outputs and sub-block inputs from the registers.
    fn drive(&mut self) {
        let geo = &self._geo;
        let st = &self._st;
        let (d, w) = (geo.depth(), geo.width());
        let ls = st.eng[Engine::Stream.id()];
        let ew = st.eng[Engine::ElementWise.id()];
        let nt = st.eng[Engine::Ntt.id()];
        let au = st.eng[Engine::Automorph.id()];
        let bc = st.eng[Engine::Bconv.id()];
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
        self.s_tready.next = ls.ph == phase::LOAD;
        self.m_tvalid.next = ls.ph == phase::STORE && ls.ov;
        self.m_tlast.next = ls.ph == phase::STORE && ls.ov && ls.t == d - 1;
        for j in 0..w {
            self.m_tdata[j].next = st.rd[ls.ins.a as usize][j].to_bits();
        }
        let nt_sel = nt.ins.modulus as usize;
        for (m, unit) in self.ntt.iter_mut().enumerate() {
            unit.start.next = nt.ph == phase::NTT_START && m == nt_sel;
            unit.inverse.next = nt.ins.op == opcode::INTT;
            unit.wr_en.next = nt.ph == phase::NTT_IN && nt.t >= 1 && m == nt_sel;
            unit.wr_row.next = ((nt.t.wrapping_sub(1) & (d - 1)) as u32).to_bits();
            unit.rd_row.next = ((nt.t & (d - 1)) as u32).to_bits();
            for j in 0..w {
                unit.din[j].next = st.rd[nt.ins.a as usize][j].to_bits();
            }
        }
        self.aut.start.next = au.ph == phase::AUT_START;
        self.aut.galois.next = au.ins.imm.to_bits();
        self.aut.coeff.next = au.ins.imm & super::COEFF_FORM != 0;
        self.aut.wr_en.next = au.ph == phase::AUT_IN && au.t >= 1;
        self.aut.wr_row.next = ((au.t.wrapping_sub(1) & (d - 1)) as u32).to_bits();
        for j in 0..w {
            self.aut.din[j].next = st.rd[au.ins.a as usize][j].to_bits();
        }
        let table = bc.ins.modulus as usize;
        let feed = bc.ph == phase::BC && st.fv;
        let src = st.sl.get(st.fi).map_or(0, |&s| s as usize);
        for (i, unit) in self.bconv.iter_mut().enumerate() {
            let j = i % w;
            unit.in_valid.next = feed && i / w == table;
            unit.x.next = st.rd[src][j].to_bits();
        }
        let op = match ew.ins.op {
            opcode::SUB => lane_op::SUB,
            opcode::MUL | opcode::MUL_SCALAR => lane_op::MUL,
            opcode::MAC => lane_op::MAC,
            _ => lane_op::ADD,
        };
        for (i, lane) in self.ew.iter_mut().enumerate() {
            let j = i % w;
            let b = match ew.ins.op {
                opcode::ADD_SCALAR | opcode::MUL_SCALAR => ew.ins.imm,
                opcode::COPY => 0,
                _ => st.rd[ew.ins.b as usize][j],
            };
            lane.op.next = op.to_bits();
            lane.a.next = st.rd[ew.ins.a as usize][j].to_bits();
            lane.b.next = b.to_bits();
            lane.c.next = st.rd[ew.ins.dst as usize][j].to_bits();
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
        for unit in &mut self.bconv {
            unit.clock.next = self.clock.val();
        }
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
        for unit in &mut self.bconv {
            unit.clock.connect();
            unit.in_valid.connect();
            unit.x.connect();
        }
        self.aut.clock.connect();
        self.aut.start.connect();
        self.aut.galois.connect();
        self.aut.coeff.connect();
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

mod sim;
mod verilog;

pub use sim::{CoreRun, CoreSim};
use verilog::core_verilog_body;
