//! Runs one CKKS operation in a loop for profiling: `profile_ops OP PRESET ITERS`
//! (OP: hmult_relin, rotate, rescale, add, pmult, encrypt, decrypt_decode).
use heaccel_verification::ckks::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map(String::as_str).unwrap_or("hmult_relin");
    let preset = args.get(2).map(String::as_str).unwrap_or("spencnn-n14");
    let iters: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let params = Parameters::preset(preset).unwrap();
    let mut kg = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(1));
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk).unwrap();
    let rlk = kg.gen_relin_key(&sk).unwrap();
    let gks = kg.gen_galois_keys(&sk, &[1], false).unwrap();
    let ev = Evaluator::new(&params, Some(rlk), Some(gks)).unwrap();
    let enc = Encoder::new(&params);
    let dec = Decryptor::new(&params, &sk).unwrap();
    let mut e = Encryptor::new(&params, EncryptionKey::Public(pk)).unwrap();
    let x: Vec<f64> = (0..params.max_slots())
        .map(|i| (i as f64 * 0.37).sin())
        .collect();
    let pt = enc
        .encode_real(&x, params.max_level(), params.default_scale())
        .unwrap();
    let ct = e.encrypt(&pt).unwrap();
    let prod = ev.mul_relin(&ct, &ct).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..iters {
        match op {
            "hmult_relin" => drop(ev.mul_relin(&ct, &ct).unwrap()),
            "rotate" => drop(ev.rotate(&ct, 1).unwrap()),
            "rescale" => drop(ev.rescale(&prod).unwrap()),
            "add" => drop(ev.add(&ct, &ct).unwrap()),
            "pmult" => drop(ev.mul_plain(&ct, &pt).unwrap()),
            "encrypt" => drop(e.encrypt(&pt).unwrap()),
            "decrypt_decode" => drop(enc.decode(&dec.decrypt(&ct).unwrap()).unwrap()),
            other => panic!("unknown op {other}"),
        }
    }
    println!(
        "{op} on {preset}: {:.3} ms per op",
        start.elapsed().as_secs_f64() * 1e3 / iters as f64
    );
}
