//! A data tree on S3-compatible object storage (`--data s3://bucket/prefix`), read through
//! object_store's S3 client (docs/ARCHITECTURE.md "Object storage").
//!
//! A remote tree is named by its URL used as a path — `s3://bucket/prefix/depth/venue=…/
//! part-….parquet` — so the listing, the catalog and the scan walk it exactly as a local
//! tree: the few file operations they do (list a folder, a file's size, read a range or a
//! whole file, write a file) come here, and here go to the bucket when the path is remote
//! and to the file system otherwise. Parts are immutable once written, so nothing is cached
//! but the sizes a listing already returned.
//!
//! Credentials, region and endpoint come from the standard AWS environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, …) and
//! `--s3-endpoint`, which also allows plain `http://` for a local S3-compatible server.
//! Requests run on a small runtime of their own, so the synchronous readers may wait on them
//! from any thread, a query runtime's workers included.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::{Buf, Bytes};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::file::reader::{ChunkReader, Length};

use super::StorageError;

/// The URL scheme of a remote tree.
pub const SCHEME: &str = "s3://";

/// Whether `path` names a file or folder of a remote tree.
pub fn is_remote(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with(SCHEME))
}

/// A bucket a remote tree lives in, and the endpoint it is reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bucket {
    name: String,
    endpoint: Option<String>,
}

/// The buckets this process opened, each with the client the synchronous readers share.
static BUCKETS: Mutex<Vec<(Bucket, Arc<AmazonS3>)>> = Mutex::new(Vec::new());

/// Sizes of remote files as the last folder listing returned them (saves a HEAD per part
/// when the catalog compares a manifest line with the part).
static SIZES: Mutex<Option<HashMap<PathBuf, u64>>> = Mutex::new(None);

/// The `--s3-endpoint` of this process, for buckets opened by URL alone (a Ballista
/// scheduler or executor opens each bucket a query names).
static DEFAULT_ENDPOINT: Mutex<Option<String>> = Mutex::new(None);

/// Sets the endpoint [`default_endpoint`] returns.
pub fn set_default_endpoint(endpoint: Option<&str>) {
    *DEFAULT_ENDPOINT.lock().unwrap_or_else(|e| e.into_inner()) = endpoint.map(str::to_owned);
}

/// The process's `--s3-endpoint`, if it was given.
pub fn default_endpoint() -> Option<String> {
    DEFAULT_ENDPOINT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Opens the remote tree at `url` (`s3://bucket[/prefix]`) and returns its root as a path.
/// Fails with a one-line reason when the URL or the S3 settings are not usable; the bucket
/// itself is reached only by the first request.
pub fn open(url: &str, endpoint: Option<&str>) -> Result<PathBuf, StorageError> {
    let rest = url.strip_prefix(SCHEME).ok_or_else(|| {
        StorageError::Config(format!("{url}: not an s3:// URL (use s3://bucket/prefix)"))
    })?;
    let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    if name.is_empty() {
        return Err(StorageError::Config(format!("{url}: no bucket (use s3://bucket/prefix)")));
    }
    let bucket = Bucket { name: name.to_owned(), endpoint: endpoint.map(str::to_owned) };
    let client = Arc::new(build(&bucket)?);
    let mut buckets = BUCKETS.lock().unwrap_or_else(|e| e.into_inner());
    buckets.retain(|(b, _)| b.name != bucket.name);
    buckets.push((bucket, client));
    Ok(if prefix.is_empty() {
        PathBuf::from(format!("{SCHEME}{name}"))
    } else {
        PathBuf::from(format!("{SCHEME}{name}/{prefix}"))
    })
}

fn build(bucket: &Bucket) -> Result<AmazonS3, StorageError> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket.name);
    if let Some(endpoint) = &bucket.endpoint {
        builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    builder.build().map_err(|e| {
        StorageError::Config(format!(
            "{SCHEME}{}: {e} (set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION, and --s3-endpoint for a server other than AWS)",
            bucket.name
        ))
    })
}

