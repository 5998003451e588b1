//! Module archives, unpacked as go-getter's decompressors do (the set Terraform registers:
//! tar.gz/tgz, tar.bz2/tbz2, tar.xz/txz, zip; plain gz/bz2/xz are single files, which a module
//! directory cannot be), with go-getter's error texts.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path};

/// The archive extensions Terraform recognises, longest first where one ends another.
pub const EXTENSIONS: &[&str] = &[
    "tar.tbz2", "tar.bz2", "tar.gz", "tar.xz", "tbz2", "tgz", "txz", "bz2", "gz", "xz", "zip",
];

/// go-getter picks the longest registered extension the URL path ends with.
pub fn by_extension(path: &str) -> Option<&'static str> {
    EXTENSIONS
        .iter()
        .filter(|k| path.ends_with(&format!(".{k}")))
        .max_by_key(|k| k.len())
        .copied()
}

pub fn is_known(kind: &str) -> bool {
    EXTENSIONS.contains(&kind)
}

/// Unpacks the archive file `src` (of kind `kind`) into the directory `dst`.
pub fn unpack(kind: &str, src: &Path, dst: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dst).map_err(|e| e.to_string())?;
    let shown = src.display().to_string();
    let open = || File::open(src).map_err(|e| e.to_string());
    match kind {
        "tar.gz" | "tgz" => {
            let mut f = BufReader::new(open()?);
            let mut magic = [0u8; 2];
            let ok = f.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
            if !ok {
                return Err(format!(
                    "Error opening a gzip reader for {shown}: gzip: invalid header"
                ));
            }
            let f = BufReader::new(open()?);
            untar(flate2::read::MultiGzDecoder::new(f), dst, &shown)
        }
        "tar.bz2" | "tbz2" | "tar.tbz2" => {
            let mut f = open()?;
            let mut magic = [0u8; 3];
            if f.read_exact(&mut magic).is_err() || &magic != b"BZh" {
                return Err("bzip2 data invalid: bad magic value".into());
            }
            let f = BufReader::new(open()?);
            untar(bzip2::read::MultiBzDecoder::new(f), dst, &shown)
        }
        "tar.xz" | "txz" => {
            let mut f = BufReader::new(open()?);
            let mut data = Vec::new();
            f.read_to_end(&mut data).map_err(|e| e.to_string())?;
            if !data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
                return Err(format!(
                    "Error opening an xz reader for {shown}: xz: invalid header magic bytes"
                ));
            }
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut data.as_slice(), &mut out)
                .map_err(|_| "unexpected EOF".to_string())?;
            untar(out.as_slice(), dst, &shown)
        }
        "zip" => unzip(src, dst, &shown),
        "gz" => Err("gzip-compressed files can only unarchive to a single file".into()),
        "bz2" => Err("bzip2-compressed files can only unarchive to a single file".into()),
        "xz" => Err("xz-compressed files can only unarchive to a single file".into()),
        other => Err(format!("unsupported archive type {other:?}")),
    }
}

fn contains_dot_dot(name: &str) -> bool {
    Path::new(name)
        .components()
        .any(|c| matches!(c, Component::ParentDir))
}

fn tar_error(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "unexpected EOF".into(),
        _ if e.to_string().contains("checksum") || e.to_string().contains("header") => {
            "archive/tar: invalid tar header".into()
        }
        _ => e.to_string(),
    }
}

fn untar(input: impl Read, dst: &Path, shown: &str) -> Result<(), String> {
    let mut ar = tar::Archive::new(input);
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_overwrite(true);
    let mut any_file = false;
    for entry in ar.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if contains_dot_dot(&name) {
            return Err(format!("entry contains '..': {name}"));
        }
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if !kind.is_dir() {
            any_file = true;
        }
        entry.unpack_in(dst).map_err(tar_error)?;
    }
    if !any_file {
        return Err(format!("empty archive: {shown}"));
    }
    Ok(())
}

fn unzip(src: &Path, dst: &Path, shown: &str) -> Result<(), String> {
    let f = File::open(src).map_err(|e| e.to_string())?;
    let mut z = zip::ZipArchive::new(BufReader::new(f))
        .map_err(|_| "zip: not a valid zip file".to_string())?;
    if z.is_empty() {
        return Err(format!("empty archive: {shown}"));
    }
    for i in 0..z.len() {
        let mut file = z.by_index(i).map_err(|e| e.to_string())?;
        let name = file.name().to_string();
        if contains_dot_dot(&name) {
            return Err(format!("entry contains '..': {name}"));
        }
        let path = dst.join(&name);
        if file.is_dir() {
            std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut out = File::create(&path).map_err(|e| e.to_string())?;
        std::io::copy(&mut file, &mut out).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "unexpected EOF".to_string(),
            _ => format!("zip: {e}"),
        })?;
        if let Some(mode) = file.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o777));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_choice_is_longest() {
        assert_eq!(by_extension("/m/x.tar.gz"), Some("tar.gz"));
        assert_eq!(by_extension("/m/x.tgz"), Some("tgz"));
        assert_eq!(by_extension("/m/x.gz"), Some("gz"));
        assert_eq!(by_extension("/m/x.tar.tbz2"), Some("tar.tbz2"));
        assert_eq!(by_extension("/m/x.zip"), Some("zip"));
        assert_eq!(by_extension("/m/x"), None);
    }

    #[test]
    fn corrupt_archives_get_go_getter_errors() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("archive");
        std::fs::write(&src, b"not an archive at all").unwrap();
        let out = d.path().join("out");
        assert_eq!(
            unpack("tgz", &src, &out).unwrap_err(),
            format!(
                "Error opening a gzip reader for {}: gzip: invalid header",
                src.display()
            )
        );
        assert_eq!(
            unpack("zip", &src, &out).unwrap_err(),
            "zip: not a valid zip file"
        );
        assert_eq!(
            unpack("tar.bz2", &src, &out).unwrap_err(),
            "bzip2 data invalid: bad magic value"
        );
    }

    #[test]
    fn tar_gz_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("archive");
        {
            let f = File::create(&src).unwrap();
            let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            let mut b = tar::Builder::new(gz);
            let data = b"variable \"x\" {}\n";
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, "sub/main.tf", &data[..]).unwrap();
            b.into_inner().unwrap().finish().unwrap();
        }
        let out = d.path().join("out");
        unpack("tar.gz", &src, &out).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("sub/main.tf")).unwrap(),
            "variable \"x\" {}\n"
        );
    }
}
