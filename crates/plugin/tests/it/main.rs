//! Integration tests against the real AWS provider plugin (5.100.0, protocol 5) and a moto
//! server on 127.0.0.1. Each test skips, saying why, when the plugin or moto is not installed.

mod v6;

use plugin::{complete_object, PluginOptions, PluginProvider, SchemaCache, SchemaSource};
use providers::{
    has_errors, ApplyResourceChangeRequest, PlanResourceChangeRequest, Provider, ProviderError,
    ReadDataSourceRequest, ReadResourceRequest, UpgradeResourceStateRequest,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use value::{PathStep, Type, Value};

const AWS_KNOWN_PATH: &str = "/opt/tf-plugins/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5";

/// Finds the AWS provider binary: `$WEIR_TEST_AWS_PROVIDER`, the development machines' mirror,
/// or any `terraform-provider-aws*` under a `linux_amd64` directory of the usual plugin roots.
fn aws_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WEIR_TEST_AWS_PROVIDER") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    if Path::new(AWS_KNOWN_PATH).is_file() {
        return Some(AWS_KNOWN_PATH.into());
    }
    let mut roots = vec![PathBuf::from("/opt/tf-plugins")];
    if let Some(h) = std::env::var_os("HOME") {
        roots.push(PathBuf::from(&h).join(".terraform.d/plugins"));
        roots.push(PathBuf::from(&h).join(".local/share/terraform/plugins"));
    }
    roots.iter().find_map(|r| search(r, 8))
}

fn search(dir: &Path, depth: usize) -> Option<PathBuf> {
    if depth == 0 {
        return None;
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            if let Some(found) = search(&p, depth - 1) {
                return Some(found);
            }
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("terraform-provider-aws"))
            && p.to_string_lossy().contains("linux_amd64")
        {
            return Some(p);
        }
    }
    None
}

macro_rules! require_aws {
    () => {
        match aws_binary() {
            Some(b) => b,
            None => {
                eprintln!(
                    "SKIPPED: terraform-provider-aws not found (set WEIR_TEST_AWS_PROVIDER or install it under /opt/tf-plugins)"
                );
                return;
            }
        }
    };
}

fn options(binary: &Path, cache_dir: &Path) -> PluginOptions {
    let mut o = PluginOptions::new(binary);
    o.name = "registry.terraform.io/hashicorp/aws".into();
    o.schema_cache = Some(SchemaCache::new(cache_dir));
    o
}

/// A moto server on a free port of 127.0.0.1, killed on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Option<Moto> {
        let exe = which("moto_server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new(exe)
            .args(["-p", &port.to_string(), "-H", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(moto);
            }
            if let Ok(Some(_)) = moto.child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

fn s(v: &str) -> Value {
    Value::string(v)
}

/// The provider configuration pointing the AWS provider at moto.
fn aws_config(p: &PluginProvider, moto_url: &str) -> Value {
    let schema = p.schema();
    let endpoints = &schema.provider.block_types["endpoints"];
    let ep = complete_object(
        &endpoints.block,
        [
            ("s3".to_string(), s(moto_url)),
            ("sts".to_string(), s(moto_url)),
            ("iam".to_string(), s(moto_url)),
        ],
    );
    complete_object(
        &schema.provider,
        [
            ("region".to_string(), s("us-east-1")),
            ("access_key".to_string(), s("test")),
            ("secret_key".to_string(), s("test")),
            ("skip_credentials_validation".to_string(), Value::bool(true)),
            ("skip_requesting_account_id".to_string(), Value::bool(true)),
            ("skip_metadata_api_check".to_string(), s("true")),
            ("s3_use_path_style".to_string(), Value::bool(true)),
            (
                "endpoints".to_string(),
                Value::Set(endpoints.block.implied_type(), vec![ep]),
            ),
        ],
    )
}

fn attr<'a>(v: &'a Value, name: &str) -> &'a Value {
    match v.unmarked() {
        Value::Object(m) => &m[name],
        other => panic!("not an object: {other:?}"),
    }
}

