//! Every RTL check of every block, as rows of a pass/fail table (`heaccel verify rtl`).

use std::path::Path;

use rust_hdl::prelude::*;
use serde::Serialize;

use crate::automorph::{AutomorphGeometry, AutomorphSim};
use crate::blocks::{automorph_bundle, butterfly_bundle, modmul_bundle, ntt_bundle};
use crate::ntt::{NttGeometry, NttSim, NttUnit};
use crate::params::HdlError;
use crate::params::Prime;
use crate::rtlsim::{start, stream};
use crate::verilog::{
    build_verilator, corrupt_vectors, lint, run_icarus, run_verilator, synth, Bundle, ToolOutcome,
};
use crate::{CtButterfly, GsButterfly, ModMul};

/// One check of one block.
#[derive(Clone, Debug, Serialize)]
pub struct CheckRow {
    /// Block name.
    pub block: String,
    /// Check name: `rust-hdl`, `icarus`, `icarus-corrupted`, `icarus-missing`, `verilator`,
    /// `verilator-corrupted`, `lint`, `yosys`.
    pub check: String,
    /// `pass`, `fail` or `skip` (tool not installed).
    pub status: String,
    /// What was checked, or why it failed or was skipped.
    pub detail: String,
}

fn bw<const W: usize>(x: u64) -> Bits<W> {
    x.to_bits()
}

/// Runs the rust-hdl simulation of a pipeline bundle's `W`-bit block on its own vector
/// records (inputs then expected outputs) and counts mismatches.
pub fn simulate_bundle<const W: usize>(bundle: &Bundle, q: Prime) -> ToolOutcome {
    if bundle.word != W {
        return ToolOutcome::Fail(format!(
            "bundle of W = {} simulated at W = {W}",
            bundle.word
        ));
    }
    let recs = &bundle.records;
    let got: Vec<Vec<u64>> = match bundle.name.as_str() {
        "modmul" => {
            let mut uut = ModMul::<W>::new(q);
            start(&mut uut);
            stream(
                &mut uut,
                |b| &mut b.clock,
                recs.len(),
                ModMul::<W>::LATENCY,
                |b, i| {
                    let r = i.map_or(&[0u64; 4][..], |i| &recs[i][..]);
                    b.a.next = bw(r[0]);
                    b.w.next = bw(r[1]);
                    b.w_shoup.next = bw(r[2]);
                },
                |b| vec![b.y.val().to_u64()],
            )
        }
        "ct_butterfly" | "gs_butterfly" => {
            macro_rules! run_bf {
                ($ty:ty) => {{
                    let mut uut = <$ty>::new(q);
                    start(&mut uut);
                    stream(
                        &mut uut,
                        |b| &mut b.clock,
                        recs.len(),
                        <$ty>::LATENCY,
                        |b, i| {
                            let r = i.map_or(&[0u64; 6][..], |i| &recs[i][..]);
                            b.x.next = bw(r[0]);
                            b.y.next = bw(r[1]);
                            b.w.next = bw(r[2]);
                            b.w_shoup.next = bw(r[3]);
                        },
                        |b| vec![b.u.val().to_u64(), b.v.val().to_u64()],
                    )
                }};
            }
            if bundle.name == "ct_butterfly" {
                run_bf!(CtButterfly<W>)
            } else {
                run_bf!(GsButterfly<W>)
            }
        }
        "ntt" | "automorph" => return simulate_unit::<W>(bundle, q),
        other => return ToolOutcome::Fail(format!("no rust-hdl simulation for {other}")),
    };
    let n_out = got.first().map_or(0, Vec::len);
    let bad = recs
        .iter()
        .zip(&got)
        .filter(|(r, g)| r[r.len() - n_out..] != g[..])
        .count();
    if bad == 0 {
        ToolOutcome::Pass(format!("{} vectors", recs.len()))
    } else {
        ToolOutcome::Fail(format!("{bad} of {} vectors differ", recs.len()))
    }
}

