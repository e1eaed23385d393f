//! Network compilation and simulation: parameter choice against the reference model's
//! security bound, per-layer latency against directly lowered and simulated operations,
//! level tracking, minimax activations' counts and depths.

use heaccel_host::lowering::*;
use heaccel_host::netsim::*;
use heaccel_host::nn::zoo::{self, ZooModel};
use heaccel_host::pack::*;
use heaccel_sim::HwConfig;
use heaccel_verification::ckks::{preset, Parameters};

fn asic() -> HwConfig {
    HwConfig::preset("asic").unwrap()
}

fn lenet() -> heaccel_host::nn::Network {
    zoo::seeded(ZooModel::Lenet, zoo::DEFAULT_SEED).unwrap()
}

fn spencnn() -> Strategy {
    Strategy::Spencnn(SpencnnConfig::default())
}

#[test]
fn parameters_fit_the_bound_with_the_fewest_digits() {
    for (depth, word_bits) in [(7, 36), (9, 36), (12, 36), (20, 36), (39, 36), (9, 32)] {
        let c = select_parameters(depth, word_bits).unwrap();
        assert_eq!(c.levels, depth);
        assert!(!c.needs_bootstrapping);
        // the reference model refuses parameters beyond the 128-bit bound
        let params = c.literal().build().unwrap();
        assert_eq!(params.max_level(), depth);
        assert_eq!(params.security_bits(), Some(128), "depth {depth}");
        assert!(params.log_pq() <= c.log_pq as f64 + 1e-9);
        for q in params.q_tables().iter().chain(params.p_tables()) {
            assert!(64 - q.modulus().value().leading_zeros() <= word_bits - 2);
        }
        // one digit fewer is refused, or a smaller ring would have been chosen
        if c.dnum > 1 {
            let mut fewer = c.literal();
            fewer.dnum = c.dnum - 1;
            fewer.log_p = vec![c.special_bits; (depth + 1).div_ceil(c.dnum - 1)];
            assert!(
                fewer.build().is_err(),
                "depth {depth}: dnum {} fits",
                c.dnum - 1
            );
        }
        if c.log_n > 14 {
            let mut smaller = c.literal();
            smaller.log_n = c.log_n - 1;
            smaller.dnum = depth + 1;
            smaller.log_p = vec![c.special_bits];
            assert!(
                smaller.build().is_err(),
                "depth {depth} fits 2^{}",
                c.log_n - 1
            );
        }
    }
    // depth 12 at 36-bit words is SpENCNN's own set
    let c = select_parameters(12, 36).unwrap();
    let lit = preset("spencnn-n14").unwrap();
    assert_eq!(
        (c.literal().log_q, c.literal().log_p),
        (lit.log_q, lit.log_p)
    );
    assert_eq!((c.log_n, c.dnum), (14, 13));
}

#[test]
fn deep_networks_need_bootstrapping() {
    let c = select_parameters(286, 36).unwrap();
    assert!(c.needs_bootstrapping);
    assert_eq!((c.log_n, c.dnum, c.depth), (16, 3, 286));
    let params = c.literal().build().unwrap();
    // The bootstrapping's levels sit above the network's and its plan lands on L.
    assert_eq!((c.bootstrap_levels, c.hamming_weight), (15, Some(192)));
    assert_eq!(c.bootstrap_bits, 34);
    let boot = heaccel_verification::bootstrap::Bootstrapper::plan(
        &params,
        &heaccel_verification::bootstrap::BootstrapConfig::default_for(&params, 15).unwrap(),
    )
    .unwrap();
    assert_eq!(boot.level_after(), c.levels);
    assert_eq!(params.max_level(), c.top_level());
    assert_eq!(params.security_bits(), Some(128));
    // one more level would cross the bound
    let mut more = c.literal();
    more.log_q.push(c.bits);
    more.log_p = vec![c.special_bits; (c.top_level() + 2).div_ceil(3)];
    assert!(more.build().is_err());
    assert!(select_parameters(5, 16).is_err());
}

