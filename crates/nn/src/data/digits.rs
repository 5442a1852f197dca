//! The digits data set as scikit-learn ships it: 1,797 handwritten digits of 8x8 pixels of 0..16, in a
//! gzip-compressed CSV file without a header, one row per image of 64 pixels and the label.

use std::io;
use std::path::Path;

use wengert_tensor::{Float, Tensor};

use super::DataError;
use super::bounded::{DEFAULT_MAX_BYTES, data_error, gunzip, open_buffered};
use super::csv::{CsvOptions, parse, shaped};

/// Where the digits file comes from, for the message when it is absent.
const DIGITS_HINT: &str = "digits.csv.gz ships in the Wengert repository as `data/digits.csv.gz` (read from \
                           a crate of the workspace as `../../data/digits.csv.gz`); pass the path of your copy";

/// Pixels per image (8 x 8).
const PIXELS: usize = 64;

/// Reads the digits data set: a gzip CSV file without a header whose rows are 64 pixel values in
/// `0..=16` and the digit `0..=9`. Returns the images `[rows, 1, 8, 8]` scaled to `[0, 1]` (divided by
/// 16) and the labels, as [`load_iris`](super::load_iris) does.
///
/// ```
/// use wengert::nn::data::load_digits;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits.csv.gz");
/// let (x, labels) = load_digits::<f32>(path)?;
/// assert_eq!((x.shape(), labels.len()), (&[1797, 1, 8, 8][..], 1797));
/// # Ok::<(), wengert::nn::data::DataError>(())
/// ```
///
/// # Errors
///
/// [`DataError::NotFound`] saying where the file ships when it is absent; [`DataError::Io`] when it
/// cannot be read or is not valid gzip (a truncated or corrupt file, bytes after the last gzip
/// member); [`DataError::TooLarge`] when the file or its decompressed text exceeds
/// [`DEFAULT_MAX_BYTES`]; the errors of [`read_csv`](super::read_csv) for rows that are not numbers
/// or not of 65 fields; and [`DataError::Format`] for a pixel outside `0..=16` or a label that is not
/// a digit.
pub fn load_digits<F: Float>(path: impl AsRef<Path>) -> Result<(Tensor<F>, Vec<usize>), DataError> {
    load_digits_with(path, DEFAULT_MAX_BYTES)
}

