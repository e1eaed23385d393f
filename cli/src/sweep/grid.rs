//! The grid file: parsing, `--set` overrides on its base, and each point's configuration.

use anyhow::{bail, Context, Result};
use heaccel_sim::HwConfig;

/// Most configurations one grid may hold.
pub const MAX_CONFIGS: usize = 100_000;

/// A parsed grid: the base configuration and the axes.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The base configuration every point starts from.
    pub base: HwConfig,
    /// `(dotted key, values)`, sorted by key.
    pub axes: Vec<(String, Vec<toml::Value>)>,
    /// The grid file's name, for errors.
    pub source: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFile {
    base: Option<String>,
    grid: toml::Table,
}

impl Grid {
    /// Parses a grid file's text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let file: GridFile = toml::from_str(text).with_context(|| {
            format!("grid file {source}: expected `base = \"...\"` and a [grid] table of arrays")
        })?;
        let base_spec = file.base.unwrap_or_else(|| "fpga-u280".into());
        let base = crate::simulate::load_config(&base_spec)
            .with_context(|| format!("grid file {source}, field `base`"))?;
        let base_value = toml::Value::try_from(&base).context("serializing the base config")?;
        let mut axes = Vec::new();
        let mut count: usize = 1;
        for (key, values) in file.grid {
            let toml::Value::Array(values) = values else {
                bail!("grid file {source}, field `grid.{key}`: expected an array of values");
            };
            if values.is_empty() {
                bail!("grid file {source}, field `grid.{key}`: the array is empty");
            }
            if lookup(&base_value, &key).is_none() {
                bail!(
                    "grid file {source}, field `grid.{key}`: not a config key (e.g. \
                     `modmul.lanes`, `ntt.units`, `scratchpad.bytes`, `memory.bandwidth_gb_s`, \
                     `word_bits`, `clock_mhz`)"
                );
            }
            count = count.saturating_mul(values.len());
            axes.push((key, values));
        }
        if axes.is_empty() {
            bail!("grid file {source}: the [grid] table has no keys");
        }
        if count > MAX_CONFIGS {
            bail!("grid file {source}: {count} configurations; at most {MAX_CONFIGS}");
        }
        Ok(Grid {
            base,
            axes,
            source: source.to_string(),
        })
    }

    /// The grid with `overrides` (`--set`) applied to its base, validated like the base itself
    /// (its name, and so every point's, records them). An override of a field that is also an
    /// axis is refused: the axis would replace its value at every point.
    pub fn with_overrides(mut self, overrides: &[heaccel_sim::Override]) -> Result<Self> {
        if let Some(o) = overrides
            .iter()
            .find(|o| self.axes.iter().any(|(key, _)| key == o.field()))
        {
            bail!(
                "--set {o}: `{}` is an axis of grid file {} (the grid's values would replace it \
                 at every point); set it in the grid or drop the --set",
                o.field(),
                self.source
            );
        }
        let source = format!("grid file {}, base `{}`", self.source, self.base.name);
        self.base = self
            .base
            .with_overrides(&source, overrides)
            .context("--set")?;
        Ok(self)
    }

    /// Number of configurations.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|(_, v)| v.len()).product()
    }

    /// Whether the grid is empty (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`-th point's values, one per axis (first axis slowest).
    pub fn point(&self, mut index: usize) -> Vec<&toml::Value> {
        let mut out = vec![&self.axes[0].1[0]; self.axes.len()];
        for (k, (_, values)) in self.axes.iter().enumerate().rev() {
            out[k] = &values[index % values.len()];
            index /= values.len();
        }
        out
    }

    /// Every point's configuration, validated, in index order.
    pub fn configs(&self) -> Result<Vec<HwConfig>> {
        (0..self.len()).map(|i| self.config(i)).collect()
    }

    /// The configuration of point `index`, validated; named `{base}#{index}`.
    pub fn config(&self, index: usize) -> Result<HwConfig> {
        let mut value = toml::Value::try_from(&self.base).context("serializing the base config")?;
        for ((key, _), v) in self.axes.iter().zip(self.point(index)) {
            *lookup_mut(&mut value, key).expect("checked at parse time") = v.clone();
        }
        let name = format!("{}#{index}", self.base.name);
        let mut literal: heaccel_sim::HwConfigLiteral = value.try_into().with_context(|| {
            format!(
                "grid file {}, point {index}: a value has the wrong type",
                self.source
            )
        })?;
        literal.name = name.clone();
        HwConfig::new(literal, &name)
            .with_context(|| format!("grid file {}, point {index}", self.source))
    }
}

fn lookup<'a>(value: &'a toml::Value, dotted: &str) -> Option<&'a toml::Value> {
    dotted.split('.').try_fold(value, |v, k| v.get(k))
}

fn lookup_mut<'a>(value: &'a mut toml::Value, dotted: &str) -> Option<&'a mut toml::Value> {
    dotted.split('.').try_fold(value, |v, k| v.get_mut(k))
}
