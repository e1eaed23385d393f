//! Modular adder, subtractor and multiplier for one prime `q < 2^30` on 32-bit words.
//!
//! All arithmetic is written on signals of at most 32 bits (rust-hdl simulates wider ones bit
//! by bit) and with every operand already at the width of the result, so that rust-hdl's
//! simulation and the emitted Verilog compute the same values (see `DESIGN.md`).

use rust_hdl::prelude::*;

use crate::params::Prime;

/// `(a + b) mod q`, registered: inputs `a, b` in `[0, q)`, output `y` in `[0, q)`,
/// [`ModAdd::LATENCY`] cycles later; one result per cycle.
#[derive(LogicBlock, Debug)]
pub struct ModAdd {
    /// Clock of the output register.
    pub clock: Signal<In, Clock>,
    /// First operand, in `[0, q)`.
    pub a: Signal<In, Bits<32>>,
    /// Second operand, in `[0, q)`.
    pub b: Signal<In, Bits<32>>,
    /// `(a + b) mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<32>>,
    q: Constant<Bits<32>>,
    sum: Signal<Local, Bits<32>>,
    out: DFF<Bits<32>>,
}

impl ModAdd {
    /// Pipeline latency in cycles.
    pub const LATENCY: usize = 1;
    /// Results per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The adder for prime `q`.
    pub fn new(q: Prime) -> Self {
        ModAdd {
            clock: Signal::default(),
            a: Signal::default(),
            b: Signal::default(),
            y: Signal::default(),
            q: Constant::new((q.value() as u32).to_bits()),
            sum: Signal::default(),
            out: DFF::default(),
        }
    }
}

impl Logic for ModAdd {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, out);
        // a + b < 2q < 2^31: no carry out of 32 bits.
        self.sum.next = self.a.val() + self.b.val();
        if self.sum.val() >= self.q.val() {
            self.out.d.next = self.sum.val() - self.q.val();
        } else {
            self.out.d.next = self.sum.val();
        }
        self.y.next = self.out.q.val();
    }
}

/// `(a - b) mod q`, registered: inputs `a, b` in `[0, q)`, output `y` in `[0, q)`,
/// [`ModSub::LATENCY`] cycles later; one result per cycle.
#[derive(LogicBlock, Debug)]
pub struct ModSub {
    /// Clock of the output register.
    pub clock: Signal<In, Clock>,
    /// Minuend, in `[0, q)`.
    pub a: Signal<In, Bits<32>>,
    /// Subtrahend, in `[0, q)`.
    pub b: Signal<In, Bits<32>>,
    /// `(a - b) mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<32>>,
    q: Constant<Bits<32>>,
    out: DFF<Bits<32>>,
}

impl ModSub {
    /// Pipeline latency in cycles.
    pub const LATENCY: usize = 1;
    /// Results per cycle.
    pub const THROUGHPUT: usize = 1;

    /// The subtractor for prime `q`.
    pub fn new(q: Prime) -> Self {
        ModSub {
            clock: Signal::default(),
            a: Signal::default(),
            b: Signal::default(),
            y: Signal::default(),
            q: Constant::new((q.value() as u32).to_bits()),
            out: DFF::default(),
        }
    }
}

impl Logic for ModSub {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, out);
        if self.a.val() >= self.b.val() {
            self.out.d.next = self.a.val() - self.b.val();
        } else {
            // a + q < 2^31: no carry out of 32 bits.
            self.out.d.next = (self.a.val() + self.q.val()) - self.b.val();
        }
        self.y.next = self.out.q.val();
    }
}

