//! Glue for the verbs that plan and apply (plan, apply, destroy, import), validate, console,
//! init, fmt and graph: turn flags into requests, call `operations`, render the answers.

use std::path::{Path, PathBuf};

use operations::{Factory, Failure, PlanRequest, Planned, VarArg};
use plans::{Action, PlanMode};

use crate::args::{parse_duration, Common, LockFlags, PlanFlags};
use crate::ui;

fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

fn fail(f: Failure, color: bool) -> u8 {
    ui::print_diags(&f.diagnostics, &f.sources, color);
    1
}

fn request(flags: &PlanFlags, vars: Vec<VarArg>, destroy: bool) -> Result<PlanRequest, Failure> {
    let mode = if destroy || flags.destroy {
        PlanMode::Destroy
    } else if flags.refresh_only {
        PlanMode::RefreshOnly
    } else {
        PlanMode::Normal
    };
    let mut targets = Vec::new();
    for t in &flags.target {
        targets.push(addrs::parse_target(t).map_err(|e| {
            Failure::new(
                "Invalid target address",
                format!("{}: {}", e.summary, e.detail),
            )
        })?);
    }
    let mut replace = Vec::new();
    for r in &flags.replace {
        match addrs::parse_target(r) {
            Ok(addrs::Target::Instance(i)) => replace.push(i),
            Ok(addrs::Target::Resource(res)) => replace.push(res.instance(None)),
            _ => {
                return Err(Failure::new(
                    "Invalid replace address",
                    format!(
                    "The -replace option requires a resource instance address: {r:?} is not one."
                ),
                ))
            }
        }
    }
    let lock_timeout = parse_duration(&flags.lock.lock_timeout).ok_or_else(|| {
        Failure::new(
            "Invalid lock-timeout",
            format!(
                "The -lock-timeout value {:?} is not a valid duration.",
                flags.lock.lock_timeout
            ),
        )
    })?;
    Ok(PlanRequest {
        mode,
        refresh: flags.refresh,
        targets,
        replace,
        parallelism: flags.parallelism,
        vars,
        lock: flags.lock.lock,
        lock_timeout,
        input: false,
        events: None,
    })
}

fn render_plan(p: &Planned, color: bool) -> String {
    let lookup = operations::schema_lookup(&p.schemas);
    let relevant = operations::config_json::relevant_top_level(&p.loaded.config, &p.plan);
    plans::render::render_plan_relevant(
        &p.plan,
        &lookup,
        plans::render::RenderOptions { color },
        &relevant,
    )
}

pub fn plan(
    flags: &PlanFlags,
    common: &Common,
    vars: Vec<VarArg>,
    out: Option<&Path>,
    detailed: bool,
) -> u8 {
    let color = ui::color(common.no_color);
    let req = match request(flags, vars, false) {
        Ok(r) => r,
        Err(f) => return fail(f, color),
    };
    let mut stack = crate::here();
    if let Err(f) = operations::require_config(&stack.dir, req.mode, false) {
        return fail(f, color);
    }
    let factory = Factory::new(&stack.dir);
    let workspace = match stack.workspace() {
        Ok(w) => w,
        Err(f) => return fail(f, color),
    };
    if req.lock {
        if let Err(f) = stack.lock(&workspace, "OperationTypePlan", req.lock_timeout) {
            return fail(f, color);
        }
    }
    if flags.json {
        println!("{}", plans::views::version_event());
    }
    let req = with_progress(req, flags.json, color);
    let planned = match operations::plan(&mut stack, &req, &factory) {
        Ok(p) => p,
        Err(f) => return fail(f, color),
    };
    if flags.json {
        ui::print_diags(&planned.warnings, &planned.sources, color);
        for line in plans::views::plan_events(&planned.plan) {
            println!("{line}");
        }
    } else {
        print!("{}", render_plan(&planned, color));
        // Terraform shows warnings after the plan, before the next steps.
        ui::print_diags(&planned.warnings, &planned.sources, color);
    }
    if let Some(path) = out {
        if let Err(f) = operations::save_plan(&planned, path) {
            return fail(f, color);
        }
    }
    let in_automation = std::env::var_os("TF_IN_AUTOMATION").is_some_and(|v| !v.is_empty());
    if !flags.json && !in_automation && planned.plan.has_changes() {
        print!("{}", next_step(out, color));
    }
    if detailed && planned.plan.has_changes() {
        return 2;
    }
    0
}

