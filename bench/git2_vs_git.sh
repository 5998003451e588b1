#!/usr/bin/env bash
# Measurement behind getmodules' choice of the system `git` over libgit2 (git2): N sequential
# shallow clones of one repository (300 commits of ~20 KB each) through git2 (vendored
# libgit2, no TLS/SSH) and through the git binary, over git:// (git daemon on 127.0.0.1) and
# over file://. Builds a scratch program outside the workspace (libgit2 compiles from C: slow).
#
# Usage: bench/git2_vs_git.sh [N]   (default 20)
set -euo pipefail
n=${1:-20}
work=$(mktemp -d)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/prog/src" "$work/srv"
cat > "$work/prog/Cargo.toml" <<'TOML'
[package]
name = "git2bench"
version = "0.1.0"
edition = "2021"

[dependencies]
git2 = { version = "0.20", default-features = false, features = ["vendored-libgit2"] }

[workspace]
TOML
cat > "$work/prog/src/main.rs" <<'RS'
//! Times shallow clones through libgit2 and through the git binary.
use std::time::Instant;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (url, out, n) = (&a[1], std::path::PathBuf::from(&a[2]), a[3].parse::<usize>().unwrap());
    let t = Instant::now();
    let mut g2 = String::new();
    for i in 0..n {
        let mut fo = git2::FetchOptions::new();
        fo.depth(1);
        let mut b = git2::build::RepoBuilder::new();
        b.fetch_options(fo);
        if let Err(e) = b.clone(url, &out.join(format!("g2-{i}"))) {
            g2 = format!("failed: {}", e.message());
            break;
        }
    }
    if g2.is_empty() {
        g2 = format!("{:.3}s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    for i in 0..n {
        let s = std::process::Command::new("git")
            .args(["clone", "-q", "--depth", "1", "--", url])
            .arg(out.join(format!("cli-{i}")))
            .status()
            .unwrap();
        assert!(s.success());
    }
    println!("{n} shallow clones of {url}: git2 {g2}, git binary {:.3}s", t.elapsed().as_secs_f64());
}
RS
(cd "$work/prog" && cargo build -q --release)

git init -q --bare "$work/srv/r.git"
python3 - <<'PY' | git -C "$work/srv/r.git" fast-import --quiet
import os, sys
w = sys.stdout.buffer
for i in range(300):
    d = os.urandom(10 * 1024).hex().encode()
    w.write(b"blob\nmark :%d\ndata %d\n" % (i + 1, len(d)) + d + b"\n")
    m = b"c%d\n" % i
    w.write(b"commit refs/heads/main\nmark :%d\ncommitter b <b@e> %d +0000\ndata %d\n%s" % (100000 + i, 1700000000 + i, len(m), m))
    if i:
        w.write(b"from :%d\n" % (100000 + i - 1))
    w.write(b"M 100644 :%d data.txt\n\n" % (i + 1))
PY
git -C "$work/srv/r.git" symbolic-ref HEAD refs/heads/main
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --base-path="$work/srv" --export-all --reuseaddr --listen=127.0.0.1 --port="$port" \
  "$work/srv" >/dev/null 2>&1 &
daemon_pid=$!
for _ in $(seq 1 50); do
  git ls-remote "git://127.0.0.1:$port/r.git" >/dev/null 2>&1 && break
  sleep 0.1
done
for url in "git://127.0.0.1:$port/r.git" "file://$work/srv/r.git"; do
  out=$(mktemp -d -p "$work")
  "$work/prog/target/release/git2bench" "$url" "$out" "$n"
done
