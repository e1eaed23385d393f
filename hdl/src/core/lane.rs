//! One element-wise lane of the core: `a + b`, `a - b`, `a * b` or `c + a * b` modulo a
//! baked-in prime `q < 2^30`, one result per cycle, [`EwLane::LATENCY`] cycles.
//!
//! The product of two variable operands cannot use the Shoup multiplier (it needs a
//! precomputed constant of one operand), so the lane reduces the exact product `x = a b`
//! (`x < q^2 < 2^60`) by Barrett's method with shifts fixed by `b = bits(q)` (generation-time
//! constants, as `q`): `q1 = floor(x / 2^b) < q`, `mu = floor(2^(2b) / q) = 2^b + mu'` with
//! `mu' < 2^b`, `q3 = q1 + floor(q1 mu' / 2^b)` (that is `floor(q1 mu / 2^b)`, at most
//! `floor(x / q)` and more than `x / q - 4`), `r = x - q3 q` in `[0, 4q)`, computed modulo
//! `2^32`, then two conditional subtractions (`2q`, `q`). Each of `a b`, `q1 mu'` and the low
//! 32 bits of `q3 q` is a one-level Karatsuba product of two 15-bit limbs, three 16x16
//! multipliers: 9 16x16 partial products ([`EwLane::PARTIAL_PRODUCTS`]; fewer DSP slices when a
//! limb of `mu'` or `q`, or a limb sum, is a power of two or zero, as the low limb of `q` is 1
//! when `q = 1 mod 2^15`).

use rust_hdl::prelude::*;

use crate::modarith::{ModAdd, ModSub};
use crate::params::Prime;

/// Lane operation codes (the `op` port).
pub mod lane_op {
    /// `y = a + b`.
    pub const ADD: u32 = 0;
    /// `y = a - b`.
    pub const SUB: u32 = 1;
    /// `y = a * b`.
    pub const MUL: u32 = 2;
    /// `y = c + a * b`.
    pub const MAC: u32 = 3;
}

/// Barrett constants of prime `q < 2^30` for the lane: `(b, mu')` with `b = bits(q)` in
/// `[2, 30]` and `mu' = floor(2^(2b) / q) - 2^b` in `[0, 2^b)`.
fn barrett_constants(q: u64) -> (u32, u64) {
    assert!((3..1 << 30).contains(&q), "q = {q} outside [3, 2^30)");
    let b = 64 - q.leading_zeros();
    (b, ((1u128 << (2 * b)) / q as u128) as u64 - (1 << b))
}

