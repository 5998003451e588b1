//! Glue for the verbs that read or edit stored state: show, output, state *, workspace *,
//! force-unlock.

use std::io::{Read, Write};
use std::path::Path;

use operations::workspace::{Selected, WorkspaceError};
use operations::{Failure, Stack};
use states::State;
use statestore::{StoreError, WriteMeta};
use value::{Marks, Type, Value};

use crate::args::{parse_duration, Common, LockFlags, StateCmd, WorkspaceCmd};
use crate::ui;

fn fail(f: Failure, color: bool) -> u8 {
    ui::print_diags(&f.diagnostics, &f.sources, color);
    1
}

fn output_value(o: &states::OutputValue) -> Value {
    let ty = value::json::type_from_json(&o.type_json.to_value()).unwrap_or(Type::Dynamic);
    value::json::from_json(&o.value.to_value(), &ty).unwrap_or_else(|_| Value::null(ty))
}

/// `name = value` lines of `terraform output` (and after apply).
pub fn render_outputs(state: &State) -> String {
    let mut s = String::new();
    for (name, o) in &state.outputs {
        if o.sensitive {
            s.push_str(&format!("{name} = <sensitive>\n"));
        } else {
            s.push_str(&format!(
                "{name} = {}\n",
                value::render::console_value(&output_value(o))
            ));
        }
    }
    s
}

fn load_state(path: Option<&Path>) -> Result<State, Failure> {
    if let Some(p) = path {
        return match statestore::file::read_state_file(p) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Ok(State::new(operations::TERRAFORM_VERSION)),
            Err(e) => Err(Failure::new("Failed to load state", e.to_string())),
        };
    }
    let mut stack = crate::here();
    let ws = stack.workspace()?;
    stack.current_state(&ws)
}

pub fn output(
    name: Option<&str>,
    json: bool,
    raw: bool,
    path: Option<&Path>,
    common: &Common,
) -> u8 {
    let color = ui::color(common.no_color);
    let state = match load_state(path) {
        Ok(s) => s,
        Err(f) => return fail(f, color),
    };
    match name {
        None => {
            if json {
                let mut m = serde_json::Map::new();
                for (n, o) in &state.outputs {
                    m.insert(
                        n.clone(),
                        serde_json::json!({
                            "sensitive": o.sensitive,
                            "type": o.type_json.to_value(),
                            "value": o.value.to_value(),
                        }),
                    );
                }
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::Value::Object(m)).unwrap_or_default()
                );
                return 0;
            }
            if state.outputs.is_empty() {
                ui::print_diags(
                    &{
                        let mut d = diagnostics::Diagnostics::new();
                        d.push(diagnostics::Diagnostic::warning(
                            "No outputs found",
                            "The state file either has no outputs defined, or all the defined outputs are empty. Please define an output in your configuration with the `output` keyword and run `terraform refresh` for it to become available. If you are using interpolation, please verify the interpolated value is not empty. You can use the `terraform console` command to assist.",
                        ));
                        d
                    },
                    &diagnostics::Sources::new(),
                    color,
                );
                return 0;
            }
            print!("{}", render_outputs(&state));
            0
        }
        Some(n) => {
            let Some(o) = state.outputs.get(n) else {
                ui::error(
                    &format!("Output \"{n}\" not found"),
                    "The output variable requested could not be found in the state file. If you recently added this to your configuration, be sure to run `terraform apply`, since the state won't be updated with new output variables until that command is run.",
                    color,
                );
                return 1;
            };
            let v = output_value(o);
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&o.value.to_value()).unwrap_or_default()
                );
            } else if raw {
                match &v {
                    Value::String(s) => print!("{s}"),
                    Value::Number(n) => print!("{}", n.to_text()),
                    Value::Bool(b) => print!("{b}"),
                    Value::Null(_) => {
                        ui::error(
                            "Unsupported value for raw output",
                            &format!("The -raw option only supports strings, numbers, and boolean values, but output value \"{n}\" is null.\n\nUse the -json option for machine-readable representations of output values that have complex types."),
                            color,
                        );
                        return 1;
                    }
                    other => {
                        ui::error(
                            "Unsupported value for raw output",
                            &format!("The -raw option only supports strings, numbers, and boolean values, but output value \"{n}\" is {}.\n\nUse the -json option for machine-readable representations of output values that have complex types.", other.ty().friendly_name()),
                            color,
                        );
                        return 1;
                    }
                }
            } else {
                let _ = Marks::SENSITIVE;
                println!("{}", value::render::console_value(&v));
            }
            0
        }
    }
}

