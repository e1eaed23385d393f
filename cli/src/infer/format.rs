//! The table `heaccel infer` prints.

use std::fmt::Write as _;

use heaccel_host::infer::Backend;

use super::InferReport;

/// The table of `heaccel infer`.
pub fn format_infer(r: &InferReport) -> String {
    let mut s = String::new();
    let p = &r.params;
    let _ = writeln!(
        s,
        "{} / {} encrypted on the {} backend{}",
        r.model,
        r.strategy,
        r.backend,
        match r.backend {
            Backend::Functional => " (accelerator ISA, functional executor)",
            Backend::Reference => " (reference evaluator)",
        }
    );
    let _ = writeln!(
        s,
        "  N = 2^{}, L = {} (depth {} + 1 headroom), dnum {}, {} special primes, log2 PQ {} (bound {}), {} slots",
        p.log_n,
        p.levels,
        r.ops.depth,
        p.dnum,
        p.special_primes,
        p.log_pq,
        p.bound,
        r.slots
    );
    let _ = writeln!(
        s,
        "  program: {} rotations, {} pmults, {} hmults, {} rescales; {} rotation keys",
        r.ops.rotations, r.ops.pmults, r.ops.hmults, r.ops.rescales, r.rotation_keys
    );
    let _ = writeln!(
        s,
        "  setup: compile {:.0} ms, parameters and keys {:.0} ms",
        r.setup.compile_ms, r.setup.keygen_ms
    );
    let _ = writeln!(
        s,
        "\n{:<16} {:>10} {:>8} {:>10} {:>8} {:>10} {:>9} {:>10} {:>9} {:>8}  check",
        "input",
        "max |err|",
        "range",
        "err/range",
        "argmax",
        "total ms",
        "encrypt",
        "evaluate",
        "decrypt",
        "plain",
    );
    for i in &r.inputs {
        let x = &i.result;
        let _ = writeln!(
            s,
            "{:<16} {:>10.3e} {:>8.4} {:>10.3e} {:>8} {:>10.1} {:>9.1} {:>10.1} {:>9.1} {:>8.1}  {}",
            i.input,
            x.max_abs_error,
            x.output_range,
            x.relative_error,
            format!("{}/{}", x.argmax_plain, x.argmax_encrypted),
            x.times.total_ms,
            x.times.encrypt_ms,
            x.times.evaluate_ms,
            x.times.decrypt_ms,
            x.times.plain_ms,
            if x.passes { "ok" } else { "FAIL" }
        );
    }
    let m = &r.summary;
    let _ = writeln!(
        s,
        "\n  {}/{} inputs pass (max abs error < {:e} of the output range, same argmax): worst err/range {:.3e}, argmax agrees {}/{}",
        m.passed,
        m.count,
        r.tolerance,
        m.max_relative_error,
        m.argmax_agree,
        m.count,
    );
    if let (Some(enc), Some(plain)) = (m.encrypted_top1, m.plaintext_top1) {
        let _ = writeln!(
            s,
            "  top-1 on the labels: encrypted {:.2} %, plaintext {:.2} % ({} images)",
            enc * 100.0,
            plain * 100.0,
            m.count
        );
    }
    let _ = writeln!(
        s,
        "  {:.1} ms per inference ({:.1} ms evaluating){}",
        m.mean_total_ms,
        m.mean_evaluate_ms,
        m.mean_cpu_ms
            .map(|c| format!("; {c:.0} ms of CPU time (wall time is larger on a busy machine)"))
            .unwrap_or_default()
    );
    s
}
