//! Compiling: the whole-network program assembled from the layers' programs (values
//! renumbered, the depth of every value tracked, bootstrappings and level drops placed), and
//! the units minimax ReLUs make layers write their outputs in.

use super::conv::{EffectiveLayer, PruneReport};
use super::program::{op_depth, HeOp, HeProgram, ReluSpec, ValueId};
use super::report::ReportOptions;
use super::{InputsError, PackError};
use crate::nn::ir::join_path;
use crate::nn::Layer;

/// The whole-network program being assembled (compile mode of the walk): each layer's program
/// appended with its values renumbered, the depth of every value tracked.
#[derive(Debug)]
pub(super) struct Assembly {
    /// The program so far (its outputs are set when the walk ends).
    pub(super) program: HeProgram,
    /// The depth of every value of `program` (see [`HeProgram::check`]).
    depths: Vec<usize>,
    /// Effective convolutions by path.
    pub(super) effective: Vec<(String, EffectiveLayer)>,
    /// Pruning of each pruned convolution, by location.
    pub(super) pruning: Vec<(String, PruneReport)>,
    /// Bootstrapping operations emitted.
    pub(super) bootstrappings: usize,
}

impl Assembly {
    /// An empty program of `slots` slots on `ciphertexts` input ciphertexts (at depth 0),
    /// running minimax ReLUs as `relu` says.
    pub(super) fn new(slots: usize, ciphertexts: usize, relu: Option<ReluSpec>) -> Self {
        Assembly {
            program: HeProgram {
                relu,
                ..HeProgram::new(slots, ciphertexts)
            },
            depths: vec![0; ciphertexts],
            effective: Vec::new(),
            pruning: Vec::new(),
            bootstrappings: 0,
        }
    }

    /// Appends `prog` (inputs: `inputs`) to the assembled program and returns the values of
    /// its outputs.
    pub(super) fn emit(&mut self, prog: HeProgram, inputs: &[ValueId]) -> Vec<ValueId> {
        debug_assert_eq!(inputs.len(), prog.inputs);
        let (base, plain_offset, local_inputs) = (
            self.program.value_count(),
            self.program.plaintexts.len(),
            prog.inputs,
        );
        let value = |v: ValueId| {
            if v < local_inputs {
                inputs[v]
            } else {
                base + v - local_inputs
            }
        };
        let relu_depth = self.program.relu.map_or(0, |r| r.depth);
        for op in prog.ops {
            let op = renumber(op, value, plain_offset);
            self.depths.push(op_depth(&op, &self.depths, relu_depth));
            self.program.ops.push(op);
        }
        self.program.plaintexts.extend(prog.plaintexts);
        prog.outputs.iter().map(|&o| value(o)).collect()
    }

    /// The deepest of `values` (0 for none).
    pub(super) fn depth_of(&self, values: &[ValueId]) -> usize {
        values.iter().map(|&v| self.depths[v]).max().unwrap_or(0)
    }

    /// Compiling with bootstrapping: bootstraps every ciphertext of `values` when `need` more
    /// levels would exceed `levels` ([`ReportOptions::bootstrap_levels`]); an error naming
    /// `location` when `need` alone does.
    pub(super) fn refresh(
        &mut self,
        values: &mut Vec<ValueId>,
        need: usize,
        levels: usize,
        location: &str,
    ) -> Result<(), PackError> {
        if need > levels {
            return Err(PackError::Unsupported {
                location: location.to_string(),
                problem: format!(
                    "needs {need} levels, more than the {levels} left after bootstrapping"
                ),
            });
        }
        if self.depth_of(values) + need <= levels {
            return Ok(());
        }
        let count = values.len();
        let mut prog = HeProgram::new(self.program.slots, count);
        for ct in 0..count {
            let refreshed = prog.push(HeOp::Bootstrap { src: ct });
            prog.outputs.push(refreshed);
        }
        *values = self.emit(prog, values);
        self.bootstrappings += count;
        Ok(())
    }

    /// Drops `values` to `depth` where they are shallower.
    pub(super) fn drop_to(&mut self, values: &[ValueId], depth: usize) -> Vec<ValueId> {
        let mut out = Vec::with_capacity(values.len());
        for &v in values {
            let d = self.depth_of(&[v]);
            if d < depth {
                let mut prog = HeProgram::new(self.program.slots, 1);
                let dropped = prog.push(HeOp::DropLevel {
                    src: 0,
                    levels: depth - d,
                });
                prog.outputs.push(dropped);
                out.extend(self.emit(prog, &[v]));
            } else {
                out.push(v);
            }
        }
        out
    }
}

