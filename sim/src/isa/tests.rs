//! Tests of the ISA: types, validation, the JSON and binary formats.

use super::*;
use heaccel_verification::arith::ntt_primes;

fn sample() -> Program {
    let moduli = ntt_primes(30, 10, 2, &[]).unwrap();
    let mut p = Program::new(10, moduli, 4);
    p.buffers.push(Buffer {
        name: "x".into(),
        limbs: 2,
        role: BufferRole::Input,
    });
    p.buffers.push(Buffer {
        name: "y".into(),
        limbs: 2,
        role: BufferRole::Output,
    });
    use Instruction::*;
    p.instructions = vec![
        Load {
            dst: 0,
            buffer: 0,
            limb: 0,
        },
        Ntt {
            slot: 0,
            modulus: 0,
        },
        Mul {
            dst: 1,
            a: 0,
            b: 0,
            modulus: 0,
        },
        MulScalar {
            dst: 1,
            a: 1,
            scalar: 3,
            modulus: 0,
        },
        Mac {
            acc: 1,
            a: 0,
            b: 0,
            modulus: 0,
        },
        Automorph {
            dst: 2,
            src: 1,
            galois: 5,
            form: PolyForm::Ntt,
            modulus: 0,
        },
        Intt {
            slot: 2,
            modulus: 0,
        },
        Bconv {
            src: vec![2],
            from: vec![0],
            dst: vec![3],
            to: vec![1],
            centered: true,
        },
        Copy { dst: 0, src: 3 },
        Store {
            src: 0,
            buffer: 1,
            limb: 1,
        },
    ];
    p
}

#[test]
fn json_and_binary_round_trip() {
    let p = sample();
    p.validate("sample").unwrap();
    let text = p.to_json();
    assert!(text.contains("\"mul_scalar\": {"), "{text}");
    assert_eq!(Program::from_json(&text, "sample.json").unwrap(), p);
    let bytes = p.to_binary();
    assert_eq!(&bytes[..4], b"HEAX");
    assert!(
        bytes.len() < text.len() / 2,
        "binary {} vs json {}",
        bytes.len(),
        text.len()
    );
    assert_eq!(Program::from_binary(&bytes, "sample.bin").unwrap(), p);
}

/// v2 adds the `plaintext` role and the `free` hint; v1 programs still read, and may use
/// neither; both forms round-trip with their version.
#[test]
fn version_two_additions_and_version_one_programs() {
    let mut p = sample();
    p.buffers.push(Buffer {
        name: "w".into(),
        limbs: 1,
        role: BufferRole::Plaintext,
    });
    p.instructions.push(Instruction::Free { buffer: 0 });
    assert_eq!(p.version, 2);
    let text = p.to_json();
    assert!(text.contains("\"free\": {"), "{text}");
    assert!(text.contains("\"plaintext\""), "{text}");
    assert_eq!(Program::from_json(&text, "v2.json").unwrap(), p);
    assert_eq!(Program::from_binary(&p.to_binary(), "v2.bin").unwrap(), p);
    assert!(p.instructions.last().unwrap().reads().is_empty());
    assert!(p.instructions.last().unwrap().writes().is_empty());
    // Freeing a buffer that does not exist names the field.
    let mut bad = p.clone();
    bad.instructions.push(Instruction::Free { buffer: 9 });
    let e = bad.validate("v2.json").unwrap_err().to_string();
    assert!(e.contains(".buffer") && e.contains("buffer 9"), "{e}");
    // v1: the sample without additions reads, in both forms, with its version kept.
    let mut v1 = sample();
    v1.version = 1;
    assert_eq!(Program::from_json(&v1.to_json(), "v1.json").unwrap(), v1);
    let bytes = v1.to_binary();
    assert_eq!(bytes[4..8], 1u32.to_le_bytes());
    assert_eq!(Program::from_binary(&bytes, "v1.bin").unwrap(), v1);
    // ... and refuses each v2 addition, naming it.
    let mut role = p.clone();
    role.version = 1;
    role.instructions.pop();
    let e = role.validate("v1.json").unwrap_err().to_string();
    assert!(
        e.contains("buffers[2].role") && e.contains("version 2"),
        "{e}"
    );
    let mut free = sample();
    free.version = 1;
    free.instructions.push(Instruction::Free { buffer: 0 });
    let e = free.validate("v1.json").unwrap_err().to_string();
    assert!(e.contains("free") && e.contains("version 2"), "{e}");
    // Versions outside [1, 2] are refused in both forms.
    for v in [0u32, 3] {
        let mut q = sample();
        q.version = v;
        assert!(q.validate("q").unwrap_err().to_string().contains("version"));
        let mut bytes = sample().to_binary();
        bytes[4..8].copy_from_slice(&v.to_le_bytes());
        assert!(Program::from_binary(&bytes, "q.bin")
            .unwrap_err()
            .to_string()
            .contains("version"));
    }
}

