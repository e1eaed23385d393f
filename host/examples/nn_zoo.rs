//! The model zoo at a glance: per network, shapes, parameter count, the plaintext forward time
//! on a seeded input and the largest |activation|; optionally exports the seeded weights.
//!
//! ```sh
//! cargo run --profile test -p heaccel-host --example nn_zoo            # figures
//! cargo run --profile test -p heaccel-host --example nn_zoo -- DIR     # also DIR/<net>.safetensors (F32)
//! ```

use std::path::PathBuf;
use std::time::Instant;

use heaccel_host::nn::weights::{self, WeightDtype};
use heaccel_host::nn::zoo::{self, ZooModel};
use heaccel_host::nn::{fold_batch_norm, forward, infer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let export = std::env::args_os().nth(1).map(PathBuf::from);
    println!(
        "{:<9} {:>12} {:>13} {:>11} {:>11} {:>10}  largest |activation| at",
        "network", "input", "parameters", "forward ms", "folded ms", "max |act|"
    );
    for name in ZooModel::NAMES {
        let model: ZooModel = name.parse()?;
        let network = zoo::seeded(model, zoo::DEFAULT_SEED)?;
        let input = weights::seeded_input(network.input_shape, 1);
        let folded = fold_batch_norm(&network)?;
        let time = |f: &dyn Fn()| {
            f(); // warm-up
            let reps = 5;
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() * 1e3 / reps as f64
        };
        let forward_ms = time(&|| {
            infer(&network, &input).unwrap();
        });
        let folded_ms = time(&|| {
            infer(&folded, &input).unwrap();
        });
        let pass = forward(&network, &input)?;
        let (location, max) = pass
            .max_abs_per_layer()
            .into_iter()
            .fold(None, |best: Option<(_, f64)>, (l, m)| match best {
                Some((_, b)) if b >= m => best,
                _ => Some((l, m)),
            })
            .ok_or("network without layers")?;
        println!(
            "{:<9} {:>12} {:>13} {:>11.2} {:>11.2} {:>10.3}  {location}",
            name,
            network.input_shape.to_string(),
            network.parameter_count(),
            forward_ms,
            folded_ms,
            max
        );
        let before_act: Vec<String> = pass
            .layer_outputs
            .iter()
            .zip(pass.layer_outputs.iter().skip(1))
            .filter(|(_, next)| next.location.kind == "activation")
            .map(|(prev, _)| format!("{:.2}", prev.output.max_abs()))
            .collect();
        println!(
            "          max |input| of each activation: {}",
            before_act.join(" ")
        );
        if let Some(dir) = &export {
            let path = dir.join(format!("{name}.safetensors"));
            weights::save_safetensors(&network, &path, WeightDtype::F32)?;
            println!("          wrote {}", path.display());
        }
    }
    Ok(())
}
