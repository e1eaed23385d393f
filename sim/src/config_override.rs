//! `KEY=VALUE` overrides of a hardware configuration (`heaccel ... --set scratchpad_mib=256`),
//! validated exactly like a preset: [`HwConfig::with_overrides`] edits the configuration's TOML
//! value tree, deserializes it again (unknown keys and wrong types refused, as in a file) and
//! runs [`HwConfigLiteral::validate`] (every documented range).
//!
//! Keys ([`HwConfig::override_keys`]):
//!
//! - the dotted TOML path of any value of the configuration: `clock_mhz`, `word_bits`,
//!   `ntt.units`, `ntt.butterflies_per_unit`, `ntt.pipeline_latency`, `modmul.lanes`,
//!   `modmul.pipeline_latency`, `automorph.units`, `automorph.lanes`,
//!   `automorph.pipeline_latency`, `bconv.lanes`, `bconv.pipeline_latency`, `scratchpad.bytes`,
//!   `scratchpad.banks`, `memory.bandwidth_gb_s`, `memory.latency_ns`, `issue.policy`
//!   (a new field of [`HwConfig`] is a key without any change here);
//! - the scratchpad size in units ([`UNIT_KEYS`]): `scratchpad_kib` (2^10 bytes),
//!   `scratchpad_mib` (2^20 bytes), `scratchpad_mb` (10^6 bytes); the size must come to a whole
//!   number of bytes.
//!
//! `name` is not a key: the overridden configuration is named `BASE+KEY=VALUE+KEY=VALUE` (the
//! overrides in the order given, as written), so reports show what ran.
//!
//! Values are TOML scalars of the field's type: integers (`256`, `180_000_000`), numbers (an
//! integer is accepted for a float field: `clock_mhz=1200`), strings bare or quoted
//! (`issue.policy=in_order_blocking`). Surrounding spaces of the key and value are ignored.
//!
//! Each field may be set once: two overrides of the same field (the same key twice, or
//! `scratchpad.bytes` and `scratchpad_mib`) are refused ([`OverrideError::Repeated`]) rather
//! than the last silently winning, so the configuration's name never lists a value that did
//! not run.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::config::{HwConfig, HwConfigLiteral, IssueConfig};
use crate::error::SimError;

/// A convenience key that sets an integer field from a size in a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitKey {
    /// The key, e.g. `scratchpad_mib`.
    pub key: &'static str,
    /// The dotted field it sets, e.g. `scratchpad.bytes`.
    pub field: &'static str,
    /// Bytes per unit.
    pub factor: u64,
    /// The unit's name in messages, e.g. `MiB`.
    pub unit: &'static str,
}

/// The keys with units (see the module documentation).
pub const UNIT_KEYS: [UnitKey; 3] = [
    UnitKey {
        key: "scratchpad_kib",
        field: "scratchpad.bytes",
        factor: 1 << 10,
        unit: "KiB",
    },
    UnitKey {
        key: "scratchpad_mib",
        field: "scratchpad.bytes",
        factor: 1 << 20,
        unit: "MiB",
    },
    UnitKey {
        key: "scratchpad_mb",
        field: "scratchpad.bytes",
        factor: 1_000_000,
        unit: "MB",
    },
];

/// What can be wrong with an override.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OverrideError {
    /// The text has no `=`.
    #[error("override `{text}`: expected KEY=VALUE (e.g. `scratchpad_mib=256`)")]
    MissingEquals {
        /// The text given.
        text: String,
    },
    /// Nothing (or only spaces) before the `=`.
    #[error("override `{text}`: the key before `=` is empty (e.g. `scratchpad_mib=256`)")]
    EmptyKey {
        /// The text given.
        text: String,
    },
    /// Nothing (or only spaces) after the `=`.
    #[error("override `{key}=`: the value of `{key}` is empty")]
    EmptyValue {
        /// The key.
        key: String,
    },
    /// The key is not a field of the configuration nor a unit key.
    #[error(
        "override `{key}={value}`: unknown key `{key}`{}; valid keys: {}",
        hint.as_ref().map_or(String::new(), |h| format!(" ({h})")),
        valid.join(", ")
    )]
    UnknownKey {
        /// The key given.
        key: String,
        /// Its value.
        value: String,
        /// A suggestion, e.g. `did you mean `memory.bandwidth_gb_s`?`.
        hint: Option<String>,
        /// Every valid key.
        valid: Vec<String>,
    },
    /// The value is not of the field's type.
    #[error("override `{key}={value}`: `{key}` expects {expected}")]
    WrongType {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// The type expected, e.g. `an integer`.
        expected: &'static str,
    },
    /// The value has the right type but cannot be the field's (a negative or fractional size,
    /// an integer beyond the field's type, an unknown issue policy).
    #[error("override `{key}={value}`: {reason}")]
    BadValue {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// Why.
        reason: String,
    },
    /// Two overrides set the same field.
    #[error("overrides `{first}` and `{second}` both set `{field}`; set each field once")]
    Repeated {
        /// The dotted field.
        field: String,
        /// The first override, `KEY=VALUE`.
        first: String,
        /// The second override, `KEY=VALUE`.
        second: String,
    },
    /// The overridden configuration fails validation (a value outside its documented range):
    /// the error [`HwConfigLiteral::validate`] gives, its source naming the base and the overrides.
    #[error(transparent)]
    Config(#[from] SimError),
}

