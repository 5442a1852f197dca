//! The MPI self-test of wengert-dist, spawned by its tests under `mpirun`: `wengert-dist-selftest
//! SCENARIO [ARGS]` runs one scenario on every rank and prints what the tests compare.

#[allow(dead_code)] // the tests parse the lines it prints with `scenario::parse`
mod scenario;

use wengert_dist::{DistError, World, check_models, run, sync_store, world_change};
use wengert_nn::ParamStore;
use wengert_nn::checkpoint::Checkpoint;
use wengert_nn::data::{DataLoader, TensorDataset};
use wengert_nn::train::Collective;
use wengert_tensor::Tensor;

fn arg(i: usize) -> Result<String, String> {
    std::env::args().nth(i).ok_or_else(|| format!("argument {i} is missing; see the scenarios in main.rs"))
}

fn number(i: usize) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(arg(i)?.parse()?)
}

fn main() {
    run(|world: &World| -> Result<(), Box<dyn std::error::Error>> {
        let rank = world.rank();
        match arg(1)?.as_str() {
            // fit BATCH EPOCHS: prints the fingerprint after every step.
            "fit" => {
                let (o, _) = scenario::train(Some(world), 1, number(2)?, (0, number(3)?), None)?;
                println!("{}", scenario::line(rank, &o));
            }
            // save BATCH EPOCHS PATH: fit, then rank 0 writes the checkpoint.
            "save" => {
                let (_, c) = scenario::train(Some(world), 1, number(2)?, (0, number(3)?), None)?;
                if world.is_leader() {
                    c.save(arg(4)?)?;
                }
            }
            // resume BATCH EPOCHS PATH: resume from the checkpoint, fit up to EPOCHS.
            "resume" => {
                let c = Checkpoint::<f32>::load(arg(4)?)?;
                if let Some(note) = world_change(&c, world).filter(|_| world.is_leader()) {
                    println!("note: {note}");
                }
                let from = usize::try_from(c.epoch)?;
                let (o, _) = scenario::train(Some(world), 1, number(2)?, (from, number(3)?), Some(&c))?;
                println!("{}", scenario::line(rank, &o));
            }
            // broadcast: every rank initialises differently, then syncs.
            "broadcast" => {
                let store = ParamStore::new(rank as u64 + 7);
                let _model = scenario::model(&store, 16);
                println!("rank {rank} before {:016x}", scenario::fingerprint(&store));
                sync_store(world, &store)?;
                println!("rank {rank} after {:016x}", scenario::fingerprint(&store));
            }
            // mismatch: the last rank's hidden layer is wider.
            "mismatch" => {
                let store = ParamStore::new(0);
                let _model = scenario::model(&store, if rank + 1 == world.size() { 17 } else { 16 });
                check_models(world, &store)?;
                println!("rank {rank} models match");
            }
            // panic STEP: the last rank panics at its step STEP; the others train on.
            "panic" => {
                let at = number(2)?;
                let store = ParamStore::new(0);
                let params = store.parameters();
                let mut acc = wengert_nn::optim::GradAccumulator::new(params.clone());
                for step in 0.. {
                    if rank + 1 == world.size() && step == at {
                        panic!("injected failure at step {step}");
                    }
                    wengert_nn::train::all_reduce_gradients(world, &params, &acc.clone(), 1, 0.0, &mut acc)?;
                }
            }
            // shard BATCH EPOCHS [drop]: prints the rows of every epoch this rank's loader yields.
            "shard" => {
                let n = scenario::ROWS + 5;
                let x = Tensor::<f32>::arange(0.0, n as f32, 1.0);
                let data = TensorDataset::new(x.clone(), x)?;
                let drop = arg(4).is_ok_and(|a| a == "drop");
                let mut loader =
                    DataLoader::new(data, number(2)?).shuffle(3).drop_last(drop).shard(rank, world.size());
                for epoch in 1..=number(3)? {
                    let rows: Vec<String> = loader
                        .iter()
                        .flat_map(|(x, _)| x.to_vec())
                        .map(|v| (v as usize).to_string())
                        .collect();
                    println!("rank {rank} epoch {epoch} rows {}", rows.join(","));
                }
            }
            other => return Err(Box::new(DistError::Init(format!("unknown scenario `{other}`")))),
        }
        Ok(())
    });
}
