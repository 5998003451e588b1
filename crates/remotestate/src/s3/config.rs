//! The s3 backend's configuration: Terraform 1.11's `PrepareConfig` checks (with its messages
//! and deprecation warnings) and the environment variables `Configure` falls back to.

use diagnostics::Severity;

use crate::config::{coerce, env_first, parse_go_bool, ConfigDiagnostic, ConfigError, Diags, Obj};
use crate::{Env, Map};

pub const DEFAULT_WORKSPACE_KEY_PREFIX: &str = "env:";

/// What the s3 backend needs once its configuration has been checked.
// No `Debug`: it holds credentials.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    pub key: String,
    pub region: String,
    pub workspace_key_prefix: String,
    pub encrypt: bool,
    pub kms_key_id: Option<String>,
    /// Base64 SSE-C key (from `sse_customer_key` or `AWS_SSE_CUSTOMER_KEY`).
    pub sse_customer_key: Option<String>,
    pub acl: Option<String>,
    pub dynamodb_table: Option<String>,
    pub use_lockfile: bool,
    pub skip_s3_checksum: bool,
    pub use_path_style: bool,
    pub s3_endpoint: Option<String>,
    pub dynamodb_endpoint: Option<String>,
    pub sts_endpoint: Option<String>,
    pub sts_region: Option<String>,
    pub use_fips_endpoint: bool,
    pub use_dualstack_endpoint: bool,
    pub skip_credentials_validation: bool,
    pub skip_requesting_account_id: bool,
    pub allowed_account_ids: Vec<String>,
    pub forbidden_account_ids: Vec<String>,
    pub max_retries: u32,
    pub insecure: bool,
    pub custom_ca_bundle: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub token: Option<String>,
    pub profile: Option<String>,
    pub shared_credentials_files: Option<Vec<String>>,
    pub shared_config_files: Option<Vec<String>>,
    pub env: Env,
}

fn attr_err(path: &[&str], summary: &str, detail: impl Into<String>) -> ConfigDiagnostic {
    ConfigDiagnostic::error(summary, detail).at(path)
}

