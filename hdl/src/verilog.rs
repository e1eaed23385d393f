//! Verilog emission, vector files, testbenches, and the external tools that check them
//! (Icarus Verilog, Verilator, Yosys).
//!
//! A [`Bundle`] is what `heaccel verilog` writes for one block: `top.v` (the block, emitted by
//! rust-hdl, top module `top`), `tb.v` (a self-checking testbench) and `vectors.hex` (inputs
//! and expected outputs computed by the reference model). The testbench reads the vector file
//! named by `+vectors=PATH`, and fails unless the file starts with [`VECTOR_MAGIC`], holds the
//! announced number of records and ends with [`VECTOR_END`]; it prints `PASS <n> vectors` only
//! when every expected output matched.
//!
//! Tool runs return [`ToolOutcome::Skipped`] with a notice when the tool is not installed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::yosys::{parse_stat, StatReport};

/// First word of every vector file ("HEVC").
pub const VECTOR_MAGIC: u32 = 0x4845_5643;
/// Last word of every vector file ("HEND"): guards against truncated files.
pub const VECTOR_END: u32 = 0x4845_4e44;

/// Verilator lint warnings waived for rust-hdl output, each with its justification.
/// `verilator --lint-only -Wall` is run with exactly these `-Wno-` flags.
pub const LINT_WAIVERS: &[(&str, &str)] = &[
    (
        "DECLFILENAME",
        "rust-hdl names modules after the block path (top, top$mul, ...), not after the file",
    ),
    (
        "UNUSEDSIGNAL",
        "the multiplier reads only the low W - 2 bits of its W-bit operands (values < \
         2^(W-2)) and declares every limb sum, also those no partial product uses; the NTT \
         and automorphism units compute addresses on 32-bit words and index each bank or ROM \
         with its low row bits only",
    ),
    (
        "UNUSEDPARAM",
        "rust-hdl emits every Constant as a localparam in each instance, also where unused",
    ),
];

/// Bits of one vector-file word for a block of machine word `word`: 32 up to `W = 32`, else
/// 64 (`$readmemh` reads one word per line into `reg [V-1:0] mem [...]`).
pub fn vector_bits(word: usize) -> usize {
    if word <= 32 {
        32
    } else {
        64
    }
}

/// Result of running one external tool step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolOutcome {
    /// The step ran and passed; the string summarises what was checked.
    Pass(String),
    /// The step ran and failed; the string holds the relevant output.
    Fail(String),
    /// The tool is not installed: the step did not run.
    Skipped(String),
}

impl ToolOutcome {
    /// `true` for [`ToolOutcome::Fail`].
    pub fn is_fail(&self) -> bool {
        matches!(self, ToolOutcome::Fail(_))
    }
    /// Short status word: `pass`, `fail` or `skip`.
    pub fn status(&self) -> &'static str {
        match self {
            ToolOutcome::Pass(_) => "pass",
            ToolOutcome::Fail(_) => "fail",
            ToolOutcome::Skipped(_) => "skip",
        }
    }
    /// The detail text.
    pub fn detail(&self) -> &str {
        match self {
            ToolOutcome::Pass(s) | ToolOutcome::Fail(s) | ToolOutcome::Skipped(s) => s,
        }
    }
}

/// `true` when `tool` can be run from `PATH`.
pub fn tool_available(tool: &str) -> bool {
    Command::new(tool)
        .arg(if tool == "iverilog" {
            "-V"
        } else {
            "--version"
        })
        .output()
        .is_ok()
}

/// Testbench body for a block: how the vector records drive it and are checked.
#[derive(Clone, Debug)]
pub enum Bench {
    /// A fully pipelined block: one record per cycle; record `i` sets every input port
    /// (in order) before rising edge `i`, and its expected outputs hold after `latency` edges.
    Pipeline {
        /// Input port names (`W` bits each, excluding `clock`).
        inputs: Vec<String>,
        /// Output port names (`W` bits each).
        outputs: Vec<String>,
        /// Pipeline latency in cycles.
        latency: usize,
    },
    /// A hand-written testbench (for blocks with a streaming protocol): its Verilog text
    /// must read `+vectors=`, check the guards and print `PASS <n> vectors` or `FAIL ...`.
    Custom(String),
}

