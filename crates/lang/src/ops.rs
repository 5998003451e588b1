//! Operators with cty's semantics: arithmetic on exact numbers, comparisons, equality across
//! types, logic with unknowns; marks of operands carry over to the result.

use config::{BinaryOp, UnaryOp};
use value::{Marks, Type, Value};

/// An operator failure: (summary, detail).
pub(crate) type OpErr = (String, String);

fn operand(v: &Value, ty: &Type, side: &str) -> Result<Value, OpErr> {
    if v.is_null() {
        return Err((
            "Operation failed".into(),
            "Error during operation: argument must not be null.".into(),
        ));
    }
    value::convert::convert(v, ty).map_err(|_| {
        (
            "Invalid operand".into(),
            format!(
                "Unsuitable value for {side} operand: {} is required.",
                match ty {
                    Type::Bool => "a bool",
                    _ => "a number",
                }
            ),
        )
    })
}

pub(crate) fn unary(op: UnaryOp, v: Value) -> Result<Value, OpErr> {
    let (u, marks) = v.unmark();
    let out = match op {
        UnaryOp::Not => {
            let b = operand(&u, &Type::Bool, "right")?;
            match b {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::unknown(Type::Bool),
            }
        }
        UnaryOp::Negate => {
            let n = operand(&u, &Type::Number, "right")?;
            match n {
                Value::Number(n) => Value::Number(n.neg()),
                _ => Value::unknown(Type::Number),
            }
        }
    };
    Ok(out.mark(marks))
}

pub(crate) fn binary(op: BinaryOp, l: Value, r: Value) -> Result<Value, OpErr> {
    let marks: Marks = l.marks() | r.marks();
    let (l, _) = l.unmark();
    let (r, _) = r.unmark();
    let out = match op {
        BinaryOp::Eq | BinaryOp::NotEq => {
            let (l, lm) = l.unmark_deep();
            let (r, rm) = r.unmark_deep();
            let eq = l.equals(&r);
            let v = match (op, eq) {
                (BinaryOp::NotEq, Value::Bool(b)) => Value::Bool(!b),
                (_, v) => v,
            };
            return Ok(v.mark(marks | lm | rm));
        }
        BinaryOp::And | BinaryOp::Or => {
            let lb = operand(&l, &Type::Bool, "left")?;
            let rb = operand(&r, &Type::Bool, "right")?;
            let short = op == BinaryOp::Or;
            match (lb.as_bool(), rb.as_bool()) {
                (Some(a), Some(b)) => Value::Bool(if short { a || b } else { a && b }),
                (Some(a), None) | (None, Some(a)) if a == short => Value::Bool(short),
                _ => Value::unknown(Type::Bool),
            }
        }
        _ => {
            let ln = operand(&l, &Type::Number, "left")?;
            let rn = operand(&r, &Type::Number, "right")?;
            let (Some(a), Some(b)) = (ln.as_number(), rn.as_number()) else {
                let ty = match op {
                    BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => Type::Bool,
                    _ => Type::Number,
                };
                return Ok(Value::unknown(ty).mark(marks));
            };
            match op {
                BinaryOp::Add => Value::Number(a.add(b)),
                BinaryOp::Sub => Value::Number(a.sub(b)),
                BinaryOp::Mul => Value::Number(a.mul(b)),
                BinaryOp::Div => Value::Number(a.div(b).ok_or_else(op_failed)?),
                BinaryOp::Mod => Value::Number(a.rem(b).ok_or_else(op_failed)?),
                BinaryOp::Lt => Value::Bool(a.cmp_value(b).is_lt()),
                BinaryOp::Le => Value::Bool(a.cmp_value(b).is_le()),
                BinaryOp::Gt => Value::Bool(a.cmp_value(b).is_gt()),
                BinaryOp::Ge => Value::Bool(a.cmp_value(b).is_ge()),
                _ => unreachable!("handled above"),
            }
        }
    };
    Ok(out.mark(marks))
}

fn op_failed() -> OpErr {
    (
        "Operation failed".into(),
        "Error during operation: can't compute the result of this arithmetic operation.".into(),
    )
}
