//! The `terraform_remote_state` data source: the root outputs of another configuration's
//! state, read through its backend (`local`, `s3`, `pg`, `http`), with `workspace`, `defaults`
//! and Terraform's diagnostics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use value::{PathStep, Type, Value};

use crate::schema::{Attribute, Block};
use crate::{Diags, ProviderDiagnostic, Severity};

/// What reading another configuration's state needs from the process: the directory relative
/// paths start from, and the environment variables backends read (`AWS_*`, `PG*`, `TF_HTTP_*`).
#[derive(Clone, Debug, Default)]
pub struct RemoteStateContext {
    pub working_dir: PathBuf,
    pub env: BTreeMap<String, String>,
}

pub const TYPE_NAME: &str = "terraform_remote_state";

/// Backends Terraform has that weir does not implement (yet).
const UNSUPPORTED: &[&str] = &[
    "remote",
    "azurerm",
    "consul",
    "cos",
    "gcs",
    "inmem",
    "kubernetes",
    "oss",
];

/// Terraform's `RemovedBackends`.
fn removed(kind: &str) -> Option<String> {
    match kind {
        "artifactory" | "etcd" | "etcdv3" | "manta" | "swift" => Some(format!(
            "The {kind:?} backend is not supported in Terraform v1.3 or later."
        )),
        "azure" => {
            Some(r#"The "azure" backend name has been removed, please use "azurerm"."#.into())
        }
        _ => None,
    }
}

fn attr(ty: Type, required: bool, optional: bool, computed: bool, description: &str) -> Attribute {
    Attribute {
        ty,
        required,
        optional,
        computed,
        description: description.to_owned(),
        ..Default::default()
    }
}

pub fn schema() -> Block {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "backend".to_owned(),
        attr(
            Type::String,
            true,
            false,
            false,
            "The remote backend to use, e.g. `remote` or `http`.",
        ),
    );
    attributes.insert(
        "config".to_owned(),
        attr(Type::Dynamic, false, true, false, "The configuration of the remote backend. Although this is optional, most backends require some configuration.\n\nThe object can use any arguments that would be valid in the equivalent `terraform { backend \"<TYPE>\" { ... } }` block."),
    );
    attributes.insert(
        "defaults".to_owned(),
        attr(Type::Dynamic, false, true, false, "Default values for outputs, in case the state file is empty or lacks a required output."),
    );
    attributes.insert(
        "outputs".to_owned(),
        attr(
            Type::Dynamic,
            false,
            false,
            true,
            "An object containing every root-level output in the remote state.",
        ),
    );
    attributes.insert(
        "workspace".to_owned(),
        attr(
            Type::String,
            false,
            true,
            false,
            "The Terraform workspace to use, if the backend supports workspaces.",
        ),
    );
    Block {
        attributes,
        ..Default::default()
    }
}

fn error_at(
    summary: impl Into<String>,
    detail: impl Into<String>,
    attr: &str,
) -> ProviderDiagnostic {
    ProviderDiagnostic::error(summary, detail).at(vec![PathStep::Attr(attr.to_owned())])
}

fn attrs(v: &Value) -> BTreeMap<String, Value> {
    match v.unmarked() {
        Value::Object(m) => m.clone(),
        _ => BTreeMap::new(),
    }
}

fn get(m: &BTreeMap<String, Value>, k: &str) -> Value {
    m.get(k).cloned().unwrap_or(Value::Null(Type::Dynamic))
}

fn is_object_like(t: &Type) -> bool {
    matches!(t, Type::Dynamic | Type::Object(_) | Type::Map(_))
}

/// `dataSourceRemoteStateValidate`.
pub fn validate(ctx: &RemoteStateContext, config: &Value) -> Diags {
    let m = attrs(config);
    let mut diags = Vec::new();
    let cfg = get(&m, "config");
    let backend = get(&m, "backend");
    if is_wholly_known(&cfg) && backend.is_known() {
        diags.extend(backend_for(ctx, &m).err().unwrap_or_default());
    } else if !is_object_like(&cfg.ty()) {
        diags.push(error_at(
            "Invalid backend configuration",
            "The configuration must be an object value.",
            "config",
        ));
    }
    if !is_object_like(&get(&m, "defaults").ty()) {
        diags.push(error_at(
            "Invalid default values",
            "Defaults must be given in an object value.",
            "defaults",
        ));
    }
    diags
}

fn is_wholly_known(v: &Value) -> bool {
    match v.unmarked() {
        Value::Unknown(_) => false,
        Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => vs.iter().all(is_wholly_known),
        Value::Map(_, m) | Value::Object(m) => m.values().all(is_wholly_known),
        _ => true,
    }
}

