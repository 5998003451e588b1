//! Templates: quoted strings (with backslash escapes), heredocs (`<<EOT`, `<<-EOT`) and bare
//! templates (`templatefile`), with `${…}` interpolations, `%{if}`/`%{for}` directives, their
//! `$${`/`%%{` escapes and `~` strip markers, applied per scanner token as HCL applies them.

use std::ops::Range;

use diagnostics::SourceRange;
use value::Value;

use super::{PResult, Parser};
use crate::expr::{Expr, ExprKind, TemplatePart};
use crate::strip::{self, Token};

/// How a template's text was scanned, which decides how strip markers and indentation apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// A quoted string: each literal run is one token.
    Quoted,
    /// A heredoc; `flush` for `<<-`. One literal token per line.
    Heredoc { flush: bool },
    /// A bare template (`templatefile`, JSON strings). One literal token per line.
    Bare,
}

/// A template as scanned, before strip markers apply.
enum Elem {
    Literal(String),
    Interp {
        expr: Expr,
        strip: (bool, bool),
    },
    If {
        cond: Expr,
        /// Markers of `%{if}`, `%{else}` (if any) and `%{endif}`.
        strips: Vec<(bool, bool)>,
        then: Vec<Elem>,
        otherwise: Option<Vec<Elem>>,
        range: SourceRange,
    },
    For {
        key_var: Option<String>,
        value_var: String,
        collection: Expr,
        /// Markers of `%{for}` and `%{endfor}`.
        strips: (bool, bool, bool, bool),
        body: Vec<Elem>,
        range: SourceRange,
    },
}

/// Where a sequence of template elements ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// The closing quote of a quoted string.
    Quote,
    /// The end of the text (a bare template) or the closing line of a heredoc, at `limit`.
    Limit,
}

/// What stopped a sequence: its end, or a directive keyword that belongs to an enclosing one.
enum Stop {
    End,
    Else(bool, bool),
    EndIf(bool, bool),
    EndFor(bool, bool),
}

