//! Renders diagnostics the way Terraform's CLI does, in colour (boxed) or plain form, and as the
//! `-json` diagnostic objects of `terraform validate -json`.

use crate::{Diagnostic, Severity, SourceRange, Sources};
use serde_json::json;

#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub color: bool,
    /// Wrap width for detail text in colour mode (Terraform uses the terminal width, 78 when unknown).
    pub width: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            width: 78,
        }
    }
}

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const UNDERLINE: &str = "\x1b[4m";
const RESET: &str = "\x1b[0m";

/// The header of the top-level block that encloses the byte just before `range`, as HCL's
/// context string ("resource \"a\" \"b\"", "locals", ...). Terraform asks for the byte before
/// the range, so a range that starts a block (a resource's declaration) has no context. Works
/// on source text so it needs no parsed tree.
pub fn context_string(src: &str, range: &SourceRange) -> Option<String> {
    let target = (range.start.byte as usize).checked_sub(1)?;
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut offset = 0usize;
    for line in src.split_inclusive('\n') {
        if offset > target {
            break;
        }
        let trimmed = line.trim();
        let opens = count_braces(line);
        if let Some(header) = block_header(trimmed) {
            stack.push(Some(header));
            for _ in 1..opens.0 {
                stack.push(None);
            }
            for _ in 0..opens.1 {
                stack.pop();
            }
        } else {
            for _ in 0..opens.0 {
                stack.push(None);
            }
            for _ in 0..opens.1 {
                stack.pop();
            }
        }
        offset += line.len();
    }
    stack.into_iter().next().flatten()
}

fn count_braces(line: &str) -> (usize, usize) {
    let mut open = 0;
    let mut close = 0;
    let mut in_str = false;
    let mut prev = '\0';
    for c in line.chars() {
        if in_str {
            if c == '"' && prev != '\\' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
        } else if c == '#' || (c == '/' && prev == '/') {
            break;
        } else if c == '{' {
            open += 1;
        } else if c == '}' {
            if open > 0 {
                open -= 1;
            } else {
                close += 1;
            }
        }
        prev = c;
    }
    (open, close)
}

fn block_header(line: &str) -> Option<String> {
    let body = line.strip_suffix('{')?.trim_end();
    let mut parts = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"')?;
            parts.push(format!("\"{}\"", &r[..end]));
            rest = &r[end + 1..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            if word.is_empty()
                || !word
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return None;
            }
            parts.push(word.to_string());
            rest = &rest[end..];
        }
    }
    if parts.is_empty() || parts[0].starts_with('"') {
        return None;
    }
    Some(parts.join(" "))
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        if para.is_empty() {
            out.push(String::new());
            continue;
        }
        // Indented lines are preformatted, as in Terraform.
        if para.starts_with(' ') {
            out.push(para.to_string());
            continue;
        }
        let mut line = String::new();
        for word in para.split(' ') {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out
}

/// The snippet lines for a diagnostic: the "on FILE line N, in CONTEXT:" header and the numbered
/// code lines. Returns nothing when the source is not available.
fn snippet(d: &Diagnostic, sources: &Sources, color: bool) -> Vec<String> {
    let Some(subject) = &d.subject else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(a) = &d.address {
        out.push(format!("  with {a},"));
    }
    let ctx = sources
        .get(&subject.filename)
        .and_then(|src| context_string(src, subject));
    match &ctx {
        Some(c) => out.push(format!(
            "  on {} line {}, in {}:",
            subject.filename, subject.start.line, c
        )),
        None => out.push(format!(
            "  on {} line {}:",
            subject.filename, subject.start.line
        )),
    }
    let Some(src) = sources.get(&subject.filename) else {
        out.push("  (source code not available)".to_string());
        return out;
    };
    let shown = d
        .context
        .as_ref()
        .filter(|c| c.filename == subject.filename)
        .map(|c| c.to(subject))
        .unwrap_or_else(|| subject.clone());
    let first = shown.start.line as usize;
    let last = shown.end.line.max(shown.start.line) as usize;
    let mut line_start = 0usize;
    for (i, line) in src.split_inclusive('\n').enumerate() {
        let no = i + 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if no >= first && no <= last {
            let rendered = if color {
                underline(text, line_start, subject)
            } else {
                text.to_string()
            };
            out.push(format!("{no:>4}: {rendered}"));
        }
        line_start += line.len();
        if no > last {
            break;
        }
    }
    out
}

