//! Terraform's `h1:` package hash (Go's dirhash "Hash1"): SHA-256 over a summary of
//! `hex(sha256(file))␣␣relative/path\n` lines sorted by path, base64-encoded.

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

fn files(dir: &Path, prefix: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        let rel = prefix.join(e.file_name());
        if p.is_dir() {
            files(&p, &rel, out)?;
        } else {
            out.push((rel.to_string_lossy().replace('\\', "/"), p));
        }
    }
    Ok(())
}

/// The `h1:` hash of an unpacked provider package directory.
pub fn h1_hash(dir: &Path) -> std::io::Result<String> {
    let mut fs = Vec::new();
    files(dir, Path::new(""), &mut fs)?;
    fs.sort();
    let mut summary = String::new();
    for (rel, path) in fs {
        let mut h = Sha256::new();
        let mut f = std::fs::File::open(&path)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        summary.push_str(&format!("{}  {rel}\n", hex::encode(h.finalize())));
    }
    let total = Sha256::digest(summary.as_bytes());
    Ok(format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(total)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_of_a_known_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("terraform-provider-x_v1.0.0"), b"hello\n").unwrap();
        // sha256("hello\n") = 5891b5b5...; the summary line and its digest are fixed.
        let line = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  terraform-provider-x_v1.0.0\n";
        let want = format!(
            "h1:{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(line.as_bytes()))
        );
        assert_eq!(h1_hash(d.path()).unwrap(), want);
    }
}