impl Parser<'_> {
    /// `"…"`: a template in quotes.
    pub(crate) fn quoted_template(&mut self) -> PResult<Expr> {
        let start = self.pos;
        self.pos += 1;
        let limit = self.b.len();
        let (elems, stop) = self.nested(false, start..start + 1, |p| {
            p.elems(End::Quote, limit, TemplateKind::Quoted)
        })?;
        self.unexpected_stop(stop)?;
        if self.peek() != Some(b'"') {
            return Err(self.error(
                "Unterminated template string",
                "No closing marker was found for the string.",
                start..start + 1,
            ));
        }
        self.pos += 1;
        let range = self.range(start..self.pos);
        Ok(template_wrap(build(elems, TemplateKind::Quoted), range))
    }

    /// `<<EOT` / `<<-EOT` … `EOT`.
    pub(crate) fn heredoc(&mut self) -> PResult<Expr> {
        let start = self.pos;
        self.pos += 2;
        let flush = self.peek() == Some(b'-');
        if flush {
            self.pos += 1;
        }
        let Some((marker, _)) = self.ident() else {
            return Err(self.error(
                "Invalid expression",
                "Expected the start of an expression, but found an invalid expression token.",
                start..start + 2,
            ));
        };
        let line_end = match self.src[self.pos..].find('\n') {
            Some(i) if self.src[self.pos..self.pos + i].trim().is_empty() => self.pos + i + 1,
            _ => {
                return Err(self.error(
                    "Invalid heredoc",
                    "A heredoc introducer must be followed by a newline.",
                    start..self.pos,
                ))
            }
        };
        // The closing line: the marker alone, after optional indentation.
        let mut content_end = None;
        let mut line = line_end;
        while line <= self.src.len() {
            let next = self.src[line..].find('\n').map(|i| line + i);
            let text = &self.src[line..next.unwrap_or(self.src.len())];
            if text.trim_start().trim_end_matches('\r') == marker {
                let close_end = line + text.trim_end_matches('\r').len();
                content_end = Some((line, close_end));
                break;
            }
            match next {
                Some(n) => line = n + 1,
                None => break,
            }
        }
        let Some((content_end, close_end)) = content_end else {
            return Err(self.error(
                "Unterminated template string",
                "No closing marker was found for the string.",
                start..line_end - 1,
            ));
        };
        self.pos = line_end;
        let kind = TemplateKind::Heredoc { flush };
        let (elems, stop) = self.nested(false, start..start + 2, |p| {
            p.elems(End::Limit, content_end, kind)
        })?;
        self.unexpected_stop(stop)?;
        self.pos = close_end;
        let range = self.range(start..close_end);
        Ok(template_wrap(build(elems, kind), range))
    }

    /// A whole input as a template.
    pub(crate) fn bare_template(&mut self) -> PResult<Expr> {
        let limit = self.b.len();
        let (elems, stop) = self.nested(false, 0..0, |p| {
            p.elems(End::Limit, limit, TemplateKind::Bare)
        })?;
        self.unexpected_stop(stop)?;
        let range = self.range(0..limit);
        Ok(template_wrap(build(elems, TemplateKind::Bare), range))
    }

    fn unexpected_stop(&self, stop: Stop) -> PResult<()> {
        let word = match stop {
            Stop::End => return Ok(()),
            Stop::Else(..) => "else",
            Stop::EndIf(..) => "endif",
            Stop::EndFor(..) => "endfor",
        };
        Err(self.error(
            &format!("Unexpected \"{word}\" directive"),
            &format!("The control directive \"{word}\" is not expected here."),
            self.pos.saturating_sub(1)..self.pos,
        ))
    }

    /// Template elements up to the end, or up to a directive keyword for an enclosing
    /// directive (the position is then after that directive).
    fn elems(&mut self, end: End, limit: usize, kind: TemplateKind) -> PResult<(Vec<Elem>, Stop)> {
        let mut out = Vec::new();
        let mut lit = String::new();
        loop {
            // Without a closing quote the caller reports the unterminated string.
            if self.pos >= limit {
                break;
            }
            let c = self.b[self.pos];
            match c {
                b'"' if end == End::Quote => break,
                b'\n' if kind == TemplateKind::Quoted => {
                    return Err(self.error(
                        "Invalid multi-line string",
                        "Quoted strings may not be split over multiple lines. To produce a multi-line string, either use the \\n escape to represent a newline character or use the \"heredoc\" multi-line template syntax.",
                        self.pos..self.pos + 1,
                    ))
                }
                b'\\' if kind == TemplateKind::Quoted => self.escape(&mut lit)?,
                b'$' | b'%' if self.peek_at(1) == Some(c) && self.peek_at(2) == Some(b'{') => {
                    // `$${` and `%%{` are the literal `${` and `%{`.
                    lit.push(c as char);
                    lit.push('{');
                    self.pos += 3;
                }
                b'$' if self.peek_at(1) == Some(b'{') => {
                    flush_lit(&mut lit, &mut out);
                    let (expr, strip) = self.interpolation(limit)?;
                    out.push(Elem::Interp { expr, strip });
                }
                b'%' if self.peek_at(1) == Some(b'{') => {
                    flush_lit(&mut lit, &mut out);
                    match self.directive(end, limit, kind)? {
                        Ok(elem) => out.push(elem),
                        Err(stop) => return Ok((out, stop)),
                    }
                }
                _ => {
                    let ch = self.src[self.pos..].chars().next().expect("in bounds");
                    lit.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
        flush_lit(&mut lit, &mut out);
        Ok((out, Stop::End))
    }

    fn escape(&mut self, lit: &mut String) -> PResult<()> {
        let at = self.pos;
        let sel = self.src[self.pos + 1..].chars().next();
        let simple = match sel {
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('"') => Some('"'),
            Some('\\') => Some('\\'),
            _ => None,
        };
        if let Some(ch) = simple {
            lit.push(ch);
            self.pos += 2;
            return Ok(());
        }
        let digits = match sel {
            Some('u') => 4,
            Some('U') => 8,
            Some(other) if other != '\n' => {
                return Err(self.error(
                    "Invalid escape sequence",
                    &format!("The symbol \"{other}\" is not a valid escape sequence selector."),
                    at..at + 1 + other.len_utf8(),
                ))
            }
            _ => {
                return Err(self.error(
                    "Invalid escape sequence",
                    "Backslash must be followed by an escape sequence selector character.",
                    at..at + 1,
                ))
            }
        };
        let hex = self.src.get(at + 2..at + 2 + digits).unwrap_or("");
        let ch = (hex.len() == digits && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(hex, 16).ok())
            .flatten()
            .and_then(char::from_u32);
        match ch {
            Some(ch) => {
                lit.push(ch);
                self.pos = at + 2 + digits;
                Ok(())
            }
            None => Err(self.error(
                "Invalid escape sequence",
                &format!(
                    "The \\{} escape must be followed by {digits} hexadecimal digits.",
                    sel.unwrap_or('u')
                ),
                at..(at + 2 + digits).min(self.b.len()),
            )),
        }
    }

    /// `${ expr }` with optional strip markers.
    fn interpolation(&mut self, limit: usize) -> PResult<(Expr, (bool, bool))> {
        let open = self.pos;
        self.pos += 2;
        self.nested(false, open..open + 2, |p| {
            let strip_before = p.strip_open();
            p.skip_ws();
            if p.pos >= limit {
                return Err(p.error(
                    "Missing expression",
                    "Expected the start of an expression, but found the end of the file.",
                    limit..limit,
                ));
            }
            let expr = p.expression()?;
            p.skip_ws();
            let strip_after = p.close_brace(
                "Extra characters after interpolation expression",
                "Expected a closing brace to end the interpolation expression, but found extra characters.",
            )?;
            Ok((expr, (strip_before, strip_after)))
        })
    }

    fn strip_open(&mut self) -> bool {
        let strip = self.peek() == Some(b'~');
        if strip {
            self.pos += 1;
        }
        strip
    }

    /// `~}` or `}`: whether it strips.
    fn close_brace(&mut self, summary: &str, detail: &str) -> PResult<bool> {
        let strip = self.peek() == Some(b'~');
        let at = self.pos + usize::from(strip);
        if self.b.get(at) != Some(&b'}') {
            return Err(if self.pos >= self.b.len() {
                self.error(
                    "Unterminated template string",
                    "No closing marker was found for the string.",
                    self.pos..self.pos,
                )
            } else {
                self.error(summary, detail, self.token_span())
            });
        }
        self.pos = at + 1;
        Ok(strip)
    }

    /// `%{ … }`: an `if` or `for` directive with its body (`Ok`), or a keyword that ends an
    /// enclosing directive (`Err`).
    fn directive(
        &mut self,
        end: End,
        limit: usize,
        kind: TemplateKind,
    ) -> PResult<Result<Elem, Stop>> {
        let start = self.pos;
        self.pos += 2;
        let strip_before = self.strip_open();
        self.skip_all_ws();
        let Some((word, word_span)) = self.ident() else {
            return Err(self.error(
                "Invalid template directive",
                "A template directive keyword (\"if\", \"for\", etc) is expected at the beginning of a %{ sequence.",
                self.token_span(),
            ));
        };
        let closing = |p: &mut Self| -> PResult<bool> {
            p.skip_all_ws();
            p.close_brace(
                "Extra characters in template directive",
                "Expected the end of the directive.",
            )
        };
        match word.as_str() {
            "else" => Ok(Err(Stop::Else(strip_before, closing(self)?))),
            "endif" => Ok(Err(Stop::EndIf(strip_before, closing(self)?))),
            "endfor" => Ok(Err(Stop::EndFor(strip_before, closing(self)?))),
            "if" => self.nested(false, start..start + 2, |p| {
                p.skip_all_ws();
                let cond = p.expression()?;
                let strip_after = closing(p)?;
                let mut strips = vec![(strip_before, strip_after)];
                let (then, stop) = p.elems(end, limit, kind)?;
                let (otherwise, stop) = match stop {
                    Stop::Else(a, b) => {
                        strips.push((a, b));
                        let (els, stop) = p.elems(end, limit, kind)?;
                        (Some(els), stop)
                    }
                    other => (None, other),
                };
                match stop {
                    Stop::EndIf(a, b) => strips.push((a, b)),
                    _ => {
                        return Err(p.error(
                            "Unterminated template directive",
                            "The \"if\" directive at this position has no matching \"endif\".",
                            word_span.clone(),
                        ))
                    }
                }
                Ok(Ok(Elem::If {
                    cond,
                    strips,
                    then,
                    otherwise,
                    range: p.range(start..p.pos),
                }))
            }),
            "for" => self.nested(false, start..start + 2, |p| {
                p.skip_all_ws();
                let bad = |p: &Self, d: &str| p.error("Invalid template directive", d, p.token_span());
                let Some((first, _)) = p.ident() else {
                    return Err(bad(p, "A \"for\" directive requires a variable name."));
                };
                p.skip_all_ws();
                let (key_var, value_var) = if p.peek() == Some(b',') {
                    p.pos += 1;
                    p.skip_all_ws();
                    let Some((second, _)) = p.ident() else {
                        return Err(bad(p, "A \"for\" directive requires a value variable name after the comma."));
                    };
                    (Some(first), second)
                } else {
                    (None, first)
                };
                p.skip_all_ws();
                if !p.starts_with("in") {
                    return Err(bad(p, "The \"in\" keyword is required after the variable names of a \"for\" directive."));
                }
                p.pos += 2;
                p.skip_all_ws();
                let collection = p.expression()?;
                let strip_after = closing(p)?;
                let (body, stop) = p.elems(end, limit, kind)?;
                let Stop::EndFor(a, b) = stop else {
                    return Err(p.error(
                        "Unterminated template directive",
                        "The \"for\" directive at this position has no matching \"endfor\".",
                        word_span.clone(),
                    ));
                };
                Ok(Ok(Elem::For {
                    key_var,
                    value_var,
                    collection,
                    strips: (strip_before, strip_after, a, b),
                    body,
                    range: p.range(start..p.pos),
                }))
            }),
            other => Err(self.error(
                "Invalid template directive",
                &format!("\"{other}\" is not a valid template directive keyword."),
                word_span,
            )),
        }
    }
}

fn flush_lit(lit: &mut String, out: &mut Vec<Elem>) {
    if !lit.is_empty() {
        out.push(Elem::Literal(std::mem::take(lit)));
    }
}

/// The template's parts with strip markers (and `<<-` indentation) applied as HCL applies them:
/// on the scanner's token sequence, where heredoc and bare literals are one token per line.
fn build(elems: Vec<Elem>, kind: TemplateKind) -> Vec<TemplatePart> {
    let mut tokens = Vec::new();
    let mut owners = Vec::new();
    literal_tokens(&elems, kind, &mut tokens, &mut owners);
    strip::apply(&mut tokens, kind == TemplateKind::Heredoc { flush: true });
    let mut literals = owners.into_iter().map(|r: Range<usize>| {
        tokens[r]
            .iter()
            .map(|t| match t {
                Token::Literal(s) => s.as_str(),
                Token::Marker { .. } => "",
            })
            .collect::<String>()
    });
    parts(elems, &mut literals)
}

fn marker((strip_before, strip_after): (bool, bool)) -> Token {
    Token::Marker {
        strip_before,
        strip_after,
    }
}

fn literal_tokens(
    elems: &[Elem],
    kind: TemplateKind,
    tokens: &mut Vec<Token>,
    owners: &mut Vec<Range<usize>>,
) {
    for e in elems {
        match e {
            Elem::Literal(s) => {
                let start = tokens.len();
                match kind {
                    TemplateKind::Quoted => tokens.push(Token::Literal(s.clone())),
                    _ => strip::split_lines(s, tokens),
                }
                owners.push(start..tokens.len());
            }
            Elem::Interp { strip, .. } => tokens.push(marker(*strip)),
            Elem::If {
                strips,
                then,
                otherwise,
                ..
            } => {
                tokens.push(marker(strips[0]));
                literal_tokens(then, kind, tokens, owners);
                if let Some(els) = otherwise {
                    tokens.push(marker(strips[1]));
                    literal_tokens(els, kind, tokens, owners);
                }
                tokens.push(marker(*strips.last().expect("endif")));
            }
            Elem::For { strips, body, .. } => {
                tokens.push(marker((strips.0, strips.1)));
                literal_tokens(body, kind, tokens, owners);
                tokens.push(marker((strips.2, strips.3)));
            }
        }
    }
}

fn parts(elems: Vec<Elem>, literals: &mut impl Iterator<Item = String>) -> Vec<TemplatePart> {
    let mut out = Vec::new();
    for e in elems {
        match e {
            Elem::Literal(_) => {
                let text = literals.next().unwrap_or_default();
                if !text.is_empty() {
                    out.push(TemplatePart::Literal(text));
                }
            }
            Elem::Interp { expr, .. } => out.push(TemplatePart::Interpolation(expr)),
            Elem::If {
                cond,
                then,
                otherwise,
                range,
                ..
            } => {
                let then_parts = parts(then, literals);
                let else_parts = otherwise.map(|e| parts(e, literals)).unwrap_or_default();
                out.push(TemplatePart::If {
                    range,
                    condition: cond,
                    then_parts,
                    else_parts,
                });
            }
            Elem::For {
                key_var,
                value_var,
                collection,
                body,
                range,
                ..
            } => {
                let body = parts(body, literals);
                out.push(TemplatePart::For {
                    range,
                    key_var,
                    value_var,
                    collection,
                    body,
                });
            }
        }
    }
    out
}

/// The expression of a template: unwrapped for a lone interpolation, a literal when static.
pub fn template_wrap(parts: Vec<TemplatePart>, range: SourceRange) -> Expr {
    if parts.len() == 1 {
        if let TemplatePart::Interpolation(e) = &parts[0] {
            return Expr {
                kind: ExprKind::TemplateWrap(Box::new(e.clone())),
                range,
            };
        }
    }
    if parts.iter().all(|p| matches!(p, TemplatePart::Literal(_))) {
        let s: String = parts
            .iter()
            .map(|p| match p {
                TemplatePart::Literal(s) => s.as_str(),
                _ => "",
            })
            .collect();
        return Expr {
            kind: ExprKind::Literal(Value::string(s)),
            range,
        };
    }
    Expr {
        kind: ExprKind::Template(parts),
        range,
    }
}
