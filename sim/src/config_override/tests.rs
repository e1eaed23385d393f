//! Tests of `KEY=VALUE` overrides: parsing, every key, unit keys, refusals and their messages.

use super::*;
use crate::config::IssuePolicy;

fn ov(text: &str) -> Override {
    text.parse().unwrap()
}

fn apply(preset: &str, texts: &[&str]) -> Result<HwConfig, OverrideError> {
    let overrides: Vec<Override> = texts.iter().map(|t| ov(t)).collect();
    HwConfig::preset(preset)
        .unwrap()
        .with_overrides(preset, &overrides)
}

#[test]
fn parses_key_value_and_refuses_malformed_text() {
    let o = ov("scratchpad_mib=256");
    assert_eq!((o.key(), o.value()), ("scratchpad_mib", "256"));
    assert_eq!(o.field(), "scratchpad.bytes");
    assert_eq!(o.to_string(), "scratchpad_mib=256");
    // Spaces around key and value are dropped; the value is split at the first `=`.
    let o = ov("  ntt.units = 8 ");
    assert_eq!(
        (o.key(), o.value(), o.field()),
        ("ntt.units", "8", "ntt.units")
    );
    let o = ov("issue.policy=a=b");
    assert_eq!(o.value(), "a=b");
    assert_eq!(
        "scratchpad_mib".parse::<Override>().unwrap_err(),
        OverrideError::MissingEquals {
            text: "scratchpad_mib".into()
        }
    );
    assert_eq!(
        "modmul.lanes=".parse::<Override>().unwrap_err(),
        OverrideError::EmptyValue {
            key: "modmul.lanes".into()
        }
    );
    assert_eq!(
        "modmul.lanes=   ".parse::<Override>().unwrap_err(),
        OverrideError::EmptyValue {
            key: "modmul.lanes".into()
        }
    );
    assert!(matches!(
        "=5".parse::<Override>().unwrap_err(),
        OverrideError::EmptyKey { .. }
    ));
    assert!(matches!(
        " =5".parse::<Override>().unwrap_err(),
        OverrideError::EmptyKey { .. }
    ));
    assert!(matches!(
        "".parse::<Override>().unwrap_err(),
        OverrideError::MissingEquals { .. }
    ));
    let e = "x".parse::<Override>().unwrap_err().to_string();
    assert!(e.contains("KEY=VALUE"), "{e}");
    assert!(Override::new("", "1").is_err());
    assert!(Override::new("a", " ").is_err());
}

#[test]
fn keys_are_every_value_of_the_config_and_the_unit_keys() {
    let keys = HwConfig::preset("asic").unwrap().override_keys();
    for k in [
        "clock_mhz",
        "word_bits",
        "ntt.units",
        "ntt.butterflies_per_unit",
        "ntt.pipeline_latency",
        "modmul.lanes",
        "modmul.pipeline_latency",
        "automorph.units",
        "automorph.lanes",
        "automorph.pipeline_latency",
        "bconv.lanes",
        "bconv.pipeline_latency",
        "scratchpad.bytes",
        "scratchpad.banks",
        "memory.bandwidth_gb_s",
        "memory.latency_ns",
        "issue.policy",
        "scratchpad_kib",
        "scratchpad_mib",
        "scratchpad_mb",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
    }
    assert!(!keys
        .iter()
        .any(|k| k == "name" || k == "ntt" || k == "issue"));
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // The same keys on every preset.
    for name in crate::config::PRESETS {
        assert_eq!(
            HwConfig::preset(name).unwrap().override_keys(),
            keys,
            "{name}"
        );
    }
}

#[test]
fn no_overrides_leave_the_config_unchanged() {
    let asic = HwConfig::preset("asic").unwrap();
    assert_eq!(asic.with_overrides("asic", &[]).unwrap(), asic);
}

