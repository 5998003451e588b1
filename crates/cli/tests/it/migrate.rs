//! A working directory of weir before the state of record moved to `terraform.tfstate`: its
//! `.weir/state.db` (schema 1, written by that weir: `scripts/record_schema1_fixture.sh`) is
//! migrated on first use, and then Terraform reads the same state (live where installed).

use std::path::Path;

use crate::common::{ok, weir};

fn fixture() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/migrate/schema1"
    ))
}

#[test]
fn an_old_weir_directory_is_migrated_on_first_use() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(fixture().join("main.tf"), d.path().join("main.tf")).unwrap();
    std::fs::create_dir(d.path().join(".weir")).unwrap();
    std::fs::copy(fixture().join("state.db"), d.path().join(".weir/state.db")).unwrap();

    // The old store had `dev` selected: so does the directory now, and nothing is to change.
    let out = weir(d.path(), &["plan", "-detailed-exitcode", "-var", "v=dev"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join(".terraform/environment")).unwrap(),
        "dev"
    );
    assert_eq!(
        std::fs::read(d.path().join("terraform.tfstate")).unwrap(),
        std::fs::read(fixture().join("default.tfstate")).unwrap()
    );
    assert_eq!(
        std::fs::read(d.path().join("terraform.tfstate.d/dev/terraform.tfstate")).unwrap(),
        std::fs::read(fixture().join("dev.tfstate")).unwrap()
    );
    assert_eq!(
        ok(d.path(), &["workspace", "list"]),
        "  default\n* dev\n  empty\n\n"
    );
    ok(d.path(), &["workspace", "select", "default"]);
    let out = weir(d.path(), &["plan", "-detailed-exitcode", "-var", "v=two"]);
    assert_eq!(out.status.code(), Some(0));
    // The old versions are history.
    let hist = ok(d.path(), &["state", "history"]);
    assert_eq!(hist.lines().count(), 3, "{hist}");

    // Terraform takes over the same directory as it is.
    let Some(tf) = crate::common::which("terraform") else {
        eprintln!("skipped the Terraform half: terraform is not installed");
        return;
    };
    let terraform = |args: &[&str]| {
        std::process::Command::new(&tf)
            .args(args)
            .current_dir(d.path())
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_WORKSPACE")
            .output()
            .unwrap()
    };
    assert!(terraform(&["init", "-no-color"]).status.success());
    let out = terraform(&["plan", "-detailed-exitcode", "-no-color", "-var", "v=two"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(terraform(&["workspace", "select", "dev"]).status.success());
    let out = terraform(&["plan", "-detailed-exitcode", "-no-color", "-var", "v=dev"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
