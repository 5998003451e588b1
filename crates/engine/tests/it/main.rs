//! Engine tests that need a provider with observable behaviour: the early refresh.

use engine::{Options, ProviderFactory};
use providers::builtin::TerraformProvider;
use providers::*;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use value::Value;

/// `terraform_data` behind a provider that claims remote reads and records them. The read of
/// `terraform_data.a` holds until the read of `b` (which depends on `a`) has begun, so a plan
/// that refreshed in dependency order could never finish: it would wait for `a` before `b`.
struct Remote {
    inner: TerraformProvider,
    reads: Mutex<HashMap<String, usize>>,
    b_started: (Mutex<bool>, Condvar),
    /// Set when `a`'s read gave up waiting (guards the test against hanging).
    gave_up: Mutex<bool>,
}

impl Remote {
    fn new() -> Self {
        Remote {
            inner: TerraformProvider,
            reads: Mutex::default(),
            b_started: (Mutex::new(false), Condvar::new()),
            gave_up: Mutex::new(false),
        }
    }
}

impl Provider for Remote {
    fn get_schema(&self) -> Result<(Arc<ProviderSchema>, Diags)> {
        self.inner.get_schema()
    }
    fn validate_provider_config(&self, c: &Value) -> Result<Diags> {
        self.inner.validate_provider_config(c)
    }
    fn validate_resource_config(&self, t: &str, c: &Value) -> Result<Diags> {
        self.inner.validate_resource_config(t, c)
    }
    fn validate_data_resource_config(&self, t: &str, c: &Value) -> Result<Diags> {
        self.inner.validate_data_resource_config(t, c)
    }
    fn configure(&self, v: &str, c: &Value) -> Result<Diags> {
        self.inner.configure(v, c)
    }
    fn upgrade_resource_state(&self, r: UpgradeResourceStateRequest) -> Result<(Value, Diags)> {
        self.inner.upgrade_resource_state(r)
    }
    fn read_resource(&self, r: ReadResourceRequest) -> Result<ReadResourceResponse> {
        let input = r
            .current_state
            .get_attr("input")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *self.reads.lock().unwrap().entry(input.clone()).or_default() += 1;
        let (lock, cv) = &self.b_started;
        if input == "from-b" {
            *lock.lock().unwrap() = true;
            cv.notify_all();
        } else if input == "from-a" {
            let (started, timeout) = cv
                .wait_timeout_while(lock.lock().unwrap(), Duration::from_secs(30), |s| !*s)
                .unwrap();
            if timeout.timed_out() && !*started {
                *self.gave_up.lock().unwrap() = true;
            }
        }
        self.inner.read_resource(r)
    }
    fn plan_resource_change(
        &self,
        r: PlanResourceChangeRequest,
    ) -> Result<PlanResourceChangeResponse> {
        self.inner.plan_resource_change(r)
    }
    fn apply_resource_change(
        &self,
        r: ApplyResourceChangeRequest,
    ) -> Result<ApplyResourceChangeResponse> {
        self.inner.apply_resource_change(r)
    }
    fn import_resource_state(&self, t: &str, id: &str) -> Result<(Vec<ImportedResource>, Diags)> {
        self.inner.import_resource_state(t, id)
    }
    fn read_data_source(&self, r: ReadDataSourceRequest) -> Result<(Value, Diags)> {
        self.inner.read_data_source(r)
    }
    fn move_resource_state(
        &self,
        r: MoveResourceStateRequest,
    ) -> Result<MoveResourceStateResponse> {
        self.inner.move_resource_state(r)
    }
    fn call_function(
        &self,
        n: &str,
        a: Vec<Value>,
    ) -> Result<std::result::Result<Value, FunctionError>> {
        self.inner.call_function(n, a)
    }
    fn stop(&self) -> Result<()> {
        Ok(())
    }
    fn remote_reads(&self) -> bool {
        true
    }
}

struct Factory(Arc<Remote>);

impl ProviderFactory for Factory {
    fn start(&self, _source: &str) -> std::result::Result<Arc<dyn Provider>, String> {
        Ok(self.0.clone())
    }
}

const CONFIG: &str = r#"
resource "terraform_data" "a" {
  input = "from-a"
}
resource "terraform_data" "b" {
  input = "from-b"
  triggers_replace = [terraform_data.a.id]
}
"#;

fn object(id: &str, input: &str, triggers: &str) -> String {
    format!(
        r#"{{"schema_version":0,"attributes":{{"id":"{id}","input":{{"value":"{input}","type":"string"}},"output":{{"value":"{input}","type":"string"}},"triggers_replace":{triggers}}},"sensitive_attributes":[]}}"#
    )
}

fn state() -> states::State {
    let text = format!(
        r#"{{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"0d8e7f52-31c4-4a8e-9d0a-3c1e5b6a7f10","outputs":{{}},"resources":[
{{"mode":"managed","type":"terraform_data","name":"a","provider":"provider[\"terraform.io/builtin/terraform\"]","instances":[{}]}},
{{"mode":"managed","type":"terraform_data","name":"b","provider":"provider[\"terraform.io/builtin/terraform\"]","instances":[{}]}}
],"check_results":null}}"#,
        object("id-a", "from-a", "null"),
        object(
            "id-b",
            "from-b",
            r#"{"value":["id-a"],"type":["tuple",["string"]]}"#
        )
    );
    states::State::from_slice(text.as_bytes()).expect("state")
}

fn plan(refresh: bool) -> (Arc<Remote>, engine::PlanOutcome) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), CONFIG).unwrap();
    let (cfg, diags, _) = config::load_config(dir.path());
    assert!(!diags.has_errors(), "{diags:?}");
    let remote = Arc::new(Remote::new());
    let opts = Options {
        refresh,
        root_dir: dir.path().to_path_buf(),
        ..Options::default()
    };
    let out = engine::plan(&cfg.unwrap(), &state(), &opts, &Factory(remote.clone()));
    (remote, out)
}

#[test]
fn a_refreshing_plan_reads_every_object_once_without_waiting_for_dependencies() {
    let (remote, out) = plan(true);
    assert!(!out.diagnostics.has_errors(), "{:?}", out.diagnostics);
    assert!(
        !*remote.gave_up.lock().unwrap(),
        "b was not read until a was done"
    );
    let reads = remote.reads.lock().unwrap().clone();
    assert_eq!(reads.get("from-a"), Some(&1), "{reads:?}");
    assert_eq!(reads.get("from-b"), Some(&1), "{reads:?}");
    let plan = out.plan.expect("plan");
    assert!(
        plan.resource_changes
            .iter()
            .all(|c| c.action == plans::Action::NoOp),
        "{:?}",
        plan.resource_changes
            .iter()
            .map(|c| (&c.address, c.action))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_plan_without_refresh_reads_nothing() {
    let (remote, out) = plan(false);
    assert!(!out.diagnostics.has_errors(), "{:?}", out.diagnostics);
    assert!(remote.reads.lock().unwrap().is_empty());
}
