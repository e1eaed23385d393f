//! The fully connected layer ([`Linear`]) and its shape rule.

use serde::{Deserialize, Serialize};

use super::layer::{check_len, check_positive, LayerProblem};
use super::Shape;

/// A fully connected layer (PyTorch `nn.Linear`): `y[o] = sum_i weight[o][i] x[i] + bias[o]`.
/// Input `(in_features, 1, 1)` (put a [`Layer::Flatten`](super::Layer::Flatten) before it for
/// spatial maps), output `(out_features, 1, 1)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    /// Module name; its tensors are `{name}.weight` and `{name}.bias`.
    pub name: String,
    /// Input features, >= 1.
    pub in_features: usize,
    /// Output features, >= 1.
    pub out_features: usize,
    /// `[out_features][in_features]` row-major.
    pub weight: Vec<f64>,
    /// One per output feature, or none.
    pub bias: Option<Vec<f64>>,
}

impl Linear {
    /// A fully connected layer with zero weights (and zero bias when `bias`).
    pub fn zeroed(
        name: impl Into<String>,
        in_features: usize,
        out_features: usize,
        bias: bool,
    ) -> Self {
        Linear {
            name: name.into(),
            in_features,
            out_features,
            weight: vec![0.0; in_features.saturating_mul(out_features)],
            bias: bias.then(|| vec![0.0; out_features]),
        }
    }

    pub(super) fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        check_positive("in_features", self.in_features)?;
        check_positive("out_features", self.out_features)?;
        check_len(
            "weight",
            self.in_features.saturating_mul(self.out_features),
            self.weight.len(),
        )?;
        if let Some(bias) = &self.bias {
            check_len("bias", self.out_features, bias.len())?;
        }
        if input != Shape::flat(self.in_features) {
            return Err(LayerProblem::shape(
                format!(
                    "{} (insert a flatten layer before a fully connected layer)",
                    Shape::flat(self.in_features)
                ),
                input,
            ));
        }
        Ok(Shape::flat(self.out_features))
    }
}
