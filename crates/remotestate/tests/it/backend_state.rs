//! `.terraform/terraform.tfstate` as `terraform init` writes it, against goldens recorded by
//! `scripts/record_backend_state.sh` from the blocks in `tests/golden/*_backend.tf` (the
//! interop tests re-check it live against Terraform's own file).

use value::Value;

use crate::common::*;

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn s3_backend_state_file_matches_terraform() {
    let url = "http://127.0.0.1:45123";
    // tests/golden/s3_backend.tf
    let cfg = map(&[
        ("bucket", s("tfbucket")),
        ("key", s("path/to/state.tfstate")),
        ("region", s("us-east-1")),
        (
            "endpoints",
            Value::object([
                ("s3".to_owned(), s(url)),
                ("dynamodb".to_owned(), s(url)),
                ("sts".to_owned(), s(url)),
            ]),
        ),
        ("use_path_style", Value::bool(true)),
        ("access_key", s("test")),
        ("secret_key", s("test")),
        ("skip_credentials_validation", Value::bool(true)),
        ("skip_requesting_account_id", Value::bool(true)),
        ("skip_metadata_api_check", Value::bool(true)),
        ("dynamodb_table", s("locks")),
        ("use_lockfile", Value::bool(true)),
    ]);
    let got = remotestate::backend_state::file_contents("s3", &cfg, "1.11.4").unwrap();
    assert_eq!(got, golden("s3_backend_state.json"));
    // Another configuration hashes differently.
    let mut other = cfg.clone();
    other.insert("key".into(), s("other.tfstate"));
    assert_ne!(
        remotestate::backend_state::config_hash("s3", &other).unwrap(),
        remotestate::backend_state::config_hash("s3", &cfg).unwrap()
    );
}

#[test]
fn http_backend_state_file_matches_terraform() {
    // tests/golden/http_backend.tf
    let cfg = map(&[
        ("address", s("http://127.0.0.1:45124/state")),
        ("lock_address", s("http://127.0.0.1:45124/lock")),
        ("unlock_address", s("http://127.0.0.1:45124/lock")),
        ("username", s("user")),
        ("password", s("pa55")),
        ("retry_max", Value::number(5i64)),
    ]);
    let got = remotestate::backend_state::file_contents("http", &cfg, "1.11.4").unwrap();
    assert_eq!(got, golden("http_backend_state.json"));
}
