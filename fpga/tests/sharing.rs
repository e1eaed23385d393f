//! Module sharing changes nothing Yosys maps beyond its own noise: the core's Verilog as
//! rust-hdl emits it (one module per instance) and the shared Verilog `build_design` writes
//! synthesize to the same flip-flops, DSPs, LUT RAM and block RAM, in total and per block.
//!
//! LUTs are compared in total, within 3%, not exactly and not per block: Yosys is not
//! invariant under module and net names. In
//! rust-hdl's own netlist at N = 2^5, P = 2, modules with equal text map to different gate
//! counts before LUT mapping (`top$ew$0$fadd` and `top$ew$0$padd`: 37 and 36 `$_AND_`; the
//! NTT lanes' `mul_a` and `mul_b`: 259, 273 or 275), and ABC's mapping moves with the names
//! of its inputs (the unit `top$ntt$0`, the same text in both netlists: 3,411 LUTs in one
//! run, 3,897 in the other); totals measured: 23,034 and 23,275 LUTs (1.0%). With the XOR-network
//! routing the NTT units of this test's core came out at 3,860 and 3,998 LUTs (3.6%), so a
//! per-block LUT bound would measure ABC, not sharing.

use heaccel_fpga::design::core_primes;
use heaccel_fpga::yosys::{run_yosys, yosys_available};
use heaccel_fpga::{build_design, parse_stat, per_block, DesignKind, DesignParams};
use heaccel_hdl::core::{core_verilog, CoreGeometry};

#[test]
fn shared_core_synthesizes_to_the_same_cells_as_rust_hdls_netlist() {
    if !yosys_available() {
        eprintln!("notice: yosys not installed; the sharing check is skipped");
        return;
    }
    let params = DesignParams::with_default_prime(4, 1).unwrap();
    let kind = DesignKind::Core {
        primes: 2,
        slots: 2,
    };
    let design = build_design(kind, &params).unwrap();
    let primes = core_primes(4, params.q, 2).unwrap();
    let geo = CoreGeometry::new(4, 1, &primes, 2, CoreGeometry::DEFAULT_QUEUE).unwrap();
    let emitted = core_verilog(&geo).unwrap();
    // 2 primes x 2P = 4 element-wise lanes collapse to one per prime, and so on.
    assert_eq!(
        design.modules.0,
        heaccel_hdl::core::module_names(&emitted).len()
    );
    assert!(
        design.modules.1 * 5 < design.modules.0,
        "{:?}",
        design.modules
    );

    let root = std::env::temp_dir().join(format!("heaccel-sharing-{}", std::process::id()));
    let mut reports = Vec::new();
    for (name, verilog) in [("emitted", &emitted), ("shared", &design.verilog)] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("design.v"), verilog).unwrap();
        std::fs::write(
            dir.join("y.ys"),
            "read_verilog design.v\nsynth_xilinx -family xcup -top top -noiopad -noclkbuf\n\
             check -assert\nstat\n",
        )
        .unwrap();
        let log = run_yosys(&dir, "y.ys").unwrap();
        reports.push(parse_stat(&log).unwrap());
    }
    let _ = std::fs::remove_dir_all(&root);
    let (emitted, shared) = (&reports[0], &reports[1]);
    // Every module once in the emitted netlist; shared modules have several instances.
    assert!(emitted.instances.values().all(|&k| k == 1));
    assert!(shared.instances.values().any(|&k| k > 1));
    // Per block and in total: the emitted netlist's rows (one module per instance) against
    // the shared netlist's (modules times their instance counts).
    let rows = |r| {
        let (mut rows, total) = per_block(&design, r).unwrap();
        rows.push(heaccel_fpga::BlockResources {
            block: "total".into(),
            modules: 0,
            resources: total,
        });
        rows
    };
    let (a, b) = (rows(emitted), rows(shared));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.block, y.block);
        let (r, s) = (&x.resources, &y.resources);
        assert_eq!(
            (r.lutram, r.ff, r.dsp, r.ramb36, r.ramb18, r.uram),
            (s.lutram, s.ff, s.dsp, s.ramb36, s.ramb18, s.uram),
            "{}",
            x.block
        );
        eprintln!("{}: {} vs {} LUTs", x.block, r.lut, s.lut);
    }
    let (l1, l2) = (
        a.last().unwrap().resources.lut as f64,
        b.last().unwrap().resources.lut as f64,
    );
    assert!(
        (l1 - l2).abs() <= 0.03 * l1.max(l2),
        "total: {l1} vs {l2} LUTs"
    );
    let total = &b.last().unwrap().resources;
    assert!(total.dsp > 0 && total.ff > 0 && total.lut > 0);
}
