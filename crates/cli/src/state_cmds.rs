//! Glue for the verbs that read or edit stored state: show, output, state *, workspace *,
//! force-unlock.

use std::io::Read;
use std::path::{Path, PathBuf};

use operations::{Failure, Stack};
use states::State;
use statestore::{StateStore, WriteMeta};
use value::{Marks, Type, Value};

use crate::args::{parse_duration, Common, LockFlags, StateCmd, WorkspaceCmd};
use crate::ui;

fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

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
    let mut stack = Stack::open(&cwd());
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
    let dir = cwd();
    if let Some(p) = path {
        if let Ok((plan, _meta)) = operations::planfile::read(p) {
            let mut stack = Stack::open(&dir);
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
    let mut stack = Stack::open(&dir);
    match operations::show::state(&mut stack, &state, json, color) {
        Ok(s) => {
            print!("{s}");
            0
        }
        Err(f) => fail(f, color),
    }
}

fn with_lock<T>(
    stack: &mut Stack,
    lock: &LockFlags,
    operation: &str,
    f: impl FnOnce(&statestore::SqliteStore, &str) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let ws = stack.workspace()?;
    let store = stack.store()?;
    let timeout = parse_duration(&lock.lock_timeout).unwrap_or_default();
    let _g = if lock.lock {
        Some(operations::lock(store, &ws, operation, timeout)?)
    } else {
        None
    };
    f(store, &ws)
}

pub fn state(cmd: StateCmd) -> u8 {
    let color = ui::color(false);
    let dir = cwd();
    let mut stack = Stack::open(&dir);
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
        } => with_lock(&mut stack, &lock, "OperationTypeInvalid", |store, ws| {
            let mut state = store
                .current(ws)?
                .unwrap_or_else(|| State::new(operations::TERRAFORM_VERSION));
            let n = operations::state_ops::mv(&mut state, &source, &destination)?;
            if dry_run {
                println!("Would move {source:?} to {destination:?}");
                return Ok(0);
            }
            store.write(ws, &mut state, &WriteMeta::new("state-mv"))?;
            println!("Move {source:?} to {destination:?}");
            println!("Successfully moved {n} object(s).");
            Ok(0)
        }),
        StateCmd::Rm {
            addresses,
            dry_run,
            lock,
        } => with_lock(&mut stack, &lock, "OperationTypeInvalid", |store, ws| {
            let mut state = store
                .current(ws)?
                .unwrap_or_else(|| State::new(operations::TERRAFORM_VERSION));
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
            store.write(ws, &mut state, &WriteMeta::new("state-rm"))?;
            println!(
                "Successfully removed {} resource instance(s).",
                removed.len()
            );
            Ok(0)
        }),
        StateCmd::Pull => {
            let ws = stack.workspace()?;
            if !dir.join(".weir").join(statestore::DB_FILE_NAME).exists() {
                return Ok(0);
            }
            if let Some((_, bytes)) = stack.store()?.current_bytes(&ws)? {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = out.write_all(&bytes);
                let _ = out.write_all(b"\n");
            }
            Ok(0)
        }
        StateCmd::Push { path, force, lock } => {
            let bytes = if path.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut b)
                    .map_err(|e| Failure::new("Failed to read state", e.to_string()))?;
                b
            } else {
                std::fs::read(&path).map_err(|e| {
                    Failure::new(
                        "Failed to read state",
                        format!(
                            "Error reading source state {:?}: {e}",
                            path.display().to_string()
                        ),
                    )
                })?
            };
            let state = State::from_slice(&bytes).map_err(|e| {
                Failure::new(
                    "Failed to read state",
                    format!(
                        "Error reading source state {:?}: {e}",
                        path.display().to_string()
                    ),
                )
            })?;
            with_lock(&mut stack, &lock, "OperationTypeInvalid", |store, ws| {
                store
                    .push(ws, &state, force, &WriteMeta::new("push"))
                    .map_err(|e| match e {
                        statestore::StoreError::PushLineage { .. }
                        | statestore::StoreError::PushOlderSerial { .. }
                        | statestore::StoreError::PushSameSerial(_) => {
                            Failure::new("Failed to write state", e.to_string())
                        }
                        other => other.into(),
                    })?;
                Ok(0)
            })
        }
        StateCmd::History => {
            let ws = stack.workspace()?;
            if !dir.join(".weir").join(statestore::DB_FILE_NAME).exists() {
                println!("No state versions in workspace {ws:?}.");
                return Ok(0);
            }
            let hist = stack.store()?.history(&ws)?;
            if hist.is_empty() {
                println!("No state versions in workspace {ws:?}.");
                return Ok(0);
            }
            println!(
                "{:<8} {:<25} {:<22} {:<24} {:>10}",
                "SERIAL", "CREATED", "OPERATION", "WHO", "BYTES"
            );
            for v in hist {
                println!(
                    "{:<8} {:<25} {:<22} {:<24} {:>10}",
                    v.serial, v.created, v.operation, v.who, v.size
                );
            }
            Ok(0)
        }
        StateCmd::Rollback { serial, lock } => {
            with_lock(&mut stack, &lock, "OperationTypeInvalid", |store, ws| {
                let v =
                    store.rollback(ws, serial, &WriteMeta::new(format!("rollback to {serial}")))?;
                println!(
                    "Restored the state of serial {serial} as serial {}.",
                    v.serial
                );
                Ok(0)
            })
        }
    })();
    match result {
        Ok(c) => c,
        Err(f) => fail(f, color),
    }
}

