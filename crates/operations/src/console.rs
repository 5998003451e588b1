//! `console`: evaluates expressions against the configuration's variables and locals and the
//! current state, printing results exactly as `terraform console` does.

use std::io::{BufRead, Write};

use diagnostics::render::RenderOptions;

use crate::{vars, Factory, Failure, Stack, VarArg};

/// Whether the brackets and quotes of `s` are balanced (a complete entry).
fn complete(s: &str) -> bool {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut esc = false;
    let mut heredoc = false;
    for line in s.lines() {
        if heredoc {
            continue;
        }
        for c in line.chars() {
            if in_str {
                if esc {
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else if c == '"' {
                    in_str = false;
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
        }
        if line.contains("<<") {
            heredoc = true;
        }
    }
    depth <= 0 && !in_str
}

/// Runs the console over `input` until EOF or `exit`; returns the exit code.
pub fn run(
    stack: &mut Stack,
    var_args: &[VarArg],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
    interactive: bool,
    color: bool,
) -> Result<u8, Failure> {
    let (cfg, diags, mut sources) = config::load_config(&stack.dir);
    let Some(cfg) = cfg.filter(|_| !diags.has_errors()) else {
        return Err(Failure {
            diagnostics: diags,
            sources,
        });
    };
    let workspace = stack.workspace()?;
    let prior = stack.current_state(&workspace)?;
    let (values, vdiags, vsources) = vars::collect(&cfg, &stack.dir, var_args);
    sources.merge(&vsources);
    if vdiags.has_errors() {
        return Err(Failure {
            diagnostics: vdiags,
            sources,
        });
    }
    let opts = engine::Options {
        workspace,
        root_dir: stack.dir.clone(),
        cwd: stack.dir.clone(),
        variables: values,
        refresh: false,
        ..Default::default()
    };
    let factory = Factory::new(&stack.dir);
    let ropts = RenderOptions {
        color,
        ..Default::default()
    };
    let (code, diags) = engine::with_root_scope(&cfg, &prior, &opts, &factory, |scope| {
        let show_error = |err: &mut dyn Write, ds: &diagnostics::Diagnostics| {
            // Console input has no file to quote: Terraform says "(source code not available)",
            // and ends the console's diagnostics with one more blank line.
            let _ = writeln!(
                err,
                "{}",
                diagnostics::render::render_all(ds.iter(), &sources, ropts)
            );
        };
        if !interactive {
            // Piped input, as Terraform: every line is one entry, the first error ends the
            // session, and only the last result is printed.
            let mut last = String::new();
            for line in input.lines() {
                let Ok(line) = line else { break };
                let entry = line.trim();
                if entry == "exit" {
                    return 0;
                }
                if entry.is_empty() {
                    last.clear();
                    continue;
                }
                match lang::console_eval(entry, scope) {
                    Ok(s) => last = s,
                    Err(ds) => {
                        show_error(err, &ds);
                        return 1;
                    }
                }
            }
            let _ = writeln!(out, "{last}");
            return 0;
        }
        let mut pending = String::new();
        loop {
            let _ = write!(out, "{}", if pending.is_empty() { "> " } else { ": " });
            let _ = out.flush();
            let mut line = String::new();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => return 0,
                Ok(_) => {}
            }
            let trimmed = line.trim_end_matches(['\n', '\r']);
            if pending.is_empty() && (trimmed.trim() == "exit") {
                return 0;
            }
            if pending.is_empty() && trimmed.trim().is_empty() {
                continue;
            }
            if !pending.is_empty() {
                pending.push('\n');
            }
            pending.push_str(trimmed);
            if !complete(&pending) {
                continue;
            }
            let src = std::mem::take(&mut pending);
            match lang::console_eval(&src, scope) {
                Ok(s) => {
                    let _ = writeln!(out, "{s}");
                }
                Err(ds) => show_error(err, &ds),
            }
        }
    });
    if diags.has_errors() && code == 0 {
        return Err(Failure {
            diagnostics: diags,
            sources,
        });
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn entries_complete_when_brackets_close() {
        assert!(complete("1 + 2"));
        assert!(!complete("[1,"));
        assert!(complete("[1,\n2]"));
        assert!(complete("\"(\""));
    }
}
