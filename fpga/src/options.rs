//! The design options of `heaccel fpga build` and `estimate` ([`DesignOptions`]), checked
//! into a design's parameters ([`DesignOptions::params`]), and the four files of a design
//! with the command that regenerates them ([`design_files`], [`build_files`]).

use std::path::Path;

use crate::design::{build_design, describe, Design, DesignKind, DesignParams};
use crate::flow::{self, Target};
use crate::FpgaError;

/// Which design (`--design`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesignChoice {
    /// The hdl/ blocks side by side ([`DesignKind::Datapath`]).
    Datapath,
    /// The accelerator core ([`DesignKind::Core`]).
    Core,
}

/// Defaults of the core's primes and slots (the two-limb program uses 4 slots).
pub const CORE_PRIMES: usize = 2;
/// Default scratchpad slots of the core.
pub const CORE_SLOTS: usize = 4;

/// The design options of `heaccel fpga build` and `estimate` (`--design`, `--lanes`,
/// `--log-n`, `--clock-mhz`, `--q`, `--primes`, `--slots`), unchecked: errors name them.
#[derive(Clone, Debug, PartialEq)]
pub struct DesignOptions {
    /// The design.
    pub design: DesignChoice,
    /// Lanes P: a power of two in [1, 128] with N >= 4P.
    pub lanes: u32,
    /// log2(N), in [2, 16].
    pub log_n: u32,
    /// Core clock in MHz, in [1, 1000].
    pub clock_mhz: f64,
    /// The prime (`None`: the largest 30-bit prime = 1 mod 2N); the core's first prime.
    pub q: Option<u64>,
    /// Primes of the core, in [1, 16] (`None`: [`CORE_PRIMES`]). Core only.
    pub primes: Option<usize>,
    /// Scratchpad slots of the core, in [1, 256] (`None`: [`CORE_SLOTS`]). Core only.
    pub slots: Option<usize>,
}

impl DesignOptions {
    /// The design kind with its parameters; primes and slots are refused for the datapath.
    pub fn kind(&self) -> Result<DesignKind, FpgaError> {
        match self.design {
            DesignChoice::Datapath => {
                if let Some(m) = self.primes {
                    return Err(FpgaError::Parameter {
                        field: "--primes",
                        value: m.to_string(),
                        expected: "only for --design core (the datapath has one prime)".into(),
                    });
                }
                if let Some(s) = self.slots {
                    return Err(FpgaError::Parameter {
                        field: "--slots",
                        value: s.to_string(),
                        expected: "only for --design core (the datapath has no scratchpad)".into(),
                    });
                }
                Ok(DesignKind::Datapath)
            }
            DesignChoice::Core => Ok(DesignKind::Core {
                primes: self.primes.unwrap_or(CORE_PRIMES),
                slots: self.slots.unwrap_or(CORE_SLOTS),
            }),
        }
    }

    /// `--design NAME` and, for the core, `--primes M --slots S`, as on the command line.
    pub fn design_flags(&self) -> Result<String, FpgaError> {
        Ok(match self.kind()? {
            DesignKind::Datapath => "--design datapath".to_string(),
            DesignKind::Core { primes, slots } => {
                format!("--design core --primes {primes} --slots {slots}")
            }
        })
    }

