//! Tests of checkpoints.

use super::*;
use crate::Init;
use crate::optim::StateSlot;
use rand::RngCore;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory under the system's temporary directory, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wengert-{tag}-{}-{n}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names in the directory, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(&self.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn store(seed: u64) -> ParamStore<f32> {
    let s = ParamStore::new(seed);
    s.root().sub("layers").sub(0).param("weight", &[3, 2], Init::GLOROT_UNIFORM);
    s.root().sub("layers").sub(0).param("bias", &[3], Init::Ones);
    s
}

fn full(store: &ParamStore<f32>) -> Checkpoint<f32> {
    let mut c = Checkpoint::from_store(store);
    let slot = |param: &str, slot: &str, shape: &[usize]| StateSlot {
        param: param.into(),
        slot: slot.into(),
        value: Tensor::full(shape, 0.25),
    };
    c.optimizer = Some(OptimizerState {
        kind: "adam".into(),
        step: 7,
        lr: 1e-3,
        slots: vec![slot("layers.0.weight", "exp_avg", &[3, 2]), slot("layers.0.bias", "exp_avg_sq", &[3])],
    });
    c.scheduler =
        Some(SchedulerState { kind: "plateau".into(), count: 4, values: vec![("best".into(), 0.5)] });
    c.epoch = 12;
    c.meta = vec![("run".into(), "täst".into())];
    c
}