/// Element-wise lane for prime `q` (see the module documentation). Inputs `a, b, c` in
/// `[0, q)`, sampled with `op` at one edge; `y` in `[0, q)` holds the result
/// [`EwLane::LATENCY`] edges later (counting the sampling edge). Fully pipelined.
#[derive(LogicBlock, Debug)]
pub struct EwLane {
    /// Clock of every pipeline register.
    pub clock: Signal<In, Clock>,
    /// Operation, one of [`lane_op`].
    pub op: Signal<In, Bits<2>>,
    /// First operand.
    pub a: Signal<In, Bits<32>>,
    /// Second operand.
    pub b: Signal<In, Bits<32>>,
    /// Accumulator (MAC only).
    pub c: Signal<In, Bits<32>>,
    /// The result.
    pub y: Signal<Out, Bits<32>>,
    fadd: ModAdd,
    fsub: ModSub,
    q: Constant<Bits<32>>,
    q2: Constant<Bits<32>>,
    q_lo: Constant<Bits<16>>,
    q_hi: Constant<Bits<16>>,
    q_sum: Constant<Bits<16>>,
    mu_lo: Constant<Bits<16>>,
    mu_hi: Constant<Bits<16>>,
    mu_sum: Constant<Bits<16>>,
    shift_b: Constant<Bits<32>>,
    shift_hi: Constant<Bits<32>>,
    zero: Constant<Bits<32>>,
    op_sub: Constant<Bits<2>>,
    op_mul: Constant<Bits<2>>,
    op_mac: Constant<Bits<2>>,
    mask15: Constant<Bits<16>>,
    mask15w: Constant<Bits<32>>,
    mask30: Constant<Bits<32>>,
    a_lo: Signal<Local, Bits<16>>,
    a_hi: Signal<Local, Bits<16>>,
    a_sum: Signal<Local, Bits<16>>,
    b_lo: Signal<Local, Bits<16>>,
    b_hi: Signal<Local, Bits<16>>,
    b_sum: Signal<Local, Bits<16>>,
    x_mid: Signal<Local, Bits<32>>,
    x_low: Signal<Local, Bits<32>>,
    x_lo: Signal<Local, Bits<32>>,
    x_hi: Signal<Local, Bits<32>>,
    q1_lo: Signal<Local, Bits<16>>,
    q1_hi: Signal<Local, Bits<16>>,
    q1_sum: Signal<Local, Bits<16>>,
    m_mid: Signal<Local, Bits<32>>,
    m_low: Signal<Local, Bits<32>>,
    m_lo: Signal<Local, Bits<32>>,
    m_hi: Signal<Local, Bits<32>>,
    q3_lo: Signal<Local, Bits<16>>,
    q3_hi: Signal<Local, Bits<16>>,
    q3_sum: Signal<Local, Bits<16>>,
    n_mid: Signal<Local, Bits<32>>,
    n_low: Signal<Local, Bits<32>>,
    u_in: Signal<Local, Bits<32>>,
    p_lo: DFF<Bits<32>>,
    p_hi: DFF<Bits<32>>,
    p_sum: DFF<Bits<32>>,
    q1: DFF<Bits<32>>,
    x2: DFF<Bits<32>>,
    pm_lo: DFF<Bits<32>>,
    pm_hi: DFF<Bits<32>>,
    pm_sum: DFF<Bits<32>>,
    q1_3: DFF<Bits<32>>,
    x3: DFF<Bits<32>>,
    q3: DFF<Bits<32>>,
    x4: DFF<Bits<32>>,
    pn_lo: DFF<Bits<32>>,
    pn_hi: DFF<Bits<32>>,
    pn_sum: DFF<Bits<32>>,
    x5: DFF<Bits<32>>,
    r6: DFF<Bits<32>>,
    r7: DFF<Bits<32>>,
    prod: DFF<Bits<32>>,
    u1: DFF<Bits<32>>,
    u2: DFF<Bits<32>>,
    u3: DFF<Bits<32>>,
    u4: DFF<Bits<32>>,
    u5: DFF<Bits<32>>,
    u6: DFF<Bits<32>>,
    u7: DFF<Bits<32>>,
    u8: DFF<Bits<32>>,
    v1: DFF<Bits<32>>,
    v2: DFF<Bits<32>>,
    v3: DFF<Bits<32>>,
    v4: DFF<Bits<32>>,
    v5: DFF<Bits<32>>,
    v6: DFF<Bits<32>>,
    v7: DFF<Bits<32>>,
    v8: DFF<Bits<32>>,
    o1: DFF<Bits<2>>,
    o2: DFF<Bits<2>>,
    o3: DFF<Bits<2>>,
    o4: DFF<Bits<2>>,
    o5: DFF<Bits<2>>,
    o6: DFF<Bits<2>>,
    o7: DFF<Bits<2>>,
    o8: DFF<Bits<2>>,
    o9: DFF<Bits<2>>,
}

// The delay lines below assume these latencies.
const _: () = assert!(<ModAdd>::LATENCY == 1 && <ModSub>::LATENCY == 1);

impl EwLane {
    /// Pipeline latency in cycles: limb products of `a b` (1), `q1` (1), limb products of
    /// `q1 mu'` (1), `q3` (1), limb products of `q3 q` (1), `r` (1), the two conditional
    /// subtractions (2), the final add/subtract (1).
    pub const LATENCY: usize = 8 + <ModAdd>::LATENCY;
    /// 16x16 partial products per lane (`a b`, `q1 mu'`, `q3 q`: three each); the DSP slices
    /// are fewer by the products whose constant factor is a power of two or zero.
    pub const PARTIAL_PRODUCTS: usize = 9;

    /// Partial products whose constant factor (a limb of `mu'` or `q`, or the sum of the
    /// two limbs) has at most one bit set, which synthesis turns into a shift or a zero: the
    /// lane's DSP slices are [`EwLane::PARTIAL_PRODUCTS`] less these (in `[0, 6]`).
    pub fn folded_products(q: Prime) -> usize {
        let (_, mu) = barrett_constants(q.value());
        [mu, q.value()]
            .iter()
            .flat_map(|&v| {
                let (lo, hi) = (v & 0x7fff, v >> 15);
                [lo, hi, lo + hi]
            })
            .filter(|c| c.count_ones() <= 1)
            .count()
    }