#[test]
fn choices_parse_and_errors_name_the_flag() {
    assert_eq!(
        "poly".parse::<ActivationChoice>().unwrap(),
        ActivationChoice::Poly
    );
    assert_eq!(
        "relu-minimax:13".parse::<ActivationChoice>().unwrap(),
        ActivationChoice::ReluMinimax(13)
    );
    assert_eq!(
        "maxpool-minimax:4".parse::<PoolChoice>().unwrap(),
        PoolChoice::MaxMinimax(4)
    );
    for bad in [
        "relu",
        "relu-minimax:3",
        "relu-minimax:15",
        "relu-minimax:x",
        "",
    ] {
        let e = bad.parse::<ActivationChoice>().unwrap_err().to_string();
        assert!(
            e.contains("--activation") && e.contains("relu-minimax:ALPHA"),
            "{e}"
        );
    }
    let e = "max".parse::<PoolChoice>().unwrap_err().to_string();
    assert!(
        e.contains("--pool") && e.contains("maxpool-minimax:ALPHA"),
        "{e}"
    );
}

#[test]
fn operation_costs_grow_with_limbs_and_keys() {
    let params = Parameters::preset("spencnn-n14").unwrap();
    let mut c = OpCoster::new(params, asic());
    let rot = |c: &mut OpCoster, k, l| c.time_us(TallyKind::Rotations { count: k }, l).unwrap();
    for level in [2, 12] {
        let (r1, r2, r5) = (
            rot(&mut c, 1, level),
            rot(&mut c, 2, level),
            rot(&mut c, 5, level),
        );
        // hoisting: the second rotation costs less than the first, linearly after
        assert!(r2 < 2.0 * r1 && r2 > r1, "{r1} {r2}");
        assert!((r5 - (r1 + 4.0 * (r2 - r1))).abs() < 1e-6);
        let pm = c.time_us(TallyKind::PMult, level).unwrap();
        let add = c.time_us(TallyKind::Add, level).unwrap();
        let hm = c.time_us(TallyKind::MulRelin, level).unwrap();
        assert!(hm > pm && r1 > pm && pm > 0.0 && add > 0.0);
    }
    for kind in [TallyKind::PMult, TallyKind::MulRelin, TallyKind::Rescale] {
        assert!(c.time_us(kind, 12).unwrap() > c.time_us(kind, 2).unwrap());
    }
}

#[test]
fn program_profiles_hold_the_program_counts() {
    let report = network_report(&lenet(), &spencnn(), 8192).unwrap();
    for row in &report.layers {
        let count = |f: &dyn Fn(&TallyKind) -> usize| -> usize {
            row.profile.iter().map(|t| t.count * f(&t.kind)).sum()
        };
        let c = &row.counts;
        assert_eq!(
            count(&|k| match k {
                TallyKind::Rotations { count } => *count,
                _ => 0,
            }),
            c.rotations,
            "{}",
            row.location
        );
        assert_eq!(count(&|k| usize::from(*k == TallyKind::PMult)), c.pmults);
        assert_eq!(count(&|k| usize::from(*k == TallyKind::MulRelin)), c.hmults);
        assert_eq!(
            count(&|k| usize::from(*k == TallyKind::Rescale)),
            c.rescales
        );
        assert_eq!(
            count(&|k| usize::from(matches!(k, TallyKind::AddPlain | TallyKind::AddConst))),
            c.plain_adds
        );
        assert!(row.profile.iter().all(|t| t.depth <= c.depth.max(1)));
    }
}

