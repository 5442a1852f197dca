//! Readers for CSV files of numbers, and for the iris data set as scikit-learn ships it.

use std::io::{self, Read};
use std::path::Path;

use wengert_tensor::{Float, Tensor};

use super::DataError;
use super::bounded::{DEFAULT_MAX_BYTES, data_error, open_bounded, read_bounded};

/// How [`read_csv`] reads a file: the rows to skip first (a header), the field delimiter, and the
/// most bytes it may hold.
///
/// ```
/// use wengert::nn::data::{CsvOptions, DEFAULT_MAX_BYTES};
/// let options = CsvOptions::default().skip_rows(1).delimiter(';');
/// assert_eq!((options.skip_rows, options.delimiter), (1, ';'));
/// assert_eq!(options.max_bytes, DEFAULT_MAX_BYTES);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsvOptions {
    /// Lines skipped at the start of the file, such as a header (default 0): every row that starts
    /// within them (a quoted field may carry a header over several lines).
    pub skip_rows: usize,
    /// The character between fields (default `,`).
    pub delimiter: char,
    /// The most bytes the file, and the values parsed from it (8 bytes each), may take (default
    /// [`DEFAULT_MAX_BYTES`]).
    pub max_bytes: u64,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { skip_rows: 0, delimiter: ',', max_bytes: DEFAULT_MAX_BYTES }
    }
}

impl CsvOptions {
    /// Skips `n` lines at the start of the file.
    pub fn skip_rows(mut self, n: usize) -> Self {
        self.skip_rows = n;
        self
    }

    /// Skips one header line.
    pub fn header(self) -> Self {
        self.skip_rows(1)
    }

    /// Splits fields at `delimiter`.
    pub fn delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Holds at most `bytes` bytes: a larger file, a longer stream, or more values than `bytes / 8`
    /// is [`DataError::TooLarge`].
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }
}