/// [`load_digits`] holding at most `max_bytes` bytes of file, of decompressed text and of parsed
/// values. Every member of a multi-member gzip file (`cat a.gz b.gz`) is read.
///
/// ```
/// use wengert::nn::data::{DataError, load_digits_with};
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits.csv.gz");
/// let too_small = load_digits_with::<f32>(path, 100_000); // the text takes about 500 KB
/// assert!(matches!(too_small, Err(DataError::TooLarge { limit: 100_000, .. })), "{too_small:?}");
/// ```
///
/// # Errors
///
/// As [`load_digits`], and [`DataError::TooLarge`] past `max_bytes`.
pub fn load_digits_with<F: Float>(
    path: impl AsRef<Path>,
    max_bytes: u64,
) -> Result<(Tensor<F>, Vec<usize>), DataError> {
    let path = path.as_ref();
    let too_large = data_error(path, max_bytes, Some(DIGITS_HINT));
    let (file, _) = open_buffered(path, max_bytes).map_err(&too_large)?;
    let not_gzip = |source: io::Error| DataError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(source.kind(), format!("not a valid gzip file: {source}")),
    };
    let gz = gunzip(file)
        .map_err(|e| too_large(e.into()))?
        .map_err(|_| not_gzip(io::ErrorKind::InvalidData.into()))?;
    let rows = parse(path, gz, &CsvOptions::default().max_bytes(max_bytes), Some(PIXELS + 1), not_gzip)?;
    let format = |line, reason: String| DataError::Format { path: path.to_path_buf(), line, reason };
    let mut x = Vec::with_capacity(rows.len() * PIXELS);
    let mut labels = Vec::with_capacity(rows.len());
    for (line, row) in &rows {
        let (&label, pixels) = row.split_last().expect("65 fields");
        if let Some((c, v)) =
            pixels.iter().enumerate().find(|(_, v)| !(0.0..=16.0).contains(*v) || v.fract() != 0.0)
        {
            return Err(format(*line, format!("column {}: pixel `{v}` is not an integer in 0..=16", c + 1)));
        }
        if label.fract() != 0.0 || !(0.0..10.0).contains(&label) {
            return Err(format(
                *line,
                format!("column {}: label `{label}` is not a digit 0..=9", PIXELS + 1),
            ));
        }
        labels.push(label as usize);
        x.extend(pixels.iter().map(|&v| F::from_f64(v / 16.0)));
    }
    Ok((shaped(path, x, &[rows.len(), 1, 8, 8])?, labels))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("wengert-digits-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn gz(text: &str) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn row(pixel: u32, label: &str) -> String {
        let pixels: Vec<String> = (0..64).map(|i| ((i + pixel) % 17).to_string()).collect();
        format!("{},{label}\n", pixels.join(","))
    }

    #[test]
    fn load_digits_reads_scaled_images_and_labels() {
        let path = temp("ok.csv.gz", &gz(&(row(0, "3") + &row(5, "9"))));
        let (x, labels) = load_digits::<f64>(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!((x.shape(), labels), (&[2, 1, 8, 8][..], vec![3, 9]));
        let v = x.to_vec();
        assert_eq!((v[0], v[1], v[16], v[64]), (0.0, 1.0 / 16.0, 1.0, 5.0 / 16.0));
    }

    #[test]
    fn load_digits_reads_the_file_the_repository_ships() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits.csv.gz");
        let (x, labels) = load_digits::<f32>(path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(x.shape(), &[1797, 1, 8, 8]);
        assert!(x.to_vec().iter().all(|v| (0.0..=1.0).contains(v)));
        assert!((0..10).all(|d| labels.iter().filter(|&&l| l == d).count() > 170));
    }

    #[test]
    fn load_digits_names_the_path_when_absent_corrupt_or_malformed() {
        let err = load_digits::<f32>("/nonexistent/digits.csv.gz").unwrap_err().to_string();
        assert!(err.starts_with("/nonexistent/digits.csv.gz: no such file; digits.csv.gz ships"), "{err}");
        let mut truncated = gz(&row(0, "1"));
        truncated.truncate(truncated.len() / 2);
        for (name, bytes) in [("plain.csv.gz", row(0, "1").into_bytes()), ("cut.csv.gz", truncated)] {
            let path = temp(name, &bytes);
            let err = load_digits::<f32>(&path).unwrap_err();
            std::fs::remove_file(&path).unwrap();
            assert!(matches!(err, DataError::Io { .. }), "{name}: {err}");
            assert!(err.to_string().contains(name), "{err}");
        }
        let path = temp("label.csv.gz", &gz(&(row(0, "1") + &row(0, "12"))));
        let err = load_digits::<f32>(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.ends_with("label.csv.gz:2: column 65: label `12` is not a digit 0..=9"), "{err}");
        let path = temp("short.csv.gz", &gz("1,2,3\n"));
        let err = load_digits::<f32>(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, DataError::Ragged { found: 3, expected: 65, .. }), "{err}");
    }

    #[test]
    fn every_member_of_a_multi_member_gzip_file_is_read() {
        let mut bytes = gz(&row(0, "3"));
        bytes.extend(gz(&(row(1, "4") + &row(2, "5"))));
        let path = temp("multi.csv.gz", &bytes);
        let (x, labels) = load_digits::<f32>(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!((x.shape(), labels), (&[3, 1, 8, 8][..], vec![3, 4, 5]));
    }

    #[test]
    fn bytes_after_the_gzip_stream_are_an_error() {
        for (name, tail) in [("garbage.csv.gz", &b"garbage!"[..]), ("zeros.csv.gz", &[0u8; 16][..])] {
            let mut bytes = gz(&row(0, "3"));
            bytes.extend(tail);
            let path = temp(name, &bytes);
            let err = load_digits::<f32>(&path).unwrap_err();
            std::fs::remove_file(&path).unwrap();
            assert!(matches!(err, DataError::Io { .. }), "{name}: {err}");
            assert!(err.to_string().contains("not a valid gzip file"), "{err}");
        }
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_limit() {
        // 4 MB of one repeated row compresses some thousand times.
        let text = row(0, "3").repeat(4 << 20 >> 8);
        let path = temp("bomb.csv.gz", &gz(&text));
        let err = load_digits_with::<f32>(&path, 1 << 20).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, DataError::TooLarge { size: None, limit: 1_048_576, .. }), "{err}");
        assert!(err.to_string().contains("bomb.csv.gz: more than 1048576 bytes"), "{err}");
    }
}
