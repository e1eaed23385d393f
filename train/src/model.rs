//! The candle mirror of a host [`Network`]: one candle layer per IR layer, holding its tensors
//! as trainable [`Var`]s under the IR's PyTorch `state_dict` names, so that training changes
//! exactly the parameters the compiler reads.
//!
//! Layer for layer (top-level layers only; residual blocks and downsampling are refused):
//! - [`Layer::Conv2d`]: `conv2d(x, weight, padding, stride, dilation 1, groups) + bias`, weight
//!   `[out, in / groups, k, k]` (the IR's layout, which is PyTorch's and candle's);
//! - [`Layer::BatchNorm`]: batch statistics and running-statistics update (momentum 0.1) in
//!   training, running statistics in evaluation (PyTorch's `BatchNorm2d`);
//! - [`Layer::Pool`]: average or max pooling, window `k`, stride `s`, no padding;
//! - [`Layer::Activation`]: `a x^2 + b x + c` with trainable scalars `a`, `b`, `c` (shape
//!   `[]`), or ReLU;
//! - [`Layer::Flatten`]: `(N, C, H, W) -> (N, C * H * W)`, CHW order (PyTorch's `flatten`);
//! - [`Layer::Linear`]: `x weight^T + bias`, weight `[out, in]`.
//!
//! Values cross between the IR (`f64`) and candle (`f32`) by rounding to nearest when the
//! mirror is built, and exactly (every `f32` is an `f64`) when it is written back.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::ModuleT;
use heaccel_host::nn::{Activation, Layer, Network, PoolKind};

use crate::act::Quadratic;
pub use crate::conv::conv2d;
use crate::TrainError;

/// One mirrored layer.
#[derive(Debug)]
enum MirrorLayer {
    Conv {
        weight: Var,
        bias: Option<Var>,
        stride: usize,
        padding: usize,
        groups: usize,
    },
    BatchNorm(candle_nn::BatchNorm),
    /// A training-only batch norm after a convolution or fully connected layer, folded into
    /// that layer's weight and bias on export (see [`Mirror::new`]).
    FoldedNorm(candle_nn::BatchNorm),
    Pool {
        kind: PoolKind,
        kernel: usize,
        stride: usize,
    },
    Poly {
        a: Var,
        b: Var,
        c: Var,
    },
    Relu,
    Flatten,
    Linear {
        weight: Var,
        bias: Option<Var>,
    },
}

/// A host [`Network`] as a trainable candle model (see the module docs).
#[derive(Debug)]
pub struct Mirror {
    network: String,
    layers: Vec<MirrorLayer>,
    /// Trainable tensors by `state_dict` name, in [`Network::parameters`] order.
    trainable: Vec<(String, Var)>,
    /// Batch-norm running statistics by `state_dict` name (updated by training, not by the
    /// optimizer).
    running: Vec<(String, Tensor)>,
    /// The activation-range penalty `(lambda, B)` applied by the quadratic activations'
    /// backward pass (see [`Mirror::set_range_penalty`]).
    range: (f32, f32),
    /// Trainable tensors that are not the network's (the folded norms' scale and shift).
    auxiliary: Vec<Var>,
    /// The folded norms: `(index in layers, weight name, bias name)` of the layer before.
    folded: Vec<(usize, String, String)>,
}

/// A batch norm of `n` channels with `gamma = 1`, `beta = 0` (trainable, pushed onto
/// `auxiliary`), running mean 0 and variance 1, `eps = 1e-5`, momentum 0.1.
fn fresh_norm(
    n: usize,
    device: &Device,
    auxiliary: &mut Vec<Var>,
) -> Result<candle_nn::BatchNorm, TrainError> {
    let gamma = Var::ones(n, DType::F32, device)?;
    let beta = Var::zeros(n, DType::F32, device)?;
    auxiliary.push(gamma.clone());
    auxiliary.push(beta.clone());
    Ok(candle_nn::BatchNorm::new_with_momentum(
        n,
        Tensor::zeros(n, DType::F32, device)?,
        Tensor::ones(n, DType::F32, device)?,
        gamma.as_tensor().clone(),
        beta.as_tensor().clone(),
        1e-5,
        0.1,
    )?)
}

