//! The layer sum type ([`Layer`], with the [`Residual`] block), where a layer sits
//! ([`LayerLocation`]) and the per-layer problems of shape checking (`LayerProblem`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Activation, ActivationLayer, BatchNorm, Conv2d, Linear, Pool, PoolKind, Shape};
use crate::nn::shortcut::Downsample;
use crate::nn::NnError;

/// A residual block: `output = body(x) + shortcut(x)`, both run on the same input `x`; an
/// empty `shortcut` is the identity. Both branches must produce the same shape. Anything after
/// the sum (ResNet's final activation) is the next layer of the enclosing list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Residual {
    /// Block name (the prefix of its layers' names, e.g. `layer2.0`); informative only.
    pub name: String,
    /// The main branch.
    pub body: Vec<Layer>,
    /// The shortcut branch; empty means identity.
    pub shortcut: Vec<Layer>,
}

/// One layer of a network. JSON: `{"layer": "conv2d", "name": ..., ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "layer", rename_all = "snake_case")]
pub enum Layer {
    /// Convolution.
    Conv2d(Conv2d),
    /// Batch normalization (inference form).
    BatchNorm(BatchNorm),
    /// Average or max pooling.
    Pool(Pool),
    /// Element-wise activation.
    Activation(ActivationLayer),
    /// `(C, H, W) -> (C * H * W, 1, 1)`, CHW order.
    Flatten,
    /// Fully connected.
    Linear(Linear),
    /// `body(x) + shortcut(x)`.
    Residual(Residual),
    /// Strided subsampling with zero channel padding (ResNet's option-A shortcut).
    Downsample(Downsample),
}

impl Layer {
    /// Short kind name used in messages: `conv2d`, `batch_norm`, `avg_pool`, `max_pool`,
    /// `activation`, `flatten`, `linear`, `residual`, `downsample`.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Conv2d(_) => "conv2d",
            Layer::BatchNorm(_) => "batch_norm",
            Layer::Pool(p) => match p.kind {
                PoolKind::Average => "avg_pool",
                PoolKind::Max => "max_pool",
            },
            Layer::Activation(_) => "activation",
            Layer::Flatten => "flatten",
            Layer::Linear(_) => "linear",
            Layer::Residual(_) => "residual",
            Layer::Downsample(_) => "downsample",
        }
    }

    /// The module name (empty for pooling and flatten, which have none).
    pub fn name(&self) -> &str {
        match self {
            Layer::Conv2d(l) => &l.name,
            Layer::BatchNorm(l) => &l.name,
            Layer::Activation(l) => &l.name,
            Layer::Linear(l) => &l.name,
            Layer::Residual(l) => &l.name,
            Layer::Pool(_) | Layer::Flatten | Layer::Downsample(_) => "",
        }
    }

    pub(super) fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        match self {
            Layer::Conv2d(l) => l.output_shape(input),
            Layer::BatchNorm(l) => l.output_shape(input),
            Layer::Pool(l) => l.output_shape(input),
            Layer::Activation(l) => {
                if let Activation::Poly { a, b, c } = l.function {
                    if ![a, b, c].iter().all(|v| v.is_finite()) {
                        return Err(LayerProblem::field(
                            "function",
                            format!("polynomial coefficients a={a}, b={b}, c={c} must be finite"),
                        ));
                    }
                }
                Ok(input)
            }
            Layer::Flatten => Ok(Shape::flat(input.len())),
            Layer::Linear(l) => l.output_shape(input),
            Layer::Downsample(d) => d.output_shape(input).ok_or_else(|| {
                LayerProblem::field(
                    "stride",
                    format!(
                        "stride {} must be >= 1 and the padded channel count must fit",
                        d.stride
                    ),
                )
            }),
            // Handled by the list walker (it needs the nested locations).
            Layer::Residual(_) => Ok(input),
        }
    }
}

/// Where a layer sits: its path (`"3"` for the fourth top-level layer, `"7.body.2"` and
/// `"7.shortcut.0"` inside the residual block at index 7), its kind and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerLocation {
    /// Indices from the top-level list down, `.body.`/`.shortcut.` into residual blocks.
    pub path: String,
    /// [`Layer::kind`].
    pub kind: &'static str,
    /// [`Layer::name`] (may be empty).
    pub name: String,
}

impl LayerLocation {
    pub(super) fn of(path: String, layer: &Layer) -> Self {
        LayerLocation {
            path,
            kind: layer.kind(),
            name: layer.name().to_string(),
        }
    }
}

impl fmt::Display for LayerLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {}", self.path, self.kind)?;
        if !self.name.is_empty() {
            write!(f, " '{}'", self.name)?;
        }
        Ok(())
    }
}

/// A problem of one layer, before the network and location are attached.
#[derive(Debug)]
pub(crate) enum LayerProblem {
    Field {
        field: &'static str,
        problem: String,
    },
    Shape {
        expected: String,
        got: Shape,
    },
}

impl LayerProblem {
    pub(super) fn field(field: &'static str, problem: String) -> Self {
        LayerProblem::Field { field, problem }
    }

    pub(super) fn shape(expected: String, got: Shape) -> Self {
        LayerProblem::Shape { expected, got }
    }

    pub(crate) fn at(self, network: &str, location: LayerLocation) -> NnError {
        match self {
            LayerProblem::Field { field, problem } => NnError::InvalidLayer {
                network: network.to_string(),
                location: Box::new(location),
                field,
                problem,
            },
            LayerProblem::Shape { expected, got } => NnError::Shape {
                network: network.to_string(),
                location: Box::new(location),
                expected,
                got,
            },
        }
    }
}

pub(super) fn check_positive(field: &'static str, value: usize) -> Result<(), LayerProblem> {
    if value == 0 {
        return Err(LayerProblem::field(field, format!("{field} must be >= 1")));
    }
    Ok(())
}

pub(super) fn check_len(
    field: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), LayerProblem> {
    if expected != got {
        return Err(LayerProblem::field(
            field,
            format!("{field} has {got} values, expected {expected}"),
        ));
    }
    Ok(())
}
