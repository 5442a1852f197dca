//! The on-disk checkpoint format, and the only place that uses bincode: a 32-byte header, then the
//! bincode payload; atomic writes; and reads that check every header field before allocating.
//!
//! ```text
//! offset  size  field
//!      0     8  magic       b"WENGERT\0"
//!      8     4  version     u32 little-endian, FORMAT_VERSION
//!     12     4  dtype       F::DTYPE in ASCII, zero-padded (b"f32\0", b"f64\0")
//!     16     8  length      u64 little-endian, bytes of payload
//!     24     4  checksum    u32 little-endian, CRC-32 (IEEE) of the payload
//!     28     4  reserved    zero
//!     32     …  payload     bincode 2, `config::standard()`, of `Checkpoint<F>`
//! ```

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bincode::config;
use bincode::error::DecodeError;
use serde::Serialize;
use wengert_tensor::Float;

use super::{Checkpoint, CheckpointError};
use crate::data::read_up_to;

/// The first eight bytes of every checkpoint file.
pub const MAGIC: [u8; 8] = *b"WENGERT\0";

/// The format version this build writes, and the newest it reads. Version 1 files, written before
/// checkpoints carried the data source's generator, read as version 2 files whose `data_rng` is `None`:
/// that field is the payload's last, so a version 1 payload is a version 2 payload without its final
/// `None` tag (one zero byte), which the reader appends after checking the checksum.
pub const FORMAT_VERSION: u32 = 2;

/// The oldest format version this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// The size of the header before the payload, in bytes.
pub const HEADER_LEN: usize = 32;

/// Payloads larger than this are refused without reading them (1 TiB).
const MAX_PAYLOAD: u64 = 1 << 40;

/// The CRC-32 of `bytes` (IEEE 802.3, reflected: the checksum of zlib, gzip and PNG).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The dtype field: `name` in ASCII, zero-padded to four bytes.
fn dtype_field(name: &str) -> [u8; 4] {
    let mut out = [0u8; 4];
    for (o, b) in out.iter_mut().zip(name.bytes()) {
        *o = b;
    }
    out
}

/// Encodes `checkpoint` as the header and the payload of a file.
pub(super) fn encode<F: Float>(checkpoint: &Checkpoint<F>) -> Result<([u8; HEADER_LEN], Vec<u8>), String> {
    let payload = bincode::serde::encode_to_vec(checkpoint, config::standard()).map_err(|e| e.to_string())?;
    let mut header = [0u8; HEADER_LEN];
    header[0..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&dtype_field(F::DTYPE));
    header[16..24].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    header[24..28].copy_from_slice(&crc32(&payload).to_le_bytes());
    Ok((header, payload))
}

/// Writes `checkpoint` to `path` atomically.
pub(super) fn save<F: Float>(checkpoint: &Checkpoint<F>, path: &Path) -> Result<(), CheckpointError> {
    let (header, payload) =
        encode(checkpoint).map_err(|reason| CheckpointError::Encode { path: path.to_path_buf(), reason })?;
    write_atomic(path, |file| {
        file.write_all(&header)?;
        file.write_all(&payload)
    })
}

/// Distinguishes the temporary files of saves running at once in one process.
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

/// The numbers of this process's temporary files being written now.
static WRITING: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

/// The directory `path` is in (`.` for a bare name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The temporary sibling of the file `name`: `.name.tmp-<pid>-<n>`.
fn temporary_name(name: &OsStr, pid: u32, n: u64) -> String {
    format!(".{}.tmp-{pid}-{n}", name.to_string_lossy())
}

/// Whether process `pid` runs now. Where that cannot be told (no `/proc`), every process counts as
/// running, so no file is taken from a save in progress.
fn running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Removes the temporary files of `path` that saves killed midway left beside it: those of a process
/// that no longer runs, and those of this process that no save of it is writing (left by an earlier
/// process of the same id). Another running process's file in progress is never touched. Best effort:
/// what cannot be listed or removed stays.
pub(crate) fn remove_stale_temporaries(path: &Path) {
    let Some(name) = path.file_name() else { return };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir_of(path)) else { return };
    let me = std::process::id();
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some((pid, n)) = file.to_str().and_then(|f| f.strip_prefix(&prefix)).and_then(|rest| {
            let (pid, n) = rest.split_once('-')?;
            Some((pid.parse::<u32>().ok()?, n.parse::<u64>().ok()?))
        }) else {
            continue;
        };
        // The exact name this process would write: `+1` or `007` are not ours to judge.
        if file.to_str() != Some(temporary_name(name, pid, n).as_str()) {
            continue;
        }
        let stale = if pid == me {
            !WRITING.lock().unwrap_or_else(|e| e.into_inner()).contains(&n)
        } else {
            !running(pid)
        };
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The number of a temporary file being written, registered in [`WRITING`] while it lives so that
/// [`remove_stale_temporaries`] leaves the file alone.
struct Writing(u64);

