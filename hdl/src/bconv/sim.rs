//! [`BconvSim`]: a started [`BconvUnit`] driven through its ports under hand-stepped rust-hdl
//! simulation.

use rust_hdl::prelude::*;

use crate::params::HdlError;

use super::bundle::gap_after;
use super::{BconvConstants, BconvUnit};

/// A started [`BconvUnit`] under hand-stepped rust-hdl simulation.
#[derive(Debug)]
pub struct BconvSim<const W: usize = 32> {
    /// The simulated unit.
    pub unit: BconvUnit<W>,
}

impl<const W: usize> BconvSim<W> {
    /// Builds and starts the unit (see [`BconvUnit::new`]).
    pub fn new(c: &BconvConstants) -> Result<Self, HdlError> {
        let mut unit = BconvUnit::new(c)?;
        crate::rtlsim::start(&mut unit);
        Ok(BconvSim { unit })
    }

    fn cycle(&mut self) {
        crate::rtlsim::cycle(&mut self.unit, |u| &mut u.clock);
    }

    /// Streams `coeffs` (`coeffs[c]` the `K` residues of coefficient `c`, `coeffs[c][i]` in
    /// `[0, q_i)`) through the ports, one residue per cycle, with one idle cycle after every
    /// third coefficient when `gaps`; returns the conversions (`out[c][j]` mod `b_j`) and the
    /// cycles from the first edge to the one after which the last conversion was shown.
    /// Panics if an output appears at another cycle than [`BconvUnit::latency`] edges after
    /// its coefficient's last residue, or is missing or extra (a bug of the unit).
    pub fn convert(&mut self, coeffs: &[Vec<u64>], gaps: bool) -> (Vec<Vec<u64>>, usize) {
        let (k, l, latency) = (
            self.unit.from_count(),
            self.unit.to_count(),
            self.unit.latency(),
        );
        let mut due = Vec::with_capacity(coeffs.len());
        let mut out = Vec::with_capacity(coeffs.len());
        let (mut r_in, mut i_in, mut gap) = (0, 0, false);
        let mut cyc = 0;
        let limit = coeffs.len() * (k + 1) + latency + 4;
        while out.len() < coeffs.len() {
            assert!(cyc < limit, "bconv unit did not show every coefficient");
            if r_in < coeffs.len() && !gap {
                assert_eq!(coeffs[r_in].len(), k, "coefficient of the wrong length");
                self.unit.in_valid.next = true;
                self.unit.x.next = coeffs[r_in][i_in].to_bits();
                if i_in == k - 1 {
                    due.push(cyc + latency - 1);
                    gap = gaps && gap_after(r_in);
                    i_in = 0;
                    r_in += 1;
                } else {
                    i_in += 1;
                }
            } else {
                self.unit.in_valid.next = false;
                self.unit.x.next = 0u64.to_bits();
                gap = false;
            }
            self.cycle();
            if self.unit.out_valid.val() {
                let r = out.len();
                assert_eq!(
                    due.get(r),
                    Some(&cyc),
                    "coefficient {r} shown at cycle {cyc}"
                );
                out.push((0..l).map(|j| self.unit.out[j].val().to_u64()).collect());
            }
            cyc += 1;
        }
        // Drain: nothing more may appear.
        self.unit.in_valid.next = false;
        for _ in 0..latency {
            self.cycle();
            assert!(!self.unit.out_valid.val(), "an extra output");
        }
        (out, cyc)
    }
}
