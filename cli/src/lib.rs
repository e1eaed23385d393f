//! The library behind the `heaccel` command: each subcommand's work as a function that
//! returns a serializable report, so that tests can check it without a terminal.

#![warn(missing_docs)]

pub mod accuracy;
pub mod approx;
pub mod bootstrap;
pub mod ckks_report;
pub mod config_args;
pub mod corerun;
pub mod distribute;
pub mod fpga;
pub mod help;
pub mod infer;
pub mod infer_boot;
pub mod input;
pub mod mainjob;
pub mod merge;
pub mod network;
pub mod output;
pub mod params_file;
pub mod plot;
pub mod progress;
pub mod rtl;
pub mod simboot;
pub mod simulate;
pub mod sweep;
pub mod tradeoff;
pub mod train;
pub mod waveform;
