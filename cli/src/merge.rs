//! `heaccel merge`: the partial results of a sharded run put back into exactly what the
//! unsharded run writes.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

/// Arguments of `heaccel merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Folders of partial results (their `*.partial.jsonl` files) or partial files.
    #[arg(required = true, value_name = "DIR")]
    pub inputs: Vec<PathBuf>,
    /// Folder for the merged outputs (those of the unsharded run).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// What `heaccel merge` did.
#[derive(Debug, Serialize)]
pub struct MergeReport {
    /// The command whose run was merged.
    pub kind: String,
    /// Its job hash.
    pub job_hash: String,
    /// Shards merged.
    pub shards: u32,
    /// Items (grid points, images).
    pub items: usize,
    /// Outputs written.
    pub files: Vec<PathBuf>,
}

/// Runs `heaccel merge`: reads and checks every partial, then writes the outputs of the run's
/// command (all of them or none).
pub fn merge_command(args: &MergeArgs) -> Result<MergeReport> {
    crate::output::check_output_dir(&args.out).context("--out")?;
    let merged = heaccel_shard::merge::merge_inputs(&args.inputs)?;
    let items = merged.rows.len();
    let files = match merged.kind.as_str() {
        crate::sweep::SHARD_KIND => {
            crate::sweep::finish_merged(&merged.context, merged.rows, &args.out)?.1
        }
        crate::accuracy::SHARD_KIND => {
            crate::accuracy::finish_merged(&merged.context, merged.rows, &args.out)?.1
        }
        crate::infer_boot::SHARD_KIND => {
            crate::infer_boot::finish_merged(&merged.context, merged.rows, &args.out)?.1
        }
        other => bail!(
            "{}: partial results of `{other}`, which heaccel cannot merge (sweep, accuracy, \
             infer-boot)",
            merged.files[0].display()
        ),
    };
    Ok(MergeReport {
        kind: merged.kind,
        job_hash: merged.job_hash,
        shards: merged.shards,
        items,
        files,
    })
}

/// The readable summary.
pub fn format_merge(r: &MergeReport) -> String {
    let mut s = format!(
        "merged {} shards of the {} run ({} items)\n",
        r.shards, r.kind, r.items
    );
    for f in &r.files {
        s.push_str(&format!("wrote {}\n", f.display()));
    }
    s
}