pub fn show(path: Option<&Path>, json: bool, common: &Common) -> u8 {
    let color = ui::color(common.no_color);
    if let Some(p) = path {
        if let Ok((plan, _meta)) = operations::planfile::read(p) {
            let mut stack = crate::here();
            return match operations::show::plan(&mut stack, &plan, json, color) {
                Ok(s) => {
                    print!("{s}");
                    0
                }
                Err(f) => fail(f, color),
            };
        }
    }
    let state = match load_state(path) {
        Ok(s) => s,
        Err(f) => return fail(f, color),
    };
    let mut stack = crate::here();
    match operations::show::state(&mut stack, &state, json, color) {
        Ok(s) => {
            print!("{s}");
            0
        }
        Err(f) => fail(f, color),
    }
}

/// Takes the lock unless `-lock=false`, then runs `f` with the stack and workspace.
fn with_lock<T>(
    stack: &mut Stack,
    lock: &LockFlags,
    operation: &str,
    f: impl FnOnce(&mut Stack, &str) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let ws = stack.workspace()?;
    let timeout = lock_timeout(lock)?;
    if lock.lock {
        stack.lock(&ws, operation, timeout)?;
    }
    let out = f(stack, &ws);
    stack.unlock();
    out
}

fn lock_timeout(lock: &LockFlags) -> Result<std::time::Duration, Failure> {
    parse_duration(&lock.lock_timeout).ok_or_else(|| {
        Failure::new(
            "Invalid lock-timeout",
            format!(
                "The -lock-timeout value {:?} is not a valid duration.",
                lock.lock_timeout
            ),
        )
    })
}

/// `2026-11-30T01:14:39.276956951Z` → `2026-11-30T01:14:39Z` (history records UTC).
fn created_to_seconds(created: &str) -> String {
    match created.split_once('.') {
        Some((seconds, _)) if created.ends_with('Z') => format!("{seconds}Z"),
        _ => created.to_owned(),
    }
}

