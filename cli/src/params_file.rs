//! Loading CKKS parameters from a preset name or a JSON/TOML file.

use std::path::Path;

use anyhow::{bail, Context, Result};
use heaccel_verification::ckks::{Parameters, ParametersLiteral};

/// Reads a parameter literal from `path` (`.json` or `.toml`) and validates it; every error
/// names the file.
pub fn load_params_file(path: &Path) -> Result<Parameters> {
    load_params_file_opt_in(path, false)
}

/// As [`load_params_file`], with `allow_insecure` forced on when `opt_in` (a command's
/// `--allow-insecure`).
pub fn load_params_file_opt_in(path: &Path, opt_in: bool) -> Result<Parameters> {
    let text = crate::input::read_text(
        path,
        "parameter file",
        heaccel_verification::ckks::MAX_LITERAL_BYTES as u64,
    )?;
    let literal = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => ParametersLiteral::from_json(&text),
        Some("toml") => ParametersLiteral::from_toml(&text),
        _ => bail!(
            "parameter file {}: expected a .json or .toml extension",
            path.display()
        ),
    }
    .with_context(|| format!("parameter file {}", path.display()))?;
    let literal = ParametersLiteral {
        allow_insecure: literal.allow_insecure || opt_in,
        ..literal
    };
    literal
        .build()
        .with_context(|| format!("parameter file {}", path.display()))
}

/// As [`resolve_params`], accepting parameters below the 128-bit bound when `allow_insecure`
/// (a command's `--allow-insecure`), for presets and files alike.
pub fn resolve_params_opt_in(
    preset: &str,
    file: Option<&Path>,
    allow_insecure: bool,
) -> Result<(String, Parameters)> {
    match file {
        Some(path) => Ok((
            path.display().to_string(),
            load_params_file_opt_in(path, allow_insecure)?,
        )),
        None => {
            let mut lit = heaccel_verification::ckks::preset(preset)
                .with_context(|| format!("preset `{preset}`"))?;
            lit.allow_insecure |= allow_insecure;
            let p = lit.build().with_context(|| {
                format!(
                    "preset `{preset}` (test presets below the 128-bit bound need --allow-insecure)"
                )
            })?;
            Ok((preset.to_string(), p))
        }
    }
}

/// Parameters from `--params FILE` if given, else from the preset `name`.
pub fn resolve_params(preset: &str, file: Option<&Path>) -> Result<(String, Parameters)> {
    match file {
        Some(path) => Ok((path.display().to_string(), load_params_file(path)?)),
        None => Ok((
            preset.to_string(),
            Parameters::preset(preset).with_context(|| format!("preset `{preset}`"))?,
        )),
    }
}
