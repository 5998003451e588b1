//! Shared helpers: running the built `weir` binary in a directory and normalising JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn weir(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env_remove("TF_WORKSPACE")
        .output()
        .expect("run weir")
}

/// Runs weir and asserts success, returning stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = weir(dir, args);
    assert!(
        out.status.success(),
        "weir {args:?} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Text with the UUIDs in it replaced by `<uuid>`.
pub fn replace_uuids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if rest.len() >= 36 && rest.is_char_boundary(36) && is_uuid(&rest[..36]) {
            out.push_str("<uuid>");
            rest = &rest[36..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Replaces run-specific values (UUIDs, also inside strings; timestamps; deposed object keys)
/// so runs can be compared.
pub fn normalize(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if s.len() >= 36 => *s = replace_uuids(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(normalize),
        serde_json::Value::Object(m) => {
            for (k, e) in m.iter_mut() {
                if k == "timestamp" {
                    *e = serde_json::Value::String("<ts>".into());
                } else if (k == "deposed" || k == "deposed_key") && e.is_string() {
                    *e = serde_json::Value::String("<deposed>".into());
                } else {
                    normalize(e);
                }
            }
        }
        _ => {}
    }
}

pub fn json(text: &str) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{text}"));
    normalize(&mut v);
    v
}

/// Asserts two JSON documents are equal, listing every differing path and then both documents.
pub fn assert_json_eq(what: &str, got: &serde_json::Value, want: &serde_json::Value) {
    if got != want {
        let mut diffs = Vec::new();
        json_diff("", got, want, &mut diffs);
        panic!(
            "{what} differs from Terraform's:\n{}\n--- weir\n{}\n--- terraform\n{}",
            diffs.join("\n"),
            serde_json::to_string_pretty(got).unwrap(),
            serde_json::to_string_pretty(want).unwrap()
        );
    }
}

fn json_diff(path: &str, got: &serde_json::Value, want: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value as J;
    match (got, want) {
        (J::Object(a), J::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}/{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => json_diff(&p, x, y, out),
                    (Some(x), None) => {
                        out.push(format!("  {p}: weir has {x}, terraform has nothing"))
                    }
                    (None, Some(y)) => {
                        out.push(format!("  {p}: weir has nothing, terraform has {y}"))
                    }
                    (None, None) => {}
                }
            }
        }
        (J::Array(a), J::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_diff(&format!("{path}/{i}"), x, y, out);
            }
        }
        _ if got != want => out.push(format!("  {path}: weir {got} != terraform {want}")),
        _ => {}
    }
}

/// Copies a directory tree.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// A program on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
