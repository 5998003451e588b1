//! The built-in `terraform` provider: the `terraform_data` managed resource and the
//! `terraform_remote_state` data source. Behaviour follows Terraform's built-in provider.

use super::remote_state::{self, RemoteStateContext};
use crate::schema::{Attribute, Block, ProviderSchema, ResourceSchema};
use crate::*;
use std::collections::BTreeMap;
use value::{PathStep, Refinements, Type, Unknown, Value};

/// The in-process `terraform.io/builtin/terraform` provider. `terraform_remote_state` reads
/// relative paths from the process's current directory and sees no environment variables; a
/// run in a working directory uses [`TerraformProviderAt`].
#[derive(Default)]
pub struct TerraformProvider;

/// The built-in provider for one working directory and environment (what
/// `terraform_remote_state` resolves relative `local` paths against and backends read
/// credentials from).
#[derive(Default)]
pub struct TerraformProviderAt {
    pub context: RemoteStateContext,
}

impl TerraformProviderAt {
    pub fn new(context: RemoteStateContext) -> Self {
        TerraformProviderAt { context }
    }
}

fn attr(ty: Type, optional: bool, computed: bool) -> Attribute {
    Attribute {
        ty,
        optional,
        computed,
        ..Default::default()
    }
}

fn data_schema() -> Block {
    let mut attributes = BTreeMap::new();
    attributes.insert("id".to_string(), attr(Type::String, false, true));
    attributes.insert("input".to_string(), attr(Type::Dynamic, true, false));
    attributes.insert("output".to_string(), attr(Type::Dynamic, false, true));
    attributes.insert(
        "triggers_replace".to_string(),
        attr(Type::Dynamic, true, false),
    );
    Block {
        attributes,
        ..Default::default()
    }
}

fn unknown_id() -> Value {
    Value::Unknown(Box::new(Unknown {
        ty: Type::String,
        refinements: Refinements {
            not_null: true,
            ..Default::default()
        },
    }))
}

/// The output planned for an input: null stays null (with the input's type), anything else is
/// unknown until apply copies the input over.
fn planned_output(input: &Value) -> Value {
    if input.is_null() {
        input.clone()
    } else {
        Value::unknown(input.ty())
    }
}

fn attrs_of(v: &Value) -> BTreeMap<String, Value> {
    match v.unmarked() {
        Value::Object(m) => m.clone(),
        _ => BTreeMap::new(),
    }
}

fn get(m: &BTreeMap<String, Value>, k: &str) -> Value {
    m.get(k).cloned().unwrap_or(Value::Null(Type::Dynamic))
}

fn unsupported(kind: &str, type_name: &str) -> ProviderDiagnostic {
    ProviderDiagnostic::error(
        format!("Unsupported {kind}"),
        format!("The built-in terraform provider has no {kind} named {type_name:?}."),
    )
}

impl Provider for TerraformProvider {
    fn get_schema(&self) -> Result<(std::sync::Arc<ProviderSchema>, Diags)> {
        let mut schema = ProviderSchema::default();
        schema.resource_types.insert(
            "terraform_data".to_string(),
            ResourceSchema {
                version: 0,
                block: data_schema(),
            },
        );
        schema.data_sources.insert(
            remote_state::TYPE_NAME,
            ResourceSchema {
                version: 0,
                block: remote_state::schema(),
            },
        );
        Ok((std::sync::Arc::new(schema), Vec::new()))
    }

    fn validate_provider_config(&self, _config: &Value) -> Result<Diags> {
        Ok(Vec::new())
    }

    fn validate_resource_config(&self, type_name: &str, _config: &Value) -> Result<Diags> {
        if type_name != "terraform_data" {
            return Ok(vec![unsupported("resource type", type_name)]);
        }
        Ok(Vec::new())
    }

    fn validate_data_resource_config(&self, type_name: &str, config: &Value) -> Result<Diags> {
        validate_data(&RemoteStateContext::default(), type_name, config)
    }

    fn configure(&self, _terraform_version: &str, _config: &Value) -> Result<Diags> {
        Ok(Vec::new())
    }

