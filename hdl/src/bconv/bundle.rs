//! The unit's vector bundle: coefficients (corners and random), their conversion by the
//! reference `heaccel_verification::rns::BasisConverter`, and the [`Bundle`] of the unit's
//! Verilog with its streaming testbench.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;

use heaccel_verification::arith::Modulus;
use heaccel_verification::rns::BasisConverter;

use crate::params::HdlError;
use crate::verilog::{Bench, Bundle};

use super::verilog::testbench;
use super::{BconvConstants, BconvUnit};

/// Whether the stimulus leaves one idle cycle after coefficient `r` (every third one): the
/// same pattern in the rust-hdl driver and the testbench, so `in_valid` gaps are exercised.
pub(super) fn gap_after(r: usize) -> bool {
    r % 3 == 2
}

/// Reference conversion of `coeffs` (`coeffs[c][i]` the residue of coefficient `c` mod
/// `q_i`) by `heaccel_verification::rns::BasisConverter::convert`, or `convert_centered` when
/// `c` is the centered variant; `out[c][j]` mod `b_j`.
/// Errors when a prime is beyond the reference model (above 61 bits).
pub fn reference_convert(
    c: &BconvConstants,
    coeffs: &[Vec<u64>],
) -> Result<Vec<Vec<u64>>, HdlError> {
    let modulus = |q: u64| {
        Modulus::new(q).map_err(|e| HdlError::InvalidModulus {
            q,
            reason: e.to_string(),
        })
    };
    let from: Vec<Modulus> = c
        .from_primes()
        .iter()
        .map(|p| modulus(p.value()))
        .collect::<Result<_, _>>()?;
    let to: Vec<Modulus> = c
        .to_primes()
        .iter()
        .map(|p| modulus(p.value()))
        .collect::<Result<_, _>>()?;
    let conv = BasisConverter::new(&from, &to).map_err(|e| HdlError::InvalidParameter {
        field: "from".into(),
        value: from.len() as u64,
        reason: e.to_string(),
    })?;
    let n = coeffs.len();
    let limbs: Vec<Vec<u64>> = (0..from.len())
        .map(|i| coeffs.iter().map(|x| x[i]).collect())
        .collect();
    let inputs: Vec<&[u64]> = limbs.iter().map(|x| x.as_slice()).collect();
    let mut out = vec![vec![0u64; n]; to.len()];
    let mut outs: Vec<&mut [u64]> = out.iter_mut().map(|x| x.as_mut_slice()).collect();
    if c.is_centered() {
        conv.convert_centered(&inputs, &mut outs);
    } else {
        conv.convert(&inputs, &mut outs);
    }
    Ok((0..n)
        .map(|cc| (0..to.len()).map(|j| out[j][cc]).collect())
        .collect())
}

/// Coefficients for the vectors: the corners (all zero, all `q_i - 1`, `1`, and each limb
/// alone at `q_i - 1`), then `random` uniform ones.
pub fn corner_and_random_coefficients(
    c: &BconvConstants,
    random: usize,
    seed: u64,
) -> Vec<Vec<u64>> {
    let q: Vec<u64> = c.from_primes().iter().map(|p| p.value()).collect();
    let k = q.len();
    let mut v = vec![vec![0; k], q.iter().map(|&x| x - 1).collect(), vec![1; k]];
    for i in 0..k {
        v.push((0..k).map(|m| if m == i { q[m] - 1 } else { 0 }).collect());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    v.extend((0..random).map(|_| q.iter().map(|&x| rng.gen_range(0..x)).collect()));
    v
}

/// The `W`-bit unit's bundle for constants `c`: the Verilog of a unit built from `unit_c`
/// (normally `c`; a unit with a wrong ROM word for the fault-injection control) and records
/// `[x_0 .. x_{K-1}, out_0 .. out_{L-1}]` of [`corner_and_random_coefficients`] converted by
/// the reference ([`reference_convert`], from `c`).
pub fn bconv_bundle<const W: usize>(
    c: &BconvConstants,
    unit_c: &BconvConstants,
    random: usize,
    command: &str,
) -> Result<Bundle, HdlError> {
    let coeffs = corner_and_random_coefficients(c, random, 0x6263);
    let want = reference_convert(c, &coeffs)?;
    let records: Vec<Vec<u64>> = coeffs
        .iter()
        .zip(&want)
        .map(|(x, y)| x.iter().chain(y).copied().collect())
        .collect();
    let mut unit = BconvUnit::<W>::new(unit_c)?;
    unit.connect_all();
    let (k, l) = (unit.from_count(), unit.to_count());
    Ok(Bundle {
        name: "bconv".into(),
        command: command.into(),
        verilog: generate_verilog(&unit),
        word: W,
        bench: Bench::Custom(testbench(k, l, W, unit.latency(), records.len())),
        records,
        record_words: k + l,
        geometry: None,
    })
}
