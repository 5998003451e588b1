//! `sensitive`, `nonsensitive`, `issensitive` and `ephemeralasnull`: functions that read or
//! change a value's marks rather than the value.

use value::{Marks, Type, Value};

use crate::framework::{func, p, Function};

pub(crate) fn register(fs: &mut Vec<Function>) {
    // `try` and `can` need unevaluated expressions; the evaluator implements them.
    fs.push(
        func("try", vec![])
            .var(p("expressions", Type::Dynamic))
            .ret(Type::Dynamic)
            .special()
            .build(),
    );
    fs.push(
        func("can", vec![p("expression", Type::Dynamic).dynamic()])
            .ret(Type::Bool)
            .special()
            .build(),
    );
    let any = || {
        p("value", Type::Dynamic)
            .null()
            .unknown()
            .dynamic()
            .marked()
    };
    fs.push(
        func("sensitive", vec![any()])
            .ret_fn(|args| Ok(args[0].ty()))
            .no_refine()
            .imp(|a| Ok(a.vals[0].clone().mark(Marks::SENSITIVE)))
            .build(),
    );
    fs.push(
        func("nonsensitive", vec![any()])
            .ret_fn(|args| Ok(args[0].ty()))
            .no_refine()
            .imp(|a| {
                let (v, m) = a.vals[0].clone().unmark();
                Ok(v.mark(m.without(Marks::SENSITIVE)))
            })
            .build(),
    );
    fs.push(
        func("issensitive", vec![any()])
            .ret(Type::Bool)
            .imp(|a| Ok(Value::Bool(a.vals[0].marks().is_sensitive())))
            .build(),
    );
    fs.push(
        func("ephemeralasnull", vec![any()])
            .ret_fn(|args| Ok(args[0].ty()))
            .no_refine()
            .imp(|a| {
                let v = &a.vals[0];
                if v.marks().contains(Marks::EPHEMERAL) {
                    return Ok(Value::null(v.ty()));
                }
                Ok(v.clone())
            })
            .build(),
    );
}
