//! rust-hdl simulation of the modular adder, subtractor, multiplier and butterflies against
//! the reference model (`heaccel-verification`) and u128 arithmetic, on random and corner
//! inputs (0, 1, q - 1) for several NTT primes below 2^(W-2), at every supported word W
//! (32, 36, 64; fewer random vectors at the wider words, whose Bits simulate bit by bit).

use heaccel_hdl::rtlsim::{start, stream};
use heaccel_hdl::{CtButterfly, GsButterfly, ModAdd, ModMul, ModSub, MulLimbs, Prime};
use heaccel_verification::arith::{ntt_primes, Modulus};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;

/// NTT-friendly primes of several widths (q = 1 mod 2N) for word `W`, the largest below
/// `2^min(W-2, 61)` first (61 bits: the reference model's limit).
fn primes<const W: usize>() -> Vec<u64> {
    let top = (W as u32 - 2).min(61);
    let mut v = ntt_primes(top, 14, 2, &[]).unwrap();
    if W > 32 {
        v.extend(ntt_primes(31, 12, 1, &[]).unwrap());
    }
    v.extend(ntt_primes(27, 12, 1, &[]).unwrap());
    v.extend(ntt_primes(20, 8, 1, &[]).unwrap());
    v.extend(ntt_primes(13, 8, 1, &[]).unwrap());
    v
}

/// The largest prime below `2^62` (beyond the reference model's 61 bits; checked against
/// u128 arithmetic only): the top of the `W = 64` multiplier's range.
fn prime_62() -> u64 {
    let mut q = (1u64 << 62) - 1;
    while !heaccel_verification::arith::is_prime(q) {
        q -= 2;
    }
    q
}

/// Random vectors per prime: fewer at the wider words.
fn random_count<const W: usize>(at_32: usize) -> usize {
    if W == 32 {
        at_32
    } else {
        at_32 / 4
    }
}

fn prime_for<const W: usize>(q: u64) -> Prime {
    Prime::for_word(q, W).unwrap()
}

/// Corner values first (every pair of 0, 1, q - 1, and q / 2), then random residues.
fn operand_pairs(q: u64, random: usize, rng: &mut impl Rng) -> Vec<(u64, u64)> {
    let corners = [0, 1, q - 1, q / 2];
    let mut v: Vec<(u64, u64)> = corners
        .iter()
        .flat_map(|&a| corners.iter().map(move |&b| (a, b)))
        .collect();
    v.extend((0..random).map(|_| (rng.gen_range(0..q), rng.gen_range(0..q))));
    v
}

fn b32<const W: usize>(x: u64) -> Bits<W> {
    x.to_bits()
}

fn u<const W: usize>(x: Bits<W>) -> u64 {
    x.to_u64()
}

fn modadd_and_modsub_match_reference<const W: usize>() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for q in primes::<W>() {
        let m = Modulus::new(q).unwrap();
        let pairs = operand_pairs(q, random_count::<W>(500), &mut rng);
        let mut add = ModAdd::<W>::new(prime_for::<W>(q));
        start(&mut add);
        let got = stream(
            &mut add,
            |b| &mut b.clock,
            pairs.len(),
            ModAdd::<W>::LATENCY,
            |b, i| {
                let (x, y) = i.map_or((0, 0), |i| pairs[i]);
                b.a.next = b32(x);
                b.b.next = b32(y);
            },
            |b| u(b.y.val()),
        );
        for (&(x, y), g) in pairs.iter().zip(&got) {
            assert_eq!(*g, m.add(x, y), "q={q} {x}+{y}");
            assert_eq!(*g as u128, (x as u128 + y as u128) % q as u128);
        }
        let mut sub = ModSub::<W>::new(prime_for::<W>(q));
        start(&mut sub);
        let got = stream(
            &mut sub,
            |b| &mut b.clock,
            pairs.len(),
            ModSub::<W>::LATENCY,
            |b, i| {
                let (x, y) = i.map_or((0, 0), |i| pairs[i]);
                b.a.next = b32(x);
                b.b.next = b32(y);
            },
            |b| u(b.y.val()),
        );
        for (&(x, y), g) in pairs.iter().zip(&got) {
            assert_eq!(*g, m.sub(x, y), "q={q} {x}-{y}");
        }
    }
}