/// Reads a CSV file of numbers into a `[rows, columns]` tensor, streaming it through the `csv` crate.
/// Fields may carry spaces around them and may be quoted (`"1.5"`, a header `"a, b",c`); blank lines
/// are skipped; `\r\n` line ends are accepted. A file without data rows gives `[0, 0]`.
///
/// ```
/// use wengert::nn::data::{CsvOptions, read_csv};
/// let path = std::env::temp_dir().join(format!("wengert-doc-{}.csv", std::process::id()));
/// std::fs::write(&path, "a,\"b, in metres\"\n1, 2.5\n-3,\"4e2\"\n")?;
/// let x = read_csv::<f64>(&path, &CsvOptions::default().header())?;
/// assert_eq!((x.shape(), x.to_vec()), (&[2, 2][..], vec![1.0, 2.5, -3.0, 400.0]));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`DataError::NotFound`] when the file is absent, [`DataError::Io`] when it cannot be read,
/// [`DataError::NotANumber`] naming the line and column of a field that is not a number,
/// [`DataError::Ragged`] for a row with another number of fields than the first,
/// [`DataError::Format`] for a field that is not UTF-8, [`DataError::Malformed`] for a delimiter that
/// is not one ASCII character, and [`DataError::TooLarge`] past [`CsvOptions::max_bytes`] (an endless
/// stream such as `/dev/zero` included).
pub fn read_csv<F: Float>(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Tensor<F>, DataError> {
    let path = path.as_ref();
    let (file, _) =
        open_bounded(path, options.max_bytes).map_err(data_error(path, options.max_bytes, None))?;
    let rows = parse(path, file, options, None, |source| DataError::Io { path: path.to_path_buf(), source })?;
    let columns = rows.first().map_or(0, |(_, r)| r.len());
    let values: Vec<F> = rows.iter().flat_map(|(_, r)| r.iter().map(|&v| F::from_f64(v))).collect();
    shaped(path, values, &[rows.len(), columns])
}

/// The file's bytes, at most `limit`; an absent file is [`DataError::NotFound`] with `hint`.
fn read(path: &Path, hint: Option<&str>, limit: u64) -> Result<Vec<u8>, DataError> {
    read_bounded(path, limit).map_err(data_error(path, limit, hint))
}

/// A tensor of `shape` holding `values`, or [`DataError::Malformed`] naming the file when the shape
/// cannot be (its elements overflow, or do not match the values).
pub(super) fn shaped<F: Float>(path: &Path, values: Vec<F>, shape: &[usize]) -> Result<Tensor<F>, DataError> {
    Tensor::from_vec(values, shape).map_err(|e| DataError::Malformed {
        path: path.to_path_buf(),
        reason: format!("the shape {shape:?} cannot hold the data read ({e})"),
    })
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// The data rows of the CSV text `text` streams, with the line each starts on (from 1), read with the
/// `csv` crate: quoted fields, fields trimmed, blank lines skipped, `\n`, `\r\n` or `\r` line ends.
/// Rows that start within the first `options.skip_rows` lines are skipped. Every row has as many fields
/// as the first, or as `width` when given. More than `options.max_bytes` bytes of text, or more values
/// than `options.max_bytes / 8`, is [`DataError::TooLarge`]; `fail` maps the stream's errors.
pub(super) fn parse(
    path: &Path,
    text: impl Read,
    options: &CsvOptions,
    width: Option<usize>,
    fail: impl Fn(io::Error) -> DataError,
) -> Result<Vec<(usize, Vec<f64>)>, DataError> {
    let p = || path.to_path_buf();
    let delimiter =
        u8::try_from(options.delimiter).ok().filter(u8::is_ascii).ok_or_else(|| DataError::Malformed {
            path: p(),
            reason: format!(
                "the delimiter {:?} is not one ASCII character, as the CSV reader needs",
                options.delimiter
            ),
        })?;
    let limit = options.max_bytes;
    let too_large = || DataError::TooLarge { path: p(), size: None, limit };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(Counted { inner: text.take(limit.saturating_add(1)), count: 0 });
    let mut rows: Vec<(usize, Vec<f64>)> = Vec::new();
    let max_values = limit / size_of::<f64>() as u64;
    let mut values = 0u64;
    let mut record = csv::ByteRecord::new();
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let reason = e.to_string();
            match e.into_kind() {
                csv::ErrorKind::Io(source) => fail(source),
                _ => DataError::Malformed { path: p(), reason },
            }
        })?;
        // The text went on past the limit (the reader stops one byte after it).
        if reader.get_ref().count > limit {
            return Err(too_large());
        }
        if !more {
            break;
        }
        let line = record.position().map_or(0, |at| usize::try_from(at.line()).unwrap_or(usize::MAX));
        if line <= options.skip_rows || (record.len() == 1 && record[0].is_empty()) {
            continue;
        }
        let row = record
            .iter()
            .enumerate()
            .map(|(c, field)| {
                let column = c + 1;
                let field = std::str::from_utf8(field).map_err(|e| DataError::Format {
                    path: p(),
                    line,
                    reason: format!("column {column} is not valid UTF-8 ({e})"),
                })?;
                field.parse::<f64>().map_err(|_| DataError::NotANumber {
                    path: p(),
                    line,
                    column,
                    field: field.to_string(),
                })
            })
            .collect::<Result<Vec<f64>, _>>()?;
        let expected = width.or(rows.first().map(|(_, r)| r.len())).unwrap_or(row.len());
        if row.len() != expected {
            return Err(DataError::Ragged { path: p(), line, found: row.len(), expected });
        }
        values += row.len() as u64;
        if values > max_values {
            return Err(too_large());
        }
        rows.push((line, row));
    }
    Ok(rows)
}

/// Where the iris file comes from, for the message when it is absent.
const IRIS_HINT: &str = "iris.csv ships in the Wengert repository as `data/iris.csv` (read from a crate of the \
                         workspace as `../../data/iris.csv`); pass the path of your copy";

