//! The unit's Rust model: [`NttUnit`], its register state, its clock edge and combinational
//! outputs, and its twiddle ROM contents. Its Verilog text is in `verilog.rs`.

use rust_hdl::prelude::*;

use heaccel_verification::arith::Modulus;
use heaccel_verification::ntt::NttTable;

use crate::params::{HdlError, Prime};

use super::verilog::ntt_verilog;
use super::{NttGeometry, NttLane};

/// Issue record travelling with a cycle's butterflies through the pipeline.
#[derive(Clone, Copy, Debug, Default)]
struct Info {
    valid: bool,
    c: usize,
    stage: usize,
}

/// Register state of the unit's Rust model (mirrors the Verilog `q_*`, `i*_*`, `rd_*`,
/// `tw_*` registers).
#[derive(Clone, Debug, Default)]
struct NttState {
    busy: bool,
    inverse: bool,
    stage: usize,
    t: usize,
    cycles: u32,
    row: usize,
    info: [Info; <NttUnit>::LATENCY - 1],
    rdata: Vec<u64>,
    tw: Vec<u64>,
    tws: Vec<u64>,
}

/// The NTT unit (see the module documentation). Ports:
///
/// - `wr_en`, `wr_row`, `din$j`: while idle, a high `wr_en` writes coefficients
///   `2P wr_row + j` (`j` in `[0, 2P)`, `wr_row` in `[0, N/2P)`) at the clock edge.
/// - `start`, `inverse`: while idle, a high `start` starts a transform (forward when
///   `inverse` is low) on the stored coefficients; `busy` is high until the last word of the
///   last stage is written, [`NttGeometry::cycles`] edges counting the one sampling `start`;
///   `cycles` then holds that count.
/// - `rd_row`, `dout$j`: while idle, `dout$j` shows coefficient `2P r + j` one edge after
///   `rd_row = r` was presented.
///
/// Forward: load standard order, read bit-reversed order (index `i` holds
/// `a(psi^(2 brev(i) + 1))`). Inverse: load bit-reversed order, read standard order. All
/// values in `[0, q)`.
#[derive(LogicBlock)]
pub struct NttUnit<const W: usize = 32> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Start a transform (while idle).
    pub start: Signal<In, bool>,
    /// Direction of the transform started: high for the inverse.
    pub inverse: Signal<In, bool>,
    /// Write a row of coefficients (while idle).
    pub wr_en: Signal<In, bool>,
    /// Row written, in `[0, N/2P)`.
    pub wr_row: Signal<In, Bits<16>>,
    /// Row read, in `[0, N/2P)`.
    pub rd_row: Signal<In, Bits<16>>,
    /// Coefficients `2P wr_row + j`, in `[0, q)`.
    pub din: Vec<Signal<In, Bits<W>>>,
    /// Coefficients `2P r + j` of the row presented on `rd_row` at the previous edge.
    pub dout: Vec<Signal<Out, Bits<W>>>,
    /// High while a transform runs.
    pub busy: Signal<Out, bool>,
    /// Cycles of the last transform (counting since its start while running).
    pub cycles: Signal<Out, Bits<32>>,
    /// The butterfly lanes.
    pub lanes: Vec<NttLane<W>>,
    pub(super) _geo: NttGeometry,
    _q: u64,
    pub(super) _scale: [u64; 4],
    _banks: Vec<Vec<u64>>,
    pub(super) _rom_w: Vec<Vec<u64>>,
    pub(super) _rom_s: Vec<Vec<u64>>,
    _st: NttState,
}

impl<const W: usize> std::fmt::Debug for NttUnit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NttUnit")
            .field("word", &W)
            .field("geometry", &self._geo)
            .field("q", &self._q)
            .finish_non_exhaustive()
    }
}

impl<const W: usize> NttUnit<W> {
    /// Latency in cycles from the edge that reads a pair to the edge that writes its results
    /// back: one for the bank read, [`NttLane::LATENCY`], one for the write. A stage drains
    /// `LATENCY - 1` cycles before the next may read; the simulator's
    /// `ntt.pipeline_latency` is this value.
    pub const LATENCY: usize = 1 + NttLane::<W>::LATENCY + 1;
    /// Butterflies per cycle per lane.
    pub const THROUGHPUT_PER_LANE: usize = 1;

