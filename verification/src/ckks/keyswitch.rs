//! Hybrid key switching (Han-Ki / Lattigo / OpenFHE style): digit decomposition with
//! basis extension to `Q_l * P` (ModUp), inner product with the key, and division by `P`
//! (ModDown).

use super::keys::{PolyQP, SwitchingKey};
use super::params::Parameters;
use crate::error::Result;
use crate::rns::{BasisConverter, RnsPoly};
use rayon::prelude::*;

/// The digits at `level`: digit `j` holds the primes `[j * alpha, min((j + 1) * alpha,
/// level + 1))` of `Q`, in order.
fn digit_ranges(params: &Parameters, level: usize) -> Vec<(usize, usize)> {
    let alpha = params.digit_size();
    (0..=level)
        .step_by(alpha)
        .map(|start| (start, (start + alpha).min(level + 1)))
        .collect()
}

/// The conversion of digit `[start, end)` to every other prime of `Q_level * P`: the `q`
/// targets in order (the digit's own primes left out), then the special primes.
fn digit_converter(
    params: &Parameters,
    level: usize,
    (start, end): (usize, usize),
) -> Result<BasisConverter> {
    let q_moduli = params.q_moduli(level);
    let to: Vec<_> = (0..=level)
        .filter(|i| !(start..end).contains(i))
        .map(|i| q_moduli[i])
        .chain(params.p_moduli().iter().copied())
        .collect();
    BasisConverter::new(&q_moduli[start..end], &to)
}

/// [`mod_down`] of both halves of an inner product, in parallel.
fn mod_down_pair(
    params: &Parameters,
    level: usize,
    (x0, x1): (PolyQP, PolyQP),
) -> Result<(RnsPoly, RnsPoly)> {
    let (k0, k1) = rayon::join(
        || mod_down(params, level, x0),
        || mod_down(params, level, x1),
    );
    Ok((k0?, k1?))
}

/// Digits [`switch_poly`] converts, brings to NTT form and sums against the key at a time: their
/// scratch limbs (8 x 8 N bytes, 4 MiB at `N = 2^16`) stay in cache from the NTT to the product
/// even with a core per target, where converting every digit first sent the whole scratch (26
/// limbs at `N = 2^16`) through memory twice per target. The sums of groups are added mod `q`.
const DIGIT_GROUP: usize = 8;

