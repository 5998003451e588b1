//! `weir fmt` against `terraform fmt`: every corpus file (`tests/fmt/*.tf`, `*.tfvars`) formats
//! to the recorded output (`<file>.golden`, from `terraform fmt -`), and the command's behaviour
//! (list, write, diff, check, recursive, syntax errors, exit codes) reads as Terraform's
//! (`tests/fmt/cli.golden`); both re-checked against the live binary where it is installed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::which;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt")
}

fn corpus() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".tf") || n.ends_with(".tfvars")
        })
        .collect();
    v.sort();
    v
}

fn run(program: &Path, dir: &Path, args: &[&str], stdin: &[u8]) -> (String, String, i32) {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let o = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn weir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_weir"))
}

#[test]
fn corpus_formats_as_terraform() {
    for file in corpus() {
        let src = std::fs::read(&file).unwrap();
        let golden = std::fs::read_to_string(file.with_extension(format!(
            "{}.golden",
            file.extension().unwrap().to_string_lossy()
        )))
        .unwrap();
        let (out, err, code) = run(&weir(), &corpus_dir(), &["fmt", "-"], &src);
        assert_eq!(code, 0, "{}: {err}", file.display());
        assert_eq!(out, golden, "weir fmt of {}", file.display());
        // Formatting is idempotent.
        let (again, _, _) = run(&weir(), &corpus_dir(), &["fmt", "-"], out.as_bytes());
        assert_eq!(again, out, "second weir fmt of {}", file.display());
    }
}

#[test]
fn corpus_goldens_match_live_terraform() {
    let Some(tf) = which("terraform") else {
        eprintln!("SKIPPED: terraform is not installed; the recorded goldens stand");
        return;
    };
    for file in corpus() {
        let src = std::fs::read(&file).unwrap();
        let (out, err, code) = run(&tf, &corpus_dir(), &["fmt", "-"], &src);
        assert_eq!(code, 0, "terraform fmt {}: {err}", file.display());
        let golden = std::fs::read_to_string(file.with_extension(format!(
            "{}.golden",
            file.extension().unwrap().to_string_lossy()
        )))
        .unwrap();
        assert_eq!(out, golden, "golden of {} (re-record it)", file.display());
    }
}

/// Runs the command-line scenario with `program` in a fresh directory and returns its
/// transcript: each command's output and exit code, then the files as they ended up.
fn scenario(program: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let messy = "resource \"terraform_data\" \"a\" {\ninput=1\n}\n";
    let tidy = "resource \"terraform_data\" \"b\" {\n  input = 1\n}\n";
    let write = |rel: &str, text: &str| {
        let p = d.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("main.tf", messy);
    write("tidy.tf", tidy);
    write("vars.tfvars", "a=1\n");
    write("sub/child.tf", messy);
    write("notes.txt", "a=1\n");
    write(".hidden.tf", messy);
    let mut t = String::new();
    for args in [
        &["fmt", "-check"][..],
        &["fmt", "-check", "-list=false"],
        &["fmt", "-check", "-recursive"],
        &["fmt", "-diff", "-write=false", "-list=false"],
        &["fmt", "-write=false"],
        &["fmt", "notes.txt"],
        &["fmt", "nonesuch"],
        &["fmt", "sub/child.tf"],
        &["fmt", "-recursive"],
        &["fmt", "-check", "-recursive"],
    ] {
        let (out, _err, code) = run(program, d, args, b"");
        t.push_str(&format!("$ {}\n{out}exit {code}\n", args.join(" ")));
    }
    write("broken.tf", "resource \"x\" {\n");
    let (out, err, code) = run(program, d, &["fmt"], b"");
    t.push_str(&format!(
        "$ fmt (with a syntax error)\n{out}{}exit {code}\n",
        // Terraform colours its errors even under NO_COLOR; compare the words.
        strip_ansi(&err)
            .lines()
            .map(|l| l.trim_start_matches(['│', '╷', '╵', ' ']))
            .filter(|l| l.starts_with("Error:") || l.starts_with("on broken.tf"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    ));
    for f in ["main.tf", "vars.tfvars", "sub/child.tf", ".hidden.tf"] {
        t.push_str(&format!(
            "--- {f}\n{}",
            std::fs::read_to_string(d.join(f)).unwrap()
        ));
    }
    t
}

/// `WEIR_RECORD_FMT=1` re-records `cli.golden` from the installed Terraform.
#[test]
fn command_behaves_as_terraform() {
    if std::env::var_os("WEIR_RECORD_FMT").is_some() {
        let tf = which("terraform").expect("terraform to record with");
        std::fs::write(corpus_dir().join("cli.golden"), scenario(&tf)).unwrap();
    }
    let got = scenario(&weir());
    let golden = std::fs::read_to_string(corpus_dir().join("cli.golden")).unwrap();
    assert_eq!(got, golden);
    if let Some(tf) = which("terraform") {
        assert_eq!(scenario(&tf), golden, "cli.golden against live terraform");
    } else {
        eprintln!("NOTE: terraform is not installed; compared with the recorded transcript only");
    }
}
