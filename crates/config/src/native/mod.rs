//! HCL's native syntax: a hand-written recursive-descent parser that produces weir's bodies and
//! expression AST with byte spans, and HCL's diagnostics for syntax errors.
//!
//! It replaces a general-purpose HCL library whose fixed limits (64 nesting levels, 128 chained
//! operators) refused valid configurations, and whose recursion needed several kilobytes of
//! stack per level. Here every recursive step goes through [`value::depth::guard`], nesting is
//! bounded by [`value::depth::MAX_DEPTH`] with a clean error, and operator chains are parsed in
//! a loop. Newlines are significant in bodies and object constructors and ignored inside
//! parentheses, brackets, `for` expressions and interpolations, as in HCL.

mod expr;
mod template;

use std::ops::Range;

use diagnostics::{Diagnostic, Diagnostics, LineIndex, SourceRange};

use crate::body::{Attribute, Block, Body};
use crate::expr::{Expr, ExprKind, ObjectKey, TemplatePart};

pub use template::{template_wrap, TemplateKind};

type PResult<T> = Result<T, Diagnostic>;

/// Parses a configuration file into a body. "Attribute redefined" errors go to `diags`; a
/// syntax error stops the parse.
pub fn parse_body(text: &str, filename: &str, diags: &mut Diagnostics) -> PResult<Body> {
    let idx = LineIndex::new(filename, text);
    let mut p = Parser::new(text, &idx);
    p.skip_bom();
    let body = p.body(None, diags)?;
    check_depth_body(&body)?;
    Ok(body)
}

/// Parses one expression (console input, `-var` values); surrounding whitespace and comments
/// are allowed, anything else after the expression is an error.
pub fn parse_expression(text: &str, filename: &str) -> PResult<Expr> {
    let idx = LineIndex::new(filename, text);
    let mut p = Parser::new(text, &idx);
    p.skip_bom();
    p.newlines.push(false);
    p.skip_ws();
    let e = p.expression()?;
    p.skip_ws();
    if p.pos < p.b.len() {
        return Err(p.error(
            "Extra characters after expression",
            "An expression was successfully parsed, but extra characters were found after it.",
            p.token_span(),
        ));
    }
    check_depth(&e)?;
    Ok(e)
}

/// Parses a bare template: the contents of a `templatefile` file, a JSON configuration string.
pub fn parse_template(text: &str, filename: &str) -> PResult<Expr> {
    let idx = LineIndex::new(filename, text);
    let mut p = Parser::new(text, &idx);
    let e = p.bare_template()?;
    check_depth(&e)?;
    Ok(e)
}