/// The network's levels run from `L` down to 0 and each layer's time is that of its
/// operations lowered and simulated directly (for the activation rows: by hand from
/// the polynomial's op sequence).
#[test]
fn lenet_latency_is_the_sum_of_its_lowered_operations() {
    let config = asic();
    let net = lenet();
    let sim = simulate_network(
        &net,
        &spencnn(),
        &ReportOptions::default(),
        (ActivationChoice::Poly, PoolChoice::Avg),
        &config,
    )
    .unwrap();
    let report = network_report(&net, &spencnn(), 8192).unwrap();
    assert_eq!(sim.params.levels, report.total.depth);
    assert_eq!(sim.layers.len(), report.layers.len());
    assert_eq!(sim.layers[0].level_in, sim.params.levels);
    assert_eq!(sim.layers.last().unwrap().level_out, 0);
    for w in sim.layers.windows(2) {
        assert_eq!(w[0].level_out, w[1].level_in);
    }
    let total: f64 = sim.layers.iter().map(|l| l.time_us).sum();
    assert!((total - sim.total.per_op_sum_us).abs() < 1e-6);
    // the whole program: one allocated stream, faster than its operations one by one
    let whole = sim
        .whole_program
        .as_ref()
        .expect("LeNet compiles into one program");
    assert_eq!(sim.total.time_us, whole.time_us);
    assert!(whole.time_us < sim.total.per_op_sum_us, "{whole:?}");
    assert_eq!(sim.total.offchip_bytes, Some(whole.offchip_bytes));
    assert!(whole.offchip_bytes >= whole.offchip_lower_bound_bytes);
    assert!(whole.instructions > 0 && whole.alloc.peak_slots <= whole.scratchpad_slots);
    assert_eq!(sim.total.key_switches, report.total.key_switches);
    assert_eq!(sim.total.pmults, report.total.pmults);

    let params = sim.params.literal().build().unwrap();
    let t = |p: heaccel_sim::Program| heaccel_sim::simulate(&p, &config).unwrap().time_us;
    let scale = params.default_scale();
    for (l, row) in sim.layers.iter().zip(&report.layers) {
        if l.kind != "activation" {
            continue;
        }
        // a x^2 + b x + c per ciphertext: add_const, mul_relin, rescale, add_const
        let lv = l.level_in;
        let one = t(lower_add_const(&params, lv, 1.0, scale).unwrap())
            + t(lower_hmult_relin(&params, lv).unwrap())
            + t(lower_rescale(&params, lv).unwrap())
            + t(lower_add_const(&params, lv - 1, 1.0, scale).unwrap());
        let want = one * row.ciphertexts_in as f64;
        assert!(
            (l.time_us - want).abs() < 1e-6 * want,
            "{}: {} vs {want}",
            l.name,
            l.time_us
        );
    }
    // a conv layer: recompute from its compiled program's ops one by one
    let input = Layout::replicated(
        net.input_shape,
        8192,
        ChannelOrder::Interleaved { groups: 1 },
    )
    .unwrap();
    let heaccel_host::nn::Layer::Conv2d(conv) = &net.layers[0] else {
        panic!("conv1 first")
    };
    let plan = conv2d(
        conv,
        &input,
        &spencnn(),
        sim_order(&report),
        BuildOptions {
            bsgs: Bsgs::Auto,
            materialize: false,
        },
    )
    .unwrap();
    assert_eq!(plan.counts, report.layers[0].counts);
    let mut coster = OpCoster::new(params.clone(), config.clone());
    let depths = plan.program.check().unwrap();
    let top = sim.params.levels;
    let mut want = 0.0;
    let mut hoisted = std::collections::BTreeMap::new();
    for op in &plan.program.ops {
        let lv = top - depths[op.operands()[0]];
        let kind = match op {
            HeOp::Rotate {
                src, hoisted: true, ..
            } => {
                *hoisted.entry(*src).or_insert(0usize) += 1;
                continue;
            }
            HeOp::Rotate { .. } => TallyKind::Rotations { count: 1 },
            HeOp::PMult { .. } => TallyKind::PMult,
            HeOp::Add { .. } => TallyKind::Add,
            HeOp::AddPlain { .. } => TallyKind::AddPlain,
            HeOp::Rescale { .. } => TallyKind::Rescale,
            HeOp::MulRelin { .. } => TallyKind::MulRelin,
            HeOp::AddConst { .. } => TallyKind::AddConst,
            HeOp::MulConst { .. } => TallyKind::MulConst,
            other => panic!("a convolution's program has no {}", other.name()),
        };
        want += coster.time_us(kind, lv).unwrap();
    }
    for (src, k) in hoisted {
        want += coster
            .time_us(TallyKind::Rotations { count: k }, top - depths[src])
            .unwrap();
    }
    assert!((sim.layers[0].time_us - want).abs() < 1e-6 * want);
}

/// LeNet's first convolution writes its output interleaved by the next convolution's groups.
fn sim_order(report: &NetworkReport) -> ChannelOrder {
    ChannelOrder::Interleaved {
        groups: report.layers[3].groups,
    }
}