#[test]
fn every_key_kind_applies_and_names_the_config() {
    let asic = HwConfig::preset("asic").unwrap();
    // A unit key.
    let c = apply("asic", &["scratchpad_mib=256"]).unwrap();
    assert_eq!(c.scratchpad.bytes, 256 << 20);
    assert_eq!(c.name, "asic+scratchpad_mib=256");
    let mut expected = asic.clone().into_literal();
    expected.scratchpad.bytes = 256 << 20;
    expected.name = c.name.clone();
    assert_eq!(c.literal(), &expected, "nothing else changes");
    assert_eq!(
        apply("asic", &["scratchpad_kib=64"])
            .unwrap()
            .scratchpad
            .bytes,
        64 << 10
    );
    assert_eq!(
        apply("asic", &["scratchpad_mb=256"])
            .unwrap()
            .scratchpad
            .bytes,
        256_000_000
    );
    // A fractional size that is a whole number of bytes.
    assert_eq!(
        apply("asic", &["scratchpad_mib=0.5"])
            .unwrap()
            .scratchpad
            .bytes,
        1 << 19
    );
    // Top-level integer and float; an integer for a float field; TOML integer syntax.
    let c = apply(
        "fpga-u280",
        &[
            "word_bits=36",
            "clock_mhz=450",
            "scratchpad.bytes=180_000_000",
        ],
    )
    .unwrap();
    assert_eq!((c.word_bits, c.clock_mhz), (36, 450.0));
    assert_eq!(c.scratchpad.bytes, 180_000_000);
    assert_eq!(
        c.name,
        "fpga-u280+word_bits=36+clock_mhz=450+scratchpad.bytes=180_000_000"
    );
    // Nested paths.
    let c = apply(
        "asic",
        &[
            "ntt.units=8",
            "modmul.lanes=2048",
            "memory.bandwidth_gb_s=1500.5",
            "memory.latency_ns=50",
            "automorph.pipeline_latency=0",
        ],
    )
    .unwrap();
    assert_eq!(
        (c.ntt.units, c.modmul.lanes, c.automorph.pipeline_latency),
        (8, 2048, 0)
    );
    assert_eq!(
        (c.memory.bandwidth_gb_s, c.memory.latency_ns),
        (1500.5, 50.0)
    );
    // The issue policy: absent from the preset's TOML (the default), bare or quoted.
    for v in [
        "in_order_blocking",
        "\"in_order_blocking\"",
        "'in_order_blocking'",
    ] {
        let c = apply("asic", &[format!("issue.policy={v}").as_str()]).unwrap();
        assert_eq!(c.issue.policy, IssuePolicy::InOrderBlocking, "{v}");
    }
    let c = apply("asic", &["issue.policy=in_order_blocking", "ntt.units=2"]).unwrap();
    assert_eq!(c.name, "asic+issue.policy=in_order_blocking+ntt.units=2");
    // The result reads back from its own TOML, as a preset.
    let back = HwConfig::from_toml(&c.to_toml(), "back").unwrap();
    assert_eq!(back, c);
}

#[test]
fn unknown_keys_are_named_with_the_valid_keys() {
    for (key, hint) in [
        ("clock_ghz", None),
        ("ntt", None),
        ("ntt.lanes", None),
        ("modmul.lanes.x", None),
        (
            "lanes",
            Some("`automorph.lanes` or `bconv.lanes` or `modmul.lanes`"),
        ),
        ("bandwidth_gb_s", Some("`memory.bandwidth_gb_s`")),
        ("scratchpad_bytes", Some("`scratchpad.bytes`")),
        ("name", Some("BASE+KEY=VALUE")),
        ("scratchpad_gib", None),
    ] {
        let e = apply("asic", &[format!("{key}=1").as_str()]).unwrap_err();
        let OverrideError::UnknownKey {
            key: k,
            hint: h,
            valid,
            ..
        } = &e
        else {
            panic!("{key}: {e:?}");
        };
        assert_eq!(k, key);
        assert_eq!(valid, &HwConfig::preset("asic").unwrap().override_keys());
        match hint {
            Some(hint) => assert!(h.as_deref().unwrap_or("").contains(hint), "{e}"),
            None => assert_eq!(h, &None, "{e}"),
        }
        let text = e.to_string();
        assert!(text.contains(&format!("unknown key `{key}`")), "{text}");
        assert!(
            text.contains("scratchpad_mib") && text.contains("memory.bandwidth_gb_s"),
            "{text}"
        );
    }
}

#[test]
fn wrong_types_name_the_key_and_the_type() {
    for (text, key, expected) in [
        ("modmul.lanes=many", "modmul.lanes", "an integer"),
        ("modmul.lanes=256.0", "modmul.lanes", "an integer"),
        ("word_bits=true", "word_bits", "an integer"),
        ("clock_mhz=fast", "clock_mhz", "a number"),
        ("clock_mhz=.5", "clock_mhz", "a number"),
        ("memory.latency_ns=\"100\"", "memory.latency_ns", "a number"),
        ("scratchpad_mib=lots", "scratchpad_mib", "a number of MiB"),
        ("scratchpad_kib=[1]", "scratchpad_kib", "a number of KiB"),
        ("issue.policy=\"open", "issue.policy", "a string"),
    ] {
        let e = apply("asic", &[text]).unwrap_err();
        match &e {
            OverrideError::WrongType {
                key: k,
                expected: x,
                ..
            } => {
                assert_eq!(k, key, "{text}");
                assert_eq!(*x, expected, "{text}");
            }
            other => panic!("{text}: {other:?}"),
        }
        let msg = e.to_string();
        assert!(msg.contains(key) && msg.contains(expected), "{msg}");
    }
}

