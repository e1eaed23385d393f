//! The NTT unit: forward (Cooley-Tukey) and inverse (Gentleman-Sande) negacyclic NTT of one
//! limb of `N = 2^log_n` coefficients with `P` butterfly lanes, `2P` memory banks and
//! per-lane twiddle ROMs, in the orders of `docs/DESIGN.md` (forward: standard order in,
//! bit-reversed order out; inverse: bit-reversed in, standard out, times `N^-1`).
//!
//! # Architecture
//!
//! In place, iterative: stage `s` of the forward transform pairs the addresses that differ in
//! bit `b = log_n - 1 - s` (`t = 2^b`); stage `s` of the inverse pairs bit `b = s`. The
//! twiddle of a pair with lower address `a` is `psi_rev[2^(log_n-1-b) + (a >> (b+1))]`
//! (`inv_psi_rev` for the inverse), exactly the reference's `NttTable` loops, so the memory
//! holds the reference's array after every stage.
//!
//! **Banks.** The `N` words live in `2P = 2^p` single-read single-write banks of depth
//! `N / 2P`: address `a` (`log_n` bits) sits in bank `fold(a)`, row `a >> p`, where `fold`
//! XORs the `p`-bit fields of `a` (`a[p-1:0] ^ a[2p-1:p] ^ ...`). Row and bank determine `a`
//! (`a[p-1:0] = bank ^ fold(a >> p << p)`).
//!
//! **Conflict-free schedule.** In cycle `c` (`0 <= c < N/2P`) of a stage the `2P` words read
//! are `a(c, v) = (c >> w0) << (w0 + p) | v << w0 | c mod 2^w0` for the `2P` window values
//! `v`, where the window `[w0, w0 + p)` is the `p` bit positions ending at `b`
//! (`w0 = max(b - p + 1, 0)`). Bit `j` of an address feeds bank bit `j mod p`, and `p`
//! consecutive positions have distinct residues mod `p`, so `v -> fold(a(c, v))` is the
//! bijection `v -> rotl_p(v, w0 mod p) ^ fold(a(c, 0))`: the `2P` reads (and, `LATENCY`
//! cycles later, the `2P` writes to the same addresses) hit every bank exactly once. Lane `k`
//! takes the window values `v_x` (bit `b - w0` clear) and `v_y = v_x | 2^(b - w0)` whose
//! other bits are those of `k`. Over the `N/2P` cycles every address is read once per stage
//! ([`NttGeometry::stage_accesses`]; tested in `tests/ntt.rs`). Loading and unloading use
//! the window `[0, p)`: row `r` of the ports (`2P` consecutive coefficients `2P r + j`) is
//! row `r` of every bank, coefficient `j` in bank `j ^ fold(2P r)`.
//!
//! **Routing.** No `2P`-way crossbar is needed: every bank-to-lane route is a fixed
//! permutation chosen by the stage, composed with an XOR by `z = fold(a(c, 0))`. Lane `k`
//! reads bank `rotl_p(v_x, w0 mod p) ^ z`: an XOR network (`p` stages of 2:1 multiplexers,
//! stage `s` swapping the banks whose numbers differ in bit `s` when `z` has it set) followed
//! by a multiplexer over the at most `log_n` distinct banks `rotl_p(v_x, w0 mod p)` of the
//! stages. Write-back is the mirror image (a stage-selected source per position, then the XOR
//! network by the write cycle's `z`), loading and unloading are XOR networks by
//! `fold(2P r)`. Per word and route that is `p` two-input stages and one `log_n`-input
//! multiplexer instead of a `2P`-input one (at `P = 64`, `N = 2^12`: 7 + 12 inputs, not 128).
//!
//! **Twiddles.** Lane `k` has its own ROM (`w` and its Shoup constant) holding, per stage,
//! the twiddles it needs in issue order: `2^(log_n-1-b)` words for stages whose window lies
//! at or below `b` (all lanes of a cycle share one group, the word changes every `2^w0`
//! cycles), `N/2P` words for the last `p - 1` stages (lanes span several groups). The
//! inverse's last stage holds `w N^-1` and the lanes scale the sum by `N^-1` there, so no
//! separate scaling pass is needed.
//!
//! **Stall policy.** A stage reads data the previous stage wrote, and a word is written
//! [`NttUnit::LATENCY`] edges after it was read; the unit issues the `N/2P` cycles of a stage
//! and then waits `LATENCY - 1` cycles for the pipeline to drain before the next stage. One
//! transform takes [`NttGeometry::cycles`]` = 1 + log_n (N/2P + LATENCY - 1)` cycles against the
//! bound `N/2 log_n / P`: +2.8% at `N = 2^12`, `P = 8`.
//!
//! The unit is a custom rust-hdl `Logic` (a hand-written `update` and Verilog body, as
//! rust-hdl's own RAM/ROM widgets) because its structure depends on `N` and `P` at generation
//! time; its butterfly lanes ([`NttLane`]) are `#[hdl_gen]` blocks. The Verilog co-simulation
//! checks that the two descriptions agree.

