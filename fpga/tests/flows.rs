//! The per-block split of a recorded Yosys `stat` report (the parser itself is tested with
//! it in `hdl/tests/fuzz_yosys_stat.rs`), the lane-fit arithmetic against hand-computed
//! numbers, and the Vivado/XDC/Yosys script contents.

use heaccel_fpga::flow::{self, clock_period_ns, Target};
use heaccel_fpga::{
    build_design, core_preset_lanes, lanes_within, parse_stat, per_block, preset_lanes, DesignKind,
    DesignParams, FpgaError, U280,
};
use heaccel_verification::arith::ntt_primes;

/// `yosys -s yosys.ys` on `heaccel fpga build --target u280 --lanes 1 --log-n 4` (Yosys 0.23),
/// from "Printing statistics." on: the report synth_xilinx prints, then the script's `stat`.
const RECORDED: &str = include_str!("data/yosys_stat_datapath_n4_p1.log");

#[test]
fn recorded_stat_splits_into_blocks() {
    let design = build_design(
        DesignKind::Datapath,
        &DesignParams::with_default_prime(4, 1).unwrap(),
    )
    .unwrap();
    let report = parse_stat(RECORDED).unwrap();
    let (rows, total) = per_block(&design, &report).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.block.as_str()).collect();
    assert_eq!(names, ["ntt", "modmul lanes", "automorph", "glue"]);
    // top$aut by hand: LUTs 1 + 4 + 1 + 1 + 4 + 11 + INV 2, 3 RAM32M16, 139 + 2 FFs.
    let aut = &rows[2].resources;
    assert_eq!((aut.lut, aut.lutram, aut.ff, aut.dsp), (24, 24, 141, 0));
    // top$mm$0: LUTs 135 + 83 + 45 + 20 + 124 + INV 13; 14 registers of 32 FDRE.
    let mm = &rows[1].resources;
    assert_eq!((mm.lut, mm.ff, mm.dsp), (420, 14 * 32, 9));
    assert_eq!(rows[1].modules, 15);
    // The wrapper is wires only.
    assert_eq!(rows[3].resources, Default::default());
    let sum = rows
        .iter()
        .fold(Default::default(), |a: heaccel_fpga::Resources, r| {
            a.checked_plus(&r.resources).unwrap()
        });
    assert_eq!(sum, total);
}

/// A module whose resources times its instances exceed `MAX_CELLS` (each within it, so the
/// parser accepts the report) is refused by the per-block split, naming the module.
#[test]
fn per_block_refuses_sums_beyond_max_cells() {
    let design = build_design(
        DesignKind::Datapath,
        &DesignParams::with_default_prime(4, 1).unwrap(),
    )
    .unwrap();
    let log = format!(
        "Printing statistics.\n\n=== top ===\n\n   Number of cells:  1\n     lane {k}\n\n\
         === lane ===\n\n   Number of cells:  1\n     LUT6 {k}\n\n=== design hierarchy ===\n\n   \
         top 1\n     lane {k}\n\n   Number of cells:  1\n     LUT6 1\n\nEnd of script.\n",
        k = 1u64 << 30
    );
    let report = parse_stat(&log).unwrap();
    match per_block(&design, &report) {
        Err(FpgaError::Stat(e)) => {
            assert_eq!((e.line(), e.field()), (0, Some("lane")), "{e}");
            assert!(
                e.to_string()
                    .contains(&format!("its resources times its {} instances", 1u64 << 30)),
                "{e}"
            );
        }
        other => panic!("expected a StatError, got {other:?}"),
    }
    // Within the limits, a per-module sum that disagrees with Yosys's total is refused.
    let log = log.replace(&format!("{}", 1u64 << 30), "2");
    let report = parse_stat(&log).unwrap();
    match per_block(&design, &report) {
        Err(e @ FpgaError::TotalMismatch { .. }) => {
            assert!(e.to_string().contains("hierarchy total"), "{e}")
        }
        other => panic!("expected a disagreement, got {other:?}"),
    }
}

