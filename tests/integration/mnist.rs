//! The MNIST example runs on IDX files written here (no network): a small synthetic set in MNIST's
//! format, whose classes the CNN must tell apart, and a clear error when files are missing.

#[path = "../../examples/mnist.rs"]
mod example;

use std::path::Path;

/// An IDX file: magic, big-endian dimensions, then the u8 data.
fn write_idx(path: &Path, magic: u32, dims: &[u32], data: &[u8]) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

/// `n` 8×8 images of class `i % 4`: a bright 4×4 quadrant chosen by the class, plus a little noise.
fn images(n: usize, seed: u32) -> (Vec<u8>, Vec<u8>) {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut noise = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 60) as u8
    };
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let class = i % 4;
        labels.push(class as u8);
        for r in 0..8 {
            for c in 0..8 {
                let lit = (r / 4) * 2 + c / 4 == class;
                pixels.push(if lit { 195 + noise() } else { noise() });
            }
        }
    }
    (pixels, labels)
}

#[test]
fn the_mnist_cnn_learns_from_idx_files() {
    let dir = std::env::temp_dir().join(format!("wengert-mnist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (split, n, seed) in [("train", 128, 1), ("t10k", 32, 2)] {
        let (pixels, labels) = images(n, seed);
        write_idx(&dir.join(format!("{split}-images-idx3-ubyte")), 0x803, &[n as u32, 8, 8], &pixels);
        write_idx(&dir.join(format!("{split}-labels-idx1-ubyte")), 0x801, &[n as u32], &labels);
    }
    let acc = example::run(&dir, 0, 4).unwrap_or_else(|e| panic!("the mnist example failed: {e}"));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(acc >= 0.95, "test accuracy {acc}");
}

#[test]
fn missing_files_are_named() {
    let dir = std::env::temp_dir().join(format!("wengert-mnist-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = example::run(&dir, 0, 1).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.contains("train-images-idx3-ubyte") && err.contains("t10k-labels-idx1-ubyte"), "{err}");
}
