//! Shards of a run: the split covers every item once, partial files round-trip, and the merge
//! refuses every way shards can be wrong.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use heaccel_shard::merge::{merge, merge_inputs};
use heaccel_shard::{job_hash, partition, Item, Partial, PartialHeader, ShardError, ShardSpec};
use proptest::prelude::*;
use serde_json::{json, Value};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn every_item_in_exactly_one_shard(
        items in prop::collection::vec((0u64..4, 0.0f64..10.0), 0..60),
        shards in 1usize..12,
    ) {
        let items: Vec<Item> = items.into_iter().map(|(group, cost)| Item { group, cost }).collect();
        let split = partition(&items, shards);
        prop_assert_eq!(split.len(), shards);
        let mut all: Vec<usize> = split.concat();
        all.sort_unstable();
        prop_assert_eq!(all, (0..items.len()).collect::<Vec<_>>());
        for s in &split {
            prop_assert!(s.windows(2).all(|w| w[0] < w[1]));
        }
        // Deterministic.
        prop_assert_eq!(&split, &partition(&items, shards));
        // With at least as many shards as groups, no shard holds two groups.
        let groups: BTreeSet<u64> = items.iter().map(|i| i.group).collect();
        if shards >= groups.len() {
            for s in &split {
                let g: BTreeSet<u64> = s.iter().map(|&i| items[i].group).collect();
                prop_assert!(g.len() <= 1);
            }
        }
    }

    #[test]
    fn uniform_shards_differ_by_at_most_one_item(n in 0usize..500, shards in 1usize..40) {
        let split = partition(&vec![Item::uniform(); n], shards);
        let sizes: Vec<usize> = split.iter().map(Vec::len).collect();
        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        prop_assert!(hi - lo <= 1, "{:?}", sizes);
    }
}

