//! Readers for the IDX format MNIST ships in, plain or gzipped.
//!
//! An IDX file is a header — two zero bytes, a type code (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
//! 0x0D f32, 0x0E f64), the number of dimensions, then each dimension as a big-endian u32 — followed
//! by the elements, big-endian, row-major. MNIST's images are `0x00000803` (u8, `[n, rows, cols]`),
//! its labels `0x00000801` (u8, `[n]`). A file starting with the gzip magic `1f 8b` is decompressed
//! as it is read, every gzip member of it. The header is read first and its sizes computed with
//! checked arithmetic; the data it announces, and the values made of it, must fit the limit
//! ([`DEFAULT_MAX_BYTES`] unless raised) before anything is allocated, and no more than the header
//! announces is ever decompressed. So a truncated, corrupted or hostile file, a decompression bomb or
//! an endless stream gives an error, never a panic or a huge allocation.

use std::io::{self, Read};
use std::path::Path;

use wengert_tensor::{Float, Tensor};

use super::DataError;
use super::bounded::{
    Bounded, DEFAULT_MAX_BYTES, data_error, gunzip, open_buffered, read_to_limit, read_up_to,
};
use super::csv::shaped;

/// The magic number of IDX files of u8 images `[n, rows, cols]`.
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of IDX files of u8 labels `[n]`.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// A checked IDX file: its type code, its dimensions and the bytes of its elements.
struct Idx {
    code: u8,
    dims: Vec<usize>,
    body: Vec<u8>,
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

/// What one read needs: the file, its size when known (a plain regular file), the magic number
/// required, the bytes one element takes once converted, the limit, and how to report a failed read.
struct Want<'a> {
    path: &'a Path,
    size: Option<u64>,
    magic: Option<u32>,
    value_size: usize,
    limit: u64,
    fail: &'a dyn Fn(io::Error) -> DataError,
}

/// Reads a header from `r` and checks it, then exactly the elements it announces.
fn parse(mut r: impl Read, want: &Want<'_>) -> Result<Idx, DataError> {
    let path = want.path;
    let malformed = |reason: String| DataError::Malformed { path: path.to_path_buf(), reason };
    let truncated =
        |needed: u64, found: u64| DataError::Truncated { path: path.to_path_buf(), needed, found };
    let too_large =
        |size: u64| DataError::TooLarge { path: path.to_path_buf(), size: Some(size), limit: want.limit };
    let mut head = [0u8; 4];
    let got = read_up_to(&mut r, &mut head).map_err(want.fail)?;
    if got < 4 {
        return Err(truncated(4, got as u64));
    }
    let found = u32::from_be_bytes(head);
    if let Some(expected) = want.magic.filter(|&m| m != found) {
        return Err(DataError::BadMagic { path: path.to_path_buf(), found, expected });
    }
    if head[0] != 0 || head[1] != 0 {
        return Err(malformed(format!(
            "not an IDX file: it starts with 0x{:02x} 0x{:02x} where two zero bytes were expected",
            head[0], head[1]
        )));
    }
    let size =
        element_size(head[2]).ok_or_else(|| malformed(format!("unknown IDX type code 0x{:02x}", head[2])))?;
    let offset = 4 + 4 * usize::from(head[3]);
    let mut raw_dims = vec![0u8; offset - 4];
    let got = read_up_to(&mut r, &mut raw_dims).map_err(want.fail)?;
    if got < raw_dims.len() {
        return Err(truncated(offset as u64, (4 + got) as u64));
    }
    let dims: Vec<usize> =
        raw_dims.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    // A tensor needs the product of its non-zero dimensions to fit, even when one dimension is zero.
    let overflow = || malformed(format!("the dimensions {dims:?} overflow"));
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d.max(1)))
        .filter(|&n| isize::try_from(n).is_ok())
        .ok_or_else(overflow)?;
    let elements = dims.iter().product::<usize>();
    let body_len = elements.checked_mul(size).ok_or_else(overflow)?;
    let needed = body_len.checked_add(offset).ok_or_else(overflow)? as u64;
    if let Some(found) = want.size.filter(|&found| found < needed) {
        return Err(truncated(needed, found));
    }
    if needed > want.limit {
        return Err(too_large(needed));
    }
    let values = (elements as u64).saturating_mul(want.value_size as u64);
    if values > want.limit {
        return Err(too_large(values));
    }
    let trailing =
        |extra: String| malformed(format!("{extra} bytes follow the {needed} the header {dims:?} announces"));
    if let Some(found) = want.size.filter(|&found| found > needed) {
        return Err(trailing((found - needed).to_string()));
    }
    let hint = want.size.map_or(body_len.min(1 << 20), |_| body_len) as u64;
    let body = match read_to_limit(&mut r, body_len as u64, hint) {
        Ok(body) => body,
        Err(Bounded::Io(e)) => return Err((want.fail)(e)),
        Err(Bounded::TooLarge(_)) => {
            // Count what follows without holding it, up to the limit.
            let more = io::copy(&mut (&mut r).take(want.limit), &mut io::sink()).map_err(want.fail)?;
            let extra = if more < want.limit { (more + 1).to_string() } else { format!("more than {more}") };
            return Err(trailing(extra));
        }
    };
    if body.len() < body_len {
        return Err(truncated(needed, (offset + body.len()) as u64));
    }
    Ok(Idx { code: head[2], dims, body })
}