use std::fmt::Write as _;

use rust_hdl::prelude::*;

use heaccel_verification::arith::Modulus;
use heaccel_verification::ntt::NttTable;

use crate::modarith::{ModAdd, ModMul, ModSub};
use crate::params::{HdlError, Prime};

/// One butterfly lane of the NTT unit: Cooley-Tukey when `inverse` is low,
/// Gentleman-Sande with the sum scaled by `s` when high; [`NttLane::LATENCY`] cycles, one
/// butterfly per cycle. `inverse` must stay constant while butterflies are in flight.
///
/// Forward: `u = x + w y`, `v = x - w y`. Inverse: `u = (x + y) s`, `v = (x - y) w`.
/// Inputs and outputs in `[0, q)`; `w_shoup`, `s_shoup` are the Shoup constants
/// ([`Prime::shoup_for`]). Two multipliers: the forward transform leaves `mul_b` idle.
#[derive(LogicBlock, Debug)]
pub struct NttLane<const W: usize = 32> {
    /// Clock of every pipeline register.
    pub clock: Signal<In, Clock>,
    /// Low: Cooley-Tukey; high: Gentleman-Sande.
    pub inverse: Signal<In, bool>,
    /// Upper input, in `[0, q)`.
    pub x: Signal<In, Bits<W>>,
    /// Lower input, in `[0, q)`.
    pub y: Signal<In, Bits<W>>,
    /// Twiddle, in `[0, q)`.
    pub w: Signal<In, Bits<W>>,
    /// Shoup constant of `w`.
    pub w_shoup: Signal<In, Bits<W>>,
    /// Scale of the inverse's sum, in `[0, q)`.
    pub s: Signal<In, Bits<W>>,
    /// Shoup constant of `s`.
    pub s_shoup: Signal<In, Bits<W>>,
    /// Upper output.
    pub u: Signal<Out, Bits<W>>,
    /// Lower output.
    pub v: Signal<Out, Bits<W>>,
    add: ModAdd<W>,
    sub: ModSub<W>,
    mul_a: ModMul<W>,
    mul_b: ModMul<W>,
    x_d1: DFF<Bits<W>>,
    x_d2: DFF<Bits<W>>,
    x_d3: DFF<Bits<W>>,
    x_d4: DFF<Bits<W>>,
    x_d5: DFF<Bits<W>>,
    w_d1: DFF<Bits<W>>,
    ws_d1: DFF<Bits<W>>,
    s_d1: DFF<Bits<W>>,
    ss_d1: DFF<Bits<W>>,
}

// The delay lines below hold one register per multiplier stage.
const _: () = assert!(<ModMul>::LATENCY == 5 && <ModAdd>::LATENCY == 1 && <ModSub>::LATENCY == 1);