/// A backend ready to be read, after its configuration was checked.
enum Source {
    Local {
        default: PathBuf,
        workspace_dir: PathBuf,
    },
    Remote {
        kind: String,
        config: remotestate::Map,
    },
}

fn config_map(v: &Value) -> Result<remotestate::Map, String> {
    match v.clone().unmark_deep().0 {
        Value::Null(_) => Ok(remotestate::Map::new()),
        Value::Object(m) | Value::Map(_, m) => Ok(m),
        _ => Err("an object is required".to_owned()),
    }
}

fn invalid_config(kind: &str, msg: &str) -> ProviderDiagnostic {
    error_at(
        "Invalid backend configuration",
        format!("The given configuration is not valid for backend {kind:?}: {msg}."),
        "config",
    )
}

fn convert_diag(d: &remotestate::ConfigDiagnostic) -> ProviderDiagnostic {
    let mut path = vec![PathStep::Attr("config".to_owned())];
    path.extend(d.attribute.iter().map(|a| PathStep::Attr(a.clone())));
    ProviderDiagnostic {
        severity: if d.is_error() {
            Severity::Error
        } else {
            Severity::Warning
        },
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        attribute: Some(path),
    }
}

/// `getBackend`: the backend type and its checked configuration (warnings on success).
fn backend_for(
    ctx: &RemoteStateContext,
    m: &BTreeMap<String, Value>,
) -> Result<(Source, Diags), Diags> {
    let mut kind = get(m, "backend")
        .unmarked()
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if kind == "_local" {
        kind = "local".into();
    }
    let cfg = config_map(&get(m, "config")).map_err(|e| vec![invalid_config(&kind, &e)])?;
    if kind == "local" {
        return local_source(ctx, &cfg).map(|s| (s, Vec::new()));
    }
    if remotestate::KINDS.contains(&kind.as_str()) {
        return match remotestate::check(&kind, &cfg, &ctx.env) {
            Ok(warnings) => Ok((
                Source::Remote { kind, config: cfg },
                warnings.iter().map(convert_diag).collect(),
            )),
            Err(remotestate::ConfigError::Schema(msg)) => Err(vec![invalid_config(&kind, &msg)]),
            Err(remotestate::ConfigError::Invalid(ds)) => {
                Err(ds.iter().map(convert_diag).collect())
            }
            Err(e) => Err(vec![ProviderDiagnostic::error(e.to_string(), "")]),
        };
    }
    let detail = if UNSUPPORTED.contains(&kind.as_str()) {
        format!("weir does not support the {kind:?} backend yet.")
    } else {
        removed(&kind).unwrap_or_else(|| format!("There is no backend type named {kind:?}."))
    };
    Err(vec![error_at(
        "Invalid backend configuration",
        detail,
        "backend",
    )])
}

fn local_source(ctx: &RemoteStateContext, cfg: &remotestate::Map) -> Result<Source, Diags> {
    if let Some(name) = cfg.keys().find(|k| *k != "path" && *k != "workspace_dir") {
        return Err(vec![invalid_config(
            "local",
            &format!("unexpected attribute {name:?}"),
        )]);
    }
    let string = |name: &str, default: &str| -> Result<String, Diags> {
        match cfg.get(name).map(|v| v.unmarked().clone()) {
            None | Some(Value::Null(_)) => Ok(default.to_owned()),
            Some(v) => match value::convert::convert(&v, &Type::String) {
                Ok(Value::String(s)) if s.is_empty() => Err(vec![error_at(
                    "Invalid local state file path",
                    format!("The {name:?} attribute value must not be empty."),
                    "config",
                )]),
                Ok(Value::String(s)) => Ok(s),
                _ => Err(vec![invalid_config(
                    "local",
                    &format!(".{name}: string required"),
                )]),
            },
        }
    };
    let resolve = |p: String| -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            ctx.working_dir.join(p)
        }
    };
    Ok(Source::Local {
        default: resolve(string("path", "terraform.tfstate")?),
        workspace_dir: resolve(string("workspace_dir", "terraform.tfstate.d")?),
    })
}

