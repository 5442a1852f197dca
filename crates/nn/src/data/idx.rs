//! Readers for the IDX format MNIST ships in, plain or gzipped, and a loader of the four MNIST files.
//!
//! An IDX file is a header — two zero bytes, a type code (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
//! 0x0D f32, 0x0E f64), the number of dimensions, then each dimension as a big-endian u32 — followed
//! by the elements, big-endian, row-major. MNIST's images are `0x00000803` (u8, `[n, rows, cols]`),
//! its labels `0x00000801` (u8, `[n]`). A file starting with the gzip magic `1f 8b` is decompressed
//! first. Every size is checked against the bytes really there before anything is allocated, so a
//! truncated, corrupted or hostile file gives an error, never a panic or a huge allocation.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use wengert_tensor::{Float, Tensor};

use super::csv::read;
use super::{DataError, TensorDataset};

/// The magic number of IDX files of u8 images `[n, rows, cols]`.
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of IDX files of u8 labels `[n]`.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// The names of the four MNIST files: train images, train labels, test images, test labels.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Deflate expands at most about 1032 times; more output than that is not a real gzip file.
const MAX_GZIP_RATIO: u64 = 1032;

/// A parsed IDX file: its dimensions and its bytes, header included.
struct Idx {
    dims: Vec<usize>,
    data: Vec<u8>,
    /// Where the elements start in `data`.
    offset: usize,
}

/// The file's bytes, decompressed when they start with the gzip magic.
fn bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = read(path, None)?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let limit = (raw.len() as u64).saturating_mul(MAX_GZIP_RATIO).saturating_add(1 << 12);
    let mut out = Vec::new();
    GzDecoder::new(&raw[..]).take(limit + 1).read_to_end(&mut out).map_err(|e| DataError::Malformed {
        path: path.to_path_buf(),
        reason: format!("not a valid gzip stream: {e}"),
    })?;
    if out.len() as u64 > limit {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            reason: format!("the gzip stream expands beyond {limit} bytes"),
        });
    }
    Ok(out)
}

/// The size of one element of type `code`, or `None` for an unknown type.
fn element_size(code: u8) -> Option<usize> {
    match code {
        0x08 | 0x09 => Some(1),
        0x0B => Some(2),
        0x0C | 0x0D => Some(4),
        0x0E => Some(8),
        _ => None,
    }
}

/// Parses and checks the header of `data`: the elements must fill the rest of the file exactly.
fn parse(path: &Path, data: Vec<u8>) -> Result<Idx, DataError> {
    let malformed = |reason: String| DataError::Malformed { path: path.to_path_buf(), reason };
    let truncated =
        |needed: u64| DataError::Truncated { path: path.to_path_buf(), needed, found: data.len() as u64 };
    if data.len() < 4 {
        return Err(truncated(4));
    }
    if data[0] != 0 || data[1] != 0 {
        return Err(malformed(format!(
            "not an IDX file: it starts with 0x{:02x} 0x{:02x} where two zero bytes were expected",
            data[0], data[1]
        )));
    }
    let size =
        element_size(data[2]).ok_or_else(|| malformed(format!("unknown IDX type code 0x{:02x}", data[2])))?;
    let ndims = usize::from(data[3]);
    let offset = 4 + 4 * ndims;
    if data.len() < offset {
        return Err(truncated(offset as u64));
    }
    let dims: Vec<usize> = data[4..offset]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let needed = dims
        .iter()
        .try_fold(size, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_add(offset))
        .ok_or_else(|| malformed(format!("the dimensions {dims:?} overflow")))?;
    if data.len() < needed {
        return Err(truncated(needed as u64));
    }
    if data.len() > needed {
        return Err(malformed(format!(
            "{} bytes follow the {needed} the header {dims:?} announces",
            data.len() - needed
        )));
    }
    Ok(Idx { dims, data, offset })
}

