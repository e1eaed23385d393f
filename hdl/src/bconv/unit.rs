//! The unit's Rust model: [`BconvUnit`], its register state, clock edge and combinational
//! outputs. Its Verilog text is in `verilog.rs`.

use rust_hdl::prelude::*;

use crate::modarith::ModMul;
use crate::params::HdlError;

use super::verilog::bconv_verilog;
use super::BconvConstants;

/// Register state of the unit's Rust model (mirrors the Verilog registers of `verilog.rs`:
/// `limb`, `d*`, `s_*`, `m*`, `acc_*`, `done`, `lad*`).
#[derive(Clone, Debug, Default)]
pub(super) struct BconvState {
    /// Limb index of the next valid input residue, in `[0, K)`.
    limb: usize,
    /// Scale stage: `(valid, limb)` of the residue in each multiplier stage.
    d: [(bool, usize); 5],
    /// Select stage.
    s_valid: bool,
    s_first: bool,
    s_last: bool,
    s_y: u64,
    s_w: Vec<u64>,
    s_ws: Vec<u64>,
    /// Multiply stage: `(valid, first, last)` of the product in each multiplier stage.
    m: [(bool, bool, bool); 5],
    /// Accumulators, below `K b_j`.
    acc: Vec<u128>,
    done: bool,
    /// Reduction steps: `(valid, values)` per step.
    lad: Vec<(bool, Vec<u128>)>,
    /// Centered variant: the select stage's correction constant `c_i`, the product
    /// `y_i c_i`, its running sum over the limbs, the rounded corrections `u` (one per edge,
    /// delayed to meet the reduced sums) and the corrected outputs.
    s_c: u64,
    cp: u128,
    cacc: u128,
    ud: Vec<u64>,
    fin_valid: bool,
    fin: Vec<u64>,
}

/// The basis-conversion unit (see the module documentation). Ports:
///
/// - `in_valid`, `x`: a high `in_valid` presents residue `x` of the current coefficient's
///   next limb `i` (limbs `0 .. K-1` in order, then the next coefficient's limb 0; idle
///   cycles between residues are allowed); `x` in `[0, q_i)`.
/// - `out_valid`, `out$j`: one cycle per coefficient, [`BconvUnit::latency`] edges after the
///   one that sampled its last residue, `out$j` in `[0, b_j)` is its conversion mod `b_j`.
#[derive(LogicBlock)]
pub struct BconvUnit<const W: usize = 32> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// `x` holds a residue.
    pub in_valid: Signal<In, bool>,
    /// Residue of the current limb, in `[0, q_i)`.
    pub x: Signal<In, Bits<W>>,
    /// `out$j` hold a converted coefficient.
    pub out_valid: Signal<Out, bool>,
    /// The converted coefficient mod `b_j`, in `[0, b_j)`.
    pub out: Vec<Signal<Out, Bits<W>>>,
    /// Scaling multipliers, one per source prime.
    pub pre: Vec<ModMul<W>>,
    /// Multiply-accumulate multipliers, one per target prime.
    pub mac: Vec<ModMul<W>>,
    pub(super) _c: BconvConstants,
    _st: BconvState,
}

impl<const W: usize> std::fmt::Debug for BconvUnit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BconvUnit")
            .field("word", &W)
            .field("from", &self.from_count())
            .field("to", &self.to_count())
            .finish_non_exhaustive()
    }
}

/// Edges from the rounded correction `u` (two after the select stage) to the accumulator's
/// completed sum (six after it): the length of `u`'s delay line before the reduction steps.
pub(super) const CORRECTION_DELAY: usize = 4;

/// `ceil(log2 k)` for `k >= 1`.
pub(super) const fn reduction_steps(k: usize) -> usize {
    (usize::BITS - (k - 1).leading_zeros()) as usize
}

impl<const W: usize> BconvUnit<W> {
    /// Edges of a coefficient through the scale, select, multiply and accumulate stages:
    /// `2 ModMul::LATENCY + 2 = 12`.
    pub const BASE_LATENCY: usize = 2 * ModMul::<W>::LATENCY + 2;
    /// Multiply-accumulates per cycle per target prime.
    pub const MACS_PER_TARGET: usize = 1;

