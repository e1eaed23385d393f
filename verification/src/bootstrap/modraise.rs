//! ModRaise and the sparse-packing trace (SubSum).

use crate::automorphism::galois_element_for_rotation;
use crate::ckks::{Ciphertext, CkksOps, Parameters};
use crate::error::{Error, Mismatched, Result};
use crate::rns::RnsPoly;

/// Lifts a level-0 ciphertext to the top level `L`: each part's coefficients, centered modulo
/// `q_0`, are reduced modulo every `q_i`. The result decrypts to `m + q_0 I` for an integer
/// polynomial `I` (`|I_k| <= ~ sqrt(h / 12)` standard deviations), at the input's scale.
pub fn mod_raise(params: &Parameters, ct: &Ciphertext) -> Result<Ciphertext> {
    ct.validate(params)?;
    if ct.level() != 0 {
        return Err(Error::level("ModRaise", ct.level(), 0..=0));
    }
    if ct.degree() != 1 {
        return Err(Error::mismatch(
            "ModRaise",
            Mismatched::Degree,
            ct.degree(),
            "1 (relinearize first)",
        ));
    }
    let tables = params.q_tables();
    let q0 = tables[0].modulus();
    let parts = ct
        .parts
        .iter()
        .map(|part| {
            let mut coeff = part.limbs[0].clone();
            tables[0].inverse(&mut coeff);
            let centered: Vec<i64> = coeff.iter().map(|&x| q0.center(x)).collect();
            let mut lifted = RnsPoly::from_signed(&centered, &params.q_moduli(params.max_level()));
            lifted.ntt(tables);
            lifted
        })
        .collect();
    Ok(Ciphertext {
        parts,
        ..ct.clone()
    })
}

/// Galois elements of [`sub_sum`] for `2^log_slots` slots: rotations by `n 2^k` in the full
/// `N/2`-slot view, `k` in `[0, log2(N / 2n))`.
pub fn sub_sum_elements(log_n: u32, log_slots: u32) -> Vec<u64> {
    (log_slots..log_n - 1)
        .map(|k| galois_element_for_rotation(1i64 << k, log_n))
        .collect()
}

/// The trace onto the subring `R[X^gap]` of sparse packing (`gap = N / 2n`), times `gap`:
/// `sum_t sigma_(5^(n t))`, in `log2(gap)` automorphisms. Coefficients at multiples of `gap`
/// are multiplied by `gap`, all others cancel, so the result is a genuine `n`-slot plaintext.
pub fn sub_sum<B: CkksOps + ?Sized>(
    eval: &B,
    ct: &Ciphertext,
) -> std::result::Result<Ciphertext, B::Error> {
    let log_n = eval.params().log_n();
    let mut acc = ct.clone();
    for g in sub_sum_elements(log_n, ct.log_slots) {
        let rotated = eval.automorphism(&acc, g)?;
        acc = eval.add(&acc, &rotated)?;
    }
    Ok(acc)
}
