//! Partial results: what one shard writes, in JSON lines.
//!
//! Line 1 is the [`PartialHeader`] (the run's kind, heaccel version, job hash, this shard, the
//! item positions it owns, and the context the merge needs); every further line is one item's
//! result, `{"index": POSITION, "row": ...}`, in the order of `items`. The file is written to a
//! temporary name in its folder, synced and renamed, so a partial file that exists is whole.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{io, Result, ShardError};
use crate::spec::ShardSpec;

/// The `format` field of every header.
pub const FORMAT: &str = "heaccel-partial";
/// The `format_version` this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Largest partial file read (a sweep of 100,000 points is about 30 MB).
pub const MAX_PARTIAL_BYTES: u64 = 1 << 30;

/// The first line of a partial file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The command whose run this is: `sweep`, `accuracy`, `infer-boot`.
    pub kind: String,
    /// The heaccel version that wrote it.
    pub heaccel_version: String,
    /// [`job_hash`] of everything that decides the run's result.
    pub job_hash: String,
    /// This shard.
    pub shard: ShardSpec,
    /// Items of the whole run.
    pub total_items: usize,
    /// Positions of the items this shard ran, ascending.
    pub items: Vec<usize>,
    /// What the merge needs beyond the rows (titles, axes, settings), identical in every shard.
    pub context: Value,
}

/// A shard's results: the header and one row per owned item, in `header.items` order.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    /// The header.
    pub header: PartialHeader,
    /// `(position, result)` per item.
    pub rows: Vec<(usize, Value)>,
}

/// The SHA-256 (hex) of `job`'s JSON text. `serde_json` writes object keys sorted, so equal
/// values hash equally.
pub fn job_hash(job: &Value) -> String {
    let digest = Sha256::digest(job.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    index: usize,
    row: Value,
}

impl PartialHeader {
    /// A header of the current format and heaccel version.
    pub fn new(
        kind: &str,
        job_hash: String,
        shard: ShardSpec,
        total_items: usize,
        items: Vec<usize>,
        context: Value,
    ) -> Self {
        PartialHeader {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            kind: kind.into(),
            heaccel_version: crate::HEACCEL_VERSION.into(),
            job_hash,
            shard,
            total_items,
            items,
            context,
        }
    }

    /// The file name of this shard's partial: `{kind}.shard-{I}-of-{N}.partial.jsonl`.
    pub fn file_name(&self) -> String {
        file_name(&self.kind, self.shard)
    }
}

/// `{kind}.shard-{I}-of-{N}.partial.jsonl`.
pub fn file_name(kind: &str, shard: ShardSpec) -> String {
    format!(
        "{kind}.shard-{}-of-{}.partial.jsonl",
        shard.index, shard.count
    )
}

impl Partial {
    /// The JSON-lines text.
    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string(&self.header).expect("a header serializes");
        s.push('\n');
        for (index, row) in &self.rows {
            let line = Line {
                index: *index,
                row: row.clone(),
            };
            s.push_str(&serde_json::to_string(&line).expect("a row serializes"));
            s.push('\n');
        }
        s
    }

    /// Writes the file into `dir` (created if missing) under [`PartialHeader::file_name`]:
    /// a temporary file in `dir`, synced, then renamed. Returns the path.
    pub fn write_into(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(self.header.file_name());
        heaccel_files::write_whole(&path, &self.to_text())?;
        Ok(path)
    }

    /// Reads and checks a partial file: the header's format, rows matching `items` one for one.
    pub fn read(path: &Path) -> Result<Partial> {
        let size = std::fs::metadata(path).map_err(io(path))?.len();
        if size > MAX_PARTIAL_BYTES {
            return Err(malformed(path, 1, format!("{size} bytes; at most 1 GiB")));
        }
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Partial::parse(&text, path)
    }

    /// Parses a partial file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Partial> {
        let mut lines = text.lines().enumerate();
        let (_, first) = lines
            .next()
            .ok_or_else(|| malformed(path, 1, "empty file; expected a header line".into()))?;
        let header: PartialHeader = serde_json::from_str(first).map_err(|e| {
            malformed(
                path,
                1,
                format!(
                    "not a partial-result header ({e}); expected the first line a shard writes"
                ),
            )
        })?;
        if header.format != FORMAT || header.format_version != FORMAT_VERSION {
            return Err(malformed(
                path,
                1,
                format!(
                    "format `{}` version {}; this heaccel reads `{FORMAT}` version {FORMAT_VERSION}",
                    header.format, header.format_version
                ),
            ));
        }
        ShardSpec::new(header.shard.index, header.shard.count)
            .map_err(|e| malformed(path, 1, format!("field `shard`: {e}")))?;
        if let Some(&bad) = header.items.iter().find(|&&i| i >= header.total_items) {
            return Err(malformed(
                path,
                1,
                format!(
                    "field `items`: position {bad} is not below total_items {}",
                    header.total_items
                ),
            ));
        }
        if header.items.windows(2).any(|w| w[0] >= w[1]) {
            return Err(malformed(
                path,
                1,
                "field `items`: positions must be ascending without repeats".into(),
            ));
        }
        let mut rows = Vec::with_capacity(header.items.len());
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let Line { index, row } = serde_json::from_str(line).map_err(|e| {
                malformed(
                    path,
                    n + 1,
                    format!("expected {{\"index\": N, \"row\": ...}} ({e})"),
                )
            })?;
            let expected = header.items.get(rows.len()).copied();
            if expected != Some(index) {
                return Err(malformed(
                    path,
                    n + 1,
                    match expected {
                        Some(e) => format!("row of item {index}; expected item {e}"),
                        None => format!("row of item {index} beyond the header's items"),
                    },
                ));
            }
            rows.push((index, row));
        }
        if rows.len() != header.items.len() {
            return Err(malformed(
                path,
                text.lines().count(),
                format!(
                    "{} rows for {} items: the file is truncated",
                    rows.len(),
                    header.items.len()
                ),
            ));
        }
        Ok(Partial { header, rows })
    }

    /// The partial already in `dir` for `shard` of the job `job_hash`, if a whole one is
    /// there (a rerun skips that shard); `None` if absent or from another job.
    pub fn existing(dir: &Path, kind: &str, shard: ShardSpec, job_hash: &str) -> Option<Partial> {
        let path = dir.join(file_name(kind, shard));
        let p = Partial::read(&path).ok()?;
        (p.header.job_hash == job_hash
            && p.header.kind == kind
            && p.header.heaccel_version == crate::HEACCEL_VERSION)
            .then_some(p)
    }
}

fn malformed(path: &Path, line: usize, problem: String) -> ShardError {
    ShardError::Malformed {
        path: path.to_path_buf(),
        line,
        problem,
    }
}
