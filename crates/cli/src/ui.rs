//! Terminal output shared by the commands: colour choice, diagnostics, confirmation prompts
//! and the live apply progress lines.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use diagnostics::{render::RenderOptions, Diagnostics, Sources};
use plans::Action;

/// Set when `-no-color` appeared anywhere on the command line: Terraform takes the flag out
/// before any command parses its own flags, so every command accepts it.
pub static NO_COLOR_FLAG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Colour unless `-no-color` or `NO_COLOR` (any value) is set.
pub fn color(no_color_flag: bool) -> bool {
    !no_color_flag
        && !NO_COLOR_FLAG.load(std::sync::atomic::Ordering::Relaxed)
        && std::env::var_os("NO_COLOR").is_none()
}

/// Prints diagnostics to stderr (errors) or stdout (warnings), as Terraform does.
pub fn print_diags(diags: &Diagnostics, sources: &Sources, color: bool) {
    let opts = RenderOptions {
        color,
        ..Default::default()
    };
    let mut warnings = Diagnostics::new();
    let mut errors = Diagnostics::new();
    for d in diags.iter() {
        if d.is_error() {
            errors.push(d.clone());
        } else {
            warnings.push(d.clone());
        }
    }
    if !warnings.is_empty() {
        print!(
            "{}",
            diagnostics::render::render_all(warnings.iter(), sources, opts)
        );
        let _ = std::io::stdout().flush();
    }
    if !errors.is_empty() {
        eprint!(
            "{}",
            diagnostics::render::render_all(errors.iter(), sources, opts)
        );
    }
}

/// Prints one error without a source snippet.
pub fn error(summary: &str, detail: &str, color: bool) {
    let mut ds = Diagnostics::new();
    ds.push(diagnostics::Diagnostic::error(summary, detail));
    print_diags(&ds, &Sources::new(), color);
}

/// Prints one warning without a source snippet.
pub fn warning(summary: &str, detail: &str, color: bool) {
    let mut ds = Diagnostics::new();
    ds.push(diagnostics::Diagnostic::warning(summary, detail));
    print_diags(&ds, &Sources::new(), color);
}

/// Prints text to stderr as Terraform's `Ui.Error` does (red, when colour is on): the verbs
/// that report plain messages rather than diagnostics (workspace, force-unlock).
pub fn plain_error(text: &str, color: bool) {
    if color {
        eprintln!("\x1b[31m{text}\x1b[0m\x1b[0m");
    } else {
        eprintln!("{text}");
    }
}

/// Diagnostics rendered to a string (for verbs that print them through [`plain_error`]).
pub fn render_diags(diags: &Diagnostics, color: bool) -> String {
    let opts = RenderOptions {
        color,
        ..Default::default()
    };
    diagnostics::render::render_all(diags.iter(), &Sources::new(), opts)
}

pub fn bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[1m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn green_bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[0m\x1b[1m\x1b[32m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Asks a yes/no question on the terminal; only "yes" approves.
pub fn confirm(question: &str, explain: &str) -> bool {
    print!("\n{}\n{explain}\n\n  Enter a value: ", bold(question, true));
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    println!();
    line.trim() == "yes"
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Go's `time.Duration` rounding to seconds as Terraform's progress lines print it.
fn secs(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

/// ` [id=…]` naming the object in a progress line, when it has an id.
fn id_suffix(id: &Option<String>) -> String {
    id.as_ref()
        .map(|i| format!(" [id={i}]"))
        .unwrap_or_default()
}

/// The live apply lines (`addr: Creating...`, `addr: Creation complete after 1s`) and counts.
pub struct Progress {
    pub color: bool,
    pub quiet: bool,
    /// Flush each line (a terminal watches); otherwise lines are buffered.
    live: bool,
    pub counts: Mutex<(usize, usize, usize)>,
    out: Mutex<std::io::BufWriter<std::io::Stdout>>,
}

impl Progress {
    pub fn new(color: bool) -> Progress {
        Progress {
            color,
            quiet: false,
            live: std::io::stdout().is_terminal(),
            counts: Mutex::new((0, 0, 0)),
            out: Mutex::new(std::io::BufWriter::new(std::io::stdout())),
        }
    }

    pub fn event(&self, e: engine::ApplyEvent) {
        if self.quiet {
            return;
        }
        let line = match &e {
            engine::ApplyEvent::Refreshing { addr, id, deposed } => {
                let who = match deposed {
                    Some(k) => format!("{addr} (deposed object {k})"),
                    None => addr.clone(),
                };
                format!(
                    "{}\n",
                    bold(
                        &format!("{who}: Refreshing state...{}", id_suffix(id)),
                        self.color
                    )
                )
            }
            engine::ApplyEvent::Start {
                addr,
                action,
                id,
                deposed,
            } => {
                let Some(verb) = plans::views::start_verb(*action) else {
                    return;
                };
                // Terraform names the object a change or destroy is about.
                let id = match action {
                    Action::Update | Action::Delete => id_suffix(id),
                    _ => String::new(),
                };
                let who = match deposed {
                    Some(k) => format!("{addr} (deposed object {k})"),
                    None => addr.clone(),
                };
                format!("{}\n", bold(&format!("{who}: {verb}{id}"), self.color))
            }
            engine::ApplyEvent::Done {
                addr,
                action,
                elapsed,
                id,
            } => {
                count(&self.counts, *action);
                let verb = plans::views::done_verb(*action);
                format!(
                    "{}\n",
                    bold(
                        &format!("{addr}: {verb} after {}{}", secs(*elapsed), id_suffix(id)),
                        self.color
                    )
                )
            }
            engine::ApplyEvent::Errored { .. } | engine::ApplyEvent::Refreshed { .. } => return,
        };
        let mut out = self.out.lock().expect("progress");
        let _ = out.write_all(line.as_bytes());
        if self.live {
            let _ = out.flush();
        }
    }

    pub fn flush(&self) {
        let _ = self.out.lock().expect("progress").flush();
    }
}

/// Progress as Terraform's `-json` stream: refresh, apply and data-source read events.
#[derive(Default)]
pub struct JsonProgress {
    pub counts: Mutex<(usize, usize, usize)>,
}

impl JsonProgress {
    pub fn event(&self, e: engine::ApplyEvent) {
        use plans::views;
        let line = match &e {
            engine::ApplyEvent::Refreshing { addr, id, .. } => {
                views::refresh_start(addr, id.as_deref())
            }
            engine::ApplyEvent::Refreshed { addr, id } => {
                views::refresh_complete(addr, id.as_deref())
            }
            engine::ApplyEvent::Start {
                addr, action, id, ..
            } => views::apply_start(addr, *action, id.as_deref()),
            engine::ApplyEvent::Done {
                addr,
                action,
                elapsed,
                id,
            } => {
                count(&self.counts, *action);
                views::apply_complete(addr, *action, id.as_deref(), elapsed.as_secs())
            }
            engine::ApplyEvent::Errored {
                addr,
                action,
                elapsed,
            } => views::apply_errored(addr, *action, elapsed.as_secs()),
        };
        println!("{line}");
    }
}

/// Adds a finished operation to the (added, changed, destroyed) counts.
fn count(counts: &Mutex<(usize, usize, usize)>, action: Action) {
    let mut c = counts.lock().expect("counts");
    match action {
        Action::Create | Action::DeleteThenCreate | Action::CreateThenDelete => c.0 += 1,
        Action::Update => c.1 += 1,
        Action::Delete => c.2 += 1,
        _ => {}
    }
}
