//! Property-based fuzzing of the CKKS parameter readers `heaccel ... --params FILE` uses
//! ([`ParametersLiteral::from_json`], [`ParametersLiteral::from_toml`], then the checks of
//! [`ParametersLiteral::build`]): structured mutations of valid literals (lines dropped and
//! duplicated, values changed, retyped and repeated, bytes edited) and random text.
//!
//! Each case asserts: no panic; no single allocation beyond
//! [`fuzz_support::text_allocation_limit`] of the text's length while reading and checking; every
//! error names what is wrong (a parse error its field path or position, a validation error a
//! literal field). Literals that pass the checks are built when small (`log_n <= 13`, at most
//! 16 primes), where building takes milliseconds.

use heaccel_testkit as fuzz_support;

use heaccel_verification::ckks::{preset, ParametersLiteral, MAX_LITERAL_BYTES, PRESET_NAMES};
use heaccel_verification::Error;
use proptest::prelude::*;
use serde_json::Value;

#[global_allocator]
static ALLOCATOR: fuzz_support::Counting = fuzz_support::Counting;

/// Seeds: every preset literal (bit sizes), and two with explicit primes, with and without the
/// optional fields.
fn seed_literals() -> Vec<ParametersLiteral> {
    let mut seeds: Vec<ParametersLiteral> =
        PRESET_NAMES.iter().map(|n| preset(n).unwrap()).collect();
    let small = preset("test-n13").unwrap();
    seeds.push(small.build().unwrap().literal().clone());
    seeds.push(ParametersLiteral {
        log_n: 12,
        log_q: vec![40, 30],
        log_p: vec![35],
        log_scale: 30,
        dnum: 2,
        hamming_weight: Some(64),
        allow_insecure: true,
        ..small
    });
    seeds
}

/// Fields a validation error may name: a literal field, or one entry of a list.
fn names_a_field(field: &str) -> bool {
    let base = field.split('[').next().unwrap_or_default();
    [
        "log_n",
        "log_q",
        "q",
        "log_p",
        "p",
        "log_scale",
        "dnum",
        "hamming_weight",
    ]
    .contains(&base)
}

/// Checks one parse result (read and checked under the allocation limit) and builds it when
/// small.
fn check_case(text: &str, parsed: Result<ParametersLiteral, Error>) -> Result<(), TestCaseError> {
    let literal = match parsed {
        Ok(literal) => literal,
        Err(Error::Malformed { what, found, .. }) => {
            prop_assert!(what.starts_with("parameters"), "{what}: {found}");
            return Ok(());
        }
        Err(other) => {
            return Err(TestCaseError::fail(format!(
                "unexpected parse error {other:?}"
            )))
        }
    };
    let (checked, largest) = fuzz_support::measure(|| literal.check());
    prop_assert!(
        largest <= fuzz_support::text_allocation_limit(text.len()),
        "check() allocated {largest} bytes for {} bytes of text",
        text.len()
    );
    match checked {
        Ok(()) => {
            let primes =
                literal.log_q.len() + literal.q.len() + literal.log_p.len() + literal.p.len();
            if literal.log_n <= 13 && primes <= 16 {
                match literal.build() {
                    Ok(params) => {
                        prop_assert_eq!(params.log_n(), literal.log_n);
                        prop_assert_eq!(
                            params.max_level() + 1,
                            literal.log_q.len() + literal.q.len()
                        );
                    }
                    Err(Error::InvalidParameter { field, .. }) => {
                        prop_assert!(names_a_field(&field), "{field}")
                    }
                    Err(Error::NotEnoughPrimes { .. }) => {}
                    Err(other) => {
                        return Err(TestCaseError::fail(format!(
                            "build failed after check passed: {other:?}"
                        )))
                    }
                }
            }
        }
        Err(Error::InvalidParameter { field, reason }) => {
            prop_assert!(names_a_field(&field), "{field}: {reason}");
            prop_assert!(!reason.is_empty());
        }
        Err(Error::Insecure { field, bound, .. }) => {
            prop_assert!(names_a_field(&field), "{field}");
            prop_assert!(!literal.allow_insecure);
            prop_assert!(bound == 0 || bound >= 27);
        }
        Err(Error::InsecureSparse { .. }) => prop_assert!(!literal.allow_insecure),
        Err(other) => {
            return Err(TestCaseError::fail(format!(
                "unexpected check error {other:?}"
            )))
        }
    }
    Ok(())
}

/// The literal's keys, and one it does not have.
const KEYS: [&str; 11] = [
    "log_n",
    "log_q",
    "q",
    "log_p",
    "p",
    "log_scale",
    "dnum",
    "hamming_weight",
    "allow_insecure",
    "colour",
    "log_q",
];

