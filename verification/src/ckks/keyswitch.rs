//! Hybrid key switching (Han-Ki / Lattigo / OpenFHE style): digit decomposition with
//! basis extension to `Q_l * P` (ModUp), inner product with the key, and division by `P`
//! (ModDown).

use super::keys::{PolyQP, SwitchingKey};
use super::params::Parameters;
use crate::error::Result;
use crate::rns::{BasisConverter, RnsPoly};
use rayon::prelude::*;

/// Decomposes `c` (NTT form over `q_0 .. q_level`) into one polynomial per active digit, each
/// extended to `Q_level * P` and in NTT form. Digit `j` holds the primes
/// `[j * alpha, min((j + 1) * alpha, level + 1))`; its limbs of `Q` are `c`'s own limbs, the
/// others the exact conversion of its centered representative in `[-Q_j/2, Q_j/2)` (centering
/// keeps the key-switching noise free of the mean `Q_j/2`, whose all-ones polynomial would
/// concentrate in a few slots).
pub fn decompose(params: &Parameters, level: usize, c: &RnsPoly) -> Result<Vec<PolyQP>> {
    let qt = &params.q_tables()[..=level];
    let pt = params.p_tables();
    let q_moduli = params.q_moduli(level);
    let p_moduli = params.p_moduli();
    let mut coeff = c.clone();
    coeff.intt(qt);
    let alpha = params.digit_size();
    let n = params.n();
    let ranges: Vec<(usize, usize)> = (0..=level)
        .step_by(alpha)
        .map(|start| (start, (start + alpha).min(level + 1)))
        .collect();
    // Digits are independent: one task each, their limbs' NTTs in parallel inside.
    ranges
        .into_par_iter()
        .map(|(start, end)| {
            let targets: Vec<usize> = (0..=level).filter(|i| !(start..end).contains(i)).collect();
            let to: Vec<_> = targets
                .iter()
                .map(|&i| q_moduli[i])
                .chain(p_moduli.iter().copied())
                .collect();
            let conv = BasisConverter::new(&q_moduli[start..end], &to)?;
            let inputs: Vec<&[u64]> = coeff.limbs[start..end]
                .iter()
                .map(|l| l.as_slice())
                .collect();
            let mut converted = crate::rns::poly::zeroed_limbs(to.len(), n);
            {
                let mut outs: Vec<&mut [u64]> =
                    converted.iter_mut().map(|l| l.as_mut_slice()).collect();
                conv.convert_centered(&inputs, &mut outs);
            }
            // Target t of `converted` is q-limb targets[t] or, past them, special prime t - |targets|.
            let tables: Vec<&crate::ntt::NttTable> =
                targets.iter().map(|&i| &qt[i]).chain(pt.iter()).collect();
            converted
                .par_iter_mut()
                .zip(&tables)
                .for_each(|(limb, t)| t.forward(limb));
            let mut converted = converted.into_iter();
            let mut q_limbs = Vec::with_capacity(level + 1);
            for i in 0..=level {
                if (start..end).contains(&i) {
                    q_limbs.push(c.limbs[i].clone());
                } else {
                    q_limbs.push(converted.next().expect("one converted limb per target"));
                }
            }
            let p_limbs: Vec<Vec<u64>> = converted.collect();
            debug_assert_eq!(p_limbs.len(), pt.len());
            Ok(PolyQP {
                q: RnsPoly {
                    limbs: q_limbs,
                    ntt_form: true,
                },
                p: RnsPoly {
                    limbs: p_limbs,
                    ntt_form: true,
                },
            })
        })
        .collect()
}

/// Limb `i` of the `P` part (`is_p`) or of the `Q` part of `x`.
fn limb_of(x: &PolyQP, is_p: bool, i: usize) -> &[u64] {
    if is_p {
        &x.p.limbs[i]
    } else {
        &x.q.limbs[i]
    }
}

