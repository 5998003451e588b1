//! Each backend's configuration schema as Terraform 1.11 declares it (argument names, types,
//! required, nested attributes), so `init` can validate a `backend` block and record it.

use value::Type;

/// One argument of a backend block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrSchema {
    pub name: &'static str,
    /// For a nested attribute (s3's `endpoints`, `assume_role`): the object of its attributes.
    pub ty: Type,
    pub required: bool,
    /// weir never prints it (keys, tokens, passwords, connection strings). Terraform itself
    /// only marks s3's `sse_customer_key`, but writes all of them to `.terraform/terraform.tfstate`.
    pub sensitive: bool,
    /// Terraform warns "Deprecated Parameter" when it is set.
    pub deprecated: bool,
    /// The attributes of a single nested attribute.
    pub nested: Option<Vec<AttrSchema>>,
}

/// The arguments of one backend type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendSchema {
    pub attributes: Vec<AttrSchema>,
}

impl BackendSchema {
    pub fn get(&self, name: &str) -> Option<&AttrSchema> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The object type a configuration decodes to (every attribute, nested ones as objects).
    pub fn implied_type(&self) -> Type {
        object_type(&self.attributes)
    }
}

fn object_type(attrs: &[AttrSchema]) -> Type {
    Type::object(attrs.iter().map(|a| (a.name.to_owned(), a.ty.clone())))
}

#[derive(Clone, Copy)]
enum F {
    Opt,
    Req,
    Secret,
    Deprecated,
}

fn a(name: &'static str, ty: Type, f: F) -> AttrSchema {
    AttrSchema {
        name,
        ty,
        required: matches!(f, F::Req),
        sensitive: matches!(f, F::Secret),
        deprecated: matches!(f, F::Deprecated),
        nested: None,
    }
}

fn nested(name: &'static str, attrs: Vec<AttrSchema>) -> AttrSchema {
    AttrSchema {
        name,
        ty: object_type(&attrs),
        required: false,
        sensitive: false,
        deprecated: false,
        nested: Some(attrs),
    }
}

fn sorted(mut attributes: Vec<AttrSchema>) -> BackendSchema {
    attributes.sort_by_key(|a| a.name);
    BackendSchema { attributes }
}

/// The schema of backend `kind` (`s3`, `pg`, `http`), `None` for a type this crate lacks.
pub fn schema(kind: &str) -> Option<BackendSchema> {
    match kind {
        "s3" => Some(s3()),
        "pg" => Some(pg()),
        "http" => Some(http()),
        _ => None,
    }
}

fn s3() -> BackendSchema {
    use Type::{Bool, Number, String as S};
    let set = || Type::set(Type::String);
    let assume_role = vec![
        a("role_arn", S, F::Req),
        a("duration", S, F::Opt),
        a("external_id", S, F::Opt),
        a("policy", S, F::Opt),
        a("policy_arns", set(), F::Opt),
        a("session_name", S, F::Opt),
        a("source_identity", S, F::Opt),
        a("tags", Type::map(Type::String), F::Opt),
        a("transitive_tag_keys", set(), F::Opt),
    ];
    let web_identity = vec![
        a("role_arn", S, F::Req),
        a("duration", S, F::Opt),
        a("policy", S, F::Opt),
        a("policy_arns", set(), F::Opt),
        a("session_name", S, F::Opt),
        a("web_identity_token", S, F::Secret),
        a("web_identity_token_file", S, F::Opt),
    ];
    let endpoints = vec![
        a("dynamodb", S, F::Deprecated),
        a("iam", S, F::Opt),
        a("s3", S, F::Opt),
        a("sso", S, F::Opt),
        a("sts", S, F::Opt),
    ];
    sorted(vec![
        a("bucket", S, F::Req),
        a("key", S, F::Req),
        a("region", S, F::Opt),
        a("allowed_account_ids", set(), F::Opt),
        a("dynamodb_endpoint", S, F::Deprecated),
        a("ec2_metadata_service_endpoint", S, F::Opt),
        a("ec2_metadata_service_endpoint_mode", S, F::Opt),
        a("endpoint", S, F::Deprecated),
        nested("endpoints", endpoints),
        a("forbidden_account_ids", set(), F::Opt),
        a("iam_endpoint", S, F::Deprecated),
        a("sts_endpoint", S, F::Deprecated),
        a("sts_region", S, F::Opt),
        a("encrypt", Bool, F::Opt),
        a("acl", S, F::Opt),
        a("access_key", S, F::Opt),
        a("secret_key", S, F::Secret),
        a("kms_key_id", S, F::Opt),
        a("dynamodb_table", S, F::Deprecated),
        a("use_lockfile", Bool, F::Opt),
        a("profile", S, F::Opt),
        a("retry_mode", S, F::Opt),
        a("shared_config_files", set(), F::Opt),
        a("shared_credentials_file", S, F::Deprecated),
        a("shared_credentials_files", set(), F::Opt),
        a("token", S, F::Secret),
        a("skip_credentials_validation", Bool, F::Opt),
        a("skip_requesting_account_id", Bool, F::Opt),
        a("skip_metadata_api_check", Bool, F::Opt),
        a("skip_region_validation", Bool, F::Opt),
        a("skip_s3_checksum", Bool, F::Opt),
        a("sse_customer_key", S, F::Secret),
        a("workspace_key_prefix", S, F::Opt),
        a("force_path_style", Bool, F::Deprecated),
        a("use_path_style", Bool, F::Opt),
        a("max_retries", Number, F::Opt),
        nested("assume_role", assume_role),
        nested("assume_role_with_web_identity", web_identity),
        a("custom_ca_bundle", S, F::Opt),
        a("http_proxy", S, F::Opt),
        a("https_proxy", S, F::Opt),
        a("no_proxy", S, F::Opt),
        a("insecure", Bool, F::Opt),
        a("use_fips_endpoint", Bool, F::Opt),
        a("use_dualstack_endpoint", Bool, F::Opt),
    ])
}

fn pg() -> BackendSchema {
    sorted(vec![
        a("conn_str", Type::String, F::Secret),
        a("schema_name", Type::String, F::Opt),
        a("skip_schema_creation", Type::Bool, F::Opt),
        a("skip_table_creation", Type::Bool, F::Opt),
        a("skip_index_creation", Type::Bool, F::Opt),
    ])
}

fn http() -> BackendSchema {
    use Type::{Bool, Number, String as S};
    sorted(vec![
        a("address", S, F::Opt),
        a("update_method", S, F::Opt),
        a("lock_address", S, F::Opt),
        a("unlock_address", S, F::Opt),
        a("lock_method", S, F::Opt),
        a("unlock_method", S, F::Opt),
        a("username", S, F::Opt),
        a("password", S, F::Secret),
        a("skip_cert_verification", Bool, F::Opt),
        a("retry_max", Number, F::Opt),
        a("retry_wait_min", Number, F::Opt),
        a("retry_wait_max", Number, F::Opt),
        a("client_ca_certificate_pem", S, F::Opt),
        a("client_certificate_pem", S, F::Opt),
        a("client_private_key_pem", S, F::Secret),
    ])
}
