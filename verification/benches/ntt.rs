//! NTT of one limb: heaccel's reference [`NttTable`] side by side with tfhe-ntt, same prime,
//! same N, same thread.
//!
//! Ids: `ntt/{forward,inverse}/2^{log_n}/{bits}bit/{impl}` with impl
//! - `heaccel`: [`NttTable::forward`] (output in `[0, q)`) / [`NttTable::inverse`] (times N^-1);
//! - `tfhe-ntt`: `tfhe_ntt::prime64::Plan::fwd` / `inv` followed by `normalize` (times N^-1,
//!   the same contract as ours);
//! - `tfhe-ntt-inv-only`: `prime64::Plan::inv` alone (no N^-1), for reference;
//! - `tfhe-ntt-prime32`: `tfhe_ntt::prime32::Plan` on `u32` words (30-bit primes only; inverse
//!   includes `normalize`), for reference.
//!
//! Each size uses the largest prime of the given width with `q = 1 mod 2^17`, so every N uses
//! the same prime. Transforms run in place on the same buffer, which stays in range: the
//! forward output in `[0, q)` is a valid input of the next forward, and likewise for inverse.
//!
//! Run: `cargo bench -p heaccel-verification --bench ntt -- --warm-up-time 1 --measurement-time 2`
//! (add a regex such as `'ntt/forward/2\^14/'` to filter).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use heaccel_verification::arith::ntt_primes;
use heaccel_verification::ntt::NttTable;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LOG_NS: std::ops::RangeInclusive<u32> = 12..=16;
const BITS: [u32; 3] = [30, 50, 60];

fn bench_ntt(c: &mut Criterion) {
    let mut group = c.benchmark_group("ntt");
    let mut rng = ChaCha8Rng::seed_from_u64(0xbe_0001);
    for log_n in LOG_NS {
        let n = 1usize << log_n;
        for bits in BITS {
            let q = ntt_primes(bits, 16, 1, &[]).expect("prime exists")[0];
            let table = NttTable::new(q, log_n).expect("valid table");
            let plan = tfhe_ntt::prime64::Plan::try_new(n, q).expect("tfhe-ntt plan");
            let plan32 = (bits <= 31)
                .then(|| tfhe_ntt::prime32::Plan::try_new(n, q as u32).expect("prime32 plan"));
            let input: Vec<u64> = (0..n).map(|_| rng.gen_range(0..q)).collect();
            let input32: Vec<u32> = input.iter().map(|&x| x as u32).collect();

            for dir in ["forward", "inverse"] {
                let id = |imp: &str| format!("{dir}/2^{log_n}/{bits}bit/{imp}");
                let forward = dir == "forward";

                let mut buf = input.clone();
                group.bench_function(id("heaccel"), |b| {
                    if forward {
                        b.iter(|| table.forward(black_box(&mut buf)))
                    } else {
                        b.iter(|| table.inverse(black_box(&mut buf)))
                    }
                });

                let mut buf = input.clone();
                group.bench_function(id("tfhe-ntt"), |b| {
                    if forward {
                        b.iter(|| plan.fwd(black_box(&mut buf)))
                    } else {
                        b.iter(|| {
                            plan.inv(black_box(&mut buf));
                            plan.normalize(black_box(&mut buf));
                        })
                    }
                });

                if !forward {
                    let mut buf = input.clone();
                    group.bench_function(id("tfhe-ntt-inv-only"), |b| {
                        b.iter(|| plan.inv(black_box(&mut buf)))
                    });
                }

                if let Some(plan32) = &plan32 {
                    let mut buf = input32.clone();
                    group.bench_function(id("tfhe-ntt-prime32"), |b| {
                        if forward {
                            b.iter(|| plan32.fwd(black_box(&mut buf)))
                        } else {
                            b.iter(|| {
                                plan32.inv(black_box(&mut buf));
                                plan32.normalize(black_box(&mut buf));
                            })
                        }
                    });
                }
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_ntt);
criterion_main!(benches);