/// `sum_j digits[j] * key_j` for both key halves, over `Q_level * P`, NTT form.
fn inner_product(
    params: &Parameters,
    level: usize,
    digits: &[PolyQP],
    key: &SwitchingKey,
) -> (PolyQP, PolyQP) {
    let n = params.n();
    let qt = &params.q_tables()[..=level];
    let pt = params.p_tables();
    let mut out0 = PolyQP {
        q: RnsPoly::zero(level + 1, n, true),
        p: RnsPoly::zero(pt.len(), n, true),
    };
    let mut out1 = out0.clone();
    let limb_sets = [
        (qt, false, &mut out0.q.limbs, &mut out1.q.limbs),
        (pt, true, &mut out0.p.limbs, &mut out1.p.limbs),
    ];
    for (tables, is_p, o0s, o1s) in limb_sets {
        o0s.par_iter_mut()
            .zip(o1s.par_iter_mut())
            .zip(tables)
            .enumerate()
            .for_each(|(i, ((o0, o1), t))| {
                let d: Vec<&[u64]> = digits.iter().map(|x| limb_of(x, is_p, i)).collect();
                let b: Vec<&[u64]> = key.digits[..digits.len()]
                    .iter()
                    .map(|(b, _)| limb_of(b, is_p, i))
                    .collect();
                let a: Vec<&[u64]> = key.digits[..digits.len()]
                    .iter()
                    .map(|(_, a)| limb_of(a, is_p, i))
                    .collect();
                crate::rns::dot::dot2(t.modulus(), &d, &b, &a, o0, o1);
            });
    }
    (out0, out1)
}

/// `round(x / P)`: `(x - [x]_P) * P^-1` over `q_0 .. q_level`, with `[x]_P` the centered
/// representative (exact conversion), so the division rounds rather than floors.
/// Input and output in NTT form; `x` is consumed (its `Q` limbs become the output).
pub fn mod_down(params: &Parameters, level: usize, x: PolyQP) -> Result<RnsPoly> {
    let qt = &params.q_tables()[..=level];
    let pt = params.p_tables();
    let q_moduli = params.q_moduli(level);
    let p_moduli = params.p_moduli();
    let PolyQP {
        q: mut out,
        p: mut xp,
    } = x;
    xp.intt(pt);
    let conv = BasisConverter::new(&p_moduli, &q_moduli)?;
    let mut converted = RnsPoly::zero(level + 1, params.n(), false);
    {
        let inputs: Vec<&[u64]> = xp.limbs.iter().map(|l| l.as_slice()).collect();
        let mut outs: Vec<&mut [u64]> = converted
            .limbs
            .iter_mut()
            .map(|l| l.as_mut_slice())
            .collect();
        conv.convert_centered(&inputs, &mut outs);
    }
    converted.ntt(qt);
    // out = (out - converted) * P^-1 mod q_i, one pass per limb.
    out.limbs
        .par_iter_mut()
        .zip(&converted.limbs)
        .zip(qt)
        .zip(&params.p_inv_mod_q()[..=level])
        .for_each(|(((o, c), t), &inv)| {
            crate::rns::mulmod::sub_mul_const_assign(t.modulus(), o, c, inv);
        });
    Ok(out)
}

/// Key-switches a decomposed polynomial: returns `(k_0, k_1)` over `q_0 .. q_level` with
/// `k_0 + k_1 t ~ d s'` for the key from `s'` to `t`.
pub fn switch(
    params: &Parameters,
    level: usize,
    digits: &[PolyQP],
    key: &SwitchingKey,
) -> Result<(RnsPoly, RnsPoly)> {
    if level > key.max_level() || digits.len() > key.digits.len() {
        return Err(crate::Error::MissingKey(format!(
            "the switching key serves levels up to {}, the ciphertext is at level {level}",
            key.max_level()
        )));
    }
    let (x0, x1) = inner_product(params, level, digits, key);
    let (k0, k1) = rayon::join(
        || mod_down(params, level, x0),
        || mod_down(params, level, x1),
    );
    Ok((k0?, k1?))
}
