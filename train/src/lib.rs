//! HE-aware training of heaccel's zoo networks on CPU with candle (issue 19, first slice:
//! LeNet on MNIST, dense or with SpENCNN's HE-group convolution and sub-block pruning, see
//! [`prune`]).
//!
//! The trained model is a [`Mirror`] of the host [`heaccel_host::nn::Network`] IR, layer for
//! layer, under the IR's PyTorch `state_dict` names; training writes its values back into the
//! IR ([`Mirror::write_into`]) and [`checkpoint::save_atomic`] saves them as `f32`
//! safetensors that [`heaccel_host::nn::weights::load_safetensors`] (hence `heaccel infer`,
//! `simulate`, `compare` and `accuracy` with `--weights`) reads back bit for bit.
//!
//! # Activations and the stability recipe
//!
//! Every activation is the trainable quadratic `a x^2 + b x + c` (one scalar triple per
//! layer, [`heaccel_host::nn::Activation::Poly`], the form the compiler evaluates). Quadratic
//! activations make training fragile: the square compounds through layers, so activations and
//! gradients can grow without bound and the loss becomes NaN (Garimella, Jha and Reagen,
//! "Sisyphus: A Cautionary Tale of Using Low-Degree Polynomial Activations in
//! Privacy-Preserving Deep Learning", PPML workshop at ACM CCS 2021). The recipe followed here
//! keeps every activation's input in the range its polynomial was fitted on:
//! - batch normalization of every convolution and fully connected layer during training
//!   (Ioffe and Szegedy, ICML 2015), folded into the layer's weight and bias on export
//!   ([`Mirror::new`]), so pre-activations stay near mean 0, variance 1 and the exported
//!   network keeps the zoo's architecture;
//! - the quadratic initialized as the ReLU approximation it replaces on that range,
//!   [`trainer::POLY_INIT`] `= (x + 2)^2 / 8` (tangent to ReLU at -2 and 2; `a = 0.125` is
//!   small enough that the square does not dominate at unit variance), all three coefficients
//!   then trained;
//! - a penalty on activation inputs outside `[-B, B]`, `lambda * mean(max(|x| - B, 0)^2)`
//!   per activation layer, and global gradient-norm clipping: the two measures of Al Hossain
//!   and Rahman, "A Training Framework for Optimal and Stable Training of Polynomial Neural
//!   Networks" (arXiv:2505.11589, 2025; they penalize exponentially, a square suffices at
//!   degree 2);
//! - decoupled weight decay (AdamW), which also regularizes `a` towards 0.
//!
//! A loss or gradient that still becomes NaN or infinite stops the run with
//! [`TrainError::Diverged`] (the last complete checkpoint is kept).
//!
//! # Speed
//!
//! Convolutions run as im2col and one batched matrix product per group, and the quadratic
//! activation as one fused pass forward and backward (private modules `conv` and `act`):
//! candle's generic CPU kernels made a LeNet step several times slower.
//!
//! # Reproducibility
//!
//! `seed` fixes the initial weights, the shuffle and the augmentation; the run is then
//! deterministic on a given machine and thread count.

#![warn(missing_docs)]

mod act;
pub mod checkpoint;
mod conv;
pub mod data;
mod error;
pub mod model;
pub mod prune;
pub mod run;
pub mod trainer;

pub use error::TrainError;
pub use model::Mirror;
pub use prune::Pruning;
pub use run::{run, Outcome, Request, Strategy};
pub use trainer::{train, train_pruned, TrainConfig, TrainReport};
