//! The hardware-configuration TOML reader (`HwConfig::from_toml`) under structured mutations
//! of the presets and random text.

use super::*;

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