    /// Latency of the approximate variant for `k` source primes (`k` in `[1, 16]`): edges
    /// from the one that samples a coefficient's last residue to the one after which its
    /// conversion is on `out$j`, `BASE_LATENCY + ceil(log2 k)`.
    pub const fn latency_for(k: usize) -> usize {
        Self::BASE_LATENCY + reduction_steps(k)
    }

    /// Latency of the exact-centered variant: one edge more than [`BconvUnit::latency_for`]
    /// (the subtraction of `u Q mod b_j`; the correction itself is computed beside the
    /// multiply-accumulate).
    pub const fn centered_latency_for(k: usize) -> usize {
        Self::latency_for(k) + 1
    }

    /// This unit's latency: [`BconvUnit::latency_for`] or
    /// [`BconvUnit::centered_latency_for`] its `K`.
    pub fn latency(&self) -> usize {
        if self._c.is_centered() {
            Self::centered_latency_for(self.from_count())
        } else {
            Self::latency_for(self.from_count())
        }
    }

    /// Cycles between coefficients at full rate: `K` (one residue per cycle).
    pub fn cycles_per_coefficient(&self) -> usize {
        self.from_count()
    }

    /// Source primes `K`.
    pub fn from_count(&self) -> usize {
        self._c.from_primes().len()
    }

    /// Target primes `L`.
    pub fn to_count(&self) -> usize {
        self._c.to_primes().len()
    }

    /// The constants the unit was built from.
    pub fn constants(&self) -> &BconvConstants {
        &self._c
    }

    /// The unit for the conversion of `c`; errors unless `c` was made for `W` bits.
    pub fn new(c: &BconvConstants) -> Result<Self, HdlError> {
        if c.word() != W {
            return Err(HdlError::InvalidParameter {
                field: "word".into(),
                value: c.word() as u64,
                reason: format!("constants for W = {}, unit of W = {W}", c.word()),
            });
        }
        let (k, l) = (c.from_primes().len(), c.to_primes().len());
        Ok(BconvUnit {
            clock: Signal::default(),
            in_valid: Signal::default(),
            x: Signal::default(),
            out_valid: Signal::default(),
            out: (0..l).map(|_| Signal::default()).collect(),
            pre: c.from_primes().iter().map(|&q| ModMul::new(q)).collect(),
            mac: c.to_primes().iter().map(|&b| ModMul::new(b)).collect(),
            _c: c.clone(),
            _st: BconvState {
                s_w: vec![0; l],
                s_ws: vec![0; l],
                acc: vec![0; l],
                lad: vec![(false, vec![0; l]); reduction_steps(k)],
                ud: vec![0; CORRECTION_DELAY + reduction_steps(k)],
                fin: vec![0; l],
                ..BconvState::default()
            },
        })
    }

