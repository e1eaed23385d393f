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

// ---------------------------------------------------------------- hardware configuration

/// One edit of a configuration's TOML text.
#[derive(Clone, Debug)]
enum TomlEdit {
    /// Replace the value of the `pick`-th `key = value` line by `value`.
    SetValue { pick: usize, value: String },
    /// Drop the `pick`-th line.
    DropLine { pick: usize },
    /// Copy the `pick`-th line to after line `to` (a duplicate key, or a key in a table where
    /// it does not belong).
    DuplicateLine { pick: usize, to: usize },
    /// Append `suffix` to the key of the `pick`-th `key = value` line.
    RenameKey { pick: usize, suffix: String },
    /// Insert `line` after line `at`.
    InsertLine { at: usize, line: String },
    /// Keep the first `at` bytes.
    Truncate { at: usize },
    /// XOR byte `at` with `mask` (the result read lossily as UTF-8).
    FlipByte { at: usize, mask: u8 },
}

fn toml_value() -> impl Strategy<Value = String> {
    let tokens = proptest::sample::select(vec![
        "0",
        "1",
        "-1",
        "2",
        "16",
        "64",
        "100",
        "1024",
        "65536",
        "65537",
        "10000",
        "10001",
        "1099511627776",
        "1099511627777",
        "9223372036854775807",
        "18446744073709551615",
        "0.0",
        "-0.0",
        "0.1",
        "0.09",
        "1.0",
        "0.5",
        "300.0",
        "10000.0",
        "10000.5",
        "100000.0",
        "100000.1",
        "1e-300",
        "1e300",
        "5e-324",
        "nan",
        "inf",
        "-inf",
        "+inf",
        "\"x\"",
        "\"\"",
        "\"overlapped\"",
        "\"in_order_blocking\"",
        "\"out_of_order\"",
        "true",
        "false",
        "[1, 2]",
        "[]",
        "{ a = 1 }",
        "{}",
        "1979-05-27",
        "0x10",
        "0o7",
        "0b11",
        "1_000",
    ]);
    prop_oneof![
        4 => tokens.prop_map(str::to_string),
        2 => interesting_u64().prop_map(|v| v.to_string()),
        2 => (0u32..70_000).prop_map(|v| v.to_string()),
        2 => any::<f64>().prop_map(|v| format!("{v:?}")),
        1 => "[a-z0-9\"\\[\\]{}.,=_ +-]{0,8}",
    ]
}

fn toml_edit() -> impl Strategy<Value = TomlEdit> {
    let line = prop_oneof![
        Just("unknown = 1".to_string()),
        Just("[issue]".to_string()),
        Just("policy = \"in_order_blocking\"".to_string()),
        Just("[ntt]".to_string()),
        Just("[extra]".to_string()),
        Just("[[ntt]]".to_string()),
        Just("name = \"again\"".to_string()),
        Just("lanes = 64".to_string()),
        toml_value().prop_map(|v| format!("x = {v}")),
    ];
    prop_oneof![
        8 => (any::<usize>(), toml_value()).prop_map(|(pick, value)| TomlEdit::SetValue { pick, value }),
        2 => any::<usize>().prop_map(|pick| TomlEdit::DropLine { pick }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(pick, to)| TomlEdit::DuplicateLine { pick, to }),
        1 => (any::<usize>(), "[a-z_.]{1,3}").prop_map(|(pick, suffix)| TomlEdit::RenameKey { pick, suffix }),
        2 => (any::<usize>(), line).prop_map(|(at, line)| TomlEdit::InsertLine { at, line }),
        1 => any::<usize>().prop_map(|at| TomlEdit::Truncate { at }),
        1 => (any::<usize>(), 1u8..).prop_map(|(at, mask)| TomlEdit::FlipByte { at, mask }),
    ]
}

fn apply_toml(text: &str, edit: &TomlEdit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let assignments: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].starts_with('#') && lines[i].contains(" = "))
        .collect();
    let n = lines.len();
    match edit {
        TomlEdit::SetValue { .. } | TomlEdit::RenameKey { .. } if assignments.is_empty() => {}
        TomlEdit::SetValue { pick, value } => {
            let i = assignments[pick % assignments.len()];
            let key = lines[i].split(" = ").next().unwrap().to_string();
            lines[i] = format!("{key} = {value}");
        }
        TomlEdit::DropLine { pick } => {
            if !lines.is_empty() {
                lines.remove(pick % n);
            }
        }
        TomlEdit::DuplicateLine { pick, to } => {
            if !lines.is_empty() {
                let line = lines[pick % n].clone();
                lines.insert(to % (n + 1), line);
            }
        }
        TomlEdit::RenameKey { pick, suffix } => {
            let i = assignments[pick % assignments.len()];
            lines[i] = lines[i].replacen(" = ", &format!("{suffix} = "), 1);
        }
        TomlEdit::InsertLine { at, line } => lines.insert(at % (n + 1), line.clone()),
        TomlEdit::Truncate { at } => {
            let bytes = text.as_bytes();
            return String::from_utf8_lossy(&bytes[..at % (bytes.len() + 1)]).into_owned();
        }
        TomlEdit::FlipByte { at, mask } => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= mask;
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    lines.join("\n")
}