#[test]
fn reads_and_writes() {
    let p = sample();
    assert_eq!(p.instructions[4].reads(), vec![1, 0, 0]);
    assert_eq!(p.instructions[4].writes(), vec![1]);
    assert_eq!(p.instructions[7].writes(), vec![3]);
    assert!(p.instructions[9].writes().is_empty());
}

#[test]
fn malformed_programs_name_the_field() {
    let check = |p: Program, field: &str| {
        let e = p.validate("prog.json").unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("prog.json"), "{text}");
        assert!(text.contains(field), "expected `{field}` in: {text}");
    };
    let mut p = sample();
    p.version = ISA_VERSION + 1;
    check(p, "version");
    let mut p = sample();
    p.moduli[1] = 97;
    check(p, "moduli[1]");
    let mut p = sample();
    p.instructions[2] = Instruction::Mul {
        dst: 9,
        a: 0,
        b: 0,
        modulus: 0,
    };
    check(p, "instructions[2].dst");
    let mut p = sample();
    p.instructions[3] = Instruction::MulScalar {
        dst: 1,
        a: 1,
        scalar: u64::MAX,
        modulus: 0,
    };
    check(p, "instructions[3].scalar");
    let mut p = sample();
    p.instructions[5] = Instruction::Automorph {
        dst: 2,
        src: 1,
        galois: 4,
        form: PolyForm::Ntt,
        modulus: 0,
    };
    check(p, "instructions[5].galois");
    let mut p = sample();
    p.instructions[0] = Instruction::Load {
        dst: 0,
        buffer: 0,
        limb: 2,
    };
    check(p, "instructions[0].limb");
    let mut p = sample();
    p.instructions[7] = Instruction::Bconv {
        src: vec![2],
        from: vec![0],
        dst: vec![3],
        to: vec![0],
        centered: false,
    };
    check(p, "instructions[7].to[0]");
    let mut p = sample();
    p.buffers[1].name = "x".into();
    check(p, "buffers[1].name");
}

#[test]
fn bad_text_and_bytes_are_errors() {
    let text = sample().to_json().replacen("\"dst\": 1", "\"dts\": 1", 1);
    let e = Program::from_json(&text, "p.json").unwrap_err().to_string();
    assert!(e.contains("p.json") && e.contains("dts"), "{e}");
    let e = Program::from_json("{\"version\": \"one\"}", "p.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("version"), "{e}");
    assert!(Program::from_binary(b"nope", "p.bin").is_err());
    let mut bytes = sample().to_binary();
    bytes.truncate(bytes.len() / 2);
    assert!(Program::from_binary(&bytes, "p.bin").is_err());
    let mut bytes = sample().to_binary();
    for b in bytes.iter_mut().skip(8).step_by(7) {
        *b ^= 0xa5;
    }
    // Corrupt bytes give an error (parse or validation), never a panic or a huge allocation.
    let _ = Program::from_binary(&bytes, "p.bin");
}
