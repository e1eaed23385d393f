//! Prime chains (`Q` and `P`): each given by bit sizes or explicit primes, checked for shape
//! and range first, then resolved to distinct NTT-friendly primes.

use super::invalid;
use crate::arith::{is_prime, ntt_primes};
use crate::error::{Error, Result};

/// Most primes in `Q` and `P` together. More than any set within the 128-bit bound at any
/// supported `N` (at `N = 2^17` the bound is 3523 bits and a prime has at least
/// `log_n + 2 = 19` bits: at most 185 primes), and enforced with `allow_insecure` too, before
/// any prime is searched or table allocated (a table takes `4 N` words: 4 MiB at `N = 2^17`).
pub const MAX_PRIMES: usize = 256;

/// Which of the two fields gives a chain, and its entries (checked for shape and range).
#[derive(Clone, Copy)]
pub(super) enum Chain<'a> {
    /// Bit sizes, each in `[log_n + 2, 61]`.
    Bits(&'a [u32]),
    /// Explicit primes, each below `2^61` and `= 1 mod 2N` (primality is checked later).
    Primes(&'a [u64]),
}

impl<'a> Chain<'a> {
    pub(super) fn len(&self) -> usize {
        match self {
            Chain::Bits(b) => b.len(),
            Chain::Primes(p) => p.len(),
        }
    }

    /// `(field, index, requested log2)` of every entry; `field` is `bits` or `primes`.
    pub(super) fn entries(
        self,
        bits: &'static str,
        primes: &'static str,
    ) -> impl Iterator<Item = (&'static str, usize, f64)> + Clone + 'a {
        let name = match self {
            Chain::Bits(_) => bits,
            Chain::Primes(_) => primes,
        };
        (0..self.len()).map(move |i| (name, i, self.requested_log2(i)))
    }

    /// `log2` of entry `i` as requested: a bit size counts in full (an upper bound on the
    /// `log2` of the prime searched for it), an explicit prime by its own `log2`.
    fn requested_log2(&self, i: usize) -> f64 {
        match self {
            Chain::Bits(b) => f64::from(b[i]),
            Chain::Primes(p) => (p[i] as f64).log2(),
        }
    }
}

/// The chain of `field_bits` / `field_primes`, with every entry's range checked: cheap checks
/// only (no primality test, no search), linear in the entries.
pub(super) fn check_chain<'a>(
    (field_bits, field_primes): (&str, &str),
    bits: &'a [u32],
    explicit: &'a [u64],
    log_n: u32,
) -> Result<Chain<'a>> {
    match (bits.is_empty(), explicit.is_empty()) {
        (false, false) => Err(invalid(
            field_bits,
            format!("give either `{field_bits}` or `{field_primes}`, not both"),
        )),
        (true, true) => Err(invalid(
            field_bits,
            format!("needs at least one prime (`{field_bits}` or `{field_primes}`)"),
        )),
        (false, true) => {
            if let Some((i, &b)) = bits
                .iter()
                .enumerate()
                .find(|&(_, &b)| b < log_n + 2 || b > 61)
            {
                return Err(invalid(
                    &format!("{field_bits}[{i}]"),
                    format!(
                        "{b} bits is outside [{}, 61] for log_n = {log_n}",
                        log_n + 2
                    ),
                ));
            }
            Ok(Chain::Bits(bits))
        }
        (true, false) => {
            let order = 2u64 << log_n;
            if let Some((i, &p)) = explicit
                .iter()
                .enumerate()
                .find(|&(_, &p)| p >> 61 != 0 || p % order != 1)
            {
                return Err(not_ntt_prime(field_primes, i, p, order));
            }
            Ok(Chain::Primes(explicit))
        }
    }
}

fn not_ntt_prime(field_primes: &str, i: usize, p: u64, order: u64) -> Error {
    invalid(
        &format!("{field_primes}[{i}]"),
        format!("{p} must be a prime below 2^61 congruent to 1 mod 2N = {order}"),
    )
}

/// The primes of a checked chain: explicit ones tested for primality and distinctness, bit
/// sizes searched (largest first below `2^bits`, skipping primes already `taken`), one search
/// per distinct size, so the cost is linear in the candidates scanned.
pub(super) fn resolve_chain(
    field_primes: &str,
    chain: Chain<'_>,
    log_n: u32,
    taken: &mut Vec<u64>,
) -> Result<Vec<u64>> {
    match chain {
        Chain::Bits(bits) => {
            // The k-th request of size b gets the k-th largest free prime of b bits: the same
            // primes as searching each entry from the top in turn.
            let mut sizes: Vec<(u32, usize)> = Vec::new();
            for &b in bits {
                match sizes.iter_mut().find(|(s, _)| *s == b) {
                    Some((_, count)) => *count += 1,
                    None => sizes.push((b, 1)),
                }
            }
            let mut found: Vec<(u32, std::vec::IntoIter<u64>)> = Vec::with_capacity(sizes.len());
            for &(b, count) in &sizes {
                found.push((b, ntt_primes(b, log_n, count, taken)?.into_iter()));
            }
            let mut out = Vec::with_capacity(bits.len());
            for &b in bits {
                let (_, primes) = found
                    .iter_mut()
                    .find(|(s, _)| *s == b)
                    .expect("every size was searched");
                let p = primes.next().expect("the search found `count` primes");
                taken.push(p);
                out.push(p);
            }
            Ok(out)
        }
        Chain::Primes(explicit) => {
            let order = 2u64 << log_n;
            for (i, &p) in explicit.iter().enumerate() {
                if !is_prime(p) {
                    return Err(not_ntt_prime(field_primes, i, p, order));
                }
                if taken.contains(&p) {
                    return Err(invalid(
                        &format!("{field_primes}[{i}]"),
                        format!("{p} appears twice"),
                    ));
                }
                taken.push(p);
            }
            Ok(explicit.to_vec())
        }
    }
}
