//! Work beyond one machine: a run's items (grid points, images) split into `N` deterministic,
//! cost-balanced shards ([`partition()`]), each shard's results written as a self-describing
//! partial file ([`partial`]), partial files merged back into exactly what the unsharded run
//! produces ([`merge`]), and Slurm job-array scripts that run one shard per task ([`slurm`]).
//!
//! The crate knows nothing of what the items are: the command that owns them (`heaccel sweep`,
//! `accuracy`, `infer-boot`) estimates their costs, names its kind and its job (a hash of
//! everything that decides the result), and turns merged rows back into its own outputs.

#![warn(missing_docs)]

mod error;
pub mod merge;
pub mod partial;
pub mod partition;
pub mod slurm;
mod spec;

pub use error::ShardError;
pub use partial::{job_hash, Partial, PartialHeader};
pub use partition::{partition, Item};
pub use spec::{ShardSpec, MAX_SHARDS};

/// The heaccel version partial files are stamped with (every crate of the workspace shares it).
pub const HEACCEL_VERSION: &str = env!("CARGO_PKG_VERSION");
