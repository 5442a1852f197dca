//! Starting every worker equal: the models compared by name and shape, then rank 0's parameters,
//! buffers and generator sent to all; and checkpoints that record the world size they were written at.

use wengert_nn::ParamStore;
use wengert_nn::checkpoint::Checkpoint;
use wengert_nn::train::Collective;
use wengert_tensor::Float;

use crate::DistError;

/// The checkpoint metadata key holding the world size of the run that wrote it.
pub const WORLD_SIZE_KEY: &str = "wengert.dist.world_size";

/// One line per parameter and buffer: name, shape and element type.
fn describe<F: Float>(store: &ParamStore<F>) -> Vec<String> {
    let dtype = if std::mem::size_of::<F>() == 4 { "f32" } else { "f64" };
    store.state_dict().iter().map(|p| format!("`{}` {:?} {dtype}", p.name(), p.value().shape())).collect()
}

/// The first difference between rank 0's description and this rank's, if any.
fn first_difference(leader: &[String], mine: &[String], rank: usize) -> Option<String> {
    let i = leader.iter().zip(mine).position(|(a, b)| a != b);
    match i {
        Some(i) => Some(format!("entry {i}: rank 0 has {}, rank {rank} has {}", leader[i], mine[i])),
        None if leader.len() != mine.len() => Some(format!(
            "rank 0 has {} parameters and buffers, rank {rank} has {}; the first one rank {rank} {} is {}",
            leader.len(),
            mine.len(),
            if leader.len() > mine.len() { "lacks" } else { "adds" },
            leader.get(mine.len()).or(mine.get(leader.len())).map_or("", String::as_str),
        )),
        None => None,
    }
}

/// Checks that every rank's store holds the same parameters and buffers (names, shapes, element
/// type, in order), before any gradient travels: every rank gathers every rank's list and compares
/// it with rank 0's, so every rank reports the same first difference.
///
/// ```
/// use wengert::dist::{Threads, check_models};
/// use wengert::nn::train::Collective;
/// use wengert::nn::{Linear, ParamStore};
/// let errors = Threads::run(2, |world| {
///     let store = ParamStore::new(0);
///     let _model = Linear::new(&store.root(), 2, 1 + world.rank()); // rank 1 differs
///     check_models(&world, &store).unwrap_err().to_string()
/// });
/// assert!(errors[1].contains("first difference: entry 0: rank 0 has `weight` [1, 2] f32, rank 1 has `weight` [2, 2] f32"));
/// assert_eq!(errors[0], errors[1]);
/// ```
///
/// # Errors
///
/// [`DistError::ModelMismatch`] on every rank when one differs, naming the first rank that differs
/// and its first difference.
pub fn check_models<F: Float>(c: &dyn Collective, store: &ParamStore<F>) -> Result<(), DistError> {
    let lists = gather_texts(c, &describe(store).join("\n"))?;
    let lines = |t: &str| -> Vec<String> {
        if t.is_empty() { Vec::new() } else { t.split('\n').map(String::from).collect() }
    };
    let leader = lines(&lists[0]);
    let mut differ = (1..lists.len()).filter_map(|r| first_difference(&leader, &lines(&lists[r]), r));
    match differ.next() {
        None => Ok(()),
        Some(d) => {
            let more = differ.count();
            let others = if more > 0 { format!(" ({more} more ranks differ)") } else { String::new() };
            Err(DistError::ModelMismatch(format!("first difference: {d}{others}")))
        }
    }
}

/// Every rank's `text`, in rank order (bytes carried as `f64`, padded to the longest).
fn gather_texts(c: &dyn Collective, text: &str) -> Result<Vec<String>, DistError> {
    let lens: Vec<usize> = c.all_gather_f64(&[text.len() as f64])?.into_iter().map(|l| l as usize).collect();
    let max = lens.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return Ok(vec![String::new(); lens.len()]);
    }
    let mut mine: Vec<f64> = text.bytes().map(f64::from).collect();
    mine.resize(max, 0.0);
    let all = c.all_gather_f64(&mine)?;
    Ok(all
        .chunks(max)
        .zip(&lens)
        .map(|(b, &n)| {
            String::from_utf8_lossy(&b[..n].iter().map(|&v| v as u8).collect::<Vec<u8>>()).into_owned()
        })
        .collect())
}

