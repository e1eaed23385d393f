//! Weight files written atomically: the network's parameters go to `FILE.partial` (beside
//! `FILE`) through [`save_safetensors`], which is then renamed onto `FILE`. A run interrupted
//! while writing leaves the previous complete file (or none), never a half-written one.
//!
//! Files hold `f32` tensors with PyTorch `state_dict` names ([`Network::parameters`]): a
//! trained network's values are `f32` already (see [`crate::Mirror::write_into`]), so
//! [`load_safetensors`](heaccel_host::nn::weights::load_safetensors) gives them back bit for bit.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use heaccel_host::nn::weights::{save_safetensors, WeightDtype};
use heaccel_host::nn::Network;

use crate::TrainError;

/// The temporary name of `path` while it is written: `path` with `.partial` appended.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".partial");
    PathBuf::from(name)
}

/// Writes `network`'s parameters to `path` as `f32` safetensors, atomically (see the module
/// docs). On error nothing is left at `path.partial`, and `path` is unchanged.
pub fn save_atomic(network: &Network, path: &Path) -> Result<(), TrainError> {
    let partial = partial_path(path);
    if let Err(e) = save_safetensors(network, &partial, WeightDtype::F32) {
        let _ = std::fs::remove_file(&partial);
        return Err(e.into());
    }
    std::fs::rename(&partial, path).map_err(|error| {
        let _ = std::fs::remove_file(&partial);
        TrainError::Io {
            file: path.to_path_buf(),
            error,
        }
    })
}