/// The multiplier against u128 arithmetic for one prime (the reference model too when it
/// supports `q`): corners, `a` anywhere below `2^(W-2)`, random pairs.
fn modmul_matches_for<const W: usize>(q: u64, random: usize, rng: &mut impl Rng) {
    let p = prime_for::<W>(q);
    let m = Modulus::new(q).ok();
    let top = 1u64 << (W - 2);
    let mut pairs = operand_pairs(q, random, rng);
    // The variable operand may be any value below 2^(W-2), not only a residue.
    pairs.extend(
        [top - 1, top - 2, q, 2 * q - 1]
            .iter()
            .flat_map(|&a| [0, 1, q - 1].map(|w| (a % top, w))),
    );
    pairs.extend((0..random / 4).map(|_| (rng.gen_range(0..top), rng.gen_range(0..q))));
    let mut mul = ModMul::<W>::new(p);
    start(&mut mul);
    let got = stream(
        &mut mul,
        |b| &mut b.clock,
        pairs.len(),
        ModMul::<W>::LATENCY,
        |b, i| {
            let (a, w) = i.map_or((0, 0), |i| pairs[i]);
            b.a.next = b32(a);
            b.w.next = b32(w);
            b.w_shoup.next = b32(p.shoup_for(w, W));
        },
        |b| u(b.y.val()),
    );
    for (&(a, w), g) in pairs.iter().zip(&got) {
        let want = (a as u128 * w as u128 % q as u128) as u64;
        assert_eq!(*g, want, "W={W} q={q} {a}*{w}");
        if let Some(m) = &m {
            assert_eq!(*g, m.mul(a, w));
        }
    }
}

fn modmul_matches_reference_every_cycle<const W: usize>() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for q in primes::<W>() {
        modmul_matches_for::<W>(q, random_count::<W>(2000), &mut rng);
    }
    if W == 64 {
        modmul_matches_for::<W>(prime_62(), 500, &mut rng);
    }
}

fn modmul_latency_is_exact<const W: usize>() {
    // The result appears after exactly LATENCY edges: one edge earlier the output still
    // holds the previous (zero) product.
    let q = primes::<W>()[0];
    let p = prime_for::<W>(q);
    let mut mul = ModMul::<W>::new(p);
    start(&mut mul);
    let (a, w) = (123_456_789u64, q - 2);
    mul.a.next = b32(a);
    mul.w.next = b32(w);
    mul.w_shoup.next = b32(p.shoup_for(w, W));
    for edge in 1..=ModMul::<W>::LATENCY {
        heaccel_hdl::rtlsim::cycle(&mut mul, |b| &mut b.clock);
        let y = u(mul.y.val());
        if edge < ModMul::<W>::LATENCY {
            assert_eq!(y, 0, "output changed early, at edge {edge}");
        } else {
            assert_eq!(y, (a as u128 * w as u128 % q as u128) as u64);
        }
    }
}