/// The quadratic activation `a x^2 + b x + c` of `coefficients = [a, b, c]` on `x` as the
/// mirror computes it (one fused operation, no range penalty), differentiable in both.
pub fn quadratic(x: &Tensor, coefficients: &Tensor) -> Result<Tensor, TrainError> {
    let op = Quadratic {
        penalty: 0.0,
        bound: 1.0,
    };
    Ok(x.contiguous()?.apply_op2(coefficients, op)?)
}

fn var(values: &[f64], shape: &[usize], device: &Device) -> Result<Var, TrainError> {
    let data: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Ok(Var::from_vec(data, shape, device)?)
}

impl Mirror {
    /// Builds the mirror of `network` (checked by [`Network::shapes`]) with its current
    /// parameter values, on `device`.
    ///
    /// With `fold_norms`, every convolution and fully connected layer that has a bias, is not
    /// the last layer and is not followed by a batch norm gets a training-only batch norm
    /// (scale 1, shift 0, momentum 0.1): training then normalizes its outputs per channel
    /// over each minibatch (Ioffe and Szegedy, 2015), which LeNet's global average pooling of
    /// quadratic features needs to train quickly, and [`Mirror::write_into`] folds the norm's
    /// inference form into the layer (`w[o] * s[o]`, `(b[o] - mean[o]) * s[o] + beta[o]` with
    /// `s[o] = gamma[o] / sqrt(var[o] + eps)`), so the exported network has exactly the
    /// architecture it came from.
    pub fn new(network: &Network, device: &Device, fold_norms: bool) -> Result<Mirror, TrainError> {
        network.shapes()?;
        let mut layers = Vec::with_capacity(network.layers.len());
        let mut trainable = Vec::new();
        let mut running = Vec::new();
        let mut auxiliary = Vec::new();
        let mut folded = Vec::new();
        let count = network.layers.len();
        for (index, layer) in network.layers.iter().enumerate() {
            let mirrored = match layer {
                Layer::Conv2d(c) => {
                    let weight = var(&c.weight, &c.weight_shape(), device)?;
                    trainable.push((format!("{}.weight", c.name), weight.clone()));
                    let bias = match &c.bias {
                        Some(b) => {
                            let v = var(b, &[b.len()], device)?;
                            trainable.push((format!("{}.bias", c.name), v.clone()));
                            Some(v)
                        }
                        None => None,
                    };
                    MirrorLayer::Conv {
                        weight,
                        bias,
                        stride: c.stride,
                        padding: c.padding,
                        groups: c.groups,
                    }
                }
                Layer::Linear(l) => {
                    let weight = var(&l.weight, &[l.out_features, l.in_features], device)?;
                    trainable.push((format!("{}.weight", l.name), weight.clone()));
                    let bias = match &l.bias {
                        Some(b) => {
                            let v = var(b, &[b.len()], device)?;
                            trainable.push((format!("{}.bias", l.name), v.clone()));
                            Some(v)
                        }
                        None => None,
                    };
                    MirrorLayer::Linear { weight, bias }
                }
                Layer::BatchNorm(b) => {
                    let n = b.channels;
                    let gamma = var(&b.gamma, &[n], device)?;
                    let beta = var(&b.beta, &[n], device)?;
                    trainable.push((format!("{}.weight", b.name), gamma.clone()));
                    trainable.push((format!("{}.bias", b.name), beta.clone()));
                    let bn = candle_nn::BatchNorm::new_with_momentum(
                        n,
                        var(&b.running_mean, &[n], device)?.as_tensor().clone(),
                        var(&b.running_var, &[n], device)?.as_tensor().clone(),
                        gamma.as_tensor().clone(),
                        beta.as_tensor().clone(),
                        b.eps,
                        0.1,
                    )?;
                    running.push((
                        format!("{}.running_mean", b.name),
                        Tensor::zeros(n, DType::F32, device)?,
                    ));
                    running.push((
                        format!("{}.running_var", b.name),
                        Tensor::zeros(n, DType::F32, device)?,
                    ));
                    MirrorLayer::BatchNorm(bn)
                }
                Layer::Pool(p) => MirrorLayer::Pool {
                    kind: p.kind,
                    kernel: p.kernel_size,
                    stride: p.stride,
                },
                Layer::Activation(a) => match a.function {
                    Activation::Poly {
                        a: ca,
                        b: cb,
                        c: cc,
                    } => {
                        let mut scalar = |suffix: &str, value: f64| -> Result<Var, TrainError> {
                            let v = Var::from_tensor(&Tensor::new(value as f32, device)?)?;
                            trainable.push((format!("{}.{suffix}", a.name), v.clone()));
                            Ok(v)
                        };
                        MirrorLayer::Poly {
                            a: scalar("a", ca)?,
                            b: scalar("b", cb)?,
                            c: scalar("c", cc)?,
                        }
                    }
                    Activation::Relu => MirrorLayer::Relu,
                },
                Layer::Flatten => MirrorLayer::Flatten,
                Layer::Residual(_) | Layer::Downsample(_) => {
                    return Err(TrainError::UnsupportedLayer {
                        network: network.name.clone(),
                        path: index.to_string(),
                        kind: layer.kind(),
                    })
                }
            };
            layers.push(mirrored);
            let foldable = match layer {
                Layer::Conv2d(c) => c.bias.is_some().then(|| (c.name.clone(), c.out_channels)),
                Layer::Linear(l) => l.bias.is_some().then(|| (l.name.clone(), l.out_features)),
                _ => None,
            };
            let next_is_norm = matches!(network.layers.get(index + 1), Some(Layer::BatchNorm(_)));
            if let (true, Some((name, channels)), false, true) =
                (fold_norms, foldable, next_is_norm, index + 1 < count)
            {
                let bn = fresh_norm(channels, device, &mut auxiliary)?;
                folded.push((
                    layers.len(),
                    format!("{name}.weight"),
                    format!("{name}.bias"),
                ));
                layers.push(MirrorLayer::FoldedNorm(bn));
            }
        }
        Ok(Mirror {
            network: network.name.clone(),
            layers,
            trainable,
            running,
            range: (0.0, 1.0),
            auxiliary,
            folded,
        })
    }