/// Reads and checks a file, requiring `magic` when given.
fn load(path: &Path, magic: Option<u32>) -> Result<Idx, DataError> {
    let data = bytes(path)?;
    if let (Some(expected), Some(head)) = (magic, data.get(..4)) {
        let found = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if found != expected {
            return Err(DataError::BadMagic { path: path.to_path_buf(), found, expected });
        }
    }
    parse(path, data)
}

/// Reads any IDX file, plain or gzipped, into a tensor of its dimensions holding its values as they
/// are stored (bytes as 0 to 255, not scaled).
///
/// ```
/// use wengert_nn::data::read_idx;
/// let path = std::env::temp_dir().join(format!("wengert-doc-{}.idx", std::process::id()));
/// // i16 (0x0B), 1 dimension of 2: the values 1 and -2.
/// std::fs::write(&path, [0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 0xff, 0xfe])?;
/// let t = read_idx::<f32>(&path)?;
/// assert_eq!((t.shape(), t.to_vec()), (&[2][..], vec![1.0, -2.0]));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`DataError::NotFound`] or [`DataError::Io`] when the file cannot be read, [`DataError::Truncated`]
/// when it ends before the data its header announces, and [`DataError::Malformed`] for a header that
/// is not IDX, an unknown type, bytes after the data, or a broken gzip stream.
pub fn read_idx<F: Float>(path: impl AsRef<Path>) -> Result<Tensor<F>, DataError> {
    let idx = load(path.as_ref(), None)?;
    let body = &idx.data[idx.offset..];
    let values: Vec<F> = match idx.data[2] {
        0x08 => body.iter().map(|&b| F::from_f64(f64::from(b))).collect(),
        0x09 => body.iter().map(|&b| F::from_f64(f64::from(b as i8))).collect(),
        0x0B => {
            body.chunks_exact(2).map(|b| F::from_f64(f64::from(i16::from_be_bytes([b[0], b[1]])))).collect()
        }
        0x0C => body
            .chunks_exact(4)
            .map(|b| F::from_f64(f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))))
            .collect(),
        0x0D => body
            .chunks_exact(4)
            .map(|b| F::from_f64(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))))
            .collect(),
        _ => body
            .chunks_exact(8)
            .map(|b| F::from_f64(f64::from_be_bytes(b.try_into().expect("8 bytes"))))
            .collect(),
    };
    Ok(Tensor::from_vec(values, &idx.dims).expect("the header's dimensions hold every element"))
}

/// Reads IDX images (magic `0x00000803`, u8 `[n, rows, cols]`), plain or gzipped, as a tensor
/// `[n, 1, rows, cols]` scaled to `[0, 1]` (a channel axis for convolutions).
///
/// # Errors
///
/// As [`read_idx`], and [`DataError::BadMagic`] for any other magic number.
pub fn read_idx_images<F: Float>(path: impl AsRef<Path>) -> Result<Tensor<F>, DataError> {
    let idx = load(path.as_ref(), Some(IDX_IMAGES_MAGIC))?;
    let values = idx.data[idx.offset..].iter().map(|&b| F::from_f64(f64::from(b) / 255.0)).collect();
    let shape = [idx.dims[0], 1, idx.dims[1], idx.dims[2]];
    Ok(Tensor::from_vec(values, &shape).expect("the header's dimensions hold every pixel"))
}

/// Reads IDX labels (magic `0x00000801`, u8 `[n]`), plain or gzipped.
///
/// # Errors
///
/// As [`read_idx`], and [`DataError::BadMagic`] for any other magic number.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>, DataError> {
    let idx = load(path.as_ref(), Some(IDX_LABELS_MAGIC))?;
    Ok(idx.data[idx.offset..].iter().map(|&b| usize::from(b)).collect())
}

/// The path of `name` in `dir`, plain or with `.gz`, if either exists.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

