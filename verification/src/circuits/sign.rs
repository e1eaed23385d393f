//! Precise ReLU and max-pooling on CKKS from a composite minimax `sign` approximation.
//!
//! Everything works in the *normalized domain*: activations divided by the bound `B` (chosen
//! from the data; [`first_out_of_range`] reports the first value beyond it). ReLU and max are
//! positively homogeneous, so `ReLU(x) / B = ReLU(x / B)` and the network's `1 / B` and `B`
//! fold into the neighbouring linear layers for free; [`MinimaxActivation::normalize`] spends
//! one level instead when they are not folded.
//!
//! - `sign(t)` for `|t| <= 1`: the stages of a [`CompositeSign`], each a Chebyshev series in
//!   `y / b_k` (`b_k` the upper end of stage `k`'s interval), with `1 / b_{k+1}` folded into
//!   stage `k`'s coefficients, so no level is spent between stages.
//! - `ReLU(t) = t (1 + sign(t)) / 2` for `|t| <= 1`: the sign's depth + 1.
//! - `max(a, b) = (a + b) / 2 + (a - b) sign(a - b) / 2` for `|a|, |b| <= 1/2`: the sign's
//!   depth + 1; the result stays in `[-1/2, 1/2]` (up to the error), so trees of max compose.
//! - Max-pooling `k x k` (k = 2, 3) over a row-major `H x W` map in the slots: a tree of `max`
//!   over slot rotations (by `1, 2` within rows, `W, 2W` across rows); every slot receives the
//!   max of the window whose top-left corner it is.
//!
//! Errors, with `e` the composite's error on `[eps, 1]` and before CKKS noise: ReLU within
//! `max(e, eps) / 2` of `ReLU(t)` ([`relu_error_bound`]); max within `max(e, eps) / 2` of the
//! max ([`max_error_bound`]); in the original units both are multiplied by the normalizing
//! bound (`B` for ReLU, `2B` for max of values in `[-B, B]`).

use crate::ckks::{Ciphertext, CkksOps, Evaluator};
use crate::minimax::CompositeSign;
use crate::{Error, Result};

use super::polynomial::{
    align, evaluate_polynomial, mul_const_landing, CircuitCounts, PolynomialPlan,
};

/// `c * sign(x) + d` as a CKKS circuit: the plans of the stages of a composite approximation.
#[derive(Clone, Debug)]
pub struct SignCircuit {
    stages: Vec<(Vec<f64>, PolynomialPlan)>,
    depth: u32,
}

impl SignCircuit {
    /// The circuit of `out_scale * p(x) + out_offset`, `p` the composite, for inputs in `[-1, 1]`.
    pub fn new(composite: &CompositeSign, out_scale: f64, out_offset: f64) -> Result<Self> {
        let stages = composite.stages();
        let mut out = Vec::with_capacity(stages.len());
        for (k, stage) in stages.iter().enumerate() {
            let next_bound = if k + 1 < stages.len() {
                composite.stage_bound(k + 1)
            } else {
                1.0
            };
            let (mul, add) = if k + 1 == stages.len() {
                (out_scale, out_offset)
            } else {
                (1.0 / next_bound, 0.0)
            };
            let mut coeffs: Vec<f64> = stage
                .chebyshev_coefficients()
                .iter()
                .map(|c| c * mul)
                .collect();
            coeffs[0] += add;
            let plan = PolynomialPlan::new(&coeffs)?;
            out.push((coeffs, plan));
        }
        let depth = out.iter().map(|(_, p)| p.depth()).sum();
        Ok(SignCircuit { stages: out, depth })
    }

    /// Levels consumed.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Planned operation counts of all stages.
    pub fn counts(&self) -> CircuitCounts {
        let mut c = CircuitCounts::default();
        for (_, plan) in &self.stages {
            c.then(&plan.counts());
        }
        c
    }

    /// The circuit in `f64` on a plaintext `t` in `[-1, 1]` (the twin of [`Self::evaluate`]).
    pub fn eval_plain(&self, t: f64) -> f64 {
        self.stages.iter().fold(t, |y, (coeffs, _)| {
            super::polynomial::chebyshev_eval(coeffs, y)
        })
    }

    /// Evaluates the circuit on `t` (messages in `[-1, 1]`); the result is at scale
    /// `out_scale`, `depth()` levels lower.
    pub fn evaluate<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        t: &Ciphertext,
        out_scale: f64,
    ) -> std::result::Result<(Ciphertext, CircuitCounts), B::Error> {
        let mut counts = CircuitCounts::default();
        let mut y = t.clone();
        for (_, plan) in &self.stages {
            let (next, run) = evaluate_polynomial(eval, &y, plan, out_scale)?;
            counts.then(&run.performed);
            counts.const_mults += run.alignments.const_mults;
            counts.rescales += run.alignments.rescales;
            y = next;
        }
        Ok((y, counts))
    }
}

