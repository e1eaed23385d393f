//! The simulator's speed on a whole network (issue 17): ResNet-20 (minimax ReLU, alpha 8,
//! with its bootstrappings) on the `sharp` preset as one instruction stream, generated from
//! its dataflow (lowered and bound operation by operation), allocated onto the scratchpad and
//! timed, without ever holding the stream whole. The throughput is in instructions timed per
//! second; the dataflow (traced once) is set-up, not measured.
//!
//! Two figures: `stream/MODEL-sharp`, the whole pipeline (lowering, binding, allocation,
//! timing), and `timing/MODEL-sharp`, the timing model alone over the allocated stream (held
//! in memory here, for the measurement only).
//!
//! `cargo bench -p heaccel-host --bench stream` (a `STREAM_BENCH_MODEL=lenet` run is quick).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use heaccel_host::netsim::{compile_network, report_options, ActivationChoice, PoolChoice};
use heaccel_host::nn::zoo;
use heaccel_host::pack::{Repack, SpencnnConfig, Strategy};
use heaccel_host::stream::{allocate_dataflow, scratchpad_slots, simulate_dataflow, StreamOptions};
use heaccel_sim::{HwConfig, Scheduler};

fn whole_network(c: &mut Criterion) {
    let model = std::env::var("STREAM_BENCH_MODEL").unwrap_or_else(|_| "resnet20".into());
    let config = HwConfig::preset("sharp").expect("the sharp preset");
    let activation = ActivationChoice::ReluMinimax(8);
    let names = (activation, PoolChoice::Avg);
    let options = report_options(activation, PoolChoice::Avg, Repack::Always).unwrap();
    let net = zoo::seeded(model.parse().unwrap(), zoo::DEFAULT_SEED).unwrap();
    let strategy = Strategy::Spencnn(SpencnnConfig::default());
    let compiled = compile_network(&net, &strategy, &options, names, config.word_bits).unwrap();
    let (_, built, flow) = compiled.fitted_dataflow(&config).unwrap();
    let flow = flow.expect("the network compiles into one program");
    let stream = StreamOptions::default();
    let first = simulate_dataflow(&built, &flow, &config, &stream).unwrap();
    eprintln!(
        "{model} on sharp: {} operations, {} instructions, {:.3} ms simulated",
        flow.events.len(),
        first.instructions,
        first.time_us / 1e3
    );
    let mut group = c.benchmark_group("stream");
    group.sample_size(10);
    group.throughput(Throughput::Elements(first.instructions));
    group.bench_function(format!("{model}-sharp"), |b| {
        b.iter(|| simulate_dataflow(&built, &flow, &config, &stream).unwrap())
    });
    group.finish();

    let slots = scratchpad_slots(&config, built.log_n());
    let (program, _, _) = allocate_dataflow(&built, &flow, slots, &stream).unwrap();
    let roles: Vec<_> = program.buffers.iter().map(|b| b.role).collect();
    let mut group = c.benchmark_group("timing");
    group.sample_size(10);
    group.throughput(Throughput::Elements(program.instructions.len() as u64));
    group.bench_function(format!("{model}-sharp"), |b| {
        b.iter(|| {
            let mut s = Scheduler::new(
                &config,
                program.log_n,
                &program.moduli,
                slots,
                roles.clone(),
            )
            .unwrap();
            for ins in &program.instructions {
                s.push(ins).unwrap();
            }
            let report = s.finish();
            assert_eq!(report.time_us, first.time_us);
            report
        })
    });
    group.finish();
}

criterion_group!(benches, whole_network);
criterion_main!(benches);
