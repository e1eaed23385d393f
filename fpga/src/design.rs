//! The designs the FPGA flows build: Verilog text, top module name, and the blocks whose
//! resources are reported separately.

use rust_hdl::prelude::*;

use heaccel_hdl::core::{block_instances, core_verilog, CoreGeometry, TOP_MODULE};
use heaccel_hdl::netlist::{share_identical_modules, within_instance};
use heaccel_hdl::Prime;
use heaccel_verification::arith::ntt_primes;

use crate::datapath::Datapath;
use crate::FpgaError;

/// Which design to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesignKind {
    /// The verified hdl/ blocks side by side ([`Datapath`]): NTT unit of `P` butterflies,
    /// `P` element-wise multiplier lanes, automorphism unit of `P` lanes.
    Datapath,
    /// The accelerator core (`heaccel_hdl::core`, top module `TOP_MODULE`): per prime one NTT
    /// unit of `P` butterflies and `2P` element-wise lanes, one automorphism unit of `2P`
    /// lanes, `slots` scratchpad slots of `N` words, the instruction queue
    /// (`CoreGeometry::DEFAULT_QUEUE` entries), register file and AXI4-Stream ports.
    Core {
        /// Primes (limbs) baked in, `[1, 16]`: the design's prime `q` first, then the largest
        /// other 30-bit primes `= 1 mod 2N`.
        primes: usize,
        /// Scratchpad slots, `[1, 256]`.
        slots: usize,
    },
}

impl DesignKind {
    /// Short name, as on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            DesignKind::Datapath => "datapath",
            DesignKind::Core { .. } => "core",
        }
    }
}

/// The primes of a core: `q` first, then the largest other 30-bit primes `= 1 mod 2N`
/// (`count` in all).
pub fn core_primes(log_n: u32, q: u64, count: usize) -> Result<Vec<u64>, FpgaError> {
    if !(1..=CoreGeometry::MAX_PRIMES).contains(&count) {
        return Err(FpgaError::Parameter {
            field: "--primes",
            value: count.to_string(),
            expected: format!("a core holds 1 to {} primes", CoreGeometry::MAX_PRIMES),
        });
    }
    let mut primes = vec![q];
    primes.extend(ntt_primes(30, log_n, count - 1, &[q]).map_err(|reason| {
        FpgaError::NotEnoughPrimes {
            field: "--primes",
            count,
            log_n,
            reason,
        }
    })?);
    Ok(primes)
}

/// Size of a design: `N = 2^log_n`, `lanes` = `P`, prime `q = 1 mod 2N` below `2^30`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DesignParams {
    /// log2(N), in [2, 16] (the NTT unit needs `N >= 4P`).
    pub log_n: u32,
    /// Lanes `P`, a power of two in [1, 128].
    pub lanes: usize,
    /// The prime baked into the blocks.
    pub q: u64,
}

impl DesignParams {
    /// Parameters with the default prime: the largest 30-bit prime `= 1 mod 2N`.
    pub fn with_default_prime(log_n: u32, lanes: usize) -> Result<Self, FpgaError> {
        if !(2..=16).contains(&log_n) {
            return Err(FpgaError::Parameter {
                field: "--log-n",
                value: log_n.to_string(),
                expected: "allowed range is [2, 16]".into(),
            });
        }
        let q = ntt_primes(30, log_n, 1, &[])
            .map_err(|reason| FpgaError::NoPrime { log_n, reason })?[0];
        Ok(DesignParams { log_n, lanes, q })
    }
}

/// One block of a design: its instance name under the top module. Its resources are those
/// of every module whose name is `top$INSTANCE` or starts with `top$INSTANCE$` (rust-hdl
/// names modules by instance path; shared modules keep the name of their first instance, and
/// sharing never crosses blocks), times its instance count, so the top module's own cells
/// are the glue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInstance {
    /// Name shown in reports, e.g. `ntt`; instances with one label are reported together
    /// (e.g. every `modmul lanes` instance).
    pub label: String,
    /// Instance name under the top module, e.g. `ntt`, `mm$3`.
    pub instance: String,
}

