//! Reading user inputs with a size limit: a regular file larger than its limit is refused by
//! its size before anything is read; a device or FIFO (`/dev/zero`) is read up to the limit
//! and refused there. Errors name what the file is, the path and the OS reason once.

use std::io::Read as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Limit of text inputs: hardware configs, grids, parameter files (16 MiB).
pub const MAX_TEXT_BYTES: u64 = 16 << 20;
/// Limit of network inputs (JSON feature maps; 64 MiB).
pub const MAX_INPUT_BYTES: u64 = 64 << 20;
/// Limit of ISA programs, JSON or binary (256 MiB).
pub const MAX_PROGRAM_BYTES: u64 = 256 << 20;

/// The bytes of `path`, at most `limit`; `what` names the file in errors (`grid file`).
pub fn read_bytes(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if meta.is_dir() {
        bail!("{what} {}: is a folder, not a file", path.display());
    }
    if meta.is_file() && meta.len() > limit {
        bail!(
            "{what} {}: {} bytes; at most {} ({} MiB)",
            path.display(),
            meta.len(),
            limit,
            limit >> 20
        );
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!(
            "{what} {}: more than {limit} bytes ({} MiB), the most read",
            path.display(),
            limit >> 20
        );
    }
    Ok(bytes)
}

/// The text of `path` (UTF-8), at most `limit` bytes; see [`read_bytes`].
pub fn read_text(path: &Path, what: &str, limit: u64) -> Result<String> {
    let bytes = read_bytes(path, what, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{what} {}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_for_files_and_devices() {
        let dir = std::env::temp_dir().join(format!("heaccel-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("big.toml");
        std::fs::write(&f, vec![b'a'; 100]).unwrap();
        let e = read_text(&f, "grid file", 99).unwrap_err().to_string();
        assert!(
            e.contains("grid file") && e.contains("big.toml: 100 bytes; at most 99"),
            "{e}"
        );
        assert_eq!(read_text(&f, "grid file", 100).unwrap().len(), 100);
        #[cfg(unix)]
        {
            let e = read_bytes(Path::new("/dev/zero"), "program file", 1 << 10)
                .unwrap_err()
                .to_string();
            assert!(e.contains("/dev/zero: more than 1024 bytes"), "{e}");
        }
        let e = read_text(&dir, "config file", 10).unwrap_err().to_string();
        assert!(e.contains("is a folder"), "{e}");
        let e = format!(
            "{:#}",
            read_text(&dir.join("nope"), "input file", 10).unwrap_err()
        );
        assert!(e.starts_with("cannot read input file "), "{e}");
        assert_eq!(e.matches("No such file").count(), 1, "{e}");
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        let e = read_text(&f, "grid file", 10).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