/// One block's Verilog, testbench and vectors.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// Block name (`modmul`, `ct_butterfly`, ...).
    pub name: String,
    /// The command that regenerates these files (written into their headers).
    pub command: String,
    /// The block's Verilog from rust-hdl (top module `top`).
    pub verilog: String,
    /// The block's machine word `W` in bits (data ports are `W` bits wide).
    pub word: usize,
    /// The testbench.
    pub bench: Bench,
    /// Vector records: each a list of words below `2^W` (inputs then expected outputs for
    /// [`Bench::Pipeline`]).
    pub records: Vec<Vec<u64>>,
    /// Words per record.
    pub record_words: usize,
    /// `(log_n, lanes)` of the NTT and automorphism units (`None` for the scalar blocks).
    pub geometry: Option<(u32, usize)>,
}

/// Paths of a written bundle.
#[derive(Clone, Debug)]
pub struct BundleFiles {
    /// Folder holding the files.
    pub dir: PathBuf,
    /// The block's Verilog.
    pub top: PathBuf,
    /// The testbench.
    pub tb: PathBuf,
    /// The vector file.
    pub vectors: PathBuf,
}

impl Bundle {
    /// Number of words of the vector file: magic, count, records, end marker.
    pub fn vector_words(&self) -> usize {
        3 + self.records.len() * self.record_words
    }

    /// Bits of one vector-file word ([`vector_bits`]).
    pub fn vector_bits(&self) -> usize {
        vector_bits(self.word)
    }

    /// The vector file text (`$readmemh` format, one hex word of [`Bundle::vector_bits`] per
    /// line, `//` comments).
    pub fn vector_file(&self) -> String {
        let hw = self.vector_bits() / 4;
        let mut s = format!(
            "// Vectors of {} (reference model: heaccel-verification).\n// Generated by `{}`; \
             regenerate with that command.\n// Layout: magic, record count, {} words per record, \
             end marker.\n{VECTOR_MAGIC:0hw$x}\n{:0hw$x}\n",
            self.name,
            self.command,
            self.record_words,
            self.records.len()
        );
        for r in &self.records {
            assert_eq!(r.len(), self.record_words, "record of the wrong length");
            for w in r {
                let _ = writeln!(s, "{w:0hw$x}");
            }
        }
        let _ = writeln!(s, "{VECTOR_END:0hw$x}");
        s
    }

    /// The testbench text.
    pub fn testbench(&self) -> String {
        let body = match &self.bench {
            Bench::Custom(text) => text.clone(),
            Bench::Pipeline {
                inputs,
                outputs,
                latency,
            } => pipeline_testbench(
                inputs,
                outputs,
                *latency,
                self.record_words,
                (self.word, self.vector_bits()),
            ),
        };
        format!(
            "// Testbench of {} (self-checking).\n// Generated by `{}`; regenerate with that \
             command.\n// Run: iverilog -g2012 -o sim tb.v top.v && vvp sim +vectors=vectors.hex\n\
             `define VECTOR_WORDS {}\n{}",
            self.name,
            self.command,
            self.vector_words(),
            body
        )
    }

    /// The block's Verilog with its header.
    pub fn top_file(&self) -> String {
        format!(
            "// {} (heaccel-hdl, emitted by rust-hdl 0.46).\n// Generated by `{}`; regenerate \
             with that command.\n{}",
            self.name, self.command, self.verilog
        )
    }

    /// Writes `top.v`, `tb.v` and `vectors.hex` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> std::io::Result<BundleFiles> {
        std::fs::create_dir_all(dir)?;
        let files = BundleFiles {
            dir: dir.to_path_buf(),
            top: dir.join("top.v"),
            tb: dir.join("tb.v"),
            vectors: dir.join("vectors.hex"),
        };
        std::fs::write(&files.top, self.top_file())?;
        std::fs::write(&files.tb, self.testbench())?;
        std::fs::write(&files.vectors, self.vector_file())?;
        Ok(files)
    }
}

