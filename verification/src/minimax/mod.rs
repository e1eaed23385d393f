//! Minimax polynomial approximation of `sign(x)`: the Remez exchange algorithm in extended
//! precision ([`remez`]) and composite approximations built from it ([`composite`]), the
//! basis of precise ReLU and max-pooling under CKKS (see `crate::circuits`).

pub mod composite;
mod real;
pub mod remez;

pub use composite::{
    alpha_default_eps, alpha_degrees, odd_polynomial_depth, CompositeSign, ALPHA_DEGREES,
    ALPHA_LOG2_INV_EPS,
};
pub use remez::{clenshaw_f64, OddMinimax, MAX_DEGREE};
