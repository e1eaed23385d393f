//! The negacyclic number-theoretic transform over `Z_q[X] / (X^N + 1)`.
//!
//! Conventions (shared by every layer of heaccel):
//! - `psi` is [`minimal_primitive_root`]`(q, N)`: the smallest primitive `2N`-th root of unity.
//! - Forward: Cooley-Tukey, coefficients in standard order in, evaluations in bit-reversed order
//!   out: `out[i] = a(psi^(2 * brev(i) + 1))`, with no separate permutation pass.
//! - Inverse: Gentleman-Sande, bit-reversed order in, standard order out, including the factor
//!   `N^-1`.
//! - Twiddles are stored in bit-reversed order: `psi_rev[k] = psi^brev(k)`,
//!   `inv_psi_rev[k] = psi^-brev(k)`, each with its Shoup constant.

use crate::arith::modulus::reduce_once;
use crate::arith::{bit_reverse, minimal_primitive_root, Modulus};
use crate::error::{Error, Result};
use crate::ntt_simd::SimdTables;

/// The back end an NTT runs on (see [`NttTable::kernel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NttKernel {
    /// AVX-512F, 16 lanes of 32 bits (`q < 2^30`).
    Avx512U32,
    /// AVX-512 IFMA, 52-bit products (`q < 2^50`).
    Ifma52,
    /// AVX-512F/DQ, 64-bit products from 32-bit multiplies.
    Avx512,
    /// AVX2, 4 lanes.
    Avx2,
    /// Portable scalar code.
    Scalar,
}

/// Precomputed twiddles of one prime `q` and degree `N` (a power of two in `[2, 2^17]`).
#[derive(Clone, Debug)]
pub struct NttTable {
    modulus: Modulus,
    log_n: u32,
    psi: u64,
    psi_rev: Vec<u64>,
    psi_rev_shoup: Vec<u64>,
    inv_psi_rev: Vec<u64>,
    inv_psi_rev_shoup: Vec<u64>,
    n_inv: u64,
    n_inv_shoup: u64,
    /// Constants of the vector paths (`None` when none applies); see [`crate::ntt_simd`].
    simd: Option<SimdTables>,
}

/// Largest supported `log2(N)`.
pub const MAX_LOG_N: u32 = 17;

impl NttTable {
    /// Builds the table for prime `q = 1 mod 2N` and `N = 2^log_n`, `log_n` in `[1, 17]`.
    pub fn new(q: u64, log_n: u32) -> Result<Self> {
        if !(1..=MAX_LOG_N).contains(&log_n) {
            return Err(Error::InvalidParameter {
                field: "log_n".into(),
                reason: format!("{log_n} is outside [1, {MAX_LOG_N}]"),
            });
        }
        let n = 1usize << log_n;
        let modulus = Modulus::new(q)?;
        let psi = minimal_primitive_root(q, n)?;
        let psi_inv = modulus.inv(psi).expect("psi is invertible mod a prime");
        let powers = |root: u64| {
            let mut pw = vec![0u64; n];
            let mut acc = 1u64;
            for k in 0..n {
                pw[bit_reverse(k, log_n)] = acc;
                acc = modulus.mul(acc, root);
            }
            pw
        };
        let psi_rev = powers(psi);
        let inv_psi_rev = powers(psi_inv);
        let psi_rev_shoup: Vec<u64> = psi_rev.iter().map(|&w| modulus.shoup(w)).collect();
        let inv_psi_rev_shoup: Vec<u64> = inv_psi_rev.iter().map(|&w| modulus.shoup(w)).collect();
        let n_inv = modulus
            .inv(n as u64)
            .expect("N is invertible mod an odd prime");
        let simd = SimdTables::new(
            &modulus,
            &psi_rev,
            &psi_rev_shoup,
            &inv_psi_rev,
            &inv_psi_rev_shoup,
            n_inv,
        );
        Ok(NttTable {
            modulus,
            log_n,
            psi,
            psi_rev,
            psi_rev_shoup,
            inv_psi_rev,
            inv_psi_rev_shoup,
            n_inv,
            n_inv_shoup: modulus.shoup(n_inv),
            simd,
        })
    }