#[test]
fn minimax_activations_cost_their_circuits_per_ciphertext() {
    let nl = report_options(
        ActivationChoice::ReluMinimax(6),
        PoolChoice::MaxMinimax(6),
        Repack::Never,
    )
    .unwrap();
    let act = nl.relu.clone().unwrap().circuits;
    let net = zoo::seeded(ZooModel::Hefnet, zoo::DEFAULT_SEED).unwrap();
    let report = network_report_with(&net, &spencnn(), 8192, &nl).unwrap();
    let keep = ReportOptions {
        repack_pooled: Repack::Never,
        ..ReportOptions::default()
    };
    let plain = network_report_with(&net, &spencnn(), 8192, &keep).unwrap();
    let rc = act.relu_counts();
    let (mut relus, mut pools) = (0, 0);
    for row in &report.layers {
        match row.approximation.as_deref() {
            Some("relu-minimax:6") => {
                relus += 1;
                let n = row.ciphertexts_in;
                assert_eq!(row.counts.hmults, rc.ct_mults * n);
                assert_eq!(row.counts.rescales, rc.rescales * n);
                assert_eq!(row.counts.depth, act.relu_depth() as usize);
                let muls: usize = row
                    .profile
                    .iter()
                    .filter(|t| t.kind == TallyKind::MulRelin)
                    .map(|t| t.count)
                    .sum();
                assert_eq!(muls, rc.ct_mults * n);
                // spread over every level of the circuit
                let levels: std::collections::BTreeSet<usize> =
                    row.profile.iter().map(|t| t.depth).collect();
                assert_eq!(levels.len(), act.relu_depth() as usize);
            }
            Some("maxpool-minimax:6") => {
                pools += 1;
                // 2 x 2 windows: two rotations and two max per ciphertext
                let n = row.ciphertexts_in;
                assert_eq!(row.counts.depth, 2 * act.max_depth() as usize);
                assert_eq!(row.counts.rotations, 2 * n);
                assert_eq!(row.counts.hmults, 2 * act.max_counts().ct_mults * n);
            }
            Some(other) => panic!("{other}"),
            None => assert_ne!(row.kind, "activation"),
        }
    }
    assert_eq!((relus, pools), (4, 3));
    // the linear layers are unchanged; the depth grows by the circuits'
    let extra = 4 * (act.relu_depth() as usize - 1) + 3 * 2 * act.max_depth() as usize;
    assert_eq!(report.total.depth, plain.total.depth + extra);
    assert_eq!(report.total.pmults, plain.total.pmults);
}

#[test]
fn resnet20_with_minimax_relu_is_scheduled_with_refreshes() {
    let nl = report_options(
        ActivationChoice::ReluMinimax(6),
        PoolChoice::Avg,
        Repack::Always,
    )
    .unwrap();
    let net = zoo::seeded(
        ZooModel::Resnet20(zoo::ResNet20Config::default()),
        zoo::DEFAULT_SEED,
    )
    .unwrap();
    let sim = simulate_network(
        &net,
        &spencnn(),
        &nl,
        (ActivationChoice::ReluMinimax(6), PoolChoice::Avg),
        &asic(),
    )
    .unwrap();
    assert!(sim.params.needs_bootstrapping);
    assert!(sim.total.depth > sim.params.levels);
    assert!(sim.total.refreshes >= sim.total.depth / sim.params.levels);
    assert_eq!(
        sim.layers.iter().filter(|l| l.refreshed).count(),
        sim.total.refreshes
    );
    for l in &sim.layers {
        assert!(
            l.level_in <= sim.params.levels && l.level_in >= l.depth,
            "{l:?}"
        );
        assert!(l.time_us >= 0.0);
    }
    // Every refresh is costed: each input ciphertext bootstrapped once, at the simulated
    // bootstrapping of the deep set, and the total includes it.
    let boot = sim.bootstrap.as_ref().expect("a simulated bootstrapping");
    assert_eq!(boot.level_after, sim.params.levels);
    assert_eq!(boot.level_top, sim.params.top_level());
    assert!(boot.time_us > 0.0);
    let stage_sum: f64 = boot.stages.iter().map(|s| s.1).sum();
    assert!((stage_sum - boot.time_us).abs() <= 1e-9 * boot.time_us);
    for l in &sim.layers {
        let want = if l.refreshed {
            l.ciphertexts as f64 * boot.time_us
        } else {
            0.0
        };
        assert!(
            (l.bootstrap_us - want).abs() <= 1e-9 * want.max(1.0),
            "{l:?}"
        );
        assert!(l.time_us >= l.bootstrap_us);
    }
    assert!(sim.total.bootstrappings >= sim.total.refreshes);
    let boot_total: f64 = sim.layers.iter().map(|l| l.bootstrap_us).sum();
    assert!((sim.total.bootstrap_us - boot_total).abs() <= 1e-9 * boot_total);
    let layer_total: f64 = sim.layers.iter().map(|l| l.time_us).sum();
    assert!((sim.total.per_op_sum_us - layer_total).abs() <= 1e-9 * layer_total);
    assert!(sim.total.bootstrap_us > 0.0 && sim.total.bootstrap_us < sim.total.per_op_sum_us);
    // the whole program expands every bootstrapping it places and beats the per-operation sum
    let whole = sim.whole_program.as_ref().expect("one program");
    assert!(whole.bootstrappings >= 1);
    assert_eq!(sim.total.bootstrappings, whole.bootstrappings);
    assert!(whole.time_us < sim.total.per_op_sum_us, "{whole:?}");
}

