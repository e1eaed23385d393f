//! One butterfly lane of the NTT unit ([`NttLane`]), a `#[hdl_gen]` block.

use rust_hdl::prelude::*;

use crate::modarith::{ModAdd, ModMul, ModSub};
use crate::params::Prime;

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
