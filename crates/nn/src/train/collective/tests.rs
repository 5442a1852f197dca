use std::cell::RefCell;

use super::*;
use crate::optim::GradAccumulator;

/// A fake world of `size` ranks seen from `rank`: the other ranks' messages are scripted.
struct Scripted {
    rank: usize,
    size: usize,
    others: RefCell<Vec<Vec<f64>>>,
    bucket: usize,
    gathers: RefCell<usize>,
}

impl Collective for Scripted {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn bucket_bytes(&self) -> usize {
        self.bucket
    }
    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>, CollectiveError> {
        let other = self.others.borrow_mut().remove(0);
        *self.gathers.borrow_mut() += 1;
        let mut all: Vec<f32> = local.to_vec();
        all.extend(other.iter().map(|&v| v as f32));
        Ok(all)
    }
    fn all_gather_f64(&self, local: &[f64]) -> Result<Vec<f64>, CollectiveError> {
        let other = self.others.borrow_mut().remove(0);
        let mut all = local.to_vec();
        all.extend(other);
        Ok(all)
    }
    fn broadcast_bytes(&self, _bytes: &mut Vec<u8>) -> Result<(), CollectiveError> {
        Ok(())
    }
}

fn param(name: &str, values: &[f32]) -> Param<f32> {
    Param::new(name, Tensor::from_vec(values.to_vec(), &[values.len()]).unwrap())
}

struct Fixed(Vec<(u64, Tensor<f32>)>);

impl GradientsParam<f32> for Fixed {
    fn param(&self, p: &Param<f32>) -> Option<&Tensor<f32>> {
        self.0.iter().find(|(id, _)| *id == p.id()).map(|(_, t)| t)
    }
}

#[test]
fn gathered_gradients_are_added_in_rank_order_as_one_process_adds_micro_batches() {
    let (a, b) = (param("a", &[0.0, 0.0, 0.0]), param("b", &[0.0]));
    let mine = Fixed(vec![(a.id(), Tensor::from_vec(vec![0.1, 0.2, 0.3], &[3]).unwrap())]);
    let theirs = Fixed(vec![
        (a.id(), Tensor::from_vec(vec![0.7, 1e8, -0.3], &[3]).unwrap()),
        (b.id(), Tensor::from_vec(vec![2.5], &[1]).unwrap()),
    ]);
    // Rank 1's header: 5 rows, loss 2.0, gradients of a and b; then its gradients in two buckets of
    // 2 floats (8 bytes): [0.7, 1e8], [-0.3, 2.5].
    let others = vec![vec![1.0, 5.0, 2.0, 1.0, 1.0], vec![0.7, 1e8], vec![-0.3, 2.5]];
    let world =
        Scripted { rank: 0, size: 2, others: RefCell::new(others), bucket: 8, gathers: RefCell::new(0) };
    let params = [a.clone(), b.clone()];
    let mut acc = GradAccumulator::new(params.to_vec());
    let rows = all_reduce_gradients(&world, &params, &mine, 3, 1.0, &mut acc).unwrap();
    assert_eq!((rows, *world.gathers.borrow()), (8, 2));

    let mut reference = GradAccumulator::new(params.to_vec());
    reference.add(&mine, 3.0);
    reference.add(&theirs, 5.0);
    assert_eq!(acc.param(&a).unwrap().to_vec(), reference.param(&a).unwrap().to_vec());
    assert_eq!(acc.param(&b).unwrap().to_vec(), vec![12.5]);
    assert_eq!(acc.micro_batches(), 2);
}

#[test]
fn the_mean_loss_weights_each_rank_by_its_rows() {
    let batches = [RankBatch { rows: 1, loss: 4.0 }, RankBatch { rows: 3, loss: 0.0 }];
    assert_eq!(mean_loss(&batches), 1.0);
}

#[test]
fn ranks_at_different_points_of_their_loop_fail_instead_of_mixing_data() {
    let world = Scripted {
        rank: 0,
        size: 2,
        others: RefCell::new(vec![vec![KIND_EPOCH, 0.0, 0.0, 0.0]]),
        bucket: 8,
        gathers: RefCell::new(0),
    };
    let a = param("a", &[0.0]);
    let err = exchange_batch(&world, &[a], &Fixed(Vec::new()), RankBatch { rows: 1, loss: 0.0 }).unwrap_err();
    assert!(
        err.to_string().contains("rank 0 reached a batch while rank 1 reached the end of an epoch"),
        "{err}"
    );
}

#[test]
fn a_single_process_gathers_its_own_values() {
    assert_eq!(all_gather(&SingleProcess, vec![1.0f32, 2.0]).unwrap(), [1.0, 2.0]);
    assert_eq!(all_gather(&SingleProcess, vec![3.0f64]).unwrap(), [3.0]);
    let mut bytes = vec![1, 2];
    SingleProcess.broadcast_bytes(&mut bytes).unwrap();
    assert_eq!(bytes, [1, 2]);
}