impl<const W: usize> NttLane<W> {
    /// Pipeline latency in cycles, both modes.
    pub const LATENCY: usize = ModMul::<W>::LATENCY + ModAdd::<W>::LATENCY;
    /// Butterflies per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The lane for prime `q`.
    pub fn new(q: Prime) -> Self {
        NttLane {
            clock: Signal::default(),
            inverse: Signal::default(),
            x: Signal::default(),
            y: Signal::default(),
            w: Signal::default(),
            w_shoup: Signal::default(),
            s: Signal::default(),
            s_shoup: Signal::default(),
            u: Signal::default(),
            v: Signal::default(),
            add: ModAdd::new(q),
            sub: ModSub::new(q),
            mul_a: ModMul::new(q),
            mul_b: ModMul::new(q),
            x_d1: DFF::default(),
            x_d2: DFF::default(),
            x_d3: DFF::default(),
            x_d4: DFF::default(),
            x_d5: DFF::default(),
            w_d1: DFF::default(),
            ws_d1: DFF::default(),
            s_d1: DFF::default(),
            ss_d1: DFF::default(),
        }
    }
}

impl<const W: usize> Logic for NttLane<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, x_d1, x_d2, x_d3, x_d4, x_d5, w_d1, ws_d1, s_d1, ss_d1);
        self.add.clock.next = self.clock.val();
        self.sub.clock.next = self.clock.val();
        self.mul_a.clock.next = self.clock.val();
        self.mul_b.clock.next = self.clock.val();
        self.x_d1.d.next = self.x.val();
        self.x_d2.d.next = self.x_d1.q.val();
        self.x_d3.d.next = self.x_d2.q.val();
        self.x_d4.d.next = self.x_d3.q.val();
        self.x_d5.d.next = self.x_d4.q.val();
        self.w_d1.d.next = self.w.val();
        self.ws_d1.d.next = self.w_shoup.val();
        self.s_d1.d.next = self.s.val();
        self.ss_d1.d.next = self.s_shoup.val();
        self.mul_b.a.next = self.add.y.val();
        self.mul_b.w.next = self.s_d1.q.val();
        self.mul_b.w_shoup.next = self.ss_d1.q.val();
        if self.inverse.val() {
            // Sum and difference first (1 cycle), then both products (5 cycles).
            self.add.a.next = self.x.val();
            self.add.b.next = self.y.val();
            self.sub.a.next = self.x.val();
            self.sub.b.next = self.y.val();
            self.mul_a.a.next = self.sub.y.val();
            self.mul_a.w.next = self.w_d1.q.val();
            self.mul_a.w_shoup.next = self.ws_d1.q.val();
            self.u.next = self.mul_b.y.val();
            self.v.next = self.mul_a.y.val();
        } else {
            // Product first (5 cycles), then sum and difference (1 cycle).
            self.mul_a.a.next = self.y.val();
            self.mul_a.w.next = self.w.val();
            self.mul_a.w_shoup.next = self.w_shoup.val();
            self.add.a.next = self.x_d5.q.val();
            self.add.b.next = self.mul_a.y.val();
            self.sub.a.next = self.x_d5.q.val();
            self.sub.b.next = self.mul_a.y.val();
            self.u.next = self.add.y.val();
            self.v.next = self.sub.y.val();
        }
    }
}

/// Size of an NTT unit: `N = 2^log_n` coefficients, `P = lanes` butterflies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NttGeometry {
    log_n: u32,
    lanes: usize,
}

/// One word access of a stage: `(bank, row)` of address `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankAccess {
    /// The coefficient address in `[0, N)`.
    pub addr: usize,
    /// Bank in `[0, 2P)`.
    pub bank: usize,
    /// Row in the bank, in `[0, N/2P)`.
    pub row: usize,
}

impl NttGeometry {
    /// Largest supported `log2(N)`.
    pub const MAX_LOG_N: u32 = 16;
    /// Largest supported lane count.
    pub const MAX_LANES: usize = 128;

    /// Validates: `lanes` a power of two in `[1, 128]`, `log_n` in `[2, 16]` with
    /// `N >= 4P` (banks at least two rows deep).
    pub fn new(log_n: u32, lanes: usize) -> Result<Self, HdlError> {
        if !lanes.is_power_of_two() || lanes > Self::MAX_LANES {
            return Err(HdlError::InvalidParameter {
                field: "lanes".into(),
                value: lanes as u64,
                reason: format!("must be a power of two in [1, {}]", Self::MAX_LANES),
            });
        }
        let p = lanes.trailing_zeros() + 1;
        let min = (p + 1).max(2);
        if log_n < min || log_n > Self::MAX_LOG_N {
            return Err(HdlError::InvalidParameter {
                field: "log-n".into(),
                value: log_n as u64,
                reason: format!(
                    "must lie in [{min}, {}] for {lanes} lanes (N >= 4P)",
                    Self::MAX_LOG_N
                ),
            });
        }
        Ok(NttGeometry { log_n, lanes })
    }