fn corrupt_kind(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> CheckpointError {
    let mut bytes = fs::read(path).unwrap();
    edit(&mut bytes);
    fs::write(path, &bytes).unwrap();
    Checkpoint::<f32>::load(path).unwrap_err()
}

#[test]
fn save_then_load_gives_back_everything() {
    let dir = TempDir::new("ckpt");
    let s = store(5);
    s.with_rng(|r| r.next_u64());
    let c = full(&s);
    c.save(dir.join("m.ckpt")).unwrap();
    let back = Checkpoint::<f32>::load(dir.join("m.ckpt")).unwrap();
    assert_eq!(back, c);
    assert_eq!(back.rng, Some(s.rng_state()));
    assert_eq!(dir.names(), ["m.ckpt"]);
}

#[test]
fn a_transposed_view_round_trips_in_logical_order() {
    let dir = TempDir::new("ckpt");
    let t = Tensor::<f64>::from_vec((0..6).map(f64::from).collect(), &[2, 3]).unwrap().t();
    let mut c = Checkpoint::new();
    c.params.push(("w".into(), t.clone()));
    c.save(dir.join("v.ckpt")).unwrap();
    let back = Checkpoint::<f64>::load(dir.join("v.ckpt")).unwrap();
    assert_eq!(back.param("w").unwrap().to_vec(), t.to_vec());
    assert_eq!(back.param("w").unwrap().shape(), &[3, 2]);
}

#[test]
fn weights_round_trip_through_a_file_without_the_generator() {
    let dir = TempDir::new("ckpt");
    let (a, b) = (store(3), store(4));
    save_weights(&a, dir.join("w.ckpt")).unwrap();
    assert_eq!(Checkpoint::<f32>::load(dir.join("w.ckpt")).unwrap().rng, None);
    let rng = b.rng_state();
    let report = load_weights(&b, dir.join("w.ckpt")).unwrap();
    assert_eq!(report.loaded, ["layers.0.weight", "layers.0.bias"]);
    assert_eq!(a.get("layers.0.weight").unwrap().value(), b.get("layers.0.weight").unwrap().value());
    assert_eq!(b.rng_state(), rng);
    let small = ParamStore::<f32>::new(0);
    small.root().sub("layers").sub(0).param("weight", &[2, 2], Init::Zeros);
    let err = load_weights(&small, dir.join("w.ckpt")).unwrap_err();
    assert!(matches!(err, CheckpointError::Mismatch { .. }), "{err}");
}

#[test]
fn saving_into_a_missing_directory_fails_cleanly() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("no/such/dir/m.ckpt");
    let err = full(&store(0)).save(&path).unwrap_err();
    match &err {
        CheckpointError::Io { path: p, source } => {
            assert_eq!(p, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        e => panic!("{e:?}"),
    }
    assert!(err.to_string().starts_with(&path.display().to_string()));
    assert!(dir.names().is_empty());
}

#[test]
fn a_failed_rename_leaves_no_temporary_file() {
    let dir = TempDir::new("ckpt");
    fs::create_dir(dir.join("taken")).unwrap();
    fs::write(dir.join("taken/keep"), b"x").unwrap();
    let err = full(&store(0)).save(dir.join("taken")).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    assert_eq!(dir.names(), ["taken"]);
    assert_eq!(fs::read(dir.join("taken/keep")).unwrap(), b"x");
}

#[test]
fn a_failed_write_keeps_the_old_file() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("m.ckpt");
    full(&store(0)).save(&path).unwrap();
    let old = fs::read(&path).unwrap();
    let err = format::write_atomic(&path, |f| {
        std::io::Write::write_all(f, b"half a checkpoint")?;
        Err(std::io::Error::other("disk full"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), format!("{}: disk full", path.display()));
    assert_eq!(fs::read(&path).unwrap(), old);
    assert_eq!(dir.names(), ["m.ckpt"]);
    // A later save replaces the file whole.
    full(&store(9)).save(&path).unwrap();
    assert_eq!(Checkpoint::<f32>::load(&path).unwrap(), full(&store(9)));
}

#[test]
fn a_path_without_a_file_name_is_an_error() {
    let err = Checkpoint::<f32>::new().save("..").unwrap_err();
    assert!(err.to_string().contains("the path names no file"), "{err}");
}

#[test]
fn header_errors_name_the_field() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("m.ckpt");
    let fresh = || full(&store(0)).save(&path).unwrap();

    fresh();
    let err = corrupt_kind(&path, |b| b[0] = b'X');
    assert!(matches!(&err, CheckpointError::BadMagic { found, .. } if found[0] == b'X'), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| b[8] = 3);
    assert!(matches!(err, CheckpointError::UnsupportedVersion { found: 3, supported: 2, .. }), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| b[8] = 0);
    assert!(matches!(err, CheckpointError::UnsupportedVersion { found: 0, supported: 2, .. }), "{err}");
    fresh();
    // A version 2 payload under a version 1 header decodes one byte short of its end: corrupt, not a panic.
    let err = corrupt_kind(&path, |b| b[8] = 1);
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| b.truncate(20));
    assert!(matches!(err, CheckpointError::Truncated { expected: 32, found: 20, .. }), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| b.truncate(b.len() - 1));
    assert!(matches!(err, CheckpointError::Truncated { .. }), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| b.push(0));
    assert!(err.to_string().contains("1 bytes follow the"), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| b[28] = 1);
    assert!(err.to_string().contains("header: the reserved field"), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| *b.last_mut().unwrap() ^= 0x10);
    assert!(matches!(err, CheckpointError::ChecksumMismatch { .. }), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| b[16..24].copy_from_slice(&u64::MAX.to_le_bytes()));
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
    fresh();
    let err = corrupt_kind(&path, |b| b.clear());
    assert!(matches!(err, CheckpointError::Truncated { expected: 32, found: 0, .. }), "{err}");
}

#[test]
fn the_wrong_dtype_is_named() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("m.ckpt");
    full(&store(0)).save(&path).unwrap();
    let err = Checkpoint::<f64>::load(&path).unwrap_err();
    assert!(matches!(&err, CheckpointError::DtypeMismatch { expected: "f64", found, .. } if found == "f32"));
    let mut bytes = fs::read(&path).unwrap();
    bytes[12..16].copy_from_slice(b"\xff\x01\0\0");
    fs::write(&path, bytes).unwrap();
    let err = Checkpoint::<f32>::load(&path).unwrap_err();
    assert!(err.to_string().contains("the file holds `\\xff\\x01` tensors"), "{err}");
}