pub(crate) struct Parser<'a> {
    pub(crate) src: &'a str,
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
    idx: &'a LineIndex,
    /// Whether newlines end things here (bodies, object constructors) or are mere whitespace
    /// (inside parentheses, brackets, `for` expressions, interpolations); innermost last.
    pub(crate) newlines: Vec<bool>,
    /// Nesting of brackets, blocks, templates and unary operators around the position.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, idx: &'a LineIndex) -> Parser<'a> {
        Parser {
            src,
            b: src.as_bytes(),
            pos: 0,
            idx,
            newlines: vec![true],
            depth: 0,
        }
    }

    /// A UTF-8 byte order mark at the start of a file is not part of the configuration.
    fn skip_bom(&mut self) {
        if self.src.starts_with('\u{feff}') {
            self.pos = 3;
        }
    }

    pub(crate) fn range(&self, span: Range<usize>) -> SourceRange {
        self.idx.range(span)
    }

    pub(crate) fn error(&self, summary: &str, detail: &str, span: Range<usize>) -> Diagnostic {
        Diagnostic::error(summary, detail).with_subject(self.range(span))
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, n: usize) -> Option<u8> {
        self.b.get(self.pos + n).copied()
    }

    pub(crate) fn starts_with(&self, s: &str) -> bool {
        self.b[self.pos.min(self.b.len())..].starts_with(s.as_bytes())
    }

    /// The span of the token at the position, for diagnostics: one character, the newline, or
    /// an empty span at the end of the input.
    pub(crate) fn token_span(&self) -> Range<usize> {
        match self.src[self.pos.min(self.src.len())..].chars().next() {
            None => self.b.len()..self.b.len(),
            Some(c) if is_ident_start(c) => {
                let end = self.scan_ident_end(self.pos);
                self.pos..end
            }
            Some(c) => self.pos..self.pos + c.len_utf8(),
        }
    }

    pub(crate) fn newlines_matter(&self) -> bool {
        *self.newlines.last().unwrap_or(&true)
    }

    /// Skips spaces and comments, and newlines where they do not matter.
    pub(crate) fn skip_ws(&mut self) {
        let nl = self.newlines_matter();
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' if !nl => self.pos += 1,
                b'#' => self.skip_line_comment(),
                b'/' if self.peek_at(1) == Some(b'/') => self.skip_line_comment(),
                b'/' if self.peek_at(1) == Some(b'*') => {
                    match self.src[self.pos + 2..].find("*/") {
                        Some(i) => self.pos += i + 4,
                        None => self.pos = self.b.len(),
                    }
                }
                _ => break,
            }
        }
    }

    fn skip_line_comment(&mut self) {
        // The newline ends the comment and is itself a newline token.
        match self.src[self.pos..].find('\n') {
            Some(i) => self.pos += i,
            None => self.pos = self.b.len(),
        }
    }

    /// Skips whitespace, comments and newlines.
    pub(crate) fn skip_all_ws(&mut self) {
        self.newlines.push(false);
        self.skip_ws();
        self.newlines.pop();
    }

    /// Runs `f` one nesting level deeper, with newlines significant or not.
    pub(crate) fn nested<T>(
        &mut self,
        newlines: bool,
        at: Range<usize>,
        f: impl FnOnce(&mut Self) -> PResult<T>,
    ) -> PResult<T> {
        if self.depth >= value::depth::MAX_DEPTH {
            return Err(too_deep(self.range(at)));
        }
        self.depth += 1;
        self.newlines.push(newlines);
        let r = value::depth::guard(|| f(self));
        self.newlines.pop();
        self.depth -= 1;
        r
    }

    pub(crate) fn scan_ident_end(&self, from: usize) -> usize {
        let mut end = from;
        for (i, c) in self.src[from..].char_indices() {
            let ok = if i == 0 {
                is_ident_start(c)
            } else {
                is_ident_continue(c)
            };
            if !ok {
                break;
            }
            end = from + i + c.len_utf8();
        }
        end
    }

    /// An identifier at the position, if one starts here.
    pub(crate) fn ident(&mut self) -> Option<(String, Range<usize>)> {
        let start = self.pos;
        let end = self.scan_ident_end(start);
        if end == start {
            return None;
        }
        self.pos = end;
        Some((self.src[start..end].to_string(), start..end))
    }

    /// A body: attributes and blocks until the end of the input, or until the `}` of the block
    /// whose opening brace is at `open`.
    fn body(&mut self, open: Option<usize>, diags: &mut Diagnostics) -> PResult<Body> {
        let start = self.pos;
        let mut out = Body::default();
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    if let Some(open) = open {
                        return Err(self.error(
                            "Unclosed configuration block",
                            "There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.",
                            open..open + 1,
                        ));
                    }
                    break;
                }
                Some(b'\n') => self.pos += 1,
                Some(b'}') if open.is_some() => break,
                Some(b'"') => {
                    return Err(self.error(
                        "Invalid argument name",
                        "Argument names must not be quoted.",
                        self.token_span(),
                    ))
                }
                Some(_) => match self.ident() {
                    Some(name) => self.body_item(name, &mut out, diags)?,
                    None => {
                        return Err(self.error(
                            "Argument or block definition required",
                            "An argument or block definition is required here.",
                            self.token_span(),
                        ))
                    }
                },
            }
        }
        out.range = self.range(start..self.pos);
        Ok(out)
    }

    fn body_item(
        &mut self,
        (name, name_span): (String, Range<usize>),
        out: &mut Body,
        diags: &mut Diagnostics,
    ) -> PResult<()> {
        self.skip_ws();
        match self.peek() {
            Some(b'=') if self.peek_at(1) != Some(b'=') => {
                self.pos += 1;
                self.skip_ws();
                let expr = self.expression()?;
                self.skip_ws();
                match self.peek() {
                    None | Some(b'\n') | Some(b'}') => {}
                    Some(c) => {
                        let (summary, detail) = if c == b',' {
                            ("Unexpected comma after argument", "Argument definitions must be separated by newlines, not commas. An argument definition must end with a newline.")
                        } else {
                            (
                                "Missing newline after argument",
                                "An argument definition must end with a newline.",
                            )
                        };
                        return Err(self.error(summary, detail, self.token_span()));
                    }
                }
                let range = self.range(name_span.start..expr_end(&expr));
                let name_range = self.range(name_span);
                if let Some(prev) = out.attributes.get(&name) {
                    diags.push(
                        Diagnostic::error(
                            "Attribute redefined",
                            format!(
                                "The argument \"{name}\" was already set at {}:{},{}-{}. Each argument may be set only once.",
                                prev.name_range.filename,
                                prev.name_range.start.line,
                                prev.name_range.start.column,
                                prev.name_range.end.column
                            ),
                        )
                        .with_subject(name_range),
                    );
                    return Ok(());
                }
                out.attributes.insert(
                    name.clone(),
                    Attribute {
                        name,
                        expr,
                        range,
                        name_range,
                    },
                );
                Ok(())
            }
            Some(b'"' | b'{') => self.block(name, name_span, out, diags),
            Some(c) if is_ident_start(c as char) || c >= 0x80 => {
                self.block(name, name_span, out, diags)
            }
            _ => Err(self.error(
                "Argument or block definition required",
                "An argument or block definition is required here. To set an argument, use the equals sign \"=\" to introduce the argument value.",
                name_span,
            )),
        }
    }

    fn block(
        &mut self,
        type_name: String,
        type_span: Range<usize>,
        out: &mut Body,
        diags: &mut Diagnostics,
    ) -> PResult<()> {
        let mut labels = Vec::new();
        let mut label_spans = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'{') => break,
                Some(b'"') => {
                    let (label, span) = self.quoted_label()?;
                    labels.push(label);
                    label_spans.push(span);
                }
                Some(b'=') => {
                    return Err(self.error(
                        "Invalid block definition",
                        "The equals sign \"=\" indicates an argument definition, and must not be used when defining a block.",
                        self.token_span(),
                    ))
                }
                Some(b'\n') | None => {
                    return Err(self.error(
                        "Invalid block definition",
                        "A block definition must have block content delimited by \"{\" and \"}\", starting on the same line as the block header.",
                        self.token_span(),
                    ))
                }
                _ => match self.ident() {
                    Some((label, span)) => {
                        labels.push(label);
                        label_spans.push(span);
                    }
                    None => {
                        return Err(self.error(
                            "Invalid block definition",
                            "Either a quoted string block label or an opening brace (\"{\") is expected here.",
                            self.token_span(),
                        ))
                    }
                },
            }
        }
        let open = self.pos;
        self.pos += 1;
        let body = self.nested(true, open..open + 1, |p| p.body(Some(open), diags))?;
        // The body is what lies between the braces.
        self.pos += 1;
        let end = self.pos;
        let type_range = self.range(type_span.clone());
        let label_ranges: Vec<SourceRange> =
            label_spans.iter().map(|s| self.range(s.clone())).collect();
        let def_end = label_ranges
            .last()
            .cloned()
            .unwrap_or_else(|| type_range.clone());
        out.blocks.push(Block {
            open_range: self.range(open..open + 1),
            type_name,
            labels,
            label_ranges,
            body,
            def_range: type_range.to(&def_end),
            type_range,
            range: self.range(type_span.start..end),
        });
        Ok(())
    }

    /// A block label in quotes: a plain string, without interpolations.
    fn quoted_label(&mut self) -> PResult<(String, Range<usize>)> {
        let start = self.pos;
        let e = self.quoted_template()?;
        match e.kind {
            ExprKind::Literal(v) if v.as_str().is_some() => {
                Ok((v.as_str().unwrap_or_default().to_string(), start..self.pos))
            }
            _ => Err(self.error(
                "Invalid block label",
                "Block labels must be plain strings; template sequences are not allowed.",
                start..self.pos,
            )),
        }
    }
}

