//! The [`Network`] (input shape and layer list), shape inference ([`Network::shapes`]), layer
//! walks and [`PlacedLayer`].

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::parameter::{collect_parameters, collect_parameters_mut};
use super::{Layer, LayerLocation, Parameter, ParameterMut, Shape, MAX_FEATURE_VALUES};
use crate::nn::NnError;

/// Input and output shape of one layer, in execution order (see [`Network::shapes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    /// The layer.
    pub location: LayerLocation,
    /// Its input shape.
    pub input: Shape,
    /// Its output shape.
    pub output: Shape,
}

/// A network: a named input shape and a list of layers run in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Name, e.g. `lenet`.
    pub name: String,
    /// Shape of one input sample `(C, H, W)`.
    pub input_shape: Shape,
    /// The layers, in execution order.
    pub layers: Vec<Layer>,
}

impl Network {
    /// Checks every layer (hyperparameters, parameter lengths, that each layer's input shape
    /// fits, residual branches agree, parameter names are unique and non-empty) and returns
    /// every layer's input and output shape in execution order: a residual block's own entry
    /// comes after the entries of its body and then its shortcut.
    pub fn shapes(&self) -> Result<Vec<LayerShape>, NnError> {
        if self.input_shape.is_empty() || self.input_shape.len() > MAX_FEATURE_VALUES {
            return Err(NnError::EmptyInput {
                network: self.name.clone(),
                shape: self.input_shape,
            });
        }
        let mut trace = Vec::new();
        shapes_of_list(&self.name, &self.layers, "", self.input_shape, &mut trace)?;
        let mut seen = HashSet::new();
        for p in self.parameters() {
            if p.name.starts_with('.') {
                return Err(NnError::UnnamedParameter {
                    network: self.name.clone(),
                    name: p.name,
                });
            }
            if !seen.insert(p.name.clone()) {
                return Err(NnError::DuplicateParameter {
                    network: self.name.clone(),
                    name: p.name,
                });
            }
        }
        Ok(trace)
    }

    /// The output shape (after [`Network::shapes`]' checks).
    pub fn output_shape(&self) -> Result<Shape, NnError> {
        let shapes = self.shapes()?;
        Ok(top_level_output(&shapes).unwrap_or(self.input_shape))
    }

    /// Every parameter tensor in execution order, with PyTorch `state_dict` names:
    /// conv/linear `{name}.weight`, `{name}.bias`; batch norm `{name}.weight` (gamma),
    /// `{name}.bias` (beta), `{name}.running_mean`, `{name}.running_var`; polynomial
    /// activation `{name}.a`, `{name}.b`, `{name}.c` (scalars, shape `[]`).
    pub fn parameters(&self) -> Vec<Parameter<'_>> {
        let mut out = Vec::new();
        collect_parameters(&self.layers, &mut out);
        out
    }

    /// Mutable views of the same tensors as [`Network::parameters`], same order.
    pub fn parameters_mut(&mut self) -> Vec<ParameterMut<'_>> {
        let mut out = Vec::new();
        collect_parameters_mut(&mut self.layers, &mut out);
        out
    }

    /// Number of scalars over all parameter tensors (weights, biases, batch-norm affine
    /// parameters and running statistics, polynomial coefficients).
    pub fn parameter_count(&self) -> usize {
        self.parameters().iter().map(|p| p.values.len()).sum()
    }

    /// Calls `visit` on every layer in execution order (a residual block before its body and
    /// shortcut layers), with its location.
    pub fn visit_layers<'a>(&'a self, mut visit: impl FnMut(&LayerLocation, &'a Layer)) {
        fn walk<'a>(
            layers: &'a [Layer],
            prefix: &str,
            visit: &mut dyn FnMut(&LayerLocation, &'a Layer),
        ) {
            for (i, layer) in layers.iter().enumerate() {
                let path = join_path(prefix, i);
                visit(&LayerLocation::of(path.clone(), layer), layer);
                if let Layer::Residual(r) = layer {
                    walk(&r.body, &format!("{path}.body"), visit);
                    walk(&r.shortcut, &format!("{path}.shortcut"), visit);
                }
            }
        }
        walk(&self.layers, "", &mut visit);
    }

    /// Calls `visit` on every layer in the order of [`Network::visit_layers`], mutably (to
    /// prune weights or swap activations); a residual block is visited before its branches,
    /// so changes to its branch lists are then walked. Shapes are not re-checked.
    pub fn visit_layers_mut(&mut self, mut visit: impl FnMut(&LayerLocation, &mut Layer)) {
        fn walk(
            layers: &mut [Layer],
            prefix: &str,
            visit: &mut dyn FnMut(&LayerLocation, &mut Layer),
        ) {
            for (i, layer) in layers.iter_mut().enumerate() {
                let path = join_path(prefix, i);
                visit(&LayerLocation::of(path.clone(), layer), layer);
                if let Layer::Residual(r) = layer {
                    walk(&mut r.body, &format!("{path}.body"), visit);
                    walk(&mut r.shortcut, &format!("{path}.shortcut"), visit);
                }
            }
        }
        walk(&mut self.layers, "", &mut visit);
    }

    /// Every layer with its location and input/output shapes, in execution order (that of
    /// [`Network::shapes`]: a residual block after its body and shortcut layers): what a
    /// packing strategy, a plain function of (layer, input shape, ciphertext slots), iterates.
    pub fn placed_layers(&self) -> Result<Vec<PlacedLayer<'_>>, NnError> {
        let shapes = self.shapes()?;
        let mut by_path = std::collections::HashMap::new();
        self.visit_layers(|location, layer| {
            by_path.insert(location.path.clone(), layer);
        });
        Ok(shapes
            .into_iter()
            .filter_map(|s| {
                by_path.get(&s.location.path).map(|layer| PlacedLayer {
                    layer,
                    location: s.location,
                    input: s.input,
                    output: s.output,
                })
            })
            .collect())
    }
}

