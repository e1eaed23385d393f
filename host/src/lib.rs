//! The heaccel host compiler: networks to CKKS operations to accelerator programs.
//!
//! - [`nn`]: the network IR, model zoo, trained weights (safetensors) and the plaintext
//!   forward pass; [`data`]: datasets (CIFAR-10, MNIST, image folders).
//! - [`pack`]: packing and convolution strategies (dense, SpENCNN) that turn layers into CKKS
//!   operation graphs ([`pack::HeProgram`]), their executors (reference, cleartext).
//! - [`lowering`]: CKKS operations to ISA programs, bit-exact with the reference model;
//!   [`funcexec`] / [`funcops`]: the same operations on the accelerator's functional executor.
//! - [`netsim`]: whole networks compiled and simulated on a hardware configuration (parameter
//!   choice, per-operation costs, refreshes); [`stream`]: a network as one allocated
//!   instruction stream; [`bootsim`]: bootstrapping on the accelerator.
//! - [`infer`], [`bootinfer`]: encrypted inference checked against the plaintext pass;
//!   [`accuracy`]: accuracy on real data with minimax ReLU.

#![warn(missing_docs)]

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
