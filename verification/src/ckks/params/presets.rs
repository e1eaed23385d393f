//! The named parameter sets and their literals.

use super::{invalid, ParametersLiteral};
use crate::error::Result;

/// Named parameter sets.
pub const PRESET_NAMES: [&str; 8] = [
    "test-n13",
    "spencnn-n14",
    "n14-ks",
    "n15-deep",
    "n16-deep",
    "n16-boot",
    "boot-test",
    "boot-test-deep",
];

/// Presets below the 128-bit bound, for functional tests only: [`Parameters::preset`] refuses
/// them; set `allow_insecure` on the literal to opt in.
///
/// [`Parameters::preset`]: super::Parameters::preset
pub const INSECURE_PRESET_NAMES: [&str; 2] = ["boot-test", "boot-test-deep"];

/// The literal of a named preset (see [`PRESET_NAMES`]).
///
/// - `test-n13`: `N = 2^13`, `Q` = 45 + 3 x 35 bits, `P` = 50 bits, scale `2^35`, dnum 4 (fast tests).
/// - `spencnn-n14`: `N = 2^14`, 33 + 12 x 31 bits, one 33-bit special prime, scale `2^31`,
///   dnum 13: SpENCNN's (HEAR/SEAL) setting, 438 bits, exactly the 128-bit bound.
/// - `n14-ks`: `N = 2^14`, 50 + 7 x 40 bits, two 50-bit special primes, scale `2^40`, dnum 4:
///   two primes per digit,
///   hybrid key switching as in Lattigo/OpenFHE.
/// - `n15-deep`: `N = 2^15`, 50 + 17 x 40 bits, 3 x 50-bit special primes, scale `2^40`, dnum 6.
/// - `n16-deep`: `N = 2^16`, 55 + 32 x 40 bits, 7 x 55-bit special primes, scale `2^40`, dnum 5.
/// - `n16-boot`: `N = 2^16` for bootstrapping 2^15 slots, sparse secret `h = 192`: `q_0` 60 bits,
///   9 x 40 (left after bootstrapping), 3 x 50 (SlotToCoeff), 9 x 61 (EvalMod), 3 x 61
///   (CoeffToSlot); 4 x 61-bit special primes, dnum 7 (digits of 4 primes, at most `P`); 1546
///   bits, within the 1550 of [`SPARSE_SECRET_BOUNDS`].
/// - `boot-test`: **insecure** (refused unless `allow_insecure`), `N = 2^12`, `h = 192`, the
///   same chain shape with 2 x 40 left: bootstrapping in seconds for tests.
/// - `boot-test-deep`: **insecure**, `n16-boot`'s chain (9 x 40 left) at `N = 2^12`: the
///   encrypted networks of `heaccel infer-boot` in seconds, for tests.
///
/// [`SPARSE_SECRET_BOUNDS`]: super::SPARSE_SECRET_BOUNDS
pub fn preset(name: &str) -> Result<ParametersLiteral> {
    let lit = |log_n, log_q: Vec<u32>, log_p: Vec<u32>, log_scale, dnum| ParametersLiteral {
        log_n,
        log_q,
        q: vec![],
        log_p,
        p: vec![],
        log_scale,
        dnum,
        hamming_weight: None,
        allow_insecure: false,
    };
    let chain = |first: u32, rest: u32, count: usize| {
        std::iter::once(first)
            .chain(std::iter::repeat_n(rest, count))
            .collect::<Vec<_>>()
    };
    Ok(match name {
        "test-n13" => lit(13, chain(45, 35, 3), vec![50], 35, 4),
        "spencnn-n14" => lit(14, chain(33, 31, 12), vec![33], 31, 13),
        "n14-ks" => lit(14, chain(50, 40, 7), vec![50, 50], 40, 4),
        "n15-deep" => lit(15, chain(50, 40, 17), vec![50; 3], 40, 6),
        "n16-deep" => lit(16, chain(55, 40, 32), vec![55; 7], 40, 5),
        "n16-boot" => ParametersLiteral {
            hamming_weight: Some(192),
            ..lit(16, boot_chain(9), vec![61; 4], 40, 7)
        },
        "boot-test" => ParametersLiteral {
            hamming_weight: Some(192),
            ..lit(12, boot_chain(2), vec![61; 5], 40, 5)
        },
        "boot-test-deep" => ParametersLiteral {
            hamming_weight: Some(192),
            ..lit(12, boot_chain(9), vec![61; 4], 40, 7)
        },
        other => {
            return Err(invalid(
                "preset",
                format!(
                    "unknown preset `{other}`; known: {}",
                    PRESET_NAMES.join(", ")
                ),
            ))
        }
    })
}

/// The bootstrapping chain: `q_0` of 60 bits, `left` x 40 bits for the circuit after
/// bootstrapping, 3 x 50 (SlotToCoeff), 9 x 61 (EvalMod: a degree-54 cosine and 3 double angles
/// for `K = 34`), 3 x 61 (CoeffToSlot). The transforms' primes are large because each
/// diagonal is encoded at about the prime it is rescaled by: with 42-bit SlotToCoeff and 56-bit
/// CoeffToSlot primes `n16-boot` measured 21.9 bits of mean precision, with these 24.5.
fn boot_chain(left: usize) -> Vec<u32> {
    std::iter::once(60)
        .chain(std::iter::repeat_n(40, left))
        .chain(std::iter::repeat_n(50, 3))
        .chain(std::iter::repeat_n(61, 12))
        .collect()
}
