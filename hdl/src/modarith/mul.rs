//! The pipelined Shoup modular multiplier ([`ModMul`]): its ports and its register-exact Rust
//! model.

use rust_hdl::prelude::*;

use super::check_word;
use super::limbs::{MulLimbs, Partial};
use super::mul_verilog::modmul_verilog;
use crate::params::Prime;

/// Register state of [`ModMul`] (mirrors the Verilog registers of [`modmul_verilog`]).
#[derive(Clone, Debug, Default)]
struct MulState {
    /// Stage 1: partial products of `a w` (low) and `a w_shoup` (full).
    p_aw: Vec<u32>,
    p_as: Vec<u32>,
    /// Stage 2.
    quotient: u64,
    aw_low2: u64,
    /// Stage 3: partial products of `Q q` (low).
    p_qq: Vec<u32>,
    aw_low3: u64,
    /// Stage 4.
    lazy: u64,
    /// Stage 5.
    out: u64,
}

/// Pipelined Shoup modular multiplier by a precomputed-constant operand on `W`-bit words:
/// `y = a * w mod q` for `a` in `[0, 2^(W-2))`, `w` in `[0, q)` and
/// `w_shoup = floor(w * 2^(W-2) / q)` ([`Prime::shoup_for`]; [`Prime::shoup30`] at `W = 32`);
/// `y` in `[0, q)`, [`ModMul::LATENCY`] cycles later, one product per cycle.
///
/// Algorithm: `Q = floor(a * w_shoup / 2^(W-2))` is `floor(a w / q)` or one less, so
/// `r = a w - Q q` lies in `[0, 2q)` and is computed modulo `2^W` from the low words of the
/// two products; one conditional subtraction finishes. Every product is a one-level Karatsuba
/// product of limbs of at most 15 bits ([`MulLimbs`]): each partial product is one 16x16
/// multiplier (one DSP slice). At `W = 32` (two 15-bit limbs) the multiplier uses nine 16x16
/// products against twelve for a Barrett multiplier built from schoolbook 32x32 products of
/// four each; eight when `q = 1 mod 2^15` (synthesis folds the product by the low limb of q,
/// which is 1). [`ModMul::PARTIAL_PRODUCTS`] gives the count for every `W`.
///
/// Stages: (1) limb products of `a w` and `a w_shoup`; (2) `Q` and `a w mod 2^W`;
/// (3) limb products of `Q q`; (4) `r = a w - Q q mod 2^W`; (5) `r mod q`.
#[derive(LogicBlock)]
pub struct ModMul<const W: usize = 32> {
    /// Clock of every pipeline register.
    pub clock: Signal<In, Clock>,
    /// Variable operand, in `[0, 2^(W-2))`.
    pub a: Signal<In, Bits<W>>,
    /// Fixed operand, in `[0, q)`.
    pub w: Signal<In, Bits<W>>,
    /// `floor(w * 2^(W-2) / q)`, in `[0, 2^(W-2))`.
    pub w_shoup: Signal<In, Bits<W>>,
    /// `a * w mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<W>>,
    _q: u64,
    _st: MulState,
}

impl<const W: usize> std::fmt::Debug for ModMul<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModMul")
            .field("word", &W)
            .field("q", &self._q)
            .finish_non_exhaustive()
    }
}

impl<const W: usize> ModMul<W> {
    /// Pipeline latency in cycles (every supported `W`).
    pub const LATENCY: usize = 5;
    /// Products per cycle.
    pub const THROUGHPUT: usize = 1;
    /// The limb decomposition.
    pub const LIMBS: MulLimbs = MulLimbs::for_word(W);
    /// 16x16 partial products (DSP slices) per modular product: 9 at `W = 32`, 16 at 36, 37
    /// at 64 (see [`MulLimbs`]).
    pub const PARTIAL_PRODUCTS: usize = Self::LIMBS.partial_products();

    /// The multiplier for prime `q`. Panics unless `q < 2^(W-2)` (see [`Prime::for_word`]).
    pub fn new(q: Prime) -> Self {
        check_word::<W>(q);
        ModMul {
            clock: Signal::default(),
            a: Signal::default(),
            w: Signal::default(),
            w_shoup: Signal::default(),
            y: Signal::default(),
            _q: q.value(),
            _st: MulState {
                p_aw: vec![0; Self::LIMBS.count(Self::LIMBS.low_columns())],
                p_as: vec![0; Self::LIMBS.count(Self::LIMBS.columns())],
                p_qq: vec![0; Self::LIMBS.count(Self::LIMBS.low_columns())],
                ..MulState::default()
            },
        }
    }

    /// One clock edge: every register takes its next value from the pre-edge state.
    fn step(&mut self) {
        let g = Self::LIMBS;
        let low = g.partials(g.low_columns());
        let full = g.partials(g.columns());
        let prods = |x: u64, y: u64, parts: &[Partial]| -> Vec<u32> {
            let (xs, ys) = (g.split(x), g.split(y));
            parts
                .iter()
                .map(|p| {
                    if p.i == p.j {
                        xs[p.i] * ys[p.i]
                    } else {
                        (xs[p.i] + xs[p.j]) * (ys[p.i] + ys[p.j])
                    }
                })
                .collect()
        };
        let st = &self._st;
        let mut next = st.clone();
        let (a, w, s) = (
            self.a.val().to_u64(),
            self.w.val().to_u64(),
            self.w_shoup.val().to_u64(),
        );
        next.p_aw = prods(a, w, &low);
        next.p_as = prods(a, s, &full);
        let cols_aw: Vec<u32> = (0..g.low_columns())
            .map(|c| g.column(&low, &st.p_aw, c))
            .collect();
        let cols_as: Vec<u32> = (0..g.columns())
            .map(|c| g.column(&full, &st.p_as, c))
            .collect();
        next.aw_low2 = g.low_word(&cols_aw);
        next.quotient = g.quotient(&cols_as);
        next.p_qq = prods(st.quotient, self._q, &low);
        next.aw_low3 = st.aw_low2;
        let cols_qq: Vec<u32> = (0..g.low_columns())
            .map(|c| g.column(&low, &st.p_qq, c))
            .collect();
        let qq = g.low_word(&cols_qq);
        next.lazy = ((st.aw_low3 as u128 + (1u128 << W) - qq as u128) & g.word_mask()) as u64;
        next.out = if st.lazy >= self._q {
            st.lazy - self._q
        } else {
            st.lazy
        };
        self._st = next;
    }
}

impl<const W: usize> Logic for ModMul<W> {
    fn update(&mut self) {
        // As a DFF: at the edge the state moves and the output takes the new output
        // register's value; consumers sampling at the same edge read the old one (a `next`
        // written in this pass is seen in the following pass, when no edge is present).
        if self.clock.pos_edge() {
            self.step();
        }
        self.y.next = self._st.out.to_bits();
    }

    fn connect(&mut self) {
        self.y.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(modmul_verilog(Self::LIMBS, self._q))
    }
}
