//! One element-wise lane of the core: `a + b`, `a - b`, `a * b` or `c + a * b` modulo a
//! baked-in prime `q < 2^30`, one result per cycle, [`EwLane::LATENCY`] cycles.
//!
//! The product of two variable operands cannot use the Shoup multiplier directly (it needs
//! a precomputed constant of one operand), so the lane splits the exact 60-bit product
//! `x = a b = hi 2^30 + lo` (`hi, lo < 2^30`, from three 16x16 Karatsuba limb products) and
//! reduces `x = hi (2^30 mod q) + lo (mod q)` with two Shoup multipliers by constants
//! (`2^30 mod q` and `1`) and a modular adder: 3 + 9 + 9 = 21 16x16 partial products.

use rust_hdl::prelude::*;

use crate::modarith::{ModAdd, ModMul, ModSub};
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
    mul_hi: ModMul,
    mul_lo: ModMul,
    padd: ModAdd,
    fadd: ModAdd,
    fsub: ModSub,
    fold: Constant<Bits<32>>,
    fold_shoup: Constant<Bits<32>>,
    one: Constant<Bits<32>>,
    one_shoup: Constant<Bits<32>>,
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
    mid: Signal<Local, Bits<32>>,
    low: Signal<Local, Bits<32>>,
    u_in: Signal<Local, Bits<32>>,
    p_lo: DFF<Bits<32>>,
    p_hi: DFF<Bits<32>>,
    p_sum: DFF<Bits<32>>,
    x_hi: DFF<Bits<32>>,
    x_lo: DFF<Bits<32>>,
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
const _: () = assert!(<ModMul>::LATENCY == 5 && <ModAdd>::LATENCY == 1 && <ModSub>::LATENCY == 1);

impl EwLane {
    /// Pipeline latency in cycles: limb products (1), `hi`/`lo` split (1), Shoup
    /// multipliers (5), their sum (1), the final add/subtract (1).
    pub const LATENCY: usize = 2 + <ModMul>::LATENCY + 2 * <ModAdd>::LATENCY;
    /// 16x16 partial products (DSP slices) per lane.
    pub const PARTIAL_PRODUCTS: usize = 3 + 2 * <ModMul>::PARTIAL_PRODUCTS;

    /// The lane for prime `q`.
    pub fn new(q: Prime) -> Self {
        let qv = q.value();
        let fold = (1u64 << 30) % qv;
        EwLane {
            clock: Signal::default(),
            op: Signal::default(),
            a: Signal::default(),
            b: Signal::default(),
            c: Signal::default(),
            y: Signal::default(),
            mul_hi: <ModMul>::new(q),
            mul_lo: <ModMul>::new(q),
            padd: <ModAdd>::new(q),
            fadd: <ModAdd>::new(q),
            fsub: <ModSub>::new(q),
            fold: Constant::new((fold as u32).to_bits()),
            fold_shoup: Constant::new((q.shoup30(fold) as u32).to_bits()),
            one: Constant::new(1u32.to_bits()),
            one_shoup: Constant::new((q.shoup30(1) as u32).to_bits()),
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
            mid: Signal::default(),
            low: Signal::default(),
            u_in: Signal::default(),
            p_lo: DFF::default(),
            p_hi: DFF::default(),
            p_sum: DFF::default(),
            x_hi: DFF::default(),
            x_lo: DFF::default(),
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
            self, clock, p_lo, p_hi, p_sum, x_hi, x_lo, u1, u2, u3, u4, u5, u6, u7, u8, v1, v2, v3,
            v4, v5, v6, v7, v8, o1, o2, o3, o4, o5, o6, o7, o8, o9
        );
        self.mul_hi.clock.next = self.clock.val();
        self.mul_lo.clock.next = self.clock.val();
        self.padd.clock.next = self.clock.val();
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
        // Stage 2: a b = hi 2^30 + lo. mid = a0 b1 + a1 b0 < 2^31; low < 2^31.
        self.mid.next = (self.p_sum.q.val() - self.p_lo.q.val()) - self.p_hi.q.val();
        self.low.next = self.p_lo.q.val() + ((self.mid.val() & self.mask15w.val()) << 15);
        self.x_lo.d.next = self.low.val() & self.mask30.val();
        self.x_hi.d.next = (self.p_hi.q.val() + (self.mid.val() >> 15)) + (self.low.val() >> 30);
        // Stages 3-7: hi (2^30 mod q) and lo mod q.
        self.mul_hi.a.next = self.x_hi.q.val();
        self.mul_hi.w.next = self.fold.val();
        self.mul_hi.w_shoup.next = self.fold_shoup.val();
        self.mul_lo.a.next = self.x_lo.q.val();
        self.mul_lo.w.next = self.one.val();
        self.mul_lo.w_shoup.next = self.one_shoup.val();
        // Stage 8: the product mod q.
        self.padd.a.next = self.mul_hi.y.val();
        self.padd.b.next = self.mul_lo.y.val();
        // Stage 9: add (a + b, p + 0, c + p) or subtract (a - b).
        self.fsub.a.next = self.u8.q.val();
        self.fsub.b.next = self.v8.q.val();
        if self.o8.q.val() == self.op_mul.val() {
            self.fadd.a.next = self.padd.y.val();
            self.fadd.b.next = self.zero.val();
        } else if self.o8.q.val() == self.op_mac.val() {
            self.fadd.a.next = self.u8.q.val();
            self.fadd.b.next = self.padd.y.val();
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
