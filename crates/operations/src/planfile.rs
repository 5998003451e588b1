//! Saved plan files (`plan -out`): the plan with every value (unknowns and sensitive marks
//! included), the state it was made against (lineage and serial, to refuse a stale plan), and
//! a digest of the configuration it was made from.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use plans::{Action, ActionReason, OutputChange, Plan, PlanMode, ResourceInstanceChange};
use serde::{Deserialize, Serialize};
use value::{PathStep, Type, Value};

const MAGIC: &str = "weir-plan";
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the file is not a weir plan file: {0}")]
    Format(String),
}

#[derive(Serialize, Deserialize)]
struct FileV1 {
    format: String,
    version: u32,
    terraform_version: String,
    config_digest: String,
    workspace: String,
    mode: String,
    prior_serial: Option<u64>,
    prior_lineage: Option<String>,
    timestamp: String,
    targets: Vec<String>,
    force_replace: Vec<String>,
    variables: BTreeMap<String, Val>,
    changes: Vec<Change>,
    outputs: Vec<Out>,
    /// Data sources read while planning (absent in files written before they were kept).
    #[serde(default)]
    data_reads: Vec<Change>,
    /// Objects changed outside Terraform, found by refresh.
    #[serde(default)]
    drift: Vec<Change>,
}

/// A value: its type as JSON, msgpack bytes (which keep unknowns), sensitive paths.
#[derive(Serialize, Deserialize)]
struct Val {
    ty: serde_json::Value,
    msgpack: String,
    sensitive: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
struct Change {
    address: String,
    previous_address: Option<String>,
    module_address: Option<String>,
    mode: String,
    type_name: String,
    name: String,
    index: Option<Val>,
    provider_name: String,
    deposed: Option<String>,
    action: String,
    action_reason: Option<String>,
    before: Val,
    after: Val,
    replace_paths: serde_json::Value,
    importing_id: Option<String>,
    private: String,
    schema_version: i64,
}

#[derive(Serialize, Deserialize)]
struct Out {
    name: String,
    action: String,
    before: Val,
    after: Val,
    sensitive: bool,
}

/// What else a saved plan carries besides the plan itself.
#[derive(Clone, Debug, Default)]
pub struct PlanMeta {
    pub config_digest: String,
    pub workspace: String,
    pub terraform_version: String,
}

fn enc(v: &Value) -> Val {
    let paths = engine::objchange::marked_paths(v);
    let (plain, _) = v.clone().unmark_deep();
    let ty = plain.ty();
    let bytes = value::msgpack::to_msgpack(&plain, &ty).unwrap_or_default();
    Val {
        ty: value::json::type_to_json(&ty),
        msgpack: base64::engine::general_purpose::STANDARD.encode(bytes),
        sensitive: engine::stateobj::paths_json(&paths),
    }
}

fn dec(v: &Val) -> Result<Value, PlanFileError> {
    let bad = |e: String| PlanFileError::Format(e);
    let ty: Type = value::json::type_from_json(&v.ty).map_err(|e| bad(e.to_string()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&v.msgpack)
        .map_err(|e| bad(e.to_string()))?;
    let plain = value::msgpack::from_msgpack(&bytes, &ty).map_err(|e| bad(e.to_string()))?;
    let paths = parse_paths(&v.sensitive);
    Ok(engine::objchange::apply_marked_paths(plain, &paths))
}

fn parse_paths(j: &serde_json::Value) -> Vec<Vec<PathStep>> {
    engine::stateobj::parse_paths(j)
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::NoOp => "no-op",
        Action::Create => "create",
        Action::Read => "read",
        Action::Update => "update",
        Action::DeleteThenCreate => "delete-create",
        Action::CreateThenDelete => "create-delete",
        Action::Delete => "delete",
        Action::Forget => "forget",
    }
}

fn parse_action(s: &str) -> Result<Action, PlanFileError> {
    Ok(match s {
        "no-op" => Action::NoOp,
        "create" => Action::Create,
        "read" => Action::Read,
        "update" => Action::Update,
        "delete-create" => Action::DeleteThenCreate,
        "create-delete" => Action::CreateThenDelete,
        "delete" => Action::Delete,
        "forget" => Action::Forget,
        other => return Err(PlanFileError::Format(format!("unknown action {other:?}"))),
    })
}

const REASONS: &[ActionReason] = &[
    ActionReason::ReplaceBecauseTainted,
    ActionReason::ReplaceByRequest,
    ActionReason::ReplaceByTriggers,
    ActionReason::ReplaceBecauseCannotUpdate,
    ActionReason::DeleteBecauseNoResourceConfig,
    ActionReason::DeleteBecauseWrongRepetition,
    ActionReason::DeleteBecauseCountIndex,
    ActionReason::DeleteBecauseEachKey,
    ActionReason::DeleteBecauseNoModule,
    ActionReason::DeleteBecauseNoMoveTarget,
    ActionReason::ReadBecauseConfigUnknown,
    ActionReason::ReadBecauseDependencyPending,
    ActionReason::ReadBecauseCheckNested,
];

fn mode_name(m: PlanMode) -> &'static str {
    match m {
        PlanMode::Normal => "normal",
        PlanMode::Destroy => "destroy",
        PlanMode::RefreshOnly => "refresh-only",
    }
}

