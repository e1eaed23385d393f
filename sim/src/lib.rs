//! The heaccel accelerator as data: ISA v1 ([`isa`]), and (in progress) the hardware
//! configuration, timing model and functional executor.

pub mod config;
pub mod error;
pub mod functional;
pub mod isa;
pub mod timing;
pub mod work;

pub use config::HwConfig;
pub use error::{Result, SimError};
pub use functional::{FunctionalExecutor, Memory};
pub use isa::{Buffer, BufferRole, Instruction, PolyForm, Program, ISA_VERSION};
pub use timing::{simulate, TimingReport, Unit};
pub use work::{program_work, Work};