fn deprecated(attr: &str, replacement: &str) -> ConfigDiagnostic {
    let path: Vec<&str> = attr.split('.').collect();
    ConfigDiagnostic::warning(
        "Deprecated Parameter",
        format!(r#"The parameter "{attr}" is deprecated. Use parameter "{replacement}" instead."#),
    )
    .at(&path)
}

fn not_empty(diags: &mut Diags, path: &[&str], v: &str) -> bool {
    if v.trim().is_empty() {
        diags.push(attr_err(
            path,
            "Invalid Value",
            "The value cannot be empty or all whitespace",
        ));
        return false;
    }
    true
}

fn s3_path(diags: &mut Diags, path: &[&str], v: &str) -> bool {
    if v.starts_with('/') || v.ends_with('/') {
        diags.push(attr_err(
            path,
            "Invalid Value",
            r#"The value must not start or end with "/""#,
        ));
        return false;
    }
    true
}

fn conflict(diags: &mut Diags, obj: &Obj, a: &str, b: &str) {
    if obj.is_set(a) && obj.is_set(b) {
        diags.push(ConfigDiagnostic::error(
            "Invalid Attribute Combination",
            format!("Only one of {a}, {b} can be set."),
        ));
    }
}

fn legacy_url(diags: &mut Diags, path: &[&str], v: &str) {
    let complete = v
        .split_once("://")
        .is_some_and(|(s, rest)| !s.is_empty() && !rest.is_empty());
    if !complete {
        diags.push(ConfigDiagnostic {
            severity: Severity::Warning,
            ..attr_err(
                path,
                "Complete URL Expected",
                format!(
                    "The value should be a valid URL containing at least a scheme and hostname. Had {v:?}.\n\n\
                     Using an incomplete URL, such as a hostname only, may work, but may have unexpected behavior."
                ),
            )
        });
    }
}

fn kms_key(diags: &mut Diags, v: &str) {
    let uuid = r"[a-f0-9]{8}-[a-f0-9]{4}-[1-5][a-f0-9]{3}-[ab89][a-f0-9]{3}-[a-f0-9]{12}";
    let mrk = r"mrk-[a-f0-9]{32}";
    let alias = r"alias/[a-zA-Z0-9/_-]+";
    if let Some(resource) = v.strip_prefix("arn:") {
        // arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE
        let parts: Vec<&str> = resource.splitn(5, ':').collect();
        let ok = parts.len() == 5 && {
            let re = regex::Regex::new(&format!("^(key/({uuid}|{mrk})|{alias})$"))
                .expect("static pattern");
            re.is_match(parts[4])
        };
        if !ok {
            diags.push(attr_err(
                &["kms_key_id"],
                "Invalid KMS Key ARN",
                format!("Value must be a valid KMS Key ARN, got {v:?}"),
            ));
        }
    } else {
        // Terraform's pattern is `^uuid|mrk|alias$`: anchored only at its two ends.
        let re = regex::Regex::new(&format!("^{uuid}|{mrk}|{alias}$")).expect("static pattern");
        if !re.is_match(v) {
            diags.push(attr_err(
                &["kms_key_id"],
                "Invalid KMS Key ID",
                format!("Value must be a valid KMS Key ID, got {v:?}"),
            ));
        }
    }
}

impl S3Config {
    pub fn from_map(
        map: &Map,
        env: &Env,
    ) -> Result<(S3Config, Vec<ConfigDiagnostic>), ConfigError> {
        let schema = crate::schema::schema("s3").expect("s3 schema");
        let obj = coerce(&schema, map)?;
        let mut d = Diags::default();

        let bucket = obj.str("bucket").unwrap_or_default();
        not_empty(&mut d, &["bucket"], &bucket);
        let key = obj.str("key").unwrap_or_default();
        if not_empty(&mut d, &["key"], &key)
            && s3_path(&mut d, &["key"], &key)
            && key.contains("//")
        {
            d.push(attr_err(
                &["key"],
                "Invalid Value",
                r#"Value must not contain "//""#,
            ));
        }

        let region = obj
            .str("region")
            .filter(|r| !r.is_empty())
            .or_else(|| env_first(env, &["AWS_REGION", "AWS_DEFAULT_REGION"]));
        if region.is_none() {
            d.push(attr_err(
                &["region"],
                "Missing region value",
                r#"The "region" attribute or the "AWS_REGION" or "AWS_DEFAULT_REGION" environment variables must be set."#,
            ));
        }

        conflict(&mut d, &obj, "kms_key_id", "sse_customer_key");
        if let Some(k) = obj.str("kms_key_id") {
            kms_key(&mut d, &k);
        }
        if let Some(p) = obj.str("workspace_key_prefix") {
            s3_path(&mut d, &["workspace_key_prefix"], &p);
        }
        for nested in ["assume_role", "assume_role_with_web_identity"] {
            if obj.is_set(nested) {
                d.push(attr_err(
                    &[nested],
                    "Unsupported argument",
                    format!("weir's s3 backend does not support {nested} yet: give credentials directly, through the environment or a shared credentials profile."),
                ));
            }
        }
        conflict(
            &mut d,
            &obj,
            "shared_credentials_file",
            "shared_credentials_files",
        );
        if obj.is_set("shared_credentials_file") {
            d.push(deprecated(
                "shared_credentials_file",
                "shared_credentials_files",
            ));
        }
        if obj.is_set("dynamodb_table") {
            d.push(deprecated("dynamodb_table", "use_lockfile"));
        }

        let endpoints = obj.nested("endpoints");
        let endpoint = |name: &str| endpoints.as_ref().and_then(|e| e.str(name));
        // Terraform walks these in map order; a fixed order keeps the output stable.
        for (legacy, new) in [
            ("dynamodb_endpoint", "dynamodb"),
            ("endpoint", "s3"),
            ("iam_endpoint", "iam"),
            ("sts_endpoint", "sts"),
        ] {
            if obj.is_set(legacy) {
                d.push(deprecated(legacy, &format!("endpoints.{new}")));
                if endpoint(new).is_some() {
                    d.push(ConfigDiagnostic::error(
                        "Conflicting Parameters",
                        format!(r#"The parameters "{legacy}" and "endpoints.{new}" cannot be configured together."#),
                    ));
                }
            }
        }
        if let Some(e) = &endpoints {
            if e.is_set("dynamodb") {
                d.push(
                    ConfigDiagnostic::warning(
                        "Deprecated attribute",
                        "The attribute \"dynamodb\" is deprecated. Refer to the provider documentation for details.",
                    )
                    .at(&["endpoints", "dynamodb"]),
                );
            }
            for name in ["dynamodb", "iam", "s3", "sts"] {
                if let Some(v) = e.str(name) {
                    legacy_url(&mut d, &["endpoints", name], &v);
                }
            }
        }
        for legacy in [
            "dynamodb_endpoint",
            "endpoint",
            "iam_endpoint",
            "sts_endpoint",
        ] {
            if let Some(v) = obj.str(legacy) {
                legacy_url(&mut d, &[legacy], &v);
            }
        }
        conflict(&mut d, &obj, "force_path_style", "use_path_style");
        if obj.is_set("force_path_style") {
            d.push(deprecated("force_path_style", "use_path_style"));
        }
        if let Some(m) = obj.str("retry_mode") {
            if m != "standard" && m != "adaptive" {
                d.push(attr_err(
                    &["retry_mode"],
                    "Invalid Value",
                    format!("unknown RetryMode, {m}"),
                ));
            }
        }
        if let Some(m) = obj.str("ec2_metadata_service_endpoint_mode") {
            if m != "IPv4" && m != "IPv6" {
                d.push(attr_err(
                    &["ec2_metadata_service_endpoint_mode"],
                    "Invalid Value",
                    "Value must be one of [IPv4, IPv6]",
                ));
            }
        }
        conflict(&mut d, &obj, "allowed_account_ids", "forbidden_account_ids");

        // What Configure checks before it talks to AWS.
        let region = region.unwrap_or_default();
        let skip_region_validation = obj.bool("skip_region_validation").unwrap_or(false);
        if !d.has_errors()
            && !region.is_empty()
            && !skip_region_validation
            && !crate::aws::REGIONS.contains(&region.as_str())
        {
            d.push(attr_err(
                &["region"],
                "Invalid region value",
                format!("Invalid AWS Region: {region}"),
            ));
        }
        let mut sse_customer_key = obj.str("sse_customer_key");
        if obj.is_set("kms_key_id") && env_first(env, &["AWS_SSE_CUSTOMER_KEY"]).is_some() {
            d.push(ConfigDiagnostic::error(
                "Invalid encryption configuration",
                "Only one of \"kms_key_id\" and the environment variable \"AWS_SSE_CUSTOMER_KEY\" can be set.\n\n\
                 The \"kms_key_id\" is used for encryption with KMS-Managed Keys (SSE-KMS)\n\
                 while \"AWS_SSE_CUSTOMER_KEY\" is used for encryption with customer-managed keys (SSE-C).\n\
                 Please choose one or the other.",
            ));
        }
        if let Some(k) = &sse_customer_key {
            check_customer_key(&mut d, k, true);
        } else if let Some(k) = env_first(env, &["AWS_SSE_CUSTOMER_KEY"]) {
            check_customer_key(&mut d, &k, false);
            sse_customer_key = Some(k);
        }
        for (old, new) in [
            ("AWS_DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB"),
            ("AWS_IAM_ENDPOINT", "AWS_ENDPOINT_URL_IAM"),
            ("AWS_METADATA_URL", "AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            ("AWS_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3"),
            ("AWS_STS_ENDPOINT", "AWS_ENDPOINT_URL_STS"),
        ] {
            if env_first(env, &[old]).is_some() {
                d.push(ConfigDiagnostic::warning(
                    "Deprecated Environment Variable",
                    format!(r#"The environment variable "{old}" is deprecated. Use environment variable "{new}" instead."#),
                ));
            }
        }
        let max_retries = match obj.int("max_retries") {
            Some(Ok(n)) if n >= 0 => n as u32,
            Some(_) => {
                d.push(attr_err(
                    &["max_retries"],
                    "Invalid Value",
                    "max_retries must be a whole number of at least 0",
                ));
                0
            }
            None => 5,
        };
        let env_bool =
            |name: &str| env_first(env, &[name]).map(|v| parse_go_bool(&v).unwrap_or(true));

        let cfg = S3Config {
            bucket,
            key,
            region,
            workspace_key_prefix: obj
                .str("workspace_key_prefix")
                .unwrap_or_else(|| DEFAULT_WORKSPACE_KEY_PREFIX.to_owned()),
            encrypt: obj.bool("encrypt").unwrap_or(false),
            kms_key_id: obj.str("kms_key_id"),
            sse_customer_key,
            acl: obj.str("acl").filter(|a| !a.is_empty()),
            dynamodb_table: obj.str("dynamodb_table").filter(|t| !t.is_empty()),
            use_lockfile: obj.bool("use_lockfile").unwrap_or(false),
            skip_s3_checksum: obj.bool("skip_s3_checksum").unwrap_or(false),
            use_path_style: obj
                .bool("use_path_style")
                .or(obj.bool("force_path_style"))
                .unwrap_or(false),
            s3_endpoint: endpoint("s3")
                .or(obj.str("endpoint"))
                .or_else(|| env_first(env, &["AWS_ENDPOINT_URL_S3", "AWS_S3_ENDPOINT"])),
            dynamodb_endpoint: endpoint("dynamodb")
                .or(obj.str("dynamodb_endpoint"))
                .or_else(|| {
                    env_first(env, &["AWS_ENDPOINT_URL_DYNAMODB", "AWS_DYNAMODB_ENDPOINT"])
                }),
            sts_endpoint: endpoint("sts")
                .or(obj.str("sts_endpoint"))
                .or_else(|| env_first(env, &["AWS_ENDPOINT_URL_STS", "AWS_STS_ENDPOINT"])),
            sts_region: obj.str("sts_region"),
            use_fips_endpoint: obj
                .bool("use_fips_endpoint")
                .or_else(|| env_bool("AWS_USE_FIPS_ENDPOINT"))
                .unwrap_or(false),
            use_dualstack_endpoint: obj
                .bool("use_dualstack_endpoint")
                .or_else(|| env_bool("AWS_USE_DUALSTACK_ENDPOINT"))
                .unwrap_or(false),
            skip_credentials_validation: obj.bool("skip_credentials_validation").unwrap_or(false),
            skip_requesting_account_id: obj.bool("skip_requesting_account_id").unwrap_or(false),
            allowed_account_ids: obj.strings("allowed_account_ids").unwrap_or_default(),
            forbidden_account_ids: obj.strings("forbidden_account_ids").unwrap_or_default(),
            max_retries,
            insecure: obj.bool("insecure").unwrap_or(false),
            custom_ca_bundle: obj
                .str("custom_ca_bundle")
                .or_else(|| env_first(env, &["AWS_CA_BUNDLE"])),
            access_key: obj.str("access_key"),
            secret_key: obj.str("secret_key"),
            token: obj.str("token"),
            profile: obj.str("profile"),
            shared_credentials_files: obj
                .strings("shared_credentials_files")
                .or_else(|| obj.str("shared_credentials_file").map(|f| vec![f])),
            shared_config_files: obj.strings("shared_config_files"),
            env: env.clone(),
        };
        d.finish(cfg)
    }
}

fn check_customer_key(d: &mut Diags, key: &str, from_config: bool) {
    use base64::Engine;
    let (summary, what, path): (&str, String, &[&str]) = if from_config {
        (
            "Invalid sse_customer_key value",
            "sse_customer_key".to_owned(),
            &["sse_customer_key"],
        )
    } else {
        (
            "Invalid AWS_SSE_CUSTOMER_KEY value",
            r#"The environment variable "AWS_SSE_CUSTOMER_KEY""#.to_owned(),
            &[],
        )
    };
    if key.len() != 44 {
        d.push(attr_err(
            path,
            summary,
            format!("{what} must be 44 characters in length"),
        ));
    } else if let Err(e) = base64::engine::general_purpose::STANDARD.decode(key) {
        d.push(attr_err(
            path,
            summary,
            format!("{what} must be base64 encoded: {e}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use value::Value;

    fn map(pairs: &[(&str, Value)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    #[test]
    fn defaults_and_region_from_environment() {
        let env = Env::from([("AWS_DEFAULT_REGION".to_owned(), "eu-west-1".to_owned())]);
        let (c, w) =
            S3Config::from_map(&map(&[("bucket", s("b")), ("key", s("k"))]), &env).unwrap();
        assert!(w.is_empty());
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.workspace_key_prefix, "env:");
        assert_eq!(c.max_retries, 5);
        assert!(!c.use_lockfile && c.dynamodb_table.is_none());
    }

    #[test]
    fn terraform_messages_for_bad_values() {
        let env = Env::new();
        let ConfigError::Invalid(d) = S3Config::from_map(
            &map(&[
                ("bucket", s("b")),
                ("key", s("/k/")),
                ("region", s("nowhere-1")),
            ]),
            &env,
        )
        .err()
        .unwrap() else {
            panic!()
        };
        assert_eq!(d[0].summary, "Invalid Value");
        assert_eq!(d[0].detail, r#"The value must not start or end with "/""#);
        assert_eq!(d[0].attribute, vec!["key"]);

        let ConfigError::Invalid(d) = S3Config::from_map(
            &map(&[
                ("bucket", s("b")),
                ("key", s("k")),
                ("region", s("nowhere-1")),
            ]),
            &env,
        )
        .err()
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            (d[0].summary.as_str(), d[0].detail.as_str()),
            ("Invalid region value", "Invalid AWS Region: nowhere-1")
        );

        let ConfigError::Invalid(d) =
            S3Config::from_map(&map(&[("bucket", s("b")), ("key", s("k"))]), &env)
                .err()
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(d[0].summary, "Missing region value");

        let err = S3Config::from_map(&map(&[("key", s("k"))]), &env)
            .err()
            .unwrap();
        assert_eq!(err.to_string(), r#"attribute "bucket" is required"#);
        let err = S3Config::from_map(
            &map(&[("bucket", s("b")), ("key", s("k")), ("buckets", s("x"))]),
            &env,
        )
        .err()
        .unwrap();
        assert_eq!(err.to_string(), r#"unexpected attribute "buckets""#);
    }

    #[test]
    fn deprecated_forms_warn_and_still_work() {
        let env = Env::new();
        let (c, w) = S3Config::from_map(
            &map(&[
                ("bucket", s("b")),
                ("key", s("k")),
                ("region", s("us-east-1")),
                ("endpoint", s("http://127.0.0.1:9")),
                ("dynamodb_endpoint", s("http://127.0.0.1:8")),
                ("dynamodb_table", s("locks")),
                ("force_path_style", Value::bool(true)),
            ]),
            &env,
        )
        .unwrap();
        assert_eq!(c.s3_endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(c.dynamodb_endpoint.as_deref(), Some("http://127.0.0.1:8"));
        assert!(c.use_path_style);
        let details: Vec<&str> = w.iter().map(|d| d.detail.as_str()).collect();
        assert!(details.contains(
            &r#"The parameter "dynamodb_table" is deprecated. Use parameter "use_lockfile" instead."#
        ));
        assert!(details.contains(
            &r#"The parameter "endpoint" is deprecated. Use parameter "endpoints.s3" instead."#
        ));
        assert!(details.contains(
            &r#"The parameter "force_path_style" is deprecated. Use parameter "use_path_style" instead."#
        ));

        let err = S3Config::from_map(
            &map(&[
                ("bucket", s("b")),
                ("key", s("k")),
                ("region", s("us-east-1")),
                ("endpoint", s("http://a")),
                (
                    "endpoints",
                    Value::object([("s3".to_owned(), s("http://b"))]),
                ),
            ]),
            &env,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains(
            r#"Conflicting Parameters: The parameters "endpoint" and "endpoints.s3" cannot be configured together."#
        ), "{err}");
    }
}
