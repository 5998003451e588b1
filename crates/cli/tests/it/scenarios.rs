//! Engine scenarios (`tests/scenarios/<name>/stepN`) run through weir and compared with what
//! Terraform 1.11.4 answered for the same steps (recorded by `scripts/record_scenarios.py`):
//! the saved plan's `show -json`, the outputs and the resulting state.

use std::path::{Path, PathBuf};

use crate::common::{assert_json_eq, copy_dir, json, ok, replace_uuids, weir};

const CONTROL: &[&str] = &["ARGS", "MODE", "EXPECT"];

fn scenario_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

fn load_step(src: &Path, work: &Path) {
    for e in std::fs::read_dir(work).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_string_lossy().to_string();
        if n.ends_with(".tf") {
            std::fs::remove_file(e.path()).unwrap();
        } else if e.file_type().unwrap().is_dir() && !n.starts_with('.') {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_string_lossy().to_string();
        if CONTROL.contains(&n.as_str()) {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &work.join(&n));
        } else {
            std::fs::copy(e.path(), work.join(&n)).unwrap();
        }
    }
}

/// Plan text with run-specific values (UUIDs, deposed object keys) replaced.
fn normalize_text(s: &str) -> String {
    let s = replace_uuids(s);
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("(deposed object ") {
        let (head, tail) = rest.split_at(i + "(deposed object ".len());
        out.push_str(head);
        out.push_str("<key>");
        rest = tail.get(8..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn check(name: &str) {
    let sdir = scenario_dir(name);
    let gold = sdir.join("golden");
    let mut steps: Vec<String> = std::fs::read_dir(&sdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("step"))
        .collect();
    steps.sort();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for (i, step) in steps.iter().enumerate() {
        let src = sdir.join(step);
        load_step(&src, w);
        let mut args: Vec<String> = read(&src.join("ARGS"))
            .split_whitespace()
            .map(String::from)
            .collect();
        if read(&src.join("MODE")) == "destroy" {
            args.push("-destroy".into());
        }
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        if i + 1 < steps.len() {
            let mut a = vec!["apply", "-auto-approve", "-input=false"];
            a.extend(&args);
            if read(&src.join("EXPECT")) == "apply-error" {
                // An apply that stops part-way: the same diagnostics as Terraform's.
                let out = weir(w, &a);
                assert_eq!(
                    out.status.code(),
                    Some(1),
                    "{name}: the {step} apply must fail"
                );
                let got = String::from_utf8_lossy(&out.stderr);
                let want = std::fs::read_to_string(gold.join("apply-error.txt")).unwrap();
                assert_eq!(
                    got, want,
                    "{name}: {step} apply diagnostics differ from Terraform's"
                );
            } else {
                ok(w, &a);
            }
            continue;
        }
        let mut a = vec!["plan", "-input=false", "-out=plan.bin"];
        a.extend(&args);
        if read(&src.join("EXPECT")) == "error" {
            let out = weir(w, &a);
            assert_eq!(out.status.code(), Some(1), "{name}: the plan must fail");
            let got = String::from_utf8_lossy(&out.stderr);
            let want = std::fs::read_to_string(gold.join("error.txt")).unwrap();
            assert_eq!(got, want, "{name}: diagnostics differ from Terraform's");
            return;
        }
        ok(w, &a);
        let mut plan = json(&ok(w, &["show", "-json", "plan.bin"]));
        let mut want = json(&std::fs::read_to_string(gold.join("plan.json")).unwrap());
        // The order of relevant_attributes carries no meaning (Terraform's own order follows
        // its module-instance key types), so both sides are compared sorted.
        for doc in [&mut plan, &mut want] {
            if let Some(a) = doc
                .get_mut("relevant_attributes")
                .and_then(|a| a.as_array_mut())
            {
                a.sort_by_key(|e| (e["resource"].to_string(), e["attribute"].to_string()));
            }
        }
        assert_json_eq(&format!("{name}: plan"), &plan, &want);
        let text = ok(w, &["show", "-no-color", "plan.bin"]);
        let want = std::fs::read_to_string(gold.join("plan.txt")).unwrap();
        let (got, want) = (normalize_text(&text), normalize_text(&want));
        if got != want {
            let (g, t): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
            let diffs: Vec<String> = (0..g.len().max(t.len()))
                .filter(|&i| g.get(i) != t.get(i))
                .take(12)
                .map(|i| {
                    format!(
                        "line {}:\n  weir:      {:?}\n  terraform: {:?}",
                        i + 1,
                        g.get(i),
                        t.get(i)
                    )
                })
                .collect();
            panic!(
                "{name}: the plan as `show` prints it differs from Terraform's:\n{}\n--- weir\n{got}",
                diffs.join("\n")
            );
        }
        ok(w, &["apply", "plan.bin"]);
        let outputs = json(&ok(w, &["output", "-json"]));
        let want = json(&std::fs::read_to_string(gold.join("outputs.json")).unwrap());
        assert_json_eq(&format!("{name}: outputs"), &outputs, &want);
        let state = json(&ok(w, &["show", "-json"]));
        let want = json(&std::fs::read_to_string(gold.join("state.json")).unwrap());
        assert_json_eq(&format!("{name}: state"), &state, &want);
    }
}

macro_rules! scenarios {
    ($($f:ident => $n:literal),* $(,)?) => {
        $(
            #[test]
            fn $f() {
                check($n);
            }
        )*
    };
}

scenarios! {
    create => "create",
    update => "update",
    replace => "replace",
    create_before_destroy => "cbd",
    create_before_destroy_interrupted => "cbd-interrupted",
    destroy => "destroy",
    destroy_modules => "destroy-modules",
    destroy_modules_partial_state => "destroy-modules-partial",
    destroy_modules_partial_instance => "destroy-modules-partial-instance",
    count_to_for_each => "count-to-foreach",
    count_shrink => "count-shrink",
    modules => "modules",
    moved => "moved",
    removed => "removed",
    import_block => "import",
    target => "target",
    sensitive => "sensitive",
    precondition => "precondition",
    prevent_destroy => "prevent-destroy",
    unknown_lengths => "unknown-lengths",
    self_reference => "self-reference",
    provider_meta_unsupported => "provider-meta-unsupported",
    null_outputs_and_unknown_values => "null-and-unknown",
}
