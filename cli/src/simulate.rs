//! `heaccel simulate --program FILE`: timing of an ISA program on a hardware configuration.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use heaccel_sim::isa::{Program, BINARY_MAGIC};
use heaccel_sim::{HwConfig, TimingReport};

/// A preset name (`fpga-u280`, `asic`) or a path to a TOML file.
pub fn load_config(spec: &str) -> Result<HwConfig> {
    if spec.ends_with(".toml") || spec.contains('/') {
        let text = std::fs::read_to_string(spec)
            .with_context(|| format!("cannot read config file {spec}"))?;
        Ok(HwConfig::from_toml(&text, spec)?)
    } else {
        Ok(HwConfig::preset(spec)?)
    }
}

/// Reads a program in JSON or binary form (recognized by its `HEAX` magic).
pub fn load_program(path: &Path) -> Result<Program> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read program file {}", path.display()))?;
    let name = path.display().to_string();
    if bytes.starts_with(&BINARY_MAGIC) {
        Ok(Program::from_binary(&bytes, &name)?)
    } else {
        let text = String::from_utf8(bytes).with_context(|| {
            format!("program file {name}: neither JSON text nor a binary program")
        })?;
        Ok(Program::from_json(&text, &name)?)
    }
}

/// The readable table of a timing report.
pub fn to_table(r: &TimingReport, what: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{what} on `{}`: {} instructions",
        r.config, r.instructions
    );
    let _ = writeln!(s, "  cycles            {}", r.cycles);
    let _ = writeln!(s, "  time              {:.3} us", r.time_us);
    let _ = writeln!(
        s,
        "  off-chip traffic  {} bytes ({:.1} GB/s achieved)",
        r.offchip_bytes, r.achieved_bandwidth_gb_s
    );
    let _ = writeln!(s, "  bound             {}", r.bound.name());
    let _ = writeln!(
        s,
        "\n  {:<10} {:>9} {:>13} {:>14} {:>6}",
        "unit", "instances", "instructions", "busy cycles", "busy"
    );
    for u in &r.units {
        let _ = writeln!(
            s,
            "  {:<10} {:>9} {:>13} {:>14} {:>5.1}%",
            u.unit.name(),
            u.instances,
            u.instructions,
            u.busy_cycles,
            u.busy * 100.0
        );
    }
    s
}
