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
mod tests;