impl BlockInstance {
    /// `true` when the module named `module` belongs to this block.
    pub fn owns(&self, top: &str, module: &str) -> bool {
        within_instance(module, &format!("{top}${}", self.instance))
    }
}

/// A built design.
#[derive(Clone, Debug)]
pub struct Design {
    /// What was built.
    pub kind: DesignKind,
    /// Its size.
    pub params: DesignParams,
    /// Top module name.
    pub top: String,
    /// The Verilog: rust-hdl's modules with identical copies shared within each block
    /// ([`share_identical_modules`]), so a module may have many instances.
    pub verilog: String,
    /// The blocks reported separately, in order.
    pub blocks: Vec<BlockInstance>,
    /// Modules rust-hdl emitted (one per instance) and modules kept after sharing.
    pub modules: (usize, usize),
}

impl Design {
    /// The label of the block owning module `module` (`glue` for the top's own modules).
    pub fn owner(&self, module: &str) -> &str {
        self.blocks
            .iter()
            .find(|b| b.owns(&self.top, module))
            .map_or("glue", |b| b.label.as_str())
    }
}

/// Builds the design's Verilog.
pub fn build_design(kind: DesignKind, params: &DesignParams) -> Result<Design, FpgaError> {
    let q = Prime::new(params.q).map_err(|reason| FpgaError::InvalidPrime {
        field: "--q",
        reason,
    })?;
    // rust-hdl's netlist (one module per instance), its top and its blocks.
    let (emitted, top, blocks) = match kind {
        DesignKind::Datapath => {
            let mut dp =
                Datapath::new(q, params.log_n, params.lanes).map_err(FpgaError::Datapath)?;
            dp.connect_all();
            let verilog = generate_verilog(&dp);
            let mut blocks = vec![BlockInstance {
                label: "ntt".into(),
                instance: "ntt".into(),
            }];
            blocks.extend((0..params.lanes).map(|k| BlockInstance {
                label: "modmul lanes".into(),
                instance: format!("mm${k}"),
            }));
            blocks.push(BlockInstance {
                label: "automorph".into(),
                instance: "aut".into(),
            });
            (verilog, "top", blocks)
        }
        DesignKind::Core { primes, slots } => {
            let primes = core_primes(params.log_n, params.q, primes)?;
            let geo = CoreGeometry::new(
                params.log_n,
                params.lanes,
                &primes,
                slots,
                CoreGeometry::DEFAULT_QUEUE,
            )
            .map_err(FpgaError::Core)?;
            // Shared below by block label: the grouping of `shared_core_verilog` (block
            // kinds), so the text is the same.
            let verilog = core_verilog(&geo).map_err(FpgaError::Core)?;
            let prefix = format!("{TOP_MODULE}$");
            let blocks = block_instances(&geo)
                .into_iter()
                .map(|(name, kind)| BlockInstance {
                    label: match kind {
                        "ntt" => "ntt units",
                        "ew_lane" => "ew lanes",
                        "bconv" => "bconv units",
                        other => other,
                    }
                    .into(),
                    instance: name
                        .strip_prefix(&prefix)
                        .expect("block_instances names start with the top module")
                        .to_string(),
                })
                .collect();
            (verilog, TOP_MODULE, blocks)
        }
    };
    let mut design = Design {
        kind,
        params: *params,
        top: top.into(),
        verilog: String::new(),
        blocks,
        modules: (0, 0),
    };
    let shared = share_identical_modules(&emitted, |m| design.owner(m).to_string())
        .map_err(FpgaError::Netlist)?;
    design.verilog = shared.verilog;
    design.modules = (shared.modules_before, shared.modules_after);
    Ok(design)
}

/// One line naming a design: kind, top module, `N`, `P`, the prime and, for the core, its
/// primes and slots (the Verilog file's first line).
pub fn describe(d: &Design) -> String {
    let core = match d.kind {
        DesignKind::Datapath => String::new(),
        DesignKind::Core { primes, slots } => {
            format!(" (first of {primes} primes), {slots} slots")
        }
    };
    format!(
        "heaccel {} design (top module `{}`): N = 2^{}, P = {} lanes, q = {}{core}",
        d.kind.name(),
        d.top,
        d.params.log_n,
        d.params.lanes,
        d.params.q
    )
}
