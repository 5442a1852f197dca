//! `SeedRng`: the seeded random generator of a model (initialisation, dropout, shuffling), small and
//! serializable so checkpoints can carry its state. xoshiro256++ seeded through SplitMix64.

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A small, fast, serializable generator (xoshiro256++). Implements `rand::RngCore`, so every
/// `rand::Rng` method and every Wengert function that takes a generator accepts it.
///
/// ```
/// use rand::Rng;
/// use wengert::nn::SeedRng;
/// let (mut a, mut b) = (SeedRng::new(7), SeedRng::new(7));
/// assert_eq!(a.random::<u64>(), b.random::<u64>());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRng {
    s: [u64; 4],
}

impl SeedRng {
    /// A generator whose whole stream is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            // SplitMix64, the recommended seeder of the xoshiro family.
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        SeedRng { s: [next(), next(), next(), next()] }
    }

    /// A new generator for a sub-stream, derived from this one's next output and `stream`: the same
    /// seed gives the same sub-streams, whatever the threads.
    pub fn fork(&mut self, stream: u64) -> SeedRng {
        SeedRng::new(self.next_u64() ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03))
    }
}

impl RngCore for SeedRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

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
    fn forks_depend_on_the_stream() {
        let mut a = SeedRng::new(3);
        let mut b = a.clone();
        assert_eq!(a.fork(1), b.fork(1));
        assert_ne!(a.fork(1), b.fork(2));
    }
}