/// Every twiddle of the forward and inverse NTT at N = 2^8 as `w`, random `x, y`.
fn butterflies_match_reference_on_all_twiddles<const W: usize>() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for q in primes::<W>() {
        let p = prime_for::<W>(q);
        let m = Modulus::new(q).unwrap();
        let table = heaccel_verification::ntt::NttTable::new(q, 8).unwrap();
        let corners = [0, 1, q - 1];
        let mut cases: Vec<(u64, u64, u64)> = Vec::new();
        for &w in table.psi_rev().iter().chain(table.inv_psi_rev()) {
            cases.push((rng.gen_range(0..q), rng.gen_range(0..q), w));
        }
        for &x in &corners {
            for &y in &corners {
                for &w in &corners {
                    cases.push((x, y, w));
                }
            }
        }
        let run_ct = {
            let mut bf = CtButterfly::<W>::new(p);
            start(&mut bf);
            stream(
                &mut bf,
                |b| &mut b.clock,
                cases.len(),
                CtButterfly::<W>::LATENCY,
                |b, i| {
                    let (x, y, w) = i.map_or((0, 0, 0), |i| cases[i]);
                    b.x.next = b32(x);
                    b.y.next = b32(y);
                    b.w.next = b32(w);
                    b.w_shoup.next = b32(p.shoup_for(w, W));
                },
                |b| (u(b.u.val()), u(b.v.val())),
            )
        };
        let run_gs = {
            let mut bf = GsButterfly::<W>::new(p);
            start(&mut bf);
            stream(
                &mut bf,
                |b| &mut b.clock,
                cases.len(),
                GsButterfly::<W>::LATENCY,
                |b, i| {
                    let (x, y, w) = i.map_or((0, 0, 0), |i| cases[i]);
                    b.x.next = b32(x);
                    b.y.next = b32(y);
                    b.w.next = b32(w);
                    b.w_shoup.next = b32(p.shoup_for(w, W));
                },
                |b| (u(b.u.val()), u(b.v.val())),
            )
        };
        for (i, &(x, y, w)) in cases.iter().enumerate() {
            let wy = m.mul(w, y);
            assert_eq!(
                run_ct[i],
                (m.add(x, wy), m.sub(x, wy)),
                "CT q={q} {x},{y},{w}"
            );
            assert_eq!(
                run_gs[i],
                (m.add(x, y), m.mul(m.sub(x, y), w)),
                "GS q={q} {x},{y},{w}"
            );
        }
    }
}

macro_rules! at_every_word {
    ($($name:ident),*) => {
        $(
            mod $name {
                #[test]
                fn w32() {
                    super::$name::<32>();
                }
                #[test]
                fn w36() {
                    super::$name::<36>();
                }
                #[test]
                fn w64() {
                    super::$name::<64>();
                }
            }
        )*
    };
}

at_every_word!(
    modadd_and_modsub_match_reference,
    modmul_matches_reference_every_cycle,
    modmul_latency_is_exact,
    butterflies_match_reference_on_all_twiddles
);

#[test]
fn partial_products_per_word() {
    // Two 15-bit limbs at W = 32 (3 + 3 + 3), three 12-bit limbs at 36 (5 + 6 + 5), five
    // 13-bit limbs at 64 (11 + 15 + 11); a plain W x W product takes ceil(W/16)^2.
    for (w, limbs, bits, products, plain) in
        [(32, 2, 15, 9, 4), (36, 3, 12, 16, 9), (64, 5, 13, 37, 16)]
    {
        let g = MulLimbs::for_word(w);
        assert_eq!((g.limbs, g.limb_bits), (limbs, bits), "W = {w}");
        assert_eq!(g.partial_products(), products, "W = {w}");
        assert_eq!(g.plain_products(), plain, "W = {w}");
    }
    assert_eq!(ModMul::<32>::PARTIAL_PRODUCTS, 9);
    assert_eq!(ModMul::<36>::PARTIAL_PRODUCTS, 16);
    assert_eq!(ModMul::<64>::PARTIAL_PRODUCTS, 37);
}

#[test]
fn prime_validation_rejects_bad_moduli() {
    assert!(Prime::new(1 << 30).is_err());
    assert!(Prime::new((1 << 30) + 3).is_err());
    assert!(Prime::new(15).is_err());
    assert!(Prime::new(2).is_err());
    assert!(Prime::new(ntt_primes(30, 14, 1, &[]).unwrap()[0]).is_ok());
    // Wider words take wider primes, below 2^(W-2); other words are refused.
    let q34 = ntt_primes(34, 14, 1, &[]).unwrap()[0];
    assert!(Prime::new(q34).is_err());
    assert!(Prime::for_word(q34, 36).is_ok());
    assert!(Prime::for_word(1 << 34, 36).is_err());
    assert!(Prime::for_word(prime_62(), 64).is_ok());
    assert!(Prime::for_word(q34, 48).is_err());
}