fn enc_change(c: &ResourceInstanceChange) -> Change {
    Change {
        address: c.address.clone(),
        previous_address: c.previous_address.clone(),
        module_address: c.module_address.clone(),
        mode: c.mode.to_string(),
        type_name: c.type_name.clone(),
        name: c.name.clone(),
        index: c.index.as_ref().map(enc),
        provider_name: c.provider_name.clone(),
        deposed: c.deposed.clone(),
        action: action_name(c.action).into(),
        action_reason: c.action_reason.map(|r| r.json_name().to_string()),
        before: enc(&c.before),
        after: enc(&c.after),
        replace_paths: engine::stateobj::paths_json(&c.replace_paths),
        importing_id: c.importing_id.clone(),
        private: base64::engine::general_purpose::STANDARD.encode(&c.private),
        schema_version: c.schema_version,
    }
}

fn dec_change(c: &Change) -> Result<ResourceInstanceChange, PlanFileError> {
    Ok(ResourceInstanceChange {
        address: c.address.clone(),
        previous_address: c.previous_address.clone(),
        module_address: c.module_address.clone(),
        mode: if c.mode == "data" { "data" } else { "managed" },
        type_name: c.type_name.clone(),
        name: c.name.clone(),
        index: c.index.as_ref().map(dec).transpose()?,
        provider_name: c.provider_name.clone(),
        deposed: c.deposed.clone(),
        action: parse_action(&c.action)?,
        action_reason: c
            .action_reason
            .as_deref()
            .and_then(|r| REASONS.iter().copied().find(|x| x.json_name() == r)),
        before: dec(&c.before)?,
        after: dec(&c.after)?,
        replace_paths: parse_paths(&c.replace_paths),
        importing_id: c.importing_id.clone(),
        private: base64::engine::general_purpose::STANDARD
            .decode(&c.private)
            .map_err(|e| PlanFileError::Format(e.to_string()))?,
        schema_version: c.schema_version,
    })
}

/// Writes a plan file (atomically: a temp file renamed into place).
pub fn write(path: &Path, plan: &Plan, meta: &PlanMeta) -> Result<(), PlanFileError> {
    let file = FileV1 {
        format: MAGIC.into(),
        version: VERSION,
        terraform_version: meta.terraform_version.clone(),
        config_digest: meta.config_digest.clone(),
        workspace: meta.workspace.clone(),
        mode: mode_name(plan.mode).into(),
        prior_serial: plan.prior_serial,
        prior_lineage: plan.prior_lineage.clone(),
        timestamp: plan.timestamp.clone(),
        targets: plan.targets.clone(),
        force_replace: plan.force_replace.clone(),
        variables: plan
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), enc(v)))
            .collect(),
        changes: plan.resource_changes.iter().map(enc_change).collect(),
        data_reads: plan.data_reads.iter().map(enc_change).collect(),
        drift: plan.drift.iter().map(enc_change).collect(),
        outputs: plan
            .output_changes
            .iter()
            .map(|o| Out {
                name: o.name.clone(),
                action: action_name(o.action).into(),
                before: enc(&o.before),
                after: enc(&o.after),
                sensitive: o.sensitive,
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&file).map_err(|e| PlanFileError::Format(e.to_string()))?;
    let tmp = path.with_extension("weir-tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Reads a plan file.
pub fn read(path: &Path) -> Result<(Plan, PlanMeta), PlanFileError> {
    let bytes = std::fs::read(path)?;
    let file: FileV1 =
        serde_json::from_slice(&bytes).map_err(|e| PlanFileError::Format(e.to_string()))?;
    if file.format != MAGIC || file.version != VERSION {
        return Err(PlanFileError::Format(format!(
            "unsupported plan format {:?} version {}",
            file.format, file.version
        )));
    }
    let changes = file
        .changes
        .iter()
        .map(dec_change)
        .collect::<Result<Vec<_>, _>>()?;
    let data_reads = file
        .data_reads
        .iter()
        .map(dec_change)
        .collect::<Result<Vec<_>, _>>()?;
    let drift = file
        .drift
        .iter()
        .map(dec_change)
        .collect::<Result<Vec<_>, _>>()?;
    let mut outputs = Vec::new();
    for o in &file.outputs {
        outputs.push(OutputChange {
            name: o.name.clone(),
            action: parse_action(&o.action)?,
            before: dec(&o.before)?,
            after: dec(&o.after)?,
            sensitive: o.sensitive,
        });
    }
    let mut variables = BTreeMap::new();
    for (k, v) in &file.variables {
        variables.insert(k.clone(), dec(v)?);
    }
    let plan = Plan {
        mode: match file.mode.as_str() {
            "destroy" => PlanMode::Destroy,
            "refresh-only" => PlanMode::RefreshOnly,
            _ => PlanMode::Normal,
        },
        variables,
        resource_changes: changes,
        output_changes: outputs,
        data_reads,
        drift,
        targets: file.targets,
        force_replace: file.force_replace,
        prior_serial: file.prior_serial,
        prior_lineage: file.prior_lineage,
        timestamp: file.timestamp,
        errored: false,
    };
    Ok((
        plan,
        PlanMeta {
            config_digest: file.config_digest,
            workspace: file.workspace,
            terraform_version: file.terraform_version,
        },
    ))
}
