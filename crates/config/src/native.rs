//! HCL native syntax: parses with `hcl-edit` (which keeps byte spans) and converts its tree
//! into weir's expression AST and bodies, applying template strip markers and keeping numbers
//! as their exact source text.

use std::ops::Range;

use diagnostics::{Diagnostic, Diagnostics, LineIndex, SourceRange};
use hcl_edit::expr::{
    BinaryOperator, Expression, ObjectKey as HObjectKey, TraversalOperator, UnaryOperator,
};
use hcl_edit::structure::{Body as HBody, Structure};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span;
use value::{Number, Value};

use crate::body::{Attribute, Block, Body};
use crate::expr::{BinaryOp, Expr, ExprKind, ObjectKey, TemplatePart, Traverser, UnaryOp};
use crate::strip::{self, Token};

/// Converts spans of one source text.
pub struct Ctx<'a> {
    pub idx: &'a LineIndex,
    /// Added to every span (for expressions parsed out of a larger text).
    pub offset: usize,
}

impl Ctx<'_> {
    pub fn range(&self, span: Option<Range<usize>>) -> SourceRange {
        let r = span.unwrap_or(0..0);
        self.idx.range(r.start + self.offset..r.end + self.offset)
    }
}

/// An HCL parse error as a diagnostic at its position.
pub fn syntax_error(e: &hcl_edit::parser::Error, idx: &LineIndex) -> Diagnostic {
    let loc = e.location();
    // hcl-edit reports 1-based line and column; find the byte offset for the snippet.
    let line = loc.line();
    let col = loc.column();
    let text = idx.text();
    let mut byte = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let b = l
                .char_indices()
                .nth(col.saturating_sub(1))
                .map(|(b, _)| b)
                .unwrap_or(l.len());
            byte += b;
            break;
        }
        byte += l.len();
    }
    let msg = e.message();
    let (summary, detail) = classify(msg);
    // HCL points an unclosed block at its opening brace, not at the end of the file.
    if summary == "Unclosed configuration block" {
        if let Some(open) = unclosed_brace(text, byte) {
            byte = open;
        }
    }
    let end = (byte + 1).min(text.len()).max(byte);
    Diagnostic::error(summary, detail).with_subject(idx.range(byte..end))
}

