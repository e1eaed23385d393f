//! [`NttSim`]: a started [`NttUnit`] driven through its ports under hand-stepped rust-hdl
//! simulation.

use rust_hdl::prelude::*;

use crate::params::{HdlError, Prime};

use super::{NttGeometry, NttUnit};

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
        crate::rtlsim::start(&mut unit);
        Ok(NttSim { unit })
    }

    fn cycle(&mut self) {
        crate::rtlsim::cycle(&mut self.unit, |u| &mut u.clock);
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