/// A new client for the bucket of the remote `root`, and the bucket's URL (`s3://bucket`),
/// for DataFusion to register: its requests then run on the query runtime.
pub fn store_for(root: &Path) -> Result<(String, Arc<dyn ObjectStore>), StorageError> {
    let (bucket, _, _) = locate(root).map_err(|e| StorageError::io(root, e))?;
    let store = build(&bucket)?;
    Ok((format!("{SCHEME}{}", bucket.name), Arc::new(store)))
}

/// The object key of a remote path (`s3://bucket/a/b` → `a/b`).
pub fn key_of(path: &Path) -> Result<Key, StorageError> {
    locate(path).map(|(_, _, key)| key).map_err(|e| StorageError::io(path, e))
}

/// The bucket of a remote path, its shared client, and the path's key in it.
fn locate(path: &Path) -> io::Result<(Bucket, Arc<AmazonS3>, Key)> {
    let text = path.to_str().and_then(|s| s.strip_prefix(SCHEME)).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "not an s3:// path".to_string())
    })?;
    let (name, key) = text.split_once('/').unwrap_or((text, ""));
    let buckets = BUCKETS.lock().unwrap_or_else(|e| e.into_inner());
    let (bucket, client) = buckets.iter().find(|(b, _)| b.name == name).ok_or_else(|| {
        io::Error::other(format!("bucket {name} was not opened (pass --data s3://{name}/…)"))
    })?;
    let key = Key::parse(key.trim_matches('/'))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    Ok((bucket.clone(), Arc::clone(client), key))
}

/// Runs a request on the object-storage runtime and waits for it from this thread.
fn block<T: Send + 'static>(request: impl std::future::Future<Output = T> + Send + 'static) -> T {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mdkit-s3")
            .enable_all()
            .build()
            .expect("cannot start the object-storage runtime")
    });
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(request.await);
    });
    rx.recv().expect("the object-storage runtime stopped")
}

fn io_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        e => io::Error::other(e),
    }
}

/// The names in folder `dir`, sorted, each with whether it is a folder; empty when `dir`
/// does not exist.
pub fn entries(dir: &Path) -> io::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    if is_remote(dir) {
        let (_, client, key) = locate(dir)?;
        let prefix = (!key.as_ref().is_empty()).then_some(key);
        let listed = block(async move { client.list_with_delimiter(prefix.as_ref()).await })
            .map_err(io_error)?;
        let mut sizes = SIZES.lock().unwrap_or_else(|e| e.into_inner());
        let sizes = sizes.get_or_insert_with(HashMap::new);
        for folder in listed.common_prefixes {
            if let Some(name) = folder.filename() {
                out.push((name.to_owned(), true));
            }
        }
        for object in listed.objects {
            if let Some(name) = object.location.filename() {
                sizes.insert(dir.join(name), object.size);
                out.push((name.to_owned(), false));
            }
        }
    } else {
        let listed = match fs::read_dir(dir) {
            Ok(listed) => listed,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in listed {
            let entry = entry?;
            out.push((entry.file_name().to_string_lossy().into_owned(), entry.path().is_dir()));
        }
    }
    out.sort();
    Ok(out)
}

/// Whether `dir` is a folder (remote: whether anything is stored under it).
pub fn is_dir(dir: &Path) -> bool {
    if is_remote(dir) {
        entries(dir).is_ok_and(|e| !e.is_empty())
    } else {
        dir.is_dir()
    }
}

/// The size of a file in bytes.
pub fn size(path: &Path) -> io::Result<u64> {
    if !is_remote(path) {
        return fs::metadata(path).map(|m| m.len());
    }
    let known = SIZES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(size) = known.as_ref().and_then(|s| s.get(path)) {
        return Ok(*size);
    }
    drop(known);
    let (_, client, key) = locate(path)?;
    block(async move { client.head(&key).await }).map(|m| m.size).map_err(io_error)
}

