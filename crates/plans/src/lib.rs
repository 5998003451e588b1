//! Planned changes: the model the engine produces and apply consumes, plus the pieces of
//! Terraform's `show -json` plan format that are derived from values (after_unknown,
//! sensitive trees, unknown-free values).

pub mod json;
pub mod render;
pub mod show;
pub mod views;

use std::collections::BTreeMap;
use value::{PathStep, Value};

/// A change action, as in Terraform's plan (`actions` in the JSON form).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    NoOp,
    Create,
    Read,
    Update,
    /// Replace by destroying first (the default).
    DeleteThenCreate,
    /// Replace by creating first (create_before_destroy).
    CreateThenDelete,
    Delete,
    /// Remove from state without destroying (`removed` blocks).
    Forget,
}

impl Action {
    /// The `actions` array of the JSON plan.
    pub fn json_actions(self) -> &'static [&'static str] {
        match self {
            Action::NoOp => &["no-op"],
            Action::Create => &["create"],
            Action::Read => &["read"],
            Action::Update => &["update"],
            Action::DeleteThenCreate => &["delete", "create"],
            Action::CreateThenDelete => &["create", "delete"],
            Action::Delete => &["delete"],
            Action::Forget => &["forget"],
        }
    }

    pub fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }
}

/// Why an action was chosen (`action_reason` in the JSON plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionReason {
    ReplaceBecauseTainted,
    ReplaceByRequest,
    ReplaceByTriggers,
    ReplaceBecauseCannotUpdate,
    DeleteBecauseNoResourceConfig,
    DeleteBecauseWrongRepetition,
    DeleteBecauseCountIndex,
    DeleteBecauseEachKey,
    DeleteBecauseNoModule,
    DeleteBecauseNoMoveTarget,
    ReadBecauseConfigUnknown,
    ReadBecauseDependencyPending,
    ReadBecauseCheckNested,
}

impl ActionReason {
    pub fn json_name(self) -> &'static str {
        match self {
            ActionReason::ReplaceBecauseTainted => "replace_because_tainted",
            ActionReason::ReplaceByRequest => "replace_by_request",
            ActionReason::ReplaceByTriggers => "replace_by_triggers",
            ActionReason::ReplaceBecauseCannotUpdate => "replace_because_cannot_update",
            ActionReason::DeleteBecauseNoResourceConfig => "delete_because_no_resource_config",
            ActionReason::DeleteBecauseWrongRepetition => "delete_because_wrong_repetition",
            ActionReason::DeleteBecauseCountIndex => "delete_because_count_index",
            ActionReason::DeleteBecauseEachKey => "delete_because_each_key",
            ActionReason::DeleteBecauseNoModule => "delete_because_no_module",
            ActionReason::DeleteBecauseNoMoveTarget => "delete_because_no_move_target",
            ActionReason::ReadBecauseConfigUnknown => "read_because_config_unknown",
            ActionReason::ReadBecauseDependencyPending => "read_because_dependency_pending",
            ActionReason::ReadBecauseCheckNested => "read_because_check_nested",
        }
    }
}

/// The planned change of one resource instance (or one deposed object of it).
#[derive(Clone, Debug)]
pub struct ResourceInstanceChange {
    /// The instance address as displayed (`module.a.aws_s3_bucket.b["x"]`).
    pub address: String,
    /// The address before a `moved` block renamed it.
    pub previous_address: Option<String>,
    pub module_address: Option<String>,
    /// "managed" or "data".
    pub mode: &'static str,
    pub type_name: String,
    pub name: String,
    /// The instance key: a number (count) or a string (for_each).
    pub index: Option<Value>,
    /// The provider's fully qualified source address.
    pub provider_name: String,
    pub deposed: Option<String>,
    pub action: Action,
    pub action_reason: Option<ActionReason>,
    /// Values with marks (sensitive) and, for `after`, unknowns.
    pub before: Value,
    pub after: Value,
    /// Attribute paths that force replacement.
    pub replace_paths: Vec<Vec<PathStep>>,
    /// Set when the change imports an existing object.
    pub importing_id: Option<String>,
    pub private: Vec<u8>,
    pub schema_version: i64,
}

/// The planned change of a root module output.
#[derive(Clone, Debug)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    pub before: Value,
    pub after: Value,
    pub sensitive: bool,
}

/// Which kind of plan was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PlanMode {
    #[default]
    Normal,
    Destroy,
    RefreshOnly,
}

/// A whole plan.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub mode: PlanMode,
    /// Root module input variable values used for the plan.
    pub variables: BTreeMap<String, Value>,
    pub resource_changes: Vec<ResourceInstanceChange>,
    pub output_changes: Vec<OutputChange>,
    /// Data sources read while planning (action `Read`, the value in `after`). They belong to
    /// the refreshed state the plan was made against (`prior_state` of `show -json`), and apply
    /// uses them instead of reading again, as Terraform does. Deferred reads are in
    /// `resource_changes` instead.
    pub data_reads: Vec<ResourceInstanceChange>,
    /// Managed objects that refresh found changed or gone outside Terraform: `before` is the
    /// stored value, `after` the refreshed one, the action `Update` or `Delete` (Terraform's
    /// `resource_drift`).
    pub drift: Vec<ResourceInstanceChange>,
    /// The `-target` addresses, as given.
    pub targets: Vec<String>,
    /// Addresses to replace (`-replace`).
    pub force_replace: Vec<String>,
    /// The serial and lineage of the state the plan was made from; apply refuses a plan whose
    /// state has changed since.
    pub prior_serial: Option<u64>,
    pub prior_lineage: Option<String>,
    /// RFC 3339 time the plan was made (`plantimestamp()`).
    pub timestamp: String,
    pub errored: bool,
}

impl Plan {
    /// Counts for "Plan: X to add, Y to change, Z to destroy." (and imports/forgets).
    pub fn summary(&self) -> PlanSummary {
        let mut s = PlanSummary::default();
        for c in &self.resource_changes {
            if c.mode == "data" {
                continue;
            }
            if c.importing_id.is_some() {
                s.import += 1;
            }
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Forget => s.forget += 1,
                Action::NoOp | Action::Read => {}
            }
        }
        s
    }

    /// Whether applying the plan would change anything (resources or outputs).
    pub fn has_changes(&self) -> bool {
        self.resource_changes.iter().any(|c| {
            !matches!(c.action, Action::NoOp | Action::Read)
                || c.previous_address.is_some()
                || c.importing_id.is_some()
        }) || self.output_changes.iter().any(|c| c.action != Action::NoOp)
            // A refresh-only plan has something to apply when refresh found drift.
            || (self.mode == PlanMode::RefreshOnly && !self.drift.is_empty())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanSummary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub import: usize,
    pub forget: usize,
}

impl std::fmt::Display for PlanSummary {
    /// Terraform's summary line, e.g. "Plan: 1 to import, 2 to add, 0 to change, 0 to destroy."
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plan: ")?;
        if self.import > 0 {
            write!(f, "{} to import, ", self.import)?;
        }
        // Terraform 1.11 leaves forgotten objects out of this line (its plan lists them).
        write!(
            f,
            "{} to add, {} to change, {} to destroy.",
            self.add, self.change, self.destroy
        )
    }
}
