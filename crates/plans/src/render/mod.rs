//! Terraform's human plan output: the action legend, one `# addr will be …` block per resource
//! instance with `+ / - / ~ / -/+ / +/-` markers and aligned attributes (nested values, lists
//! with line diffs, heredoc strings, `(known after apply)`, `(sensitive value)`, hidden
//! unchanged attributes), the summary line and "Changes to Outputs".

use std::collections::BTreeSet;

use providers::schema::Block;
use value::Value;

use crate::{Action, Plan, PlanMode, ResourceInstanceChange};

mod blocks;
mod state;
mod values;

use blocks::*;
pub use state::{render_state, render_state_instance};
use values::*;

#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    pub color: bool,
}

/// Looks up the schema block of (provider source, mode, type).
pub type SchemaLookup<'a> = dyn Fn(&str, &str, &str) -> Option<&'a Block> + 'a;

pub(super) const GREEN: &str = "\x1b[32m";

pub(super) const RED: &str = "\x1b[31m";

pub(super) const YELLOW: &str = "\x1b[33m";

pub(super) const CYAN: &str = "\x1b[36m";

pub(super) const BOLD: &str = "\x1b[1m";

pub(super) const RESET: &str = "\x1b[0m";

/// The full plan text (as `terraform plan` prints it before its trailer, and `show PLANFILE`).
pub fn render_plan(plan: &Plan, schemas: &SchemaLookup, opts: RenderOptions) -> String {
    render_plan_relevant(plan, schemas, opts, &[])
}

/// The drift a normal plan shows: for each drifted object, only the changes to attributes
/// the plan's changes depend on (`relevant`: resource address and top-level attribute, from
/// `relevant_attributes`), as blocks; empty when nothing relevant drifted.
fn relevant_drift(
    plan: &Plan,
    schemas: &SchemaLookup,
    opts: RenderOptions,
    relevant: &[(String, String)],
) -> Vec<String> {
    let mut blocks = Vec::new();
    for c in &plan.drift {
        let attrs: Vec<&str> = relevant
            .iter()
            .filter(|(r, _)| r.is_empty() || *r == c.address)
            .map(|(_, a)| a.as_str())
            .collect();
        if attrs.is_empty() {
            continue;
        }
        let mut shown = c.clone();
        if c.action == Action::Update {
            // Changes to other attributes count as unchanged.
            let (Value::Object(before), Value::Object(after)) =
                (c.before.unmarked(), c.after.unmarked())
            else {
                continue;
            };
            let mut restricted = before.clone();
            for a in &attrs {
                if let Some(v) = after.get(*a) {
                    restricted.insert(a.to_string(), v.clone());
                }
            }
            let restricted = Value::Object(restricted);
            if restricted.raw_equals(c.before.unmarked()) {
                continue;
            }
            shown.after = restricted;
        }
        let schema = schemas(&c.provider_name, c.mode, &c.type_name);
        blocks.push(resource_block(&shown, schema, opts, true));
    }
    blocks
}