impl Writing {
    fn register() -> Self {
        let n = NEXT_TMP.fetch_add(1, Ordering::Relaxed);
        WRITING.lock().unwrap_or_else(|e| e.into_inner()).insert(n);
        Writing(n)
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.0);
    }
}

/// Writes a file with `write` into a temporary sibling `.name.tmp-<pid>-<n>` (a
/// [`tempfile::NamedTempFile`]), syncs it and persists it over `path`: an interrupted or failed write
/// never leaves a partial file under `path`, and the temporary is removed on failure (or a panic in
/// `write`). Stale temporaries of `path` (see [`remove_stale_temporaries`]) are removed first. The file
/// gets the permissions [`File::create`] gives, not `tempfile`'s owner-only default.
pub(crate) fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), CheckpointError> {
    let io_err = |source| CheckpointError::Io { path: path.to_path_buf(), source };
    let Some(name) = path.file_name() else {
        return Err(io_err(io::Error::new(io::ErrorKind::InvalidInput, "the path names no file")));
    };
    let dir = dir_of(path);
    // Declared before the temporary, so dropped after it: the file is gone before it is unregistered.
    let writing = Writing::register();
    remove_stale_temporaries(path);
    let mut builder = tempfile::Builder::new();
    let prefix = temporary_name(name, std::process::id(), writing.0);
    builder.prefix(&prefix).rand_bytes(0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // As `File::create`: read and write for everyone, less the umask.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(io_err)?;
    let file = tmp.as_file_mut();
    write(file).and_then(|()| file.flush()).and_then(|()| file.sync_all()).map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    // Make the rename itself durable; not every platform lets a directory be opened and synced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads and checks a checkpoint: header fields first, the length against the file's, the checksum,
/// then the payload under an allocation limit.
pub(super) fn load<F: Float>(path: &Path) -> Result<Checkpoint<F>, CheckpointError> {
    remove_stale_temporaries(path);
    let p = || path.to_path_buf();
    let io_err = |source| CheckpointError::Io { path: p(), source };
    let mut file = File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    let mut header = [0u8; HEADER_LEN];
    let got = read_up_to(&mut file, &mut header).map_err(io_err)?;
    let (version, length, checksum) = parse_header::<F>(&header[..got], path)?;
    let need = HEADER_LEN as u64 + length;
    if file_len < need {
        return Err(CheckpointError::Truncated { path: p(), expected: need, found: file_len });
    }
    if file_len > need {
        let reason =
            format!("{} bytes follow the {length}-byte payload the header announces", file_len - need);
        return Err(CheckpointError::Corrupt { path: p(), reason });
    }
    // `length` is now bounded by the file's real size.
    let Ok(length) = usize::try_from(length) else {
        let reason = format!("header: a payload of {length} bytes does not fit in memory here");
        return Err(CheckpointError::Corrupt { path: p(), reason });
    };
    let mut payload = vec![0u8; length];
    file.read_exact(&mut payload).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            CheckpointError::Truncated { path: p(), expected: need, found: file_len }
        }
        _ => io_err(e),
    })?;
    let found = crc32(&payload);
    if found != checksum {
        return Err(CheckpointError::ChecksumMismatch { path: p(), expected: checksum, found });
    }
    if version == 1 {
        payload.push(0); // `data_rng: None`, the field version 2 added at the end
    }
    let mut checkpoint: Checkpoint<F> =
        decode(&payload).map_err(|reason| CheckpointError::Corrupt { path: p(), reason })?;
    checkpoint.path = Some(p());
    if let Some(name) = first_repeat(checkpoint.params.iter().map(|(n, _)| n.as_str())) {
        let reason = format!("payload: parameter `{name}` appears more than once");
        return Err(CheckpointError::Corrupt { path: p(), reason });
    }
    Ok(checkpoint)
}

