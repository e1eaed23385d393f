//! The hand-stepped driver of a [`Core`] under rust-hdl simulation: register writes and reads,
//! and whole program runs.

use rust_hdl::prelude::*;

use super::Core;
use crate::core::{opcode, reg, serial_cycles, CoreGeometry, CoreInstr};
use crate::params::HdlError;

/// Result of a program run on the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreRun {
    /// The slots the `store` instructions sent, in order, `N` words each.
    pub stores: Vec<Vec<u64>>,
    /// Cycles of the run (the `CYCLES` register, checked against the edges counted).
    pub cycles: usize,
    /// The `error` status bit.
    pub error: bool,
    /// With `error`: the queue entry the core stopped at (its `PC` register: the malformed
    /// instruction, or the malformed extension entry of a `bconv`).
    pub error_entry: Option<usize>,
}

/// A started [`Core`] under hand-stepped rust-hdl simulation.
#[derive(Debug)]
pub struct CoreSim {
    /// The simulated core.
    pub core: Core,
}

impl CoreSim {
    /// Builds and starts the core.
    pub fn new(geo: CoreGeometry) -> Result<Self, HdlError> {
        let mut core = Core::new(geo)?;
        crate::rtlsim::start(&mut core);
        Ok(CoreSim { core })
    }

    fn cycle(&mut self) {
        crate::rtlsim::cycle(&mut self.core, |c| &mut c.clock);
    }

    /// Writes register `addr` (one clock cycle).
    pub fn write_reg(&mut self, addr: u32, data: u32) {
        self.core.reg_we.next = true;
        self.core.reg_addr.next = (addr as u8).to_bits();
        self.core.reg_wdata.next = data.to_bits();
        self.cycle();
        self.core.reg_we.next = false;
    }

    /// Reads register `addr` (combinational, no clock).
    pub fn read_reg(&mut self, addr: u32) -> u32 {
        self.core.reg_addr.next = (addr as u8).to_bits();
        crate::rtlsim::settle(&mut self.core);
        self.core.reg_rdata.val().to_u32()
    }

    /// Runs `program`: writes it into the queue, starts it, streams `loads` (one `N`-word
    /// vector per `load` instruction, in program order, values in `[0, q)`) into the
    /// AXI4-Stream input with `tvalid` always high, takes every output beat (`tready` always
    /// high), and returns the stored vectors and the cycle count. Errors when the program
    /// does not fit the queue or `loads` does not match its `load` instructions; panics if
    /// the core does not finish within twice the cycles of [`serial_cycles`] (a bug of the core).
    pub fn run(&mut self, program: &[CoreInstr], loads: &[Vec<u64>]) -> Result<CoreRun, HdlError> {
        let geo = self.core.geometry().clone();
        let bad = |field: &str, value: usize, reason: String| HdlError::InvalidParameter {
            field: field.into(),
            value: value as u64,
            reason,
        };
        if program.len() > geo.queue() {
            return Err(bad(
                "instructions",
                program.len(),
                format!("the instruction queue holds {}", geo.queue()),
            ));
        }
        let wanted = program.iter().filter(|i| i.op == opcode::LOAD).count();
        if loads.len() != wanted || loads.iter().any(|l| l.len() != geo.n()) {
            return Err(bad(
                "loads",
                loads.len(),
                format!("need {wanted} vectors of N = {} words", geo.n()),
            ));
        }
        let (w, d) = (geo.width(), geo.depth());
        let beats: Vec<&[u64]> = loads.iter().flat_map(|l| l.chunks(w)).collect();
        self.write_reg(reg::IQ_ADDR, 0);
        for ins in program {
            let (w0, w1) = ins.encode();
            self.write_reg(reg::IQ_WORD0, w0);
            self.write_reg(reg::IQ_WORD1, w1);
        }
        self.write_reg(reg::COUNT, program.len() as u32);
        self.write_reg(reg::CTRL, 1);
        let limit = 2 * serial_cycles(&geo, program) + 16;
        let mut edges = 1;
        let mut beat = 0;
        let mut out_words: Vec<u64> = Vec::new();
        self.core.m_tready.next = true;
        while self.core.busy.val() {
            let have = beat < beats.len();
            self.core.s_tvalid.next = have;
            if have {
                for j in 0..w {
                    self.core.s_tdata[j].next = (beats[beat][j] as u32).to_bits();
                }
            }
            crate::rtlsim::settle(&mut self.core);
            if have && self.core.s_tready.val() {
                beat += 1;
            }
            if self.core.m_tvalid.val() {
                out_words.extend(self.core.m_tdata.iter().map(|x| x.val().to_u64()));
            }
            self.cycle();
            edges += 1;
            assert!(edges <= limit, "core did not finish within {limit} cycles");
        }
        self.core.s_tvalid.next = false;
        let cycles = self.read_reg(reg::CYCLES) as usize;
        assert_eq!(cycles, edges, "CYCLES register vs edges counted");
        let status = self.read_reg(reg::STATUS);
        let pc = self.read_reg(reg::PC) as usize;
        assert_eq!(out_words.len() % (w * d), 0, "partial store");
        Ok(CoreRun {
            stores: out_words.chunks(geo.n()).map(|c| c.to_vec()).collect(),
            cycles,
            error: status & 4 != 0,
            error_entry: (status & 4 != 0).then_some(pc),
        })
    }
}
