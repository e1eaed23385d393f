//! Fully connected layers on the diagonal method, and the repacking of gapped layouts.

use super::{bias_vectors, layer_error, BuildOptions, EffectiveLayer, LayerPlan};
use crate::nn::{Linear, Shape};
use crate::pack::diag::Diagonals;
use crate::pack::layout::{ChannelOrder, Layout};
use crate::pack::program::HeProgram;
use crate::pack::PackError;

/// Repacking of a gapped layout (as pooling leaves it: valid pixels `gap` fine steps apart,
/// the holes holding garbage) into the multiplexed layout of the same fine grid and gap in
/// `order` (holes filled with other channels), when that needs fewer ciphertexts; `None`
/// otherwise. A linear map of weight 1 per pixel by the diagonal method: every pixel of a
/// channel moves by the same rotation `base_in - base_out`, so it costs one masking PMult per
/// distinct (output, input, channel offset) and the rotations of those offsets, one level.
/// Returns the program (inputs: `input`'s ciphertexts; outputs: the repacked ones) and the
/// repacked layout.
pub fn repack(
    input: &Layout,
    order: ChannelOrder,
    options: BuildOptions,
) -> Result<Option<(HeProgram, Layout)>, PackError> {
    let fine_row = input.row_stride / input.gap;
    let fine_col = input.col_stride / input.gap;
    let Ok(target) = Layout::multiplexed(
        input.shape,
        input.slots,
        fine_row,
        fine_col,
        input.gap,
        order,
    ) else {
        return Ok(None);
    };
    if target.ciphertexts >= input.ciphertexts {
        return Ok(None);
    }
    let mut diags = Diagonals::new(
        input.slots,
        input.ciphertexts,
        target.ciphertexts,
        options.materialize,
    )
    .with_input_period(input.period());
    let sh = input.shape;
    for c in 0..sh.channels {
        if !options.materialize {
            let (j, u) = input.slot(c, 0, 0);
            let (m, t) = target.slot(c, 0, 0);
            diags.touch(m, j, diags.rotation(u, t));
            continue;
        }
        for y in 0..sh.height {
            for x in 0..sh.width {
                let (j, u) = input.slot(c, y, x);
                let (m, t) = target.slot(c, y, x);
                diags.add(j, u, m, t, 1.0);
            }
        }
    }
    let (program, _) = diags.compile(None, options.bsgs)?;
    Ok(Some((program, target)))
}

/// The output layout of a fully connected layer: the `out_features` values in slots
/// `0 .. n`, replicated with period `next_pow2(n)` ([`Layout::replicated`]: the diagonal
/// method folds the copies, the hybrid method) or, beyond `S`, packed densely.
pub fn linear_output_layout(linear: &Linear, slots: usize) -> Result<Layout, PackError> {
    Layout::replicated(
        Shape::flat(linear.out_features),
        slots,
        ChannelOrder::ChannelMajor,
    )
    .map_err(|e| layer_error(&linear.name, "output layout", e.to_string()))
}

/// Compiles a fully connected layer on a flat `input` layout (a [`Layout::flattened`] one) by
/// the diagonal method with BSGS (same for both strategies: SpENCNN groups and prunes
/// convolutions only).
pub fn linear(
    linear: &Linear,
    input: &Layout,
    options: BuildOptions,
) -> Result<LayerPlan, PackError> {
    linear_scaled(linear, input, options, 1.0, 1.0)
}

/// [`linear`] for an input holding the features divided by `input_scale`, writing its output
/// divided by `output_unit` (see [`conv2d_scaled`](super::conv2d_scaled)): the packed weights are multiplied by
/// `input_scale / output_unit`, the bias divided by `output_unit`.
pub fn linear_scaled(
    linear: &Linear,
    input: &Layout,
    options: BuildOptions,
    input_scale: f64,
    output_unit: f64,
) -> Result<LayerPlan, PackError> {
    if input.shape != Shape::flat(linear.in_features) {
        return Err(layer_error(
            &linear.name,
            "in_features",
            format!(
                "input layout of shape {}, expected {}",
                input.shape,
                Shape::flat(linear.in_features)
            ),
        ));
    }
    let expected = linear.in_features * linear.out_features;
    if linear.weight.len() != expected {
        return Err(layer_error(
            &linear.name,
            "weight",
            format!("{} values, expected {expected}", linear.weight.len()),
        ));
    }
    if let Some(b) = &linear.bias {
        if b.len() != linear.out_features {
            return Err(layer_error(
                &linear.name,
                "bias",
                format!("{} values, expected {}", b.len(), linear.out_features),
            ));
        }
    }
    let output = linear_output_layout(linear, input.slots)?;
    let mut diags = Diagonals::new(
        input.slots,
        input.ciphertexts,
        output.ciphertexts,
        options.materialize,
    )
    .with_input_period(input.period())
    .with_output_period(output.period());
    for o in 0..linear.out_features {
        let (m, t) = output.slot(o, 0, 0);
        let row = &linear.weight[o * linear.in_features..(o + 1) * linear.in_features];
        for (i, &wv) in row.iter().enumerate() {
            let (j, u) = input.slot(i, 0, 0);
            diags.add(j, u, m, t, wv * input_scale / output_unit);
        }
    }
    let bias = bias_vectors(
        &output,
        linear.bias.as_deref(),
        output_unit,
        options.materialize,
    );
    let (program, giant_step) = diags.compile(bias.as_deref(), options.bsgs)?;
    let counts = program.counts()?;
    Ok(LayerPlan {
        program,
        input: input.clone(),
        output,
        counts,
        giant_step,
        groups: 1,
        effective: EffectiveLayer::Linear(linear.clone()),
        pruning: None,
    })
}