/// Runs the NTT or automorphism unit's rust-hdl simulation on every record of its bundle
/// (`[mode or g, cycles, input[N], output[N]]`): outputs and cycle counts must match.
fn simulate_unit<const W: usize>(bundle: &Bundle, q: Prime) -> ToolOutcome {
    let Some((log_n, lanes)) = bundle.geometry else {
        return ToolOutcome::Fail("bundle without geometry".into());
    };
    let n = 1usize << log_n;
    let mut bad = 0;
    let split = |r: &Vec<u64>| -> (u64, usize, Vec<u64>, Vec<u64>) {
        let words = &r[2..];
        (
            r[0],
            r[1] as usize,
            words[..n].to_vec(),
            words[n..].to_vec(),
        )
    };
    if bundle.name == "ntt" {
        let geo = match NttGeometry::new(log_n, lanes) {
            Ok(g) => g,
            Err(e) => return ToolOutcome::Fail(e.to_string()),
        };
        let mut sim = match NttSim::<W>::new(q, geo) {
            Ok(s) => s,
            Err(e) => return ToolOutcome::Fail(e.to_string()),
        };
        for r in &bundle.records {
            let (mode, cycles, input, want) = split(r);
            let (got, c) = sim.transform(&input, mode == 1);
            bad += usize::from(got != want || c != cycles);
        }
    } else {
        let geo = match AutomorphGeometry::new(log_n, lanes) {
            Ok(g) => g,
            Err(e) => return ToolOutcome::Fail(e.to_string()),
        };
        let mut sim = AutomorphSim::<W>::new(geo);
        for r in &bundle.records {
            let (g, cycles, input, want) = split(r);
            match sim.apply(&input, g) {
                Ok((got, c)) => bad += usize::from(got != want || c != cycles),
                Err(_) => bad += 1,
            }
        }
    }
    let n_rec = bundle.records.len();
    if bad == 0 {
        ToolOutcome::Pass(format!("{n_rec} vectors (outputs and cycle counts)"))
    } else {
        ToolOutcome::Fail(format!("{bad} of {n_rec} vectors differ"))
    }
}

/// The bundles of every `W`-bit block, for prime `q` and twiddles of `N = 2^log_n`, and the
/// NTT and automorphism units of `N = 2^unit_log_n` with `unit_lanes` lanes (`q` must be
/// 1 mod `2^(unit_log_n + 1)`).
pub fn all_bundles<const W: usize>(
    q: Prime,
    log_n: u32,
    unit_log_n: u32,
    unit_lanes: usize,
    command: &str,
) -> Result<Vec<Bundle>, HdlError> {
    let ntt = NttGeometry::new(unit_log_n, unit_lanes)?;
    let aut = AutomorphGeometry::new(unit_log_n, unit_lanes)?;
    NttUnit::<W>::new(q, ntt)?;
    Ok(vec![
        modmul_bundle::<W>(q, log_n, 300, command),
        butterfly_bundle::<W>(q, log_n, false, 300, command),
        butterfly_bundle::<W>(q, log_n, true, 300, command),
        ntt_bundle::<W>(q, ntt, 2, command),
        automorph_bundle::<W>(q, aut, 1, command),
    ])
}

/// Runs every check of the `W`-bit `bundles` in folders under `dir`; `verilator` enables the
/// Verilator co-simulation (a C++ build per block, ~10 s each).
pub fn verify_bundles<const W: usize>(
    bundles: &[Bundle],
    q: Prime,
    dir: &Path,
    verilator: bool,
) -> Vec<CheckRow> {
    let mut rows = Vec::new();
    for b in bundles {
        let mut row = |check: &str, o: ToolOutcome| {
            rows.push(CheckRow {
                block: b.name.clone(),
                check: check.into(),
                status: o.status().into(),
                detail: o.detail().lines().last().unwrap_or("").to_string(),
            })
        };
        row("rust-hdl", simulate_bundle::<W>(b, q));
        let files = match b.write(&dir.join(&b.name)) {
            Ok(f) => f,
            Err(e) => {
                row("write", ToolOutcome::Fail(e.to_string()));
                continue;
            }
        };
        let n = b.records.len();
        row("icarus", run_icarus(&files, &files.vectors, n));
        let bad = files.dir.join("corrupted.hex");
        let negate = |o: ToolOutcome| match o {
            ToolOutcome::Fail(_) => ToolOutcome::Pass("rejected".into()),
            ToolOutcome::Pass(s) => ToolOutcome::Fail(format!("accepted a bad vector file: {s}")),
            s => s,
        };
        if let Err(e) = corrupt_vectors(b, &files.vectors, &bad, b.record_words - 1) {
            row("icarus-corrupted", ToolOutcome::Fail(e.to_string()));
        } else {
            row("icarus-corrupted", negate(run_icarus(&files, &bad, n)));
        }
        let missing = files.dir.join("missing.hex");
        row("icarus-missing", negate(run_icarus(&files, &missing, n)));
        if verilator {
            match build_verilator(&files) {
                Ok(exe) => {
                    row("verilator", run_verilator(&exe, &files.vectors, n));
                    row("verilator-corrupted", negate(run_verilator(&exe, &bad, n)));
                }
                Err(o) => row("verilator", o),
            }
        }
        row("lint", lint(&files));
        let yosys = synth(&files).and_then(|stat| {
            let r = stat.total().map_err(|e| ToolOutcome::Fail(e.to_string()))?;
            // LUT: the LUT1..LUT6 cells, without the INV cells `Resources::lut` also counts.
            Ok(ToolOutcome::Pass(format!(
                "check -assert ok, no latches; LUT {} FF {} DSP {} BRAM36 {}",
                stat.total_cells_with_prefix("LUT"),
                r.ff,
                r.dsp,
                r.bram36()
            )))
        });
        row("yosys", yosys.unwrap_or_else(|o| o));
    }
    rows
}
