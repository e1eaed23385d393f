//! Homomorphic circuits on the CKKS model (Lattigo's `circuits/` layer): Chebyshev series at
//! minimal depth ([`polynomial`]) and the precise ReLU, max and max-pooling built from
//! composite minimax sign approximations ([`sign`]).

pub mod polynomial;
pub mod sign;

pub use polynomial::{
    align, chebyshev_eval, chebyshev_interpolate, evaluate_polynomial, minimal_depth,
    mul_const_landing, CircuitCounts, PolynomialPlan, PolynomialRun,
};
pub use sign::{
    first_out_of_range, max_error_bound, relu_error_bound, MinimaxActivation, SignCircuit,
};