/// A JSON value of any type, with numbers near the fields' ranges and bounds.
fn any_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        3 => (0u64..70).prop_map(Value::from),
        1 => prop::sample::select(&[0u64, 1, 3, 4, 17, 18, 61, 62, 65_537, u32::MAX as u64, u64::MAX][..])
            .prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
    ];
    let leaf = prop_oneof![
        6 => number,
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => "[a-z_]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 64, 40, |inner| {
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 0..40).prop_map(Value::from),
            1 => prop::collection::btree_map("[a-z_]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One structural edit of a literal's JSON object.
#[derive(Clone, Debug)]
enum ValueEdit {
    /// Remove a key.
    Remove(&'static str),
    /// Set a key to any value (changed, retyped or added).
    Set(&'static str, Value),
    /// Append a number to a key's list.
    Push(&'static str, u64),
    /// Repeat a key's list `n` times.
    Repeat(&'static str, usize),
}

fn value_edit() -> impl Strategy<Value = ValueEdit> {
    let key = prop::sample::select(&KEYS[..]);
    prop_oneof![
        1 => key.clone().prop_map(ValueEdit::Remove),
        3 => (key.clone(), any_value()).prop_map(|(k, v)| ValueEdit::Set(k, v)),
        2 => (key.clone(), prop_oneof![0u64..70, any::<u64>()]).prop_map(|(k, n)| ValueEdit::Push(k, n)),
        1 => (key, 2usize..1200).prop_map(|(k, n)| ValueEdit::Repeat(k, n)),
    ]
}

/// A seed literal as a JSON object, with one to three structural edits (the syntax stays valid,
/// so the cases reach the checks).
fn edited_value() -> impl Strategy<Value = Value> {
    let seeds: Vec<Value> = seed_literals()
        .iter()
        .map(|l| serde_json::to_value(l).unwrap())
        .collect();
    (
        prop::sample::select(seeds),
        prop::collection::vec(value_edit(), 1..4),
    )
        .prop_map(|(mut value, edits)| {
            let object = value.as_object_mut().expect("a literal is an object");
            for edit in edits {
                match edit {
                    ValueEdit::Remove(k) => {
                        object.remove(k);
                    }
                    ValueEdit::Set(k, v) => {
                        object.insert(k.to_string(), v);
                    }
                    ValueEdit::Push(k, n) => {
                        let entry = object.entry(k).or_insert_with(|| Value::Array(vec![]));
                        if let Value::Array(items) = entry {
                            items.push(n.into());
                        }
                    }
                    ValueEdit::Repeat(k, n) => {
                        if let Some(Value::Array(items)) = object.get_mut(k) {
                            *items = items
                                .iter()
                                .cycle()
                                .take(items.len() * n)
                                .cloned()
                                .collect();
                        }
                    }
                }
            }
            value
        })
}

fn json_seeds() -> Vec<String> {
    seed_literals()
        .iter()
        .flat_map(|l| {
            [
                serde_json::to_string_pretty(l).unwrap(),
                serde_json::to_string(l).unwrap(),
            ]
        })
        .collect()
}

fn toml_seeds() -> Vec<String> {
    seed_literals()
        .iter()
        .map(|l| toml::to_string(l).unwrap())
        .collect()
}

#[test]
fn seeds_are_valid() {
    let _serial = fuzz_support::exclusive();
    for text in json_seeds() {
        ParametersLiteral::from_json(&text)
            .unwrap()
            .check()
            .unwrap_or_else(|e| {
                assert!(
                    matches!(e, Error::InsecureSparse { .. } | Error::Insecure { .. }),
                    "{e}"
                )
            });
    }
    for text in toml_seeds() {
        ParametersLiteral::from_toml(&text).unwrap();
    }
}

#[test]
fn fuzz_params_json() {
    let strategy = || {
        prop_oneof![
            1 => fuzz_support::mutated_text(json_seeds()),
            1 => edited_value().prop_map(|v| v.to_string()),
        ]
    };
    fuzz_support::run(strategy, |text| {
        let (parsed, largest) = fuzz_support::measure(|| ParametersLiteral::from_json(&text));
        prop_assert!(
            largest <= fuzz_support::text_allocation_limit(text.len()),
            "from_json allocated {largest} bytes for {} bytes",
            text.len()
        );
        if text.len() > MAX_LITERAL_BYTES {
            prop_assert!(
                matches!(&parsed, Err(Error::Malformed { what, found, .. })
                    if what == "parameters (JSON)" && found.ends_with("bytes of JSON")),
                "{parsed:?}"
            );
        } else if let Err(Error::Malformed { what, found, .. }) = &parsed {
            // serde_path_to_error names the path (`.` for the document itself)
            prop_assert!(
                what.starts_with("parameters (JSON) field `"),
                "{what}: {found}"
            );
        }
        check_case(&text, parsed)
    });
}

#[test]
fn fuzz_params_toml() {
    let strategy = || {
        prop_oneof![
            1 => fuzz_support::mutated_text(toml_seeds()),
            // TOML has no null: such edits fall back to the JSON text, which TOML refuses
            1 => edited_value().prop_map(|v| toml::to_string(&v).unwrap_or_else(|_| v.to_string())),
        ]
    };
    fuzz_support::run(strategy, |text| {
        let (parsed, largest) = fuzz_support::measure(|| ParametersLiteral::from_toml(&text));
        prop_assert!(
            largest <= fuzz_support::text_allocation_limit(text.len()),
            "from_toml allocated {largest} bytes for {} bytes",
            text.len()
        );
        if text.len() > MAX_LITERAL_BYTES {
            prop_assert!(
                matches!(&parsed, Err(Error::Malformed { what, found, .. })
                    if what == "parameters (TOML)" && found.ends_with("bytes of TOML")),
                "{parsed:?}"
            );
        }
        check_case(&text, parsed)
    });
}
