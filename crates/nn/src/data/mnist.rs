//! MNIST: its four IDX files in one folder, plain or gzipped, loaded as train and test sets whose
//! labels are checked to be digits.

use std::path::{Path, PathBuf};

use wengert_tensor::Float;

use super::bounded::DEFAULT_MAX_BYTES;
use super::csv::shaped;
use super::idx::{read_images_with, read_labels_with};
use super::{DataError, TensorDataset};

/// The names of the four MNIST files: train images, train labels, test images, test labels.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The path of `name` in `dir`, plain or with `.gz`, if either exists.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

/// Images and labels of one split, checked to pair up, every label a digit.
fn split<F: Float>(images: &Path, labels: &Path, limit: u64) -> Result<TensorDataset<F>, DataError> {
    let x = read_images_with::<F>(images, limit)?;
    let y = read_labels_with(labels, limit)?;
    if x.shape()[0] != y.len() {
        return Err(DataError::CountMismatch {
            inputs: images.to_path_buf(),
            input_count: x.shape()[0],
            targets: labels.to_path_buf(),
            target_count: y.len(),
        });
    }
    if let Some((i, label)) = y.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(DataError::Malformed {
            path: labels.to_path_buf(),
            reason: format!("label {label} at position {i} (counted from 0) is not a digit 0..=9"),
        });
    }
    let n = y.len();
    let targets = shaped(labels, y.into_iter().map(|c| F::from_f64(c as f64)).collect(), &[n])?;
    TensorDataset::new(x, targets)
}

/// Loads MNIST from `dir`, which holds the four standard files ([`MNIST_FILES`]), each plain or with
/// `.gz`: the train and test sets, images `[n, 1, 28, 28]` in `[0, 1]` and labels `[n]` as class
/// indices. Each file may hold at most [`DEFAULT_MAX_BYTES`] bytes of data and of values;
/// [`load_mnist_with`] raises the limit.
///
/// ```no_run
/// use wengert::nn::data::load_mnist;
/// let (train, test) = load_mnist::<f32>("data/mnist")?;
/// assert_eq!((train.len(), test.len()), (60_000, 10_000));
/// # Ok::<(), wengert::nn::data::DataError>(())
/// ```
///
/// # Errors
///
/// [`DataError::MissingFiles`] naming the absent files and the expected ones,
/// [`DataError::CountMismatch`] when a split's images and labels differ in number,
/// [`DataError::Malformed`] naming the file and the position of a label that is not a digit, and every
/// error of [`read_idx_images`](super::read_idx_images) and [`read_idx_labels`](super::read_idx_labels).
pub fn load_mnist<F: Float>(
    dir: impl AsRef<Path>,
) -> Result<(TensorDataset<F>, TensorDataset<F>), DataError> {
    load_mnist_with(dir, DEFAULT_MAX_BYTES)
}