    /// The integer model of stages 2-6 for `x = a b < q^2`: Barrett's `r = x - q3 q`, in
    /// `[0, 4q)`, before the two conditional subtractions (for choosing test vectors that
    /// take both).
    pub fn barrett_remainder(q: Prime, x: u64) -> u64 {
        let qv = q.value();
        assert!(x < qv * qv, "x = {x} is not below q^2");
        let (b, mu) = barrett_constants(qv);
        let q1 = x >> b;
        let q3 = q1 + ((q1 * mu) >> b);
        x.checked_sub(q3 * qv)
            .unwrap_or_else(|| panic!("q = {qv}, x = {x}: quotient {q3} overestimated"))
    }

    /// The lane for prime `q`.
    pub fn new(q: Prime) -> Self {
        let qv = q.value();
        let (bits, mu) = barrett_constants(qv);
        let limbs = |v: u64| (v & 0x7fff, v >> 15);
        let (q_lo, q_hi) = limbs(qv);
        let (mu_lo, mu_hi) = limbs(mu);
        let c16 = |v: u64| Constant::new(v.to_bits());
        EwLane {
            clock: Signal::default(),
            op: Signal::default(),
            a: Signal::default(),
            b: Signal::default(),
            c: Signal::default(),
            y: Signal::default(),
            fadd: <ModAdd>::new(q),
            fsub: <ModSub>::new(q),
            q: Constant::new(qv.to_bits()),
            q2: Constant::new((2 * qv).to_bits()),
            q_lo: c16(q_lo),
            q_hi: c16(q_hi),
            q_sum: c16(q_lo + q_hi),
            mu_lo: c16(mu_lo),
            mu_hi: c16(mu_hi),
            mu_sum: c16(mu_lo + mu_hi),
            shift_b: Constant::new(bits.to_bits()),
            shift_hi: Constant::new((30 - bits).to_bits()),
            zero: Constant::new(0u32.to_bits()),
            op_sub: Constant::new(lane_op::SUB.to_bits()),
            op_mul: Constant::new(lane_op::MUL.to_bits()),
            op_mac: Constant::new(lane_op::MAC.to_bits()),
            mask15: Constant::new(0x7fffu32.to_bits()),
            mask15w: Constant::new(0x7fffu32.to_bits()),
            mask30: Constant::new(0x3fff_ffffu32.to_bits()),
            a_lo: Signal::default(),
            a_hi: Signal::default(),
            a_sum: Signal::default(),
            b_lo: Signal::default(),
            b_hi: Signal::default(),
            b_sum: Signal::default(),
            x_mid: Signal::default(),
            x_low: Signal::default(),
            x_lo: Signal::default(),
            x_hi: Signal::default(),
            q1_lo: Signal::default(),
            q1_hi: Signal::default(),
            q1_sum: Signal::default(),
            m_mid: Signal::default(),
            m_low: Signal::default(),
            m_lo: Signal::default(),
            m_hi: Signal::default(),
            q3_lo: Signal::default(),
            q3_hi: Signal::default(),
            q3_sum: Signal::default(),
            n_mid: Signal::default(),
            n_low: Signal::default(),
            u_in: Signal::default(),
            p_lo: DFF::default(),
            p_hi: DFF::default(),
            p_sum: DFF::default(),
            q1: DFF::default(),
            x2: DFF::default(),
            pm_lo: DFF::default(),
            pm_hi: DFF::default(),
            pm_sum: DFF::default(),
            q1_3: DFF::default(),
            x3: DFF::default(),
            q3: DFF::default(),
            x4: DFF::default(),
            pn_lo: DFF::default(),
            pn_hi: DFF::default(),
            pn_sum: DFF::default(),
            x5: DFF::default(),
            r6: DFF::default(),
            r7: DFF::default(),
            prod: DFF::default(),
            u1: DFF::default(),
            u2: DFF::default(),
            u3: DFF::default(),
            u4: DFF::default(),
            u5: DFF::default(),
            u6: DFF::default(),
            u7: DFF::default(),
            u8: DFF::default(),
            v1: DFF::default(),
            v2: DFF::default(),
            v3: DFF::default(),
            v4: DFF::default(),
            v5: DFF::default(),
            v6: DFF::default(),
            v7: DFF::default(),
            v8: DFF::default(),
            o1: DFF::default(),
            o2: DFF::default(),
            o3: DFF::default(),
            o4: DFF::default(),
            o5: DFF::default(),
            o6: DFF::default(),
            o7: DFF::default(),
            o8: DFF::default(),
            o9: DFF::default(),
        }
    }
}

