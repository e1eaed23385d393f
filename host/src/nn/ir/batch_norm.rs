//! The inference-form batch normalization layer ([`BatchNorm`]) and its shape rule.

use serde::{Deserialize, Serialize};

use super::layer::{check_len, check_positive, LayerProblem};
use super::Shape;

/// Batch normalization in inference form (PyTorch `nn.BatchNorm2d` / `BatchNorm1d` in eval
/// mode): `y[c] = gamma[c] * (x[c] - running_mean[c]) / sqrt(running_var[c] + eps) + beta[c]`
/// for every position of channel `c`. [`fold_batch_norm`](crate::nn::fold_batch_norm) folds it
/// into the preceding convolution or fully connected layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm {
    /// Module name; its tensors are `{name}.weight` (gamma), `{name}.bias` (beta),
    /// `{name}.running_mean` and `{name}.running_var`.
    pub name: String,
    /// Channels `C` of the input, >= 1.
    pub channels: usize,
    /// Scale, one per channel.
    pub gamma: Vec<f64>,
    /// Shift, one per channel.
    pub beta: Vec<f64>,
    /// Running mean, one per channel.
    pub running_mean: Vec<f64>,
    /// Running variance, one per channel, >= 0.
    pub running_var: Vec<f64>,
    /// Added to the variance, > 0 (PyTorch's default 1e-5).
    pub eps: f64,
}

impl BatchNorm {
    /// PyTorch's default epsilon.
    pub const DEFAULT_EPS: f64 = 1e-5;

    /// The identity normalization (gamma 1, beta 0, mean 0, variance 1, eps 1e-5).
    pub fn identity(name: impl Into<String>, channels: usize) -> Self {
        BatchNorm {
            name: name.into(),
            channels,
            gamma: vec![1.0; channels],
            beta: vec![0.0; channels],
            running_mean: vec![0.0; channels],
            running_var: vec![1.0; channels],
            eps: Self::DEFAULT_EPS,
        }
    }

    /// Per channel `(scale, shift)` with `y = scale * x + shift`:
    /// `scale = gamma / sqrt(var + eps)`, `shift = beta - scale * mean`.
    pub fn scale_shift(&self) -> Vec<(f64, f64)> {
        (0..self.channels)
            .map(|c| {
                let scale = self.gamma[c] / (self.running_var[c] + self.eps).sqrt();
                (scale, self.beta[c] - scale * self.running_mean[c])
            })
            .collect()
    }

    pub(super) fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        check_positive("channels", self.channels)?;
        for (field, values) in [
            ("gamma", &self.gamma),
            ("beta", &self.beta),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
        ] {
            check_len(field, self.channels, values.len())?;
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(LayerProblem::field(
                "eps",
                format!("eps = {} must be finite and > 0", self.eps),
            ));
        }
        if let Some(c) = self.running_var.iter().position(|v| v.is_nan() || *v < 0.0) {
            return Err(LayerProblem::field(
                "running_var",
                format!("running_var[{c}] = {} must be >= 0", self.running_var[c]),
            ));
        }
        if input.channels != self.channels {
            return Err(LayerProblem::shape(
                format!("({}, H, W)", self.channels),
                input,
            ));
        }
        Ok(input)
    }
}