fn pipeline_testbench(
    inputs: &[String],
    outputs: &[String],
    latency: usize,
    record_words: usize,
    (word, vw): (usize, usize),
) -> String {
    assert_eq!(record_words, inputs.len() + outputs.len());
    let mut s = String::new();
    let _ = writeln!(s, "`timescale 1ns/1ps\nmodule tb;");
    let _ = writeln!(s, "  reg clock = 1'b0;");
    for i in inputs {
        let _ = writeln!(s, "  reg [{}:0] {i} = {word}'d0;", word - 1);
    }
    for o in outputs {
        let _ = writeln!(s, "  wire [{}:0] {o};", word - 1);
    }
    let ports: Vec<String> = std::iter::once("clock".to_string())
        .chain(inputs.iter().chain(outputs).cloned())
        .map(|p| format!(".{p}({p})"))
        .collect();
    let _ = writeln!(s, "  top dut({});", ports.join(", "));
    let _ = writeln!(
        s,
        "  reg [{vw1}:0] mem [0:`VECTOR_WORDS-1];\n  reg [8*1024-1:0] path;\n  integer count, i, t, \
         r, errors, checked;\n  initial begin\n    for (i = 0; i < `VECTOR_WORDS; i = i + 1) mem[i] \
         = {vw}'h{xs};\n    if (!$value$plusargs(\"vectors=%s\", path)) begin\n      \
         $display(\"FAIL: no +vectors=PATH given\");\n      $finish;\n    end\n    \
         $readmemh(path, mem);\n    if (mem[0] !== 32'h{VECTOR_MAGIC:08x}) begin\n      \
         $display(\"FAIL: vector file not read (magic %h)\", mem[0]);\n      $finish;\n    end\n    \
         count = mem[1];\n    if (count < 1 || 3 + count * {record_words} != `VECTOR_WORDS || \
         mem[2 + count * {record_words}] !== 32'h{VECTOR_END:08x}) begin\n      \
         $display(\"FAIL: vector file malformed (count %0d)\", count);\n      $finish;\n    end\n    \
         errors = 0;\n    checked = 0;\n    for (t = 0; t < count + {lm1}; t = t + 1) begin",
        lm1 = latency - 1,
        vw1 = vw - 1,
        xs = "x".repeat(vw / 4),
    );
    let _ = writeln!(s, "      if (t < count) begin");
    for (k, i) in inputs.iter().enumerate() {
        let _ = writeln!(s, "        {i} = mem[2 + t * {record_words} + {k}];");
    }
    let _ = writeln!(s, "      end else begin");
    for i in inputs {
        let _ = writeln!(s, "        {i} = {word}'d0;");
    }
    let _ = writeln!(
        s,
        "      end\n      #1 clock = 1'b1;\n      #1;\n      if (t + 1 >= {latency}) begin\n        \
         r = t + 1 - {latency};\n        checked = checked + 1;"
    );
    for (k, o) in outputs.iter().enumerate() {
        let idx = inputs.len() + k;
        let _ = writeln!(
            s,
            "        if ({o} !== mem[2 + r * {record_words} + {idx}]) begin\n          errors = \
             errors + 1;\n          if (errors <= 8) $display(\"MISMATCH record %0d {o}: got %h \
             want %h\", r, {o}, mem[2 + r * {record_words} + {idx}]);\n        end"
        );
    }
    let _ = writeln!(
        s,
        "      end\n      #1 clock = 1'b0;\n      #1;\n    end\n    if (errors == 0 && checked == \
         count) $display(\"PASS %0d vectors\", checked);\n    else $display(\"FAIL: %0d \
         mismatches in %0d records\", errors, checked);\n    $finish;\n  end\nendmodule"
    );
    s
}