impl Logic for EwLane {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, p_lo, p_hi, p_sum, q1, x2, pm_lo, pm_hi, pm_sum, q1_3, x3, q3, x4, pn_lo,
            pn_hi, pn_sum, x5, r6, r7, prod, u1, u2, u3, u4, u5, u6, u7, u8, v1, v2, v3, v4, v5,
            v6, v7, v8, o1, o2, o3, o4, o5, o6, o7, o8, o9
        );
        self.fadd.clock.next = self.clock.val();
        self.fsub.clock.next = self.clock.val();
        // Stage 1: 15-bit limbs, Karatsuba limb products of a b.
        self.a_lo.next = self.a.val().get_bits::<16>(0) & self.mask15.val();
        self.a_hi.next = self.a.val().get_bits::<16>(15) & self.mask15.val();
        self.a_sum.next = self.a_lo.val() + self.a_hi.val();
        self.b_lo.next = self.b.val().get_bits::<16>(0) & self.mask15.val();
        self.b_hi.next = self.b.val().get_bits::<16>(15) & self.mask15.val();
        self.b_sum.next = self.b_lo.val() + self.b_hi.val();
        self.p_lo.d.next = self.a_lo.val() * self.b_lo.val();
        self.p_hi.d.next = self.a_hi.val() * self.b_hi.val();
        self.p_sum.d.next = self.a_sum.val() * self.b_sum.val();
        // The operands of the final add/subtract travel beside the product.
        if self.op.val() == self.op_mac.val() {
            self.u_in.next = self.c.val();
        } else {
            self.u_in.next = self.a.val();
        }
        self.u1.d.next = self.u_in.val();
        self.u2.d.next = self.u1.q.val();
        self.u3.d.next = self.u2.q.val();
        self.u4.d.next = self.u3.q.val();
        self.u5.d.next = self.u4.q.val();
        self.u6.d.next = self.u5.q.val();
        self.u7.d.next = self.u6.q.val();
        self.u8.d.next = self.u7.q.val();
        self.v1.d.next = self.b.val();
        self.v2.d.next = self.v1.q.val();
        self.v3.d.next = self.v2.q.val();
        self.v4.d.next = self.v3.q.val();
        self.v5.d.next = self.v4.q.val();
        self.v6.d.next = self.v5.q.val();
        self.v7.d.next = self.v6.q.val();
        self.v8.d.next = self.v7.q.val();
        self.o1.d.next = self.op.val();
        self.o2.d.next = self.o1.q.val();
        self.o3.d.next = self.o2.q.val();
        self.o4.d.next = self.o3.q.val();
        self.o5.d.next = self.o4.q.val();
        self.o6.d.next = self.o5.q.val();
        self.o7.d.next = self.o6.q.val();
        self.o8.d.next = self.o7.q.val();
        self.o9.d.next = self.o8.q.val();
        // Stage 2: x = a b = x_hi 2^30 + x_lo (x_mid = a0 b1 + a1 b0 < 2^31, x_low < 2^31,
        // x_hi < 2^30); q1 = floor(x / 2^b) < q (x_hi < 2^(2b-30) when b > 15, else 0) and
        // x mod 2^32.
        self.x_mid.next = (self.p_sum.q.val() - self.p_lo.q.val()) - self.p_hi.q.val();
        self.x_low.next = self.p_lo.q.val() + ((self.x_mid.val() & self.mask15w.val()) << 15);
        self.x_lo.next = self.x_low.val() & self.mask30.val();
        self.x_hi.next = (self.p_hi.q.val() + (self.x_mid.val() >> 15)) + (self.x_low.val() >> 30);
        self.q1.d.next =
            (self.x_hi.val() << self.shift_hi.val()) + (self.x_lo.val() >> self.shift_b.val());
        self.x2.d.next = self.x_lo.val() + (self.x_hi.val() << 30);
        // Stage 3: limb products of q1 mu' (constant limbs).
        self.q1_lo.next = self.q1.q.val().get_bits::<16>(0) & self.mask15.val();
        self.q1_hi.next = self.q1.q.val().get_bits::<16>(15) & self.mask15.val();
        self.q1_sum.next = self.q1_lo.val() + self.q1_hi.val();
        self.pm_lo.d.next = self.q1_lo.val() * self.mu_lo.val();
        self.pm_hi.d.next = self.q1_hi.val() * self.mu_hi.val();
        self.pm_sum.d.next = self.q1_sum.val() * self.mu_sum.val();
        self.q1_3.d.next = self.q1.q.val();
        self.x3.d.next = self.x2.q.val();
        // Stage 4: q1 mu' = m_hi 2^30 + m_lo; q3 = q1 + floor(q1 mu' / 2^b) < q.
        self.m_mid.next = (self.pm_sum.q.val() - self.pm_lo.q.val()) - self.pm_hi.q.val();
        self.m_low.next = self.pm_lo.q.val() + ((self.m_mid.val() & self.mask15w.val()) << 15);
        self.m_lo.next = self.m_low.val() & self.mask30.val();
        self.m_hi.next = (self.pm_hi.q.val() + (self.m_mid.val() >> 15)) + (self.m_low.val() >> 30);
        self.q3.d.next = (self.q1_3.q.val() + (self.m_hi.val() << self.shift_hi.val()))
            + (self.m_lo.val() >> self.shift_b.val());
        self.x4.d.next = self.x3.q.val();
        // Stage 5: limb products of q3 q (constant limbs).
        self.q3_lo.next = self.q3.q.val().get_bits::<16>(0) & self.mask15.val();
        self.q3_hi.next = self.q3.q.val().get_bits::<16>(15) & self.mask15.val();
        self.q3_sum.next = self.q3_lo.val() + self.q3_hi.val();
        self.pn_lo.d.next = self.q3_lo.val() * self.q_lo.val();
        self.pn_hi.d.next = self.q3_hi.val() * self.q_hi.val();
        self.pn_sum.d.next = self.q3_sum.val() * self.q_sum.val();
        self.x5.d.next = self.x4.q.val();
        // Stage 6: r = x - q3 q in [0, 4q), from both modulo 2^32 (4q < 2^32).
        self.n_mid.next = (self.pn_sum.q.val() - self.pn_lo.q.val()) - self.pn_hi.q.val();
        self.n_low.next =
            (self.pn_lo.q.val() + (self.n_mid.val() << 15)) + (self.pn_hi.q.val() << 30);
        self.r6.d.next = self.x5.q.val() - self.n_low.val();
        // Stages 7-8: r mod q.
        if self.r6.q.val() >= self.q2.val() {
            self.r7.d.next = self.r6.q.val() - self.q2.val();
        } else {
            self.r7.d.next = self.r6.q.val();
        }
        if self.r7.q.val() >= self.q.val() {
            self.prod.d.next = self.r7.q.val() - self.q.val();
        } else {
            self.prod.d.next = self.r7.q.val();
        }
        // Stage 9: add (a + b, p + 0, c + p) or subtract (a - b).
        self.fsub.a.next = self.u8.q.val();
        self.fsub.b.next = self.v8.q.val();
        if self.o8.q.val() == self.op_mul.val() {
            self.fadd.a.next = self.prod.q.val();
            self.fadd.b.next = self.zero.val();
        } else if self.o8.q.val() == self.op_mac.val() {
            self.fadd.a.next = self.u8.q.val();
            self.fadd.b.next = self.prod.q.val();
        } else {
            self.fadd.a.next = self.u8.q.val();
            self.fadd.b.next = self.v8.q.val();
        }
        if self.o9.q.val() == self.op_sub.val() {
            self.y.next = self.fsub.y.val();
        } else {
            self.y.next = self.fadd.y.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EwLane;
    use crate::params::Prime;

    /// `r = x - q3 q` lies in `[0, 4q)` and is `x mod q` plus a multiple of `q` (an
    /// overestimated quotient panics): every product of every prime below 2^10 (`r >= 3q`
    /// occurs, e.g. for 263, 521), and 100,000 products spread over `[0, q^2)` plus the largest,
    /// `(q - 1)^2`, of 30-bit primes (the largest 1 mod 2^15 and 1 mod 2^11, the smallest, one
    /// near 2^29) and 12289.
    #[test]
    fn barrett_remainder_is_below_4q() {
        let mut above_3q = 0;
        for q in (3u64..1 << 10).filter(|&q| heaccel_verification::arith::is_prime(q)) {
            let p = Prime::new(q).unwrap();
            for x in 0..q * q {
                let r = EwLane::barrett_remainder(p, x);
                assert!(r < 4 * q && r % q == x % q, "q = {q}, x = {x}: r = {r}");
                above_3q += usize::from(r >= 3 * q);
            }
        }
        assert!(above_3q > 0, "no remainder of the last quarter");
        for q in [
            1_073_643_521u64,
            1_073_707_009,
            (1 << 29) + 11,
            536_903_681,
            12_289,
        ] {
            let p = Prime::new(q).unwrap();
            for x in (0..q * q)
                .step_by((q * q / 100_003) as usize + 1)
                .chain([(q - 1) * (q - 1)])
            {
                let r = EwLane::barrett_remainder(p, x);
                assert!(r < 4 * q && r % q == x % q, "q = {q}, x = {x}: r = {r}");
            }
        }
    }
}
