//! Whole networks as one allocated instruction stream (`heaccel_host::stream`), run on the
//! functional executor with every value, key and plaintext passing through its model of
//! off-chip memory (spills and reloads included), against the reference evaluator running the
//! same program operation by operation: the outputs must be the same words. Networks: LeNet
//! (polynomial activations) and a network with a residual shortcut, minimax ReLUs and
//! bootstrappings. Deleting one spill of the allocated stream must change the result (the
//! negative control). Parameters are far below the 128-bit bound, opted into for these
//! functional tests only.

mod common;

use std::cell::RefCell;
use std::collections::HashMap;

use heaccel_host::lowering::{self, BufferOperand, OperandStem};
use heaccel_host::nn::weights::seeded_input;
use heaccel_host::nn::{zoo, Shape};
use heaccel_host::pack::{
    compile_he_program, compile_he_structure, run_with_circuits, Circuits, HeProgram,
    MinimaxChoice, NetworkProgram, ReferenceBackend, ReportOptions, Strategy,
};
use heaccel_host::stream::{
    allocate_dataflow, trace_program, BufferTable, Dataflow, Expansions, PlainKey, StreamOp,
    StreamOptions,
};
use heaccel_sim::isa::{BufferRole, Instruction, Program};
use heaccel_sim::{FunctionalExecutor, Memory};
use heaccel_verification::bootstrap::{BootstrapConfig, Bootstrapper};
use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::ckks::{
    Ciphertext, CkksOps, Encoder, EncryptionKey, Encryptor, Evaluator, GaloisKeys, KeyGenerator,
    Parameters, ParametersLiteral, Plaintext, RelinKey,
};
use heaccel_verification::minimax::CompositeSign;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The reference evaluator, remembering every plaintext an inner product reads, in order: the
/// bootstrapping's diagonals as the stream numbers them.
struct Capture<'a> {
    eval: &'a Evaluator,
    plaintexts: RefCell<Vec<Plaintext>>,
}

type R<T> = Result<T, heaccel_verification::Error>;

impl CkksOps for Capture<'_> {
    type Error = heaccel_verification::Error;
    fn params(&self) -> &Parameters {
        self.eval.params()
    }
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> R<Ciphertext> {
        CkksOps::add(self.eval, a, b)
    }
    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> R<Ciphertext> {
        CkksOps::sub(self.eval, a, b)
    }
    fn neg(&self, a: &Ciphertext) -> R<Ciphertext> {
        CkksOps::neg(self.eval, a)
    }
    fn add_const(&self, a: &Ciphertext, c: f64) -> R<Ciphertext> {
        CkksOps::add_const(self.eval, a, c)
    }
    fn mul_const(&self, a: &Ciphertext, c: f64, s: f64) -> R<Ciphertext> {
        CkksOps::mul_const(self.eval, a, c, s)
    }
    fn mul_relin(&self, a: &Ciphertext, b: &Ciphertext) -> R<Ciphertext> {
        CkksOps::mul_relin(self.eval, a, b)
    }
    fn rescale(&self, a: &Ciphertext) -> R<Ciphertext> {
        CkksOps::rescale(self.eval, a)
    }
    fn drop_level(&self, a: &Ciphertext, level: usize) -> R<Ciphertext> {
        CkksOps::drop_level(self.eval, a, level)
    }
    fn mul_monomial(&self, a: &Ciphertext, k: usize) -> R<Ciphertext> {
        CkksOps::mul_monomial(self.eval, a, k)
    }
    fn automorphism(&self, a: &Ciphertext, g: u64) -> R<Ciphertext> {
        CkksOps::automorphism(self.eval, a, g)
    }
    fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> R<Vec<Ciphertext>> {
        CkksOps::rotate_hoisted(self.eval, a, steps)
    }
    fn inner_product(
        &self,
        babies: &[Ciphertext],
        row: &[(usize, Plaintext)],
        level: usize,
    ) -> R<Ciphertext> {
        self.plaintexts
            .borrow_mut()
            .extend(row.iter().map(|(_, p)| p.clone()));
        CkksOps::inner_product(self.eval, babies, row, level)
    }
    fn mod_raise(&self, a: &Ciphertext) -> R<Ciphertext> {
        CkksOps::mod_raise(self.eval, a)
    }
}