/// One `KEY=VALUE` override, key and value trimmed and non-empty. Whether the key exists is
/// checked when it is applied ([`HwConfig::with_overrides`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Override {
    key: String,
    value: String,
}

impl Override {
    /// An override of `key` (trimmed, non-empty) with `value` (trimmed, non-empty).
    pub fn new(key: &str, value: &str) -> Result<Self, OverrideError> {
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(OverrideError::EmptyKey {
                text: format!("{key}={value}"),
            });
        }
        if value.is_empty() {
            return Err(OverrideError::EmptyValue {
                key: key.to_string(),
            });
        }
        Ok(Override {
            key: key.to_string(),
            value: value.to_string(),
        })
    }

    /// The key, e.g. `scratchpad_mib` or `ntt.units`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value as written, e.g. `256`.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The dotted field the override sets: the key itself, or a unit key's field
    /// (`scratchpad_mib` sets `scratchpad.bytes`).
    pub fn field(&self) -> &str {
        self.unit_key().map_or(&self.key, |u| u.field)
    }

    fn unit_key(&self) -> Option<&'static UnitKey> {
        UNIT_KEYS.iter().find(|u| u.key == self.key)
    }
}

impl FromStr for Override {
    type Err = OverrideError;

    /// Parses `KEY=VALUE` (split at the first `=`).
    fn from_str(text: &str) -> Result<Self, OverrideError> {
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| OverrideError::MissingEquals {
                text: text.to_string(),
            })?;
        if key.trim().is_empty() {
            return Err(OverrideError::EmptyKey {
                text: text.to_string(),
            });
        }
        Override::new(key, value)
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl HwConfig {
    /// Every key an override may set (see the module documentation), sorted: the dotted paths
    /// of the configuration's values (`name` aside) and the [`UNIT_KEYS`].
    pub fn override_keys(&self) -> Vec<String> {
        let mut keys = leaf_keys(&self.value_tree());
        keys.extend(UNIT_KEYS.iter().map(|u| u.key.to_string()));
        keys.sort();
        keys
    }

    /// This configuration with `overrides` applied in order and validated like a preset; its
    /// name becomes `NAME+KEY=VALUE+...`. `source_name` names the base in errors (a preset or
    /// a file path); a range error's source is `SOURCE with KEY=VALUE, ...`. No overrides:
    /// the configuration unchanged.
    pub fn with_overrides(
        &self,
        source_name: &str,
        overrides: &[Override],
    ) -> Result<HwConfig, OverrideError> {
        if overrides.is_empty() {
            return Ok(self.clone());
        }
        let mut tree = self.value_tree();
        let keys = leaf_keys(&tree);
        for (k, o) in overrides.iter().enumerate() {
            if let Some(first) = overrides[..k].iter().find(|p| p.field() == o.field()) {
                return Err(OverrideError::Repeated {
                    field: o.field().to_string(),
                    first: first.to_string(),
                    second: o.to_string(),
                });
            }
            if !keys.iter().any(|k| k == o.field()) {
                return Err(unknown_key(o, &keys, self));
            }
            let slot = lookup_mut(&mut tree, o.field()).expect("a key of the tree");
            *slot = converted(o, slot)?;
        }
        let listed: Vec<String> = overrides.iter().map(Override::to_string).collect();
        let name = format!("{}+{}", self.name, listed.join("+"));
        let source = format!("{source_name} with {}", listed.join(", "));
        tree.as_table_mut()
            .expect("a configuration is a table")
            .insert("name".into(), toml::Value::String(name));
        let literal: HwConfigLiteral = serde_path_to_error::deserialize(tree).map_err(|e| {
            let path = e.path().to_string();
            // toml appends a line "in `issue.policy`"; the error names the key instead.
            let text = e.inner().to_string();
            let reason = text.split_once("\nin `").map_or(text.as_str(), |(r, _)| r);
            let reason = reason.trim().to_string();
            match overrides.iter().find(|o| o.field() == path) {
                Some(o) => OverrideError::BadValue {
                    key: o.key.clone(),
                    value: o.value.clone(),
                    reason,
                },
                None => OverrideError::Config(SimError::Parse {
                    source_name: source.clone(),
                    reason: format!("field `{path}`: {reason}"),
                }),
            }
        })?;
        Ok(HwConfig::new(literal, &source)?)
    }

    /// The configuration as a TOML value tree, the `[issue]` table included even when it
    /// holds the defaults (serialization leaves it out).
    fn value_tree(&self) -> toml::Value {
        let mut tree = toml::Value::try_from(self).expect("configurations serialize");
        let table = tree.as_table_mut().expect("a configuration is a table");
        if !table.contains_key("issue") {
            let issue = toml::Value::try_from(IssueConfig::default()).expect("serializes");
            table.insert("issue".into(), issue);
        }
        tree
    }
}

/// The dotted paths of the tree's non-table values, `name` aside.
fn leaf_keys(tree: &toml::Value) -> Vec<String> {
    fn walk(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut out = Vec::new();
    walk("", tree, &mut out);
    out.retain(|k| k != "name");
    out.sort();
    out
}

fn lookup_mut<'a>(value: &'a mut toml::Value, dotted: &str) -> Option<&'a mut toml::Value> {
    dotted.split('.').try_fold(value, |v, k| v.get_mut(k))
}

