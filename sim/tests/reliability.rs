//! Regression tests of issue 22 (reliability): configuration ranges, overflow-free timing,
//! linear validation, clear binary-format errors and size limits checked before work.

use std::time::{Duration, Instant};

use heaccel_sim::isa::{Buffer, BufferRole, Instruction, Program};
use heaccel_sim::{simulate, HwConfig};
use heaccel_verification::arith::ntt_primes;

fn preset_text(name: &str) -> String {
    let path = format!("{}/../configs/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

/// A small program: two buffers, a load, an NTT and a store.
fn small_program() -> Program {
    let mut p = Program::new(10, ntt_primes(30, 10, 2, &[]).unwrap(), 2);
    for (name, role) in [("x", BufferRole::Input), ("y", BufferRole::Output)] {
        p.buffers.push(Buffer {
            name: name.into(),
            limbs: 2,
            role,
        });
    }
    p.instructions = vec![
        Instruction::Load {
            dst: 0,
            buffer: 0,
            limb: 1,
        },
        Instruction::Ntt {
            slot: 0,
            modulus: 0,
        },
        Instruction::Store {
            src: 0,
            buffer: 1,
            limb: 0,
        },
    ];
    p
}

/// Defect 1: a 10 GHz clock with 1e-300 GB/s was accepted; a load's memory cost then
/// saturated to `u64::MAX` and the timing model wrapped it into 35 cycles.
#[test]
fn tiny_bandwidth_config_is_refused_naming_file_field_and_range() {
    let base = preset_text("fpga-u280");
    let text = base
        .replace("clock_mhz = 300.0", "clock_mhz = 10000.0")
        .replace("bandwidth_gb_s = 460.0", "bandwidth_gb_s = 1e-300");
    assert_ne!(text, base);
    let e = HwConfig::from_toml(&text, "my.toml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "my.toml: field `memory.bandwidth_gb_s`: 1e-300 is outside [0.1, 100000] GB/s"
    );
    // The same configuration built in code cannot become a `HwConfig`, so no simulation
    // ever times it.
    let mut literal = HwConfig::preset("fpga-u280").unwrap().into_literal();
    literal.clock_mhz = 10_000.0;
    literal.memory.bandwidth_gb_s = 1e-300;
    let e = HwConfig::new(literal, "in code").unwrap_err().to_string();
    assert_eq!(
        e,
        "in code: field `memory.bandwidth_gb_s`: 1e-300 is outside [0.1, 100000] GB/s"
    );
}

/// Defect 1, the other ranges: each bound is accepted, just beyond it refused with the range.
#[test]
fn config_ranges_are_inclusive_and_named() {
    let base = preset_text("asic");
    // (preset line, field, values at the bounds, values just outside them, the stated range)
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str], &'a str);
    let cases: [Case; 4] = [
        (
            "clock_mhz = 1000.0",
            "clock_mhz",
            &["1.0", "10000.0"],
            &["0.5", "10000.5", "nan", "inf"],
            "[1, 10000]",
        ),
        (
            "bandwidth_gb_s = 1000.0",
            "memory.bandwidth_gb_s",
            &["0.1", "100000.0"],
            &["0.09", "100001.0", "nan", "-inf"],
            "[0.1, 100000]",
        ),
        (
            "latency_ns = 100.0",
            "memory.latency_ns",
            &["0.0", "100000.0"],
            &["-1.0", "100000.5", "nan"],
            "[0, 100000]",
        ),
        (
            "bytes = 180_000_000",
            "scratchpad.bytes",
            &["1024", "1099511627776"],
            &["1023", "1099511627777"],
            "[1024, 1099511627776]",
        ),
    ];
    for (line, field, good, bad, range) in cases {
        let (key, _) = line.split_once(" = ").unwrap();
        assert!(base.contains(line), "{line}");
        for v in good {
            let text = base.replace(line, &format!("{key} = {v}"));
            HwConfig::from_toml(&text, "a.toml").unwrap_or_else(|e| panic!("{field} = {v}: {e}"));
        }
        for v in bad {
            let text = base.replace(line, &format!("{key} = {v}"));
            let e = HwConfig::from_toml(&text, "a.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("a.toml"), "{e}");
            assert!(e.contains(field) && e.contains(range), "{field} = {v}: {e}");
        }
    }
    for name in ["asic", "fpga-u280"] {
        HwConfig::from_toml(&preset_text(name), name).unwrap();
    }
}

/// Defect 1: the slowest configuration the ranges allow, on the largest work per instruction
/// the ISA allows, simulates to the hand-summed cycle count (no saturation, no wrap).
#[test]
fn slowest_config_on_largest_instructions_times_exactly() {
    let mut config = HwConfig::preset("asic").unwrap().into_literal();
    config.clock_mhz = 10_000.0;
    config.word_bits = 64;
    config.memory.bandwidth_gb_s = 0.1;
    config.memory.latency_ns = 100_000.0;
    config.ntt.butterflies_per_unit = 1;
    config.ntt.pipeline_latency = 10_000;
    config.bconv.lanes = 1;
    config.bconv.pipeline_latency = 10_000;
    config.scratchpad.bytes = 1 << 40;
    let config = HwConfig::new(config, "slow").unwrap();
    let log_n = 17u64;
    let n = 1u64 << log_n;
    let moduli = ntt_primes(40, 17, 8, &[]).unwrap();
    let mut p = Program::new(17, moduli, 8);
    p.buffers.push(Buffer {
        name: "x".into(),
        limbs: 1,
        role: BufferRole::Input,
    });
    p.instructions = vec![
        Instruction::Load {
            dst: 0,
            buffer: 0,
            limb: 0,
        },
        Instruction::Ntt {
            slot: 0,
            modulus: 0,
        },
        Instruction::Bconv {
            src: vec![0, 1, 2, 3],
            from: vec![0, 1, 2, 3],
            dst: vec![4, 5, 6, 7],
            to: vec![4, 5, 6, 7],
            centered: true,
        },
    ];
    let r = simulate(&p, &config).unwrap();
    // 8 bytes a word at 0.01 bytes a cycle; 100 us of latency at 10 GHz.
    let load = n * 8 * 100 + 1_000_000;
    let ntt = n / 2 * log_n + 10_000;
    // The NTT writes slot 0, which the basis conversion reads.
    let bconv = n * (4 + 16) + 10_000;
    assert_eq!(r.cycles, load + ntt + bconv);
    assert_eq!(r.offchip_bytes, n * 8);
}

/// Defect 2: the buffer-name uniqueness check was quadratic (120,000 buffers: 34 s).
#[test]
fn validate_is_linear_in_the_buffer_count() {
    let mut p = small_program();
    p.buffers = (0..200_000)
        .map(|i| Buffer {
            name: format!("ct{i}.c0"),
            limbs: 2,
            role: BufferRole::Temp,
        })
        .collect();
    let start = Instant::now();
    p.validate("many.json").unwrap();
    // A sanity guard only (the quadratic check took minutes here), not a benchmark.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    p.buffers[199_999].name = "ct3.c0".into();
    let e = p.validate("many.json").unwrap_err().to_string();
    assert!(e.starts_with("many.json"), "{e}");
    assert!(
        e.contains("buffers[199999].name") && e.contains("`ct3.c0`"),
        "{e}"
    );
}

/// Defect 3: a file shorter than the header said "missing HEAX magic".
#[test]
fn short_binary_file_states_the_header_it_lacks() {
    for bytes in [&b""[..], b"HEA", b"HEAX\x01\x00\x00"] {
        let e = Program::from_binary(bytes, "p.bin")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "p.bin: {} bytes; a HEAX program starts with an 8-byte header (magic `HEAX`, version)",
                bytes.len()
            )
        );
    }
    let e = Program::from_binary(b"HEAY\x01\x00\x00\x00", "p.bin")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("p.bin") && e.contains("magic"), "{e}");
}