    /// The unit for prime `q = 1 mod 2N` (below `2^(W-2)`) and the given size.
    pub fn new(q: Prime, geo: NttGeometry) -> Result<Self, HdlError> {
        let qv = q.value();
        if qv >> (W - 2) != 0 {
            return Err(HdlError::InvalidModulus {
                q: qv,
                reason: format!("must lie below 2^{} for W = {W}", W - 2),
            });
        }
        let two_n = 2 * geo.n() as u64;
        if qv % two_n != 1 {
            return Err(HdlError::InvalidModulus {
                q: qv,
                reason: format!("must be 1 mod 2N = {two_n}"),
            });
        }
        let table = NttTable::new(qv, geo.log_n()).map_err(|e| HdlError::InvalidModulus {
            q: qv,
            reason: e.to_string(),
        })?;
        let m = Modulus::new(qv).expect("valid prime");
        let n_inv = table.n_inv();
        let (rom_w, rom_s) = twiddle_roms(&geo, &table, &m, q, W);
        let lanes = geo.lanes();
        Ok(NttUnit {
            clock: Signal::default(),
            start: Signal::default(),
            inverse: Signal::default(),
            wr_en: Signal::default(),
            wr_row: Signal::default(),
            rd_row: Signal::default(),
            din: (0..2 * lanes).map(|_| Signal::default()).collect(),
            dout: (0..2 * lanes).map(|_| Signal::default()).collect(),
            busy: Signal::default(),
            cycles: Signal::default(),
            lanes: (0..lanes).map(|_| NttLane::new(q)).collect(),
            _geo: geo,
            _q: qv,
            _scale: [1, q.shoup_for(1, W), n_inv, q.shoup_for(n_inv, W)],
            _banks: vec![vec![0; geo.depth()]; geo.banks()],
            _rom_w: rom_w,
            _rom_s: rom_s,
            _st: NttState {
                rdata: vec![0; geo.banks()],
                tw: vec![0; lanes],
                tws: vec![0; lanes],
                ..NttState::default()
            },
        })
    }

    /// The unit's size.
    pub fn geometry(&self) -> NttGeometry {
        self._geo
    }

    fn in_bits(&self, inverse: bool, stage: usize) -> (usize, usize, usize, usize) {
        let g = &self._geo;
        let b = g.stage_bit(inverse, stage % g.log_n() as usize);
        (b, g.window(b), g.pair_pos(b), g.rotation(b))
    }

    /// Clock edge: every register and memory takes its next value (nonblocking semantics:
    /// everything below reads the state before the edge).
    fn step(&mut self) {
        let g = self._geo;
        let st = &self._st;
        let d = g.depth();
        let p = g.bank_bits() as usize;
        let mut next = st.clone();
        // Reads (before writes: a read and a write of one row at one edge return the old
        // word, as in the Verilog).
        let issue = st.busy && st.t < d;
        let (_, w0, _, rot) = self.in_bits(st.inverse, st.stage);
        let z0 = g.fold(g.slot_addr(st.t, w0, 0));
        for m in 0..g.banks() {
            let row = if st.busy {
                (g.slot_addr(st.t, w0, g.rotr(m ^ z0, rot)) >> p) & (d - 1)
            } else {
                self.rd_row.val().index() & (d - 1)
            };
            next.rdata[m] = self._banks[m][row];
        }
        let taddr = if issue {
            g.rom_base(st.inverse, st.stage) + (st.t >> w0)
        } else {
            0
        };
        for k in 0..g.lanes() {
            next.tw[k] = self._rom_w[k][taddr];
            next.tws[k] = self._rom_s[k][taddr];
        }
        next.row = self.rd_row.val().index();
        // Issue pipeline.
        next.info[0] = Info {
            valid: issue,
            c: st.t,
            stage: st.stage,
        };
        for i in 1..st.info.len() {
            next.info[i] = st.info[i - 1];
        }
        // Writes: the lanes' results of the cycle issued LATENCY - 1 edges ago, or a load.
        let last = st.info[st.info.len() - 1];
        if st.busy {
            if last.valid {
                let (_, w0, r, rot) = self.in_bits(st.inverse, last.stage);
                let z = g.fold(g.slot_addr(last.c, w0, 0));
                for m in 0..g.banks() {
                    let v = g.rotr(m ^ z, rot);
                    let lane = ((v >> (r + 1)) << r) | (v & ((1 << r) - 1));
                    let word = if (v >> r) & 1 == 1 {
                        self.lanes[lane].v.val()
                    } else {
                        self.lanes[lane].u.val()
                    };
                    let row = (g.slot_addr(last.c, w0, v) >> p) & (d - 1);
                    self._banks[m][row] = word.to_u64();
                }
            }
        } else if self.wr_en.val() {
            let row = self.wr_row.val().index() & (d - 1);
            let z = g.fold(row << p);
            for m in 0..g.banks() {
                self._banks[m][row] = self.din[m ^ z].val().to_u64();
            }
        }
        // Control.
        if !st.busy {
            if self.start.val() {
                next.busy = true;
                next.stage = 0;
                next.t = 0;
                next.inverse = self.inverse.val();
                next.cycles = 1;
            }
        } else {
            next.cycles = st.cycles.wrapping_add(1);
            if st.t == d + Self::LATENCY - 2 {
                next.t = 0;
                if st.stage == g.log_n() as usize - 1 {
                    next.busy = false;
                } else {
                    next.stage = st.stage + 1;
                }
            } else {
                next.t = st.t + 1;
            }
        }
        self._st = next;
    }