/// Images and labels of one split, checked to pair up.
fn split<F: Float>(images: &Path, labels: &Path) -> Result<TensorDataset<F>, DataError> {
    let x = read_idx_images::<F>(images)?;
    let y = read_idx_labels(labels)?;
    if x.shape()[0] != y.len() {
        return Err(DataError::CountMismatch {
            inputs: images.to_path_buf(),
            input_count: x.shape()[0],
            targets: labels.to_path_buf(),
            target_count: y.len(),
        });
    }
    let n = y.len();
    let targets =
        Tensor::from_vec(y.into_iter().map(|c| F::from_f64(c as f64)).collect(), &[n]).expect("n labels");
    TensorDataset::new(x, targets)
}

/// Loads MNIST from `dir`, which holds the four standard files ([`MNIST_FILES`]), each plain or with
/// `.gz`: the train and test sets, images `[n, 1, 28, 28]` in `[0, 1]` and labels `[n]` as class
/// indices.
///
/// ```no_run
/// use wengert_nn::data::load_mnist;
/// let (train, test) = load_mnist::<f32>("data/mnist")?;
/// assert_eq!((train.len(), test.len()), (60_000, 10_000));
/// # Ok::<(), wengert_nn::data::DataError>(())
/// ```
///
/// # Errors
///
/// [`DataError::MissingFiles`] naming the absent files and the expected ones,
/// [`DataError::CountMismatch`] when a split's images and labels differ in number, and every error of
/// [`read_idx_images`] and [`read_idx_labels`].
pub fn load_mnist<F: Float>(
    dir: impl AsRef<Path>,
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
    Ok((split(&p[0], &p[1])?, split(&p[2], &p[3])?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    /// A fresh, empty folder for one test.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wengert-idx-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// An IDX u8 file of `dims` holding `data`.
    fn idx_u8(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(data);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn images(n: u32) -> Vec<u8> {
        idx_u8(&[n, 2, 3], &(0..n as usize * 6).map(|i| (i * 17 % 256) as u8).collect::<Vec<_>>())
    }

    fn labels(n: u32) -> Vec<u8> {
        idx_u8(&[n], &(0..n as u8).map(|i| i % 10).collect::<Vec<_>>())
    }

    #[test]
    fn images_and_labels_round_trip_plain_and_gzipped() {
        let dir = temp_dir("round-trip");
        for (name, gz) in [("plain", false), ("gz", true)] {
            let (img, lab) = (dir.join(format!("{name}-img")), dir.join(format!("{name}-lab")));
            let wrap = |b: Vec<u8>| if gz { gzip(&b) } else { b };
            std::fs::write(&img, wrap(images(3))).unwrap();
            std::fs::write(&lab, wrap(labels(3))).unwrap();
            let x = read_idx_images::<f64>(&img).unwrap();
            assert_eq!(x.shape(), &[3, 1, 2, 3]);
            let want: Vec<f64> = (0..18).map(|i| (i * 17 % 256) as f64 / 255.0).collect();
            assert_eq!(x.to_vec(), want);
            assert_eq!(read_idx_labels(&lab).unwrap(), vec![0, 1, 2]);
            assert_eq!(read_idx::<f32>(&lab).unwrap().to_vec(), vec![0.0, 1.0, 2.0]);
        }
    }

    #[test]
    fn every_idx_type_reads_as_stored() {
        let dir = temp_dir("types");
        let cases: [(u8, Vec<u8>, Vec<f64>); 5] = [
            (0x09, vec![0xff, 0x02], vec![-1.0, 2.0]),
            (0x0B, [-300i16, 7].iter().flat_map(|v| v.to_be_bytes()).collect(), vec![-300.0, 7.0]),
            (0x0C, [-70000i32, 1].iter().flat_map(|v| v.to_be_bytes()).collect(), vec![-70000.0, 1.0]),
            (0x0D, [1.5f32, -0.25].iter().flat_map(|v| v.to_be_bytes()).collect(), vec![1.5, -0.25]),
            (0x0E, [1e-300f64, 3.0].iter().flat_map(|v| v.to_be_bytes()).collect(), vec![1e-300, 3.0]),
        ];
        for (code, body, want) in cases {
            let mut bytes = vec![0, 0, code, 1, 0, 0, 0, 2];
            bytes.extend(body);
            let path = dir.join(format!("t{code}"));
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(read_idx::<f64>(&path).unwrap().to_vec(), want, "type 0x{code:02x}");
        }
    }

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
    fn wrong_magic_truncation_and_corruption_are_errors_naming_the_file() {
        let dir = temp_dir("corrupt");
        let write = |name: &str, bytes: Vec<u8>| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        // Labels where images are expected.
        let p = write("labels-as-images", labels(2));
        let err = read_idx_images::<f32>(&p).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { found: 0x801, expected: 0x803, .. }), "{err}");
        assert!(err.to_string().contains("labels-as-images: wrong magic number 0x00000801"), "{err}");
        // Data cut short, plain and gzipped, and a header cut short.
        let mut short = images(2);
        short.truncate(short.len() - 5);
        let p = write("short", short.clone());
        let err = read_idx_images::<f32>(&p).unwrap_err();
        assert!(matches!(err, DataError::Truncated { needed: 28, found: 23, .. }), "{err}");
        assert!(
            err.to_string().contains("short: truncated: 23 bytes where the header announces 28"),
            "{err}"
        );
        let p = write("short.gz", gzip(&short));
        assert!(matches!(read_idx_images::<f32>(&p), Err(DataError::Truncated { .. })));
        let p = write("header", vec![0, 0, 8, 3, 0, 0]);
        assert!(matches!(read_idx::<f32>(&p), Err(DataError::Truncated { needed: 16, found: 6, .. })));
        let p = write("tiny", vec![0, 0]);
        assert!(matches!(read_idx_labels(&p), Err(DataError::Truncated { needed: 4, .. })));
        // A header announcing more than the file holds is refused before allocating.
        let p = write("huge", idx_u8(&[60_000, 28, 28], &[1, 2, 3]));
        assert!(matches!(read_idx_images::<f32>(&p), Err(DataError::Truncated { needed: 47_040_016, .. })));
        let p = write("overflow", idx_u8(&[u32::MAX; 8], &[]));
        let err = read_idx::<f32>(&p).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
        // Not IDX, an unknown type, trailing bytes, a broken gzip stream, an absent file.
        let p = write("text", b"hello world".to_vec());
        assert!(read_idx::<f32>(&p).unwrap_err().to_string().contains("not an IDX file"));
        let p = write("type", vec![0, 0, 0x42, 1, 0, 0, 0, 1, 0]);
        assert!(read_idx::<f32>(&p).unwrap_err().to_string().contains("unknown IDX type code 0x42"));
        let mut long = labels(2);
        long.push(9);
        let p = write("long", long);
        assert!(read_idx_labels(&p).unwrap_err().to_string().contains("1 bytes follow the 10"));
        let mut gz = gzip(&labels(100));
        gz.truncate(gz.len() / 2);
        let p = write("broken.gz", gz);
        let err = read_idx_labels(&p).unwrap_err();
        assert!(err.to_string().contains("broken.gz: not a valid gzip stream"), "{err}");
        let err = read_idx_labels(dir.join("absent")).unwrap_err();
        assert!(matches!(err, DataError::NotFound { .. }), "{err}");
    }

    #[test]
    fn random_corruptions_never_panic() {
        use rand::{Rng, SeedableRng};
        let dir = temp_dir("fuzz");
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let good = [images(3), gzip(&images(3)), labels(5), gzip(&labels(5))];
        for i in 0..400 {
            let mut bytes = good[i % 4].clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
            if rng.random_bool(0.3) {
                bytes.truncate(rng.random_range(0..bytes.len()));
            }
            let p = dir.join("f");
            std::fs::write(&p, &bytes).unwrap();
            let _ = read_idx::<f32>(&p);
            let _ = read_idx_images::<f32>(&p);
            let _ = read_idx_labels(&p);
        }
    }
}