/// Defect 3: a huge length prefix in the body said "io error: " and nothing else.
#[test]
fn length_prefix_beyond_the_file_names_the_shortfall() {
    let p = small_program();
    let bytes = p.to_binary();
    // header, version, log_n, moduli (length + words), slots, buffers' length: the first
    // buffer's name length.
    let at = 8 + 4 + 4 + 8 + 8 * p.moduli.len() + 4 + 8;
    assert_eq!(bytes[at..at + 8], 1u64.to_le_bytes(), "name `x`");
    let mut bad = bytes.clone();
    bad[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let e = Program::from_binary(&bad, "p.bin").unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "p.bin: the program body needs 1099511627776 bytes for a string at byte {}, \
             beyond the file's {} bytes (truncated or corrupt)",
            at + 8,
            bytes.len()
        )
    );
    // A truncated file: the read that runs past the end is named.
    let cut = &bytes[..bytes.len() - 3];
    let e = Program::from_binary(cut, "p.bin").unwrap_err().to_string();
    assert!(e.starts_with("p.bin: the program body needs"), "{e}");
    assert!(
        e.contains(&format!(
            "beyond the file's {} bytes (truncated or corrupt)",
            cut.len()
        )),
        "{e}"
    );
}

/// Defect 4: sizes a user controls are checked against their limits, in `validate` and in
/// the readers before the elements are read.
#[test]
fn sizes_beyond_their_limits_are_refused_before_work() {
    // validate: slots, limbs per buffer, buffer names.
    let mut p = small_program();
    p.slots = (1 << 20) + 1;
    let e = p.validate("p.json").unwrap_err().to_string();
    assert!(e.contains("`slots`") && e.contains("1048576"), "{e}");
    let mut p = small_program();
    p.buffers[1].limbs = (1 << 16) + 1;
    let e = p.validate("p.json").unwrap_err().to_string();
    assert!(e.contains("buffers[1].limbs") && e.contains("65536"), "{e}");
    let mut p = small_program();
    p.buffers[1].name = "n".repeat(1025);
    let e = p.validate("p.json").unwrap_err().to_string();
    assert!(e.contains("buffers[1].name") && e.contains("1024"), "{e}");
    // 1,025 genuine NTT primes: refused for their number (before any primality test).
    let mut p = small_program();
    p.log_n = 4;
    p.moduli = ntt_primes(40, 4, 1025, &[]).unwrap();
    p.instructions.clear();
    let e = p.validate("p.json").unwrap_err().to_string();
    assert!(e.contains("`moduli`") && e.contains("1024"), "{e}");
    // The JSON reader stops at the 1,025th prime.
    let text = p.to_json();
    let e = Program::from_json(&text, "p.json").unwrap_err().to_string();
    assert!(
        e.starts_with("p.json") && e.contains("moduli") && e.contains("1024"),
        "{e}"
    );
    // A bconv converting to more limbs than the prime table may hold.
    let mut p = small_program();
    p.instructions = vec![Instruction::Bconv {
        src: vec![0],
        from: vec![0],
        dst: vec![1; 1025],
        to: vec![1; 1025],
        centered: false,
    }];
    let e = p.validate("p.json").unwrap_err().to_string();
    assert!(
        e.contains("instructions[0].dst") && e.contains("1024"),
        "{e}"
    );
    // The binary reader refuses a declared count over the limit without reading on: the
    // instruction count (2^24 + 1) and the buffer count (2^20 + 1) of otherwise empty bodies.
    let mut empty = small_program();
    empty.buffers.clear();
    empty.instructions.clear();
    let bytes = empty.to_binary();
    let mut bad = bytes.clone();
    let len = bad.len();
    bad[len - 8..].copy_from_slice(&((1u64 << 24) + 1).to_le_bytes());
    let e = Program::from_binary(&bad, "p.bin").unwrap_err().to_string();
    assert!(
        e.starts_with("p.bin")
            && e.contains(
                "`instructions` declares 16777217 elements, more than the limit of 16777216"
            ),
        "{e}"
    );
    let mut bad = bytes[..len - 8].to_vec();
    let at = bad.len() - 8;
    bad[at..].copy_from_slice(&((1u64 << 20) + 1).to_le_bytes());
    let e = Program::from_binary(&bad, "p.bin").unwrap_err().to_string();
    assert!(
        e.starts_with("p.bin")
            && e.contains("`buffers` declares 1048577 elements, more than the limit of 1048576"),
        "{e}"
    );
}
