//! `heaccel simulate --program FILE`: timing of an ISA program on a hardware configuration.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use heaccel_sim::isa::{Program, BINARY_MAGIC};
use heaccel_sim::{HwConfig, TimingReport};

/// A preset name (`fpga-u280`, `asic`) or a path to a TOML file.
pub fn load_config(spec: &str) -> Result<HwConfig> {
    if spec.ends_with(".toml") || spec.contains('/') {
        let text =
            crate::input::read_text(Path::new(spec), "config file", crate::input::MAX_TEXT_BYTES)?;
        Ok(HwConfig::from_toml(&text, spec)?)
    } else {
        Ok(HwConfig::preset(spec)?)
    }
}

/// Reads a program in JSON or binary form (recognized by its `HEAX` magic).
pub fn load_program(path: &Path) -> Result<Program> {
    let bytes = crate::input::read_bytes(path, "program file", crate::input::MAX_PROGRAM_BYTES)?;
    let name = path.display().to_string();
    if bytes.starts_with(&BINARY_MAGIC) {
        Ok(Program::from_binary(&bytes, &name)?)
    } else {
        let text = String::from_utf8(bytes).with_context(|| {
            format!("program file {name}: neither JSON text nor a binary program")
        })?;
        Ok(Program::from_json(&text, &name)?)
    }
}

/// The readable table of a timing report.
pub fn to_table(r: &TimingReport, what: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{what} on `{}`: {} instructions",
        r.config, r.instructions
    );
    let _ = writeln!(s, "  cycles            {}", r.cycles);
    let _ = writeln!(s, "  time              {:.3} us", r.time_us);
    let _ = writeln!(
        s,
        "  off-chip traffic  {} bytes ({:.1} GB/s achieved)",
        r.offchip_bytes, r.achieved_bandwidth_gb_s
    );
    let _ = writeln!(s, "  bound             {}", r.bound.name());
    let _ = writeln!(
        s,
        "\n  {:<10} {:>9} {:>13} {:>14} {:>6}",
        "unit", "instances", "instructions", "busy cycles", "busy"
    );
    for u in &r.units {
        let _ = writeln!(
            s,
            "  {:<10} {:>9} {:>13} {:>14} {:>5.1}%",
            u.unit.name(),
            u.instances,
            u.instructions,
            u.busy_cycles,
            u.busy * 100.0
        );
    }
    s
}

/// The CKKS operations `heaccel simulate --op` lowers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// One forward NTT of one limb.
    Ntt,
    /// Multiplication with relinearization.
    Hmult,
    /// Rotation by one slot (hybrid key switching, key streamed from off-chip memory).
    Hrot,
    /// Rescale by the last prime.
    Rescale,
    /// Plaintext multiplication.
    Pmult,
    /// A whole bootstrapping of --ckks-preset, stage by stage (see `heaccel_host::bootsim`).
    Bootstrap,
}

/// Parameters for `--op`: `N = 2^log_n`, `levels + 1` primes in `Q`, `dnum` digits and
/// `ceil((levels + 1) / dnum)` special primes, all of `min(word_bits - 2, 60)` bits.
pub fn op_params(
    log_n: u32,
    levels: usize,
    dnum: usize,
    word_bits: u32,
    allow_insecure: bool,
) -> Result<heaccel_verification::ckks::Parameters> {
    let bits = word_bits.saturating_sub(2).min(60);
    let special = (levels + 1).div_ceil(dnum.max(1));
    let literal = heaccel_verification::ckks::ParametersLiteral {
        log_n,
        log_q: vec![bits; levels + 1],
        q: vec![],
        log_p: vec![bits; special],
        p: vec![],
        log_scale: bits,
        dnum,
        hamming_weight: None,
        allow_insecure,
    };
    literal.build().with_context(|| {
        format!(
            "parameters for --log-n {log_n} --levels {levels} --dnum {dnum} with {bits}-bit primes \
             (--allow-insecure opts in beyond the 128-bit bound)"
        )
    })
}