/// Pipelined Shoup modular multiplier by a precomputed-constant operand:
/// `y = a * w mod q` for `a` in `[0, 2^30)`, `w` in `[0, q)` and
/// `w_shoup = floor(w * 2^30 / q)` ([`Prime::shoup30`]); `y` in `[0, q)`, [`ModMul::LATENCY`]
/// cycles later, one product per cycle.
///
/// Algorithm: `Q = floor(a * w_shoup / 2^30)` is `floor(a w / q)` or one less, so
/// `r = a w - Q q` lies in `[0, 2q)` and is computed modulo `2^32` from the low words of the
/// two products; one conditional subtraction finishes. Each 30x30-bit product is a
/// Karatsuba product of 15-bit limbs: three 16x16 multipliers (`a0 b0`, `a1 b1`,
/// `(a0 + a1)(b0 + b1)`; limb sums fit 16 bits), so the whole multiplier uses nine 16x16
/// partial products (nine DSP slices), against twelve for a Barrett multiplier built from
/// schoolbook 32x32 products of four each.
///
/// Stages: (1) six limb products of `a w` and `a w_shoup`; (2) `Q` and `a w mod 2^32`;
/// (3) three limb products of `Q q`; (4) `r = a w - Q q mod 2^32`; (5) `r mod q`.
#[derive(LogicBlock, Debug)]
pub struct ModMul {
    /// Clock of every pipeline register.
    pub clock: Signal<In, Clock>,
    /// Variable operand, in `[0, 2^30)`.
    pub a: Signal<In, Bits<32>>,
    /// Fixed operand, in `[0, q)`.
    pub w: Signal<In, Bits<32>>,
    /// `floor(w * 2^30 / q)`, in `[0, 2^30)`.
    pub w_shoup: Signal<In, Bits<32>>,
    /// `a * w mod q`, in `[0, q)`.
    pub y: Signal<Out, Bits<32>>,
    q: Constant<Bits<32>>,
    q_lo: Constant<Bits<16>>,
    q_hi: Constant<Bits<16>>,
    q_sum: Constant<Bits<16>>,
    mask15: Constant<Bits<16>>,
    a_lo: Signal<Local, Bits<16>>,
    a_hi: Signal<Local, Bits<16>>,
    a_sum: Signal<Local, Bits<16>>,
    w_lo: Signal<Local, Bits<16>>,
    w_hi: Signal<Local, Bits<16>>,
    w_sum: Signal<Local, Bits<16>>,
    s_lo: Signal<Local, Bits<16>>,
    s_hi: Signal<Local, Bits<16>>,
    s_sum: Signal<Local, Bits<16>>,
    mid_s: Signal<Local, Bits<32>>,
    mid_w: Signal<Local, Bits<32>>,
    quo_lo: Signal<Local, Bits<16>>,
    quo_hi: Signal<Local, Bits<16>>,
    quo_sum: Signal<Local, Bits<16>>,
    mid_q: Signal<Local, Bits<32>>,
    qq_low: Signal<Local, Bits<32>>,
    // Stage 1 registers.
    p_lo: DFF<Bits<32>>,
    p_hi: DFF<Bits<32>>,
    p_sum: DFF<Bits<32>>,
    s_prod_lo: DFF<Bits<32>>,
    s_prod_hi: DFF<Bits<32>>,
    s_prod_sum: DFF<Bits<32>>,
    // Stage 2.
    quotient: DFF<Bits<32>>,
    aw_low2: DFF<Bits<32>>,
    // Stage 3.
    c_lo: DFF<Bits<32>>,
    c_hi: DFF<Bits<32>>,
    c_sum: DFF<Bits<32>>,
    aw_low3: DFF<Bits<32>>,
    // Stage 4.
    lazy: DFF<Bits<32>>,
    // Stage 5.
    out: DFF<Bits<32>>,
}

impl ModMul {
    /// Pipeline latency in cycles.
    pub const LATENCY: usize = 5;
    /// Products per cycle.
    pub const THROUGHPUT: usize = 1;
    /// 16x16 partial products (DSP slices) per modular product.
    pub const PARTIAL_PRODUCTS: usize = 9;

    /// The multiplier for prime `q`.
    pub fn new(q: Prime) -> Self {
        let qv = q.value();
        let q_lo = qv & 0x7fff;
        let q_hi = qv >> 15;
        ModMul {
            clock: Signal::default(),
            a: Signal::default(),
            w: Signal::default(),
            w_shoup: Signal::default(),
            y: Signal::default(),
            q: Constant::new((qv as u32).to_bits()),
            q_lo: Constant::new((q_lo as u32).to_bits()),
            q_hi: Constant::new((q_hi as u32).to_bits()),
            q_sum: Constant::new(((q_lo + q_hi) as u32).to_bits()),
            mask15: Constant::new(0x7fffu32.to_bits()),
            a_lo: Signal::default(),
            a_hi: Signal::default(),
            a_sum: Signal::default(),
            w_lo: Signal::default(),
            w_hi: Signal::default(),
            w_sum: Signal::default(),
            s_lo: Signal::default(),
            s_hi: Signal::default(),
            s_sum: Signal::default(),
            mid_s: Signal::default(),
            mid_w: Signal::default(),
            quo_lo: Signal::default(),
            quo_hi: Signal::default(),
            quo_sum: Signal::default(),
            mid_q: Signal::default(),
            qq_low: Signal::default(),
            p_lo: DFF::default(),
            p_hi: DFF::default(),
            p_sum: DFF::default(),
            s_prod_lo: DFF::default(),
            s_prod_hi: DFF::default(),
            s_prod_sum: DFF::default(),
            quotient: DFF::default(),
            aw_low2: DFF::default(),
            c_lo: DFF::default(),
            c_hi: DFF::default(),
            c_sum: DFF::default(),
            aw_low3: DFF::default(),
            lazy: DFF::default(),
            out: DFF::default(),
        }
    }
}

