//! EvalMod: the homomorphic reduction `x -> x - round(x)` of bootstrapping, by the scaled sine
//! of Cheon-Han-Kim-Kim-Song and Han-Ki, in the form of Bossuat et al. (EUROCRYPT 2021).
//!
//! After ModRaise and CoeffToSlot a slot holds `x = m / q_0 + I` with `I` an integer of
//! magnitude below `K` and `|m / q_0|` small. With `u = x / K` in `[-1, 1]`:
//! 1. a Chebyshev interpolant of `cos(2 pi (K u - 1/4) / 2^r)` on `[-1, 1]`;
//! 2. `r` double-angle steps `c -> 2 c^2 - 1`, giving `cos(2 pi (x - 1/4)) = sin(2 pi x)`;
//! 3. `sin(2 pi x) / (2 pi) ~ x - I`, or, with the optional arcsine correction, a Chebyshev
//!    interpolant of `arcsin(y) / (2 pi)` on the range `y` takes for `|x - I| <= eps`.
//!
//! Scales are managed as in Lattigo: the target scale of the output is carried backwards
//! through the double-angle steps (`S_k = sqrt(S_(k+1) q)`, `q` the prime each square is
//! rescaled by) and the interpolant is evaluated straight at `S_0`, so every level lands on its
//! planned scale exactly.

use std::f64::consts::TAU;

use crate::circuits::{chebyshev_eval, chebyshev_interpolate, evaluate_polynomial, PolynomialPlan};
use crate::ckks::{Ciphertext, CkksOps};
use crate::error::{Error, Result};

/// Largest interpolation degree searched for.
pub const MAX_EVALMOD_DEGREE: usize = 255;

/// What EvalMod approximates, and how.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalModConfig {
    /// Half-width `K` of the interval `[-K, K]` (in units of `q_0`) the slots `x` lie in,
    /// `> 0`; see [`k_for_secret`].
    pub k: f64,
    /// Double-angle steps `r`, in `[0, 10]`.
    pub double_angle: u32,
    /// Degree of the cosine interpolant, in `[2, 255]`; `None` picks the smallest whose error
    /// on `[-1, 1]` is below `2^-interpolation_bits`.
    #[serde(default)]
    pub degree: Option<usize>,
    /// `-log2` of the interpolation error the automatic degree reaches, in `[10, 50]`.
    #[serde(default = "default_interpolation_bits")]
    pub interpolation_bits: u32,
    /// Degree of the arcsine correction (odd, `<= 31`), `0` for none.
    #[serde(default)]
    pub arcsine_degree: usize,
    /// `log2` of the message ratio `q_0 / Delta`: the bound `|x - I| <= 2^-log_message_ratio`
    /// the arcsine's interval is fitted to.
    pub log_message_ratio: u32,
}

fn default_interpolation_bits() -> u32 {
    40
}

/// The bound `K` on `|I|` (plus one for the message) for a ternary secret of Hamming weight
/// `h` in a ring of degree `N`, failing with probability at most `2^-failure_bits` per
/// bootstrapping: `I_k` is a sum of `h + 1` independent uniform terms on `[-1/2, 1/2]`
/// (`c_0` and `h` terms of `c_1 s`), strictly sub-Gaussian with variance `sigma^2 = (h + 1) /
/// 12`, so `P(max_k |I_k| > t) <= 2 N exp(-t^2 / (2 sigma^2))`.
pub fn k_for_secret(hamming_weight: usize, n: usize, failure_bits: u32) -> f64 {
    let sigma = ((hamming_weight as f64 + 1.0) / 12.0).sqrt();
    let t = sigma * (2.0 * ((2 * n) as f64).ln() + 2.0 * failure_bits as f64 * 2f64.ln()).sqrt();
    t.ceil() + 1.0
}

/// The evaluation plan of EvalMod.
#[derive(Clone, Debug)]
pub struct EvalMod {
    config: EvalModConfig,
    cosine: Vec<f64>,
    cosine_plan: PolynomialPlan,
    cosine_error: f64,
    arcsine: Option<(Vec<f64>, PolynomialPlan, f64)>,
}

fn field(name: &str, reason: String) -> Error {
    Error::InvalidParameter {
        field: format!("evalmod.{name}"),
        reason,
    }
}

