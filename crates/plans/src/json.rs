//! Value-derived parts of Terraform's JSON plan: `after` without unknowns, `after_unknown`,
//! and the `*_sensitive` trees, following Terraform's `jsonplan` rules.

use serde_json::{Map, Number as JsonNumber, Value as Json};
use value::{Type, Value};

/// The JSON of a value with unknowns omitted: unknown object/map members are dropped and
/// unknown list elements become null (element positions correlate with `after_unknown`).
/// Marks are ignored.
pub fn omit_unknowns(v: &Value) -> Option<Json> {
    match v.unmarked() {
        Value::Unknown(_) => None,
        Value::Null(_) => Some(Json::Null),
        Value::Bool(b) => Some(Json::Bool(*b)),
        Value::Number(n) => Some(number_json(n)),
        Value::String(s) => Some(Json::String(s.clone())),
        Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => Some(Json::Array(
            vs.iter()
                .map(|e| omit_unknowns(e).unwrap_or(Json::Null))
                .collect(),
        )),
        Value::Map(_, m) | Value::Object(m) => Some(Json::Object(
            m.iter()
                .filter_map(|(k, e)| omit_unknowns(e).map(|j| (k.clone(), j)))
                .collect(),
        )),
        Value::Marked(..) => unreachable!("unmarked() removed the mark"),
    }
}

/// A JSON number with the exact decimal text of the value.
pub fn number_json(n: &value::Number) -> Json {
    let text = n.to_string();
    match serde_json::from_str::<JsonNumber>(&text) {
        Ok(num) => Json::Number(num),
        Err(_) => Json::String(text),
    }
}

/// The `after_unknown` tree: `true` where a value is unknown; known primitives inside objects
/// and maps are omitted, list elements are kept positionally.
pub fn unknown_as_bool(v: &Value) -> Json {
    match v.unmarked() {
        Value::Null(_) => Json::Bool(false),
        Value::Unknown(_) => Json::Bool(true),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => Json::Bool(false),
        Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
            Json::Array(vs.iter().map(unknown_as_bool).collect())
        }
        Value::Map(_, m) | Value::Object(m) => Json::Object(
            m.iter()
                .filter_map(|(k, e)| {
                    let b = unknown_as_bool(e);
                    (b != Json::Bool(false)).then(|| (k.clone(), b))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Marked(..) => unreachable!("unmarked() removed the mark"),
    }
}

/// The `before_sensitive`/`after_sensitive` tree: `true` where a value is marked sensitive.
/// Collections keep their shape, objects and maps keep only sensitive members; unknown
/// collections are shown as empty arrays and unknown maps and objects as empty objects, as
/// Terraform does.
pub fn sensitive_as_bool(v: &Value) -> Json {
    if v.marks().is_sensitive() {
        return Json::Bool(true);
    }
    match v.unmarked() {
        Value::Null(_) | Value::Bool(_) | Value::Number(_) | Value::String(_) => Json::Bool(false),
        Value::Unknown(u) => match &u.ty {
            Type::List(_) | Type::Set(_) | Type::Tuple(_) => Json::Array(Vec::new()),
            Type::Map(_) | Type::Object(_) => Json::Object(Map::new()),
            _ => Json::Bool(false),
        },
        Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
            Json::Array(vs.iter().map(sensitive_as_bool).collect())
        }
        Value::Map(_, m) | Value::Object(m) => Json::Object(
            m.iter()
                .filter_map(|(k, e)| {
                    let b = sensitive_as_bool(e);
                    (b != Json::Bool(false)).then(|| (k.clone(), b))
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Marked(..) => unreachable!("unmarked() removed the mark"),
    }
}

/// `before_sensitive` for a null (absent) object is `false`, and for a present object the tree.
pub fn sensitive_tree(v: &Value) -> Json {
    if v.is_null() {
        Json::Bool(false)
    } else {
        sensitive_as_bool(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use value::{Marks, Type};

    /// The terraform_data.a create change from `tests/golden/create.json`.
    fn planned_a() -> Value {
        Value::object([
            ("id".to_string(), Value::unknown(Type::String)),
            (
                "input".to_string(),
                Value::object([
                    (
                        "list".to_string(),
                        Value::Tuple(vec![Value::from(1i64), Value::from(2i64)]),
                    ),
                    ("name".to_string(), Value::string("hello")),
                    (
                        "nested".to_string(),
                        Value::object([("x".to_string(), Value::Bool(true))]),
                    ),
                ]),
            ),
            (
                "output".to_string(),
                Value::unknown(
                    Value::object([
                        (
                            "list".to_string(),
                            Value::Tuple(vec![Value::from(1i64), Value::from(2i64)]),
                        ),
                        ("name".to_string(), Value::string("hello")),
                        (
                            "nested".to_string(),
                            Value::object([("x".to_string(), Value::Bool(true))]),
                        ),
                    ])
                    .ty(),
                ),
            ),
            ("triggers_replace".to_string(), Value::Null(Type::Dynamic)),
        ])
    }

    fn golden_change(addr: &str) -> Json {
        let text = include_str!("../tests/golden/create.json");
        let plan: Json = serde_json::from_str(text).unwrap();
        plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == addr)
            .unwrap()["change"]
            .clone()
    }

    #[test]
    fn after_and_after_unknown_match_terraform() {
        let golden = golden_change("terraform_data.a");
        let v = planned_a();
        assert_eq!(omit_unknowns(&v).unwrap(), golden["after"]);
        assert_eq!(unknown_as_bool(&v), golden["after_unknown"]);
        assert_eq!(sensitive_tree(&v), golden["after_sensitive"]);
        assert_eq!(
            sensitive_tree(&Value::Null(Type::Dynamic)),
            golden["before_sensitive"]
        );
    }

    #[test]
    fn sensitive_members_are_marked_true() {
        let v = Value::object([
            ("a".to_string(), Value::string("x").mark(Marks::SENSITIVE)),
            ("b".to_string(), Value::string("y")),
        ]);
        assert_eq!(sensitive_as_bool(&v), serde_json::json!({"a": true}));
    }
}
