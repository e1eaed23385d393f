//! The core's Verilog co-run: a self-checking testbench that writes a program into the
//! instruction queue through the register file, streams the load data over AXI4-Stream,
//! compares every output beat with the expected stores and the cycle count with the
//! expected one (the rust-hdl model's), and prints `PASS 1 vectors` only if all agree.

use std::fmt::Write as _;

use super::{reg, shared_core_verilog, CoreGeometry, CoreInstr};
use crate::params::HdlError;
use crate::verilog::{Bench, Bundle, VECTOR_END, VECTOR_MAGIC};

/// Offset of the first expected store word inside the bundle's record (for the
/// corrupted-vector negative control).
pub fn first_store_word(program: &[CoreInstr], loads: &[Vec<u64>]) -> usize {
    4 + 2 * program.len() + loads.iter().map(Vec::len).sum::<usize>()
}

/// The co-run bundle: `top.v` (the core), `tb.v`, and one vector record
/// `[instructions, load words, store words, cycles, (word0, word1) per instruction, load
/// words in stream order, expected store words]`. `stores` and `cycles` are the expected
/// results (the functional executor's outputs, the rust-hdl core's cycle count).
pub fn core_bundle(
    geo: &CoreGeometry,
    program: &[CoreInstr],
    loads: &[Vec<u64>],
    stores: &[Vec<u64>],
    cycles: usize,
    command: &str,
) -> Result<Bundle, HdlError> {
    let w = geo.width();
    let load_words: usize = loads.iter().map(Vec::len).sum();
    let store_words: usize = stores.iter().map(Vec::len).sum();
    let mut record = vec![
        program.len() as u32,
        load_words as u32,
        store_words as u32,
        cycles as u32,
    ];
    for ins in program {
        let (w0, w1) = ins.encode();
        record.extend([w0, w1]);
    }
    record.extend(loads.iter().flatten().map(|&x| x as u32));
    record.extend(stores.iter().flatten().map(|&x| x as u32));
    let rw = record.len();
    let mut tb = String::from("`timescale 1ns/1ps\nmodule tb;\n  reg clock = 1'b0;\n");
    tb += "  reg reg_we = 1'b0;\n  reg [7:0] reg_addr = 8'd0;\n  reg [31:0] reg_wdata = 32'd0;\n  \
           wire [31:0] reg_rdata;\n  reg s_tvalid = 1'b0;\n  wire s_tready;\n  wire m_tvalid;\n  \
           reg m_tready = 1'b1;\n  wire m_tlast;\n  wire busy;\n  wire done;\n";
    let mut conns = vec![
        "clock",
        "reg_we",
        "reg_addr",
        "reg_wdata",
        "reg_rdata",
        "s_tvalid",
        "s_tready",
        "m_tvalid",
        "m_tready",
        "m_tlast",
        "busy",
        "done",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for j in 0..w {
        let _ = writeln!(
            tb,
            "  reg [31:0] s_tdata${j} = 32'd0;\n  wire [31:0] m_tdata${j};"
        );
        conns.push(format!("s_tdata${j}"));
        conns.push(format!("m_tdata${j}"));
    }
    let conns: Vec<String> = conns.iter().map(|p| format!(".{p}({p})")).collect();
    let _ = writeln!(tb, "  top dut({});", conns.join(", "));
    let _ = writeln!(
        tb,
        "  reg [31:0] mem [0:`VECTOR_WORDS-1];\n  reg [8*1024-1:0] path;\n  integer count, i, k, \
         cyc, errors, checked, bad, nins, nld, nst, lb, sb, ldbase, stbase;\n  task tick;\n    \
         begin\n      #1 clock = 1'b1;\n      #1;\n      #1 clock = 1'b0;\n      #1;\n    end\n  \
         endtask\n  task wreg;\n    input [7:0] addr;\n    input [31:0] data;\n    begin\n      \
         reg_we = 1'b1;\n      reg_addr = addr;\n      reg_wdata = data;\n      tick;\n      reg_we \
         = 1'b0;\n    end\n  endtask\n  initial begin\n    for (i = 0; i < `VECTOR_WORDS; i = i + \
         1) mem[i] = 32'hxxxxxxxx;\n    if (!$value$plusargs(\"vectors=%s\", path)) begin\n      \
         $display(\"FAIL: no +vectors=PATH given\");\n      $finish;\n    end\n    \
         $readmemh(path, mem);\n    if (mem[0] !== 32'h{VECTOR_MAGIC:08x}) begin\n      \
         $display(\"FAIL: vector file not read (magic %h)\", mem[0]);\n      $finish;\n    end\n    \
         count = mem[1];\n    if (count != 1 || 3 + {rw} != `VECTOR_WORDS || mem[2 + {rw}] !== \
         32'h{VECTOR_END:08x}) begin\n      $display(\"FAIL: vector file malformed (count %0d)\", \
         count);\n      $finish;\n    end\n    errors = 0;\n    checked = 0;\n    bad = 0;\n    \
         nins = mem[2];\n    nld = mem[3];\n    nst = mem[4];\n    ldbase = 6 + 2 * nins;\n    \
         stbase = ldbase + nld;\n    wreg(8'd{r_iq}, 32'd0);\n    for (k = 0; k < nins; k = k + \
         1) begin\n      wreg(8'd{r_w0}, mem[6 + 2 * k]);\n      wreg(8'd{r_w1}, mem[7 + 2 * \
         k]);\n    end\n    wreg(8'd{r_count}, nins);\n    wreg(8'd{r_ctrl}, 32'd1);\n    cyc = \
         1;\n    lb = 0;\n    sb = 0;\n    while (busy && cyc < {limit}) begin\n      s_tvalid = \
         (lb < nld);",
        r_iq = reg::IQ_ADDR,
        r_w0 = reg::IQ_WORD0,
        r_w1 = reg::IQ_WORD1,
        r_count = reg::COUNT,
        r_ctrl = reg::CTRL,
        limit = 2 * cycles + 64,
    );
    for j in 0..w {
        let _ = writeln!(
            tb,
            "      s_tdata${j} = (lb < nld) ? mem[ldbase + lb + {j}] : 32'd0;"
        );
    }
    tb += "      #1;\n      if (s_tvalid && s_tready) lb = lb + ";
    let _ = writeln!(tb, "{w};\n      if (m_tvalid) begin");
    for j in 0..w {
        let _ = writeln!(
            tb,
            "        if (sb + {j} >= nst || m_tdata${j} !== mem[stbase + sb + {j}]) begin\n          \
             if (bad < 8) $display(\"MISMATCH store word %0d: got %h want %h\", sb + {j}, \
             m_tdata${j}, mem[stbase + sb + {j}]);\n          bad = bad + 1;\n        end"
        );
    }
    let _ = writeln!(
        tb,
        "        sb = sb + {w};\n      end\n      clock = 1'b1;\n      #1;\n      clock = 1'b0;\n      \
         #1;\n      cyc = cyc + 1;\n    end\n    s_tvalid = 1'b0;\n    reg_addr = 8'd{r_cyc};\n    \
         #1;\n    if (cyc != mem[5] || reg_rdata != mem[5]) begin\n      bad = bad + 1;\n      \
         $display(\"MISMATCH cycles: %0d edges (CYCLES register %0d), want %0d\", cyc, reg_rdata, \
         mem[5]);\n    end\n    if (sb != nst || lb != nld) begin\n      bad = bad + 1;\n      \
         $display(\"MISMATCH stream lengths: %0d of %0d store words, %0d of %0d load words\", sb, \
         nst, lb, nld);\n    end\n    $display(\"CORE CYCLES %0d\", cyc);\n    if (bad != 0) \
         errors = errors + 1;\n    checked = checked + 1;\n    if (errors == 0 && checked == \
         count) $display(\"PASS %0d vectors\", checked);\n    else $display(\"FAIL: %0d \
         mismatches in %0d records\", errors, checked);\n    $finish;\n  end\nendmodule",
        r_cyc = reg::CYCLES
    );
    Ok(Bundle {
        name: "core".into(),
        command: command.into(),
        verilog: shared_core_verilog(geo)?,
        bench: Bench::Custom(tb),
        word: 32,
        records: vec![record.into_iter().map(u64::from).collect()],
        record_words: rw,
        geometry: Some((geo.log_n(), geo.lanes())),
    })
}

/// Builds the co-run testbench with Verilator (`--binary --timing -O0 -finline`); returns
/// the executable. As [`crate::verilog::build_verilator`] (whose `-O0` keeps testbench
/// counters exact) but with module inlining back on: without it every rust-hdl instance
/// (each `DFF` is a module) becomes a C++ file and the generated make rule exceeds the
/// shell's argument limit (measured: 2,964 files at N = 2^5, P = 2, two primes).
pub fn build_verilator_core(
    files: &crate::verilog::BundleFiles,
) -> Result<std::path::PathBuf, crate::verilog::ToolOutcome> {
    use crate::verilog::{tool_available, ToolOutcome};
    if !tool_available("verilator") {
        return Err(ToolOutcome::Skipped("verilator not installed".into()));
    }
    let mdir = files.dir.join("verilator");
    let out = std::process::Command::new("verilator")
        .args([
            "--binary",
            "--timing",
            "-O0",
            "-finline",
            "-j",
            "2",
            "-Wno-fatal",
            "-Wno-lint",
            "-Wno-style",
            "--top-module",
            "tb",
            "-Mdir",
        ])
        .arg(&mdir)
        .args(["-o", "Vtb"])
        .arg(&files.tb)
        .arg(&files.top)
        .output()
        .map_err(|e| ToolOutcome::Fail(format!("cannot run verilator: {e}")))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text.lines().collect();
        return Err(ToolOutcome::Fail(format!(
            "verilator: {}",
            lines[lines.len().saturating_sub(12)..].join("\n")
        )));
    }
    Ok(mdir.join("Vtb"))
}
