//! Per-layer CKKS operation counts of the zoo networks at 8,192 slots (N = 2^14): the dense
//! baseline on the dense network against SpENCNN on the grouped one, without and with
//! sub-block pruning.
//!
//! `cargo run --release -p heaccel-host --example pack_counts [-- MODEL...]`

use heaccel_host::nn::zoo::{self, ZooModel};
use heaccel_host::pack::{
    densified, network_report, GroupChoice, NetworkReport, OpCounts, PruneConfig, SpencnnConfig,
    Strategy,
};

const SLOTS: usize = 8192;

fn row(name: &str, c: &OpCounts) -> String {
    format!(
        "{name:<34} {:>7} {:>7} {:>5} {:>8} {:>6} {:>7} {:>4}",
        c.rotations,
        c.pmults,
        c.hmults,
        c.adds + c.plain_adds,
        c.rescales,
        c.key_switches,
        c.depth
    )
}

fn print(report: &NetworkReport, label: &str) {
    println!("\n{} / {label} ({} slots)", report.network, report.slots);
    println!(
        "{:<34} {:>7} {:>7} {:>5} {:>8} {:>6} {:>7} {:>4}   cts  groups",
        "layer", "rot", "pmult", "hmult", "add", "rescale", "keysw", "lvl"
    );
    for l in &report.layers {
        if l.counts == OpCounts::default() {
            continue;
        }
        println!(
            "{}   {:>2}->{:<2} {}",
            row(&l.location, &l.counts),
            l.ciphertexts_in,
            l.ciphertexts_out,
            l.groups
        );
    }
    println!("{}", row("total", &report.total));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let models: Vec<ZooModel> = if args.is_empty() {
        ZooModel::NAMES.iter().map(|n| n.parse().unwrap()).collect()
    } else {
        args.iter()
            .map(|a| a.parse::<ZooModel>())
            .collect::<Result<_, _>>()?
    };
    let mut summary = Vec::new();
    for model in models {
        let grouped = zoo::seeded(model, zoo::DEFAULT_SEED)?;
        let dense = densified(&grouped, zoo::DEFAULT_SEED);
        let base = network_report(&dense, &Strategy::Dense, SLOTS)?;
        print(&base, "dense baseline, dense network");
        let sp = |prune| {
            Strategy::Spencnn(SpencnnConfig {
                groups: GroupChoice::Layer,
                prune,
            })
        };
        let spencnn = network_report(&grouped, &sp(None), SLOTS)?;
        print(&spencnn, "SpENCNN, grouped network, no pruning");
        let prune = PruneConfig {
            ratio: 0.5,
            taps_per_block: 1,
        };
        let pruned = network_report(&grouped, &sp(Some(prune)), SLOTS)?;
        print(
            &pruned,
            "SpENCNN, grouped network, sub-block pruning 50%, 1 tap per block",
        );
        summary.push((model.name(), base.total, spencnn.total, pruned.total));
    }
    println!("\nsummary: key switches / pmults (dense -> SpENCNN -> SpENCNN pruned 50%)");
    for (name, b, s, p) in summary {
        println!(
            "{name:<9} keysw {:>6} -> {:>6} -> {:>6}   pmult {:>7} -> {:>7} -> {:>7}   depth {} / {} / {}",
            b.key_switches, s.key_switches, p.key_switches, b.pmults, s.pmults, p.pmults, b.depth, s.depth, p.depth
        );
    }
    Ok(())
}