    /// The modulus of this table.
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// Ring degree `N`.
    pub fn n(&self) -> usize {
        1 << self.log_n
    }

    /// `log2(N)`.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }

    /// The primitive `2N`-th root of unity of this table.
    pub fn psi(&self) -> u64 {
        self.psi
    }

    /// Twiddles `psi^brev(k)` for `k` in `[0, N)` (bit-reversed order); index `m + i` is the
    /// twiddle of group `i` in the forward stage with `m` groups.
    pub fn psi_rev(&self) -> &[u64] {
        &self.psi_rev
    }

    /// Shoup constants `floor(w 2^64 / q)` of [`NttTable::psi_rev`] (test hook).
    #[cfg(test)]
    pub(crate) fn psi_rev_shoup(&self) -> &[u64] {
        &self.psi_rev_shoup
    }

    /// Shoup constants of [`NttTable::inv_psi_rev`] (test hook).
    #[cfg(test)]
    pub(crate) fn inv_psi_rev_shoup(&self) -> &[u64] {
        &self.inv_psi_rev_shoup
    }

    /// Inverse twiddles `psi^-brev(k)`, bit-reversed order.
    pub fn inv_psi_rev(&self) -> &[u64] {
        &self.inv_psi_rev
    }

    /// `N^-1 mod q`.
    pub fn n_inv(&self) -> u64 {
        self.n_inv
    }

