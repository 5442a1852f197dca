//! Bounded reads: every reader of data files and checkpoints takes its bytes through here, so that a
//! huge file, an endless stream (`/dev/zero`, a pipe) or a decompression bomb ends with an error
//! instead of eating memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use super::DataError;

/// The most bytes a data reader holds in any one buffer unless told otherwise (1 GiB): the file's
/// bytes, its decompressed bytes, and the values parsed from them. MNIST's largest file takes 47 MB
/// decompressed and 188 MB as `f32`, well within it. Raise it with the `*_with` readers
/// ([`read_idx_with`](super::read_idx_with), [`load_mnist_with`](super::load_mnist_with),
/// [`load_iris_with`](super::load_iris_with), [`load_digits_with`](super::load_digits_with)) or
/// [`CsvOptions::max_bytes`](super::CsvOptions::max_bytes).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// Why a bounded read stopped.
#[derive(Debug)]
pub(crate) enum Bounded {
    /// The operating system's error.
    Io(io::Error),
    /// More than the limit: the size when it is known (a regular file's), `None` for a stream.
    TooLarge(Option<u64>),
}

impl From<io::Error> for Bounded {
    fn from(e: io::Error) -> Self {
        Bounded::Io(e)
    }
}

/// Reads `reader` to its end, holding no more than `limit` bytes: one byte more is
/// [`Bounded::TooLarge`]. `hint` is the expected size, reserved up front when within the limit.
pub(crate) fn read_to_limit(reader: impl Read, limit: u64, hint: u64) -> Result<Vec<u8>, Bounded> {
    let mut out = Vec::with_capacity(usize::try_from(hint.min(limit)).unwrap_or(0));
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(Bounded::TooLarge(None));
    }
    Ok(out)
}

/// Reads until `buf` is full or the stream ends; the number of bytes read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Opens `path` for a bounded read; a regular file larger than `limit` is refused before reading.
/// Returns the file and its size (`None` for a device or a pipe, whose size is unknown).
pub(crate) fn open_bounded(path: &Path, limit: u64) -> Result<(File, Option<u64>), Bounded> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let len = meta.is_file().then_some(meta.len());
    if let Some(len) = len.filter(|&len| len > limit) {
        return Err(Bounded::TooLarge(Some(len)));
    }
    Ok((file, len))
}

/// The whole of `path`, at most `limit` bytes: a larger regular file is refused before reading, a
/// stream that goes on past `limit` after reading `limit` bytes.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Bounded> {
    let (file, len) = open_bounded(path, limit)?;
    read_to_limit(file, limit, len.unwrap_or(0))
}

/// Maps a bounded read's failure to a [`DataError`] naming `path` (and `hint` when it is absent).
pub(super) fn data_error(path: &Path, limit: u64, hint: Option<&str>) -> impl Fn(Bounded) -> DataError {
    move |e| match e {
        Bounded::Io(source) if source.kind() == io::ErrorKind::NotFound => {
            DataError::NotFound { path: path.to_path_buf(), hint: hint.map(String::from) }
        }
        Bounded::Io(source) => DataError::Io { path: path.to_path_buf(), source },
        Bounded::TooLarge(size) => DataError::TooLarge { path: path.to_path_buf(), size, limit },
    }
}

/// A gzip stream of one or more members (`cat a.gz b.gz` is valid gzip), or `None` when `reader`
/// does not start with the gzip magic `1f 8b`. Bytes after the last member that are not another
/// member make the stream fail.
pub(super) fn gunzip<R: BufRead>(mut reader: R) -> io::Result<Result<MultiGzDecoder<R>, R>> {
    let head = reader.fill_buf()?;
    // A header split across reads is not a concern here: a file's first read fills the buffer.
    Ok(if head.starts_with(&[0x1f, 0x8b]) { Ok(MultiGzDecoder::new(reader)) } else { Err(reader) })
}

/// Opens `path` buffered, bounded by `limit`.
pub(super) fn open_buffered(path: &Path, limit: u64) -> Result<(BufReader<File>, Option<u64>), Bounded> {
    let (file, len) = open_bounded(path, limit)?;
    Ok((BufReader::new(file), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_past_the_limit_stops_one_byte_after_it() {
        let bytes = [7u8; 10];
        assert_eq!(read_to_limit(&bytes[..], 10, 10).unwrap(), bytes);
        assert!(matches!(read_to_limit(&bytes[..], 9, 100), Err(Bounded::TooLarge(None))));
        // An endless stream ends with an error after limit + 1 bytes.
        assert!(matches!(read_to_limit(io::repeat(0), 1 << 16, 0), Err(Bounded::TooLarge(None))));
    }

    #[test]
    fn a_regular_file_over_the_limit_is_refused_before_reading() {
        let dir = crate::checkpoint::tests::TempDir::new("bounded");
        let path = dir.join("f");
        std::fs::write(&path, [1u8; 100]).unwrap();
        assert!(matches!(read_bounded(&path, 99), Err(Bounded::TooLarge(Some(100)))));
        assert_eq!(read_bounded(&path, 100).unwrap().len(), 100);
        let err = data_error(&path, 99, None)(read_bounded(&path, 99).unwrap_err());
        assert_eq!(
            err.to_string(),
            format!("{}: 100 bytes exceed the limit of 99 bytes (a reader's `max_bytes`)", path.display())
        );
    }

    #[test]
    fn dev_zero_ends_with_an_error_not_a_full_memory() {
        let path = Path::new("/dev/zero");
        if !path.exists() {
            return;
        }
        let err = data_error(path, 1 << 20, None)(read_bounded(path, 1 << 20).unwrap_err());
        assert!(matches!(err, DataError::TooLarge { size: None, limit: 1_048_576, .. }), "{err}");
        assert_eq!(err.to_string(), "/dev/zero: more than 1048576 bytes, the limit (a reader's `max_bytes`)");
    }
}
