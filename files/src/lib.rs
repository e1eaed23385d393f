//! Result files written whole or not at all, sets of files all or none, and only to regular
//! files: a device, FIFO, symlink or folder given as an output is refused, never replaced.
//! Output folders can be checked before the work starts ([`check_output_dir`]).
//!
//! A file is written to a temporary file beside it, synced, then renamed over it (and removed
//! again if anything fails), so a file that exists is complete. The CLI, the FPGA flows and
//! the shards' partial results all write through here.

#![warn(missing_docs)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why an output was refused or not written. Messages name the path.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The output exists and is not a regular file.
    #[error(
        "{}: exists and is not a regular file (a folder, device, FIFO or symlink); heaccel \
         writes results only to regular files",
        path.display()
    )]
    NotRegularFile {
        /// The output.
        path: PathBuf,
    },
    /// The output's folder does not exist.
    #[error("{}: the folder {} does not exist", path.display(), folder.display())]
    NoFolder {
        /// The output.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
    },
    /// An output folder, or one of its ancestors, exists and is not a folder.
    #[error("output folder {}: {} exists and is not a folder", dir.display(), blocker.display())]
    NotAFolder {
        /// The output folder.
        dir: PathBuf,
        /// The existing non-folder on its path.
        blocker: PathBuf,
    },
    /// A path without a file name (`..`, `/`).
    #[error("{}: not a file name", path.display())]
    NotAFileName {
        /// The output.
        path: PathBuf,
    },
    /// A folder could not be created.
    #[error("cannot create {}", path.display())]
    CreateFolder {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written (nothing is left of it).
    #[error("cannot write {}", path.display())]
    Write {
        /// The output.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, WriteError>;

/// Refuses `path` as an output file when it exists and is not a regular file (not followed:
/// a symlink is refused too), or when its folder does not exist or is not a folder.
pub fn check_output_file(path: &Path) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_file() {
            return Err(WriteError::NotRegularFile {
                path: path.to_path_buf(),
            });
        }
    }
    let folder = parent_of(path);
    if !folder.is_dir() {
        return Err(WriteError::NoFolder {
            path: path.to_path_buf(),
            folder,
        });
    }
    Ok(())
}

/// Checks that `dir` can hold outputs: a folder, or missing with an existing folder as its
/// nearest existing ancestor (it is created when written). Call it before the work.
pub fn check_output_dir(dir: &Path) -> Result<()> {
    let mut probe = Some(dir);
    while let Some(p) = probe {
        match std::fs::metadata(p) {
            Ok(meta) if meta.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(WriteError::NotAFolder {
                    dir: dir.to_path_buf(),
                    blocker: p.to_path_buf(),
                })
            }
            Err(_) => probe = p.parent().filter(|q| !q.as_os_str().is_empty()),
        }
    }
    Ok(())
}

