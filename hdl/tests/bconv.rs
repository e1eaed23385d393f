//! The basis-conversion unit's rust-hdl simulation against the reference
//! `heaccel_verification::rns::BasisConverter::convert` (called here directly): corners (zero,
//! every limb `q_i - 1`, one, each limb alone at `q_i - 1`) and random coefficients, one to
//! sixteen source primes of different widths up to `W - 2` bits, targets narrower, wider and
//! equal to a source, at `W = 32`, 36 and 64; each output at exactly `latency` edges after its
//! coefficient's last residue, with and without idle input cycles; a wrong ROM word changes
//! the outputs of its target; parameters are validated; and the VCD waveform of a run shows
//! the reference conversion of the inputs it shows.

use heaccel_hdl::bconv::{corner_and_random_coefficients, BconvConstants, BconvSim, BconvUnit};
use heaccel_hdl::rtlsim::record_vcd;
use heaccel_hdl::{HdlError, Prime};
use heaccel_verification::arith::{ntt_primes, Modulus};
use heaccel_verification::rns::BasisConverter;

/// `count` NTT primes of `bits` bits (for N = 2^4), none in `exclude`.
fn primes(bits: u32, count: usize, exclude: &[u64]) -> Vec<u64> {
    ntt_primes(bits, 4, count, exclude).unwrap()
}

fn validated<const W: usize>(qs: &[u64]) -> Vec<Prime> {
    qs.iter().map(|&q| Prime::for_word(q, W).unwrap()).collect()
}

/// The reference: `BasisConverter::convert` (or `convert_centered`) on limbs; `coeffs[c][i]`
/// in, `out[c][j]` out.
fn reference(from: &[u64], to: &[u64], coeffs: &[Vec<u64>], centered: bool) -> Vec<Vec<u64>> {
    let m = |qs: &[u64]| -> Vec<Modulus> { qs.iter().map(|&q| Modulus::new(q).unwrap()).collect() };
    let conv = BasisConverter::new(&m(from), &m(to)).unwrap();
    let limbs: Vec<Vec<u64>> = (0..from.len())
        .map(|i| coeffs.iter().map(|x| x[i]).collect())
        .collect();
    let inputs: Vec<&[u64]> = limbs.iter().map(|x| x.as_slice()).collect();
    let mut out = vec![vec![0u64; coeffs.len()]; to.len()];
    let mut outs: Vec<&mut [u64]> = out.iter_mut().map(|x| x.as_mut_slice()).collect();
    if centered {
        conv.convert_centered(&inputs, &mut outs);
    } else {
        conv.convert(&inputs, &mut outs);
    }
    (0..coeffs.len())
        .map(|c| (0..to.len()).map(|j| out[j][c]).collect())
        .collect()
}

/// Runs `coeffs` through the `W`-bit unit, approximate and centered, with and without idle
/// cycles: outputs equal the reference, and without gaps the run takes `n K + latency - 1`
/// cycles (one residue per cycle). Returns the number of coefficients checked.
fn check<const W: usize>(from: &[u64], to: &[u64], random: usize, seed: u64) -> usize {
    let approximate = BconvConstants::new(&validated::<W>(from), &validated::<W>(to), W).unwrap();
    let coeffs = corner_and_random_coefficients(&approximate, random, seed);
    // The corners are what the documentation says.
    assert!(coeffs[0].iter().all(|&x| x == 0));
    assert!(coeffs[1].iter().zip(from).all(|(&x, &q)| x == q - 1));
    let k = from.len();
    let want_approximate = reference(from, to, &coeffs, false);
    let want_centered = reference(from, to, &coeffs, true);
    // The variants differ (the corrections are not all zero), so each is checked for itself.
    assert_ne!(want_approximate, want_centered);
    for (c, want, latency) in [
        (
            approximate.clone(),
            want_approximate,
            BconvUnit::<W>::latency_for(k),
        ),
        (
            approximate.clone().centered(),
            want_centered,
            BconvUnit::<W>::centered_latency_for(k),
        ),
    ] {
        check_variant::<W>(&c, &coeffs, &want, latency);
    }
    coeffs.len()
}

