//! `--shard I/N`: which of `N` shards this run is (`I` is 1-based, as Slurm array task ids).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ShardError;

/// Most shards one run may be split into.
pub const MAX_SHARDS: u32 = 100_000;

/// Shard `index` of `count`, `1 <= index <= count <= MAX_SHARDS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ShardSpec {
    /// 1-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl ShardSpec {
    /// Shard `index` of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        let given = format!("{index}/{count}");
        check(index, count, &given)
    }

    /// The whole run as one shard (`1/1`).
    pub fn whole() -> Self {
        ShardSpec { index: 1, count: 1 }
    }

    /// 0-based position, `index - 1`.
    pub fn position(self) -> usize {
        self.index as usize - 1
    }
}

fn check(index: u32, count: u32, given: &str) -> Result<ShardSpec, ShardError> {
    let problem = if count == 0 {
        "N must be at least 1"
    } else if count > MAX_SHARDS {
        "N is above 100000"
    } else if index == 0 {
        "I counts from 1"
    } else if index > count {
        "I is larger than N"
    } else {
        return Ok(ShardSpec { index, count });
    };
    Err(ShardError::Spec {
        given: given.to_string(),
        problem,
    })
}

impl FromStr for ShardSpec {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Self, ShardError> {
        let malformed = |problem| ShardError::Spec {
            given: s.to_string(),
            problem,
        };
        let (i, n) = s.split_once('/').ok_or_else(|| malformed("no `/`"))?;
        let i = i
            .trim()
            .parse::<u32>()
            .map_err(|_| malformed("I is not a whole number"))?;
        let n = n
            .trim()
            .parse::<u32>()
            .map_err(|_| malformed("N is not a whole number"))?;
        check(i, n, s)
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