    fn upgrade_resource_state(&self, req: UpgradeResourceStateRequest) -> Result<(Value, Diags)> {
        if req.type_name != "terraform_data" {
            return Ok((
                Value::Null(Type::Dynamic),
                vec![unsupported("resource type", &req.type_name)],
            ));
        }
        let json: serde_json::Value = match serde_json::from_slice(&req.raw_state_json) {
            Ok(j) => j,
            Err(e) => {
                return Ok((
                    Value::Null(Type::Dynamic),
                    vec![ProviderDiagnostic::error(
                        "Invalid stored state",
                        format!("The stored state of terraform_data is not valid JSON: {e}."),
                    )],
                ))
            }
        };
        match value::json::from_json(&json, &data_schema().implied_type()) {
            Ok(v) => Ok((v, Vec::new())),
            Err(e) => Ok((
                Value::Null(Type::Dynamic),
                vec![ProviderDiagnostic::error(
                    "Invalid stored state",
                    format!("The stored state of terraform_data does not match its schema: {e}."),
                )],
            )),
        }
    }

    fn read_resource(&self, req: ReadResourceRequest) -> Result<ReadResourceResponse> {
        Ok(ReadResourceResponse {
            new_state: req.current_state,
            private: req.private,
            diagnostics: Vec::new(),
        })
    }

    fn plan_resource_change(
        &self,
        req: PlanResourceChangeRequest,
    ) -> Result<PlanResourceChangeResponse> {
        let mut resp = PlanResourceChangeResponse {
            planned_state: req.proposed_new_state.clone(),
            requires_replace: Vec::new(),
            planned_private: req.prior_private.clone(),
            legacy_type_system: false,
            diagnostics: Vec::new(),
        };
        if req.proposed_new_state.is_null() {
            return Ok(resp);
        }
        let mut planned = attrs_of(&req.proposed_new_state);
        let input = get(&planned, "input");
        let trigger = get(&planned, "triggers_replace");
        if req.prior_state.is_null() {
            planned.insert("id".into(), unknown_id());
            planned.insert("output".into(), planned_output(&input));
        } else {
            let prior = attrs_of(&req.prior_state);
            if !get(&prior, "triggers_replace").raw_equals(&trigger) {
                resp.requires_replace
                    .push(vec![PathStep::Attr("triggers_replace".into())]);
                planned.insert("id".into(), unknown_id());
                planned.insert("output".into(), planned_output(&input));
            } else if !get(&prior, "input").raw_equals(&input) {
                planned.insert("output".into(), Value::unknown(input.ty()));
            }
        }
        resp.planned_state = Value::Object(planned);
        Ok(resp)
    }

    fn apply_resource_change(
        &self,
        req: ApplyResourceChangeRequest,
    ) -> Result<ApplyResourceChangeResponse> {
        if req.planned_state.is_null() {
            return Ok(ApplyResourceChangeResponse {
                new_state: req.planned_state,
                private: Vec::new(),
                legacy_type_system: false,
                diagnostics: Vec::new(),
            });
        }
        let mut state = attrs_of(&req.planned_state);
        if !get(&state, "output").is_known() {
            let input = get(&state, "input");
            state.insert("output".into(), input);
        }
        if !get(&state, "id").is_known() {
            state.insert("id".into(), Value::string(uuid::Uuid::new_v4().to_string()));
        }
        Ok(ApplyResourceChangeResponse {
            new_state: Value::Object(state),
            private: req.planned_private,
            legacy_type_system: false,
            diagnostics: Vec::new(),
        })
    }

    fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> Result<(Vec<ImportedResource>, Diags)> {
        if type_name != "terraform_data" {
            return Ok((Vec::new(), vec![unsupported("resource type", type_name)]));
        }
        let mut m = BTreeMap::new();
        m.insert("id".to_string(), Value::string(id));
        m.insert("input".to_string(), Value::Null(Type::Dynamic));
        m.insert("output".to_string(), Value::Null(Type::Dynamic));
        m.insert("triggers_replace".to_string(), Value::Null(Type::Dynamic));
        Ok((
            vec![ImportedResource {
                type_name: type_name.to_string(),
                state: Value::Object(m),
                private: Vec::new(),
            }],
            Vec::new(),
        ))
    }