    /// Combinational outputs and lane inputs from the registers.
    fn drive(&mut self) {
        let g = self._geo;
        let st = &self._st;
        let p = g.bank_bits() as usize;
        self.busy.next = st.busy;
        self.cycles.next = st.cycles.to_bits();
        let zr = g.fold((st.row & (g.depth() - 1)) << p);
        for j in 0..g.banks() {
            self.dout[j].next = st.rdata[j ^ zr].to_bits();
        }
        let first = st.info[0];
        let (b, w0, r, rot) = self.in_bits(st.inverse, first.stage);
        let z = g.fold(g.slot_addr(first.c, w0, 0));
        let last_inverse = st.inverse && b == g.log_n() as usize - 1;
        let (s, ss) = if last_inverse {
            (self._scale[2], self._scale[3])
        } else {
            (self._scale[0], self._scale[1])
        };
        for k in 0..g.lanes() {
            let (vx, vy) = g.lane_slots(k, r);
            let lane = &mut self.lanes[k];
            lane.inverse.next = st.inverse;
            lane.x.next = st.rdata[g.rotl(vx, rot) ^ z].to_bits();
            lane.y.next = st.rdata[g.rotl(vy, rot) ^ z].to_bits();
            lane.w.next = st.tw[k].to_bits();
            lane.w_shoup.next = st.tws[k].to_bits();
            lane.s.next = s.to_bits();
            lane.s_shoup.next = ss.to_bits();
        }
    }
}

/// Per-lane twiddle ROMs `(w, w_shoup)`: forward segments by stage, then inverse ones.
fn twiddle_roms(
    g: &NttGeometry,
    table: &NttTable,
    m: &Modulus,
    q: Prime,
    word: usize,
) -> (Vec<Vec<u64>>, Vec<Vec<u64>>) {
    let n = g.log_n() as usize;
    let mut rom_w = vec![Vec::with_capacity(g.rom_depth()); g.lanes()];
    let mut rom_s = vec![Vec::with_capacity(g.rom_depth()); g.lanes()];
    for inverse in [false, true] {
        let tw = if inverse {
            table.inv_psi_rev()
        } else {
            table.psi_rev()
        };
        for s in 0..n {
            let b = g.stage_bit(inverse, s);
            let (w0, r) = (g.window(b), g.pair_pos(b));
            for j in 0..g.segment(b) {
                let c = j << w0;
                for k in 0..g.lanes() {
                    let a = g.slot_addr(c, w0, g.lane_slots(k, r).0);
                    let mut w = tw[(1 << (n - 1 - b)) + (a >> (b + 1))];
                    if inverse && b == n - 1 {
                        w = m.mul(w, table.n_inv());
                    }
                    rom_w[k].push(w);
                    rom_s[k].push(q.shoup_for(w, word));
                }
            }
        }
    }
    (rom_w, rom_s)
}

impl<const W: usize> Logic for NttUnit<W> {
    fn update(&mut self) {
        for lane in &mut self.lanes {
            lane.clock.next = self.clock.val();
        }
        // At the edge only the state moves; outputs follow in the next settle pass, as the
        // outputs of a DFF child would (the lanes' registers then sample pre-edge values).
        if self.clock.pos_edge() {
            self.step();
        } else {
            self.drive();
        }
    }

    fn connect(&mut self) {
        self.busy.connect();
        self.cycles.connect();
        for d in &mut self.dout {
            d.connect();
        }
        for lane in &mut self.lanes {
            lane.clock.connect();
            lane.inverse.connect();
            lane.x.connect();
            lane.y.connect();
            lane.w.connect();
            lane.w_shoup.connect();
            lane.s.connect();
            lane.s_shoup.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(ntt_verilog(self, W))
    }
}
