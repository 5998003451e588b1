//! Diagnostics: source positions, ranges, error/warning records and their Terraform-style rendering.
//!
//! Every layer reports problems as [`Diagnostic`]s rather than exiting early, so that one run can
//! report everything it found. Rendering lives here so that the CLI, the agent and the server show
//! the same text.

pub mod render;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use render::{render, render_all, to_json, RenderOptions};

/// A position in a source file. Lines and columns are 1-based (columns count characters, as
/// HCL does); `byte` is the 0-based byte offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
    pub byte: u32,
}

/// A half-open range of source text in one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceRange {
    pub filename: Arc<str>,
    pub start: Pos,
    pub end: Pos,
}

impl SourceRange {
    /// The smallest range covering both (they must be in the same file; otherwise `self`).
    pub fn to(&self, other: &SourceRange) -> SourceRange {
        if self.filename != other.filename {
            return self.clone();
        }
        SourceRange {
            filename: self.filename.clone(),
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// HCL's compact form, as Terraform quotes ranges inside messages: `file:2,13-17`, or
    /// `file:2,13-3,4` across lines.
    pub fn compact(&self) -> String {
        let end = if self.end.line == self.start.line {
            self.end.column.to_string()
        } else {
            format!("{},{}", self.end.line, self.end.column)
        };
        format!(
            "{}:{},{}-{end}",
            self.filename, self.start.line, self.start.column
        )
    }
}

impl fmt::Display for SourceRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{},{}-{}",
            self.filename, self.start.line, self.start.column, self.end.column
        )
    }
}

/// Maps byte offsets of one source text to line/column positions.
///
/// Columns count characters, so a position deep inside a long non-ASCII line would cost a scan
/// from the line start; checkpoints every [`CHECKPOINT`] bytes keep each lookup short, so that
/// positioning every element of a generated one-line list stays linear overall.
#[derive(Clone, Debug)]
pub struct LineIndex {
    filename: Arc<str>,
    text: Arc<str>,
    line_starts: Vec<u32>,
    /// Per line: whether it is all ASCII (columns are then byte distances).
    ascii: Vec<bool>,
    /// `(byte, characters before it on its line)` at char boundaries about every
    /// [`CHECKPOINT`] bytes of non-ASCII lines, in byte order.
    checkpoints: Vec<(u32, u32)>,
}

const CHECKPOINT: usize = 256;

impl LineIndex {
    pub fn new(filename: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0u32];
        let mut ascii = Vec::new();
        let mut checkpoints = Vec::new();
        let mut line_ascii = true;
        let (mut chars, mut since) = (0u32, 0usize);
        for (i, c) in text.char_indices() {
            if c == '\n' {
                ascii.push(line_ascii);
                line_starts.push(i as u32 + 1);
                (line_ascii, chars, since) = (true, 0, 0);
                continue;
            }
            if since >= CHECKPOINT {
                checkpoints.push((i as u32, chars));
                since = 0;
            }
            line_ascii &= c.is_ascii();
            chars += 1;
            since += c.len_utf8();
        }
        ascii.push(line_ascii);
        LineIndex {
            filename: filename.into(),
            text,
            line_starts,
            ascii,
            checkpoints,
        }
    }

    pub fn filename(&self) -> &Arc<str> {
        &self.filename
    }

    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// The position of a byte offset (clamped to the text).
    pub fn pos(&self, byte: usize) -> Pos {
        let byte = byte.min(self.text.len());
        let line = match self.line_starts.binary_search(&(byte as u32)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let mut b = byte;
        while b > start && !self.text.is_char_boundary(b) {
            b -= 1;
        }
        let column = if self.ascii[line] {
            (b - start) as u32 + 1
        } else {
            // The last checkpoint on this line at or before `b`, then count from there.
            let k = self
                .checkpoints
                .partition_point(|&(cb, _)| cb as usize <= b);
            let (from, before) = match k.checked_sub(1).map(|k| self.checkpoints[k]) {
                Some((cb, n)) if cb as usize >= start => (cb as usize, n),
                _ => (start, 0),
            };
            before + self.text[from..b].chars().count() as u32 + 1
        };
        Pos {
            line: line as u32 + 1,
            column,
            byte: byte as u32,
        }
    }

    /// The range for a byte range.
    pub fn range(&self, bytes: std::ops::Range<usize>) -> SourceRange {
        SourceRange {
            filename: self.filename.clone(),
            start: self.pos(bytes.start),
            end: self.pos(bytes.end),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in user input or during an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    /// The range the problem is about; underlined in the snippet.
    pub subject: Option<SourceRange>,
    /// A wider range that gives context (for example a whole expression); the snippet shows it.
    pub context: Option<SourceRange>,
    /// Values of references in the expression, as Terraform shows under the snippet
    /// ("├────────────────\n│ var.x is \"a\""). Already rendered; sensitive values never get here.
    pub expression_values: Vec<(String, String)>,
    /// The resource instance (or other object) the problem concerns, shown as "with ADDR,".
    pub address: Option<String>,
    /// For a failed function call: the function as called and its signature, as the JSON
    /// snippet's `function_call` carries them (`{"called_as": …, "signature": …}`).
    pub function_call: Option<serde_json::Value>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            subject: None,
            context: None,
            expression_values: Vec::new(),
            address: None,
            function_call: None,
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary, detail)
        }
    }

    pub fn with_subject(mut self, subject: SourceRange) -> Self {
        self.subject = Some(subject);
        self
    }

    /// Adds the "├── ref is value" lines Terraform prints under the snippet.
    pub fn with_expression_values(mut self, values: Vec<(String, String)>) -> Self {
        self.expression_values = values;
        self
    }

    pub fn with_subject_opt(mut self, subject: Option<SourceRange>) -> Self {
        self.subject = subject;
        self
    }

    pub fn with_context(mut self, context: SourceRange) -> Self {
        self.context = Some(context);
        self
    }

    pub fn with_function_call(mut self, call: serde_json::Value) -> Self {
        self.function_call = Some(call);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        match &self.subject {
            Some(r) => write!(f, "{}: {}: {}", r, sev, self.summary)?,
            None => write!(f, "{}: {}", sev, self.summary)?,
        }
        if !self.detail.is_empty() {
            write!(f, "; {}", self.detail)?;
        }
        Ok(())
    }
}