/// The error of an unknown key, with a hint where one is likely meant.
fn unknown_key(o: &Override, keys: &[String], config: &HwConfig) -> OverrideError {
    let hint = if o.key == "name" {
        Some(
            "the name is not set: an overridden configuration is named BASE+KEY=VALUE+..."
                .to_string(),
        )
    } else {
        // `lanes` -> `modmul.lanes`, ...; `scratchpad_bytes` -> `scratchpad.bytes`.
        let dotted = o.key.replacen('_', ".", 1);
        let near: Vec<&str> = keys
            .iter()
            .filter(|k| k.rsplit('.').next() == Some(o.key.as_str()) || **k == dotted)
            .map(String::as_str)
            .collect();
        (!near.is_empty()).then(|| {
            let near: Vec<String> = near.iter().map(|k| format!("`{k}`")).collect();
            format!("did you mean {}?", near.join(" or "))
        })
    };
    OverrideError::UnknownKey {
        key: o.key.clone(),
        value: o.value.clone(),
        hint,
        valid: config.override_keys(),
    }
}

/// Parses a TOML scalar (`256`, `1e3`, `"text"`, `true`); `None` when the text is not one.
fn scalar(text: &str) -> Option<toml::Value> {
    use serde::Deserialize;
    toml::Value::deserialize(toml::de::ValueDeserializer::new(text))
        .ok()
        .filter(|v| !matches!(v, toml::Value::Table(_) | toml::Value::Array(_)))
}

/// The value `o` puts in place of `current` (whose type is the field's).
fn converted(o: &Override, current: &toml::Value) -> Result<toml::Value, OverrideError> {
    let wrong_type = |expected| OverrideError::WrongType {
        key: o.key.clone(),
        value: o.value.clone(),
        expected,
    };
    let bad_value = |reason: String| OverrideError::BadValue {
        key: o.key.clone(),
        value: o.value.clone(),
        reason,
    };
    if let Some(unit) = o.unit_key() {
        return match scalar(&o.value) {
            Some(toml::Value::Integer(n)) => {
                if n < 0 {
                    return Err(bad_value(format!(
                        "a size of {n} {} is negative",
                        unit.unit
                    )));
                }
                n.checked_mul(unit.factor as i64)
                    .map(toml::Value::Integer)
                    .ok_or_else(|| bad_value(format!("{n} {} is beyond 2^63 bytes", unit.unit)))
            }
            Some(toml::Value::Float(x)) => {
                let bytes = x * unit.factor as f64;
                if !(x >= 0.0 && bytes.is_finite()) {
                    Err(bad_value(format!(
                        "expected a non-negative number of {}",
                        unit.unit
                    )))
                } else if bytes >= 2f64.powi(63) {
                    Err(bad_value(format!("{x} {} is beyond 2^63 bytes", unit.unit)))
                } else if bytes.fract() != 0.0 {
                    Err(bad_value(format!(
                        "{x} {} is {bytes} bytes, not a whole number of bytes",
                        unit.unit
                    )))
                } else {
                    Ok(toml::Value::Integer(bytes as i64))
                }
            }
            _ => Err(wrong_type(match unit.unit {
                "KiB" => "a number of KiB",
                "MiB" => "a number of MiB",
                _ => "a number of MB",
            })),
        };
    }
    let parsed = scalar(&o.value);
    match (current, parsed) {
        (toml::Value::Integer(_), Some(v @ toml::Value::Integer(_))) => Ok(v),
        (toml::Value::Integer(_), _) => Err(wrong_type("an integer")),
        (toml::Value::Float(_), Some(v @ toml::Value::Float(_))) => Ok(v),
        (toml::Value::Float(_), Some(toml::Value::Integer(n))) => Ok(toml::Value::Float(n as f64)),
        (toml::Value::Float(_), _) => Err(wrong_type("a number")),
        (toml::Value::Boolean(_), Some(v @ toml::Value::Boolean(_))) => Ok(v),
        (toml::Value::Boolean(_), _) => Err(wrong_type("`true` or `false`")),
        (toml::Value::String(_), parsed) => {
            if o.value.starts_with(['"', '\'']) {
                match parsed {
                    Some(v @ toml::Value::String(_)) => Ok(v),
                    _ => Err(wrong_type("a string")),
                }
            } else {
                Ok(toml::Value::String(o.value.clone()))
            }
        }
        (_, Some(v)) if std::mem::discriminant(&v) == std::mem::discriminant(current) => Ok(v),
        _ => Err(wrong_type("a value of the field's TOML type")),
    }
}

#[cfg(test)]
mod tests {
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
}
