//! Child-process side of the multi-process tests: the test binary runs itself with
//! `STATESTORE_CHILD` set, and this ignored test performs the requested role.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use statestore::{LockInfo, WriteMeta};

/// Starts this test binary as a child playing `role` on the working directory `dir`.
pub fn spawn(
    role: &str,
    dir: &Path,
) -> (
    Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child::child_entry",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STATESTORE_CHILD", format!("{role}:{}", dir.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// Reads child output until a line starting with `CHILD:` + `prefix`, returning the rest.
pub fn wait_for(
    lines: &mut std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    prefix: &str,
) -> String {
    for line in lines.by_ref() {
        let line = line.unwrap();
        // libtest may print "test child::child_entry ... " on the same line first.
        let tail = line.find("CHILD:").map(|i| &line[i + "CHILD:".len()..]);
        if let Some(rest) = tail.and_then(|l| l.strip_prefix(prefix)) {
            return rest.to_owned();
        }
    }
    panic!("child ended before printing {prefix}");
}

fn say(msg: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "CHILD:{msg}").unwrap();
    out.flush().unwrap();
}

#[test]
#[ignore = "run by the multi-process tests as a child process"]
fn child_entry() {
    let Ok(spec) = std::env::var("STATESTORE_CHILD") else {
        return;
    };
    let (role, dir) = spec.split_once(':').unwrap();
    let store = crate::open(Path::new(dir));
    match role {
        // Locks, records instances forever (announcing each durable one) until killed.
        "journal" => {
            crate::lock(&store, "default");
            let base = store
                .read_state("default")
                .unwrap()
                .unwrap_or_else(|| states::State::new("1.11.4"));
            let mut j = store
                .begin_apply("default", &base, &WriteMeta::new("apply"))
                .unwrap();
            for i in 0.. {
                j.record_instance(
                    &crate::addr(),
                    crate::PROVIDER,
                    &crate::key(i),
                    Some(&crate::object(i)),
                )
                .unwrap();
                say(&format!("recorded {i}"));
            }
        }
        // Holds the lock until stdin closes, then unlocks cleanly.
        "hold" => {
            let mut info = LockInfo::new("OperationTypeApply", "test", "weir-test");
            info.info = "held by child".into();
            store
                .lock(
                    "default",
                    &info,
                    std::time::Duration::ZERO,
                    &cancel::Cancel::new(),
                )
                .unwrap();
            say(&format!("locked {}", info.id));
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
            store.unlock("default", &info.id).unwrap();
            say("unlocked");
        }
        other => panic!("unknown child role {other}"),
    }
}
