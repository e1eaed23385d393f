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
    let bytes = read_at_most(file, meta.is_file().then_some(meta.len()), limit)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let Some(bytes) = bytes else {
        bail!(
            "{what} {}: more than {limit} bytes ({} MiB), the most read",
            path.display(),
            limit >> 20
        );
    };
    Ok(bytes)
}

/// Chunks of a stream of unknown size (a pipe, a device such as `/dev/zero`).
const CHUNK_BYTES: u64 = 8 << 20;

/// All bytes of `file`, or `None` when there are more than `limit`: one allocation of the size
/// a regular file states, else chunks of [`CHUNK_BYTES`] joined once. A vector grown by
/// doubling would be moved at each growth (the allocator keeps the old blocks for reuse), so
/// reading a refused endless device would hold several times the limit.
fn read_at_most(
    file: std::fs::File,
    size: Option<u64>,
    limit: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut reader = file.take(limit + 1);
    let bytes = match size.filter(|&s| s <= limit) {
        Some(size) => {
            let mut bytes = Vec::with_capacity(size as usize + 1);
            reader.read_to_end(&mut bytes)?;
            bytes
        }
        None => {
            let (mut chunks, mut total) = (Vec::new(), 0u64);
            loop {
                let mut chunk = Vec::with_capacity(CHUNK_BYTES as usize);
                let n = (&mut reader).take(CHUNK_BYTES).read_to_end(&mut chunk)?;
                total += n as u64;
                if n == 0 || total > limit {
                    break;
                }
                chunks.push(chunk);
            }
            if total > limit {
                return Ok(None);
            }
            chunks.concat()
        }
    };
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
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
