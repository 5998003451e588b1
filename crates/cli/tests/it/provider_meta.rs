//! `provider_meta` blocks checked against the provider's metadata schema, as Terraform checks
//! them while planning each resource instance: the AWS provider declares an empty one, so any
//! argument is unsupported (compared with Terraform's diagnostics recorded in
//! `tests/aws/provider_meta.golden`, and live where installed). The built-in provider, which
//! declares none, is in the scenario corpus (`provider-meta-unsupported`); arguments that are
//! not constants in the validate corpus (`provider-meta-not-constant`).

use std::path::Path;

use crate::aws::aws_provider;
use crate::common::which;
use crate::selfref::aws_plan;

const CONFIG: &str = r#"terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
  provider_meta "aws" {
    module_name = "weir"
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

resource "aws_s3_bucket" "b" {
  bucket = "weir-provider-meta"
}
"#;

/// `WEIR_RECORD_PROVIDER_META=1` re-records the golden from the installed Terraform.
#[test]
fn provider_meta_arguments_are_checked_against_the_provider_schema() {
    let Some(provider) = aws_provider() else {
        eprintln!("SKIPPED: the AWS provider 5.100.0 is not installed (looked in /opt/tf-plugins and $WEIR_TEST_AWS_PROVIDER)");
        return;
    };
    let mirror = provider.ancestors().nth(6).unwrap().to_path_buf();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws/provider_meta.golden");
    if std::env::var_os("WEIR_RECORD_PROVIDER_META").is_some() {
        let tf = which("terraform").expect("terraform to record with");
        let (code, err) = aws_plan(&tf, &mirror, CONFIG);
        assert_eq!(code, Some(1), "{err}");
        std::fs::write(&golden, err).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    let (code, got) = aws_plan(Path::new(env!("CARGO_BIN_EXE_weir")), &mirror, CONFIG);
    assert_eq!(code, Some(1), "the plan must fail:\n{got}");
    assert_eq!(got, want, "diagnostics differ from Terraform's");
    if let Some(tf) = which("terraform") {
        let (code, live) = aws_plan(&tf, &mirror, CONFIG);
        assert_eq!(
            (code, live),
            (Some(1), want),
            "golden against live terraform"
        );
    }
}
