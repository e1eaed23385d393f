//! The heaccel host compiler. So far: the lowering of CKKS operations to ISA v1 programs
//! ([`lowering`]), bit-exact with the reference model, and the network IR, model zoo, weights
//! and plaintext forward pass ([`nn`]), the packing and convolution strategies that turn
//! layers into CKKS operation graphs ([`pack`]), and whole networks compiled and simulated on
//! an accelerator configuration ([`netsim`]).

pub mod accuracy;
pub mod bootinfer;
pub mod bootsim;
pub mod data;
pub mod funcexec;
pub mod funcops;
pub mod infer;
pub mod lowering;
pub mod netsim;
pub mod nn;
pub mod pack;
pub mod stream;
