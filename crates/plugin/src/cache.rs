//! On-disk cache of provider schemas keyed by the SHA-256 of the plugin binary, so a warm
//! start skips `GetProviderSchema` (13.6 MB and about a second for AWS).
//!
//! An entry is the plugin's own protobuf answer (`GetProviderSchema.Response` of the protocol
//! it spoke) behind a small header. Protobuf is compact, prost decodes it quickly, and storing
//! the wire answer means the cache cannot drift from the conversion code: decoding a cached
//! entry runs the same conversion as a live answer.
//!
//! Hashing a 700 MB binary takes about a second, so the hash itself is memoised per binary path
//! under `index/`, invalidated by the file's size and modification time.
//!
//! The same directory remembers provider configurations that validated cleanly (`validated/`):
//! the AWS provider spends two seconds of every ValidateProviderConfig checking its own
//! schema, and the answer for the same binary and the same wholly known configuration does
//! not change. Only a digest is stored, never the configuration (it holds credentials).

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

const MAGIC: &[u8; 8] = b"WEIRSCH2";
const HEADER: usize = 8 + 4 + 32;

/// A schema cache directory.
#[derive(Clone, Debug)]
pub struct SchemaCache {
    dir: PathBuf,
}

/// A cached schema answer.
#[derive(Clone, Debug)]
pub struct CachedSchema {
    /// The plugin protocol major version the bytes are encoded in (5 or 6).
    pub protocol_version: u32,
    /// The encoded `GetProviderSchema.Response`.
    pub response: Vec<u8>,
}

impl SchemaCache {
    pub fn new(dir: impl Into<PathBuf>) -> SchemaCache {
        SchemaCache { dir: dir.into() }
    }

    /// `$XDG_CACHE_HOME/weir/schemas`, else `~/.cache/weir/schemas`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
            return Some(PathBuf::from(x).join("weir").join("schemas"));
        }
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".cache").join("weir").join("schemas"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The hex SHA-256 of a binary, memoised by path, size and modification time.
    pub fn binary_key(&self, binary: &Path) -> std::io::Result<String> {
        let canonical = std::fs::canonicalize(binary)?;
        let meta = std::fs::metadata(&canonical)?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let stamp = format!("{} {}", meta.len(), mtime);
        let index = self.dir.join("index").join(format!(
            "{}.key",
            hex::encode(Sha256::digest(canonical.as_os_str().as_encoded_bytes()))
        ));
        if let Ok(s) = std::fs::read_to_string(&index) {
            if let Some((st, key)) = s.trim_end().rsplit_once(' ') {
                if st == stamp && key.len() == 64 {
                    return Ok(key.to_string());
                }
            }
        }
        let key = sha256_file(&canonical)?;
        // The memo is an optimisation; failing to write it must not fail the caller.
        let _ = write_atomic(&index, format!("{stamp} {key}\n").as_bytes());
        Ok(key)
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.pb"))
    }

    /// Reads the entry for `key`; a missing or damaged entry is a miss.
    ///
    /// The header carries a digest of the answer and of this weir's version: schemas are
    /// converted lazily, type by type, so a damaged or foreign entry must be refused here
    /// rather than discovered half-way through a run.
    pub fn load(&self, key: &str) -> Option<CachedSchema> {
        let mut bytes = std::fs::read(self.entry_path(key)).ok()?;
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return None;
        }
        let protocol_version = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
        let response = bytes.split_off(HEADER);
        if bytes[12..HEADER] != entry_digest(&response)[..] {
            return None;
        }
        Some(CachedSchema {
            protocol_version,
            response,
        })
    }

    /// Writes the entry for `key` atomically (write to a temporary file, then rename), so
    /// concurrent runs never read a torn entry.
    pub fn store(&self, key: &str, entry: &CachedSchema) -> std::io::Result<()> {
        let mut data = Vec::with_capacity(HEADER + entry.response.len());
        data.extend_from_slice(MAGIC);
        data.extend_from_slice(&entry.protocol_version.to_le_bytes());
        data.extend_from_slice(&entry_digest(&entry.response));
        data.extend_from_slice(&entry.response);
        write_atomic(&self.entry_path(key), &data)
    }
}

fn entry_digest(response: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(response);
    h.finalize().into()
}

impl SchemaCache {
    fn validated_path(&self, binary_key: &str, config: &[u8]) -> PathBuf {
        let mut h = Sha256::new();
        h.update(binary_key.as_bytes());
        h.update([0]);
        h.update(config);
        self.dir.join("validated").join(hex::encode(h.finalize()))
    }

    /// Whether this binary validated exactly this encoded provider configuration without a
    /// single diagnostic before.
    pub fn validated(&self, binary_key: &str, config: &[u8]) -> bool {
        self.validated_path(binary_key, config).is_file()
    }

    /// Records a clean validation (best effort: a failure only costs the next run the call).
    pub fn mark_validated(&self, binary_key: &str, config: &[u8]) {
        let _ = write_atomic(&self.validated_path(binary_key, config), b"");
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_load_and_key_memo() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SchemaCache::new(dir.path().join("c"));
        let bin = dir.path().join("bin");
        std::fs::write(&bin, b"abc").unwrap();
        let key = cache.binary_key(&bin).unwrap();
        assert_eq!(
            key,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Memoised: the second call reads the index (same answer).
        assert_eq!(cache.binary_key(&bin).unwrap(), key);
        // A changed binary changes the key even when the memo exists.
        std::fs::write(&bin, b"abcd").unwrap();
        assert_ne!(cache.binary_key(&bin).unwrap(), key);

        assert!(cache.load(&key).is_none());
        cache
            .store(
                &key,
                &CachedSchema {
                    protocol_version: 5,
                    response: vec![1, 2, 3],
                },
            )
            .unwrap();
        let got = cache.load(&key).unwrap();
        assert_eq!((got.protocol_version, got.response), (5, vec![1, 2, 3]));
        // A damaged entry is a miss, not an error: one flipped byte in the answer...
        let mut bytes = std::fs::read(cache.entry_path(&key)).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(cache.entry_path(&key), &bytes).unwrap();
        assert!(cache.load(&key).is_none());
        // ...or a file that is not an entry at all.
        std::fs::write(cache.entry_path(&key), b"junk").unwrap();
        assert!(cache.load(&key).is_none());
    }

    #[test]
    fn validated_configs_are_remembered_per_binary_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SchemaCache::new(dir.path());
        assert!(!cache.validated("k1", b"cfg"));
        cache.mark_validated("k1", b"cfg");
        assert!(cache.validated("k1", b"cfg"));
        assert!(!cache.validated("k1", b"cfg2"));
        assert!(!cache.validated("k2", b"cfg"));
        // No file holds the configuration itself.
        for e in std::fs::read_dir(dir.path().join("validated")).unwrap() {
            assert!(std::fs::read(e.unwrap().path()).unwrap().is_empty());
        }
    }
}
