//! The fast `f32` forward pass for accuracy runs over whole datasets: batch norms folded,
//! convolutions as im2col + GEMM (`matrixmultiply`'s `sgemm`, which picks AVX/FMA kernels at
//! run time), one image per call so callers parallelize over images.
//!
//! Activations go through an [`ActivationHook`] with their index in execution order (the order
//! of [`crate::nn::forward()`]'s activation layers), so a caller can swap ReLU for its minimax
//! approximation or record pre-activation ranges without another copy of the network walk.
//! [`ExactActivations`] applies each layer's own function.
//!
//! The `f64` [`crate::nn::forward()`] stays the reference: a test holds the two within `f32`
//! rounding.

use super::ir::{Activation, Conv2d, Layer, Linear, Network, Pool, PoolKind, Shape};
use super::shortcut::Downsample;
use super::{fold_batch_norm, NnError};

/// What an activation layer does to its input, in place.
pub trait ActivationHook {
    /// Applies activation `index` (0-based, execution order) whose layer function is
    /// `function` to `values` (its whole input, CHW).
    fn apply(&mut self, index: usize, function: Activation, values: &mut [f32]);
}

/// Every activation is its layer's own function, evaluated in `f32` (polynomials in `f64`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactActivations;

impl ActivationHook for ExactActivations {
    fn apply(&mut self, _index: usize, function: Activation, values: &mut [f32]) {
        match function {
            Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
            poly @ Activation::Poly { .. } => values
                .iter_mut()
                .for_each(|v| *v = poly.eval(f64::from(*v)) as f32),
        }
    }
}

/// A network ready for fast `f32` inference (immutable, `Sync`: share it across threads).
#[derive(Debug, Clone)]
pub struct FastNetwork {
    name: String,
    input_shape: Shape,
    output_len: usize,
    activation_names: Vec<String>,
    ops: Vec<Op>,
}

#[derive(Debug, Clone)]
enum Op {
    Conv(FastConv),
    Linear {
        weight: Vec<f32>,
        bias: Vec<f32>,
        inputs: usize,
        outputs: usize,
    },
    Activation {
        index: usize,
        function: Activation,
    },
    Pool {
        pool: Pool,
        input: Shape,
    },
    Flatten,
    Downsample {
        layer: Downsample,
        input: Shape,
    },
    Residual {
        body: Vec<Op>,
        shortcut: Vec<Op>,
    },
}

#[derive(Debug, Clone)]
struct FastConv {
    /// `[out][in/groups * k * k]` row-major: group `g`'s rows are one GEMM left operand.
    weight: Vec<f32>,
    bias: Vec<f32>,
    groups: usize,
    in_per_group: usize,
    out_per_group: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    input: Shape,
    output: Shape,
}

