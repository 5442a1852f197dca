//! `SeedRng`: the seeded random generator of a model (initialisation, dropout, shuffling), small and
//! serializable so checkpoints can carry its state: `rand_xoshiro`'s xoshiro256++, seeded through
//! SplitMix64.

use rand::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// A small, fast, serializable generator (xoshiro256++). Implements `rand::RngCore`, so every
/// `rand::Rng` method and every Wengert function that takes a generator accepts it.
///
/// It serializes as its four words of state, `{ s: [u64; 4] }`, the layout of every checkpoint
/// written so far, so old files resume the same stream.
///
/// ```
/// use wengert::rand::Rng;
/// use wengert::nn::SeedRng;
/// let (mut a, mut b) = (SeedRng::new(7), SeedRng::new(7));
/// assert_eq!(a.random::<u64>(), b.random::<u64>());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SeedRng {
    inner: Xoshiro256PlusPlus,
}

impl SeedRng {
    /// A generator whose whole stream is fixed by `seed` (the state is four outputs of SplitMix64
    /// started at `seed`, the seeding the xoshiro authors recommend).
    pub fn new(seed: u64) -> Self {
        SeedRng { inner: Xoshiro256PlusPlus::seed_from_u64(seed) }
    }

    /// A new generator for a sub-stream, derived from this one's next output and `stream`: the same
    /// seed gives the same sub-streams, whatever the threads.
    pub fn fork(&mut self, stream: u64) -> SeedRng {
        SeedRng::new(self.next_u64() ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03))
    }
}

impl RngCore for SeedRng {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Eight bytes of one `next_u64` per chunk, little-endian, the last chunk cut short: the bytes
    /// this generator has always given (`rand_core`'s helper takes a short tail from `next_u32`).
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::tests::TempDir;
    use crate::checkpoint::{Checkpoint, FORMAT_VERSION, HEADER_LEN};
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let (mut a, mut b, mut c) = (SeedRng::new(1), SeedRng::new(1), SeedRng::new(2));
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(xs, (0..4).map(|_| c.next_u64()).collect::<Vec<_>>());
        let mean = (0..10_000).map(|_| a.random::<f64>()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        let mut bytes = [0u8; 11];
        a.fill_bytes(&mut bytes);
        assert!(bytes.iter().any(|&v| v != 0));
    }

    #[test]
    fn seeding_and_bytes_match_the_generator_of_earlier_releases() {
        // The outputs of the xoshiro256++ and SplitMix64 this crate carried before it used rand_xoshiro.
        let mut a = SeedRng::new(0);
        assert_eq!((a.next_u64(), a.next_u32()), (0x5317_5d61_490b_23df, 0x61da_6f3d));
        let mut bytes = [0u8; 11];
        SeedRng::new(9).fill_bytes(&mut bytes);
        assert_eq!(bytes, [211, 44, 172, 32, 223, 35, 90, 153, 48, 192, 170]);
    }

    #[test]
    fn a_checkpoint_written_by_an_earlier_release_resumes_the_same_stream() {
        // Saved by the release before rand_xoshiro: SeedRng::new(42) after 5 draws, epoch 7, one parameter.
        let old = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed_rng_v1.ckpt");
        let c = Checkpoint::<f32>::load(old).unwrap();
        assert_eq!((c.epoch, c.param("w").unwrap().to_vec()), (7, vec![1.0, -2.0, 0.5]));
        let mut rng = c.rng.clone().expect("the file holds a generator");
        let next: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(
            next,
            [0x968d_9f00_4e50_de7d, 0x2017_18ff_221a_3556, 0x9ae9_4e07_0ed8_cb46, 0x352c_f3da_f095_ccc7]
        );
        assert_eq!(c.rng.clone().unwrap().fork(3).next_u64(), 0x9a92_c0c5_d175_f7ec);
        // Saved again, it is the current version: the old payload byte for byte (the state's layout has
        // not changed), then the absent data generator that version 2 added.
        let dir = TempDir::new("rng");
        let again = dir.join("again.ckpt");
        c.save(&again).unwrap();
        let (new, old) = (std::fs::read(&again).unwrap(), std::fs::read(old).unwrap());
        assert_eq!(new[8..12], FORMAT_VERSION.to_le_bytes());
        assert_eq!(new[HEADER_LEN..], [&old[HEADER_LEN..], &[0][..]].concat());
        assert_eq!(Checkpoint::<f32>::load(&again).unwrap(), c);
    }

    #[test]
    fn forks_depend_on_the_stream() {
        let mut a = SeedRng::new(3);
        let mut b = a.clone();
        assert_eq!(a.fork(1), b.fork(1));
        assert_ne!(a.fork(1), b.fork(2));
    }
}