/// Reads the iris data set as scikit-learn ships it: a first line `150,4,setosa,versicolor,virginica`
/// (samples, features, class names), then one row per sample of 4 features and the class index.
/// Returns the features, `[150, 4]`, and the labels, each below the number of class names.
///
/// ```
/// use wengert::nn::data::load_iris;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/iris.csv");
/// let (x, labels) = load_iris::<f32>(path)?;
/// assert_eq!((x.shape(), labels.len()), (&[150, 4][..], 150));
/// # Ok::<(), wengert::nn::data::DataError>(())
/// ```
///
/// # Errors
///
/// [`DataError::NotFound`] saying where the file ships when it is absent; the errors of [`read_csv`]
/// (past [`DEFAULT_MAX_BYTES`] too); [`DataError::Format`] for a bad first line, a class index that is
/// not one of the classes, or a number of rows other than the first line announces; and
/// [`DataError::Malformed`] for a feature count no tensor can hold.
pub fn load_iris<F: Float>(path: impl AsRef<Path>) -> Result<(Tensor<F>, Vec<usize>), DataError> {
    load_iris_with(path, DEFAULT_MAX_BYTES)
}

/// [`load_iris`] holding at most `max_bytes` bytes of file and of parsed values.
///
/// ```
/// use wengert::nn::data::{DataError, load_iris_with};
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/iris.csv");
/// let too_small = load_iris_with::<f32>(path, 1000); // the file has about 2,800 bytes
/// assert!(matches!(too_small, Err(DataError::TooLarge { limit: 1000, .. })), "{too_small:?}");
/// ```
///
/// # Errors
///
/// As [`load_iris`], and [`DataError::TooLarge`] past `max_bytes`.
pub fn load_iris_with<F: Float>(
    path: impl AsRef<Path>,
    max_bytes: u64,
) -> Result<(Tensor<F>, Vec<usize>), DataError> {
    let path = path.as_ref();
    let text = read(path, Some(IRIS_HINT), max_bytes)?;
    let format = |line, reason: String| DataError::Format { path: path.to_path_buf(), line, reason };
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let fields: Vec<&str> = first.trim().split(',').map(str::trim).collect();
    let (samples, features, classes) = match fields.as_slice() {
        [n, d, names @ ..] if !names.is_empty() => match (n.parse::<usize>(), d.parse::<usize>()) {
            (Ok(n), Ok(d)) if d < usize::MAX => (n, d, names.len()),
            _ => return Err(format(1, bad_header(&first))),
        },
        _ => return Err(format(1, bad_header(&first))),
    };
    let options = CsvOptions::default().header().max_bytes(max_bytes);
    let io = |source| DataError::Io { path: path.to_path_buf(), source };
    let rows = parse(path, &text[..], &options, Some(features + 1), io)?;
    if rows.len() != samples {
        let last = rows.last().map_or(1, |(line, _)| *line);
        return Err(format(
            last,
            format!("the first line announces {samples} samples, the file holds {}", rows.len()),
        ));
    }
    // The values really parsed: with no rows, a huge feature count reserves nothing.
    let mut x = Vec::with_capacity(rows.len() * features);
    let mut labels = Vec::with_capacity(samples);
    for (line, row) in &rows {
        let (label, values) = row.split_last().expect("features + 1 fields");
        if label.fract() != 0.0 || !(0.0..classes as f64).contains(label) {
            let reason = format!(
                "column {}: class `{label}` is not one of the {classes} class indices 0..{classes}",
                features + 1
            );
            return Err(format(*line, reason));
        }
        labels.push(*label as usize);
        x.extend(values.iter().map(|&v| F::from_f64(v)));
    }
    Ok((shaped(path, x, &[samples, features])?, labels))
}