impl FastNetwork {
    /// Checks `network`, folds its batch norms and converts its tensors to `f32`.
    pub fn new(network: &Network) -> Result<FastNetwork, NnError> {
        let folded = fold_batch_norm(network)?;
        let shapes = folded.shapes()?;
        let output_len = shapes
            .iter()
            .rev()
            .find(|s| !s.location.path.contains('.'))
            .map_or(folded.input_shape.len(), |s| s.output.len());
        let mut activation_names = Vec::new();
        let mut shape = folded.input_shape;
        let ops = compile_list(&folded.layers, &mut shape, &mut activation_names);
        Ok(FastNetwork {
            name: folded.name,
            input_shape: folded.input_shape,
            output_len,
            activation_names,
            ops,
        })
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The input shape `(C, H, W)`.
    pub fn input_shape(&self) -> Shape {
        self.input_shape
    }

    /// The activation layers' names in execution order (the hook's index is the position).
    pub fn activation_names(&self) -> &[String] {
        &self.activation_names
    }

    /// Values of the output.
    pub fn output_len(&self) -> usize {
        self.output_len
    }

    /// Runs one input (CHW, `input_shape().len()` values) and returns the output.
    ///
    /// Errors: [`NnError::FeatureMapLength`] when `input` has the wrong length.
    pub fn run(&self, input: &[f32], hook: &mut dyn ActivationHook) -> Result<Vec<f32>, NnError> {
        if input.len() != self.input_shape.len() {
            return Err(NnError::FeatureMapLength {
                shape: self.input_shape,
                expected: self.input_shape.len(),
                got: input.len(),
            });
        }
        let out = run_list(&self.ops, input.to_vec(), hook);
        debug_assert_eq!(out.len(), self.output_len);
        Ok(out)
    }
}

fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// Layers to ops; shapes were checked by the caller ([`Network::shapes`]).
fn compile_list(layers: &[Layer], shape: &mut Shape, activations: &mut Vec<String>) -> Vec<Op> {
    let mut ops = Vec::with_capacity(layers.len());
    for layer in layers {
        let input = *shape;
        let op = match layer {
            Layer::Conv2d(conv) => {
                let fast = compile_conv(conv, input);
                *shape = fast.output;
                Op::Conv(fast)
            }
            Layer::Linear(linear) => {
                *shape = Shape::flat(linear.out_features);
                compile_linear(linear)
            }
            Layer::Activation(act) => {
                activations.push(act.name.clone());
                Op::Activation {
                    index: activations.len() - 1,
                    function: act.function,
                }
            }
            Layer::Pool(pool) => {
                let out = |n: usize| (n - pool.kernel_size) / pool.stride + 1;
                *shape = Shape::new(input.channels, out(input.height), out(input.width));
                Op::Pool { pool: *pool, input }
            }
            Layer::Flatten => {
                *shape = Shape::flat(input.len());
                Op::Flatten
            }
            Layer::Downsample(d) => {
                *shape = d.output_shape(input).expect("checked by Network::shapes");
                Op::Downsample { layer: *d, input }
            }
            Layer::Residual(block) => {
                let mut body_shape = input;
                let body = compile_list(&block.body, &mut body_shape, activations);
                let mut short_shape = input;
                let shortcut = compile_list(&block.shortcut, &mut short_shape, activations);
                *shape = body_shape;
                Op::Residual { body, shortcut }
            }
            // fold_batch_norm left none.
            Layer::BatchNorm(_) => unreachable!("batch norms are folded"),
        };
        ops.push(op);
    }
    ops
}

fn compile_conv(conv: &Conv2d, input: Shape) -> FastConv {
    let (k, stride, pad) = (conv.kernel_size, conv.stride, conv.padding);
    let out = |n: usize| (n + 2 * pad - k) / stride + 1;
    FastConv {
        weight: to_f32(&conv.weight),
        bias: conv
            .bias
            .as_deref()
            .map_or_else(|| vec![0.0; conv.out_channels], to_f32),
        groups: conv.groups,
        in_per_group: conv.in_channels_per_group(),
        out_per_group: conv.out_channels_per_group(),
        kernel: k,
        stride,
        padding: pad,
        input,
        output: Shape::new(conv.out_channels, out(input.height), out(input.width)),
    }
}

fn compile_linear(linear: &Linear) -> Op {
    Op::Linear {
        weight: to_f32(&linear.weight),
        bias: linear
            .bias
            .as_deref()
            .map_or_else(|| vec![0.0; linear.out_features], to_f32),
        inputs: linear.in_features,
        outputs: linear.out_features,
    }
}

fn run_list(ops: &[Op], mut x: Vec<f32>, hook: &mut dyn ActivationHook) -> Vec<f32> {
    for op in ops {
        x = match op {
            Op::Conv(conv) => conv.apply(&x),
            Op::Linear {
                weight,
                bias,
                inputs,
                outputs,
            } => {
                let mut y = bias.clone();
                gemm(*outputs, *inputs, 1, weight, &x, &mut y, 1.0);
                y
            }
            Op::Activation { index, function } => {
                hook.apply(*index, *function, &mut x);
                x
            }
            Op::Pool { pool, input } => pool2d(pool, *input, &x),
            Op::Flatten => x,
            Op::Downsample { layer, input } => downsample(layer, *input, &x),
            Op::Residual { body, shortcut } => {
                let mut sum = run_list(body, x.clone(), hook);
                let short = run_list(shortcut, x, hook);
                for (s, v) in sum.iter_mut().zip(&short) {
                    *s += v;
                }
                sum
            }
        };
    }
    x
}

/// `c = a (m x k) * b (k x n) + beta * c`, all row-major and contiguous.
fn gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], beta: f32) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the three slices hold at least m*k, k*n and m*n elements (asserted), and the
    // strides describe contiguous row-major matrices inside them; `c` does not alias `a` or `b`
    // (it is a distinct `&mut`).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

