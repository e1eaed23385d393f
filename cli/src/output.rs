//! Writing results: every file whole or not at all, several files all or none, and only to
//! regular files, by [`heaccel_files`] (shared with the FPGA flows and the shards), with its
//! errors as the CLI's. Output folders are checked before the work starts
//! ([`check_output_dir`]).

use std::path::{Path, PathBuf};

use anyhow::Result;

/// [`heaccel_files::check_output_file`].
pub fn check_output_file(path: &Path) -> Result<()> {
    Ok(heaccel_files::check_output_file(path)?)
}

/// [`heaccel_files::check_output_dir`]: call it before the work.
pub fn check_output_dir(dir: &Path) -> Result<()> {
    Ok(heaccel_files::check_output_dir(dir)?)
}

/// [`heaccel_files::check_outputs`]: the checks of a multi-file output, before the work.
pub fn check_outputs(dir: &Path, names: &[&str]) -> Result<()> {
    Ok(heaccel_files::check_outputs(dir, names)?)
}

/// [`heaccel_files::write_whole`]: `text` to `path` whole or not at all.
pub fn write_whole(path: &Path, text: &str) -> Result<()> {
    Ok(heaccel_files::write_whole(path, text)?)
}

/// [`heaccel_files::write_all_or_nothing`]: `files` (`(name, text)`) into `dir`, all or none.
pub fn write_all_or_nothing(dir: &Path, files: &[(&str, String)]) -> Result<Vec<PathBuf>> {
    Ok(heaccel_files::write_all_or_nothing(dir, files)?)
}