fn check_variant<const W: usize>(
    c: &BconvConstants,
    coeffs: &[Vec<u64>],
    want: &[Vec<u64>],
    latency: usize,
) {
    let (from, to) = (c.from_primes(), c.to_primes());
    let mut sim = BconvSim::<W>::new(c).unwrap();
    assert_eq!(sim.unit.latency(), latency);
    for gaps in [false, true] {
        let (got, cycles) = sim.convert(coeffs, gaps);
        for (n, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(
                g, w,
                "W = {W}, from {from:?} to {to:?}: coefficient {n} = {:?}",
                coeffs[n]
            );
        }
        if !gaps {
            assert_eq!(cycles, coeffs.len() * from.len() + latency - 1);
        }
    }
    // Not all outputs trivially equal (the random ones differ from the corners).
    assert!(want.iter().any(|w| w.iter().any(|&x| x > 1)));
}

#[test]
fn matches_reference_w32() {
    let q30 = primes(30, 8, &[]);
    let q25 = primes(25, 3, &[]);
    let q17 = primes(17, 3, &[]);
    let q13 = primes(13, 2, &[]);
    let mut checked = 0;
    // One source (out = x mod b_j): into narrower, wider and equal targets.
    checked += check::<32>(&[q25[0]], &[q17[0], q30[0], q25[0]], 40, 1);
    checked += check::<32>(&[q30[0]], &[q13[0]], 40, 2);
    // Two to five sources of mixed widths (ModUp of a digit, ModDown from P).
    checked += check::<32>(&[q30[0], q30[1]], &[q30[2], q17[0]], 60, 3);
    checked += check::<32>(
        &[q30[0], q25[0], q17[0]],
        &[q30[1], q13[0], q25[1], q17[1]],
        60,
        4,
    );
    checked += check::<32>(&q30[..4], &[q30[4], q30[5], q30[6]], 60, 5);
    // A target equal to a source (its column of constants is zero but for that source).
    checked += check::<32>(
        &[q30[0], q25[0], q17[0], q13[0], q30[1]],
        &[q17[0], q30[2]],
        60,
        6,
    );
    assert!(checked > 300, "{checked} coefficients");
}

#[test]
fn sixteen_sources_fill_the_accumulator() {
    // K = 16: four reduction steps; sums of sixteen 30-bit residues reach 2^34 > 2^W.
    let q = primes(30, 18, &[]);
    check::<32>(&q[..16], &q[16..], 30, 7);
    let q17 = primes(17, 17, &[]);
    check::<32>(&q17[..16], &[q17[16], q[0]], 30, 8);
}

#[test]
fn matches_reference_w36_and_w64() {
    let q34 = primes(34, 5, &[]);
    let q20 = primes(20, 1, &[]);
    check::<36>(&[q34[0], q34[1], q20[0]], &[q34[2], q34[3]], 30, 9);
    // The reference model stops at 61 bits.
    let q61 = primes(61, 5, &[]);
    let q40 = primes(40, 1, &[]);
    check::<64>(&[q61[0], q40[0], q61[1]], &[q61[2], q61[3], q40[0]], 30, 10);
    check::<64>(&[q61[4]], &[q40[0]], 10, 11);
}

/// A wrong constant in the ROM: the unit's output for that target differs from the reference
/// on random coefficients, the other targets' do not.
#[test]
fn a_wrong_rom_word_changes_its_target() {
    let q = primes(30, 6, &[]);
    let (from, to) = (&q[..3], &q[3..]);
    let c = BconvConstants::new(&validated::<32>(from), &validated::<32>(to), 32).unwrap();
    let (i, j) = (1, 2);
    let bad = c.with_rom_word(i, j, c.rom(i, j).0 + 1);
    assert_ne!(bad.rom(i, j), c.rom(i, j));
    let coeffs = corner_and_random_coefficients(&c, 40, 12);
    let want = reference(from, to, &coeffs, false);
    let (got, _) = BconvSim::<32>::new(&bad).unwrap().convert(&coeffs, false);
    let differ = |jj: usize| {
        got.iter()
            .zip(&want)
            .filter(|(g, w)| g[jj] != w[jj])
            .count()
    };
    assert!(differ(j) >= 40, "{} of {} differ", differ(j), coeffs.len());
    assert_eq!(differ(0), 0);
    assert_eq!(differ(1), 0);
}

#[test]
fn parameters_are_validated() {
    let q = primes(30, 18, &[]);
    let p = validated::<32>(&q);
    let err = |r: Result<BconvConstants, HdlError>| r.unwrap_err().to_string();
    assert!(err(BconvConstants::new(&[], &p[..1], 32)).contains("from = 0"));
    assert!(err(BconvConstants::new(&p[..17], &p[17..], 32)).contains("from = 17"));
    assert!(err(BconvConstants::new(&p[..1], &[], 32)).contains("to = 0"));
    assert!(err(BconvConstants::new(&[p[0], p[1], p[0]], &p[2..3], 32)).contains("twice"));
    assert!(err(BconvConstants::new(&p[..2], &p[2..3], 36)).contains("W = 32"));
    let c = BconvConstants::new(&p[..2], &p[2..3], 32).unwrap();
    assert!(BconvUnit::<36>::new(&c).is_err());
    assert_eq!(
        [1, 2, 3, 4, 5, 8, 9, 16].map(BconvUnit::<32>::latency_for),
        [12, 13, 14, 14, 15, 15, 16, 16]
    );
}

