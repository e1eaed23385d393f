//! The hardware-configuration options every command that simulates shares: `--config
//! PRESET|FILE` ([`HwConfigArgs`]: `simulate`, `compare`) and the repeatable `--set KEY=VALUE`
//! ([`SetArgs`]: also `sweep`, on top of its grid's `base`), applied by
//! [`heaccel_sim::HwConfig::with_overrides`] and validated like the preset itself.

use anyhow::{Context, Result};
use clap::Args;
use heaccel_sim::{HwConfig, Override};

/// `--set KEY=VALUE`, repeatable.
#[derive(Debug, Clone, Default, Args)]
pub struct SetArgs {
    /// Override one value of the hardware configuration (repeatable, each field once),
    /// validated like a preset; the run's config is named BASE+KEY=VALUE.
    ///
    /// KEY is a dotted TOML path of the config (clock_mhz, word_bits, ntt.units,
    /// ntt.butterflies_per_unit, ntt.pipeline_latency, modmul.lanes, automorph.units,
    /// automorph.lanes, bconv.lanes, scratchpad.bytes, scratchpad.banks,
    /// memory.bandwidth_gb_s, memory.latency_ns, issue.policy, any *.pipeline_latency) or a
    /// scratchpad size in units: scratchpad_kib, scratchpad_mib, scratchpad_mb. Applies to
    /// --config (sweep: to the grid's base). Example: --set scratchpad_mib=256 --set
    /// modmul.lanes=2048
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub set: Vec<Override>,
}

fn parse_override(text: &str) -> std::result::Result<Override, String> {
    text.parse()
        .map_err(|e: heaccel_sim::OverrideError| e.to_string())
}

impl SetArgs {
    /// `base` with the overrides applied; `source` names the base (a preset or file) in
    /// errors.
    pub fn apply(&self, base: &HwConfig, source: &str) -> Result<HwConfig> {
        base.with_overrides(source, &self.set).context("--set")
    }
}

/// `--config PRESET|FILE` and `--set KEY=VALUE`.
#[derive(Debug, Clone, Args)]
pub struct HwConfigArgs {
    /// A preset (fpga-u280, asic, sharp, ark, craterlake, f1, bts) or a TOML file.
    #[arg(long, default_value = "fpga-u280", value_name = "PRESET|FILE")]
    pub config: String,
    /// `--set KEY=VALUE` overrides of the config.
    #[command(flatten)]
    pub overrides: SetArgs,
}

impl HwConfigArgs {
    /// The configuration: the preset or file, with the overrides applied.
    pub fn load(&self) -> Result<HwConfig> {
        let base = crate::simulate::load_config(&self.config)?;
        self.overrides.apply(&base, &self.config)
    }
}
