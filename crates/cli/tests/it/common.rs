//! Shared helpers: running the built `weir` binary in a directory and normalising JSON.

use std::path::Path;
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

/// Replaces run-specific values (UUIDs, timestamps) so runs can be compared.
pub fn normalize(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if is_uuid(s) => *s = "<uuid>".into(),
        serde_json::Value::Array(a) => a.iter_mut().for_each(normalize),
        serde_json::Value::Object(m) => {
            for (k, e) in m.iter_mut() {
                if k == "timestamp" {
                    *e = serde_json::Value::String("<ts>".into());
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

/// Asserts two JSON documents are equal, printing both pretty when not.
pub fn assert_json_eq(what: &str, got: &serde_json::Value, want: &serde_json::Value) {
    if got != want {
        panic!(
            "{what} differs from Terraform's\n--- weir\n{}\n--- terraform\n{}",
            serde_json::to_string_pretty(got).unwrap(),
            serde_json::to_string_pretty(want).unwrap()
        );
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
