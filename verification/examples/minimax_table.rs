//! Prints the composite minimax sign table: per precision alpha, the degrees, the target
//! interval, the measured error, the depth and the ciphertext multiplications of the
//! minimal-depth evaluation (sign, ReLU, max).
//!
//! `cargo run --release -p heaccel-verification --example minimax_table`

use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::minimax::CompositeSign;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("| alpha | degrees | target interval | max error | bits | depth | ct mults sign / ReLU / max | Remez iterations |");
    println!("|---|---|---|---|---|---|---|---|");
    for alpha in 4..=14 {
        let c = CompositeSign::for_alpha(alpha, None)?;
        let act = MinimaxActivation::new(c.clone())?;
        let sign_mults = act.relu_counts().ct_mults - 1;
        let iterations: Vec<usize> = c.stages().iter().map(|s| s.iterations()).collect();
        println!(
            "| {alpha} | {:?} | [2^{}, 1] | {:.3e} | {:.2} | {} | {} / {} / {} | {:?} |",
            c.degrees(),
            c.eps().log2(),
            c.max_error(),
            -c.max_error().log2(),
            c.depth(),
            sign_mults,
            act.relu_counts().ct_mults,
            act.max_counts().ct_mults,
            iterations
        );
    }
    Ok(())
}
