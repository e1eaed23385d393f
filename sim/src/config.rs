//! Hardware configuration in the Lattigo manner: [`HwConfigLiteral`] is the plain serde struct
//! read from TOML (unknown keys refused), unchecked; [`HwConfig`] is a literal that passed
//! [`HwConfigLiteral::validate`], and only [`HwConfig::new`] (hence [`HwConfig::from_toml`],
//! [`HwConfig::preset`], [`HwConfig::with_overrides`]) makes one, so every `HwConfig` a
//! simulation receives is inside every range. It reads as its literal (`config.ntt.units`);
//! to change a value, edit [`HwConfig::into_literal`] and validate again. Named presets live
//! in the workspace's `configs/` folder.
//!
//! Every physical quantity has a documented range (on its field below) that covers real designs
//! from small FPGA boards to ASICs; [`HwConfigLiteral::validate`] refuses a value outside it
//! with an error naming the file, the field and the range. The ranges also keep the timing
//! model's figures far inside 64 bits (see [`crate::timing`]).

use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::error::{invalid, Result, SimError};

/// The NTT units: `units` independent units of `butterflies_per_unit` pipelined butterflies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NttConfig {
    /// Number of NTT units, `[1, 1024]`.
    pub units: u32,
    /// Butterflies per unit (a power of two, `[1, 4096]`): one transform of `N` takes
    /// `N/2 * log2(N) / butterflies_per_unit` cycles plus the pipeline latency.
    pub butterflies_per_unit: u32,
    /// Cycles to fill the butterfly pipeline, `[0, 10000]`.
    pub pipeline_latency: u32,
}

/// A pool of pipelined lanes (element-wise modular multipliers, basis-conversion MACs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanesConfig {
    /// Lanes, `[1, 65536]`: one element per lane per cycle.
    pub lanes: u32,
    /// Pipeline latency in cycles, `[0, 10000]`.
    pub pipeline_latency: u32,
}

/// The automorphism units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomorphConfig {
    /// Number of units, `[1, 1024]`.
    pub units: u32,
    /// Coefficients permuted per cycle per unit, `[1, 65536]`.
    pub lanes: u32,
    /// Pipeline latency in cycles, `[0, 10000]`.
    pub pipeline_latency: u32,
}

/// On-chip scratchpad.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScratchpadConfig {
    /// Capacity in bytes, `[1024, 2^40]` (1 KiB to 1 TiB).
    pub bytes: u64,
    /// Independent banks, `[1, 65536]`.
    pub banks: u32,
}

/// Off-chip memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    /// Sustained bandwidth in GB/s (10^9 bytes per second), `[0.1, 100000]`: from a narrow
    /// DDR channel of a small FPGA board to many HBM stacks.
    pub bandwidth_gb_s: f64,
    /// Access latency in nanoseconds, `[0, 100000]` (up to 100 us).
    pub latency_ns: f64,
}

/// How instructions issue (`[issue] policy = ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuePolicy {
    /// `"overlapped"` (the default): instructions dispatch in program order to per-unit
    /// queues and start as soon as their operands and an instance of their unit are ready,
    /// so independent instructions on different units run at the same time.
    #[default]
    Overlapped,
    /// `"in_order_blocking"`: each instruction starts when the previous one has completed
    /// (its result is ready; every unit and the memory channel are idle), so a program takes
    /// the sum of its instructions' isolated times. This is how a core that runs one
    /// instruction at a time behaves (heaccel-hdl's `core` built in order).
    InOrderBlocking,
    /// `"scoreboard"`: instructions issue in program order, at most one a cycle, each when an
    /// instance of its unit is free and no instruction still running uses any slot it names;
    /// an instruction holds its unit instance and its slots (one access port each, so reads
    /// too) until its result is ready. A stalled instruction stalls those behind it. This is
    /// heaccel-hdl's overlapped `core` (its scoreboard of slot owners).
    Scoreboard,
}

/// The `[issue]` table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueConfig {
    /// The issue policy, default `"overlapped"`.
    #[serde(default)]
    pub policy: IssuePolicy,
}

impl IssueConfig {
    /// `true` for the default (overlapped) policy; such a table is not written out.
    pub fn is_default(&self) -> bool {
        *self == IssueConfig::default()
    }
}

