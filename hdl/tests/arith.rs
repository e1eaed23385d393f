//! rust-hdl simulation of the modular adder, subtractor, multiplier and butterflies against
//! the reference model (`heaccel-verification`) and u128 arithmetic, on random and corner
//! inputs (0, 1, q - 1) for several NTT primes below 2^30.

use heaccel_hdl::sim::{start, stream};
use heaccel_hdl::{CtButterfly, GsButterfly, ModAdd, ModMul, ModSub, Prime};
use heaccel_verification::arith::{ntt_primes, Modulus};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;

/// NTT-friendly primes of several widths (q = 1 mod 2N), the largest below 2^30 first.
fn primes() -> Vec<u64> {
    let mut v = ntt_primes(30, 14, 2, &[]).unwrap();
    v.extend(ntt_primes(27, 12, 1, &[]).unwrap());
    v.extend(ntt_primes(20, 8, 1, &[]).unwrap());
    v.extend(ntt_primes(13, 8, 1, &[]).unwrap());
    v
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

fn b32(x: u64) -> Bits<32> {
    (x as u32).to_bits()
}

fn u(x: Bits<32>) -> u64 {
    x.to_u64()
}

#[test]
fn modadd_and_modsub_match_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for q in primes() {
        let m = Modulus::new(q).unwrap();
        let pairs = operand_pairs(q, 500, &mut rng);
        let mut add = ModAdd::new(Prime::new(q).unwrap());
        start(&mut add);
        let got = stream(
            &mut add,
            |b| &mut b.clock,
            pairs.len(),
            ModAdd::LATENCY,
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
        let mut sub = ModSub::new(Prime::new(q).unwrap());
        start(&mut sub);
        let got = stream(
            &mut sub,
            |b| &mut b.clock,
            pairs.len(),
            ModSub::LATENCY,
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

#[test]
fn modmul_matches_reference_every_cycle() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for q in primes() {
        let p = Prime::new(q).unwrap();
        let m = Modulus::new(q).unwrap();
        let mut pairs = operand_pairs(q, 2000, &mut rng);
        // The variable operand may be any value below 2^30, not only a residue.
        pairs.extend(
            [(1 << 30) - 1, (1 << 30) - 2, q, 2 * q - 1]
                .iter()
                .flat_map(|&a| [0, 1, q - 1].map(|w| (a % (1 << 30), w))),
        );
        pairs.extend((0..500).map(|_| (rng.gen_range(0..1u64 << 30), rng.gen_range(0..q))));
        let mut mul = ModMul::new(p);
        start(&mut mul);
        let got = stream(
            &mut mul,
            |b| &mut b.clock,
            pairs.len(),
            ModMul::LATENCY,
            |b, i| {
                let (a, w) = i.map_or((0, 0), |i| pairs[i]);
                b.a.next = b32(a);
                b.w.next = b32(w);
                b.w_shoup.next = b32(p.shoup30(w));
            },
            |b| u(b.y.val()),
        );
        for (&(a, w), g) in pairs.iter().zip(&got) {
            let want = (a as u128 * w as u128 % q as u128) as u64;
            assert_eq!(*g, want, "q={q} {a}*{w}");
            assert_eq!(*g, m.mul(a, w));
        }
    }
}

#[test]
fn modmul_latency_is_exact() {
    // The result appears after exactly LATENCY edges: one edge earlier the output still
    // holds the previous (zero) product.
    let q = ntt_primes(30, 14, 1, &[]).unwrap()[0];
    let p = Prime::new(q).unwrap();
    let mut mul = ModMul::new(p);
    start(&mut mul);
    let (a, w) = (123_456_789u64, q - 2);
    mul.a.next = b32(a);
    mul.w.next = b32(w);
    mul.w_shoup.next = b32(p.shoup30(w));
    for edge in 1..=ModMul::LATENCY {
        heaccel_hdl::sim::cycle(&mut mul, |b| &mut b.clock);
        let y = u(mul.y.val());
        if edge < ModMul::LATENCY {
            assert_eq!(y, 0, "output changed early, at edge {edge}");
        } else {
            assert_eq!(y, (a as u128 * w as u128 % q as u128) as u64);
        }
    }
}

/// Every twiddle of the forward and inverse NTT at N = 2^8 as `w`, random `x, y`.
#[test]
fn butterflies_match_reference_on_all_twiddles() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for q in primes() {
        let p = Prime::new(q).unwrap();
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
            let mut bf = CtButterfly::new(p);
            start(&mut bf);
            stream(
                &mut bf,
                |b| &mut b.clock,
                cases.len(),
                CtButterfly::LATENCY,
                |b, i| {
                    let (x, y, w) = i.map_or((0, 0, 0), |i| cases[i]);
                    b.x.next = b32(x);
                    b.y.next = b32(y);
                    b.w.next = b32(w);
                    b.w_shoup.next = b32(p.shoup30(w));
                },
                |b| (u(b.u.val()), u(b.v.val())),
            )
        };
        let run_gs = {
            let mut bf = GsButterfly::new(p);
            start(&mut bf);
            stream(
                &mut bf,
                |b| &mut b.clock,
                cases.len(),
                GsButterfly::LATENCY,
                |b, i| {
                    let (x, y, w) = i.map_or((0, 0, 0), |i| cases[i]);
                    b.x.next = b32(x);
                    b.y.next = b32(y);
                    b.w.next = b32(w);
                    b.w_shoup.next = b32(p.shoup30(w));
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

#[test]
fn prime_validation_rejects_bad_moduli() {
    assert!(Prime::new(1 << 30).is_err());
    assert!(Prime::new((1 << 30) + 3).is_err());
    assert!(Prime::new(15).is_err());
    assert!(Prime::new(2).is_err());
    assert!(Prime::new(ntt_primes(30, 14, 1, &[]).unwrap()[0]).is_ok());
}
