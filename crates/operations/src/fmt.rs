//! `weir fmt`: which files to format (Terraform's extensions, `-recursive`), and what to do
//! with each result (list, write, diff, check), over [`config::fmt::format_source`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use diagnostics::{Diagnostic, Diagnostics, Sources};

use crate::Failure;

/// The file extensions Terraform formats.
const EXTENSIONS: [&str; 5] = [
    ".tf",
    ".tfvars",
    ".tftest.hcl",
    ".tfmock.hcl",
    ".tfquery.hcl",
];

#[derive(Clone, Copy, Debug)]
pub struct FmtOptions {
    /// Print the names of files whose formatting changed.
    pub list: bool,
    /// Rewrite those files.
    pub write: bool,
    /// Print a unified diff of each change.
    pub diff: bool,
    /// Change nothing; report whether everything is formatted (`-check`).
    pub check: bool,
    pub recursive: bool,
}

/// What `fmt` did: whether every file was already formatted.
pub struct FmtOutcome {
    pub all_formatted: bool,
}

/// Formats `paths` (files or directories; none means standard input, printed to `out`).
pub fn fmt(
    paths: &[PathBuf],
    opts: FmtOptions,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
) -> Result<FmtOutcome, Failure> {
    let mut run = Run {
        opts: if opts.check {
            FmtOptions {
                list: opts.list,
                write: false,
                ..opts
            }
        } else {
            opts
        },
        out,
        changed: false,
        diags: Diagnostics::new(),
        sources: Sources::new(),
    };
    if paths.is_empty() {
        let mut src = String::new();
        stdin
            .read_to_string(&mut src)
            .map_err(|e| Failure::new("Failed to read standard input", e.to_string()))?;
        run.opts.list = false;
        run.opts.write = false;
        run.file("<stdin>", &src, None);
    }
    for p in paths {
        let shown = normalize(p);
        let meta = std::fs::metadata(p).map_err(|_| {
            Failure::new("Invalid path", format!("No file or directory at {shown}"))
        })?;
        if meta.is_dir() {
            run.dir(p)?;
        } else if EXTENSIONS.iter().any(|e| shown.ends_with(e)) {
            run.path(p)?;
        } else {
            run.diags.push(Diagnostic::error(
                "Unsupported file",
                "Only .tf, .tfvars, and .tftest.hcl files can be processed with terraform fmt",
            ));
        }
    }
    if run.diags.has_errors() {
        return Err(Failure {
            diagnostics: run.diags,
            sources: run.sources,
        });
    }
    Ok(FmtOutcome {
        all_formatted: !run.changed,
    })
}

struct Run<'a> {
    opts: FmtOptions,
    out: &'a mut dyn Write,
    changed: bool,
    diags: Diagnostics,
    sources: Sources,
}

impl Run<'_> {
    fn dir(&mut self, dir: &Path) -> Result<(), Failure> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|_| {
                Failure::new(
                    "Invalid path",
                    format!("Cannot read directory {}", normalize(dir)),
                )
            })?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if ignored(&name) {
                continue;
            }
            let path = dir.join(&name);
            if path.is_dir() {
                if self.opts.recursive {
                    self.dir(&path)?;
                }
            } else if EXTENSIONS.iter().any(|x| name.ends_with(x)) {
                self.path(&path)?;
            }
        }
        Ok(())
    }

    fn path(&mut self, path: &Path) -> Result<(), Failure> {
        let shown = normalize(path);
        let src = std::fs::read_to_string(path)
            .map_err(|_| Failure::new("Invalid path", format!("Failed to read file {shown}")))?;
        self.file(&shown, &src, Some(path));
        Ok(())
    }

    fn file(&mut self, shown: &str, src: &str, path: Option<&Path>) {
        // A file that does not parse is left alone: formatting it could mangle it.
        let mut ds = Diagnostics::new();
        if config::load::parse_file(src, shown, &mut ds).is_none() || ds.has_errors() {
            self.sources.add(shown, src);
            self.diags.extend(ds.0);
            return;
        }
        let result = config::fmt::format_source(src);
        let write_err =
            |e: std::io::Error| Diagnostic::error("Failed to write", format!("{shown}: {e}"));
        if result != src {
            self.changed = true;
            if self.opts.list {
                let _ = writeln!(self.out, "{shown}");
            }
            if let (true, Some(p)) = (self.opts.write, path) {
                if let Err(e) = std::fs::write(p, &result) {
                    self.diags.push(write_err(e));
                    return;
                }
            }
            if self.opts.diff {
                let diff = similar::TextDiff::from_lines(src, &result);
                let text = diff
                    .unified_diff()
                    .header(&format!("old/{shown}"), &format!("new/{shown}"))
                    .to_string();
                let _ = self.out.write_all(text.as_bytes());
            }
        }
        // Neither listing, writing nor diffing: the result itself is the output.
        let o = self.opts;
        if !(o.list || o.check || o.write || o.diff) {
            // Terraform prints through its UI, which ends each output with one newline.
            let _ = writeln!(self.out, "{}", result.trim_end_matches('\n'));
        }
    }
}

/// Files Terraform skips: hidden, editor backups and lock files.
fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('~')
        || name.ends_with('~')
        || (name.starts_with('#') && name.ends_with('#'))
}

/// A path as Terraform shows it: without a leading `./`.
fn normalize(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}