/// `op` with its values renumbered by `value` and its plaintexts shifted by `plain_offset`.
fn renumber(op: HeOp, value: impl Fn(ValueId) -> ValueId, plain_offset: usize) -> HeOp {
    match op {
        HeOp::Rotate { src, step, hoisted } => HeOp::Rotate {
            src: value(src),
            step,
            hoisted,
        },
        HeOp::PMult { src, plain } => HeOp::PMult {
            src: value(src),
            plain: plain + plain_offset,
        },
        HeOp::AddPlain { src, plain } => HeOp::AddPlain {
            src: value(src),
            plain: plain + plain_offset,
        },
        HeOp::Add { a, b } => HeOp::Add {
            a: value(a),
            b: value(b),
        },
        HeOp::MulRelin { a, b } => HeOp::MulRelin {
            a: value(a),
            b: value(b),
        },
        HeOp::Rescale { src } => HeOp::Rescale { src: value(src) },
        HeOp::AddConst { src, value: c } => HeOp::AddConst {
            src: value(src),
            value: c,
        },
        HeOp::MulConst { src, value: c } => HeOp::MulConst {
            src: value(src),
            value: c,
        },
        HeOp::Relu { src, multiplier } => HeOp::Relu {
            src: value(src),
            multiplier,
        },
        HeOp::Bootstrap { src } => HeOp::Bootstrap { src: value(src) },
        HeOp::DropLevel { src, levels } => HeOp::DropLevel {
            src: value(src),
            levels,
        },
    }
}

/// Compiling minimax ReLUs: the bound of each activation layer (by path) and the unit each
/// layer writes its output in (see [`ReportOptions::relu_bounds`]).
#[derive(Debug)]
pub(super) struct ReluUnits<'a> {
    /// Paths of the activation layers in execution order (index = bound index).
    activations: Vec<String>,
    /// Their bounds, [`ReportOptions::relu_bounds`].
    bounds: &'a [f64],
    /// Compiling minimax ReLUs (units land on their bounds); else every unit is 1.
    compiling: bool,
}

impl<'a> ReluUnits<'a> {
    /// The units of the activation layers of `layers` (the folded network's) with the bounds
    /// of `nonlinear`, compiling minimax ReLUs when `compile` and `nonlinear.relu` is set.
    /// Errors (when compiling them): not one bound per activation layer, a bound not finite
    /// and > 0.
    pub(super) fn new(
        layers: &[Layer],
        nonlinear: &'a ReportOptions,
        compile: bool,
    ) -> Result<Self, PackError> {
        let mut activations = Vec::new();
        activation_paths(layers, "", &mut activations);
        let compiling = compile && nonlinear.relu.is_some();
        if compiling {
            if nonlinear.relu_bounds.len() != activations.len() {
                return Err(InputsError::ReluBounds {
                    given: nonlinear.relu_bounds.len(),
                    activations: activations.len(),
                }
                .into());
            }
            if let Some(b) = nonlinear
                .relu_bounds
                .iter()
                .find(|b| !(b.is_finite() && **b > 0.0))
            {
                return Err(InputsError::ReluBound { bound: *b }.into());
            }
        }
        Ok(ReluUnits {
            activations,
            bounds: &nonlinear.relu_bounds,
            compiling,
        })
    }

    /// Whether minimax ReLUs are compiled.
    pub(super) fn compiling(&self) -> bool {
        self.compiling
    }

    /// The bound of the activation layer at `path` (compiling minimax ReLUs).
    pub(super) fn bound(&self, path: &str) -> Result<f64, PackError> {
        let index = self
            .activations
            .iter()
            .position(|p| p == path)
            .ok_or_else(|| PackError::Unsupported {
                location: format!("#{path}"),
                problem: "no activation layer at this path".into(),
            })?;
        Ok(self.bounds[index])
    }

    /// The unit the output of `layers[i]` is written in when compiling minimax ReLUs: the
    /// next layer's bound when it is an activation, `tail` when `layers[i]` ends the list,
    /// else 1 (true values).
    pub(super) fn unit_after(
        &self,
        layers: &[Layer],
        prefix: &str,
        i: usize,
        tail: f64,
    ) -> Result<f64, PackError> {
        if !self.compiling {
            return Ok(1.0);
        }
        match layers.get(i + 1) {
            None => Ok(tail),
            Some(Layer::Activation(_)) => self.bound(&join_path(prefix, i + 1)),
            Some(_) => Ok(1.0),
        }
    }

    /// The unit a minimax ReLU at `layers[i]` with bound `bound` writes: what an identity
    /// shortcut right after it must carry (the block's output unit), `tail` at the end of
    /// the list, else its own bound (multiplier 1).
    pub(super) fn output_unit(
        &self,
        layers: &[Layer],
        prefix: &str,
        i: usize,
        tail: f64,
        bound: f64,
    ) -> Result<f64, PackError> {
        match layers.get(i + 1) {
            None => Ok(tail),
            Some(Layer::Residual(block)) if block.shortcut.is_empty() => {
                self.unit_after(layers, prefix, i + 1, tail)
            }
            Some(_) => Ok(bound),
        }
    }
}

/// The number of activation layers of `layers` (the folded network's): one bound each.
pub(super) fn activation_count(layers: &[Layer]) -> usize {
    let mut paths = Vec::new();
    activation_paths(layers, "", &mut paths);
    paths.len()
}

/// The paths of the activation layers of `layers` in execution order (bodies before
/// shortcuts), as the walk meets them.
fn activation_paths(layers: &[Layer], prefix: &str, out: &mut Vec<String>) {
    for (i, layer) in layers.iter().enumerate() {
        let path = join_path(prefix, i);
        match layer {
            Layer::Activation(_) => out.push(path),
            Layer::Residual(block) => {
                activation_paths(&block.body, &format!("{path}.body"), out);
                activation_paths(&block.shortcut, &format!("{path}.shortcut"), out);
            }
            _ => {}
        }
    }
}