/// A hardware configuration as written in TOML, not yet checked against the documented ranges
/// (see [`HwConfig`] for a checked one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HwConfigLiteral {
    /// Name shown in reports.
    pub name: String,
    /// Clock in MHz, `[1, 10000]` (1 MHz to 10 GHz).
    pub clock_mhz: f64,
    /// Machine word in bits, `[16, 64]`: words held per coefficient in scratchpad and memory
    /// (the primes must fit below `2^word_bits`).
    pub word_bits: u32,
    /// NTT units.
    pub ntt: NttConfig,
    /// Element-wise modular-multiplier lanes (mul, add, sub, mac, scalar ops).
    pub modmul: LanesConfig,
    /// Automorphism units.
    pub automorph: AutomorphConfig,
    /// Basis-conversion lanes (multiply-accumulate).
    pub bconv: LanesConfig,
    /// Scratchpad.
    pub scratchpad: ScratchpadConfig,
    /// Off-chip memory.
    pub memory: MemoryConfig,
    /// Issue policy; an absent `[issue]` table means `policy = "overlapped"`.
    #[serde(default, skip_serializing_if = "IssueConfig::is_default")]
    pub issue: IssueConfig,
}

/// A validated hardware configuration: a [`HwConfigLiteral`] with every value inside its
/// documented range. Reads as its literal through `Deref`; serializes as it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct HwConfig(HwConfigLiteral);

impl Deref for HwConfig {
    type Target = HwConfigLiteral;

    fn deref(&self) -> &HwConfigLiteral {
        &self.0
    }
}

/// Names of the presets shipped in `configs/`.
pub const PRESETS: [&str; 7] = [
    "fpga-u280",
    "asic",
    "sharp",
    "ark",
    "craterlake",
    "f1",
    "bts",
];

fn preset_text(name: &str) -> Option<&'static str> {
    match name {
        "fpga-u280" => Some(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/fpga-u280.toml"
        ))),
        "asic" => Some(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/asic.toml"
        ))),
        "sharp" => Some(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/sharp.toml"
        ))),
        "ark" => Some(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/ark.toml"
        ))),
        "craterlake" => Some(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/craterlake.toml"
        ))),
        "f1" => Some(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/f1.toml"
        ))),
        "bts" => Some(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/bts.toml"
        ))),
        _ => None,
    }
}

impl HwConfig {
    /// `literal` once [`HwConfigLiteral::validate`] accepts it; errors start with
    /// `source_name` (a file or preset) and name the field and its range.
    pub fn new(literal: HwConfigLiteral, source_name: &str) -> Result<Self> {
        literal.validate(source_name)?;
        Ok(HwConfig(literal))
    }

    /// The checked values.
    pub fn literal(&self) -> &HwConfigLiteral {
        &self.0
    }

    /// The values, to edit and check again with [`HwConfig::new`].
    pub fn into_literal(self) -> HwConfigLiteral {
        self.0
    }

    /// This configuration named `name` (the name has no range).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.0.name = name.into();
        self
    }

    /// Parses and validates TOML text; errors start with `source_name` and name the field.
    pub fn from_toml(text: &str, source_name: &str) -> Result<Self> {
        let literal: HwConfigLiteral = toml::from_str(text).map_err(|e| SimError::Parse {
            source_name: source_name.to_string(),
            reason: e.to_string().trim_end().to_string(),
        })?;
        HwConfig::new(literal, source_name)
    }

    /// A named preset (see [`PRESETS`]).
    pub fn preset(name: &str) -> Result<Self> {
        let text = preset_text(name).ok_or_else(|| {
            invalid(
                "config",
                "preset",
                format!("unknown preset `{name}`; known: {}", PRESETS.join(", ")),
            )
        })?;
        HwConfig::from_toml(text, &format!("configs/{name}.toml"))
    }

    /// The TOML text of the configuration (the default `[issue]` table left out); reading it
    /// back with [`HwConfig::from_toml`] gives the same configuration.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("configurations serialize")
    }

    /// Off-chip bytes per clock cycle.
    pub fn memory_bytes_per_cycle(&self) -> f64 {
        self.memory.bandwidth_gb_s * 1e3 / self.clock_mhz
    }

    /// Bytes one word occupies in memory and scratchpad (`ceil(word_bits / 8)`).
    pub fn word_bytes(&self) -> u64 {
        self.word_bits.div_ceil(8) as u64
    }
}

