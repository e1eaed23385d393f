//! One source of truth for unit latencies: the simulator presets in `configs/` must use the
//! latencies that heaccel-hdl exports (hdl/ and sim/ do not depend on each other; this
//! crate depends on both).

use heaccel_hdl::ModMul;
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