#[test]
fn a_repeated_name_in_a_file_is_corrupt() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("m.ckpt");
    let mut c = Checkpoint::<f32>::new();
    c.params = vec![("w".into(), Tensor::zeros(&[1])), ("w".into(), Tensor::zeros(&[1]))];
    c.save(&path).unwrap();
    let err = Checkpoint::<f32>::load(&path).unwrap_err();
    assert!(err.to_string().ends_with("corrupt: payload: parameter `w` appears more than once"), "{err}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = TempDir::new("ckpt");
    let err = Checkpoint::<f32>::load(dir.join("absent.ckpt")).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(err.to_string().contains("absent.ckpt"), "{err}");
}

#[test]
fn thousands_of_scalar_parameters_round_trip() {
    let dir = TempDir::new("ckpt");
    for n in [5_000, 20_000] {
        let path = dir.join(&format!("s{n}.ckpt"));
        let mut c = Checkpoint::<f32>::new();
        c.params = (0..n).map(|i| (format!("p{i}"), Tensor::scalar(i as f32))).collect();
        c.save(&path).unwrap();
        assert_eq!(Checkpoint::<f32>::load(&path).unwrap(), c, "{n} scalars");
    }
}

#[test]
fn the_decode_limit_is_eight_times_the_payload_rounded_up() {
    assert_eq!(format::decode_limit(0), 1 << 17);
    assert_eq!(format::decode_limit(1 << 14), 1 << 17);
    assert_eq!(format::decode_limit((1 << 14) + 1), 1 << 18);
    assert_eq!(format::decode_limit(58_898), 1 << 19);
    for n in [100, 70_000, 5_000_000] {
        let limit = format::decode_limit(n);
        assert!(
            limit >= format::COUNTED_PER_BYTE * n && limit < 2 * format::COUNTED_PER_BYTE * n.max(1 << 14)
        );
    }
}

#[test]
fn a_loaded_checkpoint_names_its_file_in_a_mismatch() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("m.ckpt");
    full(&store(0)).save(&path).unwrap();
    let c = Checkpoint::<f32>::load(&path).unwrap();
    assert_eq!(c.path(), Some(path.as_path()));
    let other = ParamStore::<f32>::new(0);
    other.root().param("w", &[1], Init::Zeros);
    let err = c.apply_to_store(&other).unwrap_err();
    let want = format!("{}: checkpoint does not match the model: missing `w`", path.display());
    assert!(err.to_string().starts_with(&want), "{err}");
    let err = load_weights(&other, &path).unwrap_err();
    assert!(err.to_string().starts_with(&want), "{err}");
}

#[test]
fn stale_temporaries_are_removed_by_the_next_save_or_load() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("m.ckpt");
    let me = std::process::id();
    // No process has the id u32::MAX (Linux caps ids at 2^22); this process writes no file 999999.
    let stale = [format!(".m.ckpt.tmp-{}-0", u32::MAX), format!(".m.ckpt.tmp-{me}-999999")];
    // Process 1 runs; names not of this form and other files' temporaries are not ours to remove.
    let kept = [".m.ckpt.tmp-1-0", ".m.ckpt.tmp-x-0", ".m.ckpt.tmp-0001-0", ".n.ckpt.tmp-4294967295-0"];
    let plant = || {
        for name in stale.iter().map(String::as_str).chain(kept) {
            fs::write(dir.join(name), b"half").unwrap();
        }
    };
    let mut want: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
    want.push("m.ckpt".into());
    want.sort();
    plant();
    full(&store(0)).save(&path).unwrap();
    if Path::new("/proc/self").exists() {
        assert_eq!(dir.names(), want);
    }
    plant();
    Checkpoint::<f32>::load(&path).unwrap();
    assert!(!dir.join(&stale[1]).exists());
    if Path::new("/proc/self").exists() {
        assert_eq!(dir.names(), want);
    }
}

