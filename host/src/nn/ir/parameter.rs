//! The parameter view: [`Parameter`] / [`ParameterMut`] tensors under PyTorch `state_dict`
//! names and their [`ParameterRole`], collected from a layer list in execution order.

use super::{Activation, Layer};

/// What the role of a parameter tensor is (used by seeded initialization and by pruning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterRole {
    /// Convolution or fully connected weight; `fan_in` = inputs per output
    /// (`in/groups * k * k` or `in_features`).
    Weight {
        /// Inputs feeding one output value.
        fan_in: usize,
    },
    /// Convolution or fully connected bias.
    Bias,
    /// Batch-norm `gamma` (`.weight`).
    BatchNormGamma,
    /// Batch-norm `beta` (`.bias`).
    BatchNormBeta,
    /// Batch-norm running mean.
    BatchNormMean,
    /// Batch-norm running variance (>= 0).
    BatchNormVar,
    /// Polynomial activation coefficient (`a`, `b` or `c`).
    PolyCoefficient,
}

/// A read-only view of one parameter tensor under its PyTorch `state_dict` name.
#[derive(Debug, Clone)]
pub struct Parameter<'a> {
    /// `state_dict` name, e.g. `layer1.0.conv1.weight`.
    pub name: String,
    /// What it is.
    pub role: ParameterRole,
    /// Tensor shape (row-major); `[]` for a scalar.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: &'a [f64],
}

/// A mutable view of one parameter tensor (the shape cannot change).
#[derive(Debug)]
pub struct ParameterMut<'a> {
    /// `state_dict` name.
    pub name: String,
    /// What it is.
    pub role: ParameterRole,
    /// Tensor shape (row-major); `[]` for a scalar.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: &'a mut [f64],
}

fn weight_and_bias<'a>(
    out: &mut Vec<Parameter<'a>>,
    name: &str,
    weight_shape: Vec<usize>,
    fan_in: usize,
    weight: &'a [f64],
    bias: &'a Option<Vec<f64>>,
) {
    out.push(Parameter {
        name: format!("{name}.weight"),
        role: ParameterRole::Weight { fan_in },
        shape: weight_shape,
        values: weight,
    });
    if let Some(bias) = bias {
        out.push(Parameter {
            name: format!("{name}.bias"),
            role: ParameterRole::Bias,
            shape: vec![bias.len()],
            values: bias,
        });
    }
}

pub(super) fn collect_parameters<'a>(layers: &'a [Layer], out: &mut Vec<Parameter<'a>>) {
    for layer in layers {
        match layer {
            Layer::Conv2d(c) => {
                let shape = c.weight_shape();
                weight_and_bias(
                    out,
                    &c.name,
                    shape.to_vec(),
                    shape[1] * shape[2] * shape[3],
                    &c.weight,
                    &c.bias,
                );
            }
            Layer::Linear(l) => weight_and_bias(
                out,
                &l.name,
                vec![l.out_features, l.in_features],
                l.in_features,
                &l.weight,
                &l.bias,
            ),
            Layer::BatchNorm(b) => {
                for (suffix, role, values) in [
                    ("weight", ParameterRole::BatchNormGamma, &b.gamma),
                    ("bias", ParameterRole::BatchNormBeta, &b.beta),
                    (
                        "running_mean",
                        ParameterRole::BatchNormMean,
                        &b.running_mean,
                    ),
                    ("running_var", ParameterRole::BatchNormVar, &b.running_var),
                ] {
                    out.push(Parameter {
                        name: format!("{}.{suffix}", b.name),
                        role,
                        shape: vec![b.channels],
                        values,
                    });
                }
            }
            Layer::Activation(a) => {
                if let Activation::Poly {
                    a: ca,
                    b: cb,
                    c: cc,
                } = &a.function
                {
                    for (suffix, value) in [("a", ca), ("b", cb), ("c", cc)] {
                        out.push(Parameter {
                            name: format!("{}.{suffix}", a.name),
                            role: ParameterRole::PolyCoefficient,
                            shape: vec![],
                            values: std::slice::from_ref(value),
                        });
                    }
                }
            }
            Layer::Residual(r) => {
                collect_parameters(&r.body, out);
                collect_parameters(&r.shortcut, out);
            }
            Layer::Pool(_) | Layer::Flatten | Layer::Downsample(_) => {}
        }
    }
}

fn weight_and_bias_mut<'a>(
    out: &mut Vec<ParameterMut<'a>>,
    name: &str,
    weight_shape: Vec<usize>,
    fan_in: usize,
    weight: &'a mut [f64],
    bias: &'a mut Option<Vec<f64>>,
) {
    out.push(ParameterMut {
        name: format!("{name}.weight"),
        role: ParameterRole::Weight { fan_in },
        shape: weight_shape,
        values: weight,
    });
    if let Some(bias) = bias {
        out.push(ParameterMut {
            name: format!("{name}.bias"),
            role: ParameterRole::Bias,
            shape: vec![bias.len()],
            values: bias,
        });
    }
}

pub(super) fn collect_parameters_mut<'a>(layers: &'a mut [Layer], out: &mut Vec<ParameterMut<'a>>) {
    for layer in layers {
        match layer {
            Layer::Conv2d(c) => {
                let shape = c.weight_shape();
                weight_and_bias_mut(
                    out,
                    &c.name,
                    shape.to_vec(),
                    shape[1] * shape[2] * shape[3],
                    &mut c.weight,
                    &mut c.bias,
                );
            }
            Layer::Linear(l) => weight_and_bias_mut(
                out,
                &l.name,
                vec![l.out_features, l.in_features],
                l.in_features,
                &mut l.weight,
                &mut l.bias,
            ),
            Layer::BatchNorm(b) => {
                let channels = b.channels;
                for (suffix, role, values) in [
                    ("weight", ParameterRole::BatchNormGamma, &mut b.gamma),
                    ("bias", ParameterRole::BatchNormBeta, &mut b.beta),
                    (
                        "running_mean",
                        ParameterRole::BatchNormMean,
                        &mut b.running_mean,
                    ),
                    (
                        "running_var",
                        ParameterRole::BatchNormVar,
                        &mut b.running_var,
                    ),
                ] {
                    out.push(ParameterMut {
                        name: format!("{}.{suffix}", b.name),
                        role,
                        shape: vec![channels],
                        values,
                    });
                }
            }
            Layer::Activation(a) => {
                if let Activation::Poly {
                    a: ca,
                    b: cb,
                    c: cc,
                } = &mut a.function
                {
                    for (suffix, value) in [("a", ca), ("b", cb), ("c", cc)] {
                        out.push(ParameterMut {
                            name: format!("{}.{suffix}", a.name),
                            role: ParameterRole::PolyCoefficient,
                            shape: vec![],
                            values: std::slice::from_mut(value),
                        });
                    }
                }
            }
            Layer::Residual(r) => {
                collect_parameters_mut(&mut r.body, out);
                collect_parameters_mut(&mut r.shortcut, out);
            }
            Layer::Pool(_) | Layer::Flatten | Layer::Downsample(_) => {}
        }
    }
}