/// Reads and checks a file, requiring `magic` when given, converting each element to `value_size`
/// bytes, holding at most `limit` bytes.
fn load(path: &Path, magic: Option<u32>, value_size: usize, limit: u64) -> Result<Idx, DataError> {
    let fail = data_error(path, limit, None);
    let (file, size) = open_buffered(path, limit).map_err(&fail)?;
    let io_fail = |e: io::Error| fail(e.into());
    let gz_fail = |e: io::Error| DataError::Malformed {
        path: path.to_path_buf(),
        reason: format!("not a valid gzip stream: {e}"),
    };
    match gunzip(file).map_err(io_fail)? {
        Ok(gz) => parse(gz, &Want { path, size: None, magic, value_size, limit, fail: &gz_fail }),
        Err(plain) => parse(plain, &Want { path, size, magic, value_size, limit, fail: &io_fail }),
    }
}

/// Reads any IDX file, plain or gzipped, into a tensor of its dimensions holding its values as they
/// are stored (bytes as 0 to 255, not scaled). It holds at most [`DEFAULT_MAX_BYTES`] bytes of data
/// and of values; [`read_idx_with`] raises the limit.
///
/// ```
/// use wengert::nn::data::read_idx;
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
/// when it ends before the data its header announces, [`DataError::TooLarge`] when that data or its
/// values would take more than the limit, and [`DataError::Malformed`] for a header that is not IDX,
/// an unknown type, dimensions that overflow, bytes after the data, or a broken gzip stream (bytes
/// after its last member included).
pub fn read_idx<F: Float>(path: impl AsRef<Path>) -> Result<Tensor<F>, DataError> {
    read_idx_with(path, DEFAULT_MAX_BYTES)
}

/// [`read_idx`] holding at most `max_bytes` bytes of data (decompressed) and of values.
///
/// ```
/// use wengert::nn::data::{DataError, read_idx_with};
/// let path = std::env::temp_dir().join(format!("wengert-doc-with-{}.idx", std::process::id()));
/// // u8 (0x08), 1 dimension of 4: 12 bytes in all, 16 bytes of f32 values.
/// std::fs::write(&path, [0, 0, 0x08, 1, 0, 0, 0, 4, 1, 2, 3, 4])?;
/// assert_eq!(read_idx_with::<f32>(&path, 16)?.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
/// let err = read_idx_with::<f64>(&path, 16).unwrap_err(); // 32 bytes of f64 values
/// assert!(matches!(err, DataError::TooLarge { size: Some(32), limit: 16, .. }));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`read_idx`], with `max_bytes` for the limit.
pub fn read_idx_with<F: Float>(path: impl AsRef<Path>, max_bytes: u64) -> Result<Tensor<F>, DataError> {
    let path = path.as_ref();
    let idx = load(path, None, size_of::<F>(), max_bytes)?;
    let body = &idx.body;
    let values: Vec<F> = match idx.code {
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
            .map(|b| F::from_f64(f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])))
            .collect(),
    };
    shaped(path, values, &idx.dims)
}

/// Reads IDX images (magic `0x00000803`, u8 `[n, rows, cols]`), plain or gzipped, as a tensor
/// `[n, 1, rows, cols]` scaled to `[0, 1]` (a channel axis for convolutions).
///
/// # Errors
///
/// As [`read_idx`], and [`DataError::BadMagic`] for any other magic number.
pub fn read_idx_images<F: Float>(path: impl AsRef<Path>) -> Result<Tensor<F>, DataError> {
    read_images_with(path.as_ref(), DEFAULT_MAX_BYTES)
}

/// [`read_idx_images`] under `limit`.
pub(super) fn read_images_with<F: Float>(path: &Path, limit: u64) -> Result<Tensor<F>, DataError> {
    let idx = load(path, Some(IDX_IMAGES_MAGIC), size_of::<F>(), limit)?;
    let values = idx.body.iter().map(|&b| F::from_f64(f64::from(b) / 255.0)).collect();
    shaped(path, values, &[idx.dims[0], 1, idx.dims[1], idx.dims[2]])
}

