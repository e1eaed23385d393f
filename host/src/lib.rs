//! The heaccel host compiler. So far: the lowering of CKKS operations to ISA v1 programs
//! ([`lowering`]), bit-exact with the reference model, and the network IR, model zoo, weights
//! and plaintext forward pass ([`nn`]), and the packing and convolution strategies that turn
//! layers into CKKS operation graphs ([`pack`]).

pub mod lowering;
pub mod nn;
pub mod pack;