fn assert_no_errors(what: &str, diags: &providers::Diags) {
    assert!(
        !has_errors(diags),
        "{what} failed: {}",
        plugin::provider::diags_to_string(diags)
    );
}

#[test]
fn handshake_schema_and_cache() {
    let bin = require_aws!();
    let cache = tempfile::tempdir().unwrap();

    let t0 = Instant::now();
    let p = PluginProvider::start(options(&bin, cache.path())).unwrap();
    let cold_total = t0.elapsed();
    assert_eq!(p.protocol_version(), 5);
    let cold = p.schema_load();
    assert_eq!(cold.source, SchemaSource::Plugin);
    let (schema, diags) = p.get_schema().unwrap();
    assert_no_errors("GetSchema", &diags);
    let bucket = &schema.resource_types["aws_s3_bucket"];
    let b = &bucket.block.attributes["bucket"];
    assert_eq!(b.ty, Type::String);
    assert!(b.optional && b.computed);
    assert!(bucket.block.attributes["arn"].computed);
    assert!(schema.data_sources.contains_key("aws_caller_identity"));
    assert!(schema.provider.attributes["secret_key"].optional);
    assert!(schema.provider.block_types.contains_key("endpoints"));
    assert!(schema.functions.contains_key("arn_parse"));
    let n_resources = schema.resource_types.len();
    eprintln!(
        "aws schema: {n_resources} resource types, {} data sources, {} functions",
        schema.data_sources.len(),
        schema.functions.len()
    );
    assert!(n_resources > 1000, "{n_resources} resource types");
    drop(p);

    let t1 = Instant::now();
    let p2 = PluginProvider::start(options(&bin, cache.path())).unwrap();
    let warm_total = t1.elapsed();
    let warm = p2.schema_load();
    eprintln!(
        "schema: cold GetSchema {:?} (start total {:?}); second start from {:?} in {:?} (start total {:?}); optional={}",
        cold.elapsed,
        cold_total,
        warm.source,
        warm.elapsed,
        warm_total,
        p2.capabilities().get_provider_schema_optional
    );
    if p2.capabilities().get_provider_schema_optional {
        assert_eq!(warm.source, SchemaSource::Cache);
    }
    assert_eq!(p2.schema().resource_types.len(), n_resources);
    assert_eq!(
        p2.schema().resource_types["aws_s3_bucket"]
            .block
            .implied_type(),
        bucket.block.implied_type()
    );
    // Where the warm load's time goes: reading the entry, protobuf decoding, conversion.
    let c = SchemaCache::new(cache.path());
    let t = Instant::now();
    let key = c.binary_key(&bin).unwrap();
    let t_key = t.elapsed();
    let t = Instant::now();
    let entry = c.load(&key).unwrap();
    let t_read = t.elapsed();
    let t = Instant::now();
    let decoded = plugin::convert::decode_schema(5, &entry.response).unwrap();
    let t_decode = t.elapsed();
    let t = Instant::now();
    decoded.schema.resource_types.check_all().unwrap();
    decoded.schema.data_sources.check_all().unwrap();
    let t_convert = t.elapsed();
    eprintln!(
        "warm breakdown: key {t_key:?}, read {} bytes {t_read:?}, decode {t_decode:?}, converting every type (done lazily, per type used) {t_convert:?}",
        entry.response.len()
    );
    assert_eq!(decoded.schema.resource_types.len(), n_resources);
    // The cached provider still answers calls.
    let cfg = complete_object(&p2.schema().provider, []);
    let diags = p2.validate_provider_config(&cfg).unwrap();
    assert_no_errors("ValidateProviderConfig", &diags);
}