/// Sends rank 0's parameters, buffers and generator to every rank (PyTorch DDP's broadcast at
/// construction), so that differently initialised workers start equal and shuffle alike.
///
/// # Errors
///
/// [`DistError::Broadcast`] when rank 0's state does not fit this rank's store (run
/// [`check_models`] first, as [`sync_store`] does); [`DistError::Collective`] when the engine fails.
pub fn broadcast_store<F: Float>(c: &dyn Collective, store: &ParamStore<F>) -> Result<(), DistError> {
    let config = bincode::config::standard();
    let mut bytes = if c.is_leader() {
        bincode::serde::encode_to_vec(Checkpoint::from_store(store), config)
            .map_err(|e| DistError::Broadcast(format!("encoding rank 0's parameters: {e}")))?
    } else {
        Vec::new()
    };
    c.broadcast_bytes(&mut bytes)?;
    if c.is_leader() {
        return Ok(());
    }
    let (state, _): (Checkpoint<F>, usize) =
        bincode::serde::decode_from_slice(&bytes, config).map_err(|e| {
            DistError::Broadcast(format!("decoding rank 0's parameters on rank {}: {e}", c.rank()))
        })?;
    state.apply_to_store(store).map_err(|e| DistError::Broadcast(format!("rank {}: {e}", c.rank())))
}

/// [`check_models`], then [`broadcast_store`]: call once on every rank after building the model and
/// before training.
///
/// ```
/// use wengert::dist::{Threads, sync_store};
/// use wengert::nn::train::Collective;
/// use wengert::nn::{Linear, ParamStore};
/// let weights = Threads::run(3, |world| {
///     let store = ParamStore::new(world.rank() as u64); // a different seed on every rank
///     let model = Linear::new(&store.root(), 4, 2);
///     sync_store(&world, &store).unwrap();
///     model.weight.value().to_vec()
/// });
/// assert!(weights.iter().all(|w| *w == weights[0]));
/// ```
///
/// # Errors
///
/// As [`check_models`] and [`broadcast_store`].
pub fn sync_store<F: Float>(c: &dyn Collective, store: &ParamStore<F>) -> Result<(), DistError> {
    check_models(c, store)?;
    broadcast_store(c, store)
}

/// Records the world size in `checkpoint`'s metadata (under [`WORLD_SIZE_KEY`]), so that a resumed
/// run can say what changed.
pub fn tag_checkpoint<F: Float>(checkpoint: &mut Checkpoint<F>, c: &dyn Collective) {
    checkpoint.meta.retain(|(k, _)| k != WORLD_SIZE_KEY);
    checkpoint.meta.push((WORLD_SIZE_KEY.to_string(), c.size().to_string()));
}

/// What changes when `checkpoint` is resumed on `c`'s world: `None` at the world size it was written
/// at, else a sentence naming both sizes and the change of the global batch.
///
/// ```
/// use wengert::dist::{world_change, tag_checkpoint, Threads};
/// use wengert::nn::checkpoint::Checkpoint;
/// use wengert::nn::train::SingleProcess;
/// let mut c = Checkpoint::<f32>::new();
/// let notes = Threads::run(2, |world| { tag_checkpoint(&mut c.clone(), &world); world_change(&c, &world) });
/// assert!(notes[0].as_deref().unwrap().contains("does not record"));
/// tag_checkpoint(&mut c, &SingleProcess);
/// assert_eq!(world_change(&c, &SingleProcess), None);
/// let notes = Threads::run(2, |world| world_change(&c, &world));
/// assert!(notes[0].as_deref().unwrap().contains("written by 1 worker, resumed on 2"));
/// ```
pub fn world_change<F: Float>(checkpoint: &Checkpoint<F>, c: &dyn Collective) -> Option<String> {
    let saved = checkpoint.meta.iter().find(|(k, _)| k == WORLD_SIZE_KEY).map(|(_, v)| v.as_str());
    let now = c.size();
    match saved.map(str::parse::<usize>) {
        Some(Ok(n)) if n == now => None,
        Some(Ok(n)) => Some(format!(
            "checkpoint written by {n} worker{}, resumed on {now}: every step now averages {now} shards, \
             so the global batch is {now}× the batch size instead of {n}×, and each epoch takes {} steps",
            if n == 1 { "" } else { "s" },
            if now > n { "fewer" } else { "more" },
        )),
        Some(Err(_)) => Some(format!(
            "checkpoint's world size {:?} is not a number; resumed on {now}",
            saved.unwrap_or("")
        )),
        None => Some(format!("the checkpoint does not record its world size; resumed on {now} workers")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_named_by_entry_or_by_count() {
        let a: Vec<String> = ["`w` [2] f32", "`b` [1] f32"].map(String::from).to_vec();
        let b: Vec<String> = ["`w` [2] f32", "`b` [2] f32"].map(String::from).to_vec();
        assert_eq!(first_difference(&a, &a, 1), None);
        assert_eq!(
            first_difference(&a, &b, 3).unwrap(),
            "entry 1: rank 0 has `b` [1] f32, rank 3 has `b` [2] f32"
        );
        let short = first_difference(&a, &a[..1], 2).unwrap();
        assert!(
            short.contains("rank 0 has 2 parameters and buffers, rank 2 has 1")
                && short.contains("lacks is `b`"),
            "{short}"
        );
    }
}
