//! An in-process world: one thread per rank, exchanging through shared memory. It runs the same
//! fixed-order reduction as MPI, so it tests data-parallel programs (and their bit-identity) without an
//! MPI library.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use wengert_nn::train::{Collective, CollectiveError, DEFAULT_BUCKET_BYTES};

/// What a rank put on the table.
#[derive(Debug, Clone)]
enum Payload {
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<u8>),
}

#[derive(Debug)]
struct Table {
    slots: Vec<Option<Payload>>,
    arrived: usize,
    generation: u64,
    panicked: Option<usize>,
}

#[derive(Debug)]
struct Hub {
    size: usize,
    table: Mutex<Table>,
    turn: Condvar,
}

/// Runs worlds of threads: [`Threads::run`].
#[derive(Debug, Clone, Copy)]
pub struct Threads;

impl Threads {
    /// Runs `f` on `size` threads, each with its rank's [`ThreadWorld`], and returns their results in
    /// rank order. A rank that panics makes the others' exchanges fail (no hang), and the panic is
    /// passed on.
    ///
    /// ```
    /// use wengert::dist::Threads;
    /// use wengert::nn::train::Collective;
    /// let gathered = Threads::run(3, |world| world.all_gather_f64(&[world.rank() as f64]).unwrap());
    /// assert!(gathered.iter().all(|g| *g == [0.0, 1.0, 2.0]));
    /// ```
    ///
    /// # Panics
    ///
    /// When `size` is zero, or a rank panicked.
    pub fn run<R: Send>(size: usize, f: impl Fn(ThreadWorld) -> R + Sync) -> Vec<R> {
        assert!(size > 0, "Threads::run: a world needs at least one rank");
        let hub = Arc::new(Hub {
            size,
            table: Mutex::new(Table { slots: vec![None; size], arrived: 0, generation: 0, panicked: None }),
            turn: Condvar::new(),
        });
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..size)
                .map(|rank| {
                    let world = ThreadWorld { rank, hub: hub.clone(), bucket_bytes: DEFAULT_BUCKET_BYTES };
                    let f = &f;
                    s.spawn(move || {
                        let _guard = PanicGuard { rank, hub: world.hub.clone() };
                        f(world)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    }
}

/// Tells the other ranks when its thread unwinds.
struct PanicGuard {
    rank: usize,
    hub: Arc<Hub>,
}

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut t = self.hub.table.lock().unwrap_or_else(PoisonError::into_inner);
            t.panicked.get_or_insert(self.rank);
            self.hub.turn.notify_all();
        }
    }
}

/// One rank of a [`Threads`] world.
#[derive(Debug, Clone)]
pub struct ThreadWorld {
    rank: usize,
    hub: Arc<Hub>,
    bucket_bytes: usize,
}

impl ThreadWorld {
    /// Exchanges in buckets of `bytes` (default 25 MiB).
    pub fn with_bucket_bytes(mut self, bytes: usize) -> Self {
        self.bucket_bytes = bytes.max(1);
        self
    }

    /// Waits until every rank arrived (a barrier that gives up when a rank panicked).
    fn wait<'a>(
        &'a self,
        mut t: MutexGuard<'a, Table>,
        op: &str,
    ) -> Result<MutexGuard<'a, Table>, CollectiveError> {
        let generation = t.generation;
        t.arrived += 1;
        if t.arrived == self.hub.size {
            t.arrived = 0;
            t.generation += 1;
            self.hub.turn.notify_all();
        } else {
            while t.generation == generation && t.panicked.is_none() {
                t = self.hub.turn.wait(t).unwrap_or_else(PoisonError::into_inner);
            }
        }
        match t.panicked {
            Some(r) => {
                Err(CollectiveError::new(op, format!("rank {r} panicked; rank {} gives up", self.rank)))
            }
            None => Ok(t),
        }
    }

    /// Puts `mine` on the table (when given) and returns every rank's payload once all arrived.
    fn exchange(&self, mine: Option<Payload>, op: &str) -> Result<Vec<Option<Payload>>, CollectiveError> {
        let mut t = self.hub.table.lock().unwrap_or_else(PoisonError::into_inner);
        t.slots[self.rank] = mine;
        let t = self.wait(t, op)?;
        let all = t.slots.clone();
        drop(self.wait(t, op)?);
        Ok(all)
    }

    fn gather<T: Clone>(
        &self,
        local: &[T],
        wrap: fn(Vec<T>) -> Payload,
        unwrap: fn(&Payload) -> Option<&Vec<T>>,
    ) -> Result<Vec<T>, CollectiveError> {
        let all = self.exchange(Some(wrap(local.to_vec())), "all_gather")?;
        let mut out = Vec::with_capacity(local.len() * all.len());
        for (r, p) in all.iter().enumerate() {
            match p.as_ref().and_then(unwrap) {
                Some(v) if v.len() == local.len() => out.extend_from_slice(v),
                _ => {
                    return Err(CollectiveError::new(
                        "all_gather",
                        format!(
                            "rank {r} sent another type or length than rank {}'s {}",
                            self.rank,
                            local.len()
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }
}

impl Collective for ThreadWorld {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.hub.size
    }
    fn bucket_bytes(&self) -> usize {
        self.bucket_bytes
    }
    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>, CollectiveError> {
        self.gather(local, Payload::F32, |p| if let Payload::F32(v) = p { Some(v) } else { None })
    }
    fn all_gather_f64(&self, local: &[f64]) -> Result<Vec<f64>, CollectiveError> {
        self.gather(local, Payload::F64, |p| if let Payload::F64(v) = p { Some(v) } else { None })
    }
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) -> Result<(), CollectiveError> {
        let mine = (self.rank == 0).then(|| Payload::Bytes(bytes.clone()));
        let all = self.exchange(mine, "broadcast")?;
        match &all[0] {
            Some(Payload::Bytes(b)) => {
                bytes.clone_from(b);
                Ok(())
            }
            _ => Err(CollectiveError::new("broadcast", "rank 0 sent no bytes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_rank_makes_the_others_fail_instead_of_hang() {
        let result = std::panic::catch_unwind(|| {
            Threads::run(3, |world| {
                if world.rank() == 1 {
                    panic!("rank 1 fails on purpose");
                }
                world.all_gather_f32(&[1.0]).map_err(|e| e.to_string())
            })
        });
        assert!(result.is_err());
    }

    #[test]
    fn gathers_of_different_lengths_are_refused() {
        let results = Threads::run(2, |world| {
            world.all_gather_f64(&vec![0.0; 1 + world.rank()]).map_err(|e| e.to_string())
        });
        assert!(
            results[0].as_ref().unwrap_err().contains("rank 1 sent another type or length than rank 0's 1")
        );
    }

    #[test]
    fn broadcast_sends_rank_0s_bytes_to_all() {
        let got = Threads::run(3, |world| {
            let mut b = vec![world.rank() as u8; world.rank() + 1];
            world.broadcast_bytes(&mut b).unwrap();
            b
        });
        assert!(got.iter().all(|b| *b == [0]));
    }
}
