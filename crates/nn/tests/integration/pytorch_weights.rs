//! Weights written by PyTorch (tests/fixtures, made by make_fixtures.py) load into the matching
//! Wengert models under their PyTorch names, and each model's output matches PyTorch's for the same
//! input; and the files Wengert writes read back through the `safetensors` crate's own reader.

use std::path::PathBuf;

use wengert_nn::checkpoint::{
    IntDtype, SafetensorsOptions, SaveDtype, load_safetensors, load_safetensors_dict, save_safetensors,
};
use wengert_nn::{
    BatchNorm1d, BatchNorm2d, Conv2d, Linear, Lstm, Module, MultiHeadAttention, ParamStore, RecurrentOptions,
    Relu, Sequential, TransformerEncoderLayer, TransformerOptions,
};
use wengert_tape::{Tape, Var};
use wengert_tensor::Tensor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// PyTorch's fixed input and its output for the model `name`.
fn io(name: &str) -> (Tensor<f32>, Tensor<f32>) {
    let mut dict = load_safetensors_dict::<f32>(fixture(&format!("{name}.io.safetensors"))).unwrap();
    (dict.tensors.remove("input").unwrap(), dict.tensors.remove("output").unwrap())
}

/// Runs `forward` on PyTorch's input for `name` and compares with PyTorch's output to `tol`.
fn assert_matches_pytorch(name: &str, tol: f32, forward: impl for<'t> Fn(Var<'t>) -> Var<'t>) {
    let (x, want) = io(name);
    let tape = Tape::new();
    let got = forward(tape.constant(x)).value();
    assert_eq!(got.shape(), want.shape(), "{name}");
    for (i, (a, b)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        assert!((a - b).abs() <= tol, "{name}: element {i}: Wengert {a}, PyTorch {b}");
    }
}

fn mlp(store: &ParamStore<f32>) -> Sequential<f32> {
    Sequential::new(&store.root()).add(|p| Linear::new(p, 4, 8)).add(|_| Relu).add(|p| Linear::new(p, 8, 3))
}

