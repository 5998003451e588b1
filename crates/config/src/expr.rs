//! The expression AST shared by native HCL and JSON syntax. The evaluator in `lang` walks it.

use diagnostics::SourceRange;
use value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub range: SourceRange,
}

impl Expr {
    /// HCL's `StartRange`: where an expression begins, which HCL uses as the subject of a
    /// function argument's error. For a quoted literal that is its content, inside the quotes
    /// (`Range` includes them).
    pub fn start_range(&self) -> SourceRange {
        // A template starts with its first part; an interpolation's is that expression's.
        if let ExprKind::Template(parts) = &self.kind {
            if let Some(TemplatePart::Interpolation(e)) = parts.first() {
                return e.start_range();
            }
        }
        let mut r = self.range.clone();
        let quoted = matches!(&self.kind, ExprKind::Literal(Value::String(s)) if !s.is_empty());
        if quoted && r.start.line == r.end.line && r.end.byte >= r.start.byte + 2 {
            r.start.column += 1;
            r.start.byte += 1;
            r.end.column -= 1;
            r.end.byte -= 1;
        }
        r
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `null`, `true`, numbers, and strings without interpolation.
    Literal(Value),
    /// A string template or heredoc with interpolations or directives. Strip markers (`~`) and
    /// heredoc indentation (`<<-`) are already applied to the literal parts.
    Template(Vec<TemplatePart>),
    /// A template made of a single interpolation (`"${x}"`): evaluates to `x` unconverted.
    TemplateWrap(Box<Expr>),
    /// `[a, b]`
    Tuple(Vec<Expr>),
    /// `{ k = v }`, in source order.
    Object(Vec<(ObjectKey, Expr)>),
    /// A reference rooted at a variable name: `var.x`, `aws_instance.a[0].id`, `each.key`.
    /// The root name and the traversal steps after it.
    ScopeTraversal {
        root: String,
        steps: Vec<Traverser>,
    },
    /// Attribute/index steps with static keys after an arbitrary expression: `(f(x)).a[0]`.
    RelativeTraversal {
        source: Box<Expr>,
        steps: Vec<Traverser>,
    },
    /// `coll[key]` where `key` is an expression.
    Index {
        collection: Box<Expr>,
        key: Box<Expr>,
    },
    /// `source[*].each` (full splat) or `source.*.each` (legacy attribute-only splat). `each`
    /// is evaluated for every element with [`ExprKind::AnonSymbol`] bound to it.
    Splat {
        source: Box<Expr>,
        each: Box<Expr>,
        legacy: bool,
    },
    /// The element placeholder inside a splat's `each`.
    AnonSymbol,
    /// `name(args...)`; `name` includes a namespace like `provider::aws::arn_parse`.
    /// `expand_final` is set for `f(a, b...)`.
    FunctionCall {
        name: String,
        args: Vec<Expr>,
        expand_final: bool,
    },
    Conditional {
        condition: Box<Expr>,
        true_result: Box<Expr>,
        false_result: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `[for k, v in coll : value if cond]` (tuple form) or
    /// `{for k, v in coll : key => value... if cond}` (object form when `key_expr` is set).
    For {
        key_var: Option<String>,
        value_var: String,
        collection: Box<Expr>,
        key_expr: Option<Box<Expr>>,
        value_expr: Box<Expr>,
        condition: Option<Box<Expr>>,
        grouping: bool,
    },
    /// `( expr )`
    Parens(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Traverser {
    /// `.name`
    Attr { name: String, range: SourceRange },
    /// `[literal]` or legacy `.0`
    Index { key: Value, range: SourceRange },
}

#[derive(Clone, Debug, PartialEq)]
pub enum ObjectKey {
    /// A bare identifier key: `{ a = 1 }`. In Terraform a bare identifier key is the string.
    Ident(String, SourceRange),
    /// Any other key expression: `{ "a" = 1 }`, `{ (var.k) = 1 }`.
    Expr(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Literal(String),
    Interpolation(Expr),
    If {
        condition: Expr,
        then_parts: Vec<TemplatePart>,
        else_parts: Vec<TemplatePart>,
        range: SourceRange,
    },
    For {
        key_var: Option<String>,
        value_var: String,
        collection: Expr,
        body: Vec<TemplatePart>,
        range: SourceRange,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Negate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl Expr {
    /// All references (root name plus static steps) in the expression, for dependency
    /// analysis. Variables bound by `for` expressions are not references.
    pub fn references(&self) -> Vec<(&str, &[Traverser], &SourceRange)> {
        let mut out = Vec::new();
        self.collect_refs(&mut Vec::new(), &mut out);
        out
    }

    fn collect_refs<'a>(
        &'a self,
        bound: &mut Vec<&'a str>,
        out: &mut Vec<(&'a str, &'a [Traverser], &'a SourceRange)>,
    ) {
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::AnonSymbol => {}
            ExprKind::Template(parts) => collect_parts(parts, bound, out),
            ExprKind::TemplateWrap(e) | ExprKind::Parens(e) => e.collect_refs(bound, out),
            ExprKind::Tuple(es) => es.iter().for_each(|e| e.collect_refs(bound, out)),
            ExprKind::Object(items) => {
                for (k, v) in items {
                    if let ObjectKey::Expr(k) = k {
                        k.collect_refs(bound, out);
                    }
                    v.collect_refs(bound, out);
                }
            }
            ExprKind::ScopeTraversal { root, steps } => {
                if !bound.contains(&root.as_str()) {
                    out.push((root, steps, &self.range));
                }
            }
            ExprKind::RelativeTraversal { source, .. } => source.collect_refs(bound, out),
            ExprKind::Index { collection, key } => {
                collection.collect_refs(bound, out);
                key.collect_refs(bound, out);
            }
            ExprKind::Splat { source, each, .. } => {
                source.collect_refs(bound, out);
                each.collect_refs(bound, out);
            }
            ExprKind::FunctionCall { args, .. } => {
                args.iter().for_each(|e| e.collect_refs(bound, out))
            }
            ExprKind::Conditional {
                condition,
                true_result,
                false_result,
            } => {
                condition.collect_refs(bound, out);
                true_result.collect_refs(bound, out);
                false_result.collect_refs(bound, out);
            }
            ExprKind::Unary { operand, .. } => operand.collect_refs(bound, out),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.collect_refs(bound, out);
                rhs.collect_refs(bound, out);
            }
            ExprKind::For {
                key_var,
                value_var,
                collection,
                key_expr,
                value_expr,
                condition,
                ..
            } => {
                collection.collect_refs(bound, out);
                let n = bound.len();
                if let Some(k) = key_var {
                    bound.push(k);
                }
                bound.push(value_var);
                if let Some(k) = key_expr {
                    k.collect_refs(bound, out);
                }
                value_expr.collect_refs(bound, out);
                if let Some(c) = condition {
                    c.collect_refs(bound, out);
                }
                bound.truncate(n);
            }
        }
    }
}

fn collect_parts<'a>(
    parts: &'a [TemplatePart],
    bound: &mut Vec<&'a str>,
    out: &mut Vec<(&'a str, &'a [Traverser], &'a SourceRange)>,
) {
    for p in parts {
        match p {
            TemplatePart::Literal(_) => {}
            TemplatePart::Interpolation(e) => e.collect_refs(bound, out),
            TemplatePart::If {
                condition,
                then_parts,
                else_parts,
                ..
            } => {
                condition.collect_refs(bound, out);
                collect_parts(then_parts, bound, out);
                collect_parts(else_parts, bound, out);
            }
            TemplatePart::For {
                key_var,
                value_var,
                collection,
                body,
                ..
            } => {
                collection.collect_refs(bound, out);
                let n = bound.len();
                if let Some(k) = key_var {
                    bound.push(k);
                }
                bound.push(value_var);
                collect_parts(body, bound, out);
                bound.truncate(n);
            }
        }
    }
}