    fn read_data_source(&self, req: ReadDataSourceRequest) -> Result<(Value, Diags)> {
        read_data(&RemoteStateContext::default(), req)
    }

    fn move_resource_state(
        &self,
        req: MoveResourceStateRequest,
    ) -> Result<MoveResourceStateResponse> {
        // terraform_data accepts moves from null_resource, keeping its triggers as triggers_replace.
        if req.source_type_name != "null_resource" && req.source_type_name != "terraform_data" {
            return Ok(MoveResourceStateResponse {
                target_state: Value::Null(Type::Dynamic),
                target_private: Vec::new(),
                diagnostics: vec![ProviderDiagnostic::error(
                    "Unsupported source resource type",
                    format!(
                        "The terraform_data resource does not support moves from {:?}.",
                        req.source_type_name
                    ),
                )],
            });
        }
        let json: serde_json::Value =
            serde_json::from_slice(&req.source_state_json).unwrap_or_default();
        let id = json.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        let mut m = BTreeMap::new();
        m.insert("id".to_string(), Value::string(id));
        m.insert("input".to_string(), Value::Null(Type::Dynamic));
        m.insert("output".to_string(), Value::Null(Type::Dynamic));
        let triggers = json
            .get("triggers")
            .filter(|t| t.is_object())
            .map(|t| value::json::from_json(t, &Type::map(Type::String)))
            .transpose()
            .ok()
            .flatten()
            .unwrap_or(Value::Null(Type::Dynamic));
        m.insert("triggers_replace".to_string(), triggers);
        Ok(MoveResourceStateResponse {
            target_state: Value::Object(m),
            target_private: Vec::new(),
            diagnostics: Vec::new(),
        })
    }

    fn call_function(
        &self,
        name: &str,
        _args: Vec<Value>,
    ) -> Result<std::result::Result<Value, crate::FunctionError>> {
        Ok(Err(crate::FunctionError {
            argument: None,
            text: format!("the built-in terraform provider has no function named {name:?}"),
        }))
    }

    fn stop(&self) -> Result<()> {
        Ok(())
    }
}

fn validate_data(ctx: &RemoteStateContext, type_name: &str, config: &Value) -> Result<Diags> {
    if type_name != remote_state::TYPE_NAME {
        return Ok(vec![unsupported("data source", type_name)]);
    }
    Ok(remote_state::validate(ctx, config))
}

fn read_data(ctx: &RemoteStateContext, req: ReadDataSourceRequest) -> Result<(Value, Diags)> {
    if req.type_name != remote_state::TYPE_NAME {
        return Ok((
            Value::Null(Type::Dynamic),
            vec![unsupported("data source", &req.type_name)],
        ));
    }
    Ok(remote_state::read(ctx, &req.config))
}