fn bad_header(found: &str) -> String {
    format!(
        "the first line should be `samples,features,class names...` such as `150,4,setosa,versicolor,virginica`, \
         not `{}`",
        found.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::tests::TempDir;
    use std::fs;

    fn write(dir: &TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_good_file_reads_into_rows_and_columns() {
        let dir = TempDir::new("csv");
        let path = write(&dir, "a.csv", "1,2,3\r\n4.5, -6 ,7e-1\n\n8,9,10\n");
        let x = read_csv::<f32>(&path, &CsvOptions::default()).unwrap();
        assert_eq!(x.shape(), &[3, 3]);
        assert_eq!(x.to_vec(), vec![1.0, 2.0, 3.0, 4.5, -6.0, 0.7, 8.0, 9.0, 10.0]);
    }

    #[test]
    fn headers_are_skipped_and_delimiters_chosen() {
        let dir = TempDir::new("csv");
        let path = write(&dir, "h.csv", "# made by hand\nx;y\n1;2\n3;4\n");
        let x = read_csv::<f64>(&path, &CsvOptions::default().skip_rows(2).delimiter(';')).unwrap();
        assert_eq!((x.shape(), x.to_vec()), (&[2, 2][..], vec![1.0, 2.0, 3.0, 4.0]));
        let err = read_csv::<f64>(&path, &CsvOptions::default().header()).unwrap_err();
        assert_eq!(err.to_string(), format!("{}:2:1: `x;y` is not a number", path.display()));
        let empty = write(&dir, "e.csv", "x,y\n");
        assert_eq!(read_csv::<f32>(&empty, &CsvOptions::default().header()).unwrap().shape(), &[0, 0]);
    }

    #[test]
    fn a_ragged_row_is_named() {
        let dir = TempDir::new("csv");
        let path = write(&dir, "r.csv", "1,2,3\n4,5,6\n7,8\n");
        let err = read_csv::<f32>(&path, &CsvOptions::default()).unwrap_err();
        assert!(matches!(err, DataError::Ragged { line: 3, found: 2, expected: 3, .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!("{}:3: 2 fields where 3 were expected (ragged row)", path.display())
        );
    }

    #[test]
    fn a_bad_number_is_named_by_line_and_column() {
        let dir = TempDir::new("csv");
        let path = write(&dir, "b.csv", "1,2\n3,four\n");
        let err = read_csv::<f32>(&path, &CsvOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), format!("{}:2:2: `four` is not a number", path.display()));
        let path = write(&dir, "c.csv", "1,,2\n");
        let err = read_csv::<f32>(&path, &CsvOptions::default()).unwrap_err();
        assert!(matches!(err, DataError::NotANumber { line: 1, column: 2, .. }), "{err}");
        let path = dir.join("u.csv");
        fs::write(&path, b"1,2\n\xff,3\n").unwrap();
        let err = read_csv::<f32>(&path, &CsvOptions::default()).unwrap_err();
        assert!(matches!(err, DataError::Format { line: 2, .. }), "{err}");
    }

    #[test]
    fn quoted_fields_are_read_and_lines_counted_across_them() {
        let dir = TempDir::new("csv");
        let header = "\"name\",\"a header\nover two lines\"\n";
        let path = write(&dir, "q.csv", &format!("{header}\"1.5\",\"2\"\n3,4\n"));
        let x = read_csv::<f64>(&path, &CsvOptions::default().header()).unwrap();
        assert_eq!((x.shape(), x.to_vec()), (&[2, 2][..], vec![1.5, 2.0, 3.0, 4.0]));
        let path = write(&dir, "r.csv", &format!("{header}\"1.5\",\"2\"\n3,x\n"));
        let err = read_csv::<f64>(&path, &CsvOptions::default().header()).unwrap_err();
        assert_eq!(err.to_string(), format!("{}:4:2: `x` is not a number", path.display()));
    }

    #[test]
    fn a_delimiter_of_more_than_one_byte_is_refused() {
        let dir = TempDir::new("csv");
        let path = write(&dir, "d.csv", "1§2\n");
        let err = read_csv::<f64>(&path, &CsvOptions::default().delimiter('§')).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err}");
        assert!(err.to_string().contains("the delimiter '§' is not one ASCII character"), "{err}");
    }

    #[test]
    fn a_missing_file_says_so() {
        let dir = TempDir::new("csv");
        let path = dir.join("absent.csv");
        let err = read_csv::<f32>(&path, &CsvOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), format!("{}: no such file", path.display()));
        let err = load_iris::<f32>(&path).unwrap_err();
        assert!(
            err.to_string().contains("iris.csv ships in the Wengert repository as `data/iris.csv`"),
            "{err}"
        );
        let err = read_csv::<f32>(&dir.0, &CsvOptions::default()).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err}");
    }

    #[test]
    fn an_iris_shaped_file_checks_its_first_line_classes_and_count() {
        let dir = TempDir::new("csv");
        let good = write(&dir, "i.csv", "3,2,a,b\n1,2,0\n3,4,1\n5,6,1\n");
        let (x, labels) = load_iris::<f64>(&good).unwrap();
        assert_eq!((x.shape(), labels), (&[3, 2][..], vec![0, 1, 1]));
        let cases = [
            ("3,2\n1,2,0\n", "1: the first line should be"),
            ("x,2,a\n1,2,0\n", "1: the first line should be"),
            ("2,2,a,b\n1,2,0\n", "2: the first line announces 2 samples, the file holds 1"),
            ("1,2,a,b\n1,2,2\n", "2: column 3: class `2` is not one of the 2 class indices 0..2"),
            ("1,2,a,b\n1,2,0.5\n", "2: column 3: class `0.5`"),
            ("1,2,a,b\n1,2\n", "2: 2 fields where 3 were expected"),
        ];
        for (text, want) in cases {
            let path = write(&dir, "bad.csv", text);
            let err = load_iris::<f32>(&path).unwrap_err().to_string();
            assert!(err.starts_with(&format!("{}:{want}", path.display())), "{err} / {want}");
        }
    }

    #[test]
    fn the_real_iris_file_has_150_samples_of_4_features_in_3_classes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/iris.csv");
        let (x, labels) = load_iris::<f32>(path).unwrap();
        assert_eq!(x.shape(), &[150, 4]);
        assert_eq!(labels.len(), 150);
        for class in 0..3 {
            assert_eq!(labels.iter().filter(|&&l| l == class).count(), 50);
        }
        assert_eq!(x.to_vec()[..4], [5.1, 3.5, 1.4, 0.2]);
    }

    #[test]
    fn an_iris_header_with_a_huge_feature_count_and_no_rows_is_an_error() {
        let dir = TempDir::new("csv");
        let path = write(&dir, "wide.csv", &format!("0,{},a\n", usize::MAX - 1));
        let err = load_iris::<f32>(&path).unwrap_err();
        assert!(matches!(err, DataError::Malformed { .. }), "{err}");
        assert!(err.to_string().starts_with(&format!(
            "{}: the shape [0, {}]",
            path.display(),
            usize::MAX - 1
        )));
    }

    #[test]
    fn files_streams_and_values_past_max_bytes_are_too_large() {
        let dir = TempDir::new("csv");
        let path = write(&dir, "big.csv", "1,2,3,4\n");
        let small = CsvOptions::default().max_bytes(7);
        let err = read_csv::<f32>(&path, &small).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { size: Some(8), limit: 7, .. }), "{err}");
        // 8 bytes of text fit in 16, but their 4 values take 32 bytes as f64.
        let err = read_csv::<f32>(&path, &CsvOptions::default().max_bytes(16)).unwrap_err();
        assert!(matches!(err, DataError::TooLarge { size: None, limit: 16, .. }), "{err}");
        assert_eq!(read_csv::<f32>(&path, &CsvOptions::default().max_bytes(32)).unwrap().shape(), &[1, 4]);
        let err = load_iris_with::<f32>(&path, 7).unwrap_err();
        assert!(err.to_string().contains("8 bytes exceed the limit of 7 bytes"), "{err}");
        if Path::new("/dev/zero").exists() {
            let err = read_csv::<f32>("/dev/zero", &CsvOptions::default().max_bytes(1 << 20)).unwrap_err();
            assert!(matches!(err, DataError::TooLarge { size: None, limit: 1_048_576, .. }), "{err}");
        }
    }
}