fn underline(text: &str, line_start: usize, subject: &SourceRange) -> String {
    let s = subject.start.byte as usize;
    let e = subject.end.byte as usize;
    let line_end = line_start + text.len();
    if e <= line_start || s >= line_end || s == e {
        return text.to_string();
    }
    let a = s.saturating_sub(line_start).min(text.len());
    let b = (e - line_start).min(text.len());
    if !text.is_char_boundary(a) || !text.is_char_boundary(b) {
        return text.to_string();
    }
    format!(
        "{}{UNDERLINE}{}{RESET}{}",
        &text[..a],
        &text[a..b],
        &text[b..]
    )
}

/// Renders one diagnostic as Terraform's CLI prints it.
pub fn render(d: &Diagnostic, sources: &Sources, opts: RenderOptions) -> String {
    let (word, colour) = match d.severity {
        Severity::Error => ("Error", RED),
        Severity::Warning => ("Warning", YELLOW),
    };
    let mut body: Vec<String> = Vec::new();
    if opts.color {
        body.push(format!(
            "{BOLD}{colour}{word}: {RESET}{BOLD}{}{RESET}",
            d.summary
        ));
    } else {
        body.push(format!("{word}: {}", d.summary));
    }
    let snip = snippet(d, sources, opts.color);
    let has_snippet = !snip.is_empty();
    if has_snippet {
        body.push(String::new());
        body.extend(snip);
        // Values go with the source they explain; without it Terraform shows none.
        let source_shown = d
            .subject
            .as_ref()
            .is_some_and(|s| sources.get(&s.filename).is_some());
        if source_shown && !d.expression_values.is_empty() {
            body.push("    ├────────────────".to_string());
            for (k, v) in &d.expression_values {
                body.push(format!("    │ {k} {v}"));
            }
        }
        // Terraform ends a snippet with a blank line, detail or not.
        body.push(String::new());
    }
    if d.detail.is_empty() && !has_snippet {
        // Terraform ends the summary with a blank line even when nothing follows (a cycle);
        // its boxed form shows one more, for the empty detail.
        body.push(String::new());
        if opts.color {
            body.push(String::new());
        }
    }
    if !d.detail.is_empty() {
        if !has_snippet {
            body.push(String::new());
        }
        // Terraform wraps details one column short of the terminal width (78 when unknown);
        // the boxed form loses two more columns to its "│ " prefix.
        if opts.color {
            body.extend(wrap(&d.detail, opts.width.saturating_sub(3)));
        } else {
            body.extend(wrap(&d.detail, opts.width.saturating_sub(1)));
        }
    }
    let mut out = String::new();
    if opts.color {
        out.push_str(&format!("{colour}╷{RESET}\n"));
        for l in body {
            if l.is_empty() {
                out.push_str(&format!("{colour}│{RESET}\n"));
            } else {
                out.push_str(&format!("{colour}│{RESET} {l}\n"));
            }
        }
        out.push_str(&format!("{colour}╵{RESET}\n"));
    } else {
        out.push('\n');
        for l in body {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// Renders all diagnostics, errors and warnings in source order as Terraform does.
pub fn render_all<'a>(
    diags: impl IntoIterator<Item = &'a Diagnostic>,
    sources: &Sources,
    opts: RenderOptions,
) -> String {
    let mut v: Vec<&Diagnostic> = diags.into_iter().collect();
    v.sort_by(|a, b| {
        let ka = a
            .subject
            .as_ref()
            .map(|s| (s.filename.clone(), s.start.byte));
        let kb = b
            .subject
            .as_ref()
            .map(|s| (s.filename.clone(), s.start.byte));
        ka.cmp(&kb)
    });
    v.into_iter().map(|d| render(d, sources, opts)).collect()
}

/// The source lines a JSON snippet shows, and the byte where they start: as Terraform picks
/// them, every line that overlaps the context (or subject) range, where ranges are half-open
/// and an empty range overlaps nothing (then the subject's line alone).
fn snippet_code<'s>(src: &'s str, d: &Diagnostic, subject: &SourceRange) -> (&'s str, usize) {
    let (mut from, mut to) = (subject.start.byte as usize, subject.end.byte as usize);
    if let Some(c) = d
        .context
        .as_ref()
        .filter(|c| c.filename == subject.filename)
    {
        from = from.min(c.start.byte as usize);
        to = to.max(c.end.byte as usize);
    }
    let contains = |(s, e): (usize, usize), off: usize| off >= s && off < e;
    let mut first: Option<(usize, usize)> = None;
    let mut last: Option<usize> = None;
    let mut at = 0;
    for line in src.split_inclusive('\n') {
        let content = line.trim_end_matches('\n').trim_end_matches('\r');
        let span = (at, at + content.len());
        let overlaps = from < to
            && span.0 < span.1
            && (contains(span, from)
                || contains(span, to)
                || contains((from, to), span.0)
                || contains((from, to), span.1));
        if overlaps {
            first.get_or_insert(span);
            last = Some(span.1);
        }
        at += line.len();
    }
    match (first, last) {
        (Some((start, _)), Some(end)) => (&src[start..end], start),
        _ => {
            // The subject's own line.
            let line = subject.start.line.saturating_sub(1) as usize;
            let start: usize = src.split_inclusive('\n').take(line).map(str::len).sum();
            let text = src[start.min(src.len())..]
                .split('\n')
                .next()
                .unwrap_or("")
                .trim_end_matches('\r');
            (text, start)
        }
    }
}

/// The JSON object of one diagnostic, as in `terraform validate -json`.
pub fn to_json(d: &Diagnostic, sources: &Sources) -> serde_json::Value {
    let mut obj = json!({
        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "summary": d.summary,
        "detail": d.detail,
    });
    if let Some(r) = &d.subject {
        obj["range"] = json!({
            "filename": &*r.filename,
            "start": {"line": r.start.line, "column": r.start.column, "byte": r.start.byte},
            "end": {"line": r.end.line, "column": r.end.column, "byte": r.end.byte},
        });
        if let Some(src) = sources.get(&r.filename) {
            let (code, code_start) = snippet_code(src, d, r);
            let hs = (r.start.byte as usize)
                .saturating_sub(code_start)
                .min(code.len());
            let he = (hs + (r.end.byte.saturating_sub(r.start.byte)) as usize).min(code.len());
            obj["snippet"] = json!({
                "context": context_string(src, r),
                "code": code,
                "start_line": r.start.line,
                "highlight_start_offset": hs,
                "highlight_end_offset": he,
                "values": d.expression_values.iter().map(|(k, v)| json!({"traversal": k, "statement": v})).collect::<Vec<_>>(),
            });
            if let Some(fc) = &d.function_call {
                obj["snippet"]["function_call"] = fc.clone();
            }
        }
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LineIndex;

    const SRC: &str = "variable \"x\" {\n  type = string\n}\n\nresource \"terraform_data\" \"a\" {\n  input = var.y\n}\n\nlocals {\n  a = {\n    b = var.zz\n  }\n}\n";

    fn diag_at(needle: &str) -> (Diagnostic, Sources) {
        let idx = LineIndex::new("main.tf", SRC);
        let start = SRC.find(needle).unwrap();
        let d = Diagnostic::error("Reference to undeclared input variable", "Detail text.")
            .with_subject(idx.range(start..start + needle.len()));
        let mut s = Sources::new();
        s.add("main.tf", SRC);
        (d, s)
    }

    #[test]
    fn plain_rendering_matches_terraform_layout() {
        let (d, s) = diag_at("var.y");
        let out = render(&d, &s, RenderOptions::default());
        assert_eq!(
            out,
            "\nError: Reference to undeclared input variable\n\n  on main.tf line 6, in resource \"terraform_data\" \"a\":\n   6:   input = var.y\n\nDetail text.\n"
        );
    }

    #[test]
    fn a_bare_summary_ends_with_a_blank_line() {
        // `terraform plan` of a cycle prints "\nError: Cycle: …\n\n" (boxed: two empty rows).
        let d = Diagnostic::error("Cycle: a, b", "");
        let s = Sources::default();
        assert_eq!(
            render(&d, &s, RenderOptions::default()),
            "\nError: Cycle: a, b\n\n"
        );
        let boxed = render(
            &d,
            &s,
            RenderOptions {
                color: true,
                width: 78,
            },
        );
        assert_eq!(boxed.matches("│").count(), 3, "{boxed:?}");
    }

    #[test]
    fn context_skips_object_constructors() {
        let (d, s) = diag_at("var.zz");
        let out = render(&d, &s, RenderOptions::default());
        assert!(
            out.contains("  on main.tf line 11, in locals:\n  11:     b = var.zz\n"),
            "{out}"
        );
    }

    #[test]
    fn colour_rendering_boxes_and_underlines() {
        let (d, s) = diag_at("var.y");
        let out = render(
            &d,
            &s,
            RenderOptions {
                color: true,
                width: 78,
            },
        );
        assert!(out.contains("╷"));
        assert!(out.contains("\x1b[4mvar.y\x1b[0m"));
        assert!(out.trim_end().ends_with("╵\x1b[0m"));
    }

    #[test]
    fn json_snippet_has_offsets() {
        let (d, s) = diag_at("var.y");
        let j = to_json(&d, &s);
        assert_eq!(j["range"]["start"]["line"], 6);
        assert_eq!(j["range"]["start"]["column"], 11);
        assert_eq!(j["snippet"]["highlight_start_offset"], 10);
        assert_eq!(j["snippet"]["highlight_end_offset"], 15);
        assert_eq!(j["snippet"]["context"], "resource \"terraform_data\" \"a\"");
    }
}
