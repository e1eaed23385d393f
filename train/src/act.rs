//! The trainable quadratic activation `a x^2 + b x + c` as one fused CPU operation (forward in
//! one pass, backward in one pass), with the activation-range penalty applied through its
//! gradient: the backward adds `d/dx [lambda * mean(max(|x| - B, 0)^2)]` to the input's
//! gradient, exactly what adding that term to the loss would add, without building it as a
//! graph of elementwise tensors (which made a LeNet step several times slower).

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Storage, Tensor};
use rayon::prelude::*;

use crate::conv::f32_slice;

/// Values per parallel chunk.
const CHUNK: usize = 1 << 14;

/// The fused activation; `penalty` is `lambda`, `bound` is `B` (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quadratic {
    pub(crate) penalty: f32,
    pub(crate) bound: f32,
}

/// The three coefficients of a contiguous `[3]` tensor.
fn coefficients(storage: &CpuStorage, layout: &Layout) -> candle_core::Result<[f32; 3]> {
    match f32_slice(storage, layout, "quadratic")? {
        [a, b, c] => Ok([*a, *b, *c]),
        other => candle_core::bail!("quadratic: {} coefficients, expected 3", other.len()),
    }
}

impl CustomOp2 for Quadratic {
    fn name(&self) -> &'static str {
        "quadratic"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        coefs: &CpuStorage,
        coefs_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let values = f32_slice(x, x_layout, "quadratic")?;
        let [a, b, c] = coefficients(coefs, coefs_layout)?;
        let mut out = vec![0f32; values.len()];
        out.par_chunks_mut(CHUNK)
            .zip(values.par_chunks(CHUNK))
            .for_each(|(o, v)| {
                for (o, &v) in o.iter_mut().zip(v) {
                    *o = (a * v + b) * v + c;
                }
            });
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        coefs: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let x = x.contiguous()?;
        let grad = grad.contiguous()?;
        let coefs = coefs.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (gs, gl) = grad.storage_and_layout();
        let (cs, cl) = coefs.storage_and_layout();
        let (Storage::Cpu(xs), Storage::Cpu(gs), Storage::Cpu(cs)) = (&*xs, &*gs, &*cs) else {
            candle_core::bail!("quadratic: CPU tensors only");
        };
        let values = f32_slice(xs, xl, "quadratic")?;
        let g = f32_slice(gs, gl, "quadratic")?;
        let [a, b, _] = coefficients(cs, cl)?;
        let scale = 2.0 * self.penalty / values.len().max(1) as f32;
        let bound = self.bound;
        let mut gx = vec![0f32; values.len()];
        // Partial sums per chunk in chunk order, then added in that order: deterministic.
        let partial: Vec<[f64; 3]> = gx
            .par_chunks_mut(CHUNK)
            .zip(values.par_chunks(CHUNK).zip(g.par_chunks(CHUNK)))
            .map(|(out, (v, g))| {
                let mut s = [0f64; 3];
                for ((o, &v), &g) in out.iter_mut().zip(v).zip(g) {
                    let outside = (v.abs() - bound).max(0.0);
                    *o = g * (2.0 * a * v + b) + scale * outside * v.signum();
                    s[0] += f64::from(g * v * v);
                    s[1] += f64::from(g * v);
                    s[2] += f64::from(g);
                }
                s
            })
            .collect();
        let sums = partial
            .iter()
            .fold([0.0f64; 3], |p, q| [p[0] + q[0], p[1] + q[1], p[2] + q[2]]);
        let device = x.device();
        let gx = Tensor::from_vec(gx, x.shape(), device)?;
        let gc = Tensor::from_vec(sums.map(|s| s as f32).to_vec(), 3, device)?;
        Ok((Some(gx), Some(gc)))
    }
}