/// Everything but the data sources is [`TerraformProvider`]'s.
impl Provider for TerraformProviderAt {
    fn get_schema(&self) -> Result<(std::sync::Arc<ProviderSchema>, Diags)> {
        TerraformProvider.get_schema()
    }
    fn validate_provider_config(&self, config: &Value) -> Result<Diags> {
        TerraformProvider.validate_provider_config(config)
    }
    fn validate_resource_config(&self, type_name: &str, config: &Value) -> Result<Diags> {
        TerraformProvider.validate_resource_config(type_name, config)
    }
    fn validate_data_resource_config(&self, type_name: &str, config: &Value) -> Result<Diags> {
        validate_data(&self.context, type_name, config)
    }
    fn configure(&self, terraform_version: &str, config: &Value) -> Result<Diags> {
        TerraformProvider.configure(terraform_version, config)
    }
    fn upgrade_resource_state(&self, req: UpgradeResourceStateRequest) -> Result<(Value, Diags)> {
        TerraformProvider.upgrade_resource_state(req)
    }
    fn read_resource(&self, req: ReadResourceRequest) -> Result<ReadResourceResponse> {
        TerraformProvider.read_resource(req)
    }
    fn plan_resource_change(
        &self,
        req: PlanResourceChangeRequest,
    ) -> Result<PlanResourceChangeResponse> {
        TerraformProvider.plan_resource_change(req)
    }
    fn apply_resource_change(
        &self,
        req: ApplyResourceChangeRequest,
    ) -> Result<ApplyResourceChangeResponse> {
        TerraformProvider.apply_resource_change(req)
    }
    fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> Result<(Vec<ImportedResource>, Diags)> {
        TerraformProvider.import_resource_state(type_name, id)
    }
    fn read_data_source(&self, req: ReadDataSourceRequest) -> Result<(Value, Diags)> {
        read_data(&self.context, req)
    }
    fn move_resource_state(
        &self,
        req: MoveResourceStateRequest,
    ) -> Result<MoveResourceStateResponse> {
        TerraformProvider.move_resource_state(req)
    }
    fn call_function(
        &self,
        name: &str,
        args: Vec<Value>,
    ) -> Result<std::result::Result<Value, crate::FunctionError>> {
        TerraformProvider.call_function(name, args)
    }
    fn stop(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    fn config(input: Value, trigger: Value) -> Value {
        obj(&[
            ("id", Value::Null(Type::String)),
            ("input", input),
            ("output", Value::Null(Type::Dynamic)),
            ("triggers_replace", trigger),
        ])
    }

    fn plan(prior: Value, proposed: Value) -> PlanResourceChangeResponse {
        TerraformProvider
            .plan_resource_change(PlanResourceChangeRequest {
                type_name: "terraform_data".into(),
                prior_state: prior,
                config: proposed.clone(),
                proposed_new_state: proposed,
                prior_private: Vec::new(),
                provider_meta: None,
            })
            .unwrap()
    }

    fn apply(prior: Value, planned: Value) -> Value {
        TerraformProvider
            .apply_resource_change(ApplyResourceChangeRequest {
                type_name: "terraform_data".into(),
                prior_state: prior,
                config: planned.clone(),
                planned_state: planned,
                planned_private: Vec::new(),
                provider_meta: None,
            })
            .unwrap()
            .new_state
    }

    #[test]
    fn create_plans_unknown_id_and_output_then_apply_copies_input() {
        let cfg = config(Value::string("a"), Value::Null(Type::Dynamic));
        let p = plan(Value::Null(Type::Dynamic), cfg);
        let Value::Object(m) = &p.planned_state else {
            panic!()
        };
        assert!(!m["id"].is_known());
        assert!(!m["output"].is_known());
        let s = apply(Value::Null(Type::Dynamic), p.planned_state.clone());
        let Value::Object(m) = &s else { panic!() };
        assert_eq!(m["output"], Value::string("a"));
        assert_eq!(m["id"].as_str().unwrap().len(), 36);
    }

    #[test]
    fn unchanged_input_plans_no_change_and_new_trigger_replaces() {
        let prior = obj(&[
            ("id", Value::string("x")),
            ("input", Value::string("a")),
            ("output", Value::string("a")),
            ("triggers_replace", Value::string("t1")),
        ]);
        let same = obj(&[
            ("id", Value::string("x")),
            ("input", Value::string("a")),
            ("output", Value::string("a")),
            ("triggers_replace", Value::string("t1")),
        ]);
        let p = plan(prior.clone(), same.clone());
        assert!(p.requires_replace.is_empty());
        assert!(p.planned_state.raw_equals(&prior));

        let changed = obj(&[
            ("id", Value::string("x")),
            ("input", Value::string("a")),
            ("output", Value::string("a")),
            ("triggers_replace", Value::string("t2")),
        ]);
        let p = plan(prior, changed);
        assert_eq!(
            p.requires_replace,
            vec![vec![PathStep::Attr("triggers_replace".into())]]
        );
    }
}
