//! The ISA JSON reader (`Program::from_json`) under structured mutations of the sample
//! program's JSON and random text.

use super::*;

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