#[test]
fn lanes_fit_matches_hand_computation() {
    // 27 DSPs per lane from 0: 9,024 / 27 = 334.2 -> 334.
    assert_eq!(lanes_within(8, 216, 64, 1728, U280.dsp), Some(334));
    // 2,576 LUTs at P = 1, 5,729 at P = 2: 1 + floor((1,303,680 - 2,576) / 3,153)
    // = 1 + floor(412.65) = 413.
    assert_eq!(lanes_within(1, 2576, 2, 5729, U280.lut), Some(413));
    // Exactly on the budget: 100 + 10 P <= 1,100 -> P = 100.
    assert_eq!(lanes_within(10, 200, 20, 300, 1100), Some(100));
    // Fixed cost above the budget: no lane fits.
    assert_eq!(lanes_within(1, 2000, 2, 2010, 1000), Some(0));
    // No growth: the resource never binds.
    assert_eq!(lanes_within(8, 0, 64, 0, U280.uram), None);
    assert_eq!(lanes_within(8, 50, 64, 40, 100), None);
}

#[test]
fn preset_lanes_use_whole_units_of_at_most_128() {
    let p = preset_lanes(334).unwrap();
    assert_eq!(
        (p.ntt_units, p.butterflies_per_unit, p.modmul_lanes),
        (2, 128, 256)
    );
    assert_eq!((p.automorph_units, p.automorph_lanes), (2, 128));
    let p = preset_lanes(100).unwrap();
    assert_eq!(
        (p.ntt_units, p.butterflies_per_unit, p.modmul_lanes),
        (1, 64, 64)
    );
    let p = preset_lanes(1000).unwrap();
    assert_eq!(
        (p.ntt_units, p.butterflies_per_unit, p.modmul_lanes),
        (7, 128, 896)
    );
    assert_eq!(preset_lanes(1).unwrap().butterflies_per_unit, 1);
    assert!(preset_lanes(0).is_err());
}

/// The core's mapping: per replica one NTT unit per prime, 2P element-wise lanes per prime,
/// one automorphism unit of 2P lanes.
#[test]
fn core_preset_lanes_count_per_prime_units() {
    // 73 lanes, 2 primes: one core of P = 64.
    let p = core_preset_lanes(73, 2).unwrap();
    assert_eq!(
        (
            p.replicas,
            p.ntt_units,
            p.butterflies_per_unit,
            p.modmul_lanes
        ),
        (1, 2, 64, 256)
    );
    assert_eq!((p.automorph_units, p.automorph_lanes), (1, 128));
    // 300 lanes, 3 primes: two cores of P = 128.
    let p = core_preset_lanes(300, 3).unwrap();
    assert_eq!(
        (
            p.replicas,
            p.ntt_units,
            p.butterflies_per_unit,
            p.modmul_lanes
        ),
        (2, 6, 128, 1536)
    );
    assert_eq!((p.automorph_units, p.automorph_lanes), (2, 256));
    assert!(core_preset_lanes(0, 2).is_err() && core_preset_lanes(8, 0).is_err());
}

#[test]
fn u280_budget_is_the_datasheet_figures() {
    assert_eq!(
        (U280.lut, U280.ff, U280.dsp, U280.bram36, U280.uram),
        (1_303_680, 2_607_360, 9_024, 2_016, 960)
    );
    assert_eq!(U280.ff, 2 * U280.lut);
}

#[test]
fn clock_period_is_1000_over_mhz_in_picoseconds() {
    assert_eq!(clock_period_ns(300.0).unwrap(), "3.333");
    assert_eq!(clock_period_ns(250.0).unwrap(), "4.000");
    assert_eq!(clock_period_ns(450.0).unwrap(), "2.222");
    assert_eq!(clock_period_ns(1000.0).unwrap(), "1.000");
    assert_eq!(clock_period_ns(322.265625).unwrap(), "3.103");
    for bad in [0.0, -300.0, 1000.5, f64::NAN, f64::INFINITY] {
        let e = clock_period_ns(bad).unwrap_err().to_string();
        assert!(
            e.contains("--clock-mhz") && e.contains("[1, 1000] MHz"),
            "{e}"
        );
    }
}