/// `state history`: one row per recorded version, columns sized to their contents, the
/// state of record marked with `*`.
fn history_table(versions: &[statestore::VersionInfo], current: Option<&str>) -> String {
    let header = ["SERIAL", "CREATED", "OPERATION", "WHO", "BYTES"];
    let rows: Vec<[String; 5]> = versions
        .iter()
        .map(|v| {
            [
                v.serial.to_string(),
                created_to_seconds(&v.created),
                v.operation.clone(),
                if v.who.is_empty() {
                    "-".into()
                } else {
                    v.who.clone()
                },
                v.size.to_string(),
            ]
        })
        .collect();
    let mut width = header.map(|h| h.len());
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |mark: &str, cells: [&str; 5]| {
        format!(
            "{mark} {:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4]
        )
    };
    let mut out = line(" ", header);
    // Only the last entry with the current bytes is the state of record.
    let current_at = current.and_then(|d| versions.iter().rposition(|v| v.digest == d));
    for (i, r) in rows.iter().enumerate() {
        let mark = if Some(i) == current_at { "*" } else { " " };
        out.push_str(&line(mark, [&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    out
}

fn read_push_source(path: &Path) -> Result<State, Failure> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| Failure::new("Failed to read state", e.to_string()))?;
        b
    } else {
        std::fs::read(path).map_err(|e| {
            Failure::new(
                "Failed to read state",
                format!(
                    "Error reading source state {:?}: {e}",
                    path.display().to_string()
                ),
            )
        })?
    };
    State::from_slice(&bytes).map_err(|e| {
        Failure::new(
            "Failed to read state",
            format!(
                "Error reading source state {:?}: {e}",
                path.display().to_string()
            ),
        )
    })
}

pub fn state(cmd: StateCmd) -> u8 {
    let color = ui::color(false);
    let mut stack = crate::here();
    let result: Result<u8, Failure> = (|| match cmd {
        StateCmd::List { addresses } => {
            let ws = stack.workspace()?;
            let state = stack.current_state(&ws)?;
            let filters: Vec<addrs::Target> = addresses
                .iter()
                .map(|a| {
                    addrs::parse_target(a)
                        .map_err(|e| Failure::new(e.summary.clone(), e.detail.clone()))
                })
                .collect::<Result<_, _>>()?;
            for line in operations::state_ops::list(&state, &filters) {
                println!("{line}");
            }
            Ok(0)
        }
        StateCmd::Show { address, common } => {
            let ws = stack.workspace()?;
            let state = stack.current_state(&ws)?;
            let out = operations::show::state_resource(
                &mut stack,
                &state,
                &address,
                ui::color(common.no_color),
            )?;
            print!("{out}");
            Ok(0)
        }
        StateCmd::Mv {
            source,
            destination,
            dry_run,
            lock,
        } => with_lock(&mut stack, &lock, "OperationTypeInvalid", |stack, ws| {
            let mut state = stack.current_state(ws)?;
            let n = operations::state_ops::mv(&mut state, &source, &destination)?;
            if dry_run {
                println!("Would move {source:?} to {destination:?}");
                return Ok(0);
            }
            stack
                .store()?
                .write(ws, &mut state, &WriteMeta::new("state-mv"))
                .map_err(operations::persist_failure)?;
            println!("Move {source:?} to {destination:?}");
            println!("Successfully moved {n} object(s).");
            Ok(0)
        }),
        StateCmd::Rm {
            addresses,
            dry_run,
            lock,
        } => with_lock(&mut stack, &lock, "OperationTypeInvalid", |stack, ws| {
            let mut state = stack.current_state(ws)?;
            let removed = operations::state_ops::rm(&mut state, &addresses)?;
            for r in &removed {
                if dry_run {
                    println!("Would remove {r}");
                } else {
                    println!("Removed {r}");
                }
            }
            if dry_run {
                println!("Would have removed {} resource instance(s).", removed.len());
                return Ok(0);
            }
            stack
                .store()?
                .write(ws, &mut state, &WriteMeta::new("state-rm"))
                .map_err(operations::persist_failure)?;
            println!(
                "Successfully removed {} resource instance(s).",
                removed.len()
            );
            Ok(0)
        }),
        StateCmd::Pull => {
            let ws = stack.workspace()?;
            stack.recover_if_pending(&ws)?;
            if let Some(bytes) = stack.store()?.read_bytes(&ws)? {
                // The bytes of the state of record, then the newline Terraform's output adds.
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&bytes);
                let _ = out.write_all(b"\n");
            }
            Ok(0)
        }
        StateCmd::Push { path, force, lock } => {
            let state = read_push_source(&path)?;
            with_lock(&mut stack, &lock, "OperationTypeInvalid", |stack, ws| {
                stack
                    .store()?
                    .push(ws, &state, force, &WriteMeta::new("push"))
                    .map_err(|e| match e {
                        StoreError::PushLineage { .. }
                        | StoreError::PushOlderSerial { .. }
                        | StoreError::PushSameSerial(_) => {
                            Failure::new("Failed to write state", e.to_string())
                        }
                        other => operations::persist_failure(other),
                    })?;
                Ok(0)
            })
        }
        StateCmd::History => {
            let ws = stack.workspace()?;
            let store = stack.store()?;
            // Reading records a version Terraform wrote; an unreadable state of record must
            // not stop the listing (it is how one picks a version to roll back to).
            let current = match store.read_bytes(&ws) {
                Ok(bytes) => bytes,
                Err(_) => store.backend().get(&ws).ok().flatten(),
            }
            .map(|b| statestore::digest(&b));
            let hist = store.history(&ws)?;
            if hist.is_empty() {
                println!("No state versions in workspace {ws:?}.");
                return Ok(0);
            }
            print!("{}", history_table(&hist, current.as_deref()));
            Ok(0)
        }
        StateCmd::Rollback {
            serial,
            keep_newer,
            lock,
        } => with_lock(&mut stack, &lock, "OperationTypeInvalid", |stack, ws| {
            let r = stack.store()?.rollback(
                ws,
                serial,
                keep_newer,
                &WriteMeta::new(format!("rollback to {serial}")),
            )?;
            if let Some(why) = &r.current_unreadable {
                ui::warning(
                    "The current state could not be read",
                    &format!("{why}\n\nIt stays in history; the rollback went ahead without it, so weir could not check which resource instances the restored version no longer tracks."),
                    color,
                );
            }
            if !r.forgotten.is_empty() {
                ui::warning(
                    "Resource instances are no longer tracked",
                    &format!(
                        "The state of serial {serial} does not track these resource instances, which the state rolled back from did:\n{}\n\nweir no longer manages their remote objects: the next plan proposes to create them again, and the existing objects may need to be imported or deleted by hand. To keep tracking them, roll back with -keep-newer instead.",
                        r.forgotten.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
                    ),
                    color,
                );
            }
            if !r.kept.is_empty() {
                println!(
                    "Kept {} resource instance(s) created after serial {serial}: {}.",
                    r.kept.len(),
                    r.kept.join(", ")
                );
            }
            println!(
                "Restored the state of serial {serial} as serial {}.",
                r.version.serial
            );
            Ok(0)
        }),
        StateCmd::Recover {
            apply,
            discard,
            lock,
        } => {
            let ws = stack.workspace()?;
            if (apply || discard) && lock.lock {
                stack.lock_for_recovery(&ws, lock_timeout(&lock)?)?;
            }
            let pending = stack.store()?.pending_journals(&ws)?;
            if pending.is_empty() {
                println!("No interrupted apply to recover in workspace {ws:?}.");
                return Ok(0);
            }
            for j in pending {
                let h = &j.header;
                println!(
                    "Journal {}\n  {} by {}, started {}, from lineage {} serial {}: {} recorded operation(s)",
                    j.location, h.operation, h.who, h.started, h.base_lineage, h.base_serial, j.len()
                );
                for line in j.describe()? {
                    println!("    {line}");
                }
                if apply {
                    let r = stack.store()?.recover_onto_current(&ws, j)?;
                    match r.version {
                        Some(v) => println!("Applied them to the state: serial {}.", v.serial),
                        None => println!("The state already holds them; the journal is removed."),
                    }
                } else if discard {
                    stack.store()?.set_aside(j)?;
                    println!("Set the journal aside; it will not be recovered.");
                }
            }
            if !apply && !discard {
                println!("\nRun \"weir state recover -apply\" to apply the recorded operations to the current state, or \"weir state recover -discard\" to set the journal aside.");
            }
            stack.unlock();
            Ok(0)
        }
    })();
    match result {
        Ok(c) => c,
        Err(f) => fail(f, color),
    }
}