/// What a run needs beside the program.
struct Setup<'a> {
    params: &'a Parameters,
    eval: &'a Evaluator,
    encoder: &'a Encoder,
    relin: &'a RelinKey,
    galois: &'a GaloisKeys,
    circuits: Circuits<'a>,
    input_level: usize,
}

/// Seeded keys (relinearization, the program's rotations and `extra` Galois elements), the
/// evaluator holding them, an encoder, and the network input of `seed` encrypted in
/// `compiled`'s layout at `level` with the default scale.
struct Keys {
    eval: Evaluator,
    encoder: Encoder,
    relin: RelinKey,
    galois: GaloisKeys,
    inputs: Vec<Ciphertext>,
}

fn keys(
    params: &Parameters,
    compiled: &NetworkProgram,
    shape: Shape,
    seed: u64,
    level: usize,
    extra: &[u64],
) -> Keys {
    let mut kg = KeyGenerator::with_rng(params, ChaCha20Rng::seed_from_u64(1));
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk).unwrap();
    let relin = kg.gen_relin_key(&sk).unwrap();
    let mut galois = kg
        .gen_galois_keys(&sk, &compiled.program.rotation_steps(), false)
        .unwrap();
    for &g in extra {
        galois.keys.insert(g, kg.gen_galois_key(&sk, g).unwrap());
    }
    let eval = Evaluator::new(params, Some(relin.clone()), Some(galois.clone())).unwrap();
    let encoder = Encoder::new(params);
    let mut encryptor = Encryptor::with_rng(
        params,
        EncryptionKey::Public(pk),
        ChaCha20Rng::seed_from_u64(2),
    )
    .unwrap();
    let inputs = compiled
        .encode_input(&seeded_input(shape, seed))
        .unwrap()
        .iter()
        .map(|v| {
            let pt = encoder
                .encode_real(v, level, params.default_scale())
                .unwrap();
            encryptor.encrypt(&pt).unwrap()
        })
        .collect();
    Keys {
        eval,
        encoder,
        relin,
        galois,
        inputs,
    }
}

impl Keys {
    /// What [`check`] runs with: these keys, `circuits` and the inputs' `level`.
    fn setup<'a>(
        &'a self,
        params: &'a Parameters,
        circuits: Circuits<'a>,
        input_level: usize,
    ) -> Setup<'a> {
        Setup {
            params,
            eval: &self.eval,
            encoder: &self.encoder,
            relin: &self.relin,
            galois: &self.galois,
            circuits,
            input_level,
        }
    }
}

