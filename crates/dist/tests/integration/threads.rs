//! A world of threads runs the same reduction as MPI: bit-identity and resuming at another world size
//! without an MPI library.

use wengert_dist::{Threads, world_change};
use wengert_nn::train::Collective;

use crate::scenario::{self, Outcome};

/// One process summing `ranks` micro-batches of `batch` rows per step.
pub(crate) fn reference(ranks: usize, batch: usize, epochs: usize) -> Outcome {
    scenario::train(None, ranks, batch, (0, epochs), None).unwrap().0
}

fn threads(ranks: usize, batch: usize, epochs: usize) -> Vec<Outcome> {
    Threads::run(ranks, |w| {
        scenario::train(Some(&w), 1, batch, (0, epochs), None).map(|o| o.0).map_err(|e| e.to_string())
    })
    .into_iter()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn workers_end_every_step_bit_identical_to_each_other_and_to_one_process_accumulating_their_batches() {
    for ranks in [1, 2, 4] {
        let expected = reference(ranks, 8, 2);
        assert_eq!(expected.steps.len(), 2 * scenario::ROWS / (8 * ranks));
        for (rank, got) in threads(ranks, 8, 2).into_iter().enumerate() {
            assert_eq!(got.steps, expected.steps, "{ranks} ranks, rank {rank}");
            assert!((got.loss - expected.loss).abs() < 1e-9, "{ranks}: {got:?} vs {expected:?}");
            assert!((got.mae - expected.mae).abs() < 1e-6, "{ranks}: {got:?} vs {expected:?}");
        }
    }
}

#[test]
fn a_world_of_one_is_the_plain_single_process_run() {
    assert_eq!(threads(1, 8, 1)[0], reference(1, 8, 1));
}

#[test]
fn a_run_resumes_at_another_world_size_as_one_process_accumulating_the_new_number_of_batches() {
    let saved = Threads::run(2, |w| scenario::train(Some(&w), 1, 8, (0, 1), None).unwrap().1);
    let notes = Threads::run(4, |w| world_change(&saved[0], &w));
    assert!(notes[0].as_deref().unwrap().contains("written by 2 workers, resumed on 4"), "{notes:?}");
    let resumed = Threads::run(4, |w| {
        scenario::train(Some(&w), 1, 8, (1, 2), Some(&saved[0])).map(|o| o.0).map_err(|e| e.to_string())
    });
    let expected = scenario::train(None, 4, 8, (1, 2), Some(&saved[0])).unwrap().0;
    for got in resumed {
        assert_eq!(got.unwrap().steps, expected.steps);
    }
}

#[test]
fn ranks_that_see_different_numbers_of_batches_fail_instead_of_hanging() {
    use wengert_nn::optim::Sgd;
    use wengert_nn::train::{FitOptions, Trainer, Verbosity};
    use wengert_nn::{Linear, ParamStore, loss};
    use wengert_tensor::Tensor;
    let errors = Threads::run(2, |w| {
        let store = ParamStore::new(0);
        let model = Linear::new(&store.root(), 2, 1);
        let batches: Vec<(Tensor<f32>, Tensor<f32>)> =
            (0..=w.rank()).map(|_| (Tensor::ones(&[2, 2]), Tensor::ones(&[2, 1]))).collect();
        let mut source = batches;
        let mut t = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), |p, t| loss::mse(p, t))
            .distributed(&w);
        let opts = FitOptions { epochs: 1, verbosity: Verbosity::Quiet, ..FitOptions::default() };
        t.fit_batches(&mut source, &opts).unwrap_err().to_string()
    });
    assert!(
        errors[0].contains("rank 0 reached the end of an epoch while rank 1 reached a batch"),
        "{errors:?}"
    );
}

#[test]
fn only_the_leader_writes_best_checkpoint_files_and_every_rank_evaluates_alike() {
    use wengert_dist::sync_store;
    use wengert_nn::optim::Sgd;
    use wengert_nn::train::{BestCheckpoint, FitOptions, Trainer, Verbosity};
    use wengert_nn::{Linear, ParamStore, loss};
    use wengert_tensor::Tensor;
    let dir = std::env::temp_dir().join(format!("wengert-dist-best-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (x, y) = (Tensor::<f32>::ones(&[8, 2]), Tensor::<f32>::full(&[8, 1], 2.0));
    let results = Threads::run(2, |w| {
        let path = dir.join(format!("rank{}.ckpt", w.rank()));
        let store = ParamStore::new(w.rank() as u64);
        let model = Linear::new(&store.root(), 2, 1);
        sync_store(&w, &store).unwrap();
        let mut t = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), |p, t| loss::mse(p, t))
            .callback(BestCheckpoint::new(&path, "loss"))
            .distributed(&w);
        let opts =
            FitOptions { epochs: 3, batch_size: 2, verbosity: Verbosity::Quiet, ..FitOptions::default() };
        t.fit(&x, &y, &opts).unwrap();
        (path.exists(), t.evaluate(&x, &y).unwrap().loss.to_bits())
    });
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((results[0].0, results[1].0), (true, false));
    assert_eq!(results[0].1, results[1].1);
}