/// The stored state of `workspace`, `None` when there is none. `Err` is a diagnostic summary.
fn read_state(
    source: &Source,
    ctx: &RemoteStateContext,
    workspace: &str,
) -> Result<Option<Vec<u8>>, ProviderDiagnostic> {
    match source {
        Source::Local {
            default,
            workspace_dir,
        } => {
            let path: PathBuf = if workspace == "default" {
                default.clone()
            } else {
                workspace_dir.join(workspace).join("terraform.tfstate")
            };
            match std::fs::read(&path) {
                Ok(b) if b.is_empty() => Ok(None),
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ProviderDiagnostic::error(
                    format!("Failed to load state: {}: {e}", display(&path)),
                    "",
                )),
            }
        }
        Source::Remote { kind, config } => {
            let backend = remotestate::open(kind, config, &ctx.env).map_err(|e| {
                let summary = match &e {
                    remotestate::ConfigError::Invalid(ds) => ds
                        .iter()
                        .find(|d| d.is_error())
                        .map(|d| format!("{}: {}", d.summary, d.detail))
                        .unwrap_or_else(|| e.to_string()),
                    _ => e.to_string(),
                };
                ProviderDiagnostic::error(summary, "")
            })?;
            if workspace != "default" && !backend.supports_workspaces() {
                return Err(error_at(
                    "Error loading state error",
                    "error loading the remote state: workspaces not supported",
                    "backend",
                ));
            }
            backend
                .get(workspace)
                .map_err(|e| ProviderDiagnostic::error(e.to_string(), ""))
        }
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// `dataSourceRemoteStateRead`.
pub fn read(ctx: &RemoteStateContext, config: &Value) -> (Value, Diags) {
    let m = attrs(config);
    let (source, mut diags) = match backend_for(ctx, &m) {
        Ok(x) => x,
        Err(d) => return (Value::Null(Type::Dynamic), d),
    };
    let workspace_val = get(&m, "workspace");
    let workspace = workspace_val
        .unmarked()
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let bytes = match read_state(&source, ctx, &workspace) {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            return (Value::Null(Type::Dynamic), diags);
        }
    };
    let mut result = BTreeMap::new();
    result.insert("backend".to_owned(), get(&m, "backend"));
    result.insert("config".to_owned(), get(&m, "config"));
    result.insert("workspace".to_owned(), workspace_val);
    let mut outputs = BTreeMap::new();
    let defaults = get(&m, "defaults");
    if defaults.is_null() {
        result.insert("defaults".to_owned(), Value::Null(Type::Dynamic));
    } else {
        if let Value::Object(d) | Value::Map(_, d) = defaults.unmarked() {
            outputs.extend(d.clone());
        }
        result.insert("defaults".to_owned(), defaults.clone());
    }
    // s3 and pg create an empty state for a workspace that has none; weir reads it as
    // that empty state without writing it.
    let creates_empty =
        matches!(&source, Source::Remote { kind, .. } if kind == "s3" || kind == "pg");
    let Some(bytes) = bytes else {
        if creates_empty {
            result.insert("outputs".to_owned(), Value::Object(outputs));
            return (Value::Object(result), diags);
        }
        diags.push(error_at(
            "Unable to find remote state",
            "No stored state was found for the given workspace in the given backend.",
            "workspace",
        ));
        result.insert("outputs".to_owned(), Value::empty_object());
        return (Value::Object(result), diags);
    };
    let state = match states::State::from_slice(&bytes) {
        Ok(s) => s,
        Err(e) => {
            diags.push(ProviderDiagnostic::error(e.to_string(), ""));
            return (Value::Null(Type::Dynamic), diags);
        }
    };
    for (name, out) in &state.outputs {
        match output_value(out) {
            Ok(v) => {
                outputs.insert(name.clone(), v);
            }
            Err(e) => {
                diags.push(ProviderDiagnostic::error(
                    "Invalid stored state",
                    format!("The output {name:?} in the remote state cannot be read: {e}."),
                ));
                return (Value::Null(Type::Dynamic), diags);
            }
        }
    }
    result.insert("outputs".to_owned(), Value::Object(outputs));
    (Value::Object(result), diags)
}

