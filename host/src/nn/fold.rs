//! Batch-norm folding: `BN(W x + b) = (s W) x + (s (b - mean) + beta)` per output channel, with
//! `s = gamma / sqrt(var + eps)`.

use super::ir::{join_path, BatchNorm, Layer, LayerLocation, Network};
use super::NnError;

/// Returns `network` with every [`Layer::BatchNorm`] folded into the [`Layer::Conv2d`] or
/// [`Layer::Linear`] directly before it in the same layer list (top level, residual body or
/// shortcut): output channel `o`'s weights are scaled by `s[o]` and its bias becomes
/// `s[o] * (b[o] - mean[o]) + beta[o]` (a missing bias counts as 0 and is created). The
/// folded network computes the same function up to rounding and has no batch norm left.
///
/// Errors: the network's own check ([`Network::shapes`]), or [`NnError::Fold`] naming a batch
/// norm that starts a list or follows another kind of layer.
pub fn fold_batch_norm(network: &Network) -> Result<Network, NnError> {
    network.shapes()?;
    let mut folded = network.clone();
    folded.layers = fold_list(&network.name, &network.layers, "")?;
    Ok(folded)
}

fn fold_list(network: &str, layers: &[Layer], prefix: &str) -> Result<Vec<Layer>, NnError> {
    let mut out: Vec<Layer> = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        let path = join_path(prefix, i);
        match layer {
            Layer::BatchNorm(bn) => {
                let fold_error = |reason: String| NnError::Fold {
                    network: network.to_string(),
                    location: Box::new(LayerLocation {
                        path: path.clone(),
                        kind: layer.kind(),
                        name: bn.name.clone(),
                    }),
                    reason,
                };
                match out.last_mut() {
                    Some(Layer::Conv2d(conv)) => {
                        let per_out = conv.weight.len() / conv.out_channels;
                        fold_into(bn, &mut conv.weight, per_out, &mut conv.bias);
                    }
                    Some(Layer::Linear(linear)) => {
                        fold_into(bn, &mut linear.weight, linear.in_features, &mut linear.bias);
                    }
                    Some(other) => {
                        return Err(fold_error(format!(
                            "it follows a {} layer (only conv2d or linear can absorb it)",
                            other.kind()
                        )))
                    }
                    None => {
                        return Err(fold_error(
                            "it is the first layer of its list (only a preceding conv2d or \
                             linear can absorb it)"
                                .to_string(),
                        ))
                    }
                }
            }
            Layer::Residual(block) => {
                let mut block = block.clone();
                block.body = fold_list(network, &block.body, &format!("{path}.body"))?;
                block.shortcut = fold_list(network, &block.shortcut, &format!("{path}.shortcut"))?;
                out.push(Layer::Residual(block));
            }
            other => out.push(other.clone()),
        }
    }
    Ok(out)
}

/// Scales output `o`'s `per_out` weights (rows of a `[out][...]` row-major tensor) and rewrites
/// the bias. Channel counts were checked by shape inference.
fn fold_into(bn: &BatchNorm, weight: &mut [f64], per_out: usize, bias: &mut Option<Vec<f64>>) {
    let scale_shift = bn.scale_shift();
    let bias = bias.get_or_insert_with(|| vec![0.0; bn.channels]);
    for (o, (scale, shift)) in scale_shift.into_iter().enumerate() {
        for w in &mut weight[o * per_out..(o + 1) * per_out] {
            *w *= scale;
        }
        bias[o] = scale * bias[o] + shift;
    }
}