/// The byte offset where an expression ends.
pub(crate) fn expr_end(e: &Expr) -> usize {
    e.range.end.byte as usize
}

pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

pub(crate) fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn too_deep(at: SourceRange) -> Diagnostic {
    Diagnostic::error(
        "Configuration too deeply nested",
        format!(
            "{}.",
            value::depth::too_deep_message("This expression or block")
        ),
    )
    .with_subject(at)
}

/// Operator and traversal chains are parsed in loops but still nest the AST; the bound on
/// nesting applies to the tree as built.
fn check_depth(e: &Expr) -> PResult<()> {
    let mut stack = vec![(e, 1usize)];
    let mut parts: Vec<(&[TemplatePart], usize)> = Vec::new();
    while !stack.is_empty() || !parts.is_empty() {
        if let Some((ps, d)) = parts.pop() {
            for p in ps {
                match p {
                    TemplatePart::Literal(_) => {}
                    TemplatePart::Interpolation(e) => stack.push((e, d + 1)),
                    TemplatePart::If {
                        condition,
                        then_parts,
                        else_parts,
                        ..
                    } => {
                        stack.push((condition, d + 1));
                        parts.push((then_parts, d + 1));
                        parts.push((else_parts, d + 1));
                    }
                    TemplatePart::For {
                        collection, body, ..
                    } => {
                        stack.push((collection, d + 1));
                        parts.push((body, d + 1));
                    }
                }
            }
            continue;
        }
        let Some((e, d)) = stack.pop() else { break };
        if d > value::depth::MAX_DEPTH {
            return Err(too_deep(e.range.clone()));
        }
        let d = d + 1;
        match &e.kind {
            ExprKind::Literal(_) | ExprKind::AnonSymbol | ExprKind::ScopeTraversal { .. } => {}
            ExprKind::Template(ps) => parts.push((ps, d)),
            ExprKind::TemplateWrap(x) | ExprKind::Parens(x) => stack.push((x, d)),
            ExprKind::Tuple(xs) => stack.extend(xs.iter().map(|x| (x, d))),
            ExprKind::Object(items) => {
                for (k, v) in items {
                    if let ObjectKey::Expr(k) = k {
                        stack.push((k, d));
                    }
                    stack.push((v, d));
                }
            }
            ExprKind::RelativeTraversal { source, .. } => stack.push((source, d)),
            ExprKind::Index { collection, key } => {
                stack.push((collection, d));
                stack.push((key, d));
            }
            ExprKind::Splat { source, each, .. } => {
                stack.push((source, d));
                stack.push((each, d));
            }
            ExprKind::FunctionCall { args, .. } => stack.extend(args.iter().map(|x| (x, d))),
            ExprKind::Conditional {
                condition,
                true_result,
                false_result,
            } => {
                stack.push((condition, d));
                stack.push((true_result, d));
                stack.push((false_result, d));
            }
            ExprKind::Unary { operand, .. } => stack.push((operand, d)),
            ExprKind::Binary { lhs, rhs, .. } => {
                stack.push((lhs, d));
                stack.push((rhs, d));
            }
            ExprKind::For {
                collection,
                key_expr,
                value_expr,
                condition,
                ..
            } => {
                stack.push((collection, d));
                stack.extend(key_expr.as_deref().map(|x| (x, d)));
                stack.push((value_expr, d));
                stack.extend(condition.as_deref().map(|x| (x, d)));
            }
        }
    }
    Ok(())
}

fn check_depth_body(b: &Body) -> PResult<()> {
    let mut bodies = vec![b];
    while let Some(b) = bodies.pop() {
        for a in b.attributes.values() {
            check_depth(&a.expr)?;
        }
        bodies.extend(b.blocks.iter().map(|bl| &bl.body));
    }
    Ok(())
}