/// The normalized ReLU error promised before CKKS noise: `max(e, eps) / 2` for `|t| <= 1`
/// (`|t| (1 - p(t)) / 2` with `p` within `e` of 1 above `eps` and in `[0, 1]` below it).
pub fn relu_error_bound(composite: &CompositeSign) -> f64 {
    composite.max_error().max(composite.eps()) / 2.0
}

/// The normalized max error promised before CKKS noise: `max(e, eps) / 2` for
/// `|a|, |b| <= 1/2`.
pub fn max_error_bound(composite: &CompositeSign) -> f64 {
    composite.max_error().max(composite.eps()) / 2.0
}

/// Index and value of the first entry with `|x| > bound` or not finite (the plaintext
/// checker's report of an activation that leaves the approximation's range), or `None`.
pub fn first_out_of_range(values: &[f64], bound: f64) -> Option<(usize, f64)> {
    values
        .iter()
        .position(|v| v.abs() > bound || !v.is_finite())
        .map(|i| (i, values[i]))
}

/// Precise ReLU, max and max-pooling from one composite sign approximation, in the
/// normalized domain (see the module documentation).
#[derive(Clone, Debug)]
pub struct MinimaxActivation {
    composite: CompositeSign,
    half_step: SignCircuit,
    half_sign: SignCircuit,
}

impl MinimaxActivation {
    /// The circuits of `composite`.
    pub fn new(composite: CompositeSign) -> Result<Self> {
        let half_step = SignCircuit::new(&composite, 0.5, 0.5)?;
        let half_sign = SignCircuit::new(&composite, 0.5, 0.0)?;
        Ok(MinimaxActivation {
            composite,
            half_step,
            half_sign,
        })
    }

    /// The composite.
    pub fn composite(&self) -> &CompositeSign {
        &self.composite
    }

    /// Levels one ReLU consumes: the sign's depth + 1.
    pub fn relu_depth(&self) -> u32 {
        self.half_step.depth() + 1
    }

    /// Levels one max consumes: the sign's depth + 1.
    pub fn max_depth(&self) -> u32 {
        self.half_sign.depth() + 1
    }

    /// Planned counts of one ReLU (the sign's, plus the final product).
    pub fn relu_counts(&self) -> CircuitCounts {
        let mut c = self.half_step.counts();
        c.ct_mults += 1;
        c.rescales += 1;
        c.depth += 1;
        c
    }

    /// Planned counts of one max (the sign's, plus the difference, the product, aligning the
    /// half sum and the final sum).
    pub fn max_counts(&self) -> CircuitCounts {
        let mut c = self.half_sign.counts();
        c.additions += 3;
        c.ct_mults += 1;
        c.rescales += 2;
        c.const_mults += 1;
        c.depth += 1;
        c
    }

    /// The approximate ReLU in `f64` (the plaintext twin of [`Self::relu`]).
    pub fn relu_plain(&self, t: f64) -> f64 {
        t * self.half_step.eval_plain(t)
    }

    /// The approximate max in `f64` (the plaintext twin of [`Self::max`]).
    pub fn max_plain(&self, a: f64, b: f64) -> f64 {
        let d = a - b;
        (a + b) / 2.0 + d * self.half_sign.eval_plain(d)
    }

    /// `x / bound` at the parameters' default scale, one level down (for inputs whose `1 / B`
    /// is not folded into the previous layer).
    pub fn normalize(
        &self,
        eval: &Evaluator,
        x: &Ciphertext,
        bound: f64,
    ) -> Result<(Ciphertext, CircuitCounts)> {
        if !(bound.is_finite() && bound > 0.0) || x.level() == 0 {
            return Err(Error::InvalidParameter {
                field: "bound".into(),
                reason: format!(
                    "{bound} at level {}: expected a finite positive bound and a level >= 1",
                    x.level()
                ),
            });
        }
        let target = eval.params().default_scale();
        let out = mul_const_landing(eval, x, 1.0 / bound, x.level() - 1, target)?;
        let counts = CircuitCounts {
            const_mults: 1,
            rescales: 1,
            depth: 1,
            ..CircuitCounts::default()
        };
        Ok((out, counts))
    }