#[test]
fn shard_specs_parse_and_refuse() {
    assert_eq!(
        "2/8".parse::<ShardSpec>().unwrap(),
        ShardSpec::new(2, 8).unwrap()
    );
    assert_eq!(ShardSpec::new(3, 7).unwrap().to_string(), "3/7");
    for (bad, why) in [
        ("0/4", "I counts from 1"),
        ("5/4", "I is larger than N"),
        ("1/0", "N must be at least 1"),
        ("1", "no `/`"),
        ("a/4", "I is not a whole number"),
        ("1/-4", "N is not a whole number"),
    ] {
        match bad.parse::<ShardSpec>() {
            Err(ShardError::Spec { given, problem }) => {
                assert_eq!(given, bad);
                assert_eq!(problem, why);
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

fn run_partials(total: usize, count: u32, hash: &str) -> Vec<Partial> {
    let split = partition(&vec![Item::uniform(); total], count as usize);
    split
        .into_iter()
        .enumerate()
        .map(|(s, items)| Partial {
            rows: items
                .iter()
                .map(|&i| (i, json!({ "value": i * 10 })))
                .collect(),
            header: PartialHeader::new(
                "sweep",
                hash.into(),
                ShardSpec::new(s as u32 + 1, count).unwrap(),
                total,
                items,
                json!({ "title": "t" }),
            ),
        })
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn partials_written_and_merged_give_every_row_in_order() {
    let dir = temp_dir("shard-merge-ok");
    let hash = job_hash(&json!({ "grid": [1, 2, 3] }));
    for p in run_partials(17, 3, &hash) {
        let path = p.write_into(&dir).unwrap();
        assert_eq!(Partial::read(&path).unwrap(), p);
    }
    let merged = merge_inputs(&[dir]).unwrap();
    assert_eq!(merged.shards, 3);
    let values: Vec<Value> = (0..17).map(|i| json!({ "value": i * 10 })).collect();
    assert_eq!(merged.rows, values);
}

fn err_of(partials: Vec<Partial>) -> String {
    let pairs = partials
        .into_iter()
        .map(|p| (PathBuf::from(p.header.file_name()), p))
        .collect();
    merge(pairs).unwrap_err().to_string()
}

#[test]
fn merge_refuses_missing_duplicated_and_mixed_shards() {
    let hash = job_hash(&json!(1));
    let mut ps = run_partials(10, 4, &hash);
    ps.remove(1);
    ps.remove(2);
    let e = err_of(ps);
    assert!(e.contains("2 of 4 shards missing: 2/4, 4/4"), "{e}");

    let mut ps = run_partials(10, 4, &hash);
    ps.push(ps[0].clone());
    assert!(err_of(ps).contains("shard 1/4 is there twice"));

    let mut ps = run_partials(10, 2, &hash);
    ps[1].header.job_hash = job_hash(&json!(2));
    let e = err_of(ps);
    assert!(e.contains("is from another run (job hash"), "{e}");

    let mut ps = run_partials(10, 2, &hash);
    ps[1].header.heaccel_version = "0.0.9".into();
    assert!(err_of(ps).contains("heaccel version 0.0.9"));

    let mut ps = run_partials(10, 2, &hash);
    ps[1].header.kind = "accuracy".into();
    assert!(err_of(ps).contains("(kind accuracy"));

    let ps = vec![
        run_partials(10, 2, &hash).remove(0),
        run_partials(10, 3, &hash).remove(1),
    ];
    assert!(err_of(ps).contains("shard count 3"));

    // Overlapping items: two splits of one size.
    let mut ps = run_partials(10, 2, &hash);
    ps[1].header.items = vec![4, 5, 6, 7, 8, 9];
    ps[1].rows = (4..10).map(|i| (i, json!(i))).collect();
    assert!(err_of(ps).contains("item 4 is in two shards"));
}

#[test]
fn truncated_or_foreign_files_are_refused_naming_file_and_line() {
    let dir = temp_dir("shard-bad-files");
    let p = run_partials(6, 1, &job_hash(&json!(0))).remove(0);
    let text = p.to_text();
    let cut: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
    let path = dir.join("sweep.shard-1-of-1.partial.jsonl");
    std::fs::write(&path, cut).unwrap();
    let e = merge_inputs(std::slice::from_ref(&dir))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sweep.shard-1-of-1.partial.jsonl, line 4: 3 rows for 6 items"),
        "{e}"
    );

    std::fs::write(&path, "index,time_us\n0,1.5\n").unwrap();
    let e = merge_inputs(std::slice::from_ref(&dir))
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1: not a partial-result header"), "{e}");

    let swapped = text.replacen("{\"index\":0,", "{\"index\":1,", 1);
    std::fs::write(&path, swapped).unwrap();
    let e = merge_inputs(std::slice::from_ref(&dir))
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2: row of item 1; expected item 0"), "{e}");

    let empty = temp_dir("shard-empty");
    let e = merge_inputs(std::slice::from_ref(&empty)).unwrap_err();
    assert!(
        matches!(&e, ShardError::Empty { folders } if folders == std::slice::from_ref(&empty)),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "no partial results (*.partial.jsonl) in {}",
            empty.display()
        )
    );
    let e = merge(Vec::new()).unwrap_err();
    assert!(matches!(&e, ShardError::Empty { folders } if folders.is_empty()));
    assert_eq!(
        e.to_string(),
        "no partial results (*.partial.jsonl) in the inputs"
    );
}

#[test]
fn an_existing_partial_is_found_only_for_its_own_job() {
    let dir = temp_dir("shard-existing");
    let hash = job_hash(&json!("a"));
    let p = run_partials(5, 2, &hash).remove(1);
    p.write_into(&dir).unwrap();
    let spec = ShardSpec::new(2, 2).unwrap();
    assert!(Partial::existing(&dir, "sweep", spec, &hash).is_some());
    assert!(Partial::existing(&dir, "sweep", spec, &job_hash(&json!("b"))).is_none());
    assert!(Partial::existing(&dir, "sweep", ShardSpec::new(1, 2).unwrap(), &hash).is_none());
}