#[test]
fn scripts_name_the_part_the_clock_and_the_reports() {
    let cmd = "heaccel fpga build --target u280 --out x";
    let tcl = flow::vivado_tcl(Target::U280, "top", cmd);
    assert!(tcl.contains("set part xcu280-fsvh2892-2L-e\n"));
    assert!(tcl.contains("synth_design -top top -part $part -mode out_of_context\n"));
    for step in [
        "read_verilog",
        "read_xdc",
        "opt_design",
        "place_design",
        "route_design",
        "report_utilization -file",
        "report_timing_summary -file",
    ] {
        assert!(tcl.contains(step), "missing {step}");
    }
    assert!(tcl.find("synth_design").unwrap() < tcl.find("place_design").unwrap());
    assert!(tcl.find("place_design").unwrap() < tcl.find("route_design").unwrap());
    assert!(tcl.contains(cmd));
    let generic = flow::vivado_tcl(Target::Generic, "top", cmd);
    assert!(!generic.contains("xcu280"));
    assert!(generic.contains("set part [lindex $argv 0]"));

    let xdc = flow::xdc(Target::U280, 300.0, cmd).unwrap();
    assert!(xdc.contains("create_clock -period 3.333 -name core_clock [get_ports clock]\n"));
    assert!(xdc.contains("HD.CLK_SRC"));
    let xdc = flow::xdc(Target::Generic, 250.0, cmd).unwrap();
    assert!(xdc.contains("create_clock -period 4.000 -name core_clock [get_ports clock]\n"));
    assert!(!xdc.contains("HD.CLK_SRC") && !xdc.contains("PACKAGE_PIN"));
    assert!(flow::xdc(Target::U280, 0.0, cmd).is_err());

    let ys = flow::yosys_script("top", cmd);
    assert!(ys.contains("read_verilog design.v\n"));
    assert!(ys.contains("synth_xilinx -family xcup -top top"));
    assert!(ys.contains("check -assert\n"));
    assert!(ys.trim_end().ends_with("stat"));
}

#[test]
fn design_rejects_bad_sizes() {
    let e = build_design(
        DesignKind::Datapath,
        &DesignParams::with_default_prime(6, 3).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("lanes"), "{e}");
    assert!(DesignParams::with_default_prime(17, 1).is_err());
    // N >= 4P for the NTT unit.
    assert!(build_design(
        DesignKind::Datapath,
        &DesignParams::with_default_prime(4, 8).unwrap()
    )
    .is_err());
}

/// The core design: primes `q` first then the largest others (distinct, `= 1 mod 2N`), its
/// blocks named as `heaccel_hdl::core::block_instances` names them, bad sizes refused.
#[test]
fn core_design_primes_blocks_and_refusals() {
    use heaccel_fpga::design::core_primes;
    let p = DesignParams::with_default_prime(5, 2).unwrap();
    let primes = core_primes(5, p.q, 3).unwrap();
    assert_eq!(primes, ntt_primes(30, 5, 3, &[]).unwrap());
    let other = ntt_primes(30, 5, 1, &[p.q]).unwrap()[0];
    let from_other = core_primes(5, other, 2).unwrap();
    assert_eq!(from_other, vec![other, p.q]);
    assert!(core_primes(5, p.q, 0).is_err() && core_primes(5, p.q, 17).is_err());
    let d = build_design(
        DesignKind::Core {
            primes: 2,
            slots: 2,
        },
        &p,
    )
    .unwrap();
    assert_eq!((d.top.as_str(), d.kind.name()), ("top", "core"));
    let labels: Vec<(&str, &str)> = d
        .blocks
        .iter()
        .map(|b| (b.label.as_str(), b.instance.as_str()))
        .collect();
    assert_eq!(labels.len(), 2 + 2 * 4 + 1);
    assert_eq!(labels[0], ("ntt units", "ntt$0"));
    assert_eq!(labels[2], ("ew lanes", "ew$0"));
    assert_eq!(labels[10], ("automorph", "aut"));
    assert!(d.blocks[0].owns("top", "top$ntt$0$lanes$1"));
    assert!(!d.blocks[0].owns("top", "top$ntt$1"));
    for (kind, params) in [
        (
            DesignKind::Core {
                primes: 2,
                slots: 0,
            },
            p,
        ),
        (
            DesignKind::Core {
                primes: 1,
                slots: 2,
            },
            DesignParams::with_default_prime(4, 8).unwrap(),
        ),
    ] {
        assert!(build_design(kind, &params).is_err(), "{kind:?}");
    }
}