/// The innermost `{` still open at `upto`, skipping strings (with their interpolations) and
/// comments.
fn unclosed_brace(text: &str, upto: usize) -> Option<usize> {
    let b = text.as_bytes();
    let upto = upto.min(b.len());
    // Open braces: position, and whether it opens a block or object (not an interpolation).
    let mut stack: Vec<(usize, bool)> = Vec::new();
    let (mut i, mut in_str) = (0, false);
    let skip_to = |from: usize, pat: &str| text[from..].find(pat).map_or(b.len(), |p| from + p);
    while i < upto {
        match (in_str, b[i], b.get(i + 1)) {
            (true, b'\\', _) => i += 1,
            (true, b'"', _) => in_str = false,
            (true, b'$', Some(b'{')) => {
                stack.push((i + 1, false));
                in_str = false;
                i += 1;
            }
            (true, ..) => {}
            (false, b'"', _) => in_str = true,
            (false, b'#', _) | (false, b'/', Some(b'/')) => i = skip_to(i, "\n"),
            (false, b'/', Some(b'*')) => i = skip_to(i + 2, "*/") + 1,
            (false, b'{', _) => stack.push((i, true)),
            (false, b'}', _) => {
                if let Some((_, false)) = stack.pop() {
                    in_str = true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    stack
        .iter()
        .rev()
        .find(|(_, block)| *block)
        .map(|(p, _)| *p)
}

/// Maps hcl-edit's messages to HCL's diagnostic summaries where they correspond.
fn classify(msg: &str) -> (String, String) {
    let m = msg.to_lowercase();
    if m.contains("expected `}`") || m.contains("unclosed") {
        return (
            "Unclosed configuration block".into(),
            "There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.".into(),
        );
    }
    if m.contains("expression") {
        return (
            "Invalid expression".into(),
            "Expected the start of an expression, but found an invalid expression token.".into(),
        );
    }
    if m.contains("identifier") || m.contains("`=`") || m.contains("`{`") {
        return (
            "Argument or block definition required".into(),
            "An argument or block definition is required here.".into(),
        );
    }
    ("Invalid syntax".into(), format!("{msg}."))
}

fn number(repr: Option<&str>, n: &hcl_edit::Number) -> Value {
    if let Some(r) = repr {
        if let Some(num) = Number::parse(r.trim()) {
            return Value::Number(num);
        }
    }
    if let Some(i) = n.as_i64() {
        return Value::number(i);
    }
    if let Some(u) = n.as_u64() {
        return Value::Number(Number::from(u));
    }
    Value::Number(Number::from_f64(n.as_f64().unwrap_or(0.0)).unwrap_or_else(Number::zero))
}

pub fn expr(e: &Expression, cx: &Ctx) -> Expr {
    let range = cx.range(e.span());
    let kind = match e {
        Expression::Null(_) => ExprKind::Literal(Value::null(value::Type::Dynamic)),
        Expression::Bool(b) => ExprKind::Literal(Value::bool(*b.value())),
        Expression::Number(n) => {
            let repr = n.as_repr().map(|r| r.to_string());
            ExprKind::Literal(number(repr.as_deref(), n.value()))
        }
        Expression::String(s) => ExprKind::Literal(Value::string(s.value().clone())),
        Expression::Array(a) => ExprKind::Tuple(a.iter().map(|e| expr(e, cx)).collect()),
        Expression::Object(o) => ExprKind::Object(
            o.iter()
                .map(|(k, v)| {
                    let key = match k {
                        HObjectKey::Ident(id) => {
                            ObjectKey::Ident(id.value().to_string(), cx.range(id.span()))
                        }
                        HObjectKey::Expression(ke) => ObjectKey::Expr(expr(ke, cx)),
                    };
                    (key, expr(v.expr(), cx))
                })
                .collect(),
        ),
        Expression::StringTemplate(t) => {
            let parts = template(t, TemplateKind::Quoted, cx);
            return template_wrap(parts, range);
        }
        Expression::HeredocTemplate(h) => {
            let flush = cx
                .idx
                .text()
                .get(e.span().map_or(0, |r| r.start + cx.offset)..)
                .is_some_and(|rest| rest.starts_with("<<-"));
            let parts = template(&h.template, TemplateKind::Heredoc { flush }, cx);
            return template_wrap(parts, range);
        }
        Expression::Parenthesis(p) => ExprKind::Parens(Box::new(expr(p.inner(), cx))),
        Expression::Variable(v) => ExprKind::ScopeTraversal {
            root: v.value().to_string(),
            steps: Vec::new(),
        },
        Expression::Conditional(c) => ExprKind::Conditional {
            condition: Box::new(expr(&c.cond_expr, cx)),
            true_result: Box::new(expr(&c.true_expr, cx)),
            false_result: Box::new(expr(&c.false_expr, cx)),
        },
        Expression::FuncCall(f) => {
            let mut name = String::new();
            for ns in &f.name.namespace {
                name.push_str(ns.value());
                name.push_str("::");
            }
            name.push_str(f.name.name.value());
            ExprKind::FunctionCall {
                name,
                args: f.args.iter().map(|a| expr(a, cx)).collect(),
                expand_final: f.args.expand_final(),
            }
        }
        Expression::Traversal(t) => return traversal(&t.expr, &t.operators, range, cx),
        Expression::UnaryOp(u) => {
            let op = match u.operator.value() {
                UnaryOperator::Neg => UnaryOp::Negate,
                UnaryOperator::Not => UnaryOp::Not,
            };
            ExprKind::Unary {
                op,
                operand: Box::new(expr(&u.expr, cx)),
            }
        }
        Expression::BinaryOp(b) => {
            let op = match b.operator.value() {
                BinaryOperator::Eq => BinaryOp::Eq,
                BinaryOperator::NotEq => BinaryOp::NotEq,
                BinaryOperator::LessEq => BinaryOp::Le,
                BinaryOperator::GreaterEq => BinaryOp::Ge,
                BinaryOperator::Less => BinaryOp::Lt,
                BinaryOperator::Greater => BinaryOp::Gt,
                BinaryOperator::Plus => BinaryOp::Add,
                BinaryOperator::Minus => BinaryOp::Sub,
                BinaryOperator::Mul => BinaryOp::Mul,
                BinaryOperator::Div => BinaryOp::Div,
                BinaryOperator::Mod => BinaryOp::Mod,
                BinaryOperator::And => BinaryOp::And,
                BinaryOperator::Or => BinaryOp::Or,
            };
            ExprKind::Binary {
                op,
                lhs: Box::new(expr(&b.lhs_expr, cx)),
                rhs: Box::new(expr(&b.rhs_expr, cx)),
            }
        }
        Expression::ForExpr(f) => ExprKind::For {
            key_var: f.intro.key_var.as_ref().map(|k| k.value().to_string()),
            value_var: f.intro.value_var.value().to_string(),
            collection: Box::new(expr(&f.intro.collection_expr, cx)),
            key_expr: f.key_expr.as_ref().map(|k| Box::new(expr(k, cx))),
            value_expr: Box::new(expr(&f.value_expr, cx)),
            condition: f.cond.as_ref().map(|c| Box::new(expr(&c.expr, cx))),
            grouping: f.grouping,
        },
    };
    Expr { kind, range }
}

/// The expression of a template: unwrapped for a lone interpolation, a literal when static.
pub fn template_wrap(parts: Vec<TemplatePart>, range: SourceRange) -> Expr {
    // A template of one interpolation yields the value unconverted; literals only, a string.
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

/// Builds a traversal: static attribute/index steps stay in a ScopeTraversal (or a
/// RelativeTraversal after a non-variable source); dynamic indexes and splats wrap.
fn traversal(
    source: &Expression,
    ops: &[hcl_edit::Decorated<TraversalOperator>],
    range: SourceRange,
    cx: &Ctx,
) -> Expr {
    let mut cur = expr(source, cx);
    let start = cur.range.clone();
    let mut i = 0;
    while i < ops.len() {
        let op = &ops[i];
        let op_range = cx.range(op.span());
        let here = start.to(&op_range);
        match op.value() {
            TraversalOperator::GetAttr(id) => {
                let step = Traverser::Attr {
                    name: id.value().to_string(),
                    range: op_range,
                };
                cur = push_step(cur, step, here);
            }
            TraversalOperator::LegacyIndex(n) => {
                let step = Traverser::Index {
                    key: Value::number(*n.value() as i64),
                    range: op_range,
                };
                cur = push_step(cur, step, here);
            }
            TraversalOperator::Index(ke) => {
                let k = expr(ke, cx);
                if let ExprKind::Literal(v) = &k.kind {
                    if !v.is_null() {
                        let step = Traverser::Index {
                            key: v.clone(),
                            range: op_range,
                        };
                        cur = push_step(cur, step, here);
                        i += 1;
                        continue;
                    }
                }
                cur = Expr {
                    kind: ExprKind::Index {
                        collection: Box::new(cur),
                        key: Box::new(k),
                    },
                    range: here,
                };
            }
            TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                let legacy = matches!(op.value(), TraversalOperator::AttrSplat(_));
                // Everything after the splat applies to each element.
                let mut each = Expr {
                    kind: ExprKind::AnonSymbol,
                    range: op_range.clone(),
                };
                let mut end = op_range.clone();
                for rest in &ops[i + 1..] {
                    let rr = cx.range(rest.span());
                    end = rr.clone();
                    match rest.value() {
                        TraversalOperator::GetAttr(id) => {
                            each = push_step(
                                each,
                                Traverser::Attr {
                                    name: id.value().to_string(),
                                    range: rr.clone(),
                                },
                                op_range.to(&rr),
                            )
                        }
                        TraversalOperator::LegacyIndex(n) => {
                            each = push_step(
                                each,
                                Traverser::Index {
                                    key: Value::number(*n.value() as i64),
                                    range: rr.clone(),
                                },
                                op_range.to(&rr),
                            )
                        }
                        TraversalOperator::Index(ke) if !legacy => {
                            let k = expr(ke, cx);
                            each = match &k.kind {
                                ExprKind::Literal(v) if !v.is_null() => push_step(
                                    each,
                                    Traverser::Index {
                                        key: v.clone(),
                                        range: rr.clone(),
                                    },
                                    op_range.to(&rr),
                                ),
                                _ => Expr {
                                    kind: ExprKind::Index {
                                        collection: Box::new(each),
                                        key: Box::new(k),
                                    },
                                    range: op_range.to(&rr),
                                },
                            };
                        }
                        _ => break,
                    }
                }
                // Legacy splats stop at the first index; full splats take everything.
                let consumed = ops[i + 1..]
                    .iter()
                    .take_while(|o| match o.value() {
                        TraversalOperator::GetAttr(_) | TraversalOperator::LegacyIndex(_) => true,
                        TraversalOperator::Index(_) => !legacy,
                        _ => false,
                    })
                    .count();
                cur = Expr {
                    kind: ExprKind::Splat {
                        source: Box::new(cur),
                        each: Box::new(each),
                        legacy,
                    },
                    range: start.to(&end),
                };
                i += 1 + consumed;
                continue;
            }
        }
        i += 1;
    }
    let _ = range;
    cur
}

fn push_step(cur: Expr, step: Traverser, range: SourceRange) -> Expr {
    match cur.kind {
        ExprKind::ScopeTraversal { root, mut steps } => {
            steps.push(step);
            Expr {
                kind: ExprKind::ScopeTraversal { root, steps },
                range,
            }
        }
        ExprKind::RelativeTraversal { source, mut steps } => {
            steps.push(step);
            Expr {
                kind: ExprKind::RelativeTraversal { source, steps },
                range,
            }
        }
        ExprKind::AnonSymbol => Expr {
            kind: ExprKind::RelativeTraversal {
                source: Box::new(Expr {
                    kind: ExprKind::AnonSymbol,
                    range: cur.range,
                }),
                steps: vec![step],
            },
            range,
        },
        kind => Expr {
            kind: ExprKind::RelativeTraversal {
                source: Box::new(Expr {
                    kind,
                    range: cur.range,
                }),
                steps: vec![step],
            },
            range,
        },
    }
}

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

/// A template's parts, with strip markers (and `<<-` indentation) applied as HCL applies them.
pub fn template(t: &Template, kind: TemplateKind, cx: &Ctx) -> Vec<TemplatePart> {
    let mut tokens = Vec::new();
    let mut owners = Vec::new();
    literal_tokens(t, kind, cx, &mut tokens, &mut owners);
    crate::strip::apply(&mut tokens, kind == TemplateKind::Heredoc { flush: true });
    let mut literals = owners.into_iter().map(|r: Range<usize>| {
        tokens[r]
            .iter()
            .map(|t| match t {
                Token::Literal(s) => s.as_str(),
                Token::Marker { .. } => "",
            })
            .collect::<String>()
    });
    parts(t, &mut literals, cx)
}

/// The scanner's token sequence of a template, in source order; `owners` gets, per literal
/// element, the range of its tokens.
fn literal_tokens(
    t: &Template,
    kind: TemplateKind,
    cx: &Ctx,
    tokens: &mut Vec<Token>,
    owners: &mut Vec<Range<usize>>,
) {
    let marker = |s: &hcl_edit::template::Strip| Token::Marker {
        strip_before: s.strip_start(),
        strip_after: s.strip_end(),
    };
    for e in t.iter() {
        match e {
            Element::Literal(s) => {
                let start = tokens.len();
                match kind {
                    TemplateKind::Quoted => tokens.push(Token::Literal(s.value().clone())),
                    TemplateKind::Heredoc { flush: true } => {
                        // hcl-edit has already removed indentation, measured before stripping;
                        // HCL measures after, so start again from the source text.
                        let raw = s
                            .span()
                            .and_then(|r| cx.idx.text().get(r.start + cx.offset..r.end + cx.offset))
                            .map(|raw| raw.replace("$${", "${").replace("%%{", "%{"));
                        strip::split_lines(raw.as_deref().unwrap_or(s.value()), tokens);
                    }
                    _ => strip::split_lines(s.value(), tokens),
                }
                owners.push(start..tokens.len());
            }
            Element::Interpolation(i) => tokens.push(marker(&i.strip)),
            Element::Directive(d) => match &**d {
                Directive::If(i) => {
                    tokens.push(marker(&i.if_expr.strip));
                    literal_tokens(&i.if_expr.template, kind, cx, tokens, owners);
                    if let Some(el) = &i.else_expr {
                        tokens.push(marker(&el.strip));
                        literal_tokens(&el.template, kind, cx, tokens, owners);
                    }
                    tokens.push(marker(&i.endif_expr.strip));
                }
                Directive::For(f) => {
                    tokens.push(marker(&f.for_expr.strip));
                    literal_tokens(&f.for_expr.template, kind, cx, tokens, owners);
                    tokens.push(marker(&f.endfor_expr.strip));
                }
            },
        }
    }
}

/// Converts template elements, taking each literal's final text from `literals` (source order).
fn parts(t: &Template, literals: &mut impl Iterator<Item = String>, cx: &Ctx) -> Vec<TemplatePart> {
    let mut out = Vec::new();
    for e in t.iter() {
        match e {
            Element::Literal(_) => {
                let text = literals.next().unwrap_or_default();
                if !text.is_empty() {
                    out.push(TemplatePart::Literal(text));
                }
            }
            Element::Interpolation(ip) => out.push(TemplatePart::Interpolation(expr(&ip.expr, cx))),
            Element::Directive(d) => match &**d {
                Directive::If(ifd) => {
                    let then_parts = parts(&ifd.if_expr.template, literals, cx);
                    let else_parts = match &ifd.else_expr {
                        Some(el) => parts(&el.template, literals, cx),
                        None => Vec::new(),
                    };
                    out.push(TemplatePart::If {
                        condition: expr(&ifd.if_expr.cond_expr, cx),
                        then_parts,
                        else_parts,
                        range: cx.range(ifd.span()),
                    });
                }
                Directive::For(fd) => {
                    let body = parts(&fd.for_expr.template, literals, cx);
                    out.push(TemplatePart::For {
                        key_var: fd.for_expr.key_var.as_ref().map(|k| k.value().to_string()),
                        value_var: fd.for_expr.value_var.value().to_string(),
                        collection: expr(&fd.for_expr.collection_expr, cx),
                        body,
                        range: cx.range(fd.span()),
                    });
                }
            },
        }
    }
    out
}

/// Converts a parsed body.
pub fn body(b: &HBody, cx: &Ctx, diags: &mut Diagnostics) -> Body {
    let mut out = Body {
        range: cx.range(b.span()),
        ..Default::default()
    };
    for s in b.iter() {
        match s {
            Structure::Attribute(a) => {
                let name = a.key.value().to_string();
                let name_range = cx.range(a.key.span());
                let ex = expr(&a.value, cx);
                let range = cx.range(a.span());
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
                        .with_subject(name_range.clone()),
                    );
                    continue;
                }
                out.attributes.insert(
                    name.clone(),
                    Attribute {
                        name,
                        expr: ex,
                        range,
                        name_range,
                    },
                );
            }
            Structure::Block(bl) => {
                let type_range = cx.range(bl.ident.span());
                let label_ranges: Vec<SourceRange> =
                    bl.labels.iter().map(|l| cx.range(l.span())).collect();
                let def_end = label_ranges
                    .last()
                    .cloned()
                    .unwrap_or_else(|| type_range.clone());
                let open_range = {
                    let from = def_end.end.byte as usize;
                    let text = cx.idx.text();
                    let at = text[from.min(text.len())..]
                        .find('{')
                        .map(|i| from + i)
                        .unwrap_or(from);
                    cx.idx.range(at..(at + 1).min(text.len()))
                };
                out.blocks.push(Block {
                    open_range,
                    type_name: bl.ident.value().to_string(),
                    labels: bl.labels.iter().map(|l| l.as_str().to_string()).collect(),
                    label_ranges,
                    body: body(&bl.body, cx, diags),
                    def_range: type_range.to(&def_end),
                    type_range,
                    range: cx.range(bl.span()),
                });
            }
        }
    }
    out
}