/// The lowered program of `op` at the top level of `params`.
pub fn op_program(op: Op, params: &heaccel_verification::ckks::Parameters) -> Result<Program> {
    use heaccel_host::lowering::*;
    use heaccel_sim::isa::{Buffer, BufferRole, Instruction};
    let level = params.max_level();
    Ok(match op {
        Op::Ntt => {
            let q = params.q_tables()[0].modulus().value();
            let mut p = Program::new(params.log_n(), vec![q], 1);
            p.buffers.push(Buffer {
                name: "x".into(),
                limbs: 1,
                role: BufferRole::Input,
            });
            p.instructions = vec![
                Instruction::Load {
                    dst: 0,
                    buffer: 0,
                    limb: 0,
                },
                Instruction::Ntt {
                    slot: 0,
                    modulus: 0,
                },
                Instruction::Store {
                    src: 0,
                    buffer: 0,
                    limb: 0,
                },
            ];
            p
        }
        Op::Hmult => lower_hmult_relin(params, level)?,
        Op::Hrot => {
            let g =
                heaccel_verification::automorphism::galois_element_for_rotation(1, params.log_n());
            lower_automorphisms(params, level, &[g])?
        }
        Op::Rescale => lower_rescale(params, level)?,
        Op::Pmult => lower_pmult(params, level)?,
        Op::Bootstrap => bail!("--op bootstrap is many programs; see heaccel_cli::simboot"),
    })
}

/// Bytes of the key buffers a program streams (role `key`), at `word_bytes` per word.
pub fn key_bytes(program: &Program, word_bytes: u64) -> u64 {
    program
        .buffers
        .iter()
        .filter(|b| b.role == heaccel_sim::BufferRole::Key)
        .map(|b| b.limbs as u64 * program.n() as u64 * word_bytes)
        .sum()
}

/// Runs `op` on real data: the lowered program on the functional executor against the
/// reference model's result; an error if any word differs.
pub fn check_functional(
    op: Op,
    params: &heaccel_verification::ckks::Parameters,
    program: &Program,
) -> Result<()> {
    use heaccel_host::lowering::*;
    use heaccel_sim::{FunctionalExecutor, Memory};
    use heaccel_verification::ckks::*;
    let mut kg = KeyGenerator::new(params);
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk)?;
    let encoder = Encoder::new(params);
    let mut enc = Encryptor::new(params, EncryptionKey::Public(pk))?;
    let level = params.max_level();
    let values: Vec<f64> = (0..params.max_slots())
        .map(|i| ((i as f64) * 0.01).sin())
        .collect();
    let pt = encoder.encode_real(&values, level, params.default_scale())?;
    let x = enc.encrypt(&pt)?;
    let y = enc.encrypt(&pt)?;
    let mut memory = Memory::for_program(program);
    let (want, name) = match op {
        Op::Ntt => {
            let mut limb = x.parts[0].limbs[0].clone();
            memory.write("x", 0, &limb)?;
            params.q_tables()[0].inverse(&mut limb); // any input works; use coefficients
            memory.write("x", 0, &limb)?;
            FunctionalExecutor::new(program)?.run(&mut memory)?;
            params.q_tables()[0].forward(&mut limb);
            if memory.read("x", 0)? != limb.as_slice() {
                bail!("functional check: the NTT differs from the reference");
            }
            return Ok(());
        }
        Op::Hmult => {
            let rlk = kg.gen_relin_key(&sk)?;
            write_ciphertext(&mut memory, OperandStem::A, &x)?;
            write_ciphertext(&mut memory, OperandStem::B, &y)?;
            write_switching_key(&mut memory, OperandStem::Rlk, &rlk.key)?;
            (
                Evaluator::new(params, Some(rlk), None)?.mul_relin(&x, &y)?,
                OperandStem::Out,
            )
        }
        Op::Hrot => {
            let gks = kg.gen_galois_keys(&sk, &[1], false)?;
            let g =
                heaccel_verification::automorphism::galois_element_for_rotation(1, params.log_n());
            write_ciphertext(&mut memory, OperandStem::A, &x)?;
            write_switching_key(&mut memory, OperandStem::Galois(g), &gks.keys[&g])?;
            (
                Evaluator::new(params, None, Some(gks))?.rotate(&x, 1)?,
                OperandStem::OutIndexed(0),
            )
        }
        Op::Rescale => {
            write_ciphertext(&mut memory, OperandStem::A, &x)?;
            (
                Evaluator::new(params, None, None)?.rescale(&x)?,
                OperandStem::Out,
            )
        }
        Op::Bootstrap => bail!("--op bootstrap is checked by heaccel_cli::simboot"),
        Op::Pmult => {
            write_ciphertext(&mut memory, OperandStem::A, &x)?;
            write_plaintext(&mut memory, OperandStem::M, &pt)?;
            (
                Evaluator::new(params, None, None)?.mul_plain(&x, &pt)?,
                OperandStem::Out,
            )
        }
    };
    FunctionalExecutor::new(program)?.run(&mut memory)?;
    let got = read_ciphertext(&memory, name, want.level(), want.scale, &x)?;
    if got != want {
        bail!("functional check: the lowered {op:?} differs from the reference model");
    }
    Ok(())
}