#[test]
fn a_pytorch_sequential_mlp_loads_under_its_own_names_and_gives_pytorchs_output() {
    let store = ParamStore::<f32>::new(0);
    let model = mlp(&store);
    let report = load_safetensors(&store, fixture("mlp.safetensors")).unwrap();
    assert_eq!(report.loaded, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert!(report.converted.is_empty() && report.skipped.is_empty());
    assert_matches_pytorch("mlp", 1e-6, |x| model.forward(x));
}

#[test]
fn f16_and_bf16_files_from_pytorch_load_exactly_widened() {
    for name in ["mlp_f16", "mlp_bf16"] {
        let store = ParamStore::<f32>::new(0);
        let model = mlp(&store);
        let report = load_safetensors(&store, fixture(&format!("{name}.safetensors"))).unwrap();
        assert_eq!(report.converted, ["0.weight", "0.bias", "2.weight", "2.bias"], "{name}");
        // PyTorch's output is that of the same rounded weights in f32: only the arithmetic may differ.
        assert_matches_pytorch(name, 1e-6, |x| model.forward(x));
    }
}

#[test]
fn batch_norm_running_statistics_and_its_i64_counter_load_from_pytorch() {
    let store = ParamStore::<f32>::new(0);
    let model = Sequential::new(&store.root())
        .add(|p| Linear::new(p, 4, 6))
        .add(|p| BatchNorm1d::new(p, 6))
        .add(|_| Relu)
        .add(|p| Linear::new(p, 6, 2));
    let report = load_safetensors(&store, fixture("batchnorm1d.safetensors")).unwrap();
    assert_eq!(report.converted, ["1.num_batches_tracked"]);
    assert_eq!(store.buffers()[2].name(), "1.num_batches_tracked");
    assert_eq!(store.buffers()[2].value().item(), 3.0);
    assert_ne!(store.buffers()[0].value().to_vec(), vec![0.0; 6]);
    store.eval();
    assert_matches_pytorch("batchnorm1d", 1e-5, |x| model.forward(x));

    let store = ParamStore::<f32>::new(0);
    let model = Sequential::new(&store.root())
        .add(|p| Conv2d::new(p, 2, 3, (3, 3)))
        .add(|p| BatchNorm2d::new(p, 3))
        .add(|_| Relu);
    load_safetensors(&store, fixture("batchnorm2d.safetensors")).unwrap();
    store.eval();
    assert_matches_pytorch("batchnorm2d", 1e-5, |x| model.forward(x));
    // Saved back, the counter is I64 again and every name and value is as PyTorch wrote it.
    let dir = std::env::temp_dir().join(format!("wengert-pt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("bn2d.safetensors");
    save_safetensors(&store, &out).unwrap();
    let (ours, theirs) = (
        load_safetensors_dict::<f32>(&out).unwrap(),
        load_safetensors_dict::<f32>(fixture("batchnorm2d.safetensors")).unwrap(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((ours.tensors, ours.ints), (theirs.tensors, theirs.ints));
}

#[test]
fn a_bidirectional_pytorch_lstm_loads_with_its_reverse_weights() {
    let store = ParamStore::<f32>::new(0);
    let lstm = Lstm::with_options(&store.root(), 3, 4, &RecurrentOptions::default().bidirectional(true));
    let report = load_safetensors(&store, fixture("lstm.safetensors")).unwrap();
    assert!(report.loaded.contains(&"weight_hh_l0_reverse".to_string()));
    assert_matches_pytorch("lstm", 1e-5, |x| lstm.forward_seq(x, None).0);
}

#[test]
fn a_pytorch_multihead_attention_loads_its_fused_projection() {
    let store = ParamStore::<f32>::new(0);
    let mha = MultiHeadAttention::new(&store.root(), 8, 2);
    let report = load_safetensors(&store, fixture("multihead.safetensors")).unwrap();
    assert_eq!(report.loaded, ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
    store.eval();
    assert_matches_pytorch("multihead", 1e-5, |x| mha.forward(x));
}

#[test]
fn a_pytorch_transformer_encoder_layer_loads_under_its_own_names() {
    let store = ParamStore::<f32>::new(0);
    let opts = TransformerOptions::default().ff_dim(16).dropout(0.0).norm_first(false);
    let layer = TransformerEncoderLayer::with_options(&store.root(), 8, 2, &opts);
    load_safetensors(&store, fixture("encoder.safetensors")).unwrap();
    store.eval();
    assert_matches_pytorch("encoder", 1e-5, |x| layer.forward(x));
}

#[test]
fn wengert_files_read_back_through_the_safetensors_crate() {
    let store = ParamStore::<f64>::with_seed(0);
    let model = Sequential::new(&store.root()).add(|p| Linear::new(p, 3, 2)).add(|p| BatchNorm1d::new(p, 2));
    store.train();
    model.forward(Tape::new().constant(Tensor::from_vec((0..12).map(f64::from).collect(), &[4, 3]).unwrap()));
    let dir = std::env::temp_dir().join(format!("wengert-st-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (dtype, want) in [
        (SaveDtype::Native, safetensors::Dtype::F64),
        (SaveDtype::F32, safetensors::Dtype::F32),
        (SaveDtype::F16, safetensors::Dtype::F16),
        (SaveDtype::Bf16, safetensors::Dtype::BF16),
    ] {
        let path = dir.join("m.safetensors");
        SafetensorsOptions::new().dtype(dtype).save(&store, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut names = file.names();
        names.sort();
        assert_eq!(
            names,
            [
                "0.bias",
                "0.weight",
                "1.bias",
                "1.num_batches_tracked",
                "1.running_mean",
                "1.running_var",
                "1.weight"
            ]
        );
        for p in store.state_dict() {
            let view = file.tensor(p.name()).unwrap();
            assert_eq!(view.shape(), p.shape().as_slice(), "{}", p.name());
            let values: Vec<f64> = match view.dtype() {
                safetensors::Dtype::F64 => {
                    view.data().chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
                }
                safetensors::Dtype::F32 => {
                    view.data().chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()).into()).collect()
                }
                safetensors::Dtype::F16 => {
                    view.data().chunks(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f64()).collect()
                }
                safetensors::Dtype::BF16 => {
                    view.data().chunks(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f64()).collect()
                }
                safetensors::Dtype::I64 => {
                    assert_eq!(p.name(), "1.num_batches_tracked");
                    view.data().chunks(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64).collect()
                }
                other => panic!("{}: {other:?}", p.name()),
            };
            let want_dtype =
                if p.name().ends_with("num_batches_tracked") { safetensors::Dtype::I64 } else { want };
            assert_eq!(view.dtype(), want_dtype, "{}", p.name());
            let tol = match dtype {
                SaveDtype::F16 => 1e-3,
                SaveDtype::Bf16 => 1e-2,
                SaveDtype::F32 => 1e-7,
                _ => 0.0,
            };
            for (a, b) in values.iter().zip(p.value().to_vec()) {
                assert!((a - b).abs() <= tol * b.abs().max(1.0), "{}: {a} vs {b} as {dtype:?}", p.name());
            }
        }
        let dict = load_safetensors_dict::<f32>(&path).unwrap();
        assert_eq!(dict.ints["1.num_batches_tracked"].dtype(), IntDtype::I64);
        assert_eq!(dict.ints["1.num_batches_tracked"].values(), [1]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