/// [`load_mnist`] holding at most `max_bytes` bytes of each file's data (decompressed) and of its
/// values.
///
/// ```no_run
/// use wengert::nn::data::load_mnist_with;
/// // EMNIST-sized files in MNIST's layout, past the default limit.
/// let (train, _test) = load_mnist_with::<f32>("data/big", 4 << 30)?;
/// # Ok::<(), wengert::nn::data::DataError>(())
/// ```
///
/// # Errors
///
/// As [`load_mnist`], with [`DataError::TooLarge`] past `max_bytes`.
pub fn load_mnist_with<F: Float>(
    dir: impl AsRef<Path>,
    max_bytes: u64,
) -> Result<(TensorDataset<F>, TensorDataset<F>), DataError> {
    let dir = dir.as_ref();
    let found: Vec<Option<PathBuf>> = MNIST_FILES.iter().map(|n| find(dir, n)).collect();
    let missing: Vec<String> =
        MNIST_FILES.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(n, _)| n.to_string()).collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            dir: dir.to_path_buf(),
            missing,
            expected: MNIST_FILES.iter().map(|n| n.to_string()).collect(),
        });
    }
    let p: Vec<PathBuf> = found.into_iter().flatten().collect();
    Ok((split(&p[0], &p[1], max_bytes)?, split(&p[2], &p[3], max_bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::tests::{gzip, idx_u8, images, labels, temp_dir};

    #[test]
    fn load_mnist_reads_the_four_files_plain_or_gzipped() {
        let dir = temp_dir("mnist");
        std::fs::write(dir.join(MNIST_FILES[0]), images(4)).unwrap();
        std::fs::write(dir.join(format!("{}.gz", MNIST_FILES[1])), gzip(&labels(4))).unwrap();
        std::fs::write(dir.join(format!("{}.gz", MNIST_FILES[2])), gzip(&images(2))).unwrap();
        std::fs::write(dir.join(MNIST_FILES[3]), labels(2)).unwrap();
        let (train, test) = load_mnist::<f32>(&dir).unwrap();
        assert_eq!((train.len(), test.len()), (4, 2));
        assert_eq!(train.inputs().shape(), &[4, 1, 2, 3]);
        assert_eq!(train.targets().to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn missing_mnist_files_are_listed_with_the_expected_names() {
        let dir = temp_dir("missing");
        std::fs::write(dir.join(MNIST_FILES[0]), images(1)).unwrap();
        std::fs::write(dir.join(format!("{}.gz", MNIST_FILES[3])), gzip(&labels(1))).unwrap();
        let err = load_mnist::<f32>(&dir).unwrap_err();
        let DataError::MissingFiles { missing, expected, .. } = &err else { panic!("{err}") };
        assert_eq!(missing, &[MNIST_FILES[1], MNIST_FILES[2]]);
        assert_eq!(expected.len(), 4);
        let msg = err.to_string();
        assert!(msg.contains("missing train-labels-idx1-ubyte, t10k-images-idx3-ubyte;"), "{msg}");
        assert!(msg.contains("t10k-labels-idx1-ubyte, each plain or gzipped (.gz)"), "{msg}");
    }

    #[test]
    fn mismatched_image_and_label_counts_are_an_error() {
        let dir = temp_dir("counts");
        for (name, bytes) in MNIST_FILES.iter().zip([images(3), labels(2), images(1), labels(1)]) {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let err = load_mnist::<f32>(&dir).unwrap_err();
        assert!(matches!(err, DataError::CountMismatch { input_count: 3, target_count: 2, .. }), "{err}");
        assert!(err.to_string().contains("train-images-idx3-ubyte holds 3 samples but"), "{err}");
        assert!(err.to_string().ends_with("train-labels-idx1-ubyte holds 2"), "{err}");
    }

    #[test]
    fn a_label_outside_0_to_9_is_named_by_file_and_position() {
        let dir = temp_dir("label");
        let mut bad = labels(3);
        *bad.last_mut().unwrap() = 10;
        for (name, bytes) in MNIST_FILES.iter().zip([images(3), bad, images(1), labels(1)]) {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let err = load_mnist::<f32>(&dir).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err}");
        let want = format!(
            "{}: label 10 at position 2 (counted from 0) is not a digit 0..=9",
            dir.join(MNIST_FILES[1]).display()
        );
        assert_eq!(err.to_string(), want);
    }

    #[test]
    fn an_empty_split_with_overflowing_image_sizes_is_an_error() {
        let dir = temp_dir("empty-huge");
        let huge = idx_u8(&[0, u32::MAX, u32::MAX], &[]);
        for (name, bytes) in MNIST_FILES.iter().zip([huge, idx_u8(&[0], &[]), images(1), labels(1)]) {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let err = load_mnist::<f32>(&dir).unwrap_err();
        assert!(
            err.to_string()
                .contains("train-images-idx3-ubyte: the dimensions [0, 4294967295, 4294967295] overflow"),
            "{err}"
        );
    }

    #[test]
    fn the_limit_applies_to_every_file() {
        let dir = temp_dir("limit");
        for (name, bytes) in MNIST_FILES.iter().zip([images(4), gzip(&labels(4)), images(2), labels(2)]) {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        // 4 images of 6 pixels: 40 bytes of file, 96 bytes of f32.
        assert!(load_mnist_with::<f32>(&dir, 96).is_ok());
        let err = load_mnist_with::<f32>(&dir, 95).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { size: Some(96), limit: 95, .. }), "{err}");
    }
}