impl EvalMod {
    /// Interpolates the cosine (and the arcsine) for `config`.
    pub fn new(config: &EvalModConfig) -> Result<Self> {
        if !(config.k.is_finite() && config.k > 0.0 && config.k <= 1e6) {
            return Err(field("k", format!("{} is outside (0, 1e6]", config.k)));
        }
        if config.double_angle > 10 {
            return Err(field(
                "double_angle",
                format!("{} is outside [0, 10]", config.double_angle),
            ));
        }
        if !(10..=50).contains(&config.interpolation_bits) {
            return Err(field(
                "interpolation_bits",
                format!("{} is outside [10, 50]", config.interpolation_bits),
            ));
        }
        if config.arcsine_degree > 31
            || (config.arcsine_degree > 0 && config.arcsine_degree.is_multiple_of(2))
        {
            return Err(field(
                "arcsine_degree",
                format!(
                    "{}: expected 0 or an odd degree <= 31",
                    config.arcsine_degree
                ),
            ));
        }
        if !(1..=40).contains(&config.log_message_ratio) {
            return Err(field(
                "log_message_ratio",
                format!("{} is outside [1, 40]", config.log_message_ratio),
            ));
        }
        let (k, r) = (config.k, config.double_angle);
        let cosine_of = |u: f64| (TAU * (k * u - 0.25) / 2f64.powi(r as i32)).cos();
        let error_of = |coeffs: &[f64]| {
            (0..=8192)
                .map(|i| -1.0 + i as f64 / 4096.0)
                .map(|u| (chebyshev_eval(coeffs, u) - cosine_of(u)).abs())
                .fold(0.0, f64::max)
        };
        let (cosine, cosine_error) = match config.degree {
            Some(d) if !(2..=MAX_EVALMOD_DEGREE).contains(&d) => {
                return Err(field(
                    "degree",
                    format!("{d} is outside [2, {MAX_EVALMOD_DEGREE}]"),
                ))
            }
            Some(d) => {
                let c = chebyshev_interpolate(cosine_of, d);
                let e = error_of(&c);
                (c, e)
            }
            None => {
                let target = 2f64.powi(-(config.interpolation_bits as i32));
                let mut found = None;
                for d in 2..=MAX_EVALMOD_DEGREE {
                    let c = chebyshev_interpolate(cosine_of, d);
                    let e = error_of(&c);
                    if e <= target {
                        found = Some((c, e));
                        break;
                    }
                }
                found.ok_or_else(|| {
                    field(
                        "degree",
                        format!(
                            "no degree up to {MAX_EVALMOD_DEGREE} interpolates the cosine of \
                             K = {k} with {r} double angles to 2^-{}; raise double_angle",
                            config.interpolation_bits
                        ),
                    )
                })?
            }
        };
        let cosine_plan = PolynomialPlan::new(&cosine)?;
        let arcsine = if config.arcsine_degree > 0 {
            let bound = (TAU * 2f64.powi(-(config.log_message_ratio as i32))).min(1.0);
            let a = bound.sin().min(1.0);
            let f = |t: f64| (t * a).asin() / TAU;
            let coeffs = chebyshev_interpolate(f, config.arcsine_degree);
            let plan = PolynomialPlan::new(&coeffs)?;
            Some((coeffs, plan, a))
        } else {
            None
        };
        Ok(EvalMod {
            config: config.clone(),
            cosine,
            cosine_plan,
            cosine_error,
            arcsine,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EvalModConfig {
        &self.config
    }

    /// The cosine interpolant's degree.
    pub fn degree(&self) -> usize {
        self.cosine_plan.degree()
    }

    /// The cosine interpolant's largest error on `[-1, 1]` (sampled at 8,193 points).
    pub fn interpolation_error(&self) -> f64 {
        self.cosine_error
    }

    /// Levels consumed: the cosine's minimal depth, the double angles, the arcsine's depth.
    pub fn depth(&self) -> usize {
        self.cosine_plan.depth() as usize
            + self.config.double_angle as usize
            + self
                .arcsine
                .as_ref()
                .map_or(0, |(_, p, _)| p.depth() as usize)
    }

    /// Ciphertext multiplications of one evaluation.
    pub fn ct_mults(&self) -> usize {
        self.cosine_plan.counts().ct_mults
            + self.config.double_angle as usize
            + self
                .arcsine
                .as_ref()
                .map_or(0, |(_, p, _)| p.counts().ct_mults)
    }

    /// The same computation in `f64`: the approximation of `x - round(x)` for `x` in `[-K, K]`.
    pub fn eval_plain(&self, x: f64) -> f64 {
        let mut c = chebyshev_eval(&self.cosine, x / self.config.k);
        for _ in 0..self.config.double_angle {
            c = 2.0 * c * c - 1.0;
        }
        match &self.arcsine {
            None => c / TAU,
            Some((coeffs, _, a)) => chebyshev_eval(coeffs, c / a),
        }
    }

    /// Evaluates EvalMod on `ct`, whose slots hold `u = x / K` in `[-1, 1]` (real), at least
    /// [`EvalMod::depth`] levels above 0. The result is `depth` levels lower and decodes to
    /// the approximation of `x - round(x)` at scale `out_scale` (`ct.scale` is `out_scale`).
    pub fn evaluate<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        ct: &Ciphertext,
        out_scale: f64,
    ) -> std::result::Result<Ciphertext, B::Error> {
        let depth = self.depth();
        if ct.level() < depth {
            return Err(Error::level("EvalMod", ct.level(), depth..=usize::MAX).into());
        }
        let primes = eval.params().q_tables();
        let r = self.config.double_angle as usize;
        let cosine_level = ct.level() - self.cosine_plan.depth() as usize;
        // The scale the double-angle chain must end on: the arcsine's input scale is free (its
        // constants land on out_scale); without it the sine is read with scale 2 pi S_r.
        let arcsine_input_scale = primes[cosine_level - r].modulus().value() as f64;
        let sine_scale = match self.arcsine {
            None => out_scale / TAU,
            Some(_) => arcsine_input_scale,
        };
        // Backwards: the k-th square (k = r-1 .. 0) is rescaled by q at level cosine_level - k.
        let mut scales = vec![0.0; r + 1];
        scales[r] = sine_scale;
        for k in (0..r).rev() {
            let q = primes[cosine_level - k].modulus().value() as f64;
            scales[k] = (scales[k + 1] * q).sqrt();
        }
        let (mut c, _) = evaluate_polynomial(eval, ct, &self.cosine_plan, scales[0])?;
        for &scale in &scales[1..] {
            let mut square = eval.rescale(&eval.mul_relin(&c, &c)?)?;
            // `S_k^2 / q = S_(k+1)` up to rounding: pinned so the chain does not drift
            square.scale = scale;
            c = eval.add_const(&eval.add(&square, &square)?, -1.0)?;
        }
        match &self.arcsine {
            None => {
                c.scale = out_scale;
                Ok(c)
            }
            Some((_, plan, a)) => {
                // Read the sine as y / a (in [-1, 1]) by scaling the scale.
                c.scale *= a;
                let (out, _) = evaluate_polynomial(eval, &c, plan, out_scale)?;
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(k: f64, r: u32, arcsine_degree: usize) -> EvalModConfig {
        EvalModConfig {
            k,
            double_angle: r,
            degree: None,
            interpolation_bits: (35 + 2 * r).min(46),
            arcsine_degree,
            log_message_ratio: 8,
        }
    }

    /// The worst `|eval_plain(I + f) - f|` over every integer `I` in `(-K, K)` and `|f| <=
    /// f_max`, in bits of the message (`f = m / q_0 = message / 2^8`).
    fn message_bits(em: &EvalMod, f_max: f64) -> f64 {
        let k = em.config().k as i64;
        let mut worst = 0.0f64;
        for i in -(k - 1)..k {
            for j in -64..=64 {
                let f = f_max * j as f64 / 64.0;
                worst = worst.max((em.eval_plain(i as f64 + f) - f).abs());
            }
        }
        -(worst * 2f64.powi(8)).log2()
    }

    #[test]
    fn approximates_the_modular_reduction() {
        // Without the arcsine the error is the sine's, (2 pi)^2 f^3 / 6: at the edge of the
        // message range (f = 2^-8) 2^-13.3 in message units; at f = 2^-13 (a coefficient of a
        // 2^10-slot message of magnitude 1) 2^-28.3, less the interpolation error. The arcsine of degree 5 removes it.
        for (k, r, arcsine, edge_bits, inner_bits) in [
            (12.0, 3, 0, 13.2, 27.5),
            (33.0, 4, 0, 13.2, 27.5),
            (12.0, 3, 5, 30.0, 30.0),
        ] {
            let em = EvalMod::new(&config(k, r, arcsine)).unwrap();
            let edge = message_bits(&em, 2f64.powi(-8));
            let inner = message_bits(&em, 2f64.powi(-13));
            assert!(
                edge >= edge_bits,
                "K={k} r={r} arcsine {arcsine}: edge {edge}"
            );
            assert!(
                inner >= inner_bits,
                "K={k} r={r} arcsine {arcsine}: inner {inner}"
            );
        }
        // and it is not the identity: far from an integer it is far from x - round(x)
        let em = EvalMod::new(&config(12.0, 3, 0)).unwrap();
        assert!((em.eval_plain(3.25) - 0.25).abs() > 0.05);
    }

    #[test]
    fn k_grows_with_the_weight() {
        // h = 192: sigma = 4.01; N = 2^16, 2^-30: t = 4.01 sqrt(2 ln 2^17 + 60 ln 2) = 32.4.
        assert_eq!(k_for_secret(192, 1 << 16, 30), 34.0);
        assert!(k_for_secret(32, 1 << 16, 30) < k_for_secret(192, 1 << 16, 30));
    }

    #[test]
    fn bad_configs_name_the_field() {
        for (cfg, name) in [
            (config(0.0, 3, 0), "evalmod.k"),
            (config(12.0, 11, 0), "evalmod.double_angle"),
            (config(12.0, 3, 4), "evalmod.arcsine_degree"),
            (config(1e5, 0, 0), "evalmod.degree"),
            (
                EvalModConfig {
                    degree: Some(1),
                    ..config(12.0, 3, 0)
                },
                "evalmod.degree",
            ),
        ] {
            let err = EvalMod::new(&cfg).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidParameter { field, .. } if field == name),
                "{name}: {err}"
            );
        }
    }
}
