//! Expressions: HCL's precedence levels (conditional, `||`, `&&`, equality, comparison,
//! additive, multiplicative, unary), terms with their traversals and splats, collections,
//! `for` expressions and function calls.

use std::ops::Range;

use diagnostics::SourceRange;
use value::{Number, Value};

use super::{is_ident_start, PResult, Parser};
use crate::expr::{BinaryOp, Expr, ExprKind, ObjectKey, Traverser, UnaryOp};

/// Binary operators by precedence level, lowest first.
const LEVELS: [&[(&str, BinaryOp)]; 6] = [
    &[("||", BinaryOp::Or)],
    &[("&&", BinaryOp::And)],
    &[("==", BinaryOp::Eq), ("!=", BinaryOp::NotEq)],
    &[
        ("<=", BinaryOp::Le),
        (">=", BinaryOp::Ge),
        ("<", BinaryOp::Lt),
        (">", BinaryOp::Gt),
    ],
    &[("+", BinaryOp::Add), ("-", BinaryOp::Sub)],
    &[
        ("*", BinaryOp::Mul),
        ("/", BinaryOp::Div),
        ("%", BinaryOp::Mod),
    ],
];

/// One step after a term, before the AST is built.
enum Op {
    Attr(String),
    LegacyIndex(i64),
    Index(Expr),
    AttrSplat,
    FullSplat,
}