fn output_value(out: &states::OutputValue) -> Result<Value, String> {
    let ty = value::json::type_from_json(&out.type_json.to_value()).map_err(|e| e.to_string())?;
    value::json::from_json(&out.value.to_value(), &ty).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    fn ds(backend: &str, config: Value, workspace: Option<&str>, defaults: Value) -> Value {
        obj(&[
            ("backend", Value::string(backend)),
            ("config", config),
            ("defaults", defaults),
            ("outputs", Value::Null(Type::Dynamic)),
            (
                "workspace",
                workspace
                    .map(Value::string)
                    .unwrap_or(Value::Null(Type::String)),
            ),
        ])
    }

    const STATE: &str = r#"{
  "version": 4,
  "terraform_version": "1.11.4",
  "serial": 3,
  "lineage": "8a1b2c3d-0000-0000-0000-000000000000",
  "outputs": {
    "ids": {
      "value": ["a", "b"],
      "type": ["list", "string"]
    },
    "secret": {
      "value": "s3cr3t",
      "type": "string",
      "sensitive": true
    }
  },
  "resources": [],
  "check_results": null
}
"#;

    fn outputs(v: &Value) -> BTreeMap<String, Value> {
        attrs(&attrs(v)["outputs"])
    }

    #[test]
    fn reads_local_state_relative_to_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("terraform.tfstate"), STATE).unwrap();
        std::fs::create_dir_all(dir.path().join("terraform.tfstate.d/dev")).unwrap();
        std::fs::write(
            dir.path().join("terraform.tfstate.d/dev/terraform.tfstate"),
            STATE.replace("\"a\", \"b\"", "\"c\""),
        )
        .unwrap();
        let ctx = RemoteStateContext {
            working_dir: dir.path().to_owned(),
            env: BTreeMap::new(),
        };
        let defaults = obj(&[
            ("extra", Value::number(1i64)),
            ("ids", Value::string("default")),
        ]);
        let (v, d) = read(
            &ctx,
            &ds("local", Value::Null(Type::Dynamic), None, defaults.clone()),
        );
        assert!(d.is_empty(), "{d:?}");
        let out = outputs(&v);
        assert_eq!(
            out["ids"],
            Value::List(Type::String, vec![Value::string("a"), Value::string("b")])
        );
        assert_eq!(out["secret"], Value::string("s3cr3t"));
        assert_eq!(
            out["extra"],
            Value::number(1i64),
            "defaults fill missing outputs"
        );
        assert!(attrs(&v)["defaults"].raw_equals(&defaults));

        let (v, d) = read(
            &ctx,
            &ds(
                "local",
                Value::Null(Type::Dynamic),
                Some("dev"),
                Value::Null(Type::Dynamic),
            ),
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            outputs(&v)["ids"],
            Value::List(Type::String, vec![Value::string("c")])
        );

        let cfg = obj(&[("path", Value::string("elsewhere.tfstate"))]);
        let (_, d) = read(&ctx, &ds("local", cfg, None, Value::Null(Type::Dynamic)));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].summary, "Unable to find remote state");
        assert_eq!(
            d[0].detail,
            "No stored state was found for the given workspace in the given backend."
        );
    }

    #[test]
    fn terraform_errors_for_bad_configuration() {
        let ctx = RemoteStateContext::default();
        let d = validate(
            &ctx,
            &ds(
                "nope",
                Value::Null(Type::Dynamic),
                None,
                Value::Null(Type::Dynamic),
            ),
        );
        assert_eq!(d[0].summary, "Invalid backend configuration");
        assert_eq!(d[0].detail, "There is no backend type named \"nope\".");
        let d = validate(
            &ctx,
            &ds(
                "etcd",
                Value::Null(Type::Dynamic),
                None,
                Value::Null(Type::Dynamic),
            ),
        );
        assert_eq!(
            d[0].detail,
            "The \"etcd\" backend is not supported in Terraform v1.3 or later."
        );
        let d = validate(
            &ctx,
            &ds(
                "s3",
                obj(&[("key", Value::string("k"))]),
                None,
                Value::Null(Type::Dynamic),
            ),
        );
        assert_eq!(
            d[0].detail,
            "The given configuration is not valid for backend \"s3\": attribute \"bucket\" is required."
        );
        let d = validate(
            &ctx,
            &ds(
                "local",
                obj(&[("pth", Value::string("x"))]),
                None,
                Value::string("x"),
            ),
        );
        assert_eq!(
            d[0].detail,
            "The given configuration is not valid for backend \"local\": unexpected attribute \"pth\"."
        );
        assert_eq!(
            (d[1].summary.as_str(), d[1].detail.as_str()),
            (
                "Invalid default values",
                "Defaults must be given in an object value."
            )
        );
        let d = validate(
            &ctx,
            &ds("http", obj(&[]), None, Value::Null(Type::Dynamic)),
        );
        assert!(
            d.is_empty(),
            "an http block without address is only refused when read: {d:?}"
        );
        let (_, d) = read(
            &ctx,
            &ds("http", obj(&[]), None, Value::Null(Type::Dynamic)),
        );
        assert_eq!(d[0].summary, "address argument is required");
    }

    /// One GET answered with `body`, as an http backend's state server would.
    fn serve_once(body: &'static str) -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        port
    }

    #[test]
    fn reads_a_remote_backend_with_credentials_from_the_context() {
        let port = serve_once(STATE);
        let ctx = RemoteStateContext {
            working_dir: PathBuf::from("."),
            env: BTreeMap::from([(
                "TF_HTTP_ADDRESS".to_owned(),
                format!("http://127.0.0.1:{port}/state"),
            )]),
        };
        let (v, d) = read(
            &ctx,
            &ds(
                "http",
                Value::Null(Type::Dynamic),
                None,
                Value::Null(Type::Dynamic),
            ),
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(outputs(&v)["secret"], Value::string("s3cr3t"));
        let (_, d) = read(
            &ctx,
            &ds(
                "http",
                Value::Null(Type::Dynamic),
                Some("dev"),
                Value::Null(Type::Dynamic),
            ),
        );
        assert_eq!(
            d[0].detail,
            "error loading the remote state: workspaces not supported"
        );
    }
}