/// Decomposes `c` (NTT form over `q_0 .. q_level`) into one polynomial per active digit, each
/// extended to `Q_level * P` and in NTT form. Digit `j` holds the primes
/// `[j * alpha, min((j + 1) * alpha, level + 1))`; its limbs of `Q` are `c`'s own limbs, the
/// others the exact conversion of its centered representative in `[-Q_j/2, Q_j/2)` (centering
/// keeps the key-switching noise free of the mean `Q_j/2`, whose all-ones polynomial would
/// concentrate in a few slots).
pub fn decompose(params: &Parameters, level: usize, c: &RnsPoly) -> Result<Vec<PolyQP>> {
    let qt = &params.q_tables()[..=level];
    let pt = params.p_tables();
    let coeff = c.to_coeff(qt);
    let n = params.n();
    // Digits are independent: one task each, their limbs' NTTs in parallel inside.
    digit_ranges(params, level)
        .into_par_iter()
        .map(|(start, end)| {
            let targets: Vec<usize> = (0..=level).filter(|i| !(start..end).contains(i)).collect();
            let conv = digit_converter(params, level, (start, end))?;
            let inputs: Vec<&[u64]> = coeff.limbs[start..end]
                .iter()
                .map(|l| l.as_slice())
                .collect();
            let mut converted = crate::rns::poly::zeroed_limbs(conv.to_moduli().len(), n);
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
    let inputs: Vec<&[u64]> = xp.limbs.iter().map(|l| l.as_slice()).collect();
    let prepared = conv.prepare(&inputs, true);
    // Per target limb q_i, on one thread while it is in cache: the conversion of x_P, its NTT,
    // and out = (out - converted) * P^-1 mod q_i.
    out.limbs
        .par_iter_mut()
        .zip(qt)
        .zip(&params.p_inv_mod_q()[..=level])
        .enumerate()
        .for_each_init(
            || vec![0u64; params.n()],
            |converted, (j, ((o, t), &inv))| {
                conv.convert_to(&prepared, j, converted);
                t.forward(converted);
                crate::rns::mulmod::sub_mul_const_assign(t.modulus(), o, converted, inv);
            },
        );
    Ok(out)
}

/// Key-switches `c` (NTT form over `q_0 .. q_level`): the same words as
/// [`switch`] of [`decompose`]`(c)`, computed one target prime at a time so the extended
/// digits are never stored whole. Per target limb, every digit's limb is converted, brought to
/// NTT form and summed against the key at once, while it is in cache (as SEAL's key switch
/// does); the targets run in parallel. For one key; hoisted rotations share [`decompose`].
pub fn switch_poly(
    params: &Parameters,
    level: usize,
    c: &RnsPoly,
    key: &SwitchingKey,
) -> Result<(RnsPoly, RnsPoly)> {
    // Digit j: its primes [start, end) and the conversion of its centered value to every
    // other prime of Q_level * P, as `decompose` does.
    let ranges = digit_ranges(params, level);
    let digit_count = ranges.len();
    check_key(level, digit_count, key)?;
    let qt = &params.q_tables()[..=level];
    let pt = params.p_tables();
    let n = params.n();
    let coeff = c.to_coeff(qt);
    let converters: Vec<BasisConverter> = ranges
        .iter()
        .map(|&range| digit_converter(params, level, range))
        .collect::<Result<_>>()?;
    let inputs: Vec<Vec<&[u64]>> = ranges
        .iter()
        .map(|&(start, end)| {
            coeff.limbs[start..end]
                .iter()
                .map(|l| l.as_slice())
                .collect()
        })
        .collect();
    let prepared: Vec<_> = converters
        .par_iter()
        .zip(&inputs)
        .map(|(conv, input)| conv.prepare(input, true))
        .collect();
    let limbs: Vec<(Vec<u64>, Vec<u64>)> = (0..level + 1 + pt.len())
        .into_par_iter()
        .map_init(
            || {
                let group = DIGIT_GROUP.min(digit_count);
                // The group's two sums and the buffer their addition goes to.
                let partial: [Vec<u64>; 3] = std::array::from_fn(|_| vec![0; n]);
                (crate::rns::poly::zeroed_limbs(group, n), partial)
            },
            |(scratch, partial), t| {
                // Target t: q-limb t, or special prime t - (level + 1).
                let (table, p_index) = if t <= level {
                    (&qt[t], None)
                } else {
                    (&pt[t - level - 1], Some(t - level - 1))
                };
                let q = table.modulus().value();
                let (mut o0, mut o1) = (vec![0u64; n], vec![0u64; n]);
                // Digits a group at a time: converted and brought to NTT form into the group's
                // scratch, summed against the key, and added to the outputs, so the scratch
                // stays in cache between its NTT and its product.
                for (g, first) in (0..digit_count).step_by(DIGIT_GROUP).enumerate() {
                    let digits = first..(first + DIGIT_GROUP).min(digit_count);
                    for (j, s) in digits.clone().zip(scratch.iter_mut()) {
                        let (start, end) = ranges[j];
                        if p_index.is_none() && (start..end).contains(&t) {
                            continue; // the digit's own limb: c's, already in NTT form
                        }
                        // Index of t among the digit's targets (its own primes left out).
                        let index = match p_index {
                            Some(k) => level + 1 - (end - start) + k,
                            None if t < start => t,
                            None => t - (end - start),
                        };
                        converters[j].convert_to(&prepared[j], index, s);
                        table.forward(s);
                    }
                    let digit_limbs: Vec<&[u64]> = digits
                        .clone()
                        .zip(scratch.iter())
                        .map(|(j, s)| {
                            let (start, end) = ranges[j];
                            match p_index {
                                None if (start..end).contains(&t) => c.limbs[t].as_slice(),
                                _ => s.as_slice(),
                            }
                        })
                        .collect();
                    let key_limbs = |half: fn(&(PolyQP, PolyQP)) -> &PolyQP| -> Vec<&[u64]> {
                        key.digits[digits.clone()]
                            .iter()
                            .map(|d| match p_index {
                                Some(k) => half(d).p.limbs[k].as_slice(),
                                None => half(d).q.limbs[t].as_slice(),
                            })
                            .collect()
                    };
                    let (b, a) = (key_limbs(|d| &d.0), key_limbs(|d| &d.1));
                    let m = table.modulus();
                    if g == 0 {
                        crate::rns::dot::dot2(m, &digit_limbs, &b, &a, &mut o0, &mut o1);
                    } else {
                        let [t0, t1, sum] = partial;
                        crate::rns::dot::dot2(m, &digit_limbs, &b, &a, t0, t1);
                        for (o, p) in [(&mut o0, &*t0), (&mut o1, &*t1)] {
                            crate::rns::addsub::add_or_sub_into(q, o, p, sum, false, false);
                            std::mem::swap(o, sum);
                        }
                    }
                }
                (o0, o1)
            },
        )
        .collect();
    let (mut q0, mut q1) = (Vec::with_capacity(level + 1), Vec::with_capacity(level + 1));
    let (mut p0, mut p1) = (Vec::with_capacity(pt.len()), Vec::with_capacity(pt.len()));
    for (t, (o0, o1)) in limbs.into_iter().enumerate() {
        let (d0, d1) = if t <= level {
            (&mut q0, &mut q1)
        } else {
            (&mut p0, &mut p1)
        };
        d0.push(o0);
        d1.push(o1);
    }
    let qp = |q, p| PolyQP {
        q: RnsPoly {
            limbs: q,
            ntt_form: true,
        },
        p: RnsPoly {
            limbs: p,
            ntt_form: true,
        },
    };
    mod_down_pair(params, level, (qp(q0, p0), qp(q1, p1)))
}

/// The key serves `level` and has at least `digits` digits.
fn check_key(level: usize, digits: usize, key: &SwitchingKey) -> Result<()> {
    if level > key.max_level() || digits > key.digits.len() {
        return Err(crate::Error::missing_key(
            "key switching",
            crate::KeyKind::ForLevel(level),
            format!("the switching key serves levels up to {}", key.max_level()),
        ));
    }
    Ok(())
}

/// Key-switches a decomposed polynomial: returns `(k_0, k_1)` over `q_0 .. q_level` with
/// `k_0 + k_1 t ~ d s'` for the key from `s'` to `t`.
pub fn switch(
    params: &Parameters,
    level: usize,
    digits: &[PolyQP],
    key: &SwitchingKey,
) -> Result<(RnsPoly, RnsPoly)> {
    check_key(level, digits.len(), key)?;
    mod_down_pair(params, level, inner_product(params, level, digits, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::{KeyGenerator, ParametersLiteral};
    use rand::{Rng, SeedableRng};
    use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

    /// The fused key switch equals the decomposed one word for word, for one prime per digit,
    /// several (with a short last digit), one digit, one and two special primes, 31- to 60-bit
    /// primes (both dot-product back ends), at every level.
    #[test]
    fn fused_switch_equals_decompose_then_switch() {
        // The last two have more digits than a group of the fused switch (DIGIT_GROUP):
        // 18 digits of one prime (groups of 8, 8, 2) and 10 of two (8, 2), at every level.
        let many = [31u32; 18];
        let cases: [(&[u32], &[u32], usize); 7] = [
            (&[40, 31, 31, 31, 31], &[40], 5),
            (&[50, 40, 40, 40, 40], &[50, 50], 2),
            (&[45, 36, 36, 36], &[45, 45], 3),
            (&[60, 50, 50], &[60], 1),
            (&[60, 50, 50, 50], &[61, 61], 4),
            (&many, &[40], 18),
            (&[31; 20], &[40, 40], 10),
        ];
        const { assert!(18 > 2 * DIGIT_GROUP && 10 > DIGIT_GROUP) };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (log_q, log_p, dnum) in cases {
            let params = Parameters::new(&ParametersLiteral {
                log_n: 7,
                log_q: log_q.to_vec(),
                q: vec![],
                log_p: log_p.to_vec(),
                p: vec![],
                log_scale: 30,
                dnum,
                hamming_weight: None,
                allow_insecure: true,
            })
            .unwrap();
            let mut keygen = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(4));
            let sk = keygen.gen_secret_key();
            let key = keygen.gen_relin_key(&sk).unwrap().key;
            for level in 0..log_q.len() {
                let c = RnsPoly {
                    limbs: params.q_tables()[..=level]
                        .iter()
                        .map(|t| {
                            let q = t.modulus().value();
                            (0..params.n()).map(|_| rng.gen_range(0..q)).collect()
                        })
                        .collect(),
                    ntt_form: true,
                };
                let digits = decompose(&params, level, &c).unwrap();
                let want = switch(&params, level, &digits, &key).unwrap();
                let got = switch_poly(&params, level, &c, &key).unwrap();
                assert!(
                    got == want,
                    "log_q {log_q:?} log_p {log_p:?} dnum {dnum} level {level}"
                );
            }
        }
    }
}
