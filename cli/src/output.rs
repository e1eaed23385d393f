//! Writing results: every file whole or not at all, several files all or none, and only to
//! regular files, by [`heaccel_files`] (shared with the FPGA flows and the shards). Output
//! folders are checked before the work starts ([`check_output_dir`]).

pub use heaccel_files::{
    check_output_dir, check_output_file, check_outputs, write_all_or_nothing, write_whole,
};