    /// Forward NTT in place, lazy: input in `[0, 4q)`, output in `[0, 4q)`, bit-reversed order.
    pub fn forward_lazy(&self, a: &mut [u64]) {
        let n = self.n();
        assert_eq!(a.len(), n, "forward NTT of a slice of the wrong length");
        let q = self.modulus.value();
        let two_q = 2 * q;
        let mut t = n;
        let mut m = 1;
        while m < n {
            t >>= 1;
            for i in 0..m {
                let w = self.psi_rev[m + i];
                let ws = self.psi_rev_shoup[m + i];
                let (lo, hi) = a[2 * i * t..2 * i * t + 2 * t].split_at_mut(t);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    // branch-free [0, 4q) -> [0, 2q): the data are random, a branch mispredicts
                    let u = reduce_once(*x, two_q);
                    let v = self.modulus.mul_shoup_lazy(*y, w, ws);
                    *x = u + v;
                    *y = u + two_q - v;
                }
            }
            m <<= 1;
        }
    }

    /// The back end [`NttTable::forward`] and [`NttTable::inverse`] run for this table on this
    /// CPU (the first that applies: AVX-512 32-bit lanes, IFMA, AVX-512, AVX2, scalar).
    pub fn kernel(&self) -> NttKernel {
        use crate::ntt_simd::Path;
        match self.simd.as_ref().and_then(|s| s.path(None)) {
            Some(Path::U32x16) => NttKernel::Avx512U32,
            Some(Path::Ifma52) => NttKernel::Ifma52,
            Some(Path::Avx512) => NttKernel::Avx512,
            None if self.n() >= 8 && crate::ntt_avx2::available() => NttKernel::Avx2,
            None => NttKernel::Scalar,
        }
    }

    /// Test hook: runs the vector forward transform of back end `only` and returns it, or
    /// `None`, leaving `a` untouched, when it does not apply here (table or CPU).
    #[cfg(test)]
    pub(crate) fn forward_vector(
        &self,
        a: &mut [u64],
        only: crate::ntt_simd::Path,
    ) -> Option<crate::ntt_simd::Path> {
        let simd = self.simd.as_ref()?;
        let path = simd.path(Some(only))?;
        assert!(simd.forward(a, &self.psi_rev, &self.psi_rev_shoup, Some(only)));
        Some(path)
    }

    /// Test hook: the inverse counterpart of [`NttTable::forward_vector`].
    #[cfg(test)]
    pub(crate) fn inverse_vector(
        &self,
        a: &mut [u64],
        only: crate::ntt_simd::Path,
    ) -> Option<crate::ntt_simd::Path> {
        let simd = self.simd.as_ref()?;
        let path = simd.path(Some(only))?;
        assert!(simd.inverse(a, &self.inv_psi_rev, &self.inv_psi_rev_shoup, Some(only)));
        Some(path)
    }

    /// Forward NTT in place: input in `[0, 4q)` standard order, output in `[0, q)` bit-reversed order.
    ///
    /// Runs an AVX-512 path when the CPU has one for this table, else the AVX2 path where
    /// available (same output, bit for bit).
    pub fn forward(&self, a: &mut [u64]) {
        assert_eq!(
            a.len(),
            self.n(),
            "forward NTT of a slice of the wrong length"
        );
        if let Some(simd) = &self.simd {
            if simd.forward(a, &self.psi_rev, &self.psi_rev_shoup, None) {
                return;
            }
        }
        if crate::ntt_avx2::forward(a, &self.psi_rev, &self.psi_rev_shoup, &self.modulus) {
            return;
        }
        self.forward_scalar(a);
    }

    /// The scalar path of [`NttTable::forward`].
    pub(crate) fn forward_scalar(&self, a: &mut [u64]) {
        self.forward_lazy(a);
        let q = self.modulus.value();
        for x in a.iter_mut() {
            *x = reduce_from_4q(*x, q);
        }
    }

    /// Inverse NTT in place: input in `[0, 2q)` bit-reversed order, output in `[0, q)` standard
    /// order, including the factor `N^-1`.
    ///
    /// Runs an AVX-512 path when the CPU has one for this table, else the AVX2 path where
    /// available (same output, bit for bit).
    pub fn inverse(&self, a: &mut [u64]) {
        assert_eq!(
            a.len(),
            self.n(),
            "inverse NTT of a slice of the wrong length"
        );
        if let Some(simd) = &self.simd {
            if simd.inverse(a, &self.inv_psi_rev, &self.inv_psi_rev_shoup, None) {
                return;
            }
        }
        let n_inv = (self.n_inv, self.n_inv_shoup);
        if crate::ntt_avx2::inverse(
            a,
            &self.inv_psi_rev,
            &self.inv_psi_rev_shoup,
            n_inv,
            &self.modulus,
        ) {
            return;
        }
        self.inverse_scalar(a);
    }

    /// The scalar path of [`NttTable::inverse`].
    pub(crate) fn inverse_scalar(&self, a: &mut [u64]) {
        let n = self.n();
        assert_eq!(a.len(), n, "inverse NTT of a slice of the wrong length");
        let q = self.modulus.value();
        let two_q = 2 * q;
        let mut t = 1;
        let mut h = n >> 1;
        while h >= 1 {
            for i in 0..h {
                let w = self.inv_psi_rev[h + i];
                let ws = self.inv_psi_rev_shoup[h + i];
                let (lo, hi) = a[2 * i * t..2 * i * t + 2 * t].split_at_mut(t);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let (u, v) = (*x, *y);
                    *x = reduce_once(u + v, two_q);
                    *y = self.modulus.mul_shoup_lazy(u + two_q - v, w, ws);
                }
            }
            t <<= 1;
            h >>= 1;
        }
        for x in a.iter_mut() {
            *x = self.modulus.mul_shoup(*x, self.n_inv, self.n_inv_shoup);
        }
    }
}

#[inline(always)]
fn reduce_from_4q(x: u64, q: u64) -> u64 {
    reduce_once(reduce_once(x, 2 * q), q)
}