#[test]
fn bad_values_of_the_right_type_name_the_key() {
    for (text, key, words) in [
        ("scratchpad_mib=-1", "scratchpad_mib", "negative"),
        ("scratchpad_mib=-0.5", "scratchpad_mib", "non-negative"),
        ("scratchpad_mib=nan", "scratchpad_mib", "non-negative"),
        (
            "scratchpad_kib=0.1",
            "scratchpad_kib",
            "whole number of bytes",
        ),
        (
            "scratchpad_mib=9223372036854775807",
            "scratchpad_mib",
            "2^63",
        ),
        ("scratchpad_mb=1e300", "scratchpad_mb", "2^63"),
        // Beyond the field's Rust type: refused by deserialization, as in a file.
        ("modmul.lanes=-1", "modmul.lanes", "u32"),
        ("ntt.units=5000000000", "ntt.units", "u32"),
        (
            "issue.policy=out_of_order",
            "issue.policy",
            "in_order_blocking",
        ),
    ] {
        let e = apply("asic", &[text]).unwrap_err();
        let OverrideError::BadValue { key: k, reason, .. } = &e else {
            panic!("{text}: {e:?}");
        };
        assert_eq!(k, key, "{text}");
        assert!(reason.contains(words), "{text}: {reason}");
        assert!(!reason.contains('\n'), "{text}: {reason:?}");
        assert!(e.to_string().contains(text), "{e}");
    }
}

#[test]
fn out_of_range_values_get_the_validation_error_of_the_field() {
    for (text, field, range) in [
        ("modmul.lanes=0", "modmul.lanes", "[1, 65536]"),
        ("word_bits=80", "word_bits", "[16, 64]"),
        ("clock_mhz=0.5", "clock_mhz", "[1, 10000] MHz"),
        ("clock_mhz=inf", "clock_mhz", "[1, 10000] MHz"),
        (
            "memory.bandwidth_gb_s=-3",
            "memory.bandwidth_gb_s",
            "[0.1, 100000]",
        ),
        (
            "scratchpad_kib=0",
            "scratchpad.bytes",
            "[1024, 1099511627776]",
        ),
        (
            "scratchpad_mib=2097152",
            "scratchpad.bytes",
            "[1024, 1099511627776]",
        ),
        (
            "scratchpad.bytes=1023",
            "scratchpad.bytes",
            "[1024, 1099511627776]",
        ),
        (
            "ntt.butterflies_per_unit=100",
            "ntt.butterflies_per_unit",
            "power of two",
        ),
    ] {
        let e = apply("asic", &[text]).unwrap_err();
        let OverrideError::Config(SimError::Invalid {
            source_name,
            field: f,
            reason,
        }) = &e
        else {
            panic!("{text}: {e:?}");
        };
        assert_eq!(f, field, "{text}");
        assert!(reason.contains(range), "{text}: {reason}");
        assert_eq!(source_name, &format!("asic with {text}"));
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("asic with {text}: field `{field}`")),
            "{msg}"
        );
    }
    // Several overrides: the source lists them all, the field names the culprit.
    let e = apply("asic", &["modmul.lanes=512", "bconv.lanes=0"])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("asic with modmul.lanes=512, bconv.lanes=0: field `bconv.lanes`"),
        "{e}"
    );
    // The boundary values themselves are in range.
    let c = apply(
        "asic",
        &["scratchpad_kib=1", "modmul.lanes=65536", "word_bits=64"],
    );
    assert_eq!(c.unwrap().scratchpad.bytes, 1024);
    assert_eq!(
        apply("asic", &["scratchpad_mib=1048576"])
            .unwrap()
            .scratchpad
            .bytes,
        1 << 40
    );
}

#[test]
fn a_field_set_twice_is_refused() {
    for (first, second, field) in [
        ("modmul.lanes=512", "modmul.lanes=1024", "modmul.lanes"),
        ("modmul.lanes=512", "modmul.lanes=512", "modmul.lanes"),
        (
            "scratchpad_mib=256",
            "scratchpad.bytes=4096",
            "scratchpad.bytes",
        ),
        ("scratchpad_kib=4", "scratchpad_mb=1", "scratchpad.bytes"),
    ] {
        let e = apply("asic", &[first, "ntt.units=2", second]).unwrap_err();
        assert_eq!(
            e,
            OverrideError::Repeated {
                field: field.into(),
                first: first.into(),
                second: second.into(),
            }
        );
        assert!(e.to_string().contains(field), "{e}");
    }
}

#[test]
fn overrides_apply_to_a_config_from_a_file_too() {
    let text = HwConfig::preset("fpga-u280").unwrap().to_toml();
    let text = text.replace("name = \"fpga-u280\"", "name = \"mine\"");
    let base = HwConfig::from_toml(&text, "mine.toml").unwrap();
    let c = base
        .with_overrides("mine.toml", &[ov("bconv.lanes=64")])
        .unwrap();
    assert_eq!(
        (c.bconv.lanes, c.name.as_str()),
        (64, "mine+bconv.lanes=64")
    );
    let e = base
        .with_overrides("mine.toml", &[ov("bconv.lanes=0")])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("mine.toml with bconv.lanes=0: field `bconv.lanes`"),
        "{e}"
    );
}