#[test]
fn the_best_repacking_is_no_slower_than_always_or_never() {
    let config = HwConfig::preset("fpga-u280").unwrap();
    let net = zoo::seeded(ZooModel::Hefnet, zoo::DEFAULT_SEED).unwrap();
    let names = (ActivationChoice::Poly, PoolChoice::Avg);
    let run = |repack| {
        let options = ReportOptions {
            repack_pooled: repack,
            ..ReportOptions::default()
        };
        simulate_network(&net, &Strategy::Dense, &options, names, &config).unwrap()
    };
    let (always, never) = (run(Repack::Always), run(Repack::Never));
    let best = simulate_network_best_repack(
        &net,
        &Strategy::Dense,
        &ReportOptions::default(),
        names,
        &config,
    )
    .unwrap();
    assert!(best.total.time_us <= always.total.time_us.min(never.total.time_us));
    // each repack costs one level
    let repacks = best.layers.iter().filter(|l| l.repacked).count();
    assert_eq!(best.total.depth, never.total.depth + repacks);
    assert_eq!(
        always.layers.iter().filter(|l| l.repacked).count(),
        always.total.depth - never.total.depth
    );
}

#[test]
fn a_compiled_network_serves_many_configurations_as_simulate_network_does() {
    let net = lenet();
    let options = report_options(ActivationChoice::Poly, PoolChoice::Avg, Repack::Always).unwrap();
    let names = (ActivationChoice::Poly, PoolChoice::Avg);
    let compiled = compile_network(&net, &spencnn(), &options, names, 36).unwrap();
    assert_eq!(compiled.word_bits(), 36);
    // scratchpads that choose different dnum, each asked twice (the second from the cache)
    let mut dnums = std::collections::BTreeSet::new();
    for bytes in [3u64 << 20, 4 << 20, 6 << 20, 256 << 20, 3 << 20] {
        let mut config = asic().into_literal();
        config.scratchpad.bytes = bytes;
        let config = HwConfig::new(config, "asic with scratchpad").unwrap();
        let direct = simulate_network(&net, &spencnn(), &options, names, &config).unwrap();
        assert_eq!(
            simulate_compiled(&compiled, &config).unwrap(),
            direct,
            "{bytes}"
        );
        dnums.insert(direct.params.dnum);
    }
    assert!(dnums.len() >= 2, "{dnums:?}");
    let mut narrow = asic().into_literal();
    narrow.word_bits = 32;
    let narrow = HwConfig::new(narrow, "asic with 32-bit words").unwrap();
    let e = simulate_compiled(&compiled, &narrow)
        .unwrap_err()
        .to_string();
    assert!(e.contains("word_bits") && e.contains("36"), "{e}");
}