#[test]
fn validate_reports_attribute_paths() {
    let bin = require_aws!();
    let cache = tempfile::tempdir().unwrap();
    let p = PluginProvider::start(options(&bin, cache.path())).unwrap();
    let schema = p.schema();

    let cfg = complete_object(&schema.provider, [("region".to_string(), s("us-east-1"))]);
    assert_no_errors(
        "ValidateProviderConfig",
        &p.validate_provider_config(&cfg).unwrap(),
    );

    // An invalid value is reported against its attribute (8 is not a retention CloudWatch
    // accepts).
    let bad_log_group = complete_object(
        &schema.resource_types["aws_cloudwatch_log_group"].block,
        [("retention_in_days".to_string(), Value::from(8_i64))],
    );
    let diags = p
        .validate_resource_config("aws_cloudwatch_log_group", &bad_log_group)
        .unwrap();
    assert!(has_errors(&diags), "no error for retention 8");
    let paths: Vec<_> = diags.iter().filter_map(|d| d.attribute.clone()).collect();
    assert!(
        paths.contains(&vec![PathStep::Attr("retention_in_days".into())]),
        "{diags:?}"
    );
}

#[test]
fn s3_bucket_lifecycle_against_moto() {
    let bin = require_aws!();
    let Some(moto) = Moto::start() else {
        eprintln!("SKIPPED: moto_server not available (run scripts/install-test-deps.sh)");
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let p = PluginProvider::start(options(&bin, cache.path())).unwrap();
    let cfg = aws_config(&p, &moto.url);
    assert_no_errors(
        "ValidateProviderConfig",
        &p.validate_provider_config(&cfg).unwrap(),
    );
    assert_no_errors("ConfigureProvider", &p.configure("1.11.4", &cfg).unwrap());

    let schema = p.schema();
    let block = &schema.resource_types["aws_s3_bucket"].block;
    let ty = block.implied_type();
    let name = format!("weir-it-{}", std::process::id());
    let config = complete_object(
        block,
        [
            ("bucket".to_string(), s(&name)),
            (
                "tags".to_string(),
                Value::Map(
                    Type::String,
                    [("team".to_string(), s("weir"))].into_iter().collect(),
                ),
            ),
        ],
    );
    assert_no_errors(
        "ValidateResourceConfig",
        &p.validate_resource_config("aws_s3_bucket", &config)
            .unwrap(),
    );

    let plan = p
        .plan_resource_change(PlanResourceChangeRequest {
            type_name: "aws_s3_bucket".into(),
            prior_state: Value::Null(ty.clone()),
            proposed_new_state: config.clone(),
            config: config.clone(),
            prior_private: vec![],
            provider_meta: None,
        })
        .unwrap();
    assert_no_errors("PlanResourceChange", &plan.diagnostics);
    assert_eq!(attr(&plan.planned_state, "bucket"), &s(&name));
    assert!(!attr(&plan.planned_state, "arn").is_known());

    let applied = p
        .apply_resource_change(ApplyResourceChangeRequest {
            type_name: "aws_s3_bucket".into(),
            prior_state: Value::Null(ty.clone()),
            planned_state: plan.planned_state.clone(),
            config: config.clone(),
            planned_private: plan.planned_private.clone(),
            provider_meta: None,
        })
        .unwrap();
    assert_no_errors("ApplyResourceChange", &applied.diagnostics);
    let state = applied.new_state;
    assert!(state.is_wholly_known());
    assert_eq!(attr(&state, "id"), &s(&name));
    assert_eq!(attr(&state, "arn"), &s(&format!("arn:aws:s3:::{name}")));

    let read = p
        .read_resource(ReadResourceRequest {
            type_name: "aws_s3_bucket".into(),
            current_state: state.clone(),
            private: applied.private.clone(),
            provider_meta: None,
        })
        .unwrap();
    assert_no_errors("ReadResource", &read.diagnostics);
    assert_eq!(attr(&read.new_state, "bucket"), &s(&name));
    assert_eq!(
        attr(&read.new_state, "tags"),
        &Value::Map(
            Type::String,
            [("team".to_string(), s("weir"))].into_iter().collect()
        )
    );

    // The state as a v4 state file stores it, upgraded from JSON.
    let version = schema.resource_types["aws_s3_bucket"].version;
    let raw = format!(r#"{{"id":"{name}","bucket":"{name}","force_destroy":false}}"#);
    let (upgraded, diags) = p
        .upgrade_resource_state(UpgradeResourceStateRequest {
            type_name: "aws_s3_bucket".into(),
            version,
            raw_state_json: raw.into_bytes(),
        })
        .unwrap();
    assert_no_errors("UpgradeResourceState", &diags);
    assert_eq!(upgraded.ty(), ty);
    assert_eq!(attr(&upgraded, "bucket"), &s(&name));

    // Import by id.
    let (imported, diags) = p.import_resource_state("aws_s3_bucket", &name).unwrap();
    assert_no_errors("ImportResourceState", &diags);
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].type_name, "aws_s3_bucket");
    assert_eq!(attr(&imported[0].state, "id"), &s(&name));

    // The data source sees the bucket.
    let ds_block = &schema.data_sources["aws_s3_bucket"].block;
    let (ds, diags) = p
        .read_data_source(ReadDataSourceRequest {
            type_name: "aws_s3_bucket".into(),
            config: complete_object(ds_block, [("bucket".to_string(), s(&name))]),
            provider_meta: None,
        })
        .unwrap();
    assert_no_errors("ReadDataSource", &diags);
    assert_eq!(attr(&ds, "arn"), &s(&format!("arn:aws:s3:::{name}")));

    // A provider function.
    let parsed = p
        .call_function("arn_parse", vec![s(&format!("arn:aws:s3:::{name}"))])
        .unwrap()
        .unwrap();
    assert_eq!(attr(&parsed, "service"), &s("s3"));

    // Destroy: a null planned state, applied, leaves a null new state.
    let plan = p
        .plan_resource_change(PlanResourceChangeRequest {
            type_name: "aws_s3_bucket".into(),
            prior_state: read.new_state.clone(),
            proposed_new_state: Value::Null(ty.clone()),
            config: Value::Null(ty.clone()),
            prior_private: read.private.clone(),
            provider_meta: None,
        })
        .unwrap();
    assert_no_errors("PlanResourceChange (destroy)", &plan.diagnostics);
    assert!(plan.planned_state.is_null());
    let gone = p
        .apply_resource_change(ApplyResourceChangeRequest {
            type_name: "aws_s3_bucket".into(),
            prior_state: read.new_state.clone(),
            planned_state: Value::Null(ty.clone()),
            config: Value::Null(ty.clone()),
            planned_private: plan.planned_private,
            provider_meta: None,
        })
        .unwrap();
    assert_no_errors("ApplyResourceChange (destroy)", &gone.diagnostics);
    assert!(gone.new_state.is_null());

    // Reading the deleted bucket reports it gone.
    let read = p
        .read_resource(ReadResourceRequest {
            type_name: "aws_s3_bucket".into(),
            current_state: state,
            private: applied.private,
            provider_meta: None,
        })
        .unwrap();
    assert_no_errors("ReadResource (gone)", &read.diagnostics);
    assert!(read.new_state.is_null());

    p.stop().unwrap();
    p.close();
}