/// A parsed VCD: top-scope names to ids, and each id's changes `(time, value)`.
struct Vcd {
    top: std::collections::HashMap<String, String>,
    changes: std::collections::HashMap<String, Vec<(u64, u64)>>,
}

impl Vcd {
    fn parse(text: &str) -> Vcd {
        let (header, body) = text
            .split_once("$enddefinitions $end")
            .expect("definitions");
        let mut depth = 0usize;
        let mut top = std::collections::HashMap::new();
        for line in header.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.first().copied() {
                Some("$scope") => depth += 1,
                Some("$upscope") => depth -= 1,
                Some("$var") if depth == 1 => {
                    top.insert(w[4].to_string(), w[3].to_string());
                }
                _ => {}
            }
        }
        let mut changes: std::collections::HashMap<String, Vec<(u64, u64)>> = Default::default();
        let mut now = 0;
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(t) = line.strip_prefix('#') {
                now = t.parse().unwrap();
            } else if line.starts_with('$') {
                continue;
            } else {
                let (bits, id) = match line.strip_prefix('b') {
                    Some(v) => v.split_once(' ').unwrap(),
                    None => line.split_at(1),
                };
                let value = u64::from_str_radix(bits, 2).unwrap();
                changes
                    .entry(id.to_string())
                    .or_default()
                    .push((now, value));
            }
        }
        Vcd { top, changes }
    }

    fn at(&self, name: &str, t: u64) -> u64 {
        let id = self
            .top
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in the VCD"));
        self.changes[id]
            .iter()
            .take_while(|(time, _)| *time <= t)
            .last()
            .expect("a value")
            .1
    }
}

/// The waveform of a run: at every rising edge, the residues the VCD shows sampled
/// (`in_valid`, `x`) grouped by `K` and converted by the reference are the `out$j` it shows
/// with `out_valid`, `latency` edges later.
#[test]
fn waveform_shows_the_reference_conversion() {
    let q = primes(30, 5, &[]);
    let (from, to) = (&q[..3], &q[3..]);
    let c = BconvConstants::new(&validated::<32>(from), &validated::<32>(to), 32).unwrap();
    let coeffs = corner_and_random_coefficients(&c, 12, 13);
    let (_, vcd) = record_vcd(|| BconvSim::<32>::new(&c).unwrap().convert(&coeffs, true));
    let wave = Vcd::parse(&String::from_utf8(vcd).unwrap());
    let p = heaccel_hdl::rtlsim::VCD_CLOCK_PERIOD_PS;
    let edges: Vec<u64> = wave.changes[&wave.top["clock"]]
        .iter()
        .filter(|(_, v)| *v == 1)
        .map(|(t, _)| *t)
        .collect();
    let (mut inputs, mut last_edge, mut shown) = (Vec::new(), Vec::new(), Vec::new());
    for (e, &t) in edges.iter().enumerate() {
        // Inputs as sampled at the edge (set before it), outputs as they are after it.
        if wave.at("in_valid", t - p / 2) == 1 {
            inputs.push(wave.at("x", t - p / 2));
            if inputs.len() % from.len() == 0 {
                last_edge.push(e);
            }
        }
        if wave.at("out_valid", t) == 1 {
            let outs: Vec<u64> = (0..to.len())
                .map(|j| wave.at(&format!("out${j}"), t))
                .collect();
            shown.push((e, outs));
        }
    }
    assert_eq!(inputs.len(), coeffs.len() * from.len());
    let seen: Vec<Vec<u64>> = inputs.chunks(from.len()).map(|x| x.to_vec()).collect();
    assert_eq!(seen, coeffs);
    let want = reference(from, to, &seen, false);
    assert_eq!(shown.len(), want.len());
    let latency = BconvUnit::<32>::latency_for(from.len());
    for (n, ((e, outs), w)) in shown.iter().zip(&want).enumerate() {
        assert_eq!(outs, w, "coefficient {n}");
        assert_eq!(*e, last_edge[n] + latency - 1, "coefficient {n}");
    }
}
