//! Word-size loops compiled for the widest vector instruction set the CPU has.
//!
//! The crate is built for the baseline x86-64 (SSE2), where 64-bit comparisons and minima are
//! emulated; [`map_into`] runs a word-by-word closure in a copy of the loop compiled for
//! AVX-512 or AVX2 when the CPU has them. Every path computes the same words: only the
//! instruction set differs. For word-size arithmetic only: `u128` products compiled this way
//! are slower than the baseline's.

/// `out[k] = f(x[k])` for every `k` (`x` and `out` of one length).
pub fn map_into<F: Fn(u64) -> u64>(x: &[u64], out: &mut [u64], f: &F) {
    assert_eq!(x.len(), out.len(), "operand length");
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has avx512f, the only feature the function enables.
            return unsafe { map_into_avx512(x, out, f) };
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has avx2, the only feature the function enables.
            return unsafe { map_into_avx2(x, out, f) };
        }
    }
    map_into_body(x, out, f)
}

/// [`map_into_body`] compiled with the target feature `$feature` (call only where the CPU has
/// it).
macro_rules! map_into_for {
    ($name:ident, $feature:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        fn $name<F: Fn(u64) -> u64>(x: &[u64], out: &mut [u64], f: &F) {
            map_into_body(x, out, f)
        }
    };
}

map_into_for!(map_into_avx512, "avx512f");
map_into_for!(map_into_avx2, "avx2");

#[inline(always)]
fn map_into_body<F: Fn(u64) -> u64>(x: &[u64], out: &mut [u64], f: &F) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_computes_the_closure() {
        let x: Vec<u64> = (0..37)
            .map(|k: u64| k.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_mul(k))
            .collect();
        let f = |v: u64| v.min(v.wrapping_sub(1 << 40)) ^ 5;
        let want: Vec<u64> = x.iter().map(|&v| f(v)).collect();
        let mut out = vec![0; x.len()];
        map_into(&x, &mut out, &f);
        assert_eq!(out, want);
        map_into_body(&x, &mut out, &f);
        assert_eq!(out, want);
    }
}
