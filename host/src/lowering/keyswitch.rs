//! Hybrid key switching as instructions: digit decomposition with ModUp, the inner product
//! with the key, and ModDown.

use heaccel_sim::isa::{Instruction, Slot};
use heaccel_verification::ckks::Parameters;

use super::builder::{key_limb, p_idx, q_idx, Builder};

/// One product of the inner product: key limb `limb` of `buffer` times the digit limb in
/// slot `digit`, into (or onto) accumulator slot `acc`, mod prime-table entry `modulus`.
struct KeyProduct {
    buffer: u32,
    limb: usize,
    acc: Slot,
    digit: Slot,
    modulus: heaccel_sim::isa::ModulusIndex,
}

/// Key-switching accumulators: slots of `Q_level` then `P`, for both key halves.
pub(super) struct Accumulators {
    pub(super) half: [Vec<Slot>; 2],
}

/// Decomposes the polynomial in `src` (NTT form, `level + 1` limbs) and multiply-accumulates
/// each digit with every key in `keys`, one set of accumulators per key (hoisting: one
/// decomposition serves them all).
pub(super) fn decompose_and_accumulate(
    b: &mut Builder,
    params: &Parameters,
    level: usize,
    src: u32,
    keys: &[Vec<(u32, u32)>],
) -> Vec<Accumulators> {
    let k_count = params.p_tables().len();
    let alpha = params.digit_size();
    let accs: Vec<Accumulators> = keys
        .iter()
        .map(|_| Accumulators {
            half: [0, 1].map(|_| (0..level + 1 + k_count).map(|_| b.alloc()).collect()),
        })
        .collect();
    let mut start = 0;
    let mut j = 0;
    while start <= level {
        let end = (start + alpha).min(level + 1);
        // The digit's limbs: NTT form as given, and in coefficient form for the conversion.
        let ntt_limbs: Vec<Slot> = (start..end).map(|i| b.load(src, i)).collect();
        let coeff_limbs: Vec<Slot> = (start..end)
            .map(|i| {
                let s = b.alloc();
                b.emit(Instruction::Copy {
                    dst: s,
                    src: ntt_limbs[i - start],
                });
                b.emit(Instruction::Intt {
                    slot: s,
                    modulus: q_idx(i),
                });
                s
            })
            .collect();
        // Targets: the other primes of Q_level in order, then P.
        let targets: Vec<(usize, bool)> = (0..=level)
            .filter(|i| !(start..end).contains(i))
            .map(|i| (i, false))
            .chain((0..k_count).map(|k| (k, true)))
            .collect();
        let target_index =
            |&(i, is_p): &(usize, bool)| if is_p { p_idx(params, i) } else { q_idx(i) };
        let converted: Vec<Slot> = targets.iter().map(|_| b.alloc()).collect();
        b.emit(Instruction::Bconv {
            src: coeff_limbs.clone(),
            from: (start..end).map(q_idx).collect(),
            dst: converted.clone(),
            to: targets.iter().map(target_index).collect(),
            centered: true,
        });
        b.release(coeff_limbs);
        // The digit polynomial over Q_level * P, limb by limb, times every key: the products
        // in order, each with its key limb.
        let digit_limb = |i: usize, is_p: bool| -> Slot {
            if !is_p && (start..end).contains(&i) {
                ntt_limbs[i - start]
            } else {
                let pos = targets
                    .iter()
                    .position(|&t| t == (i, is_p))
                    .expect("a target");
                converted[pos]
            }
        };
        let mut products = Vec::new();
        for (r, key) in keys.iter().enumerate() {
            let (kb, ka) = key[j];
            for (acc_pos, (i, is_p)) in (0..=level)
                .map(|i| (i, false))
                .chain((0..k_count).map(|k| (k, true)))
                .enumerate()
            {
                let m = if is_p { p_idx(params, i) } else { q_idx(i) };
                for (h, buffer) in [kb, ka].into_iter().enumerate() {
                    products.push(KeyProduct {
                        buffer,
                        limb: key_limb(params, i, is_p),
                        acc: accs[r].half[h][acc_pos],
                        digit: digit_limb(i, is_p),
                        modulus: m,
                    });
                }
            }
        }
        // Key streaming through a double-buffered pair of slots: the first key limb loads
        // while the converted limbs are transformed, and each later one while the product
        // before it is computed (its slot was read by the product before that, already done
        // when this one issues), so key traffic overlaps the NTTs and the products.
        let key_slots = [b.alloc(), b.alloc()];
        let load_key = |b: &mut Builder, n: usize| {
            let k = &products[n];
            b.emit(Instruction::Load {
                dst: key_slots[n % 2],
                buffer: k.buffer,
                limb: k.limb as u32,
            });
        };
        if !products.is_empty() {
            load_key(b, 0);
        }
        for (t, &s) in targets.iter().zip(&converted) {
            b.emit(Instruction::Ntt {
                slot: s,
                modulus: target_index(t),
            });
        }
        for (n, k) in products.iter().enumerate() {
            let key_slot = key_slots[n % 2];
            b.emit(if j == 0 {
                Instruction::Mul {
                    dst: k.acc,
                    a: k.digit,
                    b: key_slot,
                    modulus: k.modulus,
                }
            } else {
                Instruction::Mac {
                    acc: k.acc,
                    a: k.digit,
                    b: key_slot,
                    modulus: k.modulus,
                }
            });
            if n + 1 < products.len() {
                load_key(b, n + 1);
            }
        }
        b.release(key_slots);
        b.release(ntt_limbs);
        b.release(converted);
        start = end;
        j += 1;
    }
    accs
}

/// ModDown of one accumulator half in place: its first `level + 1` slots become
/// `(x_q - [x_P]_Q) * P^-1`; the `P` slots are released.
pub(super) fn mod_down(
    b: &mut Builder,
    params: &Parameters,
    level: usize,
    slots: &[Slot],
) -> Vec<Slot> {
    let k_count = params.p_tables().len();
    let (q_slots, p_slots) = slots.split_at(level + 1);
    for (k, &s) in p_slots.iter().enumerate() {
        b.emit(Instruction::Intt {
            slot: s,
            modulus: p_idx(params, k),
        });
    }
    let converted: Vec<Slot> = (0..=level).map(|_| b.alloc()).collect();
    b.emit(Instruction::Bconv {
        src: p_slots.to_vec(),
        from: (0..k_count).map(|k| p_idx(params, k)).collect(),
        dst: converted.clone(),
        to: (0..=level).map(q_idx).collect(),
        centered: true,
    });
    b.release(p_slots.to_vec());
    for (i, (&x, &c)) in q_slots.iter().zip(&converted).enumerate() {
        let p_inv = params.p_inv_mod_q()[i];
        b.emit(Instruction::Ntt {
            slot: c,
            modulus: q_idx(i),
        });
        b.emit(Instruction::Sub {
            dst: x,
            a: x,
            b: c,
            modulus: q_idx(i),
        });
        b.emit(Instruction::MulScalar {
            dst: x,
            a: x,
            scalar: p_inv,
            modulus: q_idx(i),
        });
    }
    b.release(converted);
    q_slots.to_vec()
}