/// Off-chip memory of the allocated stream: inputs, keys and every plaintext encoded as the
/// reference encodes it.
fn fill_memory(
    s: &Setup<'_>,
    program: &HeProgram,
    flow: &Dataflow,
    allocated: &Program,
    table: &BufferTable,
    inputs: &[Ciphertext],
) -> Memory {
    let mut memory = Memory::for_program(allocated);
    for (ct, &v) in inputs.iter().zip(&flow.inputs) {
        lowering::write_ciphertext(&mut memory, format!("v{v}"), ct).unwrap();
    }
    for b in &allocated.buffers {
        if b.role != BufferRole::Key {
            continue;
        }
        let stem = b.name.split('.').next().unwrap();
        if b.name.ends_with(".d0.b") {
            let key = match OperandStem::parse(stem) {
                Some(OperandStem::Galois(g)) => &s.galois.keys[&g],
                Some(OperandStem::Rlk) => &s.relin.key,
                other => panic!("{stem}: {other:?} is no key"),
            };
            lowering::write_switching_key(&mut memory, stem, key).unwrap();
        }
    }
    // the bootstrapping's plaintexts, as one real bootstrapping reads them
    let mut diagonals = Vec::new();
    if let Some(boot) = s.circuits.bootstrapper {
        let capture = Capture {
            eval: s.eval,
            plaintexts: RefCell::default(),
        };
        let low = s.eval.drop_level(&inputs[0], 0).unwrap();
        boot.bootstrap_with(&capture, &low).unwrap();
        diagonals = capture.plaintexts.into_inner();
    }
    let mut written = HashMap::new();
    for e in &flow.events {
        for key in &e.plains {
            if written.insert(*key, ()).is_some() {
                continue;
            }
            let buffer = table.plaintext(key).unwrap();
            let name = allocated.buffers[buffer as usize]
                .name
                .trim_end_matches(".m")
                .to_string();
            match *key {
                PlainKey::Network { id, level } => {
                    let scale = match e.op {
                        StreamOp::MulPlain { .. } => {
                            s.params.q_tables()[level].modulus().value() as f64
                        }
                        _ => flow.scales[e.reads[0]],
                    };
                    let pt = s
                        .encoder
                        .encode_real(&program.plaintexts[id].values, level, scale)
                        .unwrap();
                    lowering::write_plaintext(&mut memory, &name, &pt).unwrap();
                }
                PlainKey::Bootstrap { index, level } => {
                    let pt = &diagonals[index];
                    assert_eq!(pt.level(), level, "diagonal {index}");
                    lowering::write_plaintext(&mut memory, &name, pt).unwrap();
                }
                PlainKey::Monomial { k, level } => {
                    let limbs = lowering::monomial_limbs(s.params, level, k).unwrap();
                    for (l, limb) in limbs.iter().enumerate() {
                        memory
                            .write(&lowering::plaintext_buffer(&name), l, limb)
                            .unwrap();
                    }
                }
            }
        }
    }
    memory
}

/// Runs `allocated` and reads the output values back.
fn run_stream(allocated: &Program, mut memory: Memory, flow: &Dataflow) -> Vec<Vec<Vec<u64>>> {
    FunctionalExecutor::new(allocated)
        .unwrap()
        .run(&mut memory)
        .unwrap();
    flow.outputs
        .iter()
        .flat_map(|&v| {
            (0..2).map(move |part| (v, part)).map(|(v, part)| {
                (0..=flow.levels[v])
                    .map(|l| memory.read(&format!("v{v}.c{part}"), l).unwrap().to_vec())
                    .collect::<Vec<_>>()
            })
        })
        .collect()
}

/// The reference run of `program` and the allocated stream on the functional executor at
/// `slots` physical slots: same words; then one spill deleted: different words.
fn check(
    s: &Setup<'_>,
    program: &HeProgram,
    inputs: &[Ciphertext],
    slots: u32,
    options: &StreamOptions,
) {
    let outputs = run_with_circuits(
        &mut ReferenceBackend(s.eval),
        s.encoder,
        s.circuits,
        program,
        inputs,
        &mut |_, _| {},
    )
    .unwrap();
    let expansions = Expansions {
        relu: s.circuits.relu,
        bootstrapper: s.circuits.bootstrapper,
    };
    let flow = trace_program(s.params, program, s.input_level, expansions).unwrap();
    let (allocated, table, stats) = allocate_dataflow(s.params, &flow, slots, options).unwrap();
    eprintln!(
        "{} operations, {} instructions on {slots} slots: {stats:?}",
        flow.events.len(),
        allocated.instructions.len()
    );
    assert!(stats.peak_slots <= slots);
    assert!(stats.spills > 0, "the scratchpad is meant to be tight");
    let want: Vec<Vec<Vec<u64>>> = outputs
        .iter()
        .flat_map(|ct| ct.parts.iter().map(|p| p.limbs.clone()))
        .collect();
    let memory = fill_memory(s, program, &flow, &allocated, &table, inputs);
    let got = run_stream(&allocated, memory.clone(), &flow);
    assert!(
        got == want,
        "the allocated stream differs from the reference"
    );

    // negative control: drop the first spill that is reloaded later
    let is_temp = |b: u32| allocated.buffers[b as usize].role == BufferRole::Temp;
    let spill = allocated
        .instructions
        .iter()
        .enumerate()
        .find_map(|(k, ins)| match *ins {
            Instruction::Store { buffer, limb, .. } if is_temp(buffer) => allocated.instructions
                [k + 1..]
                .iter()
                .any(|i| matches!(*i, Instruction::Load { buffer: b, limb: l, .. } if b == buffer && l == limb))
                .then_some(k),
            _ => None,
        })
        .expect("a reloaded spill");
    let mut broken = allocated.clone();
    broken.instructions.remove(spill);
    let got = run_stream(&broken, memory, &flow);
    assert!(got != want, "deleting spill {spill} went unnoticed");
}

