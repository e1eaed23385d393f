//! Fast: the cleartext interpreter itself: each operation's semantics on slot vectors, the
//! minimax ReLU and out-of-range counting, refused programs and inputs.

use super::networks::{minimax, ALPHA};
use super::*;

#[test]
fn each_operation_on_slot_vectors() {
    let slots = 8;
    let mut prog = HeProgram::new(slots, 2);
    let w: Vec<f64> = (0..slots).map(|t| t as f64 - 2.5).collect();
    let p = prog.add_plaintext("w".into(), w.clone());
    let r = prog.push(HeOp::Rotate {
        src: 0,
        step: 3,
        hoisted: true,
    });
    let rn = prog.push(HeOp::Rotate {
        src: 0,
        step: -1,
        hoisted: false,
    });
    let m = prog.push(HeOp::PMult { src: r, plain: p });
    let m = prog.push(HeOp::Rescale { src: m });
    let a = prog.push(HeOp::AddPlain { src: 1, plain: p });
    let a = prog.push(HeOp::DropLevel { src: a, levels: 1 });
    let s = prog.push(HeOp::Add { a: m, b: a });
    let q = prog.push(HeOp::MulRelin { a: s, b: s });
    let q = prog.push(HeOp::Rescale { src: q });
    let c = prog.push(HeOp::MulConst {
        src: q,
        value: -0.5,
    });
    let c = prog.push(HeOp::Rescale { src: c });
    let c = prog.push(HeOp::AddConst { src: c, value: 2.0 });
    let b = prog.push(HeOp::Bootstrap { src: c });
    prog.outputs = vec![b, rn, 1];
    let x: Vec<f64> = (0..slots).map(|t| 10.0 * t as f64).collect();
    let y: Vec<f64> = (0..slots).map(|t| 1.0 / (t as f64 + 1.0)).collect();
    let run = run_cleartext_with(
        &prog,
        &[x.clone(), y.clone()],
        CleartextOptions {
            relu: None,
            input_level: Some(3),
        },
    )
    .unwrap();
    let want: Vec<f64> = (0..slots)
        .map(|t| {
            let s = x[(t + 3) % slots] * w[t] + (y[t] + w[t]);
            -0.5 * (s * s) + 2.0
        })
        .collect();
    assert_eq!(run.outputs[0], want);
    // left rotation: new slot t = old slot t + step
    let want_rn: Vec<f64> = (0..slots).map(|t| x[(t + slots - 1) % slots]).collect();
    assert_eq!(run.outputs[1], want_rn);
    assert_eq!(run.outputs[2], y, "an input as an output");
    assert_eq!(run.output_depths, vec![0, 0, 0]);
    assert_eq!(run.max_depth, 3);
    assert_eq!(run.relu_outside, 0);
    // three levels are consumed before the bootstrapping: two are not enough
    let e = run_cleartext_with(
        &prog,
        &[x.clone(), y.clone()],
        CleartextOptions {
            relu: None,
            input_level: Some(2),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("op 10: rescale reaches depth 3"), "{e}");
}

#[test]
fn relu_is_the_minimax_polynomial_and_out_of_range_inputs_are_counted() {
    let act = minimax();
    let slots = 4;
    let mut prog = HeProgram::new(slots, 1);
    prog.relu = Some(ReluSpec {
        alpha: ALPHA,
        eps: act.composite().eps(),
        depth: act.relu_depth() as usize,
    });
    let r = prog.push(HeOp::Relu {
        src: 0,
        multiplier: 3.0,
    });
    prog.outputs = vec![r];
    let x = vec![-0.9, -0.1, 0.4, 1.5];
    let run = run_cleartext_with(
        &prog,
        std::slice::from_ref(&x),
        CleartextOptions {
            relu: Some(&act),
            input_level: None,
        },
    )
    .unwrap();
    let want: Vec<f64> = x.iter().map(|&t| 3.0 * act.relu_plain(t)).collect();
    assert_eq!(run.outputs[0], want);
    assert_eq!(run.relu_outside, 1, "1.5 is outside [-1, 1]");
    assert_eq!(run.max_depth, act.relu_depth() as usize);
    // close to 3 ReLU(x) inside the range
    assert!(
        (run.outputs[0][2] - 1.2).abs() < 0.1,
        "{:?}",
        run.outputs[0]
    );
    // no activation, or another one than the program's, is refused
    let e = run_cleartext(&prog, std::slice::from_ref(&x), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no minimax activation"), "{e}");
    let other = MinimaxActivation::new(CompositeSign::for_alpha(8, None).unwrap()).unwrap();
    let e = run_cleartext(&prog, std::slice::from_ref(&x), Some(&other))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ReluSpec"), "{e}");
}

#[test]
fn bad_programs_and_inputs_are_refused() {
    let mut prog = HeProgram::new(8, 1);
    let p = prog.add_plaintext("w".into(), vec![1.0; 8]);
    let m = prog.push(HeOp::PMult { src: 0, plain: p });
    prog.outputs = vec![m];
    let e = run_cleartext(&prog, &[vec![0.0; 8], vec![0.0; 8]], None).unwrap_err();
    assert!(e.to_string().contains("2 slot vectors given"), "{e}");
    let e = run_cleartext(&prog, &[vec![0.0; 4]], None).unwrap_err();
    assert!(e.to_string().contains("input 0 has 4 values"), "{e}");
    // the program's own check runs first (depths of an addition's operands differ)
    let mut uneven = prog.clone();
    let r = uneven.push(HeOp::Rescale { src: m });
    uneven.push(HeOp::Add { a: r, b: 0 });
    assert!(run_cleartext(&uneven, &[vec![0.0; 8]], None).is_err());
    // a program built for counting only cannot run
    prog.plaintexts[p].values.clear();
    assert!(matches!(
        run_cleartext(&prog, &[vec![0.0; 8]], None),
        Err(PackError::NotMaterialized)
    ));
}