fn run(cmd: &mut Command) -> Result<(bool, String), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// Judges a testbench run: passes only on `PASS <expected> vectors` and no `FAIL`.
fn judge(ok: bool, text: &str, expected: usize) -> ToolOutcome {
    let want = format!("PASS {expected} vectors");
    if ok && text.contains(&want) && !text.contains("FAIL") && !text.contains("MISMATCH") {
        ToolOutcome::Pass(want)
    } else {
        ToolOutcome::Fail(tail(text))
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Simulates the bundle's testbench with Icarus Verilog on `vectors` (normally
/// `files.vectors`; a corrupted copy for the negative control).
pub fn run_icarus(files: &BundleFiles, vectors: &Path, expected: usize) -> ToolOutcome {
    if !tool_available("iverilog") {
        return ToolOutcome::Skipped("iverilog not installed".into());
    }
    let exe = files.dir.join("icarus.vvp");
    match run(Command::new("iverilog")
        .arg("-g2012")
        .arg("-o")
        .arg(&exe)
        .arg(&files.tb)
        .arg(&files.top))
    {
        Err(e) => return ToolOutcome::Fail(e),
        Ok((false, text)) => return ToolOutcome::Fail(format!("iverilog: {}", tail(&text))),
        Ok((true, _)) => {}
    }
    match run(Command::new("vvp")
        .arg("-n")
        .arg(&exe)
        .arg(format!("+vectors={}", vectors.display())))
    {
        Err(e) => ToolOutcome::Fail(e),
        Ok((ok, text)) => judge(ok, &text, expected),
    }
}

/// Builds the testbench with Verilator (`--binary --timing`) once; returns the executable.
pub fn build_verilator(files: &BundleFiles) -> Result<PathBuf, ToolOutcome> {
    if !tool_available("verilator") {
        return Err(ToolOutcome::Skipped("verilator not installed".into()));
    }
    let mdir = files.dir.join("verilator");
    match run(Command::new("verilator")
        // -O0: Verilator 5.006's optimizer reads a stale value of a counter updated in a
        // loop with delays (measured: `checked == count` false while both print 829), which
        // would make the testbench's final verdict meaningless.
        .args([
            "--binary",
            "--timing",
            "-O0",
            "-j",
            "2",
            "-Wno-fatal",
            "-Wno-lint",
        ])
        .arg("-Wno-style")
        .args(["--top-module", "tb", "-Mdir"])
        .arg(&mdir)
        .arg("-o")
        .arg("Vtb")
        .arg(&files.tb)
        .arg(&files.top))
    {
        Err(e) => Err(ToolOutcome::Fail(e)),
        Ok((false, text)) => Err(ToolOutcome::Fail(format!("verilator: {}", tail(&text)))),
        Ok((true, _)) => Ok(mdir.join("Vtb")),
    }
}

/// Runs a Verilator-built testbench on `vectors`.
pub fn run_verilator(exe: &Path, vectors: &Path, expected: usize) -> ToolOutcome {
    match run(Command::new(exe).arg(format!("+vectors={}", vectors.display()))) {
        Err(e) => ToolOutcome::Fail(e),
        Ok((ok, text)) => judge(ok, &text, expected),
    }
}

/// `verilator --lint-only -Wall` on the block alone, with the [`LINT_WAIVERS`].
pub fn lint(files: &BundleFiles) -> ToolOutcome {
    if !tool_available("verilator") {
        return ToolOutcome::Skipped("verilator not installed".into());
    }
    let mut cmd = Command::new("verilator");
    cmd.args(["--lint-only", "-Wall", "--top-module", "top"]);
    for (w, _) in LINT_WAIVERS {
        cmd.arg(format!("-Wno-{w}"));
    }
    cmd.arg(&files.top);
    match run(&mut cmd) {
        Err(e) => ToolOutcome::Fail(e),
        Ok((true, text)) if !text.contains("%Warning") && !text.contains("%Error") => {
            ToolOutcome::Pass(format!("lint clean, {} waivers", LINT_WAIVERS.len()))
        }
        Ok((_, text)) => ToolOutcome::Fail(tail(&text)),
    }
}

/// Yosys: `synth_xilinx -family xcup` (UltraScale+, as the Alveo U280), then
/// `check -assert` (no undriven nets, no multiple drivers, no logic loops) and a refusal of
/// latches; returns its `stat` report (parsed by [`parse_stat`]: its
/// [`StatReport::total`] is the design's resources).
pub fn synth(files: &BundleFiles) -> Result<StatReport, ToolOutcome> {
    if !tool_available("yosys") {
        return Err(ToolOutcome::Skipped("yosys not installed".into()));
    }
    let script = format!(
        "read_verilog {}; synth_xilinx -family xcup -top top; check -assert; \
         select -assert-none t:$dlatch t:$_DLATCH_* t:LDCE t:LDPE; stat",
        files.top.display()
    );
    let log = files.dir.join("yosys.log");
    let (ok, _) = run(Command::new("yosys")
        .arg("-q")
        .arg("-l")
        .arg(&log)
        .arg("-p")
        .arg(&script))
    .map_err(ToolOutcome::Fail)?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if !ok {
        return Err(ToolOutcome::Fail(tail(&text)));
    }
    parse_stat(&text).map_err(|e| ToolOutcome::Fail(format!("{}: {e}", log.display())))
}

/// Copies `vectors` to `out` with the first expected-output word of record `record`
/// flipped in its low bit: the negative control a correct testbench must reject.
pub fn corrupt_vectors(
    bundle: &Bundle,
    vectors: &Path,
    out: &Path,
    word_in_record: usize,
) -> std::io::Result<()> {
    let text = std::fs::read_to_string(vectors)?;
    let record = bundle.records.len() / 2;
    let target = 2 + record * bundle.record_words + word_in_record;
    let mut seen = 0usize;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.starts_with("//") {
            lines.push(line.to_string());
            continue;
        }
        if seen == target {
            let t = line.trim();
            let v = u64::from_str_radix(t, 16).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: word {seen} (`{t}`) is not a hex vector word: {e}",
                        vectors.display()
                    ),
                )
            })?;
            lines.push(format!("{:0w$x}", v ^ 1, w = t.len()));
        } else {
            lines.push(line.to_string());
        }
        seen += 1;
    }
    std::fs::write(out, lines.join("\n") + "\n")
}
