//! Deterministic, cost-balanced split of a run's items into shards.
//!
//! Every item has an estimated cost and a group: items of one group share a set-up that a
//! shard pays once if it runs any of them (a sweep compiles its network once per word size; a
//! dataset run loads its model and keys once). The split therefore keeps groups together:
//!
//! - with at least as many shards as groups, every group gets one shard, and each further
//!   shard goes to the group with the largest cost per shard so far (ties: the smaller group
//!   key); a group's items, in index order, are then cut into contiguous slices of equal cost.
//!   So no shard pays two set-ups, and shards of one group differ by at most one item's cost;
//! - with fewer shards than groups, whole groups go to the least-loaded shard, largest group
//!   first (longest-processing-time order, ties by key and shard index).
//!
//! The result depends only on the items and the shard count, never on timing, so every shard
//! of a run computes the same split independently.

/// One unit of work: its group and its estimated cost (any unit; finite, >= 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Item {
    /// Items of one group share a set-up cost a shard pays once.
    pub group: u64,
    /// Estimated cost, finite and >= 0 (a non-finite or negative estimate counts as 0).
    pub cost: f64,
}

impl Item {
    /// An item of group 0 with cost 1 (uniform work: images of one dataset).
    pub fn uniform() -> Self {
        Item {
            group: 0,
            cost: 1.0,
        }
    }

    fn weight(&self) -> f64 {
        if self.cost.is_finite() && self.cost > 0.0 {
            self.cost
        } else {
            0.0
        }
    }
}

/// Splits `items` (by position `0 .. items.len()`) into `shards` lists of positions, each
/// ascending; every position is in exactly one list. `shards >= 1`.
pub fn partition(items: &[Item], shards: usize) -> Vec<Vec<usize>> {
    assert!(shards >= 1, "partition into at least one shard");
    let mut out = vec![Vec::new(); shards];
    if items.is_empty() {
        return out;
    }
    // Groups in ascending key order, each with its positions in ascending order.
    let mut keys: Vec<u64> = items.iter().map(|i| i.group).collect();
    keys.sort_unstable();
    keys.dedup();
    let groups: Vec<Vec<usize>> = keys
        .iter()
        .map(|&k| (0..items.len()).filter(|&i| items[i].group == k).collect())
        .collect();
    let cost = |members: &[usize]| members.iter().map(|&i| items[i].weight()).sum::<f64>();
    let totals: Vec<f64> = groups.iter().map(|g| cost(g)).collect();

    if shards >= groups.len() {
        let mut given = vec![1usize; groups.len()];
        for _ in groups.len()..shards {
            let best = (0..groups.len())
                .max_by(|&a, &b| {
                    let (ca, cb) = (
                        share(totals[a], given[a], groups[a].len()),
                        share(totals[b], given[b], groups[b].len()),
                    );
                    ca.total_cmp(&cb).then(b.cmp(&a))
                })
                .expect("items exist, so groups do");
            given[best] += 1;
        }
        let mut next = 0;
        for (g, members) in groups.iter().enumerate() {
            for (k, slice) in cut(members, given[g], |i| items[i].weight())
                .into_iter()
                .enumerate()
            {
                out[next + k] = slice;
            }
            next += given[g];
        }
    } else {
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]).then(keys[a].cmp(&keys[b])));
        let mut load = vec![0f64; shards];
        for g in order {
            let s = (0..shards)
                .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
                .expect("shards >= 1");
            load[s] += totals[g].max(f64::MIN_POSITIVE);
            out[s].extend(&groups[g]);
        }
        out.iter_mut().for_each(|s| s.sort_unstable());
    }
    out
}

/// A group's cost per shard if it had `shards` of them; a group with no more items than
/// shards gains nothing from another.
fn share(total: f64, shards: usize, items: usize) -> f64 {
    if shards >= items {
        f64::NEG_INFINITY
    } else {
        // Uniform-cost groups of zero estimate still split by count.
        (total + items as f64 * f64::EPSILON) / shards as f64
    }
}

/// Cuts `members` (in order) into `parts` contiguous slices of about equal cost: slice `k`
/// ends at the first member whose prefix cost reaches `(k + 1) / parts` of the total. With no
/// cost at all the slices are of equal count.
fn cut(members: &[usize], parts: usize, weight: impl Fn(usize) -> f64) -> Vec<Vec<usize>> {
    let total: f64 = members.iter().map(|&i| weight(i)).sum();
    let weights: Vec<f64> = if total > 0.0 {
        members.iter().map(|&i| weight(i)).collect()
    } else {
        vec![1.0; members.len()]
    };
    let total: f64 = weights.iter().sum();
    let mut out = vec![Vec::new(); parts];
    let mut prefix = 0.0;
    for (&member, w) in members.iter().zip(&weights) {
        // The member's midpoint decides its slice, so a slice gets the members whose cost lies
        // mostly inside its share.
        let mid = prefix + w / 2.0;
        let k = ((mid / total * parts as f64) as usize).min(parts - 1);
        out[k].push(member);
        prefix += w;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(n: usize) -> Vec<Item> {
        vec![Item::uniform(); n]
    }

    #[test]
    fn uniform_items_split_into_contiguous_equal_slices() {
        let p = partition(&uniform(10), 3);
        assert_eq!(p, vec![vec![0, 1, 2], vec![3, 4, 5, 6], vec![7, 8, 9]]);
        let p = partition(&uniform(2), 4);
        assert_eq!(p.iter().filter(|s| s.is_empty()).count(), 2);
    }

    #[test]
    fn groups_are_kept_together_and_shards_follow_cost() {
        // Group 1 costs three times group 0: with 4 shards it gets 3 of them.
        let mut items: Vec<Item> = (0..6)
            .map(|_| Item {
                group: 0,
                cost: 1.0,
            })
            .collect();
        items.extend((0..6).map(|_| Item {
            group: 1,
            cost: 3.0,
        }));
        let p = partition(&items, 4);
        assert_eq!(p[0], vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(p[1], vec![6, 7]);
        assert_eq!(p[2], vec![8, 9]);
        assert_eq!(p[3], vec![10, 11]);
    }

    #[test]
    fn fewer_shards_than_groups_pack_whole_groups() {
        let items: Vec<Item> = (0..9)
            .map(|i| Item {
                group: i / 3,
                cost: 1.0 + (i / 3) as f64,
            })
            .collect();
        let p = partition(&items, 2);
        // Group 2 (cost 9) alone, groups 1 (6) and 0 (3) together.
        assert_eq!(p[0], vec![6, 7, 8]);
        assert_eq!(p[1], vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn costly_items_are_balanced_by_cost_not_count() {
        let mut items = vec![Item {
            group: 0,
            cost: 10.0,
        }];
        items.extend((0..10).map(|_| Item {
            group: 0,
            cost: 1.0,
        }));
        let p = partition(&items, 2);
        assert_eq!(p[0], vec![0]);
        assert_eq!(p[1], (1..11).collect::<Vec<_>>());
    }
}