/// Negacyclic product `a * b mod (X^N + 1, q)` by schoolbook multiplication, `O(N^2)`:
/// the obvious oracle of NTT-based products. Inputs and output in `[0, q)`, standard order.
pub fn negacyclic_schoolbook(a: &[u64], b: &[u64], modulus: &Modulus) -> Vec<u64> {
    let n = a.len();
    assert_eq!(b.len(), n);
    let q = modulus.value() as u128;
    let mut acc = vec![0u128; n];
    for i in 0..n {
        for j in 0..n {
            let p = a[i] as u128 * b[j] as u128 % q;
            let k = i + j;
            if k < n {
                acc[k] = (acc[k] + p) % q;
            } else {
                acc[k - n] = (acc[k - n] + q - p) % q;
            }
        }
    }
    acc.into_iter().map(|x| x as u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::ntt_primes;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Direct evaluation: out[i] = a(psi^(2 brev(i) + 1)).
    fn naive_forward(a: &[u64], table: &NttTable) -> Vec<u64> {
        let m = table.modulus();
        let n = a.len();
        (0..n)
            .map(|i| {
                let x = m.pow(table.psi(), 2 * bit_reverse(i, table.log_n()) as u64 + 1);
                a.iter().rev().fold(0u64, |acc, &c| m.add(m.mul(acc, x), c))
            })
            .collect()
    }

    fn random_poly(rng: &mut impl Rng, n: usize, q: u64) -> Vec<u64> {
        (0..n).map(|_| rng.gen_range(0..q)).collect()
    }

    #[test]
    fn forward_is_bit_reversed_evaluation() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (bits, log_n) in [(17, 1), (20, 3), (30, 6), (50, 8), (61, 7)] {
            let q = ntt_primes(bits, log_n, 1, &[]).unwrap()[0];
            let table = NttTable::new(q, log_n).unwrap();
            let a = random_poly(&mut rng, 1 << log_n, q);
            let mut b = a.clone();
            table.forward(&mut b);
            assert_eq!(b, naive_forward(&a, &table), "q={q} log_n={log_n}");
        }
    }

    #[test]
    fn corner_inputs() {
        let log_n = 6;
        let q = ntt_primes(61, log_n, 1, &[]).unwrap()[0];
        let table = NttTable::new(q, log_n).unwrap();
        for fill in [0, 1, q - 1] {
            let a = vec![fill; 64];
            let mut b = a.clone();
            table.forward(&mut b);
            assert_eq!(b, naive_forward(&a, &table));
            table.inverse(&mut b);
            assert_eq!(b, a);
        }
        // X^k maps to the k-th power of each evaluation point: checks every twiddle.
        for k in 0..64 {
            let mut a = vec![0u64; 64];
            a[k] = 1;
            let mut b = a.clone();
            table.forward(&mut b);
            assert_eq!(b, naive_forward(&a, &table), "monomial X^{k}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn roundtrip_and_product(log_n in 1u32..=10, bits in prop_oneof![Just(25u32), Just(31), Just(45), Just(61)], seed: u64) {
            prop_assume!(bits >= log_n + 2);
            let q = ntt_primes(bits, log_n, 1, &[]).unwrap()[0];
            let table = NttTable::new(q, log_n).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = 1 << log_n;
            let a = random_poly(&mut rng, n, q);
            let b = random_poly(&mut rng, n, q);
            let mut fa = a.clone();
            table.forward(&mut fa);
            let mut back = fa.clone();
            table.inverse(&mut back);
            prop_assert_eq!(&back, &a);
            let mut fb = b.clone();
            table.forward(&mut fb);
            let m = table.modulus();
            let mut prod: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| m.mul(x, y)).collect();
            table.inverse(&mut prod);
            prop_assert_eq!(prod, negacyclic_schoolbook(&a, &b, m));
        }
    }

    #[test]
    fn lazy_inputs_up_to_4q() {
        let log_n = 8;
        let q = ntt_primes(61, log_n, 1, &[]).unwrap()[0];
        let table = NttTable::new(q, log_n).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let a = random_poly(&mut rng, 256, q);
        let lifted: Vec<u64> = a
            .iter()
            .enumerate()
            .map(|(i, &x)| x + (i as u64 % 4) * q)
            .collect();
        let (mut x, mut y) = (a.clone(), lifted);
        table.forward(&mut x);
        table.forward(&mut y);
        assert_eq!(x, y);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(NttTable::new(97, 0).is_err());
        assert!(NttTable::new(97, 18).is_err());
        assert!(NttTable::new(101, 4).is_err()); // 101 != 1 mod 32
    }
}
