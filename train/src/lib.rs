//! HE-aware training of heaccel's zoo networks on CPU with candle (issue 19): LeNet on MNIST,
//! VGG-5 and HEFNet on CIFAR-10 ([`folder`]: ImageFolder `train/` and `test/`, random crops
//! with 4 pixels of zero padding and horizontal flips, [`data::Augment`]), dense or with
//! SpENCNN's HE-group convolutions and sub-block pruning (see [`prune`]), and the
//! accuracy-latency trade-off of the pruning ratio ([`tradeoff`]). Inputs are pixels scaled
//! to `[0, 1]` without per-channel normalization, what `heaccel accuracy` and `infer` feed the
//! zoo networks.
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
//!   network keeps the zoo's architecture; a network with its own batch norms (HEFNet's
//!   `bn1`..`bn4` after bias-free convolutions) trains them as they are and exports their
//!   running statistics, which the compiler folds; VGG-5 gets one after `conv1`..`conv3`,
//!   `fc1` and `fc2` (not after the last layer);
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
pub mod folder;
pub mod model;
pub mod prune;
pub mod run;
pub mod tradeoff;
pub mod trainer;

pub use error::TrainError;
pub use model::Mirror;
pub use prune::Pruning;
pub use run::{run, Outcome, Request, StrategyChoice};
pub use trainer::{train, train_pruned, TrainConfig, TrainReport};