impl HwConfigLiteral {
    /// Checks every value against its documented range (the ranges are inclusive; NaN and
    /// infinities are outside every range); errors start with `source_name`.
    pub fn validate(&self, source_name: &str) -> Result<()> {
        let fail = |field: &str, reason: String| Err(invalid(source_name, field, reason));
        let in_range = |field: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                fail(field, format!("{v} is outside [{lo}, {hi}]"))
            }
        };
        let in_range_f = |field: &str, v: f64, lo: f64, hi: f64, unit: &str| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                fail(field, format!("{v:?} is outside [{lo}, {hi}] {unit}"))
            }
        };
        in_range_f("clock_mhz", self.clock_mhz, 1.0, 10_000.0, "MHz")?;
        in_range("word_bits", self.word_bits as u64, 16, 64)?;
        in_range("ntt.units", self.ntt.units as u64, 1, 1024)?;
        in_range(
            "ntt.butterflies_per_unit",
            self.ntt.butterflies_per_unit as u64,
            1,
            4096,
        )?;
        if !self.ntt.butterflies_per_unit.is_power_of_two() {
            return fail(
                "ntt.butterflies_per_unit",
                format!("{} is not a power of two", self.ntt.butterflies_per_unit),
            );
        }
        in_range(
            "ntt.pipeline_latency",
            self.ntt.pipeline_latency as u64,
            0,
            10_000,
        )?;
        in_range("modmul.lanes", self.modmul.lanes as u64, 1, 65_536)?;
        in_range(
            "modmul.pipeline_latency",
            self.modmul.pipeline_latency as u64,
            0,
            10_000,
        )?;
        in_range("automorph.units", self.automorph.units as u64, 1, 1024)?;
        in_range("automorph.lanes", self.automorph.lanes as u64, 1, 65_536)?;
        in_range(
            "automorph.pipeline_latency",
            self.automorph.pipeline_latency as u64,
            0,
            10_000,
        )?;
        in_range("bconv.lanes", self.bconv.lanes as u64, 1, 65_536)?;
        in_range(
            "bconv.pipeline_latency",
            self.bconv.pipeline_latency as u64,
            0,
            10_000,
        )?;
        in_range("scratchpad.bytes", self.scratchpad.bytes, 1024, 1 << 40)?;
        in_range("scratchpad.banks", self.scratchpad.banks as u64, 1, 65_536)?;
        in_range_f(
            "memory.bandwidth_gb_s",
            self.memory.bandwidth_gb_s,
            0.1,
            100_000.0,
            "GB/s",
        )?;
        in_range_f(
            "memory.latency_ns",
            self.memory.latency_ns,
            0.0,
            100_000.0,
            "ns",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_load_and_state_their_figures() {
        let u280 = HwConfig::preset("fpga-u280").unwrap();
        assert_eq!(u280.clock_mhz, 300.0);
        assert_eq!(u280.memory.bandwidth_gb_s, 460.0);
        assert_eq!(u280.word_bits, 32);
        // 512 modular multipliers at 12 DSPs stay within the U280's 9,024 DSP slices.
        let multipliers = u280.ntt.units * u280.ntt.butterflies_per_unit + u280.modmul.lanes;
        assert!(multipliers * 12 <= 9024);
        let asic = HwConfig::preset("asic").unwrap();
        assert_eq!(
            (
                asic.clock_mhz,
                asic.memory.bandwidth_gb_s,
                asic.modmul.lanes,
                asic.word_bits
            ),
            (1000.0, 1000.0, 1024, 36)
        );
        assert_eq!(asic.word_bytes(), 5);
        assert!((asic.memory_bytes_per_cycle() - 1000.0).abs() < 1e-9);
        assert_eq!(u280.issue.policy, IssuePolicy::Overlapped);
        assert_eq!(asic.issue.policy, IssuePolicy::Overlapped);
        assert!(HwConfig::preset("gpu")
            .unwrap_err()
            .to_string()
            .contains("fpga-u280"));
    }

    /// The published-accelerator presets load and state the figures their files cite (see
    /// docs/PUBLISHED.md): word, clock, scratchpad bytes, off-chip bandwidth.
    #[test]
    fn published_presets_load_and_state_their_cited_figures() {
        const MIB: u64 = 1 << 20;
        let cases = [
            // SHARP (ISCA'23): 36-bit, 1 GHz, 180 MB, 1 TB/s.
            ("sharp", 36, 1000.0, 180 * MIB, 1000.0),
            // ARK (MICRO'22): 64-bit, 1 GHz, 512 MB, 1 TB/s.
            ("ark", 64, 1000.0, 512 * MIB, 1000.0),
            // CraterLake (ISCA'22): 28-bit words stored as 32 (no 28-bit RTL), 1 GHz, 256 MB.
            ("craterlake", 32, 1000.0, 256 * MIB, 1000.0),
            // F1 (MICRO'21): 32-bit, 1 GHz, 64 MB, 1 TB/s.
            ("f1", 32, 1000.0, 64 * MIB, 1000.0),
            // BTS (ISCA'22): 64-bit, 1.2 GHz, 512 MB, 1 TB/s.
            ("bts", 64, 1200.0, 512 * MIB, 1000.0),
        ];
        for (name, word, clock, bytes, bandwidth) in cases {
            assert!(PRESETS.contains(&name), "{name} is not in PRESETS");
            let c = HwConfig::preset(name).unwrap();
            assert_eq!(c.name, name);
            assert_eq!(
                (
                    c.word_bits,
                    c.clock_mhz,
                    c.scratchpad.bytes,
                    c.memory.bandwidth_gb_s
                ),
                (word, clock, bytes, bandwidth),
                "{name}"
            );
            assert_eq!(c.issue.policy, IssuePolicy::Overlapped, "{name}");
        }
        // CraterLake's 28-bit words take the same 4 bytes as the 32-bit words the preset uses.
        assert_eq!(
            HwConfig::preset("craterlake").unwrap().word_bytes(),
            28u64.div_ceil(8)
        );
        // Lanes as cited: ARK 4 x 256 automorphism lanes and 4 x 256 x 6 BConv MACs; F1 16
        // clusters of 128 lanes with 2 multipliers each; BTS 2,048 PEs.
        let ark = HwConfig::preset("ark").unwrap();
        assert_eq!(
            (ark.automorph.units * ark.automorph.lanes, ark.bconv.lanes),
            (1024, 6144)
        );
        let f1 = HwConfig::preset("f1").unwrap();
        assert_eq!(
            (f1.automorph.units, f1.automorph.lanes, f1.modmul.lanes),
            (16, 128, 4096)
        );
        assert_eq!(f1.scratchpad.banks, 16);
        let bts = HwConfig::preset("bts").unwrap();
        assert_eq!(
            (
                bts.ntt.units * bts.ntt.butterflies_per_unit,
                bts.modmul.lanes,
                bts.scratchpad.banks
            ),
            (2048, 2048, 2048)
        );
        // Every preset loads; every name is its file's `name`.
        for name in PRESETS {
            assert_eq!(HwConfig::preset(name).unwrap().name, name);
        }
    }

    #[test]
    fn issue_policy_parses_defaults_and_round_trips() {
        let base = preset_text("fpga-u280").unwrap();
        let blocking = format!("{base}\n[issue]\npolicy = \"in_order_blocking\"\n");
        let c = HwConfig::from_toml(&blocking, "b.toml").unwrap();
        assert_eq!(c.issue.policy, IssuePolicy::InOrderBlocking);
        let back = toml::to_string(&c).unwrap();
        assert!(back.contains("policy = \"in_order_blocking\""), "{back}");
        assert_eq!(HwConfig::from_toml(&back, "back.toml").unwrap(), c);
        let explicit = format!("{base}\n[issue]\npolicy = \"overlapped\"\n");
        let o = HwConfig::from_toml(&explicit, "o.toml").unwrap();
        assert_eq!(o, HwConfig::preset("fpga-u280").unwrap());
        // The default policy is not written out: presets serialize as before.
        assert!(!toml::to_string(&o).unwrap().contains("[issue]"));
        let empty = format!("{base}\n[issue]\n");
        assert_eq!(
            HwConfig::from_toml(&empty, "e.toml").unwrap().issue.policy,
            IssuePolicy::Overlapped
        );
    }

    #[test]
    fn bad_configs_name_file_and_field() {
        let base = preset_text("fpga-u280").unwrap();
        let cases = [
            (
                base.replace("word_bits = 32", "word_bits = 80"),
                "word_bits",
            ),
            (
                base.replace("butterflies_per_unit = 64", "butterflies_per_unit = 100"),
                "ntt.butterflies_per_unit",
            ),
            (
                base.replace("bandwidth_gb_s = 460.0", "bandwidth_gb_s = -1.0"),
                "memory.bandwidth_gb_s",
            ),
            (
                base.replace("[modmul]\nlanes = 256", "[modmul]\nlanes = 0"),
                "modmul.lanes",
            ),
            (
                base.replace("clock_mhz = 300.0", "clock_mhz = 300.0\nclock_ghz = 1"),
                "clock_ghz",
            ),
            (
                base.replace("[bconv]\nlanes = 256", "[bconv]\nlanes = \"many\""),
                "lanes",
            ),
            (base.replace("banks = 64", ""), "banks"),
            (
                format!("{base}\n[issue]\npolicy = \"out_of_order\"\n"),
                "in_order_blocking",
            ),
            (format!("{base}\n[issue]\noverlap = true\n"), "overlap"),
        ];
        for (text, field) in cases {
            // Each case edits the preset's text (a preset change must update the case).
            assert_ne!(text, base, "the `{field}` case edits nothing");
            let e = HwConfig::from_toml(&text, "my.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("my.toml"), "{e}");
            assert!(e.contains(field), "expected `{field}` in: {e}");
        }
    }
}
