//! The heaccel accelerator as data: ISA v2 ([`isa`]), the hardware configuration
//! ([`config`], with `--set` overrides in [`config_override`]), the timing model over a
//! program or a stream ([`timing`]), the scratchpad allocator of whole programs ([`alloc`]),
//! the bit-exact functional executor ([`functional`]) and the work counts of a roofline
//! ([`work`]).

#![warn(missing_docs)]

pub mod alloc;
pub mod config;
pub mod config_override;
pub mod error;
pub mod functional;
pub mod isa;
pub mod timing;
pub mod work;

pub use alloc::{AllocOptions, AllocStats, Allocator, Sink};
pub use config::{HwConfig, HwConfigLiteral};
pub use config_override::{Override, OverrideError};
pub use error::{Result, SimError};
pub use functional::{FunctionalExecutor, Memory};
pub use isa::{Buffer, BufferRole, Instruction, PolyForm, Program, ISA_VERSION};
pub use timing::{simulate, CriticalPath, Scheduler, TimingReport, TrafficClass, Unit};
pub use work::{program_work, Work};
