//! Property-based fuzzing of every parser of the sim crate (issue 22, "Fuzzing in CI"):
//! the hardware-configuration TOML reader (`HwConfig::from_toml`, what `heaccel simulate
//! --config FILE` calls), the ISA JSON reader (`Program::from_json`) and the binary `HEAX`
//! reader (`Program::from_binary`).
//!
//! Each parser gets structured mutations of real inputs (the presets, a small program that
//! uses every instruction): values replaced by values of other sizes and types, fields
//! dropped, duplicated, renamed or added, truncation, flipped and inserted bytes; and random
//! bytes. Every input must give either an accepted value that validates and round-trips (and
//! that the timing model and the functional executor run without panicking) or an error
//! whose message starts with the source name. Each run draws a fresh random seed (10,000 cases
//! or more per parser; `PROPTEST_CASES=N` for a longer session); a failure prints the shrunk
//! input.
//!
//! One parser a file: the shared runner, checks and seed program are here; the configuration
//! TOML fuzzer is in `fuzz_parsers/config_toml.rs`, the ISA JSON fuzzer in
//! `fuzz_parsers/isa_json.rs`, the binary `HEAX` fuzzer in `fuzz_parsers/isa_binary.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};

use heaccel_sim::isa::{Buffer, BufferRole, Instruction, PolyForm, Program};
use heaccel_sim::{simulate, FunctionalExecutor, HwConfig, Memory, SimError};
use heaccel_verification::arith::ntt_primes;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

/// Cases per run: each parser's own count (at least 10,000; chosen so each takes a few seconds
/// in the test profile), or `PROPTEST_CASES` when set (a longer fuzzing session).
fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        failure_persistence: None,
        ..Config::with_cases(cases)
    })
}

/// Runs `check` on `cases` inputs of `strategy`; panics with the shrunk failing input. The
/// counters (accepted, refused) must both be non-zero: a fuzzer whose mutations never (or
/// always) produce a valid input tests half of its property.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let accepted = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    let start = std::time::Instant::now();
    let result = runner(cases).run(&strategy, |input| {
        let ok = check(input)?;
        if ok { &accepted } else { &refused }.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    let (a, r) = (accepted.into_inner(), refused.into_inner());
    eprintln!(
        "{name}: {} cases ({a} accepted, {r} refused) in {:.2?}",
        a + r,
        start.elapsed()
    );
    assert!(a > 0 && r > 0, "{name}: {a} accepted, {r} refused");
}

/// The error names the source: its message starts with it, and so does the typed field.
fn names_source(e: &SimError, source: &str) -> Result<(), TestCaseError> {
    let text = e.to_string();
    prop_assert!(
        text.starts_with(&format!("{source}: ")),
        "error does not start with `{source}`: {text}"
    );
    let named = match e {
        SimError::Invalid { source_name, .. }
        | SimError::Parse { source_name, .. }
        | SimError::Limit { source_name, .. }
        | SimError::Truncated { source_name, .. }
        | SimError::Overflow { source_name, .. }
        | SimError::Unwritten { source_name, .. }
        | SimError::ReadAfterFree { source_name, .. }
        | SimError::ScratchpadFull { source_name, .. } => source_name,
    };
    prop_assert_eq!(named, source);
    Ok(())
}

fn preset_text(name: &str) -> String {
    let path = format!("{}/../configs/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

/// A small program that uses every instruction, over three 30-bit primes at N = 2^6.
fn sample_program() -> Program {
    use Instruction::*;
    let mut p = Program::new(6, ntt_primes(30, 6, 3, &[]).unwrap(), 5);
    p.buffers = vec![
        Buffer {
            name: "ct.c0".into(),
            limbs: 2,
            role: BufferRole::Input,
        },
        Buffer {
            name: "key.d0".into(),
            limbs: 3,
            role: BufferRole::Key,
        },
        Buffer {
            name: "out".into(),
            limbs: 2,
            role: BufferRole::Output,
        },
    ];
    p.instructions = vec![
        Load {
            dst: 0,
            buffer: 0,
            limb: 0,
        },
        Load {
            dst: 1,
            buffer: 1,
            limb: 2,
        },
        Ntt {
            slot: 0,
            modulus: 0,
        },
        Add {
            dst: 2,
            a: 0,
            b: 1,
            modulus: 0,
        },
        Sub {
            dst: 2,
            a: 2,
            b: 1,
            modulus: 0,
        },
        Mul {
            dst: 3,
            a: 0,
            b: 2,
            modulus: 0,
        },
        AddScalar {
            dst: 3,
            a: 3,
            scalar: 7,
            modulus: 0,
        },
        MulScalar {
            dst: 3,
            a: 3,
            scalar: 3,
            modulus: 0,
        },
        Mac {
            acc: 3,
            a: 0,
            b: 1,
            modulus: 0,
        },
        Automorph {
            dst: 4,
            src: 3,
            galois: 5,
            form: PolyForm::Ntt,
            modulus: 0,
        },
        Intt {
            slot: 4,
            modulus: 0,
        },
        Automorph {
            dst: 4,
            src: 4,
            galois: 125,
            form: PolyForm::Coeff,
            modulus: 0,
        },
        Bconv {
            src: vec![4],
            from: vec![0],
            dst: vec![1, 2],
            to: vec![1, 2],
            centered: true,
        },
        Copy { dst: 0, src: 2 },
        Store {
            src: 0,
            buffer: 2,
            limb: 1,
        },
    ];
    p.validate("sample").unwrap();
    p
}

/// Integers near the edges of every field and limit.
const INTERESTING: [u64; 28] = [
    0,
    1,
    2,
    3,
    4,
    5,
    7,
    16,
    17,
    18,
    64,
    255,
    1023,
    1024,
    1025,
    65_535,
    65_536,
    65_537,
    (1 << 20) + 1,
    (1 << 24) + 1,
    1 << 31,
    u32::MAX as u64,
    1 << 32,
    1 << 40,
    (1 << 61) + 1,
    i64::MAX as u64,
    u64::MAX - 1,
    u64::MAX,
];

fn interesting_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => proptest::sample::select(&INTERESTING[..]),
        1 => any::<u64>(),
        2 => 0u64..64,
    ]
}

/// Applies the simulators to an accepted program: neither may panic, and their errors name
/// `program`.
fn run_models(p: &Program, config: &HwConfig) -> Result<(), TestCaseError> {
    match simulate(p, config) {
        Ok(r) => prop_assert!(r.time_us.is_finite() && r.busy.values().all(|b| *b <= 1.0)),
        Err(e) => names_source(&e, "program")?,
    }
    let limbs: u64 = p.buffers.iter().map(|b| b.limbs as u64).sum();
    if p.log_n <= 8 && limbs <= 64 && p.moduli.len() <= 8 {
        let mut executor =
            FunctionalExecutor::new(p).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut memory = Memory::for_program(p);
        if let Err(e) = executor.run(&mut memory) {
            // Reading an unwritten slot, say; never a panic.
            names_source(&e, "program")?;
        }
    }
    Ok(())
}
#[path = "fuzz_parsers/config_toml.rs"]
mod config_toml;
#[path = "fuzz_parsers/isa_binary.rs"]
mod isa_binary;
#[path = "fuzz_parsers/isa_json.rs"]
mod isa_json;
