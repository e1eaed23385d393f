//! Key reuse across operations (ARK's inter-operation key reuse): independent operations
//! reordered so that those reading the same switching key run back to back, and the key is
//! loaded once while it stays on chip instead of once per operation.
//!
//! A list schedule of the dataflow: an operation is ready once every value it reads is
//! defined (values are defined once, so reads after writes are the only dependences). At each
//! step the earliest ready operation that reads a key of the last key-reading operation runs,
//! else the earliest ready operation. Only operations within `window` positions of the
//! earliest unscheduled one are candidates, which bounds how far an operation moves and so
//! how many more values are live at once.

use std::collections::{BTreeSet, HashMap};

use super::trace::{Dataflow, StreamEvent, StreamOp};

/// The switching keys an operation reads: `None` is the relinearization key.
pub(crate) fn keys_of(op: &StreamOp) -> Vec<Option<u64>> {
    match op {
        StreamOp::MulRelin { .. } => vec![None],
        StreamOp::Rotations { galois, .. } => galois.iter().map(|&g| Some(g)).collect(),
        _ => vec![],
    }
}

/// `flow` with its operations reordered for key reuse (see the module docs); `window >= 1`
/// (1: the original order). The result computes the same values.
pub fn reorder_for_key_reuse(flow: &Dataflow, window: usize) -> Dataflow {
    let n = flow.events.len();
    let window = window.max(1);
    // which event defines each value (inputs: none)
    let mut producer = vec![usize::MAX; flow.levels.len()];
    for (k, e) in flow.events.iter().enumerate() {
        for &v in &e.writes {
            producer[v] = k;
        }
    }
    let mut waiting = vec![0usize; n];
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, e) in flow.events.iter().enumerate() {
        let mut deps: Vec<usize> = e
            .reads
            .iter()
            .map(|&v| producer[v])
            .filter(|&p| p != usize::MAX)
            .collect();
        deps.sort_unstable();
        deps.dedup();
        waiting[k] = deps.len();
        for p in deps {
            consumers[p].push(k);
        }
    }
    let keys: Vec<Vec<Option<u64>>> = flow.events.iter().map(|e| keys_of(&e.op)).collect();
    let mut ready: BTreeSet<usize> = (0..n).filter(|&k| waiting[k] == 0).collect();
    let mut ready_by_key: HashMap<Option<u64>, BTreeSet<usize>> = HashMap::new();
    for &k in &ready {
        for g in &keys[k] {
            ready_by_key.entry(*g).or_default().insert(k);
        }
    }
    let mut done = vec![false; n];
    let mut first_pending = 0usize;
    let mut last_keys: Vec<Option<u64>> = Vec::new();
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        while done[first_pending] {
            first_pending += 1;
        }
        let limit = first_pending + window;
        let same_key = last_keys
            .iter()
            .filter_map(|g| ready_by_key.get(g)?.iter().next().copied())
            .filter(|&k| k < limit)
            .min();
        let k = match same_key {
            Some(k) => k,
            None => *ready.iter().next().expect("a dataflow has no cycles"),
        };
        ready.remove(&k);
        for g in &keys[k] {
            if let Some(set) = ready_by_key.get_mut(g) {
                set.remove(&k);
            }
        }
        if !keys[k].is_empty() {
            last_keys.clone_from(&keys[k]);
        }
        done[k] = true;
        order.push(k);
        for &c in &consumers[k] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.insert(c);
                for g in &keys[c] {
                    ready_by_key.entry(*g).or_default().insert(c);
                }
            }
        }
    }
    let events: Vec<StreamEvent> = order.iter().map(|&k| flow.events[k].clone()).collect();
    Dataflow {
        events,
        levels: flow.levels.clone(),
        scales: flow.scales.clone(),
        inputs: flow.inputs.clone(),
        outputs: flow.outputs.clone(),
        bootstrappings: flow.bootstrappings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::trace::PlainKey;

    fn rotation(level: usize, g: u64, read: usize, write: usize) -> StreamEvent {
        StreamEvent {
            op: StreamOp::Rotations {
                level,
                galois: vec![g],
            },
            reads: vec![read],
            writes: vec![write],
            plains: Vec::<PlainKey>::new(),
            source: 0,
        }
    }

    #[test]
    fn independent_rotations_by_one_key_run_back_to_back_after_their_operands() {
        // values 0, 1 inputs; 2 = rot5(0), 3 = rot25(1), 4 = rot5(1), 5 = rot25(2) (needs 2)
        let flow = Dataflow {
            events: vec![
                rotation(3, 5, 0, 2),
                rotation(3, 25, 1, 3),
                rotation(3, 5, 1, 4),
                rotation(3, 25, 2, 5),
            ],
            levels: vec![3; 6],
            scales: vec![1.0; 6],
            inputs: vec![0, 1],
            outputs: vec![3, 4, 5],
            bootstrappings: 0,
        };
        let order = |w| -> Vec<usize> {
            reorder_for_key_reuse(&flow, w)
                .events
                .iter()
                .map(|e| e.writes[0])
                .collect()
        };
        assert_eq!(order(1), [2, 3, 4, 5], "window 1 keeps the order");
        assert_eq!(
            order(8),
            [2, 4, 3, 5],
            "the two rotations by 5, then the two by 25"
        );
        // after the first, the earliest unscheduled is the second: a window of 2 reaches the third
        assert_eq!(order(2), [2, 4, 3, 5]);
    }
}