pub fn workspace(cmd: WorkspaceCmd) -> u8 {
    let color = ui::color(false);
    let mut stack = Stack::open(&cwd());
    let result: Result<u8, Failure> = (|| match cmd {
        WorkspaceCmd::New { name } => {
            let store = stack.store()?;
            store.create_workspace(&name)?;
            store.select_workspace(&name)?;
            if color {
                println!("\x1b[0m\x1b[32m\x1b[1mCreated and switched to workspace {name:?}!\x1b[0m\x1b[32m\n\nYou're now on a new, empty workspace. Workspaces isolate their state,\nso if you run \"terraform plan\" Terraform will not see any existing state\nfor this configuration.\x1b[0m");
            } else {
                println!("Created and switched to workspace {name:?}!\n\nYou're now on a new, empty workspace. Workspaces isolate their state,\nso if you run \"terraform plan\" Terraform will not see any existing state\nfor this configuration.");
            }
            Ok(0)
        }
        WorkspaceCmd::Select { name, or_create } => {
            let store = stack.store()?;
            if or_create && !store.workspaces()?.contains(&name) {
                store.create_workspace(&name)?;
            }
            store.select_workspace(&name)?;
            if color {
                println!("\x1b[0m\x1b[32mSwitched to workspace {name:?}.\x1b[0m");
            } else {
                println!("Switched to workspace {name:?}.");
            }
            Ok(0)
        }
        WorkspaceCmd::List => {
            let current = stack.workspace()?;
            let names = if cwd().join(".weir").join(statestore::DB_FILE_NAME).exists() {
                stack.store()?.workspaces()?
            } else {
                vec![statestore::DEFAULT_WORKSPACE.to_string()]
            };
            for n in names {
                if n == current {
                    println!("* {n}");
                } else {
                    println!("  {n}");
                }
            }
            println!();
            Ok(0)
        }
        WorkspaceCmd::Show => {
            println!("{}", stack.workspace()?);
            Ok(0)
        }
        WorkspaceCmd::Delete { name, force } => {
            stack.store()?.delete_workspace(&name, force)?;
            if color {
                println!("\x1b[0m\x1b[32mDeleted workspace {name:?}!\x1b[0m");
            } else {
                println!("Deleted workspace {name:?}!");
            }
            Ok(0)
        }
    })();
    match result {
        Ok(c) => c,
        Err(f) => fail(f, color),
    }
}

pub fn force_unlock(id: &str, force: bool) -> u8 {
    let color = ui::color(false);
    let mut stack = Stack::open(&cwd());
    let r: Result<(), Failure> = (|| {
        let ws = stack.workspace()?;
        if !force
            && !ui::confirm(
                "Do you really want to force-unlock?",
                "  Terraform will remove the lock on the remote state.\n  This will allow local Terraform commands to modify this state, even though it\n  may still be in use. Only 'yes' will be accepted to confirm.",
            )
        {
            return Err(Failure::new("force-unlock cancelled.", ""));
        }
        stack
            .store()?
            .force_unlock(&ws, id)
            .map_err(|e| Failure::new("Failed to unlock state", e.to_string()))
    })();
    match r {
        Ok(()) => {
            if color {
                println!("\x1b[0m\x1b[1m\x1b[32mTerraform state has been successfully unlocked!\x1b[0m\x1b[32m\n\nThe state has been unlocked, and Terraform commands should now be able to\nobtain a new lock on the remote state.\x1b[0m");
            } else {
                println!("Terraform state has been successfully unlocked!\n\nThe state has been unlocked, and Terraform commands should now be able to\nobtain a new lock on the remote state.");
            }
            0
        }
        Err(f) => fail(f, color),
    }
}
