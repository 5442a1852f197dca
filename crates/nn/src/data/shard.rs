//! Sharding an epoch's order over the workers of a data-parallel run: every worker shuffles the same
//! permutation from the same seed and keeps its own slice of every global batch.

/// The rows of `order` (one epoch's permutation, the same on every worker) that worker `rank` of
/// `world` trains on, in its batch order: from every global batch of `world · batch_size` rows, the
/// `rank`-th run of `batch_size` rows.
///
/// Global batch `k` on rank `r` is thus `order[k·W·B + r·B ..][..B]`: the `r`-th micro-batch of a
/// single process that trains on batches of `W·B` rows split into `W` micro-batches. A last global
/// batch of `m < W·B` rows is dropped with `drop_last`; otherwise it is split into `W` runs as even as
/// possible, in order (the first `m mod W` ranks one row more), and when `m < W` rank `r` takes row
/// `r mod m` of it, as PyTorch's `DistributedSampler` pads by repeating rows, so that every worker
/// takes the same number of steps.
///
/// ```
/// use wengert::nn::data::shard_order;
/// let order: Vec<usize> = (0..10).collect();
/// assert_eq!(shard_order(&order, 2, 0, 2, false), [0, 1, 4, 5, 8]);
/// assert_eq!(shard_order(&order, 2, 1, 2, false), [2, 3, 6, 7, 9]);
/// assert_eq!(shard_order(&order, 2, 1, 2, true), [2, 3, 6, 7]);
/// ```
///
/// # Panics
///
/// When `batch_size` or `world` is zero, or `rank >= world`.
#[track_caller]
pub fn shard_order(
    order: &[usize],
    batch_size: usize,
    rank: usize,
    world: usize,
    drop_last: bool,
) -> Vec<usize> {
    assert!(
        batch_size > 0 && world > 0,
        "shard_order: batch_size {batch_size} and world {world} must be at least 1"
    );
    assert!(rank < world, "shard_order: rank {rank} is not below the world size {world}");
    let global = batch_size * world;
    let full = order.len() / global;
    let mut mine = Vec::with_capacity(full * batch_size + batch_size);
    for k in 0..full {
        let at = k * global + rank * batch_size;
        mine.extend_from_slice(&order[at..at + batch_size]);
    }
    let tail = &order[full * global..];
    if !tail.is_empty() && !drop_last {
        mine.extend(tail_part(tail, rank, world));
    }
    mine
}

/// Rank `rank`'s run of a last, short global batch.
fn tail_part(tail: &[usize], rank: usize, world: usize) -> Vec<usize> {
    let m = tail.len();
    if m < world {
        return vec![tail[rank % m]];
    }
    let (base, extra) = (m / world, m % world);
    let start = rank * base + rank.min(extra);
    let len = base + usize::from(rank < extra);
    tail[start..start + len].to_vec()
}

/// The number of batches each worker takes per epoch from `rows` rows: the same on every rank.
pub fn shard_batches(rows: usize, batch_size: usize, world: usize, drop_last: bool) -> usize {
    let global = batch_size * world;
    let full = rows / global;
    full + usize::from(!drop_last && !rows.is_multiple_of(global))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_taken_exactly_once_per_epoch_when_the_tail_covers_the_ranks() {
        for (n, b, w) in [(10, 2, 2), (39, 4, 3), (64, 8, 4), (9, 5, 2), (7, 1, 7)] {
            let order: Vec<usize> = (0..n).rev().collect();
            let mut seen: Vec<usize> = (0..w).flat_map(|r| shard_order(&order, b, r, w, false)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n {n} b {b} w {w}");
        }
    }

    #[test]
    fn every_rank_takes_the_same_number_of_batches() {
        for (n, b, w, drop) in
            [(10, 2, 2, false), (11, 2, 2, false), (11, 2, 2, true), (3, 4, 4, false), (33, 4, 3, true)]
        {
            let order: Vec<usize> = (0..n).collect();
            for r in 0..w {
                let rows = shard_order(&order, b, r, w, drop).len();
                assert_eq!(rows.div_ceil(b), shard_batches(n, b, w, drop), "n {n} b {b} w {w} rank {r}");
            }
        }
    }

    #[test]
    fn full_global_batches_are_the_micro_batches_of_one_process_in_rank_order() {
        let order: Vec<usize> = (100..124).collect();
        let shards: Vec<Vec<usize>> = (0..3).map(|r| shard_order(&order, 4, r, 3, true)).collect();
        let interleaved: Vec<usize> =
            (0..2).flat_map(|k| shards.iter().flat_map(move |s| s[k * 4..k * 4 + 4].to_vec())).collect();
        assert_eq!(interleaved, order);
    }

    #[test]
    fn a_tail_shorter_than_the_world_repeats_its_rows_and_an_uneven_one_is_split_evenly() {
        let order = [5, 6, 7, 8, 9, 10, 11, 12, 13];
        assert_eq!(shard_order(&order, 4, 0, 2, false), [5, 6, 7, 8, 13]);
        assert_eq!(shard_order(&order, 4, 1, 2, false), [9, 10, 11, 12, 13]);
        assert_eq!(shard_order(&order, 4, 1, 2, true), [9, 10, 11, 12]);
        assert_eq!(shard_order(&[5, 6, 7], 4, 1, 2, false), [7]);
    }

    #[test]
    #[should_panic(expected = "shard_order: rank 2 is not below the world size 2")]
    fn a_rank_outside_the_world_is_refused() {
        shard_order(&[0, 1], 1, 2, 2, false);
    }
}