/// Reads IDX labels (magic `0x00000801`, u8 `[n]`), plain or gzipped.
///
/// # Errors
///
/// As [`read_idx`], and [`DataError::BadMagic`] for any other magic number.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>, DataError> {
    read_labels_with(path.as_ref(), DEFAULT_MAX_BYTES)
}

/// [`read_idx_labels`] under `limit`.
pub(super) fn read_labels_with(path: &Path, limit: u64) -> Result<Vec<usize>, DataError> {
    let idx = load(path, Some(IDX_LABELS_MAGIC), size_of::<usize>(), limit)?;
    Ok(idx.body.iter().map(|&b| usize::from(b)).collect())
}

#[cfg(test)]
pub(in crate::data) mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;
    use std::path::PathBuf;

    /// A fresh, empty folder for one test.
    pub(in crate::data) fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wengert-idx-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// An IDX u8 file of `dims` holding `data`.
    pub(in crate::data) fn idx_u8(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(data);
        out
    }

    pub(in crate::data) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    pub(in crate::data) fn images(n: u32) -> Vec<u8> {
        idx_u8(&[n, 2, 3], &(0..n as usize * 6).map(|i| (i * 17 % 256) as u8).collect::<Vec<_>>())
    }

    pub(in crate::data) fn labels(n: u32) -> Vec<u8> {
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

    #[test]
    fn a_zero_dimension_before_overflowing_ones_is_an_error() {
        let dir = temp_dir("zero-overflow");
        let p = dir.join("z");
        std::fs::write(&p, idx_u8(&[0, u32::MAX, u32::MAX, u32::MAX], &[])).unwrap();
        let err = read_idx::<f32>(&p).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err}");
        assert!(
            err.to_string().contains("z: the dimensions [0, 4294967295, 4294967295, 4294967295] overflow")
        );
        // A zero dimension beside sizes that fit is a valid, empty tensor.
        std::fs::write(&p, idx_u8(&[0, 28, 28], &[])).unwrap();
        assert_eq!(read_idx::<f32>(&p).unwrap().shape(), &[0, 28, 28]);
    }

    #[test]
    fn a_header_announcing_more_than_the_limit_is_refused_before_decompressing() {
        let dir = temp_dir("bomb");
        // A header announcing 2^31 bytes, then zeros in gzip members: refused at the header.
        let mut bytes = gzip(&idx_u8(&[1 << 31], &[]));
        let zeros = gzip(&vec![0u8; 1 << 20]);
        for _ in 0..4 {
            bytes.extend(&zeros);
        }
        let p = dir.join("bomb.gz");
        std::fs::write(&p, &bytes).unwrap();
        let err = read_idx_with::<f32>(&p, 1 << 30).unwrap_err();
        assert!(
            matches!(err, DataError::TooLarge { size: Some(2_147_483_656), limit: 1_073_741_824, .. }),
            "{err}"
        );
        // Within the limit, no more than the header announces is decompressed.
        let small = idx_u8(&[16], &[0; 16]);
        let mut bytes = gzip(&small);
        bytes.extend(&zeros);
        std::fs::write(&p, &bytes).unwrap();
        let err = read_idx_with::<f32>(&p, 1 << 16).unwrap_err();
        assert!(
            err.to_string().contains("more than 65536 bytes follow the 24 the header [16] announces"),
            "{err}"
        );
        // The values count as well as the bytes: 16 u8 take 128 bytes as f64.
        std::fs::write(&p, gzip(&small)).unwrap();
        let err = read_idx_with::<f64>(&p, 100).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { size: Some(128), limit: 100, .. }), "{err}");
    }

    #[test]
    fn every_gzip_member_is_read_and_bytes_after_the_last_are_an_error() {
        let dir = temp_dir("members");
        let whole = labels(7);
        let mut bytes = gzip(&whole[..5]);
        bytes.extend(gzip(&whole[5..]));
        let p = dir.join("multi.gz");
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(read_idx_labels(&p).unwrap(), vec![0, 1, 2, 3, 4, 5, 6]);
        bytes.extend(b"trailing garbage");
        std::fs::write(&p, &bytes).unwrap();
        let err = read_idx_labels(&p).unwrap_err();
        assert!(err.to_string().contains("multi.gz: not a valid gzip stream"), "{err}");
    }

    #[test]
    fn an_endless_stream_ends_with_an_error() {
        if !Path::new("/dev/zero").exists() {
            return;
        }
        // Zeros read as an IDX header of the unknown type 0x00, or as the wrong magic number.
        assert!(read_idx::<f32>("/dev/zero").unwrap_err().to_string().contains("unknown IDX type code 0x00"));
        assert!(matches!(read_idx_labels("/dev/zero"), Err(DataError::BadMagic { found: 0, .. })));
    }
}