#[test]
fn every_lowered_buffer_names_an_operand() {
    let params = ParametersLiteral {
        log_n: 5,
        log_q: vec![30, 25, 25],
        q: vec![],
        log_p: vec![30, 30],
        p: vec![],
        log_scale: 25,
        dnum: 2,
        hamming_weight: None,
        allow_insecure: true,
    }
    .build()
    .unwrap();
    let programs = [
        lowering::lower_add(&params, 2).unwrap(),
        lowering::lower_sub(&params, 1).unwrap(),
        lowering::lower_neg(&params, 1).unwrap(),
        lowering::lower_drop_level(&params, 2, 0).unwrap(),
        lowering::lower_mul_monomial(&params, 1).unwrap(),
        lowering::lower_inner_product(&params, 2, 3).unwrap(),
        lowering::lower_mod_raise(&params, 2).unwrap(),
        lowering::lower_pmult(&params, 2).unwrap(),
        lowering::lower_add_plain(&params, 2).unwrap(),
        lowering::lower_add_const(&params, 2, 0.5, 2f64.powi(25)).unwrap(),
        lowering::lower_mul_const(&params, 2, 0.5, 2f64.powi(25)).unwrap(),
        lowering::lower_hmult_relin(&params, 2).unwrap(),
        lowering::lower_rescale(&params, 2).unwrap(),
        lowering::lower_automorphisms(&params, 2, &[5, 25, 63]).unwrap(),
    ];
    for p in &programs {
        let operands: Vec<BufferOperand> = p
            .buffers
            .iter()
            .map(|b| BufferOperand::parse(&b.name).unwrap_or_else(|| panic!("{}", b.name)))
            .collect();
        for (i, a) in operands.iter().enumerate() {
            for b in &operands[i + 1..] {
                assert!(a != b || *a == BufferOperand::Temp, "{a:?} twice");
            }
        }
    }
    assert_eq!(
        BufferOperand::parse("gk25.d1.a"),
        Some(BufferOperand::Key {
            galois: Some(25),
            digit: 1,
            half: 1
        })
    );
    assert_eq!(
        BufferOperand::parse("out2.c1"),
        Some(BufferOperand::Output { index: 2, part: 1 })
    );
    assert_eq!(
        BufferOperand::parse("x3.c0"),
        Some(BufferOperand::Input { index: 3, part: 0 })
    );
    for bad in [
        "a.c2",
        "x.c0",
        "out01.c0",
        "m.c0",
        "rlk.d1.c",
        "v3.c0",
        "gk.d0.a",
        "ab",
        "gk+5.d0.a",
        "rlk.d.a",
    ] {
        assert_eq!(BufferOperand::parse(bad), None, "{bad}");
    }
}