/// [`check_output_dir`] of `dir` and [`check_output_file`] of each of `names` in it: the
/// checks of a multi-file output, before the work.
pub fn check_outputs(dir: &Path, names: &[&str]) -> Result<()> {
    check_output_dir(dir)?;
    names.iter().try_for_each(|n| check_output_file_in(dir, n))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `text` to `path` whole or not at all: a temporary file in the same folder, synced,
/// then renamed over `path`; removed again if anything fails. Refuses what
/// [`check_output_file`] refuses.
pub fn write_whole(path: &Path, text: &str) -> Result<()> {
    check_output_file(path)?;
    let name = path.file_name().ok_or_else(|| WriteError::NotAFileName {
        path: path.to_path_buf(),
    })?;
    let tmp = parent_of(path).join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(WriteError::Write {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

/// Writes `files` (`(name, text)`) into `dir` (created if missing), all or none: each is
/// written into a staging folder inside `dir`, and only when every one succeeded are they
/// renamed into place. Returns the paths, in the order of `files`.
pub fn write_all_or_nothing(dir: &Path, files: &[(&str, String)]) -> Result<Vec<PathBuf>> {
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    check_outputs(dir, &names)?;
    std::fs::create_dir_all(dir).map_err(|source| WriteError::CreateFolder {
        path: dir.to_path_buf(),
        source,
    })?;
    let staging = dir.join(format!(".heaccel-staging-{}", std::process::id()));
    let staged = (|| -> Result<()> {
        std::fs::create_dir_all(&staging).map_err(|source| WriteError::CreateFolder {
            path: staging.clone(),
            source,
        })?;
        for (name, text) in files {
            let write_error = |source| WriteError::Write {
                path: dir.join(name),
                source,
            };
            let mut f = std::fs::File::create(staging.join(name)).map_err(write_error)?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(write_error)?;
        }
        Ok(())
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let mut written = Vec::new();
    for (name, _) in files {
        let target = dir.join(name);
        if let Err(source) = std::fs::rename(staging.join(name), &target) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(WriteError::Write {
                path: target,
                source,
            });
        }
        written.push(target);
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(written)
}

/// [`check_output_file`] of `dir/name` when `dir` exists (a missing folder holds nothing).
fn check_output_file_in(dir: &Path, name: &str) -> Result<()> {
    if dir.is_dir() {
        check_output_file(&dir.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("heaccel-output-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    #[test]
    fn non_regular_targets_are_refused_and_left_alone() {
        let d = temp("special");
        let folder = d.join("folder");
        std::fs::create_dir(&folder).unwrap();
        let e = write_whole(&folder, "x").unwrap_err();
        assert!(
            matches!(&e, WriteError::NotRegularFile { path } if *path == folder),
            "{e:?}"
        );
        assert!(e.to_string().contains("is not a regular file"), "{e}");
        assert!(folder.is_dir());
        #[cfg(unix)]
        {
            let target = d.join("target.txt");
            std::fs::write(&target, "keep").unwrap();
            let link = d.join("link.txt");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let e = write_whole(&link, "x").unwrap_err().to_string();
            assert!(e.contains("is not a regular file"), "{e}");
            assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
            assert!(std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
            let e = write_whole(Path::new("/dev/null"), "x")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("/dev/null: exists and is not a regular file"),
                "{e}"
            );
        }
        let e = write_whole(&d.join("missing/x.json"), "x").unwrap_err();
        assert!(
            matches!(&e, WriteError::NoFolder { folder, .. } if *folder == d.join("missing")),
            "{e:?}"
        );
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(leftovers(&d).is_empty());
    }

    #[test]
    fn files_are_replaced_whole() {
        let d = temp("whole");
        let f = d.join("r.json");
        write_whole(&f, "one").unwrap();
        write_whole(&f, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "two");
        assert!(leftovers(&d).is_empty());
    }

    #[test]
    fn a_set_of_files_is_written_all_or_none() {
        let d = temp("set");
        // the second name is a folder: nothing is written, nothing staged is left
        std::fs::create_dir(d.join("b.svg")).unwrap();
        let e = write_all_or_nothing(&d, &[("a.csv", "a".into()), ("b.svg", "b".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.svg: exists and is not a regular file"), "{e}");
        assert!(!d.join("a.csv").exists());
        assert!(leftovers(&d).is_empty());
        let out = d.join("new/deeper");
        let files =
            write_all_or_nothing(&out, &[("a.csv", "a".into()), ("c", "c".into())]).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(std::fs::read_to_string(out.join("c")).unwrap(), "c");
        assert!(leftovers(&out).is_empty());
        let file = d.join("plain");
        std::fs::write(&file, "").unwrap();
        let e = check_output_dir(&file.join("sub")).unwrap_err();
        assert!(
            matches!(&e, WriteError::NotAFolder { blocker, .. } if *blocker == file),
            "{e:?}"
        );
        assert!(e.to_string().contains("exists and is not a folder"), "{e}");
    }
}