#[derive(Clone, Debug)]
enum TomlInput {
    /// A preset (`asic` when true) with its comments removed, edited.
    Mutated(bool, Vec<TomlEdit>),
    /// Random bytes read lossily as UTF-8.
    Random(Vec<u8>),
}

fn toml_text(input: &TomlInput, presets: &[String; 2]) -> String {
    match input {
        TomlInput::Mutated(asic, edits) => edits
            .iter()
            .fold(presets[*asic as usize].clone(), |t, e| apply_toml(&t, e)),
        TomlInput::Random(bytes) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[test]
fn fuzz_config_toml() {
    // Comments dropped so that line picks land on keys and headers.
    let presets = ["fpga-u280", "asic"].map(|name| {
        preset_text(name)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    });
    let program = sample_program();
    let strategy = prop_oneof![
        6 => (any::<bool>(), proptest::collection::vec(toml_edit(), 1..4))
            .prop_map(|(asic, edits)| TomlInput::Mutated(asic, edits)),
        1 => proptest::collection::vec(any::<u8>(), 0..512).prop_map(TomlInput::Random),
    ];
    fuzz("config_toml", 50_000, strategy, |input| {
        let text = toml_text(&input, &presets);
        match HwConfig::from_toml(&text, "fuzz.toml") {
            Ok(config) => {
                config
                    .validate("fuzz.toml")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back = HwConfig::from_toml(&config.to_toml(), "back.toml")
                    .map_err(|e| TestCaseError::fail(format!("round trip: {e}")))?;
                prop_assert_eq!(&back, &config);
                run_models(&program, &config)?;
                Ok(true)
            }
            Err(e) => names_source(&e, "fuzz.toml").map(|_| false),
        }
    });
}

// ---------------------------------------------------------------- ISA, JSON

/// One edit of a JSON document, addressing its nodes in depth-first order.
#[derive(Clone, Debug)]
enum JsonEdit {
    /// Replace node `pick` by `value`.
    Set { pick: usize, value: Value },
    /// Remove node `pick` from its object or array.
    Remove { pick: usize },
    /// Duplicate node `pick` within its array (or insert it under `key` in an object).
    Duplicate { pick: usize, key: String },
    /// Add `key: value` to object node `pick` (an unknown field, or an op name).
    AddKey {
        pick: usize,
        key: String,
        value: Value,
    },
    /// Keep the first `at` bytes of the text.
    Truncate { at: usize },
    /// XOR byte `at` of the text with `mask`.
    FlipByte { at: usize, mask: u8 },
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => interesting_u64().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        2 => proptest::sample::select(vec![
            "", "x", "ct.c0", "ntt", "coeff", "input", "key", "output", "temp", "mul", "load",
            "bconv", "version", "dst", "modulus",
        ])
        .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "version",
            "log_n",
            "moduli",
            "slots",
            "buffers",
            "instructions",
            "name",
            "limbs",
            "role",
            "dst",
            "src",
            "a",
            "b",
            "acc",
            "modulus",
            "scalar",
            "galois",
            "form",
            "from",
            "to",
            "centered",
            "buffer",
            "limb",
            "slot",
            "copy",
            "ntt",
            "bconv",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,8}",
    ]
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        8 => (any::<usize>(), json_value()).prop_map(|(pick, value)| JsonEdit::Set { pick, value }),
        2 => any::<usize>().prop_map(|pick| JsonEdit::Remove { pick }),
        2 => (any::<usize>(), json_key()).prop_map(|(pick, key)| JsonEdit::Duplicate { pick, key }),
        2 => (any::<usize>(), json_key(), json_value())
            .prop_map(|(pick, key, value)| JsonEdit::AddKey { pick, key, value }),
        1 => any::<usize>().prop_map(|at| JsonEdit::Truncate { at }),
        1 => (any::<usize>(), 1u8..).prop_map(|(at, mask)| JsonEdit::FlipByte { at, mask }),
    ]
}