/// An ordered collection of diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<T: IntoIterator<Item = Diagnostic>>(iter: T) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Source texts by filename, for snippets.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: HashMap<Arc<str>, Arc<str>>,
}

impl Sources {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, filename: impl Into<Arc<str>>, text: impl Into<Arc<str>>) {
        self.files.insert(filename.into(), text.into());
    }

    pub fn get(&self, filename: &str) -> Option<&str> {
        self.files.get(filename).map(|s| &**s)
    }

    /// Files sorted by name (a stable order, for digests).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut v: Vec<(&str, &str)> = self.files.iter().map(|(k, v)| (&**k, &**v)).collect();
        v.sort();
        v.into_iter()
    }

    pub fn merge(&mut self, other: &Sources) {
        for (k, v) in &other.files {
            self.files.insert(k.clone(), v.clone());
        }
    }
}

/// An error carrying diagnostics, for `Result`-returning APIs.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DiagnosticsError(pub Diagnostics);

/// HCL's "Did you mean" rule: the first candidate, in the order given, within an edit distance
/// of two of what was written.
pub fn name_suggestion<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .find(|c| strsim::levenshtein(given, c) < 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_columns_on_long_mixed_lines() {
        // Checkpoints must give the same column as counting from the line start.
        let text = format!("x\n{}\n{}", "aé€😀b".repeat(500), "é".repeat(700));
        let idx = LineIndex::new("a.tf", text.as_str());
        for b in 0..=text.len() {
            let mut cb = b;
            while !text.is_char_boundary(cb) {
                cb -= 1;
            }
            let line_start = text[..cb].rfind('\n').map_or(0, |i| i + 1);
            let want = text[line_start..cb].chars().count() as u32 + 1;
            assert_eq!(idx.pos(b).column, want, "byte {b}");
        }
    }

    #[test]
    fn line_index_positions() {
        let idx = LineIndex::new("a.tf", "ab\ncdé\nf");
        assert_eq!(
            idx.pos(0),
            Pos {
                line: 1,
                column: 1,
                byte: 0
            }
        );
        assert_eq!(
            idx.pos(3),
            Pos {
                line: 2,
                column: 1,
                byte: 3
            }
        );
        // 'é' is two bytes; the column after it counts characters.
        assert_eq!(
            idx.pos(7),
            Pos {
                line: 2,
                column: 4,
                byte: 7
            }
        );
        assert_eq!(
            idx.pos(8),
            Pos {
                line: 3,
                column: 1,
                byte: 8
            }
        );
    }
}