/// A whole file.
pub fn read(path: &Path) -> io::Result<Bytes> {
    if !is_remote(path) {
        return fs::read(path).map(Bytes::from);
    }
    let (_, client, key) = locate(path)?;
    block(async move { client.get(&key).await?.bytes().await }).map_err(io_error)
}

/// Bytes `range` of a file.
fn read_range(path: &Path, range: Range<u64>) -> io::Result<Bytes> {
    let (_, client, key) = locate(path)?;
    block(async move { client.get_range(&key, range).await }).map_err(io_error)
}

/// Writes a whole file (remote: one PUT, which replaces an object of that key at once).
pub fn write(path: &Path, bytes: Bytes) -> io::Result<()> {
    if !is_remote(path) {
        return fs::write(path, &bytes);
    }
    let (_, client, key) = locate(path)?;
    block(async move { client.put(&key, PutPayload::from(bytes)).await })
        .map(drop)
        .map_err(io_error)
}

/// Deletes a file.
pub fn delete(path: &Path) -> io::Result<()> {
    if !is_remote(path) {
        return fs::remove_file(path);
    }
    let (_, client, key) = locate(path)?;
    block(async move { client.delete(&key).await }).map_err(io_error)
}

/// Bytes of a remote part's end fetched with its size: a footer of mdkit's parts fits, so
/// checking a part costs this GET and the one for its first bytes.
const TAIL_BYTES: u64 = 64 * 1024;

/// A part opened for reading: a local file, a remote one read by range requests (a
/// footer: its last [`TAIL_BYTES`] fetched at once, the rest on demand), or a remote one
/// fetched whole (a scan: one request instead of one per page).
pub enum PartFile {
    Local(fs::File),
    Remote { path: PathBuf, len: u64, tail: Bytes },
    Fetched(Bytes),
}

impl PartFile {
    /// Opens a part to read its footer.
    pub fn open(path: &Path) -> io::Result<PartFile> {
        if is_remote(path) {
            let len = size(path)?;
            let tail = if len == 0 {
                Bytes::new()
            } else {
                read_range(path, len.saturating_sub(TAIL_BYTES)..len)?
            };
            Ok(PartFile::Remote { path: path.to_path_buf(), len, tail })
        } else {
            fs::File::open(path).map(PartFile::Local)
        }
    }

    /// Opens a part to read all of its selected row groups.
    pub fn open_whole(path: &Path) -> io::Result<PartFile> {
        if is_remote(path) {
            read(path).map(PartFile::Fetched)
        } else {
            fs::File::open(path).map(PartFile::Local)
        }
    }
}

impl Length for PartFile {
    fn len(&self) -> u64 {
        match self {
            PartFile::Local(file) => file.len(),
            PartFile::Remote { len, .. } => *len,
            PartFile::Fetched(bytes) => bytes.len() as u64,
        }
    }
}

impl ChunkReader for PartFile {
    type T = Box<dyn io::Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        match self {
            PartFile::Local(file) => Ok(Box::new(file.get_read(start)?)),
            PartFile::Remote { path, len, .. } => Ok(Box::new(
                read_range(path, start..*len)
                    .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?
                    .reader(),
            )),
            PartFile::Fetched(bytes) => Ok(Box::new(bytes.get_read(start)?)),
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            PartFile::Local(file) => file.get_bytes(start, length),
            PartFile::Remote { path, len, tail } => {
                let tail_start = len - tail.len() as u64;
                let end = start + length as u64;
                if start >= tail_start && end <= *len {
                    let at = (start - tail_start) as usize;
                    return Ok(tail.slice(at..at + length));
                }
                read_range(path, start..end)
                    .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
            }
            PartFile::Fetched(bytes) => bytes.get_bytes(start, length),
        }
    }
}
