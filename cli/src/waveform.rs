//! `heaccel verify rtl --block B --vcd FILE`: the rust-hdl simulation of a block's vector
//! records, recorded as a VCD waveform (GTKWave, Surfer) by [`heaccel_hdl::rtlsim::record_vcd`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use heaccel_hdl::verify::simulate_bundle;
use heaccel_hdl::verilog::{Bundle, ToolOutcome};
use heaccel_hdl::Prime;

/// Where the waveform of `bundle` goes: `path` itself when the block has one bundle, else
/// `path`'s stem with `-<bundle>` appended (`wave.vcd` -> `wave-ct_butterfly.vcd`).
pub fn vcd_path(path: &Path, bundle: &str, bundles: usize) -> PathBuf {
    if bundles == 1 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map_or("wave".into(), |s| s.to_string_lossy().into_owned());
    let ext = path
        .extension()
        .map_or("vcd".into(), |e| e.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}-{bundle}.{ext}"))
}

/// Runs the rust-hdl simulation of `bundle` on its vector records while recording every
/// port and register, checks the outputs as `verify rtl` does, and writes the VCD to `path`
/// whole. Errors when the simulation disagrees with the vectors or nothing was recorded.
pub fn write_vcd<const W: usize>(bundle: &Bundle, q: Prime, path: &Path) -> Result<()> {
    let (outcome, text) = heaccel_hdl::rtlsim::record_vcd(|| simulate_bundle::<W>(bundle, q));
    if let ToolOutcome::Fail(why) = outcome {
        bail!("{}: the recorded simulation failed: {why}", bundle.name);
    }
    if text.is_empty() {
        bail!("{}: no waveform was recorded", bundle.name);
    }
    let text = String::from_utf8(text)
        .map_err(|_| anyhow::anyhow!("{}: the waveform is not text", bundle.name))?;
    Ok(crate::output::write_whole(path, &text)?)
}
