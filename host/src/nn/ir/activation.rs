//! Element-wise activation functions ([`Activation`]) and the named activation layer
//! ([`ActivationLayer`]).

use serde::{Deserialize, Serialize};

/// An element-wise activation function. Grows with the approximations of later strategies
/// (e.g. minimax ReLU); [`Activation::Relu`] is the exact function they approximate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Activation {
    /// The trainable HE-friendly polynomial `a x^2 + b x + c` (one multiplicative level when
    /// `a` is folded into the square). Coefficients must be finite.
    Poly {
        /// Coefficient of `x^2`.
        a: f64,
        /// Coefficient of `x`.
        b: f64,
        /// Constant.
        c: f64,
    },
    /// Exact `max(x, 0)` (plaintext only; not HE-evaluable as is).
    Relu,
}

impl Activation {
    /// The default polynomial `(x + 2)^2 / 8 = 0.125 x^2 + 0.5 x + 0.25`: the quadratic that
    /// touches ReLU at `x = -2` (value 0, slope 0) and `x = 2` (value 2, slope 1), so it
    /// follows ReLU on `[-2, 2]` (largest gap 0.25 at `x = 0`) and is `>= 0` everywhere.
    pub const DEFAULT_POLY: Activation = Activation::Poly {
        a: 0.125,
        b: 0.5,
        c: 0.25,
    };

    /// The function at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        match *self {
            Activation::Poly { a, b, c } => (a * x + b) * x + c,
            Activation::Relu => x.max(0.0),
        }
    }
}

/// A named activation layer; for [`Activation::Poly`] its tensors are `{name}.a`, `{name}.b`
/// and `{name}.c` (scalars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationLayer {
    /// Module name.
    pub name: String,
    /// The function.
    pub function: Activation,
}