/// What to do with a plan that has changes: a rule, then where it was saved or why it should
/// have been (Terraform's wording, for a 78-column terminal).
fn next_step(out: Option<&Path>, color: bool) -> String {
    let rule = "─".repeat(77);
    let rule = if color {
        format!("\x1b[90m\n{rule}\x1b[0m\n")
    } else {
        format!("\n{rule}\n")
    };
    let text = match out {
        Some(path) => format!(
            "\nSaved the plan to: {}\n\nTo perform exactly these actions, run the following command to apply:\n    terraform apply {}\n",
            path.display(),
            value::ops::go_quote(&path.display().to_string())
        ),
        None => "\nNote: You didn't use the -out option to save this plan, so Terraform can't\nguarantee to take exactly these actions if you run \"terraform apply\" now.\n".to_string(),
    };
    rule + &text
}

pub fn apply(
    flags: &PlanFlags,
    common: &Common,
    vars: Vec<VarArg>,
    plan_file: Option<&Path>,
    auto_approve: bool,
    destroy: bool,
) -> u8 {
    let color = ui::color(common.no_color);
    let req = match request(flags, vars, destroy) {
        Ok(r) => r,
        Err(f) => return fail(f, color),
    };
    let mut stack = crate::here();
    if plan_file.is_none() {
        if let Err(f) = operations::require_config(&stack.dir, req.mode, true) {
            return fail(f, color);
        }
    }
    let factory = Factory::new(&stack.dir);
    let workspace = match stack.workspace() {
        Ok(w) => w,
        Err(f) => return fail(f, color),
    };
    if req.lock {
        if let Err(f) = stack.lock(&workspace, "OperationTypeApply", req.lock_timeout) {
            return fail(f, color);
        }
    }
    let planned = match plan_file {
        Some(p) => match operations::load_saved_plan(&mut stack, p) {
            Ok(p) => {
                if flags.json {
                    println!("{}", plans::views::version_event());
                }
                p
            }
            Err(f) => return fail(f, color),
        },
        None => {
            if flags.json {
                println!("{}", plans::views::version_event());
            }
            let req = with_progress(req.clone(), flags.json, color);
            let planned = match operations::plan(&mut stack, &req, &factory) {
                Ok(p) => p,
                Err(f) => return fail(f, color),
            };
            ui::print_diags(&planned.warnings, &planned.sources, color);
            if flags.json {
                for line in plans::views::plan_events(&planned.plan) {
                    println!("{line}");
                }
            } else {
                print!("{}", render_plan(&planned, color));
            }
            if !planned.plan.has_changes() {
                let destroying = destroy || planned.plan.mode == PlanMode::Destroy;
                if flags.json {
                    let outs = operations::show::output_values(&planned.prior);
                    for line in plans::views::apply_summary((0, 0, 0, 0), destroying, &outs) {
                        println!("{line}");
                    }
                } else {
                    print_outputs_after_apply(&planned, 0, 0, 0, color, destroy);
                }
                return 0;
            }
            if !auto_approve {
                if !common.input
                    || !ui::stdin_is_terminal() && std::env::var_os("WEIR_FORCE_PROMPT").is_none()
                {
                    ui::error(
                        "No value for required variable",
                        "Apply requires confirmation. Run with -auto-approve to apply without an interactive prompt.",
                        color,
                    );
                    return 1;
                }
                let ok = if destroy {
                    ui::confirm(
                        "Do you really want to destroy all resources?",
                        "  Terraform will destroy all your managed infrastructure, as shown above.\n  There is no undo. Only 'yes' will be accepted to confirm.",
                    )
                } else {
                    ui::confirm(
                        "Do you want to perform these actions?",
                        "  Terraform will perform the actions described above.\n  Only 'yes' will be accepted to approve.",
                    )
                };
                if !ok {
                    ui::error(
                        if destroy {
                            "Destroy cancelled."
                        } else {
                            "Apply cancelled."
                        },
                        "",
                        color,
                    );
                    return 1;
                }
            }
            planned
        }
    };
    let progress = ui::Progress::new(color);
    let json_progress = ui::JsonProgress::default();
    let (progress_ref, json_ref) = (&progress, &json_progress);
    let json = flags.json;
    let events = move |e: operations::ApplyEvent| {
        if json {
            json_ref.event(e)
        } else {
            progress_ref.event(e)
        }
    };
    let op = if destroy { "destroy" } else { "apply" };
    let applied = match operations::apply(&mut stack, &planned, &factory, op, &events) {
        Ok(a) => a,
        Err(f) => return fail(f, color),
    };
    progress.flush();
    let counts = if json {
        &json_progress.counts
    } else {
        &progress.counts
    };
    let (added, changed, destroyed) = *counts.lock().expect("counts");
    if applied.diagnostics.has_errors() {
        ui::print_diags(&applied.diagnostics, &applied.sources, color);
        return 1;
    }
    ui::print_diags(&applied.diagnostics, &applied.sources, color);
    let imported = planned
        .plan
        .resource_changes
        .iter()
        .filter(|c| c.importing_id.is_some())
        .count();
    if json {
        let destroying = destroy || planned.plan.mode == PlanMode::Destroy;
        let outs = operations::show::output_values(&applied.state);
        let counts = (imported, added, changed, destroyed);
        for line in plans::views::apply_summary(counts, destroying, &outs) {
            println!("{line}");
        }
        return 0;
    }
    print_applied(
        &applied.state,
        imported,
        added,
        changed,
        destroyed,
        color,
        destroy || planned.plan.mode == PlanMode::Destroy,
    );
    0
}

