//! Tests of safetensors import and export into a store: dtypes, integer tensors, key maps, damaged files.

use super::*;
use crate::Init;
use crate::checkpoint::tests::TempDir;
use crate::checkpoint::{IntDtype, IntTensor, KeyMap, SafetensorsOptions, SaveDtype, load_safetensors_dict};
use std::fs;

fn store<F: Float>(seed: u64) -> ParamStore<F> {
    let s = ParamStore::with_seed(seed);
    s.root().sub("layers").sub(0).param("weight", &[3, 2], Init::GLOROT_UNIFORM);
    s.root().sub("layers").sub(0).param("bias", &[3], Init::GLOROT_UNIFORM);
    s
}

/// A safetensors file built by hand: the header's length, its JSON, then the bytes.
fn by_hand(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

#[test]
fn weights_round_trip_in_both_float_types() {
    let dir = TempDir::new("st");
    let (a, b) = (store::<f32>(1), store::<f32>(2));
    save_safetensors(&a, dir.join("m.safetensors")).unwrap();
    let report = load_safetensors(&b, dir.join("m.safetensors")).unwrap();
    assert_eq!(report.loaded, ["layers.0.weight", "layers.0.bias"]);
    assert!(report.converted.is_empty());
    for (p, q) in a.parameters().iter().zip(b.parameters()) {
        assert_eq!(p.value(), q.value());
    }
    let (a, b) = (store::<f64>(1), store::<f64>(2));
    save_safetensors(&a, dir.join("d.safetensors")).unwrap();
    load_safetensors(&b, dir.join("d.safetensors")).unwrap();
    assert_eq!(a.get("layers.0.bias").unwrap().value(), b.get("layers.0.bias").unwrap().value());
    assert_eq!(dir.names(), ["d.safetensors", "m.safetensors"]);
}

#[test]
fn a_hand_written_file_loads() {
    let dir = TempDir::new("st");
    let path = dir.join("hand.safetensors");
    // PyTorch's layout: a Linear(2 -> 2) weight is [out, in]; F64 bias stored after the F32 weight.
    let header = r#"{"__metadata__":{"format":"pt"},"fc.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"fc.bias":{"dtype":"F64","shape":[2],"data_offsets":[16,32]}}"#;
    let mut data = Vec::new();
    for v in [1.0f32, 2.0, 3.0, 4.0] {
        data.extend(v.to_le_bytes());
    }
    for v in [0.5f64, -0.25] {
        data.extend(v.to_le_bytes());
    }
    fs::write(&path, by_hand(header, &data)).unwrap();
    let s = ParamStore::<f32>::new(0);
    s.root().sub("fc").param("weight", &[2, 2], Init::Zeros);
    s.root().sub("fc").param("bias", &[2], Init::Zeros);
    let report = load_safetensors(&s, &path).unwrap();
    assert_eq!(report.converted, ["fc.bias"]);
    assert_eq!(s.get("fc.weight").unwrap().value().to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(s.get("fc.bias").unwrap().value().to_vec(), vec![0.5, -0.25]);
    let c = Checkpoint::<f64>::read_safetensors(&path).unwrap();
    assert_eq!(c.params.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["fc.weight", "fc.bias"]);
    assert_eq!(c.meta, [("format".to_string(), "pt".to_string())]);
}

#[test]
fn metadata_round_trips() {
    let dir = TempDir::new("st");
    let mut c = Checkpoint::<f32>::new();
    c.params.push(("w".into(), Tensor::ones(&[2])));
    c.meta = vec![("a".into(), "1".into()), ("b".into(), "two".into())];
    c.write_safetensors(dir.join("m.safetensors")).unwrap();
    let back = Checkpoint::<f32>::read_safetensors(dir.join("m.safetensors")).unwrap();
    assert_eq!((back.params, back.meta), (c.params, c.meta));
}

#[test]
fn names_and_shapes_are_checked_before_loading() {
    let dir = TempDir::new("st");
    let path = dir.join("m.safetensors");
    save_safetensors(&store::<f32>(1), &path).unwrap();
    let s = ParamStore::<f32>::new(0);
    s.root().sub("layers").sub(0).param("weight", &[2, 3], Init::Zeros);
    s.root().param("extra", &[1], Init::Zeros);
    let err = load_safetensors(&s, &path).unwrap_err();
    let want = "checkpoint does not match the model: missing `extra`; unexpected `layers.0.bias`; \
                misshaped `layers.0.weight` (model [2, 3], checkpoint [3, 2])";
    assert_eq!(err.to_string(), format!("{}: {want}", path.display()));
    assert!(s.get("layers.0.weight").unwrap().value().to_vec().iter().all(|&v| v == 0.0));
}

#[test]
fn damaged_files_are_errors() {
    let dir = TempDir::new("st");
    let path = dir.join("m.safetensors");
    save_safetensors(&store::<f32>(1), &path).unwrap();
    let good = fs::read(&path).unwrap();
    for cut in 0..good.len() {
        let _ = fs::remove_file(&path); // a new file: ext4 flushes one truncated and rewritten in place
        fs::write(&path, &good[..cut]).unwrap();
        assert!(Checkpoint::<f32>::read_safetensors(&path).is_err(), "prefix {cut}");
    }
    let hostile = [
        // Offsets whose sum with the header overflows: the crate alone panics in a debug build.
        {
            let m = usize::MAX / 8;
            let entries: Vec<String> = (0..8)
                .map(|i| {
                    format!(
                        r#""t{i}":{{"dtype":"U8","shape":[{m}],"data_offsets":[{},{}]}}"#,
                        i * m,
                        (i + 1) * m
                    )
                })
                .collect();
            by_hand(&format!("{{{}}}", entries.join(",")), &[])
        },
        by_hand("{not json", &[]),
        by_hand(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &[0; 9]),
        by_hand(r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, &[0; 8]),
        {
            let mut b = by_hand("{}", &[]);
            b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
            b
        },
    ];
    for bytes in hostile {
        fs::write(&path, &bytes).unwrap();
        let err = Checkpoint::<f32>::read_safetensors(&path).unwrap_err();
        assert!(err.to_string().starts_with(&path.display().to_string()), "{err}");
    }
}

#[test]
fn a_key_twice_in_the_header_is_refused_by_name() {
    let dir = TempDir::new("st");
    let path = dir.join("dup.safetensors");
    let tensor = r#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
    let cases = [
        (format!(r#"{{"w":{tensor},"w":{tensor}}}"#), "w"),
        (format!(r#"{{"__metadata__":{{"a":"1","a":"2"}},"w":{tensor}}}"#), "a"),
    ];
    for (header, key) in cases {
        fs::write(&path, by_hand(&header, &[0; 4])).unwrap();
        let err = Checkpoint::<f32>::read_safetensors(&path).unwrap_err();
        let want = format!(
            "{}: corrupt: safetensors header: the key `{key}` appears more than once",
            path.display()
        );
        assert!(err.to_string().starts_with(&want), "{err}");
    }
}

#[test]
fn an_endless_stream_is_an_error() {
    if Path::new("/dev/zero").exists() {
        assert!(Checkpoint::<f32>::read_safetensors("/dev/zero").is_err());
        assert!(Checkpoint::<f32>::load("/dev/zero").is_err());
    }
}

/// The little-endian bytes of `values` as F16 and as BF16.
fn halves(values: &[f32]) -> (Vec<u8>, Vec<u8>) {
    let f16s = values.iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect();
    let bf16s = values.iter().flat_map(|&v| half::bf16::from_f32(v).to_le_bytes()).collect();
    (f16s, bf16s)
}

#[test]
fn f16_and_bf16_tensors_widen_exactly_into_either_float_type() {
    let dir = TempDir::new("st");
    let path = dir.join("h.safetensors");
    // Exact in both: 1.5, -0.25, 65504 (F16's largest); 0.1 rounds in each, differently.
    let values = [1.5f32, -0.25, 65504.0, 0.1];
    let (f16s, bf16s) = halves(&values);
    let header = r#"{"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[8,16]}}"#;
    fs::write(&path, by_hand(header, &[f16s, bf16s].concat())).unwrap();
    let s = ParamStore::<f64>::with_seed(0);
    s.root().param("a", &[2, 2], Init::Zeros);
    s.root().param("b", &[4], Init::Zeros);
    let report = load_safetensors(&s, &path).unwrap();
    assert_eq!(report.converted, ["a", "b"]);
    let a = s.get("a").unwrap().value().to_vec();
    let b = s.get("b").unwrap().value().to_vec();
    assert_eq!(a, [1.5, -0.25, 65504.0, half::f16::from_f32(0.1).to_f64()]);
    assert_eq!(a[3], 0.0999755859375);
    assert_eq!(b[..2], [1.5, -0.25]);
    assert_eq!(b[3], 0.10009765625);
    let c = Checkpoint::<f32>::read_safetensors(&path).unwrap();
    assert_eq!(c.param("a").unwrap().to_vec()[3], 0.099975586f32);
}

#[test]
fn saves_in_f16_and_bf16_round_to_nearest_and_read_back_by_the_safetensors_crate() {
    let dir = TempDir::new("st");
    let s = ParamStore::<f32>::new(0);
    let w = s.root().param("w", &[3], Init::Zeros);
    w.set(Tensor::from_vec(vec![0.1, 1e6, -3.0], &[3]).unwrap());
    for (dtype, st, want) in [
        (SaveDtype::F16, Dtype::F16, [half::f16::from_f32(0.1).to_f32(), f32::INFINITY, -3.0]),
        (SaveDtype::Bf16, Dtype::BF16, [half::bf16::from_f32(0.1).to_f32(), 999424.0, -3.0]),
        (SaveDtype::F64, Dtype::F64, [0.1f32, 1e6, -3.0]),
    ] {
        let path = dir.join("w.safetensors");
        SafetensorsOptions::new().dtype(dtype).save(&s, &path).unwrap();
        let bytes = fs::read(&path).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let view = file.tensor("w").unwrap();
        assert_eq!((view.dtype(), view.shape()), (st, &[3][..]));
        let back = load_safetensors_dict::<f32>(&path).unwrap();
        assert_eq!(back.tensors["w"].to_vec(), want, "{dtype:?}");
    }
}

#[test]
fn integer_tensors_load_into_slots_of_their_name_and_are_skipped_elsewhere() {
    let dir = TempDir::new("st");
    let path = dir.join("bn.safetensors");
    // PyTorch's BatchNorm: an I64 scalar counter beside the F32 statistics; and an I64 index buffer
    // and an F8 tensor the model has no place for.
    let header = r#"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"bn.running_mean":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"position_ids":{"dtype":"I64","shape":[2],"data_offsets":[12,28]},"scale":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[28,29]}}"#;
    let data = [7i64.to_le_bytes().to_vec(), 2.5f32.to_le_bytes().to_vec(), vec![0; 16], vec![0x38]].concat();
    fs::write(&path, by_hand(header, &data)).unwrap();
    let s = ParamStore::<f32>::new(0);
    let count = s.add_buffer(crate::Param::new("bn.num_batches_tracked", Tensor::scalar(0.0)));
    s.add_buffer(crate::Param::new("bn.running_mean", Tensor::zeros(&[1])));
    let report = load_safetensors(&s, &path).unwrap();
    assert_eq!(count.value().item(), 7.0);
    assert_eq!(report.loaded, ["bn.num_batches_tracked", "bn.running_mean"]);
    assert_eq!(report.converted, ["bn.num_batches_tracked"]);
    assert_eq!(
        report.skipped,
        [
            (
                "position_ids".to_string(),
                "I64 tensor: the model has no parameter or buffer `position_ids`".to_string()
            ),
            (
                "scale".to_string(),
                "dtype F8_E4M3 is not read (F16, BF16, F32, F64 and the integer types are)".to_string()
            ),
        ]
    );
    // A tensor of a dtype not read that the model wants is an error naming it.
    s.root().param("scale", &[1], Init::Zeros);
    let err = load_safetensors(&s, &path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: tensor `scale` has dtype F8_E4M3, which does not load (F16, BF16, F32, F64 and the integer \
             types do)",
            path.display()
        )
    );
    // The dictionary keeps integers exact and lists the rest.
    let dict = load_safetensors_dict::<f64>(&path).unwrap();
    assert_eq!(dict.ints["bn.num_batches_tracked"], IntTensor::new(IntDtype::I64, &[], vec![7]));
    assert_eq!(dict.ints["position_ids"].values(), [0, 0]);
    assert_eq!(dict.tensors.keys().collect::<Vec<_>>(), ["bn.running_mean"]);
    assert_eq!(dict.skipped.len(), 1);
}

#[test]
fn counters_are_saved_as_i64() {
    let dir = TempDir::new("st");
    let path = dir.join("c.safetensors");
    let s = ParamStore::<f32>::new(0);
    s.add_buffer(crate::Param::new("bn.num_batches_tracked", Tensor::scalar(12.0)));
    s.root().sub("bn").param("weight", &[2], Init::Ones);
    SafetensorsOptions::new().dtype(SaveDtype::F16).save(&s, &path).unwrap();
    let dict = load_safetensors_dict::<f32>(&path).unwrap();
    assert_eq!(dict.ints["bn.num_batches_tracked"], IntTensor::new(IntDtype::I64, &[], vec![12]));
    assert_eq!(dict.tensors["bn.weight"].to_vec(), vec![1.0, 1.0]);
}

#[test]
fn booleans_other_than_zero_and_one_are_corrupt() {
    let dir = TempDir::new("st");
    let path = dir.join("b.safetensors");
    fs::write(&path, by_hand(r#"{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}"#, &[1, 2])).unwrap();
    let err = load_safetensors_dict::<f32>(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: corrupt: safetensors tensor `m`: element 1 is 2, outside Bool's range 0..=1",
            path.display()
        )
    );
}

#[test]
fn key_maps_rename_on_load_and_on_save() {
    let dir = TempDir::new("st");
    let path = dir.join("k.safetensors");
    let a = store::<f32>(1);
    let to_file = KeyMap::new().pattern("layers.*", "model.*").skip("*.bias");
    SafetensorsOptions::new().keys(to_file).save(&a, &path).unwrap();
    let names: Vec<_> = load_safetensors_dict::<f32>(&path).unwrap().tensors.into_keys().collect();
    assert_eq!(names, ["model.0.weight"]);
    let b = ParamStore::<f32>::new(0);
    b.root().sub("net").sub(0).param("weight", &[3, 2], Init::Zeros);
    let report =
        SafetensorsOptions::new().keys(KeyMap::new().replace("model.", "net.")).load(&b, &path).unwrap();
    assert_eq!(report.loaded, ["net.0.weight"]);
    assert_eq!(b.get("net.0.weight").unwrap().value(), a.get("layers.0.weight").unwrap().value());
    // Skipped names are reported by their name in the file.
    let keys = KeyMap::new().replace("model.", "net.").skip("net.0.*");
    let report = SafetensorsOptions::new().keys(keys).strict(false).load(&b, &path).unwrap();
    assert_eq!(report.skipped, [("model.0.weight".to_string(), "skipped by the key map".to_string())]);
    assert_eq!(report.missing, ["net.0.weight"]);
    // Two names mapped to one: refused on save, and as a repeat on load.
    let err = SafetensorsOptions::new().keys(KeyMap::new().map(|_| Some("x".into()))).save(&a, &path);
    assert!(err.unwrap_err().to_string().contains("tensor `x` appears more than once"));
}

#[test]
fn a_file_with_the_old_sequential_names_loads_through_a_key_map() {
    use crate::{Linear, Relu, Sequential};
    let dir = TempDir::new("st");
    let path = dir.join("old.safetensors");
    // Written before Sequential took PyTorch's names: `layers.0.weight`, ...
    let old = ParamStore::<f32>::new(3);
    old.root().sub("net").sub("layers").sub(0).param("weight", &[4, 2], Init::GLOROT_UNIFORM);
    old.root().sub("net").sub("layers").sub(0).param("bias", &[4], Init::GLOROT_UNIFORM);
    old.root().sub("layers").sub(0).param("weight", &[1, 4], Init::GLOROT_UNIFORM);
    save_safetensors(&old, &path).unwrap();
    let store = ParamStore::<f32>::new(0);
    let _net = Sequential::new(&store.root().sub("net")).add(|p| Linear::new(p, 2, 4)).add(|_| Relu);
    let _head = Sequential::new(&store.root()).add(|p| Linear::no_bias(p, 4, 1));
    assert!(load_safetensors(&store, &path).is_err());
    let keys = KeyMap::new().strip_prefix("layers.").pattern("net.layers.*", "net.*");
    let report = SafetensorsOptions::new().keys(keys).load(&store, &path).unwrap();
    assert_eq!(report.loaded, ["net.0.weight", "net.0.bias", "0.weight"]);
    assert_eq!(store.get("0.weight").unwrap().value(), old.get("layers.0.weight").unwrap().value());
}

#[test]
fn a_partial_load_sets_what_both_have() {
    let dir = TempDir::new("st");
    let path = dir.join("p.safetensors");
    save_safetensors(&store::<f32>(1), &path).unwrap();
    let s = ParamStore::<f32>::new(0);
    s.root().sub("layers").sub(0).param("weight", &[3, 2], Init::Zeros);
    s.root().param("head", &[1], Init::Zeros);
    let report = SafetensorsOptions::new().strict(false).load(&s, &path).unwrap();
    assert_eq!(
        (report.loaded, report.missing, report.unexpected),
        (vec!["layers.0.weight".to_string()], vec!["head".to_string()], vec!["layers.0.bias".to_string()])
    );
}

#[test]
fn a_batch_norm_file_without_the_counter_loads_strictly_and_reports_it_defaulted() {
    let dir = TempDir::new("st");
    let path = dir.join("old_bn.safetensors");
    // PyTorch's BatchNorm1d(2) state_dict as saved before the module had `num_batches_tracked`.
    let header = r#"{"bn.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"bn.running_mean":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"bn.running_var":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},"bn.weight":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}"#;
    let data: Vec<u8> =
        [0.0f32, 0.0, 0.5, -1.5, 2.0, 3.0, 1.0, 1.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(&path, by_hand(header, &data)).unwrap();
    let s = ParamStore::<f64>::with_seed(0);
    let bn = crate::BatchNorm1d::new(&s.root().sub("bn"), 2);
    let report = load_safetensors(&s, &path).unwrap();
    assert_eq!(report.loaded, ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]);
    assert_eq!(report.defaulted, ["bn.num_batches_tracked"]);
    assert!(report.missing.is_empty());
    assert_eq!(bn.running_var.value().to_vec(), vec![2.0, 3.0]);
    assert_eq!(bn.num_batches_tracked.value().item(), 0.0);
    // A model that counted keeps its count, in a partial load too.
    bn.num_batches_tracked.set(Tensor::scalar(5.0));
    let report = SafetensorsOptions::new().strict(false).load(&s, &path).unwrap();
    assert_eq!((report.defaulted.len(), report.missing.len()), (1, 0));
    assert_eq!(bn.num_batches_tracked.value().item(), 5.0);
}

#[test]
fn u64_tensors_load_like_the_other_integers() {
    let dir = TempDir::new("st");
    let path = dir.join("u64.safetensors");
    let header = r#"{"count":{"dtype":"U64","shape":[2],"data_offsets":[0,16]},"seen":{"dtype":"U64","shape":[1],"data_offsets":[16,24]}}"#;
    let data = [3u64, 1 << 40, 9].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    fs::write(&path, by_hand(header, &data)).unwrap();
    let s = ParamStore::<f64>::with_seed(0);
    let count = s.add_buffer(crate::Param::new("count", Tensor::zeros(&[2])));
    let report = SafetensorsOptions::new().strict(false).load(&s, &path).unwrap();
    assert_eq!(count.value().to_vec(), vec![3.0, 2f64.powi(40)]);
    assert_eq!((report.loaded, report.converted), (vec!["count".to_string()], vec!["count".to_string()]));
    assert_eq!(
        report.skipped,
        [("seen".to_string(), "U64 tensor: the model has no parameter or buffer `seen`".to_string())]
    );
    let dict = load_safetensors_dict::<f32>(&path).unwrap();
    assert_eq!(dict.ints["count"], IntTensor::new(IntDtype::U64, &[2], vec![3, 1 << 40]));
    // Written back as U64, exactly.
    let again = dir.join("again.safetensors");
    dict.save(&again, SaveDtype::Native).unwrap();
    let bytes = fs::read(&again).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("count").unwrap().dtype(), Dtype::U64);
    assert_eq!(load_safetensors_dict::<f32>(&again).unwrap(), dict);
}

#[test]
fn a_u64_value_past_i64_max_loads_as_floats_or_is_skipped_with_the_reason() {
    let dir = TempDir::new("st");
    let path = dir.join("wide.safetensors");
    let header = r#"{"hash":{"dtype":"U64","shape":[2],"data_offsets":[0,16]}}"#;
    let data = [1u64, u64::MAX].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    fs::write(&path, by_hand(header, &data)).unwrap();
    let reason = "U64 tensor: element 1 is 18446744073709551615, past 2^63 - 1, the largest integer tensor \
                  value Wengert holds";
    let dict = load_safetensors_dict::<f64>(&path).unwrap();
    assert!(dict.ints.is_empty() && dict.tensors.is_empty());
    assert_eq!(dict.skipped, [("hash".to_string(), reason.to_string())]);
    let s = ParamStore::<f64>::with_seed(0);
    let report = SafetensorsOptions::new().strict(false).load(&s, &path).unwrap();
    assert_eq!(report.skipped, [("hash".to_string(), reason.to_string())]);
    let hash = s.add_buffer(crate::Param::new("hash", Tensor::zeros(&[2])));
    let report = load_safetensors(&s, &path).unwrap();
    assert_eq!(report.converted, ["hash"]);
    assert_eq!(hash.value().to_vec(), vec![1.0, u64::MAX as f64]);
}

#[test]
fn a_directory_is_refused_by_name() {
    let dir = TempDir::new("st");
    let sub = dir.join("d");
    fs::create_dir(&sub).unwrap();
    let err = Checkpoint::<f32>::read_safetensors(&sub).unwrap_err();
    assert!(err.to_string().starts_with(&format!("{}: ", sub.display())), "{err}");
}

#[test]
fn a_pytorch_file_cut_or_corrupted_anywhere_never_panics() {
    use rand::{Rng, SeedableRng};
    let dir = TempDir::new("st");
    let path = dir.join("bn.safetensors");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/batchnorm1d.safetensors");
    let good = fs::read(fixture).unwrap();
    for cut in 0..good.len() {
        let _ = fs::remove_file(&path);
        fs::write(&path, &good[..cut]).unwrap();
        assert!(load_safetensors_dict::<f32>(&path).is_err(), "prefix {cut}");
    }
    // Header bytes changed at random: an error or, when the JSON still makes sense, a load.
    let header_end = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for case in 0..2000 {
        let mut bad = good.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..header_end);
            bad[at] = rng.random();
        }
        let _ = fs::remove_file(&path);
        fs::write(&path, &bad).unwrap();
        if let Err(e) = load_safetensors_dict::<f32>(&path) {
            assert!(e.to_string().starts_with(&path.display().to_string()), "case {case}: {e}");
        }
    }
}