/// Prints a workspace verb's error the way Terraform's old-style commands do (plain text, or a
/// diagnostic for the not-empty check).
fn workspace_error(e: WorkspaceError, trim: bool, color: bool) -> u8 {
    match e {
        WorkspaceError::Store(e @ StoreError::WorkspaceNotEmpty { .. }) => {
            let mut d = diagnostics::Diagnostics::new();
            d.push(diagnostics::Diagnostic::error(
                statestore::WORKSPACE_NOT_EMPTY_SUMMARY,
                e.to_string(),
            ));
            ui::plain_error(&ui::render_diags(&d, color), color);
        }
        WorkspaceError::Store(StoreError::Lock(l)) => {
            ui::error(statestore::LOCK_ERROR_SUMMARY, &l.to_string(), color);
        }
        other => {
            let text = other.to_string();
            ui::plain_error(if trim { text.trim() } else { &text }, color);
        }
    }
    1
}

const CREATED: &str = "Created and switched to workspace {name:?}!";

fn created(name: &str, color: bool) {
    let head = CREATED.replace("{name:?}", &format!("{name:?}"));
    let body = "You're now on a new, empty workspace. Workspaces isolate their state,\nso if you run \"terraform plan\" Terraform will not see any existing state\nfor this configuration.";
    if color {
        println!("\x1b[0m\x1b[32m\x1b[1m{head}\x1b[0m\x1b[32m\n\n{body}\x1b[0m");
    } else {
        println!("{head}\n\n{body}");
    }
}

