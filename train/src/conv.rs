//! Convolution as im2col + matrix product, for training speed on CPU: candle's own CPU
//! convolution computes the input gradient with a direct transposed convolution, which made a
//! LeNet step several times slower than this. [`conv2d`] gives the same values as
//! `Tensor::conv2d` up to `f32` summation order (checked against the host's `f64` pass in
//! `tests/mirror.rs`).
//!
//! [`Im2Col`] maps an input `[N, C, H, W]` to columns `[N, C * K * K, Ho * Wo]`, row
//! `(c * K + ky) * K + kx`, column `oy * Wo + ox`, value `x[c][oy + ky - p][ox + kx - p]`
//! (0 outside): the order of a weight `[O, C / G, K, K]` flattened per group. Its backward is
//! [`Col2Im`], the sum of the columns back onto the input positions.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

/// im2col for a square kernel `k`, zero padding `padding`, stride 1, `groups` channel groups
/// (see the module docs); with `ones`, each group's rows end with a row of ones (the bias
/// input), so the output is `[N, groups, (C / groups) * K * K + ones, Ho * Wo]`.
#[derive(Debug, Clone, Copy)]
struct Im2Col {
    k: usize,
    padding: usize,
    groups: usize,
    ones: bool,
}

/// The adjoint of [`Im2Col`] for an input `[N, c, h, w]`.
#[derive(Debug, Clone, Copy)]
struct Col2Im {
    k: usize,
    padding: usize,
    groups: usize,
    ones: bool,
    c: usize,
    h: usize,
    w: usize,
}

/// The `f32` values of a contiguous CPU tensor; `op` names the operation in errors.
pub(crate) fn f32_slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: only f32 tensors are supported");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: the input must be contiguous");
    };
    Ok(&data[start..end])
}

/// Output positions `(oy, ix)` pairs: for kernel offset `kk` and padding `p`, the output
/// index range whose input index `o + kk - p` is inside `0..n`, with the input index of its
/// first element.
fn valid(out: usize, n: usize, kk: usize, p: usize) -> (usize, usize) {
    let lo = p.saturating_sub(kk);
    let hi = (n + p).saturating_sub(kk).min(out);
    (lo, hi.max(lo))
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = layout.shape().dims4()?;
        let x = f32_slice(storage, layout, "im2col")?;
        let (k, p, groups) = (self.k, self.padding, self.groups);
        let (ho, wo) = (h + 2 * p + 1 - k, w + 2 * p + 1 - k);
        let l = ho * wo;
        let cg = c / groups;
        let rows = cg * k * k + usize::from(self.ones);
        let mut out = vec![0f32; n * groups * rows * l];
        out.par_chunks_mut(groups * rows * l)
            .zip(x.par_chunks(c * h * w))
            .for_each(|(cols, image)| {
                for ch in 0..c {
                    let (g, cl) = (ch / cg, ch % cg);
                    for ky in 0..k {
                        let (y0, y1) = valid(ho, h, ky, p);
                        for kx in 0..k {
                            let (x0, x1) = valid(wo, w, kx, p);
                            let row = &mut cols[(g * rows + (cl * k + ky) * k + kx) * l..][..l];
                            for oy in y0..y1 {
                                let src = &image[(ch * h + oy + ky - p) * w..][..w];
                                let dst = &mut row[oy * wo..][..wo];
                                for ox in x0..x1 {
                                    dst[ox] = src[ox + kx - p];
                                }
                            }
                        }
                    }
                }
                if self.ones {
                    for g in 0..groups {
                        cols[(g * rows + rows - 1) * l..][..l].fill(1.0);
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((n, groups, rows, l))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (_, c, h, w) = arg.dims4()?;
        let back = Col2Im {
            k: self.k,
            padding: self.padding,
            groups: self.groups,
            ones: self.ones,
            c,
            h,
            w,
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&back)?))
    }
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, _, _, _) = layout.shape().dims4()?;
        let grad = f32_slice(storage, layout, "col2im")?;
        let Col2Im {
            k,
            padding: p,
            groups,
            ones,
            c,
            h,
            w,
        } = *self;
        let (ho, wo) = (h + 2 * p + 1 - k, w + 2 * p + 1 - k);
        let l = ho * wo;
        let cg = c / groups;
        let rows = cg * k * k + usize::from(ones);
        let mut out = vec![0f32; n * c * h * w];
        out.par_chunks_mut(c * h * w)
            .zip(grad.par_chunks(groups * rows * l))
            .for_each(|(image, cols)| {
                for ch in 0..c {
                    let (g, cl) = (ch / cg, ch % cg);
                    for ky in 0..k {
                        let (y0, y1) = valid(ho, h, ky, p);
                        for kx in 0..k {
                            let (x0, x1) = valid(wo, w, kx, p);
                            let row = &cols[(g * rows + (cl * k + ky) * k + kx) * l..][..l];
                            for oy in y0..y1 {
                                let dst = &mut image[(ch * h + oy + ky - p) * w..][..w];
                                let src = &row[oy * wo..][..wo];
                                for ox in x0..x1 {
                                    dst[ox + kx - p] += src[ox];
                                }
                            }
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((n, c, h, w))))
    }
}

/// The convolution of `x` `[N, C, H, W]` by `weight` `[O, C / groups, K, K]` plus `bias`
/// `[O]` if any, with zero padding `padding` and stride `stride`, differentiable in all three.
/// Stride 1 runs as im2col (with a row of ones for the bias) and one batched matrix product
/// per group; other strides fall back to `Tensor::conv2d`.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    padding: usize,
    stride: usize,
    groups: usize,
) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (o, cg, k, _) = weight.dims4()?;
    if stride != 1 || groups == 0 || c != cg * groups || h + 2 * padding < k || w + 2 * padding < k
    {
        let y = x.conv2d(weight, padding, stride, 1, groups)?;
        return match bias {
            Some(b) => y.broadcast_add(&b.reshape((1, (), 1, 1))?),
            None => Ok(y),
        };
    }
    let (ho, wo) = (h + 2 * padding + 1 - k, w + 2 * padding + 1 - k);
    let ck = cg * k * k;
    let cols = x.contiguous()?.apply_op1(Im2Col {
        k,
        padding,
        groups,
        ones: bias.is_some(),
    })?;
    let mut kernel = weight.reshape((groups, o / groups, ck))?;
    if let Some(b) = bias {
        kernel = Tensor::cat(&[&kernel, &b.reshape((groups, o / groups, 1))?], 2)?;
    }
    let y = kernel.broadcast_matmul(&cols)?;
    y.reshape((n, o, ho, wo))
}
