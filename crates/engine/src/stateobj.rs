//! Conversion between decoded resource values and the state file's undecoded instance objects
//! (attributes JSON by schema type, `sensitive_attributes` paths, provider-private bytes).

use providers::schema::ResourceSchema;
use serde_json::json;
use states::{InstanceObject, RawJson};
use value::{PathStep, Type, Value};

use crate::objchange::{apply_marked_paths, marked_paths};

/// Decodes an object whose schema version matches the provider's current one.
pub fn decode(obj: &InstanceObject, ty: &Type) -> Result<Value, String> {
    let Some(attrs) = &obj.attributes else {
        return Err("the state object has only legacy flatmap attributes".into());
    };
    let json: serde_json::Value =
        serde_json::from_str(attrs.get()).map_err(|e| format!("invalid attributes JSON: {e}"))?;
    let v = value::json::from_json(&json, ty).map_err(|e| e.to_string())?;
    let paths = match &obj.sensitive_attributes {
        Some(raw) if !raw.is_null() => parse_paths(&raw.to_value()),
        _ => Vec::new(),
    };
    Ok(apply_marked_paths(v, &paths))
}

/// Encodes a new object for the state file.
pub fn encode(
    v: &Value,
    schema: &ResourceSchema,
    private: &[u8],
    dependencies: Vec<String>,
    create_before_destroy: bool,
) -> Result<InstanceObject, String> {
    let paths = marked_paths(v);
    let (plain, _) = v.clone().unmark_deep();
    let json = value::json::to_json_typed(&plain, &schema.block.implied_type())
        .map_err(|e| e.to_string())?;
    let mut obj = InstanceObject {
        schema_version: u64::try_from(schema.version).unwrap_or(0),
        attributes: Some(RawJson::from_value(&json)),
        sensitive_attributes: Some(RawJson::from_value(&paths_json(&paths))),
        dependencies,
        create_before_destroy,
        ..Default::default()
    };
    obj.set_private_bytes(private);
    Ok(obj)
}

/// Terraform's JSON form of attribute paths: `[[{"type":"get_attr","value":"x"}]]`.
pub fn paths_json(paths: &[Vec<PathStep>]) -> serde_json::Value {
    serde_json::Value::Array(
        paths
            .iter()
            .map(|p| {
                serde_json::Value::Array(
                    p.iter()
                        .map(|s| match s {
                            PathStep::Attr(a) => json!({"type": "get_attr", "value": a}),
                            PathStep::Index(k) => {
                                let (ty, val) = match k {
                                    Value::String(s) => ("string", json!(s)),
                                    Value::Number(n) => (
                                        "number",
                                        value::json::number_to_json(n).unwrap_or(json!(0)),
                                    ),
                                    other => (
                                        "dynamic",
                                        value::json::to_json(other).unwrap_or(json!(null)),
                                    ),
                                };
                                json!({"type": "index", "value": {"value": val, "type": ty}})
                            }
                        })
                        .collect(),
                )
            })
            .collect(),
    )
}

/// Parses the JSON form written by [`paths_json`].
pub fn parse_paths(j: &serde_json::Value) -> Vec<Vec<PathStep>> {
    let Some(arr) = j.as_array() else {
        return Vec::new();
    };
    arr.iter()
        .filter_map(|p| {
            p.as_array()?
                .iter()
                .map(|s| match s.get("type")?.as_str()? {
                    "get_attr" => Some(PathStep::Attr(s.get("value")?.as_str()?.to_string())),
                    "index" => {
                        let v = s.get("value")?;
                        let key = match v.get("type")?.as_str()? {
                            "string" => Value::string(v.get("value")?.as_str()?),
                            "number" => Value::number(v.get("value")?.as_i64()?),
                            _ => return None,
                        };
                        Some(PathStep::Index(key))
                    }
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers::schema::{Attribute, Block};
    use value::Marks;

    #[test]
    fn sensitive_attributes_survive_the_state_file() {
        let mut block = Block::default();
        for n in ["id", "pw"] {
            block.attributes.insert(
                n.into(),
                Attribute {
                    ty: Type::String,
                    optional: true,
                    ..Default::default()
                },
            );
        }
        let schema = ResourceSchema { version: 0, block };
        let v = Value::object([
            ("id".to_string(), Value::string("a")),
            (
                "pw".to_string(),
                Value::string("hunter2").mark(Marks::SENSITIVE),
            ),
        ]);
        let obj = encode(&v, &schema, b"", vec![], false).unwrap();
        assert_eq!(
            obj.sensitive_attributes.as_ref().unwrap().get(),
            r#"[[{"type":"get_attr","value":"pw"}]]"#
        );
        let back = decode(&obj, &schema.block.implied_type()).unwrap();
        assert!(back.get_attr("pw").unwrap().marks().is_sensitive());
        assert!(!back.get_attr("id").unwrap().marks().is_sensitive());
    }
}
