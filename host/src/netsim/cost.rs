//! Per-operation costing: single CKKS operations lowered at their level and simulated alone,
//! cached per `(kind, level)`.

use std::collections::HashMap;

use heaccel_sim::{HwConfig, Program, Unit};
use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::ckks::Parameters;

use super::Result;
use crate::lowering;
use crate::pack::TallyKind;

/// A simulated program's time and the unit that bounds it.
#[derive(Debug, Clone, Copy)]
struct Timed {
    /// Microseconds.
    us: f64,
    /// The bounding unit.
    bound: Unit,
}

/// The cost of one operation kind at one level, as cached.
#[derive(Debug, Clone, Copy)]
enum Cost {
    /// A non-rotation operation: its one program.
    Single(Timed),
    /// A group of hoisted rotations: the one-rotation program and the two-rotation one (twice
    /// the one when the two-rotation program does not fit the scratchpad).
    Rotations {
        /// One rotation.
        one: Timed,
        /// Two hoisted rotations.
        two: Timed,
    },
}

impl Cost {
    /// The one-operation program's time (a rotation group's first rotation).
    fn first(self) -> Timed {
        match self {
            Cost::Single(t) | Cost::Rotations { one: t, .. } => t,
        }
    }
}

/// Simulated time of single CKKS operations at given levels (see the module docs).
#[derive(Debug)]
pub struct OpCoster {
    params: Parameters,
    config: HwConfig,
    /// The cost of one operation (and of two, for rotations) at a level.
    cache: HashMap<CostKey, Cost>,
}

/// What [`OpCoster`] simulates once per level: a rotation group of any size is costed from
/// the programs of one and two rotations, so all counts share one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum CostKey {
    /// Rotation groups at a level.
    Rotations {
        /// Operand level.
        level: usize,
    },
    /// One operation of another kind at a level.
    Single {
        /// The operation (never [`TallyKind::Rotations`]).
        kind: TallyKind,
        /// Operand level.
        level: usize,
    },
}

impl CostKey {
    fn new(kind: TallyKind, level: usize) -> Self {
        match kind {
            TallyKind::Rotations { .. } => CostKey::Rotations { level },
            kind => CostKey::Single { kind, level },
        }
    }
}

impl OpCoster {
    /// A coster for `params` on `config`.
    pub fn new(params: Parameters, config: HwConfig) -> Self {
        OpCoster {
            params,
            config,
            cache: HashMap::new(),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    fn fits(&self, program: &Program) -> bool {
        program.slots as u64 * program.n() as u64 * self.config.word_bytes()
            <= self.config.scratchpad.bytes
    }

    fn time(&self, program: &Program) -> Result<Timed> {
        let report = heaccel_sim::simulate(program, &self.config)?;
        Ok(Timed {
            us: report.time_us,
            bound: report.bound,
        })
    }

    /// Simulated microseconds of one `kind` operation whose operands are at `level`
    /// (`level <= L`; `>= 1` for a rescale).
    pub fn time_us(&mut self, kind: TallyKind, level: usize) -> Result<f64> {
        Ok(match (kind, self.entry(kind, level)?) {
            (TallyKind::Rotations { count }, Cost::Rotations { one, two }) => {
                one.us + count.saturating_sub(1) as f64 * (two.us - one.us)
            }
            (_, cost) => cost.first().us,
        })
    }

    /// [`OpCoster::time_us`] split by the unit that bounds each simulated program: a
    /// rotation group's first rotation by the one-rotation program's bound, each further one
    /// (`t(2) - t(1)`) by the two-rotation program's.
    pub fn time_by_bound(&mut self, kind: TallyKind, level: usize) -> Result<Vec<(Unit, f64)>> {
        Ok(match (kind, self.entry(kind, level)?) {
            (TallyKind::Rotations { count }, Cost::Rotations { one, two }) if count > 1 => {
                vec![
                    (one.bound, one.us),
                    (two.bound, (count - 1) as f64 * (two.us - one.us)),
                ]
            }
            (_, cost) => {
                let t = cost.first();
                vec![(t.bound, t.us)]
            }
        })
    }

    fn entry(&mut self, kind: TallyKind, level: usize) -> Result<Cost> {
        let key = CostKey::new(kind, level);
        Ok(match self.cache.get(&key) {
            Some(&t) => t,
            None => {
                let p = &self.params;
                let scale = p.default_scale();
                let single = |program: &Program| self.time(program).map(Cost::Single);
                let t = match kind {
                    TallyKind::Rotations { .. } => {
                        let g1 = galois_element_for_rotation(1, p.log_n());
                        let g2 = galois_element_for_rotation(2, p.log_n());
                        let one = self.time(&lowering::lower_automorphisms(p, level, &[g1])?)?;
                        let two = lowering::lower_automorphisms(p, level, &[g1, g2])?;
                        let two = if self.fits(&two) {
                            self.time(&two)?
                        } else {
                            // no room for two keys' accumulators: no hoisting benefit
                            Timed {
                                us: 2.0 * one.us,
                                bound: one.bound,
                            }
                        };
                        Cost::Rotations { one, two }
                    }
                    TallyKind::PMult => single(&lowering::lower_pmult(p, level)?)?,
                    TallyKind::AddPlain => single(&lowering::lower_add_plain(p, level)?)?,
                    TallyKind::Add => single(&lowering::lower_add(p, level)?)?,
                    TallyKind::MulRelin => single(&lowering::lower_hmult_relin(p, level)?)?,
                    TallyKind::Rescale => single(&lowering::lower_rescale(p, level)?)?,
                    TallyKind::AddConst => {
                        single(&lowering::lower_add_const(p, level, 1.0, scale)?)?
                    }
                    TallyKind::MulConst => {
                        single(&lowering::lower_mul_const(p, level, 1.0, scale)?)?
                    }
                };
                self.cache.insert(key, t);
                t
            }
        })
    }
}