#[test]
fn concurrent_calls_from_many_threads() {
    let bin = require_aws!();
    let cache = tempfile::tempdir().unwrap();
    let p = std::sync::Arc::new(PluginProvider::start(options(&bin, cache.path())).unwrap());
    let schema = p.schema();
    let types = ["aws_s3_bucket", "aws_iam_role", "aws_vpc", "aws_sqs_queue"];
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let p = p.clone();
            let t = types[i % types.len()];
            let cfg = complete_object(&schema.resource_types[t].block, []);
            std::thread::spawn(move || {
                for _ in 0..5 {
                    p.validate_resource_config(t, &cfg).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn killed_plugin_is_reported_as_crashed() {
    let bin = require_aws!();
    let cache = tempfile::tempdir().unwrap();
    let p = std::sync::Arc::new(PluginProvider::start(options(&bin, cache.path())).unwrap());
    let schema = p.schema();
    let cfg = complete_object(&schema.resource_types["aws_s3_bucket"].block, []);
    assert_no_errors(
        "ValidateResourceConfig",
        &p.validate_resource_config("aws_s3_bucket", &cfg).unwrap(),
    );

    // A worker keeps calling while the process is killed from outside, as a crash would.
    let worker = {
        let p = p.clone();
        let cfg = cfg.clone();
        std::thread::spawn(move || loop {
            if let Err(e) = p.validate_resource_config("aws_s3_bucket", &cfg) {
                return e;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let pid = p.pid().expect("plugin pid");
    let t0 = Instant::now();
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let err = worker.join().unwrap();
    assert!(
        matches!(err, ProviderError::Crashed(_)),
        "want Crashed, got {err:?}"
    );
    assert!(err.to_string().contains("terraform-provider-aws"), "{err}");
    eprintln!("crash reported as: {err}");
    // Later calls fail the same way, at once.
    let err = p
        .validate_resource_config("aws_s3_bucket", &cfg)
        .unwrap_err();
    assert!(matches!(err, ProviderError::Crashed(_)), "{err:?}");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    p.close();
}

#[test]
fn usable_from_inside_an_async_runtime() {
    let bin = require_aws!();
    let cache = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // An async caller (e.g. a CLI with a tokio main) may call the synchronous trait directly.
    rt.block_on(async {
        let p = PluginProvider::start(options(&bin, cache.path())).unwrap();
        let cfg = complete_object(&p.schema().provider, []);
        assert_no_errors(
            "ValidateProviderConfig",
            &p.validate_provider_config(&cfg).unwrap(),
        );
        p.close();
    });
}

/// Timings of the schema cache's parts with no plugin running, for the report:
/// `cargo test --release -p plugin --test it -- --ignored --nocapture schema_cache_timings`.
#[test]
#[ignore = "timing report, not a check"]
fn schema_cache_timings() {
    let bin = require_aws!();
    let cache = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let p = PluginProvider::start(options(&bin, cache.path())).unwrap();
    eprintln!(
        "cold start {:?} (GetSchema + decode + store {:?})",
        t.elapsed(),
        p.schema_load().elapsed
    );
    drop(p);
    std::thread::sleep(Duration::from_secs(1));
    let c = SchemaCache::new(cache.path());
    for round in 0..3 {
        let t = Instant::now();
        let key = c.binary_key(&bin).unwrap();
        let t_key = t.elapsed();
        let t = Instant::now();
        let entry = c.load(&key).unwrap();
        let t_read = t.elapsed();
        let t = Instant::now();
        let decoded = plugin::convert::decode_schema(5, &entry.response).unwrap();
        let t_decode = t.elapsed();
        let t = Instant::now();
        decoded.schema.resource_types.check_all().unwrap();
        decoded.schema.data_sources.check_all().unwrap();
        let t_convert = t.elapsed();
        // A clone builds the same structure a deserializer would: a floor for any other format.
        let t = Instant::now();
        let copy = decoded.schema.clone();
        let t_clone = t.elapsed();
        drop(copy);
        let t = Instant::now();
        drop(decoded);
        let t_drop = t.elapsed();
        eprintln!(
            "round {round}: key {t_key:?}, read {} bytes {t_read:?}, decode {t_decode:?}, convert all {t_convert:?}, drop {t_drop:?}; clone of the decoded schema {t_clone:?}",
            entry.response.len()
        );
    }
}