pub fn workspace(cmd: WorkspaceCmd) -> u8 {
    let color = ui::color(false);
    let mut stack = crate::here();
    match cmd {
        WorkspaceCmd::New { name, lock: _ } => {
            match operations::workspace::new(&mut stack, &name) {
                Ok(()) => {
                    created(&name, color);
                    0
                }
                Err(e) => workspace_error(e, false, color),
            }
        }
        WorkspaceCmd::Select { name, or_create } => {
            match operations::workspace::select(&mut stack, &name, or_create) {
                Ok(Selected::Already) => 0,
                Ok(Selected::Created) => {
                    created(&name, color);
                    0
                }
                Ok(Selected::Switched) => {
                    if color {
                        println!("\x1b[0m\x1b[32mSwitched to workspace {name:?}.\x1b[0m");
                    } else {
                        println!("Switched to workspace {name:?}.");
                    }
                    0
                }
                Err(e) => workspace_error(e, false, color),
            }
        }
        WorkspaceCmd::List => match operations::workspace::list(&mut stack) {
            Ok((names, current, overridden)) => {
                let mut out = String::new();
                for n in names {
                    out.push_str(if n == current { "* " } else { "  " });
                    out.push_str(&n);
                    out.push('\n');
                }
                println!("{out}");
                if overridden {
                    println!("\n\nThe active workspace is being overridden using the TF_WORKSPACE environment\nvariable.\n");
                }
                0
            }
            Err(e) => workspace_error(e, false, color),
        },
        WorkspaceCmd::Show => match stack.selection().workspace(&stack.dir) {
            Ok(w) => {
                println!("{w}");
                0
            }
            Err(e) => {
                ui::plain_error(&format!("Error selecting workspace: {e}"), color);
                1
            }
        },
        WorkspaceCmd::Delete { name, force, lock } => {
            let timeout = match lock_timeout(&lock) {
                Ok(t) => t,
                Err(f) => return fail(f, color),
            };
            match operations::workspace::delete(&mut stack, &name, force, lock.lock, timeout) {
                Ok(had_resources) => {
                    if color {
                        println!("\x1b[0m\x1b[32mDeleted workspace {name:?}!\x1b[0m");
                    } else {
                        println!("Deleted workspace {name:?}!");
                    }
                    if had_resources {
                        let warn = format!("WARNING: {name:?} was non-empty.\nThe resources managed by the deleted workspace may still exist,\nbut are no longer manageable by Terraform since the state has\nbeen deleted.\n");
                        if color {
                            println!("\x1b[0m\x1b[33m{warn}\x1b[0m");
                        } else {
                            println!("{warn}");
                        }
                    }
                    0
                }
                // Terraform trims these two messages for `delete` only.
                Err(e) => workspace_error(e, true, color),
            }
        }
    }
}

pub fn force_unlock(id: &str, force: bool) -> u8 {
    let color = ui::color(false);
    let mut stack = crate::here();
    let result: Result<(), String> = (|| {
        let ws = stack.workspace().map_err(|_| {
            "Error selecting workspace: Invalid workspace name set using TF_WORKSPACE".to_owned()
        })?;
        let store = stack
            .store()
            .map_err(|f| format!("Failed to load state: {}", first_detail(&f)))?;
        if !force {
            // Terraform's local backend: a lock dies with its process, so there is nothing
            // another process could safely release.
            if store.backend().kind() == "local" {
                return Err("Local state cannot be unlocked by another process".into());
            }
            if !ui::confirm(
                "Do you really want to force-unlock?",
                "  Terraform will remove the lock on the remote state.\n  This will allow local Terraform commands to modify this state, even though it\n  may still be in use. Only 'yes' will be accepted to confirm.",
            ) {
                println!("force-unlock cancelled.");
                return Err(String::new());
            }
        }
        store
            .unlock(&ws, id)
            .map_err(|e| format!("Failed to unlock state: {e}"))
    })();
    match result {
        Ok(()) => {
            if color {
                println!("\x1b[0m\x1b[1m\x1b[32mTerraform state has been successfully unlocked!\x1b[0m\x1b[32m\n\nThe state has been unlocked, and Terraform commands should now be able to\nobtain a new lock on the remote state.\x1b[0m");
            } else {
                println!("Terraform state has been successfully unlocked!\n\nThe state has been unlocked, and Terraform commands should now be able to\nobtain a new lock on the remote state.");
            }
            0
        }
        Err(msg) => {
            if !msg.is_empty() {
                ui::plain_error(&msg, color);
            }
            1
        }
    }
}

fn first_detail(f: &Failure) -> String {
    f.diagnostics
        .iter()
        .next()
        .map(|d| d.detail.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_columns_fit_their_contents() {
        let v = |serial, op: &str, who: &str, size, digest: &str| statestore::VersionInfo {
            serial,
            lineage: "l".into(),
            created: "2026-11-30T01:14:39.276956951Z".into(),
            operation: op.into(),
            who: who.into(),
            size,
            digest: digest.into(),
        };
        let table = history_table(
            &[
                v(1, "apply", "root@vm", 2081, "a"),
                v(2, "external", "", 2081, "b"),
                v(3, "rollback to 1", "someone@a-long-host-name", 123456, "a"),
            ],
            Some("a"),
        );
        assert_eq!(
            table,
            "  SERIAL  CREATED               OPERATION      WHO                        BYTES\n\
            \x20 1       2026-11-30T01:14:39Z  apply          root@vm                     2081\n\
            \x20 2       2026-11-30T01:14:39Z  external       -                           2081\n\
             * 3       2026-11-30T01:14:39Z  rollback to 1  someone@a-long-host-name  123456\n"
        );
    }
}