    /// The design's parameters at `lanes` lanes (the options' or an estimate's second
    /// count), every option checked: errors ([`FpgaError::Parameter`]) name the option, the
    /// value and the allowed range.
    pub fn params(&self, lanes: u32) -> Result<DesignParams, FpgaError> {
        let bad = |field: &'static str, value: String, expected: String| FpgaError::Parameter {
            field,
            value,
            expected,
        };
        if let DesignKind::Core { primes, slots } = self.kind()? {
            if !(1..=16).contains(&primes) {
                return Err(bad(
                    "--primes",
                    primes.to_string(),
                    "a core holds 1 to 16 primes".into(),
                ));
            }
            if !(1..=256).contains(&slots) {
                return Err(bad(
                    "--slots",
                    slots.to_string(),
                    "allowed range is [1, 256]".into(),
                ));
            }
        }
        if !lanes.is_power_of_two() || lanes > 128 {
            return Err(bad(
                "--lanes",
                lanes.to_string(),
                "must be a power of two in [1, 128]".into(),
            ));
        }
        if !(2..=16).contains(&self.log_n) {
            return Err(bad(
                "--log-n",
                self.log_n.to_string(),
                "allowed range is [2, 16]".into(),
            ));
        }
        if 4 * lanes as u64 > 1u64 << self.log_n {
            return Err(bad(
                "--lanes",
                lanes.to_string(),
                format!(
                    "the NTT unit needs N >= 4P (N = 2^{} allows at most {})",
                    self.log_n,
                    (1u64 << self.log_n) / 4
                ),
            ));
        }
        flow::clock_period_ns(self.clock_mhz)?;
        let mut p = DesignParams::with_default_prime(self.log_n, lanes as usize)?;
        if let Some(q) = self.q {
            let two_n = 2u64 << self.log_n;
            if q % two_n != 1 {
                return Err(bad(
                    "--q",
                    q.to_string(),
                    format!("must be 1 mod 2N = {two_n} for --log-n {}", self.log_n),
                ));
            }
            p.q = q;
        }
        Ok(p)
    }
}

/// The `heaccel fpga build` command that writes the design of `o` at `p` for `target` into
/// `out` (the files' headers name it).
pub fn build_command(
    target: Target,
    o: &DesignOptions,
    p: &DesignParams,
    out: &Path,
) -> Result<String, FpgaError> {
    Ok(format!(
        "heaccel fpga build --target {} {} --lanes {} --log-n {} --clock-mhz {} --q {} \
         --out {}",
        target.name(),
        o.design_flags()?,
        p.lanes,
        p.log_n,
        o.clock_mhz,
        p.q,
        out.display()
    ))
}

/// The four files of a design for `target`, clocked at `clock_mhz`, each with a header
/// naming `command`: `(file name, text)`.
pub fn design_files(
    target: Target,
    clock_mhz: f64,
    design: &Design,
    command: &str,
) -> Result<Vec<(&'static str, String)>, FpgaError> {
    Ok(vec![
        (
            flow::VERILOG_FILE,
            flow::verilog_file(&describe(design), &design.verilog, command),
        ),
        (
            flow::VIVADO_FILE,
            flow::vivado_tcl(target, &design.top, command),
        ),
        (flow::XDC_FILE, flow::xdc(target, clock_mhz, command)?),
        (flow::YOSYS_FILE, flow::yosys_script(&design.top, command)),
    ])
}

