//! Safety of the state of record through the CLI: concurrent first runs, read-only
//! directories, rescuing an unreadable state from history, journals that outlive a replaced
//! state, the wording of state errors, and directories without configuration.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{ok, weir};
use crate::state::{write, SIMPLE};

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = weir(dir, args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `n` copies of `weir args` at once in `dir`.
fn concurrently(dir: &Path, n: usize, args: &[&str]) -> Vec<(i32, String)> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_weir"))
                .args(args)
                .current_dir(dir)
                .env("NO_COLOR", "1")
                .env("XDG_CACHE_HOME", dir.join(".cache"))
                .env_remove("TF_WORKSPACE")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        })
        .collect()
}

#[test]
fn concurrent_first_applies_lock_each_other_out_cleanly() {
    const FORBIDDEN: [&str; 4] = [
        "already exists",
        "corrupt or not a weir state database",
        "database is locked",
        "panicked",
    ];
    // Without a timeout: exactly one applies; the others get Terraform's lock error (or, when
    // a busy machine starts them late, take the lock afterwards and find nothing to do).
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    let results = concurrently(d.path(), 10, &["apply", "-auto-approve"]);
    for (code, out) in &results {
        assert!(!FORBIDDEN.iter().any(|f| out.contains(f)), "{out}");
        match code {
            0 => assert!(out.contains("Apply complete! Resources: "), "{out}"),
            1 => assert!(
                out.contains("Error: Error acquiring the state lock")
                    && out.contains("Operation: OperationTypeApply"),
                "{out}"
            ),
            other => panic!("exit {other}: {out}"),
        }
    }
    let created = results
        .iter()
        .filter(|(c, o)| *c == 0 && o.contains("Resources: 3 added"))
        .count();
    assert_eq!(created, 1, "{results:#?}");
    assert_eq!(ok(d.path(), &["state", "list"]).lines().count(), 3);

    // With -lock-timeout they wait their turn: one creates, the rest find nothing to do.
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    let results = concurrently(
        d.path(),
        10,
        &["apply", "-auto-approve", "-lock-timeout=120s"],
    );
    for (code, out) in &results {
        assert!(!FORBIDDEN.iter().any(|f| out.contains(f)), "{out}");
        assert_eq!(*code, 0, "{out}");
    }
    let created = results
        .iter()
        .filter(|(_, o)| o.contains("Resources: 3 added"))
        .count();
    assert_eq!(created, 1, "{results:#?}");
    let hist = ok(d.path(), &["state", "history"]);
    assert_eq!(hist.lines().count(), 2, "one version only:\n{hist}");
}

fn is_root() -> bool {
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0
}

