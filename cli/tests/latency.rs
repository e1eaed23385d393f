//! One source of truth for unit latencies: the simulator presets in `configs/` must use the
//! latencies that heaccel-hdl exports (hdl/ and sim/ do not depend on each other; this
//! crate depends on both).

use heaccel_hdl::{AutomorphUnit, ModMul, NttUnit};
use heaccel_sim::config::{HwConfig, PRESETS};

#[test]
fn preset_modmul_latency_is_the_rtl_latency() {
    for name in PRESETS {
        let config = HwConfig::preset(name).unwrap();
        assert_eq!(
            config.modmul.pipeline_latency as usize,
            ModMul::LATENCY,
            "configs/{name}.toml modmul.pipeline_latency disagrees with heaccel-hdl \
             ModMul::LATENCY"
        );
    }
}

#[test]
fn preset_ntt_latency_is_the_rtl_latency() {
    for name in PRESETS {
        let config = HwConfig::preset(name).unwrap();
        assert_eq!(
            config.ntt.pipeline_latency as usize,
            NttUnit::LATENCY,
            "configs/{name}.toml ntt.pipeline_latency disagrees with heaccel-hdl NttUnit::LATENCY"
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
    for name in PRESETS {
        let config = HwConfig::preset(name).unwrap();
        assert_eq!(
            config.automorph.pipeline_latency as usize,
            AutomorphUnit::LATENCY,
            "configs/{name}.toml automorph.pipeline_latency disagrees with heaccel-hdl \
             AutomorphUnit::LATENCY"
        );
    }
}