    /// `log2(N)`.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }
    /// `N`.
    pub fn n(&self) -> usize {
        1 << self.log_n
    }
    /// Butterfly lanes `P`.
    pub fn lanes(&self) -> usize {
        self.lanes
    }
    /// `p = log2(2P)`: bits of a bank number.
    pub fn bank_bits(&self) -> u32 {
        self.lanes.trailing_zeros() + 1
    }
    /// Banks `2P`.
    pub fn banks(&self) -> usize {
        2 * self.lanes
    }
    /// Rows per bank `N / 2P`: also the issue cycles of a stage.
    pub fn depth(&self) -> usize {
        self.n() / self.banks()
    }
    /// Address bits of a bank row: `log_n - p`.
    pub fn row_bits(&self) -> u32 {
        self.log_n - self.bank_bits()
    }

    /// Paired bit `b` of stage `s` in `[0, log_n)`: `log_n - 1 - s` forward, `s` inverse.
    pub fn stage_bit(&self, inverse: bool, s: usize) -> usize {
        if inverse {
            s
        } else {
            self.log_n as usize - 1 - s
        }
    }
    /// Lowest bit `w0` of the window of the stage pairing bit `b`.
    pub fn window(&self, b: usize) -> usize {
        b.saturating_sub(self.bank_bits() as usize - 1)
    }
    /// Position of the paired bit inside the window.
    pub fn pair_pos(&self, b: usize) -> usize {
        b - self.window(b)
    }
    /// Rotation `w0 mod p` of the window onto the bank bits.
    pub fn rotation(&self, b: usize) -> usize {
        self.window(b) % self.bank_bits() as usize
    }
    /// Address of window value `v` in cycle `c` of a stage whose window starts at `w0`.
    pub fn slot_addr(&self, c: usize, w0: usize, v: usize) -> usize {
        let p = self.bank_bits() as usize;
        ((c >> w0) << (w0 + p)) | (v << w0) | (c & ((1 << w0) - 1))
    }
    /// XOR of the `p`-bit fields of `a`: the bank of address `a`.
    pub fn fold(&self, a: usize) -> usize {
        let p = self.bank_bits();
        let mask = self.banks() - 1;
        let mut f = 0;
        let mut x = a;
        while x != 0 {
            f ^= x & mask;
            x >>= p;
        }
        f
    }
    /// Bank and row of address `a`.
    pub fn locate(&self, a: usize) -> BankAccess {
        BankAccess {
            addr: a,
            bank: self.fold(a),
            row: a >> self.bank_bits(),
        }
    }
    /// `p`-bit left rotation.
    pub fn rotl(&self, x: usize, s: usize) -> usize {
        let p = self.bank_bits() as usize;
        (((x << p) | x) << s >> p) & (self.banks() - 1)
    }
    /// `p`-bit right rotation.
    pub fn rotr(&self, x: usize, s: usize) -> usize {
        let p = self.bank_bits() as usize;
        (((x << p) | x) >> s) & (self.banks() - 1)
    }
    /// Window values `(v_x, v_y)` of lane `k` when the paired bit sits at window position `r`.
    pub fn lane_slots(&self, k: usize, r: usize) -> (usize, usize) {
        let vx = ((k >> r) << (r + 1)) | (k & ((1 << r) - 1));
        (vx, vx | (1 << r))
    }

    /// The accesses of cycle `c` of stage `s`, lane by lane: `[(x, y); P]`.
    pub fn stage_accesses(
        &self,
        inverse: bool,
        s: usize,
        c: usize,
    ) -> Vec<(BankAccess, BankAccess)> {
        let b = self.stage_bit(inverse, s);
        let (w0, r) = (self.window(b), self.pair_pos(b));
        (0..self.lanes)
            .map(|k| {
                let (vx, vy) = self.lane_slots(k, r);
                (
                    self.locate(self.slot_addr(c, w0, vx)),
                    self.locate(self.slot_addr(c, w0, vy)),
                )
            })
            .collect()
    }