    /// `ReLU(t)` slot-wise for `|t| <= 1`; `relu_depth()` levels below `t`.
    pub fn relu<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        t: &Ciphertext,
    ) -> std::result::Result<(Ciphertext, CircuitCounts), B::Error> {
        let scale = eval.params().default_scale();
        let (h, mut counts) = self.half_step.evaluate(eval, t, scale)?;
        let t_low = eval.drop_level(t, h.level())?;
        let out = eval.rescale(&eval.mul_relin(&t_low, &h)?)?;
        counts.ct_mults += 1;
        counts.rescales += 1;
        counts.depth += 1;
        Ok((out, counts))
    }

    /// `multiplier * ReLU(t)` slot-wise for `|t| <= 1`, at the depth of [`Self::relu`] and at
    /// the parameters' default scale (where [`Self::relu`] leaves `t.scale * Delta / q`): the
    /// multiplier lands on `t`'s branch, which has levels to spare while the sign is evaluated
    /// (one constant product and rescale there, none on the critical path), at the scale the
    /// final rescale divides away. Lets a network change its activations' normalizing bound
    /// from one ReLU to the next without spending a level, and keeps every ReLU's output at one
    /// scale, so outputs of different branches add.
    pub fn relu_scaled<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        t: &Ciphertext,
        multiplier: f64,
    ) -> std::result::Result<(Ciphertext, CircuitCounts), B::Error> {
        if !(multiplier.is_finite() && multiplier != 0.0) {
            return Err(Error::InvalidParameter {
                field: "multiplier".into(),
                reason: format!("{multiplier}: expected a finite nonzero number"),
            }
            .into());
        }
        let scale = eval.params().default_scale();
        let (h, mut counts) = self.half_step.evaluate(eval, t, scale)?;
        let q = eval.params().q_tables()[h.level()].modulus().value() as f64;
        let t_low = mul_const_landing(eval, t, multiplier, h.level(), q * scale / h.scale)?;
        let out = eval.rescale(&eval.mul_relin(&t_low, &h)?)?;
        counts.const_mults += 1;
        counts.ct_mults += 1;
        counts.rescales += 2;
        counts.depth += 1;
        Ok((out, counts))
    }

    /// `max(a, b)` slot-wise for `|a|, |b| <= 1/2` (same level and scale); `max_depth()`
    /// levels below them.
    pub fn max<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        a: &Ciphertext,
        b: &Ciphertext,
    ) -> std::result::Result<(Ciphertext, CircuitCounts), B::Error> {
        let scale = eval.params().default_scale();
        let diff = eval.sub(a, b)?;
        let (h, mut counts) = self.half_sign.evaluate(eval, &diff, scale)?;
        let d_low = eval.drop_level(&diff, h.level())?;
        let prod = eval.rescale(&eval.mul_relin(&d_low, &h)?)?;
        // (a + b) / 2: the halving is free (the scale doubles), the alignment is not
        let mut half_sum = eval.add(a, b)?;
        half_sum.scale *= 2.0;
        let half_sum = align(eval, &half_sum, prod.level(), prod.scale, &mut counts)?;
        let out = eval.add(&prod, &half_sum)?;
        counts.additions += 3;
        counts.ct_mults += 1;
        counts.rescales += 1;
        counts.depth += 1;
        Ok((out, counts))
    }

    /// `max` of two ciphertexts at any levels/scales: the higher one is aligned to the other.
    fn max_aligned<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        a: &Ciphertext,
        b: &Ciphertext,
        counts: &mut CircuitCounts,
    ) -> std::result::Result<Ciphertext, B::Error> {
        let (a, b) = if a.level() > b.level() {
            (align(eval, a, b.level(), b.scale, counts)?, b.clone())
        } else {
            (a.clone(), align(eval, b, a.level(), a.scale, counts)?)
        };
        let (m, c) = self.max(eval, &a, &b)?;
        counts.then(&c);
        Ok(m)
    }

    /// Max-pooling with a `kernel x kernel` window (2 or 3) over a row-major map of row
    /// length `width` in the slots (values in `[-1/2, 1/2]`): slot `p` receives `max` over `p + dy * width + dx`
    /// (`0 <= dx, dy < kernel`, indices mod the slot count). Needs Galois keys for left
    /// rotations by `1, width` (and `2, 2 width` for kernel 3). Depth: `2 max_depth()` for
    /// kernel 2, `4 max_depth()` for kernel 3.
    pub fn max_pool<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        x: &Ciphertext,
        kernel: usize,
        width: usize,
    ) -> std::result::Result<(Ciphertext, CircuitCounts), B::Error> {
        if !(kernel == 2 || kernel == 3) || width == 0 {
            return Err(Error::InvalidParameter {
                field: "kernel".into(),
                reason: format!(
                    "kernel {kernel}, width {width}: expected kernel 2 or 3, width >= 1"
                ),
            }
            .into());
        }
        let mut counts = CircuitCounts::default();
        // one direction: max over x, rot(x, s), (rot(x, 2s))
        let reduce = |v: &Ciphertext,
                      step: usize,
                      counts: &mut CircuitCounts|
         -> std::result::Result<Ciphertext, B::Error> {
            let r1 = eval.rotate(v, step as i64)?;
            counts.rotations += 1;
            let m = self.max_aligned(eval, v, &r1, counts)?;
            if kernel == 2 {
                return Ok(m);
            }
            let r2 = eval.rotate(v, 2 * step as i64)?;
            counts.rotations += 1;
            self.max_aligned(eval, &m, &r2, counts)
        };
        let rows = reduce(x, 1, &mut counts)?;
        let out = reduce(&rows, width, &mut counts)?;
        counts.depth = (x.level() - out.level()) as u32;
        Ok((out, counts))
    }
}