#[test]
fn the_structure_compile_has_the_program_without_its_values() {
    let net = zoo::seeded(zoo::ZooModel::Lenet, 7).unwrap();
    let options = ReportOptions::default();
    let full = compile_he_program(&net, &Strategy::Dense, 1 << 10, &options).unwrap();
    let shape = compile_he_structure(&net, &Strategy::Dense, 1 << 10, &options).unwrap();
    assert_eq!(full.program.ops, shape.program.ops);
    assert_eq!(full.program.outputs, shape.program.outputs);
    assert_eq!(full.program.inputs, shape.program.inputs);
    assert_eq!(
        full.program.plaintexts.len(),
        shape.program.plaintexts.len()
    );
    for (f, s) in full
        .program
        .plaintexts
        .iter()
        .zip(&shape.program.plaintexts)
    {
        assert_eq!(f.label, s.label);
        assert!(s.values.is_empty());
        assert_eq!(f.values.len(), 1 << 10);
    }
    assert!(full.program.is_materialized() && !shape.program.is_materialized());
}

#[test]
fn lenet_as_one_allocated_stream_is_bit_exact_with_the_reference() {
    let net = zoo::seeded(zoo::ZooModel::Lenet, 7).unwrap();
    let compiled =
        compile_he_program(&net, &Strategy::Dense, 1 << 10, &ReportOptions::default()).unwrap();
    let program = &compiled.program;
    let depth = *program.check().unwrap().iter().max().unwrap();
    // TEST ONLY, INSECURE: N = 2^11, depth + 1 levels of 40 bits
    let params = ParametersLiteral {
        log_n: 11,
        log_q: std::iter::once(50).chain(vec![40; depth + 1]).collect(),
        q: vec![],
        log_p: vec![50, 50],
        p: vec![],
        log_scale: 40,
        dnum: 3,
        hamming_weight: None,
        allow_insecure: true,
    }
    .build()
    .unwrap();
    let level = params.max_level();
    let k = keys(&params, &compiled, net.input_shape, 3, level, &[]);
    let setup = k.setup(&params, Circuits::default(), level);
    let inputs = &k.inputs;
    check(&setup, program, inputs, 40, &StreamOptions::default());
    // reordered for key reuse: the same words
    let reordered = StreamOptions {
        key_reuse_window: 64,
        ..StreamOptions::default()
    };
    check(&setup, program, inputs, 40, &reordered);
}

/// Levels left after bootstrapping (and at the input).
const LEVELS: usize = common::nets::BOOT_LEVELS;
/// Minimax ReLU precision: degree 5, 4 levels with the final product.
const ALPHA: u32 = 4;

#[test]
fn a_residual_network_with_bootstrapping_as_one_allocated_stream_is_bit_exact() {
    let params = common::nets::bootstrap_params();
    let net = common::nets::residual_net();
    let act = MinimaxActivation::new(CompositeSign::for_alpha(ALPHA, None).unwrap()).unwrap();
    let options = ReportOptions {
        relu: Some(MinimaxChoice::new(ALPHA, act.clone())),
        relu_bounds: vec![4.0; 3],
        bootstrap_levels: Some(LEVELS),
        ..ReportOptions::default()
    };
    let compiled = compile_he_program(&net, &Strategy::Dense, 2048, &options).unwrap();
    assert!(compiled.bootstrappings >= 1);
    let program = &compiled.program;
    let config = BootstrapConfig::default_for(&params, params.log_n() - 1).unwrap();
    let boot = Bootstrapper::new(&params, &config).unwrap();
    let k = keys(
        &params,
        &compiled,
        net.input_shape,
        5,
        LEVELS,
        boot.galois_elements(),
    );
    let circuits = Circuits {
        relu: Some(&act),
        bootstrapper: Some(&boot),
    };
    let setup = k.setup(&params, circuits, LEVELS);
    check(&setup, program, &k.inputs, 160, &StreamOptions::default());
}