    /// Twiddle words of the stage pairing bit `b`, per lane.
    fn segment(&self, b: usize) -> usize {
        self.depth() >> self.window(b)
    }
    /// Words of one direction's twiddle table per lane.
    fn rom_half(&self) -> usize {
        (0..self.log_n as usize).map(|b| self.segment(b)).sum()
    }
    /// Twiddle ROM depth per lane (forward then inverse).
    pub fn rom_depth(&self) -> usize {
        2 * self.rom_half()
    }
    /// First ROM word of stage `s`.
    pub fn rom_base(&self, inverse: bool, s: usize) -> usize {
        let before: usize = (0..s)
            .map(|t| self.segment(self.stage_bit(inverse, t)))
            .sum();
        before + if inverse { self.rom_half() } else { 0 }
    }

    /// Cycles of one transform from the edge that samples `start` to the one after which
    /// `busy` is low: `1 + log_n (N/2P + NttUnit::LATENCY - 1)`.
    pub fn cycles(&self) -> usize {
        1 + self.log_n as usize * (self.depth() + <NttUnit>::LATENCY - 1)
    }
    /// The bound `N/2 log_n / P`.
    pub fn bound(&self) -> usize {
        self.n() / 2 * self.log_n as usize / self.lanes
    }
}

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
    _geo: NttGeometry,
    _q: u64,
    _scale: [u64; 4],
    _banks: Vec<Vec<u64>>,
    _rom_w: Vec<Vec<u64>>,
    _rom_s: Vec<Vec<u64>>,
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
fn ntt_verilog<const W: usize>(u: &NttUnit<W>, w: usize) -> String {
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

/// A started [`NttUnit`] under hand-stepped rust-hdl simulation.
#[derive(Debug)]
pub struct NttSim<const W: usize = 32> {
    /// The simulated unit.
    pub unit: NttUnit<W>,
}

impl<const W: usize> NttSim<W> {
    /// Builds and starts the unit (see [`NttUnit::new`]).
    pub fn new(q: Prime, geo: NttGeometry) -> Result<Self, HdlError> {
        let mut unit = NttUnit::new(q, geo)?;
        crate::sim::start(&mut unit);
        Ok(NttSim { unit })
    }

    fn cycle(&mut self) {
        crate::sim::cycle(&mut self.unit, |u| &mut u.clock);
    }

    /// Loads `input` (`N` values in `[0, q)`), runs one transform through the ports and
    /// reads the result back; returns it with the cycle count measured from the edge that
    /// sampled `start` to the one after which `busy` fell (checked against the `cycles`
    /// port). Panics if `input` has the wrong length or the unit does not finish within
    /// twice [`NttGeometry::cycles`] (a bug of the unit).
    pub fn transform(&mut self, input: &[u64], inverse: bool) -> (Vec<u64>, usize) {
        let g = self.unit.geometry();
        assert_eq!(input.len(), g.n(), "input of the wrong length");
        let w = g.banks();
        for r in 0..g.depth() {
            self.unit.wr_en.next = true;
            self.unit.wr_row.next = (r as u32).to_bits();
            for j in 0..w {
                self.unit.din[j].next = input[w * r + j].to_bits();
            }
            self.cycle();
        }
        self.unit.wr_en.next = false;
        self.unit.start.next = true;
        self.unit.inverse.next = inverse;
        self.cycle();
        self.unit.start.next = false;
        let mut cycles = 1;
        while self.unit.busy.val() {
            self.cycle();
            cycles += 1;
            assert!(cycles <= 2 * g.cycles(), "NTT unit did not finish");
        }
        assert_eq!(
            self.unit.cycles.val().to_u32() as usize,
            cycles,
            "cycles port"
        );
        let mut out = vec![0u64; g.n()];
        for r in 0..g.depth() {
            self.unit.rd_row.next = (r as u32).to_bits();
            self.cycle();
            for j in 0..w {
                out[w * r + j] = self.unit.dout[j].val().to_u64();
            }
        }
        (out, cycles)
    }
}
