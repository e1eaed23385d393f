//! The datapath wrapper passes every block's ports through: its element-wise lanes multiply
//! and its NTT unit transforms exactly as the reference model (rust-hdl simulation), and its
//! Verilog does the same for a lane under Icarus (skipped with a notice when not installed).

use heaccel_fpga::datapath::Datapath;
use heaccel_hdl::rtlsim::{cycle, start, stream};
use heaccel_hdl::{ModMul, NttUnit, Prime};
use heaccel_verification::arith::{ntt_primes, Modulus};
use heaccel_verification::ntt::NttTable;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;

const LOG_N: u32 = 4;
const LANES: usize = 2;

fn prime() -> u64 {
    ntt_primes(30, LOG_N, 1, &[]).unwrap()[0]
}

#[test]
fn lanes_multiply_and_ntt_transforms_through_the_wrapper() {
    let q = prime();
    let m = Modulus::new(q).unwrap();
    let p = Prime::new(q).unwrap();
    let mut dp = Datapath::new(p, LOG_N, LANES).unwrap();
    start(&mut dp);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let inputs: Vec<Vec<(u64, u64)>> = (0..20)
        .map(|i| {
            (0..LANES)
                .map(|_| match i {
                    0 => (q - 1, q - 1),
                    1 => (0, q - 1),
                    _ => (rng.gen_range(0..q), rng.gen_range(0..q)),
                })
                .collect()
        })
        .collect();
    let outputs = stream(
        &mut dp,
        |d| &mut d.clock,
        inputs.len(),
        <ModMul>::LATENCY,
        |d, i| {
            for k in 0..LANES {
                let (a, w) = i.map_or((0, 0), |i| inputs[i][k]);
                d.mm_a[k].next = (a as u32).to_bits();
                d.mm_w[k].next = (w as u32).to_bits();
                d.mm_w_shoup[k].next = (p.shoup30(w) as u32).to_bits();
            }
        },
        |d| d.mm_y.iter().map(|y| y.val().to_u64()).collect::<Vec<_>>(),
    );
    for (i, out) in outputs.iter().enumerate() {
        for k in 0..LANES {
            let (a, w) = inputs[i][k];
            assert_eq!(out[k], m.mul(a, w), "set {i} lane {k}");
        }
    }

    // Forward NTT of a random polynomial through the ntt_* ports.
    let n = 1usize << LOG_N;
    let a: Vec<u64> = (0..n).map(|_| rng.gen_range(0..q)).collect();
    let mut want = a.clone();
    NttTable::new(q, LOG_N).unwrap().forward(&mut want);
    let width = 2 * LANES;
    for r in 0..n / width {
        dp.ntt_wr_en.next = true;
        dp.ntt_wr_row.next = (r as u32).to_bits();
        for j in 0..width {
            dp.ntt_din[j].next = (a[width * r + j] as u32).to_bits();
        }
        cycle(&mut dp, |d| &mut d.clock);
    }
    dp.ntt_wr_en.next = false;
    dp.ntt_start.next = true;
    dp.ntt_inverse.next = false;
    cycle(&mut dp, |d| &mut d.clock);
    dp.ntt_start.next = false;
    let mut cycles = 1;
    while dp.ntt_busy.val() {
        cycle(&mut dp, |d| &mut d.clock);
        cycles += 1;
        assert!(cycles < 10_000, "the NTT never finished");
    }
    assert!(cycles > <NttUnit>::LATENCY);
    let mut got = vec![0u64; n];
    for r in 0..n / width {
        dp.ntt_rd_row.next = (r as u32).to_bits();
        cycle(&mut dp, |d| &mut d.clock);
        for j in 0..width {
            got[width * r + j] = dp.ntt_dout[j].val().to_u64();
        }
    }
    assert_eq!(got, want);
}

#[test]
fn datapath_verilog_multiplies_under_icarus() {
    if std::process::Command::new("iverilog")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("notice: iverilog not installed; the Verilog check of the datapath is skipped");
        return;
    }
    let q = prime();
    let m = Modulus::new(q).unwrap();
    let p = Prime::new(q).unwrap();
    let design = heaccel_fpga::build_design(
        heaccel_fpga::DesignKind::Datapath,
        &heaccel_fpga::DesignParams {
            log_n: LOG_N,
            lanes: LANES,
            q,
        },
    )
    .unwrap();
    let (a, w) = (q - 2, q / 3 + 5);
    let want = m.mul(a, w);
    let mut tb = String::from("`timescale 1ns/1ps\nmodule tb;\n  reg clock = 0;\n");
    tb += "  reg [31:0] a = 0, w = 0, ws = 0;\n  wire [31:0] y0, y1;\n";
    tb += "  top dut(.clock(clock), .mm_a$0(a), .mm_w$0(w), .mm_w_shoup$0(ws), .mm_y$0(y0), \
           .mm_a$1(w), .mm_w$1(a), .mm_w_shoup$1(32'd0), .mm_y$1(y1));\n";
    tb += &format!(
        "  integer i;\n  initial begin\n    a = 32'd{a}; w = 32'd{w}; ws = 32'd{ws};\n    for (i = \
         0; i < {lat}; i = i + 1) begin #1 clock = 1; #1 clock = 0; end\n    if (y0 == 32'd{want}) \
         $display(\"PASS\"); else $display(\"FAIL %0d\", y0);\n    $finish;\n  end\nendmodule\n",
        ws = p.shoup30(w),
        lat = <ModMul>::LATENCY,
    );
    let dir = std::env::temp_dir().join(format!("heaccel-fpga-dp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("design.v"), &design.verilog).unwrap();
    std::fs::write(dir.join("tb.v"), tb).unwrap();
    let build = std::process::Command::new("iverilog")
        .current_dir(&dir)
        .args(["-o", "sim", "tb.v", "design.v"])
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let run = std::process::Command::new("vvp")
        .current_dir(&dir)
        .arg("sim")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("PASS"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