/// A layer with where it sits and the shapes it sees (see [`Network::placed_layers`]).
#[derive(Debug, Clone)]
pub struct PlacedLayer<'a> {
    /// The layer.
    pub layer: &'a Layer,
    /// Its location.
    pub location: LayerLocation,
    /// Its input shape.
    pub input: Shape,
    /// Its output shape.
    pub output: Shape,
}

/// The output shape of the last top-level entry of a shape trace.
fn top_level_output(shapes: &[LayerShape]) -> Option<Shape> {
    shapes
        .iter()
        .rev()
        .find(|s| !s.location.path.contains('.'))
        .map(|s| s.output)
}

pub(crate) fn join_path(prefix: &str, index: usize) -> String {
    if prefix.is_empty() {
        index.to_string()
    } else {
        format!("{prefix}.{index}")
    }
}

fn shapes_of_list(
    network: &str,
    layers: &[Layer],
    prefix: &str,
    input: Shape,
    trace: &mut Vec<LayerShape>,
) -> Result<Shape, NnError> {
    let mut shape = input;
    for (i, layer) in layers.iter().enumerate() {
        let path = join_path(prefix, i);
        let location = LayerLocation::of(path.clone(), layer);
        let output = match layer {
            Layer::Residual(block) => {
                let body =
                    shapes_of_list(network, &block.body, &format!("{path}.body"), shape, trace)?;
                let shortcut = shapes_of_list(
                    network,
                    &block.shortcut,
                    &format!("{path}.shortcut"),
                    shape,
                    trace,
                )?;
                if body != shortcut {
                    return Err(NnError::Shape {
                        network: network.to_string(),
                        location: Box::new(location),
                        expected: format!("shortcut output equal to body output {body}"),
                        got: shortcut,
                    });
                }
                body
            }
            other => other
                .output_shape(shape)
                .map_err(|p| p.at(network, location.clone()))?,
        };
        if output.len() > MAX_FEATURE_VALUES {
            return Err(NnError::Shape {
                network: network.to_string(),
                location: Box::new(location),
                expected: format!("an output of at most {MAX_FEATURE_VALUES} values"),
                got: output,
            });
        }
        trace.push(LayerShape {
            location,
            input: shape,
            output,
        });
        shape = output;
    }
    Ok(shape)
}
