//! Whole CKKS operations on the core (`verify_core_operation`): HMult with relinearization,
//! rotation, rescale and conjugation at N = 2^10, lowered by the host from real ciphertexts
//! and keys, run on the rust-hdl core, every stored limb bit-exact with the functional
//! executor and the output ciphertext bit-exact with the reference evaluator, the core's
//! cycles within 5% of the simulator's on the configuration describing it (overlapped issue:
//! the scoreboard policy), and fewer than the same core's one instruction at a time.

use heaccel_corun::{verify_core_operation, CoreIssue, CoreOperation};

#[test]
fn every_operation_is_bit_exact_on_the_rust_hdl_core() {
    for op in [
        CoreOperation::Rescale,
        CoreOperation::Rotate,
        CoreOperation::Conjugate,
        CoreOperation::Hmult,
    ] {
        let t = std::time::Instant::now();
        let r = verify_core_operation(op, 10, 2, 1, None, false, CoreIssue::Overlapped).unwrap();
        eprintln!(
            "{}: {} instructions, {} cycles, {:?}, {} ({:.1} s)",
            op.name(),
            r.instructions,
            r.core_cycles,
            r.simulator
                .iter()
                .map(|c| (c.config.clone(), c.simulator))
                .collect::<Vec<_>>(),
            r.reference_detail,
            t.elapsed().as_secs_f64()
        );
        assert!(
            r.rust_hdl_bit_exact,
            "{}: core vs functional executor",
            op.name()
        );
        assert_eq!(
            r.reference_bit_exact,
            Some(true),
            "{}: core vs evaluator",
            op.name()
        );
        assert_eq!(r.cycles_within_tolerance, Some(true), "{}", op.name());
        assert!(r.simulator_match.ends_with("-derived-scoreboard"));
        assert!(r.pass);
        // The in-order core: the same figures, more cycles.
        let serial = verify_core_operation(op, 10, 2, 1, None, false, CoreIssue::InOrder).unwrap();
        assert!(serial.pass && serial.simulator_match.ends_with("-derived"));
        assert!(
            r.core_cycles < serial.core_cycles,
            "{}: overlap saved nothing",
            op.name()
        );
    }
}

/// Rescale (intt, centered bconv, ntt, sub, mul_scalar per limb) on the Verilator-built core:
/// the Verilog stores exactly what the reference computes, in the rust-hdl model's cycles.
#[test]
fn rescale_on_verilator_is_bit_exact() {
    if !heaccel_hdl::verilog::tool_available("verilator") {
        eprintln!("notice: verilator not installed; rescale co-run skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("heaccel-op-rescale-{}", std::process::id()));
    let t = std::time::Instant::now();
    let r = verify_core_operation(
        CoreOperation::Rescale,
        10,
        2,
        2,
        Some(&dir),
        false,
        CoreIssue::Overlapped,
    )
    .unwrap();
    eprintln!(
        "rescale verilator: {} ({:.1} s)",
        r.verilator_detail,
        t.elapsed().as_secs_f64()
    );
    assert_eq!(r.verilator, "pass", "{}", r.verilator_detail);
    assert_eq!(r.reference_bit_exact, Some(true));
    let _ = std::fs::remove_dir_all(&dir);
}
