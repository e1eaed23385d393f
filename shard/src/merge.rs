//! Merging the partial results of one run: every shard exactly once, every item exactly once,
//! nothing mixed from another run; rows back in item order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{io, Result, ShardError};
use crate::partial::Partial;

/// A run put back together from its shards.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// The command (`sweep`, `accuracy`, `infer-boot`).
    pub kind: String,
    /// The job hash every shard carried.
    pub job_hash: String,
    /// The shards' common context.
    pub context: Value,
    /// How many shards the run was split into.
    pub shards: u32,
    /// One result per item, by position.
    pub rows: Vec<Value>,
    /// The partial files read, by shard.
    pub files: Vec<PathBuf>,
}

/// The partial files among `inputs`: a file is taken as given, a folder contributes its
/// `*.partial.jsonl` files (not recursively), sorted by name.
pub fn partial_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(io(input))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(io(input))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(".partial.jsonl") && !n.starts_with('.'))
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        return Err(ShardError::Empty {
            folders: inputs.to_vec(),
        });
    }
    Ok(files)
}

/// Reads the partial files among `inputs` (see [`partial_files`]) and merges them.
pub fn merge_inputs(inputs: &[PathBuf]) -> Result<Merged> {
    let files = partial_files(inputs)?;
    let partials = files
        .iter()
        .map(|f| Partial::read(f).map(|p| (f.clone(), p)))
        .collect::<Result<Vec<_>>>()?;
    merge(partials)
}

/// Merges `(file, partial)` pairs of one run. Refuses partials of different kinds, jobs,
/// heaccel versions, shard counts or contexts (naming the odd file), a shard present twice
/// (naming both files), missing shards (naming them), and items run twice or never.
pub fn merge(partials: Vec<(PathBuf, Partial)>) -> Result<Merged> {
    let Some((first_path, first)) = partials.first() else {
        return Err(ShardError::Empty {
            folders: Vec::new(),
        });
    };
    let h = &first.header;
    let _ = first_path;
    for (path, p) in &partials[1..] {
        let q = &p.header;
        let checks: [(&'static str, String, String); 5] = [
            ("kind", q.kind.clone(), h.kind.clone()),
            (
                "heaccel version",
                q.heaccel_version.clone(),
                h.heaccel_version.clone(),
            ),
            ("job hash", q.job_hash.clone(), h.job_hash.clone()),
            (
                "shard count",
                q.shard.count.to_string(),
                h.shard.count.to_string(),
            ),
            (
                "total items",
                q.total_items.to_string(),
                h.total_items.to_string(),
            ),
        ];
        for (field, found, expected) in checks {
            if found != expected {
                return Err(mixed(path, field, found, expected));
            }
        }
        if q.context != h.context {
            return Err(mixed(
                path,
                "context",
                "a different one".into(),
                "another".into(),
            ));
        }
    }
    let count = h.shard.count;
    let mut by_shard: BTreeMap<u32, (&Path, &Partial)> = BTreeMap::new();
    for (path, p) in &partials {
        if let Some((other, _)) = by_shard.insert(p.header.shard.index, (path, p)) {
            return Err(ShardError::Incomplete {
                problem: format!(
                    "shard {}/{count} is there twice: {} and {}",
                    p.header.shard.index,
                    other.display(),
                    path.display()
                ),
            });
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_shard.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(ShardError::Incomplete {
            problem: format!(
                "{} of {count} shards missing: {} (rerun each with --shard I/N, then merge again)",
                missing.len(),
                missing.join(", ")
            ),
        });
    }
    let mut rows: Vec<Option<Value>> = vec![None; h.total_items];
    for (path, p) in by_shard.values() {
        for (index, row) in &p.rows {
            if rows[*index].replace(row.clone()).is_some() {
                return Err(ShardError::Incomplete {
                    problem: format!(
                        "item {index} is in two shards (one of them {}): the shards were not \
                         made by one split",
                        path.display()
                    ),
                });
            }
        }
    }
    if let Some(gap) = rows.iter().position(Option::is_none) {
        return Err(ShardError::Incomplete {
            problem: format!("item {gap} is in no shard: the shards were not made by one split"),
        });
    }
    Ok(Merged {
        kind: h.kind.clone(),
        job_hash: h.job_hash.clone(),
        context: h.context.clone(),
        shards: count,
        rows: rows.into_iter().map(|r| r.expect("checked")).collect(),
        files: by_shard.values().map(|(f, _)| f.to_path_buf()).collect(),
    })
}

fn mixed(path: &Path, field: &'static str, found: String, expected: String) -> ShardError {
    ShardError::Mixed {
        path: path.to_path_buf(),
        field,
        found,
        expected,
    }
}