/// [`render_plan`], showing drift that matters to the plan (`relevant`, as in
/// [`relevant_drift`]) the way Terraform does before the planned changes.
pub fn render_plan_relevant(
    plan: &Plan,
    schemas: &SchemaLookup,
    opts: RenderOptions,
    relevant: &[(String, String)],
) -> String {
    let mut out = String::new();
    let shown: Vec<&ResourceInstanceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| {
            c.action != Action::NoOp || c.previous_address.is_some() || c.importing_id.is_some()
        })
        .collect();
    let output_changes: Vec<&crate::OutputChange> = plan
        .output_changes
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .collect();
    // Terraform shows the objects that changed outside it: all of them in a refresh-only plan,
    // otherwise what the planned changes depend on, and only when there are changes.
    if plan.mode == PlanMode::RefreshOnly {
        if plan.drift.is_empty() {
            out.push_str("\nNo changes. Your infrastructure still matches the configuration.\n\nTerraform has checked that the real remote objects still match the result of\nyour most recent changes, and found no differences.\n");
            return out;
        }
        out.push_str("\nNote: Objects have changed outside of Terraform\n\nTerraform detected the following changes made outside of Terraform since the\nlast \"terraform apply\" which may have affected this plan:\n");
        for c in &plan.drift {
            out.push('\n');
            let schema = schemas(&c.provider_name, c.mode, &c.type_name);
            out.push_str(&resource_block(c, schema, opts, true));
        }
        out.push_str("\n\nThis is a refresh-only plan, so Terraform will not take any actions to undo\nthese. If you were expecting these changes then you can apply this plan to\nrecord the updated values in the Terraform state without changing any remote\nobjects.\n");
        return out;
    }
    if !shown.is_empty() || !output_changes.is_empty() {
        let drift = relevant_drift(plan, schemas, opts, relevant);
        if !drift.is_empty() {
            out.push_str("\nNote: Objects have changed outside of Terraform\n\nTerraform detected the following changes made outside of Terraform since the\nlast \"terraform apply\" which may have affected this plan:\n");
            for b in drift {
                out.push('\n');
                out.push_str(&b);
            }
            out.push_str("\n\nUnless you have made equivalent changes to your configuration, or ignored the\nrelevant attributes using ignore_changes, the following plan may include\nactions to undo or respond to these changes.\n");
            out.push_str(&format!("\n{}\n", "─".repeat(77)));
        }
    }
    if shown.is_empty() && output_changes.is_empty() {
        out.push_str(if plan.mode == PlanMode::Destroy {
            "\nNo changes. No objects need to be destroyed.\n\n"
        } else {
            "\nNo changes. Your infrastructure matches the configuration.\n\n"
        });
        out.push_str(if plan.mode == PlanMode::Destroy {
            "Either you have not created any objects yet or the existing objects were\nalready deleted outside of Terraform.\n"
        } else {
            "Terraform has compared your real infrastructure against your configuration\nand found no differences, so no changes are needed.\n"
        });
        return out;
    }
    let actions: BTreeSet<u8> = shown
        .iter()
        .map(|c| match c.action {
            // Terraform's legend order.
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
            Action::DeleteThenCreate => 3,
            Action::CreateThenDelete => 4,
            Action::Read => 5,
            Action::Forget => 6,
            Action::NoOp => 7,
        })
        .collect();
    if !shown.is_empty() {
        if actions.iter().any(|a| *a < 7) {
            out.push_str("\nTerraform used the selected providers to generate the following execution\nplan. Resource actions are indicated with the following symbols:\n");
            let c = |s: &str, col: &str| {
                if opts.color {
                    format!("{col}{s}{RESET}")
                } else {
                    s.to_string()
                }
            };
            for a in &actions {
                match a {
                    0 => out.push_str(&format!("  {} create\n", c("+", GREEN))),
                    1 => out.push_str(&format!("  {} update in-place\n", c("~", YELLOW))),
                    2 => out.push_str(&format!("  {} destroy\n", c("-", RED))),
                    3 => out.push_str(&format!(
                        "{}/{} destroy and then create replacement\n",
                        c("-", RED),
                        c("+", GREEN)
                    )),
                    4 => out.push_str(&format!(
                        "{}/{} create replacement and then destroy\n",
                        c("+", GREEN),
                        c("-", RED)
                    )),
                    5 => out.push_str(&format!(" {} read (data resources)\n", c("<=", CYAN))),
                    _ => {}
                }
            }
        }
        out.push_str("\nTerraform will perform the following actions:\n");
        for c in &shown {
            out.push('\n');
            let schema = schemas(&c.provider_name, c.mode, &c.type_name);
            out.push_str(&resource_block(c, schema, opts, false));
        }
        out.push_str(&format!(
            "\n{}\n",
            if opts.color {
                format!("{BOLD}{}{RESET}", plan.summary())
            } else {
                plan.summary().to_string()
            }
        ));
    }
    if !output_changes.is_empty() {
        out.push_str("\nChanges to Outputs:\n");
        let ctx = Ctx {
            color: opts.color,
            replace_paths: Vec::new(),
            legacy: std::cell::Cell::new(false),
            no_null: std::cell::Cell::new(false),
            show_unchanged: std::cell::Cell::new(false),
            json: std::cell::Cell::new(true),
        };
        // Names align over every output, unchanged ones included, as Terraform's do.
        let w = plan
            .output_changes
            .iter()
            .map(|o| o.name.chars().count())
            .max()
            .unwrap_or(0);
        for o in &output_changes {
            let (b, a) = match o.action {
                Action::Create => (None, Some(&o.after)),
                Action::Delete => (Some(&o.before), None),
                // An output that becomes null is shown as going away, as Terraform does.
                _ if o.after.is_null() => (Some(&o.before), None),
                _ => (Some(&o.before), Some(&o.after)),
            };
            let (text, op) = if o.sensitive {
                (
                    "(sensitive value)".to_string(),
                    match o.action {
                        Action::Create => Op::Create,
                        Action::Delete => Op::Delete,
                        _ => Op::Update,
                    },
                )
            } else {
                value_change(&ctx, b, a, 2, &mut Vec::new())
            };
            out.push_str(&format!(
                "  {} {:<w$} = {}\n",
                ctx.sym(op),
                o.name,
                text,
                w = w
            ));
        }
        if shown.is_empty() {
            out.push_str("\nYou can apply this plan to save these new output values to the Terraform\nstate, without changing any real infrastructure.\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(addr: &str, action: Action, before: Value, after: Value) -> ResourceInstanceChange {
        let (ty, name) = addr.split_once('.').unwrap();
        ResourceInstanceChange {
            address: addr.into(),
            previous_address: None,
            module_address: None,
            mode: "managed",
            type_name: ty.into(),
            name: name.into(),
            index: None,
            provider_name: "registry.terraform.io/hashicorp/aws".into(),
            deposed: None,
            action,
            action_reason: None,
            before,
            after,
            replace_paths: Vec::new(),
            importing_id: None,
            private: Vec::new(),
            schema_version: 0,
        }
    }

    fn obj(pairs: &[(&str, &str)]) -> Value {
        Value::object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::string(*v))),
        )
    }

    fn plan() -> Plan {
        Plan {
            resource_changes: vec![change(
                "aws_subnet.a",
                Action::Update,
                obj(&[("id", "s-1"), ("vpc_id", "v-1")]),
                obj(&[("id", "s-1"), ("vpc_id", "v-2")]),
            )],
            drift: vec![change(
                "aws_vpc.main",
                Action::Update,
                obj(&[("id", "v-1"), ("cidr_block", "10.0.0.0/16"), ("owner", "a")]),
                obj(&[("id", "v-2"), ("cidr_block", "10.0.0.0/16"), ("owner", "b")]),
            )],
            ..Plan::default()
        }
    }

    #[test]
    fn a_normal_plan_shows_only_drift_its_changes_depend_on() {
        let none = |_: &str, _: &str, _: &str| None;
        let opts = RenderOptions { color: false };
        let relevant = vec![("aws_vpc.main".to_string(), "id".to_string())];
        let text = render_plan_relevant(&plan(), &none, opts, &relevant);
        assert!(
            text.starts_with("\nNote: Objects have changed outside of Terraform\n"),
            "{text}"
        );
        assert!(text.contains("  # aws_vpc.main has changed\n"), "{text}");
        // The relevant attribute's change shows; the irrelevant one counts as unchanged.
        assert!(text.contains("~ id         = \"v-1\" -> \"v-2\""), "{text}");
        assert!(!text.contains("\"a\" -> \"b\""), "{text}");
        assert!(
            text.contains(
                "the following plan may include\nactions to undo or respond to these changes.\n\n─"
            ),
            "{text}"
        );
        assert!(
            text.contains("# aws_subnet.a will be updated in-place"),
            "{text}"
        );
        // Nothing relevant drifted: no note.
        let other = vec![("aws_vpc.main".to_string(), "cidr_block".to_string())];
        let text = render_plan_relevant(&plan(), &none, opts, &other);
        assert!(!text.contains("Objects have changed"), "{text}");
        // Drift alone, with nothing to change, is not shown in a normal plan.
        let mut p = plan();
        p.resource_changes.clear();
        let text = render_plan_relevant(&p, &none, opts, &relevant);
        assert!(!text.contains("Objects have changed"), "{text}");
    }
}
