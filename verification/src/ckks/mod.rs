//! RNS-CKKS: parameters, encoding, keys, encryption and homomorphic evaluation with hybrid key
//! switching.

pub mod embedding;
pub mod encoder;
pub mod encryptor;
pub mod evaluator;
pub mod kernels;
pub mod keys;
pub mod keyswitch;
pub mod ops;
pub mod params;
pub mod types;

pub use encoder::Encoder;
pub use encryptor::{Decryptor, EncryptionKey, Encryptor};
pub use evaluator::Evaluator;
pub use keys::{
    GaloisKeys, KeyGenerator, PolyQP, PublicKey, RelinKey, SecretKey, SeededSwitchingKey,
    SwitchingKey,
};
pub use ops::CkksOps;
pub use params::{
    preset, Parameters, ParametersLiteral, INSECURE_PRESET_NAMES, MAX_LITERAL_BYTES, MAX_PRIMES,
    PRESET_NAMES,
};
pub use types::{Ciphertext, Plaintext};

use num_complex::Complex64;

/// Precision in bits of `got` against `want`: `-log2(max_i |got_i - want_i|)` (infinite when
/// they are equal).
pub fn precision_bits(want: &[Complex64], got: &[Complex64]) -> f64 {
    let worst = want
        .iter()
        .zip(got)
        .map(|(a, b)| (a - b).norm())
        .fold(0.0f64, f64::max);
    -worst.log2()
}
