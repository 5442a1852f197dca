//! Loading damaged checkpoints: every truncation and thousands of seeded random corruptions of a real
//! checkpoint file must give an error, never a panic or an unbounded allocation.

use std::fs;
use std::path::{Path, PathBuf};

use rand::{Rng, RngCore};
use wengert_nn::checkpoint::{Checkpoint, HEADER_LEN};
use wengert_nn::optim::{OptimizerState, SchedulerState, StateSlot};
use wengert_nn::{Init, ParamStore, SeedRng};
use wengert_tensor::Tensor;

/// A fresh directory under the system's temporary directory, removed on drop (also when a check fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("wengert-corruption-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// CRC-32 (IEEE), bit by bit: an independent check of the format's checksum.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// A small but complete checkpoint: three parameters, an optimizer with two slots, a scheduler, a
/// generator, an epoch and metadata.
fn checkpoint() -> Checkpoint<f32> {
    let store = ParamStore::<f32>::new(17);
    store.root().sub("layers").sub(0).param("weight", &[4, 3], Init::GLOROT_UNIFORM);
    store.root().sub("layers").sub(0).param("bias", &[4], Init::Zeros);
    store.root().sub("layers").sub(1).param("weight", &[2, 4], Init::GLOROT_UNIFORM);
    let mut c = Checkpoint::from_store(&store);
    let slot = |param: &str, slot: &str, shape: &[usize]| StateSlot {
        param: param.to_string(),
        slot: slot.to_string(),
        value: Tensor::full(shape, 0.125),
    };
    c.optimizer = Some(OptimizerState {
        kind: "adam".into(),
        step: 42,
        lr: 3e-4,
        slots: vec![slot("layers.0.weight", "exp_avg", &[4, 3]), slot("layers.0.bias", "exp_avg_sq", &[4])],
    });
    c.scheduler =
        Some(SchedulerState { kind: "cosine".into(), count: 5, values: vec![("base_lr".into(), 0.1)] });
    c.rng = Some(SeedRng::new(99));
    c.epoch = 5;
    c.meta = vec![("run".into(), "corruption".into())];
    c
}

/// Writes `bytes` to `path` and loads them.
fn load(path: &Path, bytes: &[u8]) -> Result<Checkpoint<f32>, wengert_nn::checkpoint::CheckpointError> {
    // A fresh file each time: ext4 flushes a file truncated and rewritten in place when it is closed,
    // which would make thousands of cases take seconds.
    let _ = fs::remove_file(path);
    fs::write(path, bytes).unwrap();
    Checkpoint::<f32>::load(path)
}

#[test]
fn every_truncation_and_corruption_is_an_error_and_none_panics() {
    let dir = TempDir::new();
    let good_path = dir.0.join("good.ckpt");
    let original = checkpoint();
    original.save(&good_path).unwrap();
    let good = fs::read(&good_path).unwrap();
    assert_eq!(Checkpoint::<f32>::load(&good_path).unwrap(), original);
    assert_eq!(u32::from_le_bytes(good[24..28].try_into().unwrap()), crc32(&good[HEADER_LEN..]));
    let path = dir.0.join("bad.ckpt");

    // Every prefix, the empty file included.
    for cut in 0..good.len() {
        assert!(load(&path, &good[..cut]).is_err(), "the prefix of {cut} bytes loaded");
    }

    let mut rng = SeedRng::new(2024);
    let mut tried = 0;
    while tried < 4000 {
        let mut bytes = good.clone();
        let kind = rng.random_range(0..5);
        match kind {
            0 => {
                // One to three bit flips.
                for _ in 0..rng.random_range(1..=3) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => {
                // One to four bytes overwritten.
                for _ in 0..rng.random_range(1..=4) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] = rng.random();
                }
            }
            2 => {
                // Bytes inserted.
                let at = rng.random_range(0..=bytes.len());
                let n = rng.random_range(1..=8);
                let extra: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                bytes.splice(at..at, extra);
            }
            3 => {
                // Bytes removed.
                let at = rng.random_range(0..bytes.len());
                let n = rng.random_range(1..=8).min(bytes.len() - at);
                bytes.drain(at..at + n);
            }
            _ => {
                // A valid header over random garbage, announcing a huge payload.
                let n = rng.random_range(0..256);
                bytes.truncate(HEADER_LEN);
                bytes.extend((0..n).map(|_| rng.random::<u8>()));
                let huge = rng.random_range(1u64 << 20..=u64::MAX);
                bytes[16..24].copy_from_slice(&huge.to_le_bytes());
                bytes[24..28].copy_from_slice(&rng.next_u32().to_le_bytes());
            }
        }
        if bytes == good {
            continue;
        }
        tried += 1;
        assert!(load(&path, &bytes).is_err(), "corruption {tried} (kind {kind}) loaded");
    }
}

/// Re-signs `bytes` so the header's length and checksum agree with the (edited) payload.
fn resign(bytes: &mut [u8]) {
    let payload_len = (bytes.len() - HEADER_LEN) as u64;
    let crc = crc32(&bytes[HEADER_LEN..]);
    bytes[16..24].copy_from_slice(&payload_len.to_le_bytes());
    bytes[24..28].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn a_hostile_payload_with_a_valid_checksum_never_panics() {
    // Past the checksum only the decoder stands between a forged payload and the program: lengths that
    // claim gigabytes, shapes that overflow or do not fit their data, garbage. Some edits (a float's bits)
    // still decode; none may panic or allocate without bound.
    let dir = TempDir::new();
    let path = dir.0.join("forged.ckpt");
    checkpoint().save(&path).unwrap();
    let good = fs::read(&path).unwrap();
    let mut rng = SeedRng::new(7);
    let mut errors = 0;
    for case in 0..1500 {
        let mut bytes = good.clone();
        let at = rng.random_range(HEADER_LEN..bytes.len());
        match case % 4 {
            0 => bytes[at] = rng.random(),
            1 => {
                // A varint u64 marker and a huge value: a length or a dimension of up to 2^64 - 1.
                let value = rng.random_range(1u64 << 30..=u64::MAX).to_le_bytes();
                let end = (at + 9).min(bytes.len());
                bytes.splice(at..end, std::iter::once(253).chain(value));
            }
            2 => bytes.truncate(at),
            _ => {
                let n = rng.random_range(0..512);
                bytes.truncate(HEADER_LEN);
                bytes.extend((0..n).map(|_| rng.random::<u8>()));
            }
        }
        resign(&mut bytes);
        if load(&path, &bytes).is_err() {
            errors += 1;
        }
    }
    println!("{errors} of 1500 forged payloads refused, the rest decoded");
    // Truncated and garbage payloads (half the cases) can never decode.
    assert!(errors >= 750, "only {errors} of 1500 forged payloads were refused");
}
