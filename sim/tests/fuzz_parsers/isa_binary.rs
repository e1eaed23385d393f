//! The binary `HEAX` reader (`Program::from_binary`) under byte-level mutations of the
//! sample program's binary form, random bodies after a valid header, and random bytes.

use super::*;

/// One edit of a binary program.
#[derive(Clone, Debug)]
enum BinEdit {
    /// XOR byte `at` with `mask`.
    Flip { at: usize, mask: u8 },
    /// Overwrite the 4 bytes at `at` with `value` (little-endian; tags, slots, counts).
    SetU32 { at: usize, value: u32 },
    /// Overwrite the 8 bytes at `at` with `value` (little-endian; lengths, moduli, scalars).
    SetU64 { at: usize, value: u64 },
    /// Keep the first `at` bytes.
    Truncate { at: usize },
    /// Insert `bytes` at `at`.
    Insert { at: usize, bytes: Vec<u8> },
    /// Remove up to `len` bytes at `at`.
    Remove { at: usize, len: usize },
    /// Copy up to `len` bytes at `at` to just after them.
    Duplicate { at: usize, len: usize },
}

fn bin_edit() -> impl Strategy<Value = BinEdit> {
    prop_oneof![
        3 => (any::<usize>(), 1u8..).prop_map(|(at, mask)| BinEdit::Flip { at, mask }),
        3 => (any::<usize>(), interesting_u64())
            .prop_map(|(at, v)| BinEdit::SetU32 { at, value: v as u32 }),
        3 => (any::<usize>(), interesting_u64()).prop_map(|(at, value)| BinEdit::SetU64 { at, value }),
        1 => any::<usize>().prop_map(|at| BinEdit::Truncate { at }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| BinEdit::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..32).prop_map(|(at, len)| BinEdit::Remove { at, len }),
        1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| BinEdit::Duplicate { at, len }),
    ]
}

fn apply_bin(mut b: Vec<u8>, edit: &BinEdit) -> Vec<u8> {
    let n = b.len();
    match edit {
        BinEdit::Flip { at, mask } => {
            if n > 0 {
                b[at % n] ^= mask;
            }
        }
        BinEdit::SetU32 { at, value } => {
            if n >= 4 {
                let i = at % (n - 3);
                b[i..i + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
        BinEdit::SetU64 { at, value } => {
            if n >= 8 {
                let i = at % (n - 7);
                b[i..i + 8].copy_from_slice(&value.to_le_bytes());
            }
        }
        BinEdit::Truncate { at } => b.truncate(at % (n + 1)),
        BinEdit::Insert { at, bytes } => {
            let i = at % (n + 1);
            b.splice(i..i, bytes.iter().copied());
        }
        BinEdit::Remove { at, len } => {
            let i = at % (n + 1);
            b.drain(i..(i + len).min(n));
        }
        BinEdit::Duplicate { at, len } => {
            let i = at % (n + 1);
            let part = b[i..(i + len).min(n)].to_vec();
            let j = (i + len).min(n);
            b.splice(j..j, part);
        }
    }
    b
}

#[derive(Clone, Debug)]
enum BinInput {
    /// The sample program's binary form, edited.
    Mutated(Vec<BinEdit>),
    /// A valid header followed by random bytes.
    Body(Vec<u8>),
    /// Random bytes.
    Random(Vec<u8>),
}

#[test]
fn fuzz_isa_binary() {
    let program = sample_program();
    let sample = program.to_binary();
    let config = HwConfig::preset("asic").unwrap();
    let strategy = prop_oneof![
        6 => proptest::collection::vec(bin_edit(), 1..4).prop_map(BinInput::Mutated),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(BinInput::Body),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(BinInput::Random),
    ];
    fuzz("isa_binary", 200_000, strategy, |input| {
        let bytes = match &input {
            BinInput::Mutated(edits) => edits.iter().fold(sample.clone(), apply_bin),
            BinInput::Body(body) => [&sample[..8], body].concat(),
            BinInput::Random(bytes) => bytes.clone(),
        };
        match Program::from_binary(&bytes, "fuzz.bin") {
            Ok(p) => {
                p.validate("fuzz.bin")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                // The encoding is canonical: the program re-encodes to the bytes it was read
                // from (trailing bytes are allowed and ignored).
                let again = p.to_binary();
                prop_assert!(bytes.starts_with(&again), "re-encoding differs");
                let json = Program::from_json(&p.to_json(), "back.json")
                    .map_err(|e| TestCaseError::fail(format!("JSON round trip: {e}")))?;
                prop_assert_eq!(&json, &p);
                run_models(&p, &config)?;
                Ok(true)
            }
            Err(e) => names_source(&e, "fuzz.bin").map(|_| false),
        }
    });
}
