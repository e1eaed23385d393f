//! The plaintext forward pass in `f64`: the reference that decrypted encrypted outputs are
//! compared with. Direct loops, no approximation: [`PoolKind::Max`] and [`Activation::Relu`]
//! are exact.

use super::ir::{
    join_path, Activation, BatchNorm, Conv2d, FeatureMap, Layer, LayerLocation, Linear, Network,
    Pool, PoolKind, Shape,
};
use super::NnError;

/// One layer's output, in execution order.
#[derive(Debug, Clone)]
pub struct LayerOutput {
    /// The layer.
    pub location: LayerLocation,
    /// What it produced (for a residual block: the sum of its branches).
    pub output: FeatureMap,
    /// `max |x|` over the layer's input (NaN when the input holds a NaN).
    pub input_max_abs: f64,
    /// Whether the layer is approximated on a bounded input range under encryption (ReLU and
    /// max pooling, by composite minimax polynomials on `[-B, B]`).
    pub needs_bound: bool,
}

/// The result of [`forward()`].
#[derive(Debug, Clone)]
pub struct ForwardPass {
    /// The network's output.
    pub output: FeatureMap,
    /// Every layer's output in execution order: the layers of a residual block's body, then of
    /// its shortcut, then the block's sum.
    pub layer_outputs: Vec<LayerOutput>,
}

impl ForwardPass {
    /// Per layer, the largest absolute output value (what bounds the input range of the next
    /// polynomial or minimax approximation).
    pub fn max_abs_per_layer(&self) -> Vec<(&LayerLocation, f64)> {
        self.layer_outputs
            .iter()
            .map(|l| (&l.location, l.output.max_abs()))
            .collect()
    }

    /// The first layer, in execution order, that needs its inputs within `bound` (ReLU, max
    /// pooling) and got a larger (or NaN) one, with that input's `max |x|`: the checker that
    /// tells the user to raise the bound `B` of a minimax approximation.
    pub fn first_beyond_bound(&self, bound: f64) -> Option<(&LayerLocation, f64)> {
        self.layer_outputs
            .iter()
            .find(|l| l.needs_bound && (l.input_max_abs > bound || l.input_max_abs.is_nan()))
            .map(|l| (&l.location, l.input_max_abs))
    }
}

/// Runs `network` on one input `(C, H, W)` and keeps every layer's output.
///
/// Errors: the network's check ([`Network::shapes`]) or [`NnError::InputShape`].
pub fn forward(network: &Network, input: &FeatureMap) -> Result<ForwardPass, NnError> {
    check(network, input)?;
    let mut layer_outputs = Vec::new();
    let output = run_list(
        &network.layers,
        "",
        input.clone(),
        &mut Some(&mut layer_outputs),
    );
    Ok(ForwardPass {
        output,
        layer_outputs,
    })
}

/// Runs `network` on one input and returns only the output (no per-layer copies).
pub fn infer(network: &Network, input: &FeatureMap) -> Result<FeatureMap, NnError> {
    check(network, input)?;
    Ok(run_list(&network.layers, "", input.clone(), &mut None))
}

fn check(network: &Network, input: &FeatureMap) -> Result<(), NnError> {
    network.shapes()?;
    if input.shape() != network.input_shape {
        return Err(NnError::InputShape {
            network: network.name.clone(),
            expected: network.input_shape,
            got: input.shape(),
        });
    }
    Ok(())
}

/// Runs a checked layer list (shapes fit, parameter lengths match).
fn run_list(
    layers: &[Layer],
    prefix: &str,
    mut x: FeatureMap,
    record: &mut Option<&mut Vec<LayerOutput>>,
) -> FeatureMap {
    for (i, layer) in layers.iter().enumerate() {
        let path = join_path(prefix, i);
        let input_max_abs = if record.is_some() { x.max_abs() } else { 0.0 };
        x = match layer {
            Layer::Conv2d(conv) => conv2d(conv, &x),
            Layer::BatchNorm(bn) => batch_norm(bn, x),
            Layer::Pool(pool) => pool2d(pool, &x),
            Layer::Activation(act) => activation(act.function, x),
            Layer::Flatten => x.flattened(),
            Layer::Linear(linear) => fully_connected(linear, &x),
            Layer::Downsample(d) => d.apply(&x),
            Layer::Residual(block) => {
                let mut sum = run_list(&block.body, &format!("{path}.body"), x.clone(), record);
                let shortcut = run_list(&block.shortcut, &format!("{path}.shortcut"), x, record);
                for (s, v) in sum.data_mut().iter_mut().zip(shortcut.data()) {
                    *s += v;
                }
                sum
            }
        };
        if let Some(outputs) = record {
            outputs.push(LayerOutput {
                location: LayerLocation {
                    path,
                    kind: layer.kind(),
                    name: layer.name().to_string(),
                },
                output: x.clone(),
                input_max_abs,
                needs_bound: match layer {
                    Layer::Activation(act) => act.function == Activation::Relu,
                    Layer::Pool(pool) => pool.kind == PoolKind::Max,
                    _ => false,
                },
            });
        }
    }
    x
}