fn snapshot(dir: &Path) -> Vec<(String, u64, i64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((
                e.path().display().to_string(),
                m.len(),
                std::os::unix::fs::MetadataExt::mtime_nsec(&m),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn read_only_state_can_be_read_and_planned_without_the_lock() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["apply", "-auto-approve"]);
    let cache = tempfile::tempdir().unwrap();
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let root = is_root();
    // Root ignores permission bits: run as `nobody` instead. Otherwise take write access away.
    let set_mode =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    if root {
        set_mode(d.path(), 0o755);
    } else {
        for p in ["terraform.tfstate", ".weir/state.db"] {
            set_mode(&d.path().join(p), 0o444);
        }
        for p in [".weir/journal", ".weir", "."] {
            set_mode(&d.path().join(p), 0o555);
        }
    }
    let before = snapshot(d.path());
    let as_reader = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_weir"));
        c.args(args)
            .current_dir(d.path())
            .env("NO_COLOR", "1")
            .env("HOME", cache.path())
            .env("XDG_CACHE_HOME", cache.path())
            .env_remove("TF_WORKSPACE");
        if root {
            // std drops the supplementary groups too when a root parent sets the uid.
            c.uid(65534).gid(65534);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = as_reader(&["state", "list"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    let (code, out, err) = as_reader(&["output", "-raw", "ws"]);
    assert_eq!((code, out.as_str()), (Some(0), "default"), "{err}");
    let (code, out, err) = as_reader(&["show"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("terraform_data.a"), "{out}");
    let (code, out, err) = as_reader(&["plan", "-lock=false", "-detailed-exitcode"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = as_reader(&["state", "history"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("apply"), "{out}");
    // Taking the lock needs write access, as in Terraform: its error, nothing else.
    let (code, _, err) = as_reader(&["plan"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("Error: Error acquiring the state lock")
            && err.contains("Error message: open terraform.tfstate: permission denied"),
        "{err}"
    );
    assert_eq!(snapshot(d.path()), before, "nothing was written");
    if !root {
        for p in [".", ".weir", ".weir/journal"] {
            set_mode(&d.path().join(p), 0o755);
        }
    }
}

#[test]
fn history_rescues_an_unreadable_state() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["apply", "-auto-approve"]);
    write(d.path(), &SIMPLE.replace("\"x\"", "\"y\""));
    ok(d.path(), &["apply", "-auto-approve"]);
    std::fs::write(
        d.path().join("terraform.tfstate"),
        "{\"version\": 4, \"resou",
    )
    .unwrap();
    let (code, _, err) = run(d.path(), &["plan"]);
    assert_eq!(code, 1);
    assert!(err.contains("Error: Failed to load state"), "{err}");
    // History still lists (the damaged state is not one of its versions).
    let hist = ok(d.path(), &["state", "history"]);
    assert_eq!(hist.lines().count(), 3, "{hist}");
    assert!(!hist.contains('*'), "{hist}");
    // Rolling back needs neither the latest version nor a readable state of record.
    let (code, out, err) = run(d.path(), &["state", "rollback", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Warning: The current state could not be read"),
        "{out}"
    );
    assert!(
        out.contains("Restored the state of serial 2 as serial 3."),
        "{out}"
    );
    let (code, _, err) = run(d.path(), &["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "{err}");
    // A serial history does not have: its own wording, not a load failure.
    let (code, _, err) = run(d.path(), &["state", "rollback", "9"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Error: No state version with serial 9"),
        "{err}"
    );
    assert!(
        err.replace('\n', " ").contains("recorded serials: 1, 2, 3"),
        "{err}"
    );
    assert!(!err.contains("Failed to load state"), "{err}");
}

/// Starts a big apply and kills it (SIGKILL) once its journal holds some operations.
fn kill_apply_midway(dir: &Path) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["apply", "-auto-approve"])
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let journal = dir.join(".weir").join("journal");
    let start = Instant::now();
    loop {
        let size: u64 = std::fs::read_dir(&journal)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        if size > 50_000 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the apply finished before it could be killed"
        );
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_journal_survives_a_deleted_or_replaced_state() {
    let d = tempfile::tempdir().unwrap();
    let n = 20_000;
    write(
        d.path(),
        &format!(
            "resource \"terraform_data\" \"x\" {{\n  count = {n}\n  input = count.index\n}}\n"
        ),
    );
    // Deleted while the apply ran: rebuilt from the journal (its base was "no state").
    kill_apply_midway(d.path());
    std::fs::remove_file(d.path().join("terraform.tfstate")).unwrap();
    let recovered = ok(d.path(), &["state", "list"]).lines().count();
    assert!(recovered > 0 && recovered < n, "{recovered}");
    assert!(ok(d.path(), &["state", "history"]).contains("apply (recovered)"));

    // Replaced by an unrelated state while the next apply ran: refused, journal kept.
    kill_apply_midway(d.path());
    let ours = std::fs::read(d.path().join("terraform.tfstate")).unwrap();
    let mut theirs = states::State::from_slice(&ours).unwrap();
    theirs.lineage = "someone-else".into();
    std::fs::write(d.path().join("terraform.tfstate"), theirs.to_vec()).unwrap();
    let (code, _, err) = run(d.path(), &["state", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("Error: Unrecovered apply journal"), "{err}");
    assert!(err.contains(".weir/journal/default."), "{err}");
    assert!(err.contains("weir state recover"), "{err}");
    assert!(!err.contains("Failed to load state"), "{err}");
    // Any command refuses the same way, and nothing changed.
    let (code, _, err) = run(d.path(), &["plan"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        std::fs::read(d.path().join("terraform.tfstate")).unwrap(),
        theirs.to_vec()
    );
    let shown = ok(d.path(), &["state", "recover"]);
    assert!(shown.contains("+ terraform_data.x["), "{shown}");
    let applied = ok(d.path(), &["state", "recover", "-apply"]);
    assert!(applied.contains("Applied them to the state"), "{applied}");
    let listed = ok(d.path(), &["state", "list"]).lines().count();
    assert!(listed > recovered, "{listed} <= {recovered}");
    assert!(ok(d.path(), &["state", "pull"]).contains("\"lineage\": \"someone-else\""));
}

#[derive(serde::Deserialize)]
struct NoConfig {
    steps: Vec<NoConfigStep>,
}

#[derive(serde::Deserialize)]
struct NoConfigStep {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
}

#[test]
fn no_configuration_refuses_to_plan_or_apply_as_terraform_does() {
    let recorded: NoConfig =
        serde_json::from_str(include_str!("../noconfig/terraform.json")).unwrap();
    for step in recorded.steps {
        let d = tempfile::tempdir().unwrap();
        let mut args: Vec<&str> = step.args.iter().map(|s| s.as_str()).collect();
        args.push("-no-color");
        let (code, out, err) = run(d.path(), &args);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (step.code, step.stdout.as_str(), step.stderr.as_str()),
            "weir {args:?}"
        );
    }
    // A wrong -chdir next to real state plans nothing, and changes nothing.
    let d = tempfile::tempdir().unwrap();
    write(d.path(), SIMPLE);
    ok(d.path(), &["apply", "-auto-approve"]);
    let before = std::fs::read(d.path().join("terraform.tfstate")).unwrap();
    std::fs::remove_file(d.path().join("main.tf")).unwrap();
    for verb in [&["plan"][..], &["apply", "-auto-approve"][..]] {
        let (code, _, err) = run(d.path(), verb);
        assert_eq!(code, 1);
        assert!(err.contains("Error: No configuration files"), "{err}");
    }
    assert_eq!(
        std::fs::read(d.path().join("terraform.tfstate")).unwrap(),
        before
    );
}
