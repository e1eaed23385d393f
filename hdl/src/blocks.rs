//! The emitted blocks: each one's rust-hdl instance, Verilog bundle and reference vectors.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;

use heaccel_verification::arith::Modulus;
use heaccel_verification::ntt::NttTable;

use crate::params::Prime;
use crate::verilog::{Bench, Bundle};
use crate::{CtButterfly, GsButterfly, ModMul};

/// Residues for vectors: corners (0, 1, q - 1, q / 2) then uniform random ones.
fn residues(q: u64, count: usize, rng: &mut impl Rng) -> Vec<u64> {
    let corners = [0, 1, q - 1, q / 2];
    let mut v: Vec<u64> = corners.to_vec();
    v.extend((0..count.saturating_sub(corners.len())).map(|_| rng.gen_range(0..q)));
    v
}

fn emit<B: Block>(mut uut: B) -> String {
    uut.connect_all();
    generate_verilog(&uut)
}

fn pipeline(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The [`ModMul`] bundle for prime `q`: every (a, w) pair of corners, then `random` random
/// pairs, and the fixed operands include every forward and inverse twiddle at `N = 2^log_n`.
pub fn modmul_bundle(q: Prime, log_n: u32, random: usize, command: &str) -> Bundle {
    let qv = q.value();
    let m = Modulus::new(qv).expect("valid prime");
    let mut rng = ChaCha8Rng::seed_from_u64(0x6d6d);
    let corners = [0, 1, qv - 1, qv / 2];
    let mut pairs: Vec<(u64, u64)> = corners
        .iter()
        .flat_map(|&a| corners.iter().map(move |&w| (a, w)))
        .collect();
    pairs.push(((1 << 30) - 1, qv - 1));
    if let Ok(t) = NttTable::new(qv, log_n) {
        for &w in t.psi_rev().iter().chain(t.inv_psi_rev()) {
            pairs.push((rng.gen_range(0..qv), w));
        }
    }
    pairs.extend((0..random).map(|_| (rng.gen_range(0..qv), rng.gen_range(0..qv))));
    let records = pairs
        .iter()
        .map(|&(a, w)| vec![a as u32, w as u32, q.shoup30(w) as u32, m.mul(a, w) as u32])
        .collect();
    Bundle {
        name: "modmul".into(),
        command: command.into(),
        verilog: emit(ModMul::new(q)),
        bench: Bench::Pipeline {
            inputs: pipeline(&["a", "w", "w_shoup"]),
            outputs: pipeline(&["y"]),
            latency: ModMul::LATENCY,
        },
        records,
        record_words: 4,
    }
}

/// Butterfly bundles: `inverse = false` for [`CtButterfly`], `true` for [`GsButterfly`];
/// every twiddle of `N = 2^log_n` with random `x, y`, every corner triple, random triples.
pub fn butterfly_bundle(
    q: Prime,
    log_n: u32,
    inverse: bool,
    random: usize,
    command: &str,
) -> Bundle {
    let qv = q.value();
    let m = Modulus::new(qv).expect("valid prime");
    let mut rng = ChaCha8Rng::seed_from_u64(0x6266 + inverse as u64);
    let corners = [0, 1, qv - 1];
    let mut triples = Vec::new();
    for &x in &corners {
        for &y in &corners {
            for &w in &corners {
                triples.push((x, y, w));
            }
        }
    }
    if let Ok(t) = NttTable::new(qv, log_n) {
        let tw = if inverse {
            t.inv_psi_rev()
        } else {
            t.psi_rev()
        };
        for &w in tw {
            triples.push((rng.gen_range(0..qv), rng.gen_range(0..qv), w));
        }
    }
    let ws = residues(qv, random, &mut rng);
    for w in ws {
        triples.push((rng.gen_range(0..qv), rng.gen_range(0..qv), w));
    }
    let records = triples
        .iter()
        .map(|&(x, y, w)| {
            let (u, v) = if inverse {
                (m.add(x, y), m.mul(m.sub(x, y), w))
            } else {
                let wy = m.mul(w, y);
                (m.add(x, wy), m.sub(x, wy))
            };
            vec![
                x as u32,
                y as u32,
                w as u32,
                q.shoup30(w) as u32,
                u as u32,
                v as u32,
            ]
        })
        .collect();
    let (name, verilog, latency) = if inverse {
        (
            "gs_butterfly",
            emit(GsButterfly::new(q)),
            GsButterfly::LATENCY,
        )
    } else {
        (
            "ct_butterfly",
            emit(CtButterfly::new(q)),
            CtButterfly::LATENCY,
        )
    };
    Bundle {
        name: name.into(),
        command: command.into(),
        verilog,
        bench: Bench::Pipeline {
            inputs: pipeline(&["x", "y", "w", "w_shoup"]),
            outputs: pipeline(&["u", "v"]),
            latency,
        },
        records,
        record_words: 6,
    }
}