/// Direct convolution. Each output plane starts at its bias; then, for every (group input
/// channel, ky, kx), the weight times the shifted input rows is added to the output rows whose
/// window position falls inside the input (padded positions contribute nothing). Inner loops
/// run over contiguous rows (vectorizable at stride 1).
fn conv2d(conv: &Conv2d, input: &FeatureMap) -> FeatureMap {
    let Shape {
        height: h,
        width: w,
        ..
    } = input.shape();
    let (k, stride, pad) = (conv.kernel_size, conv.stride, conv.padding);
    let out_h = (h + 2 * pad - k) / stride + 1;
    let out_w = (w + 2 * pad - k) / stride + 1;
    let in_per_group = conv.in_channels_per_group();
    let out_per_group = conv.out_channels_per_group();
    let x = input.data();
    // Output indices o with 0 <= o * stride + offset - pad < n, for o < out_n: [lo, hi).
    let valid = |offset: usize, n: usize, out_n: usize| {
        let lo = pad.saturating_sub(offset).div_ceil(stride);
        let hi = (n + pad)
            .checked_sub(offset + 1)
            .map_or(0, |last| (last / stride + 1).min(out_n));
        (lo, hi.max(lo))
    };
    let mut out = vec![0.0; conv.out_channels * out_h * out_w];
    for (o, plane) in out.chunks_exact_mut(out_h * out_w).enumerate() {
        plane.fill(conv.bias.as_ref().map_or(0.0, |b| b[o]));
        let group = o / out_per_group;
        for ig in 0..in_per_group {
            let channel = &x[(group * in_per_group + ig) * h * w..][..h * w];
            for ky in 0..k {
                let (oy_lo, oy_hi) = valid(ky, h, out_h);
                for kx in 0..k {
                    let (ox_lo, ox_hi) = valid(kx, w, out_w);
                    let weight = conv.weight[conv.weight_index(o, ig, ky, kx)];
                    for oy in oy_lo..oy_hi {
                        let in_row = &channel[(oy * stride + ky - pad) * w..][..w];
                        let out_row = &mut plane[oy * out_w..][ox_lo..ox_hi];
                        if stride == 1 {
                            let in_cols = &in_row[ox_lo + kx - pad..][..ox_hi - ox_lo];
                            for (y, v) in out_row.iter_mut().zip(in_cols) {
                                *y += weight * v;
                            }
                        } else {
                            for (j, y) in out_row.iter_mut().enumerate() {
                                *y += weight * in_row[(ox_lo + j) * stride + kx - pad];
                            }
                        }
                    }
                }
            }
        }
    }
    FeatureMap::from_parts(Shape::new(conv.out_channels, out_h, out_w), out)
}

fn batch_norm(bn: &BatchNorm, mut x: FeatureMap) -> FeatureMap {
    let plane = x.shape().height * x.shape().width;
    for (c, (scale, shift)) in bn.scale_shift().into_iter().enumerate() {
        for v in &mut x.data_mut()[c * plane..(c + 1) * plane] {
            *v = scale * *v + shift;
        }
    }
    x
}

fn pool2d(pool: &Pool, input: &FeatureMap) -> FeatureMap {
    let Shape {
        channels,
        height: h,
        width: w,
    } = input.shape();
    let (k, stride) = (pool.kernel_size, pool.stride);
    let out_h = (h - k) / stride + 1;
    let out_w = (w - k) / stride + 1;
    let x = input.data();
    let mut out = Vec::with_capacity(channels * out_h * out_w);
    for c in 0..channels {
        for oy in 0..out_h {
            for ox in 0..out_w {
                let window = (0..k).flat_map(|ky| {
                    (0..k).map(move |kx| x[(c * h + oy * stride + ky) * w + ox * stride + kx])
                });
                out.push(match pool.kind {
                    PoolKind::Average => window.sum::<f64>() / (k * k) as f64,
                    PoolKind::Max => window.fold(f64::NEG_INFINITY, f64::max),
                });
            }
        }
    }
    FeatureMap::from_parts(Shape::new(channels, out_h, out_w), out)
}

fn activation(function: Activation, mut x: FeatureMap) -> FeatureMap {
    for v in x.data_mut() {
        *v = function.eval(*v);
    }
    x
}

fn fully_connected(linear: &Linear, input: &FeatureMap) -> FeatureMap {
    let x = input.data();
    let out = (0..linear.out_features)
        .map(|o| {
            let row = &linear.weight[o * linear.in_features..(o + 1) * linear.in_features];
            let dot: f64 = row.iter().zip(x).map(|(w, v)| w * v).sum();
            dot + linear.bias.as_ref().map_or(0.0, |b| b[o])
        })
        .collect();
    FeatureMap::from_parts(Shape::flat(linear.out_features), out)
}