/// `heaccel fpga build`: the options checked, the design built and its four files for
/// `target`, their headers naming the command that writes them into `out`.
pub fn build_files(
    target: Target,
    o: &DesignOptions,
    out: &Path,
) -> Result<Vec<(&'static str, String)>, FpgaError> {
    let p = o.params(o.lanes)?;
    let design = build_design(o.kind()?, &p)?;
    let command = build_command(target, o, &p, out)?;
    design_files(target, o.clock_mhz, &design, &command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datapath() -> DesignOptions {
        DesignOptions {
            design: DesignChoice::Datapath,
            lanes: 8,
            log_n: 12,
            clock_mhz: 300.0,
            q: None,
            primes: None,
            slots: None,
        }
    }

    fn core() -> DesignOptions {
        DesignOptions {
            design: DesignChoice::Core,
            ..datapath()
        }
    }

    /// The error of `o.params(lanes)`: its field, value and message.
    fn refused(o: &DesignOptions, lanes: u32) -> (&'static str, String, String) {
        match o.params(lanes) {
            Err(e @ FpgaError::Parameter { .. }) => {
                let message = e.to_string();
                let FpgaError::Parameter { field, value, .. } = e else {
                    unreachable!()
                };
                (field, value, message)
            }
            other => panic!("{lanes} lanes: expected a parameter error, got {other:?}"),
        }
    }

    #[test]
    fn params_check_every_option() {
        let p = datapath().params(8).unwrap();
        assert_eq!((p.log_n, p.lanes), (12, 8));
        assert_eq!(p.q % (2 << 12), 1);
        let cases: Vec<(DesignOptions, u32, &str, &str, &str)> = vec![
            (
                datapath(),
                3,
                "--lanes",
                "3",
                "--lanes 3: must be a power of two in [1, 128]",
            ),
            (
                datapath(),
                256,
                "--lanes",
                "256",
                "--lanes 256: must be a power of two in [1, 128]",
            ),
            (
                DesignOptions {
                    log_n: 6,
                    ..datapath()
                },
                32,
                "--lanes",
                "32",
                "--lanes 32: the NTT unit needs N >= 4P (N = 2^6 allows at most 16)",
            ),
            (
                DesignOptions {
                    log_n: 17,
                    ..datapath()
                },
                8,
                "--log-n",
                "17",
                "--log-n 17: allowed range is [2, 16]",
            ),
            (
                DesignOptions {
                    clock_mhz: 0.0,
                    ..datapath()
                },
                8,
                "--clock-mhz",
                "0",
                "--clock-mhz 0: allowed range is [1, 1000] MHz",
            ),
            (
                DesignOptions {
                    primes: Some(2),
                    ..datapath()
                },
                8,
                "--primes",
                "2",
                "--primes 2: only for --design core (the datapath has one prime)",
            ),
            (
                DesignOptions {
                    slots: Some(4),
                    ..datapath()
                },
                8,
                "--slots",
                "4",
                "--slots 4: only for --design core (the datapath has no scratchpad)",
            ),
            (
                DesignOptions {
                    primes: Some(17),
                    ..core()
                },
                8,
                "--primes",
                "17",
                "--primes 17: a core holds 1 to 16 primes",
            ),
            (
                DesignOptions {
                    slots: Some(0),
                    ..core()
                },
                8,
                "--slots",
                "0",
                "--slots 0: allowed range is [1, 256]",
            ),
            (
                DesignOptions {
                    q: Some(12),
                    ..datapath()
                },
                8,
                "--q",
                "12",
                "--q 12: must be 1 mod 2N = 8192 for --log-n 12",
            ),
        ];
        for (o, lanes, field, value, message) in cases {
            assert_eq!(
                refused(&o, lanes),
                (field, value.to_string(), message.to_string())
            );
        }
    }

    #[test]
    fn the_core_has_its_default_primes_and_slots() {
        assert_eq!(
            core().kind().unwrap(),
            DesignKind::Core {
                primes: CORE_PRIMES,
                slots: CORE_SLOTS
            }
        );
        assert_eq!(
            core().design_flags().unwrap(),
            "--design core --primes 2 --slots 4"
        );
        assert_eq!(datapath().design_flags().unwrap(), "--design datapath");
    }

    #[test]
    fn build_files_name_the_command() {
        let o = DesignOptions {
            lanes: 1,
            log_n: 4,
            ..datapath()
        };
        let files = build_files(Target::U280, &o, Path::new("out")).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                flow::VERILOG_FILE,
                flow::VIVADO_FILE,
                flow::XDC_FILE,
                flow::YOSYS_FILE
            ]
        );
        let p = o.params(1).unwrap();
        let command = format!(
            "heaccel fpga build --target u280 --design datapath --lanes 1 --log-n 4 \
             --clock-mhz 300 --q {} --out out",
            p.q
        );
        assert_eq!(
            build_command(Target::U280, &o, &p, Path::new("out")).unwrap(),
            command
        );
        for (name, text) in &files {
            assert!(text.contains(&command), "{name}");
        }
        assert!(files[0]
            .1
            .starts_with("// heaccel datapath design (top module `top`)"));
    }
}