fn print_outputs_after_apply(
    planned: &Planned,
    added: usize,
    changed: usize,
    destroyed: usize,
    color: bool,
    destroy: bool,
) {
    let state = planned.prior.clone();
    print_applied(&state, 0, added, changed, destroyed, color, destroy);
}

fn print_applied(
    state: &states::State,
    imported: usize,
    added: usize,
    changed: usize,
    destroyed: usize,
    color: bool,
    destroy: bool,
) {
    let line = if destroy {
        format!("Destroy complete! Resources: {destroyed} destroyed.")
    } else if imported > 0 {
        format!(
            "Apply complete! Resources: {imported} imported, {added} added, {changed} changed, {destroyed} destroyed."
        )
    } else {
        format!(
            "Apply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
        )
    };
    println!("\n{}", ui::green_bold(&line, color));
    if !destroy && !state.outputs.is_empty() {
        println!("{}", ui::green_bold("\nOutputs:\n", color));
        print!("{}", crate::state_cmds::render_outputs(state));
    }
}

pub fn validate(json: bool, common: &Common) -> u8 {
    let color = ui::color(common.no_color);
    let dir = cwd();
    let (cfg, mut diags, sources) = config::load_config(&dir);
    if let Some(cfg) = &cfg {
        if !diags.has_errors() {
            let factory = Factory::new(&dir);
            let env = engine::ValidateEnv {
                workspace: operations::Stack::open(&dir)
                    .workspace()
                    .unwrap_or_else(|_| "default".into()),
                root_dir: dir.clone(),
                cwd: dir.clone(),
            };
            diags.extend(engine::validate_in(cfg, &factory, &env).0);
        }
    }
    let ok = !diags.has_errors();
    if json {
        let list: Vec<serde_json::Value> = diags
            .iter()
            .map(|d| diagnostics::render::to_json(d, &sources))
            .collect();
        let doc = serde_json::json!({
            "format_version": "1.0",
            "valid": ok,
            "error_count": diags.errors().count(),
            "warning_count": diags.warnings().count(),
            "diagnostics": list,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        ui::print_diags(&diags, &sources, color);
        if ok {
            if color {
                print!("\x1b[32m\x1b[1mSuccess!\x1b[0m The configuration is valid.\n\x1b[0m\n");
            } else {
                println!("Success! The configuration is valid.\n");
            }
        }
    }
    if ok {
        0
    } else {
        1
    }
}

pub fn console(common: &Common, vars: Vec<VarArg>) -> u8 {
    let color = ui::color(common.no_color);
    let mut stack = crate::here();
    let interactive = ui::stdin_is_terminal();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    match operations::console::run(
        &mut stack,
        &vars,
        &mut input,
        &mut out,
        &mut err,
        interactive,
        color,
    ) {
        Ok(code) => code,
        Err(f) => fail(f, color),
    }
}

/// Module installation settings from the process environment: git's environment,
/// `TF_TOKEN_…` and CLI-configuration credentials, `SSL_CERT_FILE`/`SSL_CERT_DIR`, and the
/// package cache (`WEIR_MODULE_CACHE_DIR`, else `$XDG_CACHE_HOME/weir/modules` or
/// `~/.cache/weir/modules`; an empty `WEIR_MODULE_CACHE_DIR` turns the cache off).
fn module_setup() -> getmodules::Setup {
    let env = getmodules::Env::new(std::env::vars());
    let get = |k: &str| env.get(k).map(str::to_string);
    let cli = getproviders::CliConfig::load_with(&get);
    let cache_dir = match env.get("WEIR_MODULE_CACHE_DIR") {
        Some("") => None,
        Some(d) => Some(PathBuf::from(d)),
        None => env
            .get("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| env.get("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|c| c.join("weir").join("modules")),
    };
    let tls = getmodules::http::TlsRoots {
        cert_file: env
            .get("SSL_CERT_FILE")
            .filter(|f| !f.is_empty())
            .map(PathBuf::from),
        cert_dirs: env
            .get("SSL_CERT_DIR")
            .map(|d| {
                d.split(':')
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default(),
    };
    getmodules::Setup {
        configured_credentials: cli.credentials,
        tls,
        cache_dir,
        user_agent: format!(
            "Terraform/{} (+https://www.terraform.io) weir/{}",
            crate::TERRAFORM_COMPAT_VERSION,
            env!("CARGO_PKG_VERSION")
        ),
        env,
    }
}

pub fn init(upgrade: bool, get: bool, common: &Common) -> u8 {
    let color = ui::color(common.no_color);
    let dir = cwd();
    let setup = module_setup();
    let opts = operations::init::InitOptions {
        upgrade,
        get,
        color,
        modules: &setup,
    };
    match operations::init::init(&dir, &opts, &mut |line: &str| println!("{line}")) {
        Ok(()) => 0,
        Err(f) => fail(f, color),
    }
}

/// `weir get [-update]`: installs modules only; configuration errors found while installing
/// are warnings, as in Terraform.
pub fn get(update: bool, common: &Common) -> u8 {
    let color = ui::color(common.no_color);
    let dir = cwd();
    let setup = module_setup();
    let installed =
        operations::init::install_modules(&dir, update, &setup, &mut |l: &str| println!("{l}"));
    ui::print_diags(&installed.diagnostics, &installed.sources, color);
    if installed.diagnostics.has_errors() {
        1
    } else {
        0
    }
}

/// `weir modules [-json]`: declared module calls and the versions installed for them.
pub fn modules(json: bool) -> u8 {
    let dir = cwd();
    let (cfg, diags, sources) = config::load_config(&dir);
    let Some(cfg) = cfg.filter(|_| !diags.has_errors()) else {
        ui::print_diags(&diags, &sources, ui::color(false));
        return 1;
    };
    let manifest =
        match config::modmanifest::Manifest::read(&dir.join(config::modmanifest::MODULES_DIR)) {
            Ok(m) => m,
            Err(e) => {
                ui::error(
                    "Failed to refresh module manifest",
                    &e.to_string(),
                    ui::color(false),
                );
                return 1;
            }
        };
    let entries = getmodules::view::entries(&cfg, &manifest);
    if json {
        println!("{}", getmodules::view::render_json(&entries));
    } else {
        println!("{}", getmodules::view::render_human(&entries));
    }
    0
}

pub fn fmt(
    paths: Vec<PathBuf>,
    list: bool,
    write: bool,
    diff: bool,
    check: bool,
    recursive: bool,
) -> u8 {
    let color = ui::color(false);
    // No target means the current directory; `-` means standard input.
    let paths = match paths.first().map(|p| p.as_os_str() == "-") {
        Some(true) => Vec::new(),
        Some(false) => paths,
        None => vec![PathBuf::from(".")],
    };
    let opts = operations::fmt::FmtOptions {
        list,
        write,
        diff,
        check,
        recursive,
    };
    let mut stdout = std::io::stdout();
    match operations::fmt::fmt(&paths, opts, &mut std::io::stdin(), &mut stdout) {
        Ok(o) if check && !o.all_formatted => 3,
        Ok(_) => 0,
        Err(f) => {
            ui::print_diags(&f.diagnostics, &f.sources, color);
            2
        }
    }
}

pub fn graph(_ty: &str) -> u8 {
    let dir = cwd();
    let (cfg, diags, sources) = config::load_config(&dir);
    let Some(cfg) = cfg.filter(|_| !diags.has_errors()) else {
        ui::print_diags(&diags, &sources, true);
        return 1;
    };
    print!("{}", engine::graph_dot(&cfg));
    0
}

pub fn import(addr: &str, id: &str, lock: &LockFlags, common: &Common, vars: Vec<VarArg>) -> u8 {
    let color = ui::color(common.no_color);
    let target = match addrs::parse_target(addr) {
        Ok(addrs::Target::Instance(i)) => i,
        Ok(addrs::Target::Resource(r)) => r.instance(None),
        _ => {
            ui::error(
                "Invalid address",
                &format!("The import address {addr:?} is not a resource instance address."),
                color,
            );
            return 1;
        }
    };
    let mut stack = crate::here();
    let factory = Factory::new(&stack.dir);
    let timeout = parse_duration(&lock.lock_timeout).unwrap_or_default();
    match operations::import(&mut stack, &factory, &target, id, &vars, lock.lock, timeout) {
        Ok(()) => {
            println!(
                "{}",
                ui::green_bold(&format!("{target}: Import prepared!"), color)
            );
            println!("{}", ui::green_bold("\nImport successful!\n\nThe resources that were imported are shown above. These resources are now in\nyour Terraform state and will henceforth be managed by Terraform.\n", color));
            0
        }
        Err(f) => fail(f, color),
    }
}

#[allow(dead_code)]
fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        _ => "change",
    }
}

/// Shows refreshes and data source reads while planning, as Terraform does (not in `-json`
/// mode, whose stream has its own events).
fn with_progress(mut req: PlanRequest, json: bool, color: bool) -> PlanRequest {
    if json {
        let progress = ui::JsonProgress::default();
        req.events = Some(operations::PlanEvents(std::sync::Arc::new(move |e| {
            progress.event(e)
        })));
    } else {
        let progress = std::sync::Arc::new(ui::Progress::new(color));
        req.events = Some(operations::PlanEvents(std::sync::Arc::new(move |e| {
            progress.event(e);
            progress.flush();
        })));
    }
    req
}
