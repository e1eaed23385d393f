//! One source of truth for unit latencies: the simulator presets in `configs/` must use the
//! latencies that heaccel-hdl exports at the preset's machine word (`word_bits`: 32 for
//! fpga-u280, 36 for asic), `heaccel_hdl::unit_latencies(W)` (hdl/ and sim/ do not depend on
//! each other; this crate depends on both).

use heaccel_hdl::{unit_latencies, UnitLatencies};
use heaccel_sim::config::{HwConfig, PRESETS};

/// The preset and the RTL latencies at its word; fails when the word has no RTL blocks.
fn presets() -> Vec<(&'static str, HwConfig, UnitLatencies)> {
    PRESETS
        .iter()
        .map(|&name| {
            let config = HwConfig::preset(name).unwrap();
            let rtl = unit_latencies(config.word_bits as usize).unwrap_or_else(|| {
                panic!(
                    "configs/{name}.toml word_bits = {}: no RTL blocks of that word",
                    config.word_bits
                )
            });
            (name, config, rtl)
        })
        .collect()
}

#[test]
fn preset_words_have_rtl_blocks() {
    let words: Vec<(&str, u32)> = presets()
        .iter()
        .map(|(n, c, _)| (*n, c.word_bits))
        .collect();
    assert!(words.contains(&("fpga-u280", 32)), "{words:?}");
    assert!(words.contains(&("asic", 36)), "{words:?}");
}

/// fpga-u280 is derived from the accelerator core (`heaccel fpga estimate --design core
/// --write-preset`), whose element-wise lanes are `EwLane`s (a product of two variables);
/// asic keeps the Shoup multiplier's latency at its word.
#[test]
fn preset_modmul_latency_is_the_rtl_latency() {
    for (name, config, rtl) in presets() {
        let (want, block) = if name == "fpga-u280" {
            (heaccel_hdl::core::EwLane::LATENCY, "core::EwLane::LATENCY")
        } else {
            (rtl.modmul, "ModMul::LATENCY")
        };
        assert_eq!(
            config.modmul.pipeline_latency as usize, want,
            "configs/{name}.toml modmul.pipeline_latency disagrees with heaccel-hdl {block} \
             (W = {})",
            config.word_bits
        );
    }
}

#[test]
fn preset_ntt_latency_is_the_rtl_latency() {
    for (name, config, rtl) in presets() {
        assert_eq!(
            config.ntt.pipeline_latency as usize, rtl.ntt,
            "configs/{name}.toml ntt.pipeline_latency disagrees with heaccel-hdl \
             NttUnit::<{}>::LATENCY",
            config.word_bits
        );
        // The preset's butterflies per unit must be a unit size heaccel-hdl can build.
        let lanes = config.ntt.butterflies_per_unit as usize;
        assert!(
            heaccel_hdl::NttGeometry::new(16, lanes).is_ok(),
            "configs/{name}.toml ntt.butterflies_per_unit = {lanes}: no RTL unit of that size"
        );
    }
}

#[test]
fn preset_automorph_latency_is_the_rtl_latency() {
    for (name, config, rtl) in presets() {
        assert_eq!(
            config.automorph.pipeline_latency as usize, rtl.automorph,
            "configs/{name}.toml automorph.pipeline_latency disagrees with heaccel-hdl \
             AutomorphUnit::<{}>::LATENCY",
            config.word_bits
        );
    }
}