    /// Clock edge: every register takes its next value from the pre-edge state and the
    /// multipliers' pre-edge outputs.
    fn step(&mut self) {
        let (k, l) = (self.from_count(), self.to_count());
        let st = &self._st;
        let mut next = st.clone();
        // Input: the limb counter and the scale stage's delay line.
        let v_in = self.in_valid.val();
        next.d[0] = (v_in, st.limb);
        next.d[1..].copy_from_slice(&st.d[..4]);
        if v_in {
            next.limb = if st.limb == k - 1 { 0 } else { st.limb + 1 };
        }
        // Select: y_i from multiplier i, ROM row i.
        let (v5, i5) = st.d[4];
        next.s_valid = v5;
        next.s_first = i5 == 0;
        next.s_last = i5 == k - 1;
        next.s_y = self.pre[i5].y.val().to_u64();
        for j in 0..l {
            (next.s_w[j], next.s_ws[j]) = self._c.rom(i5, j);
        }
        if let Some(corr) = self._c.correction() {
            // Beside the multiply stage: y_i c_i, summed over the limbs one edge later (with
            // the first multiply stage's flags), rounded the edge after, then delayed.
            next.s_c = corr.constants()[i5];
            next.cp = st.s_y as u128 * st.s_c as u128;
            let (v1, f1, _) = st.m[0];
            if v1 {
                next.cacc = if f1 { 0 } else { st.cacc } + st.cp;
            }
            let shift = corr.shift();
            next.ud[0] = ((st.cacc + (1u128 << (shift - 1))) >> shift) as u64;
            next.ud[1..].copy_from_slice(&st.ud[..st.ud.len() - 1]);
            let (valid, vals) = match st.lad.last() {
                Some((v, vals)) => (*v, vals),
                None => (st.done, &st.acc),
            };
            let u = st.ud[st.ud.len() - 1] as usize;
            next.fin_valid = valid;
            for (j, b) in self._c.to_primes().iter().enumerate() {
                let t = self._c.u_q(j, u.min(k)).expect("centered") as u128;
                let x = vals[j];
                next.fin[j] = if x >= t {
                    x - t
                } else {
                    x + b.value() as u128 - t
                } as u64;
            }
        }
        // Multiply stage's flags.
        next.m[0] = (st.s_valid, st.s_first, st.s_last);
        next.m[1..].copy_from_slice(&st.m[..4]);
        // Accumulate.
        let (v, first, last) = st.m[4];
        if v {
            for j in 0..l {
                let base = if first { 0 } else { st.acc[j] };
                next.acc[j] = base + self.mac[j].y.val().to_u64() as u128;
            }
        }
        next.done = v && last;
        // Final reduction: step t subtracts 2^(T-1-t) b_j when the value reaches it.
        let steps = st.lad.len();
        for t in 0..steps {
            let (valid, vals) = if t == 0 {
                (st.done, &st.acc)
            } else {
                (st.lad[t - 1].0, &st.lad[t - 1].1)
            };
            let shift = steps - 1 - t;
            next.lad[t].0 = valid;
            for (j, b) in self._c.to_primes().iter().enumerate() {
                let m = (b.value() as u128) << shift;
                next.lad[t].1[j] = if vals[j] >= m { vals[j] - m } else { vals[j] };
            }
        }
        self._st = next;
    }

    /// Combinational outputs and multiplier inputs from the registers and the input port.
    fn drive(&mut self) {
        let st = &self._st;
        if self._c.is_centered() {
            self.out_valid.next = st.fin_valid;
            for (o, &v) in self.out.iter_mut().zip(&st.fin) {
                o.next = v.to_bits();
            }
        } else {
            let (valid, vals) = match st.lad.last() {
                Some((v, vals)) => (*v, vals),
                None => (st.done, &st.acc),
            };
            self.out_valid.next = valid;
            let mask = (1u128 << W) - 1;
            for (o, &v) in self.out.iter_mut().zip(vals) {
                o.next = ((v & mask) as u64).to_bits();
            }
        }
        let x = self.x.val();
        for (i, m) in self.pre.iter_mut().enumerate() {
            let (w, ws) = self._c.scale(i);
            m.a.next = x;
            m.w.next = w.to_bits();
            m.w_shoup.next = ws.to_bits();
        }
        for (j, m) in self.mac.iter_mut().enumerate() {
            m.a.next = st.s_y.to_bits();
            m.w.next = st.s_w[j].to_bits();
            m.w_shoup.next = st.s_ws[j].to_bits();
        }
    }
}

impl<const W: usize> Logic for BconvUnit<W> {
    fn update(&mut self) {
        for m in self.pre.iter_mut().chain(self.mac.iter_mut()) {
            m.clock.next = self.clock.val();
        }
        // At the edge only the state moves; outputs follow in the next settle pass, as the
        // outputs of a DFF child would (the multipliers then sample pre-edge values).
        if self.clock.pos_edge() {
            self.step();
        } else {
            self.drive();
        }
    }

    fn connect(&mut self) {
        self.out_valid.connect();
        for o in &mut self.out {
            o.connect();
        }
        for m in self.pre.iter_mut().chain(self.mac.iter_mut()) {
            m.clock.connect();
            m.a.connect();
            m.w.connect();
            m.w_shoup.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(bconv_verilog(&self._c, W))
    }
}