    /// Adds `lambda * mean(max(|x| - bound, 0)^2)` per quadratic activation (over the inputs
    /// `x` of a batch) to the loss that backward passes differentiate (applied through the
    /// gradient, see the `act` module); `lambda = 0` (the default) turns it off.
    pub fn set_range_penalty(&mut self, lambda: f64, bound: f64) {
        self.range = (lambda as f32, bound as f32);
    }

    /// The network's name.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// Every tensor the optimizer trains: [`Mirror::trainable`]'s and the folded norms' scales
    /// and shifts.
    pub fn variables(&self) -> Vec<Var> {
        self.trainable
            .iter()
            .map(|(_, v)| v.clone())
            .chain(self.auxiliary.iter().cloned())
            .collect()
    }

    /// The trainable tensors with their `state_dict` names, in [`Network::parameters`] order
    /// (batch-norm running statistics excluded).
    pub fn trainable(&self) -> &[(String, Var)] {
        &self.trainable
    }

    /// Runs a batch `x` of shape `[N, C, H, W]` (the network's input shape per sample) and
    /// returns the logits `[N, outputs]`; in training mode (`train`) batch norms use and
    /// update batch statistics.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, TrainError> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = self.apply(layer, &x, train)?;
        }
        Ok(if x.rank() > 2 { x.flatten_from(1)? } else { x })
    }

    /// One layer on a batch.
    fn apply(&self, layer: &MirrorLayer, x: &Tensor, train: bool) -> Result<Tensor, TrainError> {
        Ok(match layer {
            MirrorLayer::Conv {
                weight,
                bias,
                stride,
                padding,
                groups,
            } => {
                let bias = bias.as_ref().map(|b| b.as_tensor());
                crate::conv::conv2d(x, weight.as_tensor(), bias, *padding, *stride, *groups)?
            }
            MirrorLayer::BatchNorm(bn) | MirrorLayer::FoldedNorm(bn) => bn.forward_t(x, train)?,
            MirrorLayer::Pool {
                kind,
                kernel,
                stride,
            } => match kind {
                PoolKind::Average => x.avg_pool2d_with_stride(*kernel, *stride)?,
                PoolKind::Max => x.max_pool2d_with_stride(*kernel, *stride)?,
            },
            MirrorLayer::Poly { a, b, c } => {
                let coefficients =
                    Tensor::stack(&[a.as_tensor(), b.as_tensor(), c.as_tensor()], 0)?;
                let (penalty, bound) = self.range;
                x.contiguous()?
                    .apply_op2(&coefficients, Quadratic { penalty, bound })?
            }
            MirrorLayer::Relu => x.relu()?,
            MirrorLayer::Flatten => x.flatten_from(1)?,
            MirrorLayer::Linear { weight, bias } => {
                let y = x.matmul(&weight.as_tensor().t()?)?;
                match bias {
                    Some(b) => y.broadcast_add(b.as_tensor())?,
                    None => y,
                }
            }
        })
    }

    /// Predicted classes (argmax of the logits, first of equal maxima) of a batch, in
    /// evaluation mode.
    pub fn predict(&self, x: &Tensor) -> Result<Vec<u32>, TrainError> {
        let logits = self.forward(x, false)?;
        Ok(logits.argmax(D::Minus1)?.to_vec1::<u32>()?)
    }

    /// Every tensor's current values by `state_dict` name: the trainable ones and the batch
    /// norms' running statistics.
    fn current(&self) -> Result<HashMap<String, Vec<f32>>, TrainError> {
        let mut out = HashMap::new();
        for (name, v) in &self.trainable {
            out.insert(name.clone(), v.as_tensor().flatten_all()?.to_vec1::<f32>()?);
        }
        let mut bns = self.layers.iter().filter_map(|l| match l {
            MirrorLayer::BatchNorm(bn) => Some(bn),
            _ => None,
        });
        for pair in self.running.chunks(2) {
            if let (Some(bn), [(mean, _), (var, _)]) = (bns.next(), pair) {
                out.insert(mean.clone(), bn.running_mean().to_vec1::<f32>()?);
                out.insert(var.clone(), bn.running_var().to_vec1::<f32>()?);
            }
        }
        for (index, weight, bias) in &self.folded {
            let Some(MirrorLayer::FoldedNorm(bn)) = self.layers.get(*index) else {
                continue;
            };
            let (Some(w), Some(b)) = (out.get(weight), out.get(bias)) else {
                continue;
            };
            let (Some((gamma, beta)), mean, var) =
                (bn.weight_and_bias(), bn.running_mean(), bn.running_var())
            else {
                continue;
            };
            let (gamma, beta) = (gamma.to_vec1::<f32>()?, beta.to_vec1::<f32>()?);
            let (mean, var) = (mean.to_vec1::<f32>()?, var.to_vec1::<f32>()?);
            let per = w.len() / b.len().max(1);
            let scale: Vec<f64> = (0..b.len())
                .map(|o| f64::from(gamma[o]) / (f64::from(var[o]) + bn.eps()).sqrt())
                .collect();
            let new_w: Vec<f32> = w
                .iter()
                .enumerate()
                .map(|(i, &v)| (f64::from(v) * scale[i / per]) as f32)
                .collect();
            let new_b: Vec<f32> = (0..b.len())
                .map(|o| {
                    ((f64::from(b[o]) - f64::from(mean[o])) * scale[o] + f64::from(beta[o])) as f32
                })
                .collect();
            out.insert(weight.clone(), new_w);
            out.insert(bias.clone(), new_b);
        }
        Ok(out)
    }

    /// Writes the mirror's values into `network` (the network it was built from, or one of
    /// the same architecture): every tensor of [`Network::parameters`], each `f32` value
    /// converted exactly to `f64`. All-or-nothing: on a missing or mis-sized tensor the
    /// network is unchanged.
    pub fn write_into(&self, network: &mut Network) -> Result<(), TrainError> {
        let current = self.current()?;
        for p in network.parameters() {
            match current.get(&p.name) {
                Some(values) if values.len() == p.values.len() => {}
                Some(values) => {
                    return Err(TrainError::Mirror {
                        name: p.name,
                        problem: format!(
                            "the mirror holds {} values, the network {}",
                            values.len(),
                            p.values.len()
                        ),
                    })
                }
                None => {
                    return Err(TrainError::Mirror {
                        name: p.name,
                        problem: format!("not in the mirror of '{}'", self.network),
                    })
                }
            }
        }
        for p in network.parameters_mut() {
            if let Some(values) = current.get(&p.name) {
                for (dst, &src) in p.values.iter_mut().zip(values) {
                    *dst = f64::from(src);
                }
            }
        }
        Ok(())
    }
}
