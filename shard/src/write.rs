//! Files written whole: a temporary file beside the target, synced, then renamed over it (and
//! removed again if anything fails), so a file that exists is complete.

use std::io::Write as _;
use std::path::Path;

use crate::error::{io, Result};

/// Writes `text` to `path` whole or not at all.
pub(crate) fn write_whole(path: &Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    Ok(())
}