#[test]
fn a_write_in_progress_keeps_its_temporary_while_another_save_runs() {
    let dir = TempDir::new("ckpt");
    let path = dir.join("m.ckpt");
    format::write_atomic(&path, |_| {
        // A second save of the same path while the first is writing.
        full(&store(1)).save(&path).unwrap();
        let names = dir.names();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].starts_with(".m.ckpt.tmp-"), "{names:?}");
        Ok(())
    })
    .unwrap();
    assert_eq!(dir.names(), ["m.ckpt"]);
}

/// A BatchNorm model whose statistics and counter are not the defaults.
fn batch_norm_store(seed: u64, counted: f32) -> (ParamStore<f32>, crate::BatchNorm1d<f32>) {
    let s = ParamStore::new(seed);
    let bn = crate::BatchNorm1d::new(&s.root().sub("bn"), 2);
    bn.running_mean.set(Tensor::from_vec(vec![0.5, -1.5], &[2]).unwrap());
    bn.num_batches_tracked.set(Tensor::scalar(counted));
    (s, bn)
}

#[test]
fn a_checkpoint_saved_before_batch_norm_counted_batches_loads_strictly() {
    let dir = TempDir::new("ckpt-old-bn");
    let path = dir.join("old.ckpt");
    // What a save wrote before BatchNorm had the counter: the same format, without that entry.
    let (old, _) = batch_norm_store(1, 9.0);
    let mut c = Checkpoint::from_store(&old);
    c.params.retain(|(name, _)| name != "bn.num_batches_tracked");
    assert_eq!(c.params.len(), 4);
    c.save(&path).unwrap();

    let (fresh, bn) = batch_norm_store(2, 0.0);
    bn.running_mean.set(Tensor::zeros(&[2]));
    let report = load_weights(&fresh, &path).unwrap();
    assert_eq!(report.loaded, ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]);
    assert_eq!(report.defaulted, ["bn.num_batches_tracked"]);
    assert!(report.missing.is_empty());
    assert_eq!(bn.running_mean.value().to_vec(), vec![0.5, -1.5]);
    assert_eq!(bn.num_batches_tracked.value().item(), 0.0);

    // A model that already counted keeps its count; a partial load reports the same.
    let (trained, bn) = batch_norm_store(3, 4.0);
    let report = Checkpoint::<f32>::load(&path).unwrap().apply_to_store_partial(&trained).unwrap();
    assert_eq!(report.defaulted, ["bn.num_batches_tracked"]);
    assert!(report.missing.is_empty());
    assert_eq!(bn.num_batches_tracked.value().item(), 4.0);

    // Any other missing buffer is still a mismatch.
    let mut c = Checkpoint::<f32>::load(&path).unwrap();
    c.params.retain(|(name, _)| name != "bn.running_var");
    let err = c.apply_to_store(&fresh).unwrap_err();
    assert!(
        err.to_string().ends_with("checkpoint does not match the model: missing `bn.running_var`"),
        "{err}"
    );
}

#[test]
fn a_counter_in_the_file_is_loaded_not_defaulted() {
    let (a, _) = batch_norm_store(1, 9.0);
    let (b, bn) = batch_norm_store(2, 0.0);
    let report = Checkpoint::from_store(&a).apply(&b, true).unwrap();
    assert!(report.defaulted.is_empty());
    assert_eq!(bn.num_batches_tracked.value().item(), 9.0);
}

#[test]
fn only_a_buffer_named_num_batches_tracked_is_defaulted() {
    // A trainable parameter of that name is no BatchNorm counter: its absence is a mismatch.
    let s = ParamStore::<f32>::new(0);
    s.root().param("num_batches_tracked", &[], Init::Zeros);
    let err = Checkpoint::<f32>::new().apply_to_store(&s).unwrap_err();
    assert_eq!(err.to_string(), "checkpoint does not match the model: missing `num_batches_tracked`");
    // Nor is a buffer whose name merely ends in those letters.
    let s = ParamStore::<f32>::new(0);
    s.add_buffer(crate::Param::new("bn.my_num_batches_tracked", Tensor::scalar(0.0)));
    assert!(Checkpoint::<f32>::new().apply_to_store(&s).is_err());
}