impl FastConv {
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        let (oh, ow) = (self.output.height, self.output.width);
        let plane = oh * ow;
        let depth = self.in_per_group * self.kernel * self.kernel;
        let mut out = vec![0.0f32; self.output.len()];
        for (o, row) in out.chunks_exact_mut(plane).enumerate() {
            row.fill(self.bias[o]);
        }
        let mut columns = vec![0.0f32; depth * plane];
        for g in 0..self.groups {
            let group_input = &x[g * self.in_per_group * self.input.height * self.input.width..]
                [..self.in_per_group * self.input.height * self.input.width];
            let direct = self.kernel == 1 && self.stride == 1 && self.padding == 0;
            let b: &[f32] = if direct {
                group_input
            } else {
                self.im2col(group_input, &mut columns);
                &columns
            };
            let weight =
                &self.weight[g * self.out_per_group * depth..][..self.out_per_group * depth];
            let c = &mut out[g * self.out_per_group * plane..][..self.out_per_group * plane];
            gemm(self.out_per_group, depth, plane, weight, b, c, 1.0);
        }
        out
    }

    /// Row `(c, ky, kx)`, column `(oy, ox)`: input `(c, oy s + ky - p, ox s + kx - p)` or 0.
    fn im2col(&self, x: &[f32], columns: &mut [f32]) {
        let (h, w) = (self.input.height, self.input.width);
        let (oh, ow) = (self.output.height, self.output.width);
        let (k, s, p) = (self.kernel, self.stride, self.padding);
        let mut rows = columns.chunks_exact_mut(oh * ow);
        for c in 0..self.in_per_group {
            let channel = &x[c * h * w..][..h * w];
            for ky in 0..k {
                for kx in 0..k {
                    let row = rows.next().expect("depth rows");
                    for oy in 0..oh {
                        let out_row = &mut row[oy * ow..][..ow];
                        let iy = (oy * s + ky).wrapping_sub(p);
                        if iy >= h {
                            out_row.fill(0.0);
                            continue;
                        }
                        let in_row = &channel[iy * w..][..w];
                        for (ox, v) in out_row.iter_mut().enumerate() {
                            let ix = (ox * s + kx).wrapping_sub(p);
                            *v = if ix < w { in_row[ix] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }
}

fn pool2d(pool: &Pool, input: Shape, x: &[f32]) -> Vec<f32> {
    let (h, w) = (input.height, input.width);
    let (k, stride) = (pool.kernel_size, pool.stride);
    let (oh, ow) = ((h - k) / stride + 1, (w - k) / stride + 1);
    let mut out = Vec::with_capacity(input.channels * oh * ow);
    for c in 0..input.channels {
        for oy in 0..oh {
            for ox in 0..ow {
                let window = (0..k).flat_map(|ky| {
                    (0..k).map(move |kx| x[(c * h + oy * stride + ky) * w + ox * stride + kx])
                });
                out.push(match pool.kind {
                    PoolKind::Average => window.sum::<f32>() / (k * k) as f32,
                    PoolKind::Max => window.fold(f32::NEG_INFINITY, f32::max),
                });
            }
        }
    }
    out
}

fn downsample(layer: &Downsample, input: Shape, x: &[f32]) -> Vec<f32> {
    let output = layer
        .output_shape(input)
        .expect("checked by Network::shapes");
    let mut out = vec![0.0f32; output.len()];
    let s = layer.stride;
    for c in 0..input.channels {
        for i in 0..output.height {
            for j in 0..output.width {
                out[((layer.pad_before + c) * output.height + i) * output.width + j] =
                    x[(c * input.height + i * s) * input.width + j * s];
            }
        }
    }
    out
}