impl Parser<'_> {
    fn mk(&self, kind: ExprKind, span: Range<usize>) -> Expr {
        Expr {
            kind,
            range: self.range(span),
        }
    }

    /// A whole expression (HCL's `ParseExpression`): a conditional or anything tighter.
    pub(crate) fn expression(&mut self) -> PResult<Expr> {
        value::depth::guard(|| self.conditional())
    }

    fn conditional(&mut self) -> PResult<Expr> {
        let start = self.pos;
        let condition = self.binary(0)?;
        self.skip_ws();
        if self.peek() != Some(b'?') {
            return Ok(condition);
        }
        let q = self.pos;
        self.pos += 1;
        // Newlines keep their meaning here: in a body or object constructor a conditional
        // broken after `?` is an error in HCL too.
        let true_result = self.nested(self.newlines_matter(), q..q + 1, |p| {
            p.skip_ws();
            p.expression()
        })?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.error(
                "Missing false expression in conditional",
                "The conditional operator (...?...:...) requires a false expression, delimited by a colon.",
                self.token_span(),
            ));
        }
        let c = self.pos;
        self.pos += 1;
        self.skip_ws();
        let false_result = self.nested(self.newlines_matter(), c..c + 1, |p| p.expression())?;
        let end = super::expr_end(&false_result);
        Ok(self.mk(
            ExprKind::Conditional {
                condition: Box::new(condition),
                true_result: Box::new(true_result),
                false_result: Box::new(false_result),
            },
            start..end,
        ))
    }

    /// Binary operators of `level` and tighter, left-associative, in a loop per level.
    fn binary(&mut self, level: usize) -> PResult<Expr> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let start = self.pos;
        let mut lhs = self.binary(level + 1)?;
        loop {
            self.skip_ws();
            let Some(&(sym, op)) = LEVELS[level]
                .iter()
                .find(|(sym, _)| self.starts_with(sym) && !self.is_longer_operator(sym))
            else {
                return Ok(lhs);
            };
            self.pos += sym.len();
            self.skip_ws();
            let rhs = self.binary(level + 1)?;
            let end = super::expr_end(&rhs);
            lhs = self.mk(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                start..end,
            );
        }
    }

    /// `<` is not `<=`, `=` of `==` is not an assignment, `!` of `!=` is not negation...
    fn is_longer_operator(&self, sym: &str) -> bool {
        let next = self.peek_at(sym.len());
        match sym {
            "<" | ">" => next == Some(b'=') || (sym == "<" && next == Some(b'<')),
            "*" => false,
            "/" => matches!(next, Some(b'/' | b'*')),
            _ => false,
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.pos;
        let op = match self.peek() {
            Some(b'-') => UnaryOp::Negate,
            Some(b'!') if self.peek_at(1) != Some(b'=') => UnaryOp::Not,
            _ => return self.term_with_traversals(),
        };
        self.pos += 1;
        let operand = self.nested(self.newlines_matter(), start..start + 1, |p| {
            p.skip_ws();
            p.unary()
        })?;
        let end = super::expr_end(&operand);
        Ok(self.mk(
            ExprKind::Unary {
                op,
                operand: Box::new(operand),
            },
            start..end,
        ))
    }

    fn term_with_traversals(&mut self) -> PResult<Expr> {
        let term = self.term()?;
        let mut ops: Vec<(Op, Range<usize>)> = Vec::new();
        loop {
            // Traversal steps may follow only on the same line outside brackets.
            let save = self.pos;
            self.skip_ws();
            let at = self.pos;
            match self.peek() {
                // `...` expands a final argument or groups a `for` result.
                Some(b'.') if self.peek_at(1) == Some(b'.') => {
                    self.pos = save;
                    break;
                }
                Some(b'.') if self.peek_at(1) == Some(b'*') => {
                    self.pos += 2;
                    ops.push((Op::AttrSplat, at..self.pos));
                }
                Some(b'.') => {
                    self.pos += 1;
                    if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        let s = self.pos;
                        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                            self.pos += 1;
                        }
                        let n: i64 = self.src[s..self.pos].parse().map_err(|_| {
                            self.error("Invalid index", "The index is too large.", at..self.pos)
                        })?;
                        ops.push((Op::LegacyIndex(n), at..self.pos));
                        continue;
                    }
                    match self.ident() {
                        Some((name, _)) => ops.push((Op::Attr(name), at..self.pos)),
                        None => {
                            return Err(self.error(
                                "Invalid attribute name",
                                "An attribute name is required after a dot.",
                                self.token_span(),
                            ))
                        }
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    let op = self.nested(false, at..at + 1, |p| {
                        p.skip_ws();
                        if p.peek() == Some(b'*') {
                            let s = p.pos;
                            p.pos += 1;
                            p.skip_ws();
                            if p.peek() == Some(b']') {
                                p.pos += 1;
                                return Ok(Op::FullSplat);
                            }
                            p.pos = s;
                        }
                        let key = p.expression()?;
                        p.skip_ws();
                        if p.peek() != Some(b']') {
                            return Err(p.error(
                                "Missing close bracket on index",
                                "The index operator must end with a closing bracket (\"]\").",
                                p.token_span(),
                            ));
                        }
                        p.pos += 1;
                        Ok(Op::Index(key))
                    })?;
                    ops.push((op, at..self.pos));
                }
                _ => {
                    self.pos = save;
                    break;
                }
            }
        }
        if ops.is_empty() {
            return Ok(term);
        }
        Ok(self.build_traversal(term, ops))
    }

    /// Static attribute/index steps stay in a traversal; dynamic indexes wrap; a splat takes
    /// the steps after it (attribute steps only, for the legacy `.*`) as its per-element part.
    fn build_traversal(&self, source: Expr, ops: Vec<(Op, Range<usize>)>) -> Expr {
        let start = source.range.clone();
        let mut cur = source;
        let mut ops = ops.into_iter().peekable();
        while let Some((op, span)) = ops.next() {
            let op_range = self.range(span);
            let here = start.to(&op_range);
            match op {
                Op::Attr(_) | Op::LegacyIndex(_) | Op::Index(_) => {
                    cur = self.step(cur, op, op_range, here);
                }
                Op::AttrSplat | Op::FullSplat => {
                    let legacy = matches!(op, Op::AttrSplat);
                    let mut each = Expr {
                        kind: ExprKind::AnonSymbol,
                        range: op_range.clone(),
                    };
                    let mut end = op_range.clone();
                    while let Some((next, _)) = ops.peek() {
                        let takes = match next {
                            Op::Attr(_) | Op::LegacyIndex(_) => true,
                            Op::Index(_) => !legacy,
                            _ => false,
                        };
                        if !takes {
                            break;
                        }
                        let (next, nspan) = ops.next().expect("peeked");
                        let rr = self.range(nspan);
                        end = rr.clone();
                        each = self.step(each, next, rr.clone(), op_range.to(&rr));
                    }
                    cur = Expr {
                        kind: ExprKind::Splat {
                            source: Box::new(cur),
                            each: Box::new(each),
                            legacy,
                        },
                        range: start.to(&end),
                    };
                }
            }
        }
        cur
    }

    fn step(&self, cur: Expr, op: Op, op_range: SourceRange, here: SourceRange) -> Expr {
        match op {
            Op::Attr(name) => push_step(
                cur,
                Traverser::Attr {
                    name,
                    range: op_range,
                },
                here,
            ),
            Op::LegacyIndex(n) => push_step(
                cur,
                Traverser::Index {
                    key: Value::number(n),
                    range: op_range,
                },
                here,
            ),
            Op::Index(key) => match &key.kind {
                ExprKind::Literal(v) if !v.is_null() => push_step(
                    cur,
                    Traverser::Index {
                        key: v.clone(),
                        range: op_range,
                    },
                    here,
                ),
                _ => Expr {
                    kind: ExprKind::Index {
                        collection: Box::new(cur),
                        key: Box::new(key),
                    },
                    range: here,
                },
            },
            Op::AttrSplat | Op::FullSplat => cur,
        }
    }

    fn term(&mut self) -> PResult<Expr> {
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.error(
                "Missing expression",
                "Expected the start of an expression, but found the end of the file.",
                self.b.len()..self.b.len(),
            ));
        };
        match c {
            b'0'..=b'9' => Ok(self.number()),
            b'"' => self.quoted_template(),
            b'<' if self.starts_with("<<") => self.heredoc(),
            b'(' => {
                self.pos += 1;
                let inner = self.nested(false, start..start + 1, |p| {
                    p.skip_ws();
                    let e = p.expression()?;
                    p.skip_ws();
                    if p.peek() != Some(b')') {
                        return Err(p.error(
                            "Unbalanced parentheses",
                            "Expected a closing parenthesis to terminate the expression.",
                            p.token_span(),
                        ));
                    }
                    p.pos += 1;
                    Ok(e)
                })?;
                Ok(self.mk(ExprKind::Parens(Box::new(inner)), start..self.pos))
            }
            b'[' => self.tuple(),
            b'{' => self.object(),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or(' ');
                if !is_ident_start(ch) {
                    // Symbols of the language in the wrong place, or characters it has no use for.
                    let symbol = "+-*/%=<>!.,:?()[]{}\n".contains(ch);
                    return Err(if symbol {
                        self.error(
                            "Invalid expression",
                            "Expected the start of an expression, but found an invalid expression token.",
                            self.token_span(),
                        )
                    } else {
                        self.error(
                            "Invalid character",
                            "This character is not used within the language.",
                            self.token_span(),
                        )
                    });
                }
                self.name_term()
            }
        }
    }

    /// A number, kept exactly as written (`1e999999` and 100,000-digit literals included).
    fn number(&mut self) -> Expr {
        let start = self.pos;
        let digits = |p: &mut Self| {
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.pos += 1;
            }
        };
        digits(self);
        if self.peek() == Some(b'.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                digits(self);
            } else {
                self.pos = save;
            }
        }
        let text = &self.src[start..self.pos];
        let n = Number::parse(text).unwrap_or_else(Number::zero);
        self.mk(ExprKind::Literal(Value::Number(n)), start..self.pos)
    }

    /// A name: a keyword literal, a function call (with `::` namespaces) or a reference.
    fn name_term(&mut self) -> PResult<Expr> {
        let start = self.pos;
        let (mut name, _) = self.ident().expect("starts with an identifier character");
        while self.starts_with("::") {
            let save = self.pos;
            self.pos += 2;
            match self.ident() {
                Some((part, _)) => {
                    name.push_str("::");
                    name.push_str(&part);
                }
                None => {
                    self.pos = save;
                    break;
                }
            }
        }
        let save = self.pos;
        self.skip_ws();
        if self.peek() == Some(b'(') {
            return self.call(name, start);
        }
        self.pos = save;
        let kind = match name.as_str() {
            "null" => ExprKind::Literal(Value::null(value::Type::Dynamic)),
            "true" => ExprKind::Literal(Value::bool(true)),
            "false" => ExprKind::Literal(Value::bool(false)),
            _ if name.contains("::") => {
                return Err(self.error(
                    "Missing function call",
                    "A namespaced name must be followed by function call arguments.",
                    start..self.pos,
                ))
            }
            _ => ExprKind::ScopeTraversal {
                root: name,
                steps: Vec::new(),
            },
        };
        Ok(self.mk(kind, start..self.pos))
    }

    fn call(&mut self, name: String, start: usize) -> PResult<Expr> {
        let open = self.pos;
        self.pos += 1;
        let (args, expand_final) = self.nested(false, open..open + 1, |p| {
            let mut args = Vec::new();
            let mut expand_final = false;
            loop {
                p.skip_ws();
                if p.peek() == Some(b')') {
                    p.pos += 1;
                    break;
                }
                if expand_final {
                    return Err(p.error(
                        "Missing closing parenthesis",
                        "An expanded function argument (with ...) must be immediately followed by closing parentheses.",
                        p.token_span(),
                    ));
                }
                if p.peek().is_none() {
                    return Err(p.error(
                        "Unterminated function call",
                        "There is no closing parenthesis for this function call before the end of the file. This may be caused by incorrect parethesis nesting elsewhere in this file.",
                        open..open + 1,
                    ));
                }
                args.push(p.expression()?);
                p.skip_ws();
                if p.starts_with("...") {
                    p.pos += 3;
                    expand_final = true;
                    p.skip_ws();
                }
                match p.peek() {
                    Some(b',') => p.pos += 1,
                    Some(b')') => {}
                    None => {
                        return Err(p.error(
                            "Unterminated function call",
                            "There is no closing parenthesis for this function call before the end of the file. This may be caused by incorrect parethesis nesting elsewhere in this file.",
                            open..open + 1,
                        ))
                    }
                    Some(_) => {
                        return Err(p.error(
                            "Missing argument separator",
                            "A comma is required to separate each function argument from the next.",
                            p.token_span(),
                        ))
                    }
                }
            }
            Ok((args, expand_final))
        })?;
        Ok(self.mk(
            ExprKind::FunctionCall {
                name,
                args,
                expand_final,
            },
            start..self.pos,
        ))
    }

    fn keyword_ahead(&self, word: &str) -> bool {
        self.starts_with(word)
            && !self.src[self.pos + word.len()..]
                .chars()
                .next()
                .is_some_and(super::is_ident_continue)
    }

    fn tuple(&mut self) -> PResult<Expr> {
        let start = self.pos;
        self.pos += 1;
        self.nested(false, start..start + 1, |p| {
            p.skip_ws();
            if p.keyword_ahead("for") {
                return p.for_expr(start, b']');
            }
            let mut items = Vec::new();
            loop {
                p.skip_ws();
                match p.peek() {
                    Some(b']') => {
                        p.pos += 1;
                        break;
                    }
                    None => {
                        return Err(p.error(
                            "Unterminated tuple constructor expression",
                            "There is no corresponding closing bracket before the end of the file. This may be caused by incorrect bracket nesting elsewhere in this file.",
                            start..start + 1,
                        ))
                    }
                    _ => {}
                }
                items.push(p.expression()?);
                p.skip_ws();
                match p.peek() {
                    Some(b',') => p.pos += 1,
                    Some(b']') | None => {}
                    Some(_) => {
                        return Err(p.error(
                            "Missing item separator",
                            "Expected a comma to mark the beginning of the next item.",
                            p.token_span(),
                        ))
                    }
                }
            }
            Ok(p.mk(ExprKind::Tuple(items), start..p.pos))
        })
    }

    fn object(&mut self) -> PResult<Expr> {
        let start = self.pos;
        self.pos += 1;
        {
            // A `{` that starts a `for` expression ignores newlines throughout.
            let save = self.pos;
            self.skip_all_ws();
            if self.keyword_ahead("for") {
                return self.nested(false, start..start + 1, |p| p.for_expr(start, b'}'));
            }
            self.pos = save;
        }
        self.nested(true, start..start + 1, |p| {
            let mut items = Vec::new();
            loop {
                p.skip_all_ws();
                match p.peek() {
                    Some(b'}') => {
                        p.pos += 1;
                        break;
                    }
                    None => {
                        return Err(p.error(
                            "Unterminated object constructor expression",
                            "There is no corresponding closing brace before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.",
                            start..start + 1,
                        ))
                    }
                    _ => {}
                }
                let key = p.object_key()?;
                p.skip_ws();
                match p.peek() {
                    Some(b'=') | Some(b':') => p.pos += 1,
                    _ => {
                        let (summary, detail) = if p.peek() == Some(b'\n') {
                            ("Missing attribute value", "Expected an attribute value, introduced by an equals sign (\"=\").")
                        } else {
                            ("Missing key/value separator", "Expected an equals sign (\"=\") to mark the beginning of the attribute value.")
                        };
                        return Err(p.error(summary, detail, p.token_span()));
                    }
                }
                p.skip_ws();
                let value = p.expression()?;
                items.push((key, value));
                p.skip_ws();
                match p.peek() {
                    Some(b',') | Some(b'\n') => p.pos += 1,
                    Some(b'}') | None => {}
                    Some(_) => {
                        return Err(p.error(
                            "Missing attribute separator",
                            "Expected a newline or comma to mark the beginning of the next attribute.",
                            p.token_span(),
                        ))
                    }
                }
            }
            Ok(p.mk(ExprKind::Object(items), start..p.pos))
        })
    }

    /// An object key: a bare name (a string, as Terraform reads it) or any expression.
    fn object_key(&mut self) -> PResult<ObjectKey> {
        let save = self.pos;
        if let Some((name, span)) = self.ident() {
            let after = self.pos;
            self.skip_ws();
            if matches!(self.peek(), Some(b'=' | b':')) && self.peek_at(1) != Some(b'=') {
                self.pos = after;
                return Ok(ObjectKey::Ident(name, self.range(span)));
            }
            self.pos = save;
        }
        Ok(ObjectKey::Expr(self.expression()?))
    }

    /// `for k, v in coll : ...` after the opening bracket; `close` is `]` or `}`.
    fn for_expr(&mut self, start: usize, close: u8) -> PResult<Expr> {
        let invalid =
            |p: &Self, detail: &str| p.error("Invalid 'for' expression", detail, p.token_span());
        self.pos += 3;
        self.skip_ws();
        let Some((first, _)) = self.ident() else {
            return Err(invalid(
                self,
                "For expression requires variable name after 'for'.",
            ));
        };
        self.skip_ws();
        let (key_var, value_var) = if self.peek() == Some(b',') {
            self.pos += 1;
            self.skip_ws();
            let Some((second, _)) = self.ident() else {
                return Err(invalid(
                    self,
                    "For expression requires value variable name after comma.",
                ));
            };
            (Some(first), second)
        } else {
            (None, first)
        };
        self.skip_ws();
        if !self.keyword_ahead("in") {
            return Err(invalid(
                self,
                "For expression requires the 'in' keyword after its name declarations.",
            ));
        }
        self.pos += 2;
        self.skip_ws();
        let collection = self.expression()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(invalid(
                self,
                "For expression requires a colon after the collection expression.",
            ));
        }
        self.pos += 1;
        self.skip_ws();
        let first_expr = self.expression()?;
        self.skip_ws();
        let (key_expr, value_expr) = if close == b'}' {
            if !self.starts_with("=>") {
                return Err(invalid(
                    self,
                    "Key expression is required when building an object.",
                ));
            }
            self.pos += 2;
            self.skip_ws();
            let v = self.expression()?;
            (Some(Box::new(first_expr)), v)
        } else {
            if self.starts_with("=>") {
                return Err(invalid(
                    self,
                    "Key expression is not valid when building a tuple.",
                ));
            }
            (None, first_expr)
        };
        self.skip_ws();
        let mut grouping = false;
        if self.starts_with("...") {
            if close != b'}' {
                return Err(invalid(
                    self,
                    "Grouping ellipsis (...) cannot be used when building a tuple.",
                ));
            }
            self.pos += 3;
            grouping = true;
            self.skip_ws();
        }
        let condition = if self.keyword_ahead("if") {
            self.pos += 2;
            self.skip_ws();
            let c = self.expression()?;
            self.skip_ws();
            Some(Box::new(c))
        } else {
            None
        };
        if self.peek() != Some(close) {
            let what = if close == b']' { "bracket" } else { "brace" };
            return Err(invalid(self, &format!("Extra characters after the end of the 'for' expression; expected a closing {what}.")));
        }
        self.pos += 1;
        Ok(self.mk(
            ExprKind::For {
                key_var,
                value_var,
                collection: Box::new(collection),
                key_expr,
                value_expr: Box::new(value_expr),
                condition,
                grouping,
            },
            start..self.pos,
        ))
    }
}

/// Adds a static step to a traversal, starting a relative traversal after anything else.
pub(crate) fn push_step(cur: Expr, step: Traverser, range: SourceRange) -> Expr {
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