/// Checks the header's fields in order (magic, version, dtype, reserved, length); the payload's length
/// and checksum.
fn parse_header<F: Float>(header: &[u8], path: &Path) -> Result<(u32, u64, u32), CheckpointError> {
    let p = || path.to_path_buf();
    let truncated =
        || CheckpointError::Truncated { path: p(), expected: HEADER_LEN as u64, found: header.len() as u64 };
    let magic = &header[..header.len().min(8)];
    if magic != &MAGIC[..magic.len()] {
        return Err(CheckpointError::BadMagic { path: p(), found: magic.to_vec() });
    }
    if header.len() < 12 {
        return Err(truncated());
    }
    let version = u32::from_le_bytes(header[8..12].try_into().expect("four bytes"));
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(CheckpointError::UnsupportedVersion {
            path: p(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if header.len() < HEADER_LEN {
        return Err(truncated());
    }
    if header[12..16] != dtype_field(F::DTYPE) {
        let text: Vec<u8> = header[12..16].iter().copied().take_while(|&b| b != 0).collect();
        let found = text.escape_ascii().to_string();
        return Err(CheckpointError::DtypeMismatch { path: p(), expected: F::DTYPE, found });
    }
    let length = u64::from_le_bytes(header[16..24].try_into().expect("eight bytes"));
    let checksum = u32::from_le_bytes(header[24..28].try_into().expect("four bytes"));
    let reserved = u32::from_le_bytes(header[28..32].try_into().expect("four bytes"));
    if reserved != 0 {
        let reason = format!("header: the reserved field holds {reserved:#010x}, not zero");
        return Err(CheckpointError::Corrupt { path: p(), reason });
    }
    if length > MAX_PAYLOAD {
        let reason = format!("header: a payload length of {length} bytes exceeds the limit of {MAX_PAYLOAD}");
        return Err(CheckpointError::Corrupt { path: p(), reason });
    }
    Ok((version, length, checksum))
}

/// `1 << shift`, saturated to what `usize` holds.
const fn tier(shift: u32) -> usize {
    if shift >= usize::BITS { usize::MAX } else { 1 << shift }
}

/// How many bytes bincode may count per payload byte. Bincode counts each value it decodes at its
/// size in memory: a `u64` or a length takes 8 bytes in memory but may take 1 byte in the payload (a
/// varint), and nothing a checkpoint holds counts more per byte, so a saved payload never needs more.
pub(super) const COUNTED_PER_BYTE: usize = 8;

/// The decoder's allocation limit for a payload of `n` bytes: [`COUNTED_PER_BYTE`] times `n` rounded
/// up to a power of two, and at least 128 KiB. Every saved payload fits under it; a hostile length
/// field fails before anything beyond it is allocated.
pub(super) fn decode_limit(n: usize) -> usize {
    n.max(1 << 14).checked_next_power_of_two().map_or(usize::MAX, |p| p.saturating_mul(COUNTED_PER_BYTE))
}

/// Decodes a payload with bincode under [`decode_limit`]: bincode counts every value and every
/// length-prefixed allocation against it. The limit is a const generic, hence one arm per power of two.
pub(super) fn decode<F: Float>(payload: &[u8]) -> Result<Checkpoint<F>, String> {
    match decode_limit(payload.len()).trailing_zeros() {
        0..=17 => decode_limited::<F, { tier(17) }>(payload),
        18 => decode_limited::<F, { tier(18) }>(payload),
        19 => decode_limited::<F, { tier(19) }>(payload),
        20 => decode_limited::<F, { tier(20) }>(payload),
        21 => decode_limited::<F, { tier(21) }>(payload),
        22 => decode_limited::<F, { tier(22) }>(payload),
        23 => decode_limited::<F, { tier(23) }>(payload),
        24 => decode_limited::<F, { tier(24) }>(payload),
        25 => decode_limited::<F, { tier(25) }>(payload),
        26 => decode_limited::<F, { tier(26) }>(payload),
        27 => decode_limited::<F, { tier(27) }>(payload),
        28 => decode_limited::<F, { tier(28) }>(payload),
        29 => decode_limited::<F, { tier(29) }>(payload),
        30 => decode_limited::<F, { tier(30) }>(payload),
        31 => decode_limited::<F, { tier(31) }>(payload),
        32 => decode_limited::<F, { tier(32) }>(payload),
        33 => decode_limited::<F, { tier(33) }>(payload),
        34 => decode_limited::<F, { tier(34) }>(payload),
        35 => decode_limited::<F, { tier(35) }>(payload),
        36 => decode_limited::<F, { tier(36) }>(payload),
        37 => decode_limited::<F, { tier(37) }>(payload),
        38 => decode_limited::<F, { tier(38) }>(payload),
        39 => decode_limited::<F, { tier(39) }>(payload),
        40 => decode_limited::<F, { tier(40) }>(payload),
        41 => decode_limited::<F, { tier(41) }>(payload),
        42 => decode_limited::<F, { tier(42) }>(payload),
        _ => decode_limited::<F, { tier(43) }>(payload),
    }
}

fn decode_limited<F: Float, const LIMIT: usize>(payload: &[u8]) -> Result<Checkpoint<F>, String> {
    let config = config::standard().with_limit::<LIMIT>();
    let (checkpoint, used): (Checkpoint<F>, usize) =
        bincode::serde::decode_from_slice(payload, config).map_err(describe)?;
    if used != payload.len() {
        return Err(format!("payload: {} bytes are left over after the checkpoint", payload.len() - used));
    }
    Ok(checkpoint)
}

/// Bincode's errors in words.
fn describe(e: DecodeError) -> String {
    match e {
        DecodeError::OtherString(m) => format!("payload: {m}"),
        DecodeError::Other(m) => format!("payload: {m}"),
        DecodeError::UnexpectedEnd { additional } => {
            format!("payload: it ends {additional} byte(s) early (a length field points past its end)")
        }
        DecodeError::LimitExceeded => {
            "payload: a length field claims more memory than a payload of this size can fill".to_string()
        }
        DecodeError::Utf8 { inner } => format!("payload: a name is not valid UTF-8 ({inner})"),
        e => format!("payload: {e}"),
    }
}

/// Whether `value` encodes to zero bytes only: every number in it is zero.
pub(super) fn encodes_to_zeros<T: Serialize>(value: &T) -> bool {
    bincode::serde::encode_to_vec(value, config::standard()).is_ok_and(|b| b.iter().all(|&x| x == 0))
}

/// A generator whose state is all zeros, as a hostile or damaged file may hold.
#[cfg(test)]
pub(super) fn zero_rng() -> crate::SeedRng {
    bincode::serde::decode_from_slice(&[0u8; 4], config::standard()).expect("four zero varints").0
}

/// The first name that occurs twice.
pub(super) fn first_repeat<'a>(names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = std::collections::HashSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeedRng;
    use wengert_tensor::Tensor;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn the_header_lays_out_every_field() {
        let mut c = Checkpoint::<f64>::new();
        c.params.push(("w".into(), Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap()));
        c.rng = Some(SeedRng::new(3));
        let (header, payload) = encode(&c).unwrap();
        assert_eq!(&header[0..8], b"WENGERT\0");
        assert_eq!(header[8..12], FORMAT_VERSION.to_le_bytes());
        assert_eq!(&header[12..16], b"f64\0");
        assert_eq!(header[16..24], (payload.len() as u64).to_le_bytes());
        assert_eq!(header[24..28], crc32(&payload).to_le_bytes());
        assert_eq!(header[28..32], [0; 4]);
        assert_eq!(decode::<f64>(&payload).unwrap(), c);
    }

    #[test]
    fn a_huge_string_length_trips_the_limit_instead_of_allocating() {
        // params: one entry whose name claims a length of 2^40 bytes.
        let mut payload = vec![1u8];
        payload.push(253); // bincode varint: a u64 follows
        payload.extend((1u64 << 40).to_le_bytes());
        let err = decode::<f32>(&payload).unwrap_err();
        assert!(err.contains("claims more memory"), "{err}");
    }

    #[test]
    fn strings_as_long_as_the_payload_stay_under_the_limit() {
        for len in [(1 << 16) - 100, 1 << 16, 3 << 17, 1 << 20] {
            let mut c = Checkpoint::<f32>::new();
            c.meta.push(("blob".into(), "x".repeat(len)));
            c.meta.push(("more".into(), "y".repeat(len / 3)));
            let (_, payload) = encode(&c).unwrap();
            assert_eq!(decode::<f32>(&payload).unwrap(), c, "{len}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_saved_file_gets_the_permissions_file_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("wengert-format-mode-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (saved, created) = (dir.join("m.ckpt"), dir.join("plain"));
        write_atomic(&saved, |f| f.write_all(b"x")).unwrap();
        File::create(&created).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&saved), mode(&created));
        assert_eq!(fs::read(&saved).unwrap(), b"x");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn leftover_payload_bytes_are_an_error() {
        let (_, mut payload) = encode(&Checkpoint::<f32>::new()).unwrap();
        payload.push(0);
        assert!(decode::<f32>(&payload).unwrap_err().contains("1 bytes are left over"));
    }
}