impl Logic for ModMul {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, p_lo, p_hi, p_sum, s_prod_lo, s_prod_hi, s_prod_sum, quotient, aw_low2,
            c_lo, c_hi, c_sum, aw_low3, lazy, out
        );
        // Stage 1: 15-bit limbs and their Karatsuba products.
        self.a_lo.next = self.a.val().get_bits::<16>(0) & self.mask15.val();
        self.a_hi.next = self.a.val().get_bits::<16>(15) & self.mask15.val();
        self.a_sum.next = self.a_lo.val() + self.a_hi.val();
        self.w_lo.next = self.w.val().get_bits::<16>(0) & self.mask15.val();
        self.w_hi.next = self.w.val().get_bits::<16>(15) & self.mask15.val();
        self.w_sum.next = self.w_lo.val() + self.w_hi.val();
        self.s_lo.next = self.w_shoup.val().get_bits::<16>(0) & self.mask15.val();
        self.s_hi.next = self.w_shoup.val().get_bits::<16>(15) & self.mask15.val();
        self.s_sum.next = self.s_lo.val() + self.s_hi.val();
        self.p_lo.d.next = self.a_lo.val() * self.w_lo.val();
        self.p_hi.d.next = self.a_hi.val() * self.w_hi.val();
        self.p_sum.d.next = self.a_sum.val() * self.w_sum.val();
        self.s_prod_lo.d.next = self.a_lo.val() * self.s_lo.val();
        self.s_prod_hi.d.next = self.a_hi.val() * self.s_hi.val();
        self.s_prod_sum.d.next = self.a_sum.val() * self.s_sum.val();
        // Stage 2: middle terms (< 2^31), Q = floor(a w_shoup / 2^30), a w mod 2^32.
        self.mid_s.next =
            (self.s_prod_sum.q.val() - self.s_prod_lo.q.val()) - self.s_prod_hi.q.val();
        self.mid_w.next = (self.p_sum.q.val() - self.p_lo.q.val()) - self.p_hi.q.val();
        self.quotient.d.next =
            self.s_prod_hi.q.val() + ((self.mid_s.val() + (self.s_prod_lo.q.val() >> 15)) >> 15);
        self.aw_low2.d.next =
            (self.p_lo.q.val() + (self.mid_w.val() << 15)) + (self.p_hi.q.val() << 30);
        // Stage 3: Karatsuba limb products of Q q.
        self.quo_lo.next = self.quotient.q.val().get_bits::<16>(0) & self.mask15.val();
        self.quo_hi.next = self.quotient.q.val().get_bits::<16>(15) & self.mask15.val();
        self.quo_sum.next = self.quo_lo.val() + self.quo_hi.val();
        self.c_lo.d.next = self.quo_lo.val() * self.q_lo.val();
        self.c_hi.d.next = self.quo_hi.val() * self.q_hi.val();
        self.c_sum.d.next = self.quo_sum.val() * self.q_sum.val();
        self.aw_low3.d.next = self.aw_low2.q.val();
        // Stage 4: r = a w - Q q in [0, 2q), computed mod 2^32.
        self.mid_q.next = (self.c_sum.q.val() - self.c_lo.q.val()) - self.c_hi.q.val();
        self.qq_low.next =
            (self.c_lo.q.val() + (self.mid_q.val() << 15)) + (self.c_hi.q.val() << 30);
        self.lazy.d.next = self.aw_low3.q.val() - self.qq_low.val();
        // Stage 5: final conditional subtraction.
        if self.lazy.q.val() >= self.q.val() {
            self.out.d.next = self.lazy.q.val() - self.q.val();
        } else {
            self.out.d.next = self.lazy.q.val();
        }
        self.y.next = self.out.q.val();
    }
}