/// Paths (object keys and array indices) of every node, depth first, the root first.
fn json_paths(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(path.clone());
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                json_paths(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(Seg::Key(k.clone()));
                json_paths(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

fn json_node<'v>(v: &'v mut Value, path: &[Seg]) -> &'v mut Value {
    path.iter().fold(v, |v, seg| match seg {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::Index(i) => &mut v[*i],
    })
}

fn apply_json(text: String, edit: &JsonEdit) -> String {
    match edit {
        JsonEdit::Truncate { at } => {
            let bytes = text.as_bytes();
            return String::from_utf8_lossy(&bytes[..at % (bytes.len() + 1)]).into_owned();
        }
        JsonEdit::FlipByte { at, mask } => {
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= mask;
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        _ => {}
    }
    // Structural edits apply to text that still parses; other text passes through.
    let Ok(mut doc) = serde_json::from_str::<Value>(&text) else {
        return text;
    };
    let mut paths = Vec::new();
    json_paths(&doc, &mut Vec::new(), &mut paths);
    let pick = |p: usize| paths[p % paths.len()].clone();
    match edit {
        JsonEdit::Set { pick: p, value } => *json_node(&mut doc, &pick(*p)) = value.clone(),
        JsonEdit::Remove { pick: p } => {
            let path = pick(*p);
            if let Some((last, parent)) = path.split_last() {
                match (json_node(&mut doc, parent), last) {
                    (Value::Object(map), Seg::Key(k)) => {
                        map.remove(k);
                    }
                    (Value::Array(items), Seg::Index(i)) => {
                        items.remove(*i);
                    }
                    _ => unreachable!("paths follow the document"),
                }
            }
        }
        JsonEdit::Duplicate { pick: p, key } => {
            let path = pick(*p);
            if let Some((last, parent)) = path.split_last() {
                let node = json_node(&mut doc, &path).clone();
                match (json_node(&mut doc, parent), last) {
                    (Value::Object(map), _) => {
                        map.insert(key.clone(), node);
                    }
                    (Value::Array(items), Seg::Index(i)) => items.insert(*i, node),
                    _ => unreachable!("paths follow the document"),
                }
            }
        }
        JsonEdit::AddKey {
            pick: p,
            key,
            value,
        } => {
            if let Value::Object(map) = json_node(&mut doc, &pick(*p)) {
                map.insert(key.clone(), value.clone());
            }
        }
        JsonEdit::Truncate { .. } | JsonEdit::FlipByte { .. } => unreachable!(),
    }
    // Compact or pretty, as files come.
    if text.contains('\n') {
        serde_json::to_string_pretty(&doc).unwrap()
    } else {
        serde_json::to_string(&doc).unwrap()
    }
}

#[derive(Clone, Debug)]
enum JsonInput {
    /// The sample program's JSON (compact when true), edited.
    Mutated(bool, Vec<JsonEdit>),
    /// Random bytes read lossily as UTF-8.
    Random(Vec<u8>),
}

#[test]
fn fuzz_isa_json() {
    let program = sample_program();
    let pretty = program.to_json();
    let compact = serde_json::to_string(&program).unwrap();
    let config = HwConfig::preset("asic").unwrap();
    let strategy = prop_oneof![
        6 => (any::<bool>(), proptest::collection::vec(json_edit(), 1..4))
            .prop_map(|(c, edits)| JsonInput::Mutated(c, edits)),
        1 => proptest::collection::vec(any::<u8>(), 0..512).prop_map(JsonInput::Random),
    ];
    fuzz("isa_json", 30_000, strategy, |input| {
        let text = match &input {
            JsonInput::Mutated(c, edits) => edits.iter().fold(
                if *c { compact.clone() } else { pretty.clone() },
                apply_json,
            ),
            JsonInput::Random(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        };
        match Program::from_json(&text, "fuzz.json") {
            Ok(p) => {
                p.validate("fuzz.json")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let json = Program::from_json(&p.to_json(), "back.json")
                    .map_err(|e| TestCaseError::fail(format!("JSON round trip: {e}")))?;
                prop_assert_eq!(&json, &p);
                let binary = Program::from_binary(&p.to_binary(), "back.bin")
                    .map_err(|e| TestCaseError::fail(format!("binary round trip: {e}")))?;
                prop_assert_eq!(&binary, &p);
                run_models(&p, &config)?;
                Ok(true)
            }
            Err(e) => names_source(&e, "fuzz.json").map(|_| false),
        }
    });
}

// ---------------------------------------------------------------- ISA, binary

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
