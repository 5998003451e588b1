//! Conversions between the wire messages and the `providers` model: schemas (from the JSON
//! type bytes and nesting modes), diagnostics with attribute paths, and dynamic values.

use crate::proto::{tfplugin5 as v5, tfplugin6 as v6};
use prost::Message;
use providers::schema::SchemaMap;
use providers::{
    Attribute, Block, FunctionParam, FunctionSignature, NestedBlock, NestingMode,
    ProviderDiagnostic, ProviderSchema, ResourceSchema, Severity,
};
use value::{Number, PathStep, Type, Value};

/// A malformed message from the plugin.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(pub String);

/// The server capabilities a schema response announced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub plan_destroy: bool,
    pub get_provider_schema_optional: bool,
    pub move_resource_state: bool,
}

/// The decoded `GetProviderSchema` answer.
#[derive(Clone, Debug, Default)]
pub struct DecodedSchema {
    pub schema: ProviderSchema,
    pub capabilities: Capabilities,
    pub diagnostics: Vec<ProviderDiagnostic>,
}

/// The per-type entries of a schema answer, left encoded: fields 2 and 3 of
/// `GetProviderSchema.Response` in both protocols. A run uses a handful of the AWS provider's
/// 1,500 types, so each is decoded and converted only when first asked for.
#[derive(Clone, PartialEq, prost::Message)]
struct EncodedEntries {
    #[prost(map = "string, bytes", tag = "2")]
    resource_schemas: std::collections::HashMap<String, Vec<u8>>,
    #[prost(map = "string, bytes", tag = "3")]
    data_source_schemas: std::collections::HashMap<String, Vec<u8>>,
}

/// The rest of a protocol-6 answer (the same field numbers as the generated message).
#[derive(Clone, PartialEq, prost::Message)]
struct HeadV6 {
    #[prost(message, optional, tag = "1")]
    provider: Option<v6::Schema>,
    #[prost(message, repeated, tag = "4")]
    diagnostics: Vec<v6::Diagnostic>,
    #[prost(message, optional, tag = "5")]
    provider_meta: Option<v6::Schema>,
    #[prost(message, optional, tag = "6")]
    server_capabilities: Option<v6::ServerCapabilities>,
    #[prost(map = "string, message", tag = "7")]
    functions: std::collections::HashMap<String, v6::Function>,
}

/// The rest of a protocol-5 answer.
#[derive(Clone, PartialEq, prost::Message)]
struct HeadV5 {
    #[prost(message, optional, tag = "1")]
    provider: Option<v5::Schema>,
    #[prost(message, repeated, tag = "4")]
    diagnostics: Vec<v5::Diagnostic>,
    #[prost(message, optional, tag = "5")]
    provider_meta: Option<v5::Schema>,
    #[prost(message, optional, tag = "6")]
    server_capabilities: Option<v5::ServerCapabilities>,
    #[prost(map = "string, message", tag = "7")]
    functions: std::collections::HashMap<String, v5::Function>,
}

/// Decodes an encoded `GetProviderSchema.Response` of protocol `version` (5 or 6). The
/// provider block, functions and diagnostics are converted now; resource and data-source
/// schemas on first use (see [`SchemaMap`]).
pub fn decode_schema(version: u32, bytes: &[u8]) -> Result<DecodedSchema, ConvertError> {
    let bad = |e: prost::DecodeError| ConvertError(format!("invalid schema message: {e}"));
    let entries = EncodedEntries::decode(bytes).map_err(bad)?;
    let (mut decoded, entry): (_, EntryDecoder) = if version == 5 {
        let head = lift_head(HeadV5::decode(bytes).map_err(bad)?);
        (head_from_v6(head)?, |b| {
            v5::Schema::decode(b)
                .map(lift_schema)
                .map_err(|e| e.to_string())
        })
    } else {
        (head_from_v6(HeadV6::decode(bytes).map_err(bad)?)?, |b| {
            v6::Schema::decode(b).map_err(|e| e.to_string())
        })
    };
    decoded.schema.resource_types = lazy_map(entries.resource_schemas, entry);
    decoded.schema.data_sources = lazy_map(entries.data_source_schemas, entry);
    Ok(decoded)
}

fn head_from_v6(head: HeadV6) -> Result<DecodedSchema, ConvertError> {
    let mut out = ProviderSchema::default();
    let memo = &mut TypeMemo::default();
    if let Some(p) = head.provider {
        out.provider = block_from_v6(p.block.unwrap_or_default(), "provider", memo)?;
    }
    if let Some(m) = head.provider_meta {
        if m.block.is_some() {
            out.provider_meta = Some(block_from_v6(
                m.block.unwrap_or_default(),
                "provider_meta",
                memo,
            )?);
        }
    }
    for (name, f) in head.functions {
        let sig = function_from_v6(f, &name)?;
        out.functions.insert(name, sig);
    }
    let capabilities = head
        .server_capabilities
        .map(|c| Capabilities {
            plan_destroy: c.plan_destroy,
            get_provider_schema_optional: c.get_provider_schema_optional,
            move_resource_state: c.move_resource_state,
        })
        .unwrap_or_default();
    Ok(DecodedSchema {
        schema: out,
        capabilities,
        diagnostics: diagnostics(head.diagnostics),
    })
}

/// Lifts a protocol-5 schema to protocol 6's shape (the two differ only in attribute field
/// numbering and nested attribute types, which 5 lacks).
fn lift_schema(s: v5::Schema) -> v6::Schema {
    fn block(b: v5::schema::Block) -> v6::schema::Block {
        v6::schema::Block {
            version: b.version,
            attributes: b.attributes.into_iter().map(attr).collect(),
            block_types: b
                .block_types
                .into_iter()
                .map(|nb| v6::schema::NestedBlock {
                    type_name: nb.type_name,
                    block: nb.block.map(block),
                    // The nesting enums have the same numbering in both protocols.
                    nesting: nb.nesting,
                    min_items: nb.min_items,
                    max_items: nb.max_items,
                })
                .collect(),
            description: b.description,
            description_kind: b.description_kind,
            deprecated: b.deprecated,
        }
    }
    fn attr(a: v5::schema::Attribute) -> v6::schema::Attribute {
        v6::schema::Attribute {
            name: a.name,
            r#type: a.r#type,
            nested_type: None,
            description: a.description,
            required: a.required,
            optional: a.optional,
            computed: a.computed,
            sensitive: a.sensitive,
            description_kind: a.description_kind,
            deprecated: a.deprecated,
            write_only: a.write_only,
        }
    }
    v6::Schema {
        version: s.version,
        block: s.block.map(block),
    }
}

fn lift_head(head: HeadV5) -> HeadV6 {
    fn function(f: v5::Function) -> v6::Function {
        let param = |p: v5::function::Parameter| v6::function::Parameter {
            name: p.name,
            r#type: p.r#type,
            allow_null_value: p.allow_null_value,
            allow_unknown_values: p.allow_unknown_values,
            description: p.description,
            description_kind: p.description_kind,
        };
        v6::Function {
            parameters: f.parameters.into_iter().map(param).collect(),
            variadic_parameter: f.variadic_parameter.map(param),
            r#return: f
                .r#return
                .map(|r| v6::function::Return { r#type: r.r#type }),
            summary: f.summary,
            description: f.description,
            description_kind: f.description_kind,
            deprecation_message: f.deprecation_message,
        }
    }
    HeadV6 {
        provider: head.provider.map(lift_schema),
        functions: head
            .functions
            .into_iter()
            .map(|(k, f)| (k, function(f)))
            .collect(),
        diagnostics: head
            .diagnostics
            .into_iter()
            .map(|d| v6::Diagnostic {
                severity: d.severity,
                summary: d.summary,
                detail: d.detail,
                attribute: d.attribute.map(|p| v6::AttributePath {
                    steps: p
                        .steps
                        .into_iter()
                        .map(|s| v6::attribute_path::Step {
                            selector: s.selector.map(|sel| match sel {
                                v5::attribute_path::step::Selector::AttributeName(n) => {
                                    v6::attribute_path::step::Selector::AttributeName(n)
                                }
                                v5::attribute_path::step::Selector::ElementKeyString(k) => {
                                    v6::attribute_path::step::Selector::ElementKeyString(k)
                                }
                                v5::attribute_path::step::Selector::ElementKeyInt(i) => {
                                    v6::attribute_path::step::Selector::ElementKeyInt(i)
                                }
                            }),
                        })
                        .collect(),
                }),
            })
            .collect(),
        provider_meta: head.provider_meta.map(lift_schema),
        server_capabilities: head.server_capabilities.map(|c| v6::ServerCapabilities {
            plan_destroy: c.plan_destroy,
            get_provider_schema_optional: c.get_provider_schema_optional,
            move_resource_state: c.move_resource_state,
        }),
    }
}

/// Decodes one encoded schema entry into protocol 6's shape.
type EntryDecoder = fn(&[u8]) -> Result<v6::Schema, String>;

/// Resource schemas decoded and converted on first use.
fn lazy_map(raw: std::collections::HashMap<String, Vec<u8>>, entry: EntryDecoder) -> SchemaMap {
    let mut out = SchemaMap::default();
    for (name, bytes) in raw {
        let ctx = name.clone();
        out.insert_lazy(
            name,
            Box::new(move || {
                let s = entry(&bytes)?;
                let block =
                    block_from_v6(s.block.unwrap_or_default(), &ctx, &mut TypeMemo::default())
                        .map_err(|e| e.0)?;
                Ok(ResourceSchema {
                    version: s.version,
                    block,
                })
            }),
        );
    }
    out
}

/// Parsed attribute types by their JSON bytes: a large schema repeats a few hundred distinct
/// types across a hundred thousand attributes, and parsing dominates conversion otherwise.
#[derive(Default)]
struct TypeMemo(std::collections::HashMap<Vec<u8>, Type>);

impl TypeMemo {
    fn get(&mut self, bytes: &[u8]) -> Result<Type, String> {
        if let Some(t) = self.0.get(bytes) {
            return Ok(t.clone());
        }
        let t = type_from_json_bytes(bytes)?;
        self.0.insert(bytes.to_vec(), t.clone());
        Ok(t)
    }
}

fn block_from_v6(
    b: v6::schema::Block,
    ctx: &str,
    memo: &mut TypeMemo,
) -> Result<Block, ConvertError> {
    let mut out = Block {
        description: b.description,
        deprecated: b.deprecated,
        ..Block::default()
    };
    for a in b.attributes {
        let name = a.name.clone();
        out.attributes.insert(
            name.clone(),
            attribute_from_v6(a, memo).map_err(|e| ConvertError(format!("{ctx}.{name}{}", e.0)))?,
        );
    }
    for nb in b.block_types {
        let nesting = match v6::schema::nested_block::NestingMode::try_from(nb.nesting) {
            Ok(v6::schema::nested_block::NestingMode::Single) => NestingMode::Single,
            Ok(v6::schema::nested_block::NestingMode::Group) => NestingMode::Group,
            Ok(v6::schema::nested_block::NestingMode::List) => NestingMode::List,
            Ok(v6::schema::nested_block::NestingMode::Set) => NestingMode::Set,
            Ok(v6::schema::nested_block::NestingMode::Map) => NestingMode::Map,
            _ => {
                return Err(ConvertError(format!(
                    "{ctx}.{}: invalid block nesting mode {}",
                    nb.type_name, nb.nesting
                )))
            }
        };
        let inner = block_from_v6(
            nb.block.unwrap_or_default(),
            &format!("{ctx}.{}", nb.type_name),
            memo,
        )?;
        out.block_types.insert(
            nb.type_name,
            NestedBlock {
                nesting,
                block: inner,
                min_items: u64::try_from(nb.min_items).unwrap_or(0),
                max_items: u64::try_from(nb.max_items).unwrap_or(0),
            },
        );
    }
    Ok(out)
}

/// Converts one attribute; errors start with the path below the attribute (possibly empty) so
/// the caller can prefix its own position without formatting paths on the success path.
fn attribute_from_v6(
    a: v6::schema::Attribute,
    memo: &mut TypeMemo,
) -> Result<Attribute, ConvertError> {
    let (ty, nested) = match a.nested_type {
        Some(obj) => {
            let nesting = match v6::schema::object::NestingMode::try_from(obj.nesting) {
                Ok(v6::schema::object::NestingMode::Single) => NestingMode::Single,
                Ok(v6::schema::object::NestingMode::List) => NestingMode::List,
                Ok(v6::schema::object::NestingMode::Set) => NestingMode::Set,
                Ok(v6::schema::object::NestingMode::Map) => NestingMode::Map,
                _ => {
                    return Err(ConvertError(format!(
                        ": invalid nested attribute nesting mode {}",
                        obj.nesting
                    )))
                }
            };
            let mut inner = Block::default();
            for na in obj.attributes {
                let name = na.name.clone();
                inner.attributes.insert(
                    name.clone(),
                    attribute_from_v6(na, memo)
                        .map_err(|e| ConvertError(format!(".{name}{}", e.0)))?,
                );
            }
            (
                nested_attribute_type(nesting, &inner),
                Some((nesting, inner)),
            )
        }
        None => (
            memo.get(&a.r#type)
                .map_err(|e| ConvertError(format!(": invalid attribute type: {e}")))?,
            None,
        ),
    };
    Ok(Attribute {
        ty,
        nested,
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        write_only: a.write_only,
        deprecated: a.deprecated,
        description: a.description,
    })
}

/// The type a nested attribute implies (Terraform's `Object.ImpliedType`: without optional
/// attribute markers).
fn nested_attribute_type(nesting: NestingMode, inner: &Block) -> Type {
    let obj = Type::object(
        inner
            .attributes
            .iter()
            .map(|(k, a)| (k.clone(), a.ty.clone())),
    );
    match nesting {
        NestingMode::Single | NestingMode::Group => obj,
        NestingMode::List => Type::list(obj),
        NestingMode::Set => Type::set(obj),
        NestingMode::Map => Type::map(obj),
    }
}

fn function_from_v6(f: v6::Function, name: &str) -> Result<FunctionSignature, ConvertError> {
    let param = |p: v6::function::Parameter| -> Result<FunctionParam, ConvertError> {
        Ok(FunctionParam {
            ty: type_from_json_bytes(&p.r#type)
                .map_err(|e| ConvertError(format!("function {name} parameter {}: {e}", p.name)))?,
            name: p.name,
            allow_null: p.allow_null_value,
            allow_unknown: p.allow_unknown_values,
        })
    };
    Ok(FunctionSignature {
        params: f
            .parameters
            .into_iter()
            .map(param)
            .collect::<Result<_, _>>()?,
        variadic: f.variadic_parameter.map(param).transpose()?,
        return_type: match f.r#return {
            Some(r) => type_from_json_bytes(&r.r#type)
                .map_err(|e| ConvertError(format!("function {name} return type: {e}")))?,
            None => Type::Dynamic,
        },
        summary: f.summary,
        description: f.description,
    })
}

/// Provider diagnostics, with attribute paths turned into [`PathStep`]s.
pub fn diagnostics(ds: Vec<v6::Diagnostic>) -> Vec<ProviderDiagnostic> {
    ds.into_iter()
        .map(|d| ProviderDiagnostic {
            // INVALID is not sent by conforming providers; treating it as an error is the
            // safe reading.
            severity: if d.severity == v6::diagnostic::Severity::Warning as i32 {
                Severity::Warning
            } else {
                Severity::Error
            },
            summary: d.summary,
            detail: d.detail,
            attribute: d.attribute.map(attribute_path),
        })
        .collect()
}

pub fn attribute_path(p: v6::AttributePath) -> Vec<PathStep> {
    use v6::attribute_path::step::Selector;
    p.steps
        .into_iter()
        .filter_map(|s| {
            Some(match s.selector? {
                Selector::AttributeName(n) => PathStep::Attr(n),
                Selector::ElementKeyString(k) => PathStep::Index(Value::String(k)),
                Selector::ElementKeyInt(i) => PathStep::Index(Value::Number(Number::from(i))),
            })
        })
        .collect()
}

/// Encodes a value for the wire (always msgpack, as Terraform sends).
pub fn dynamic_value(v: &Value, ty: &Type) -> Result<v6::DynamicValue, ConvertError> {
    let msgpack = value::msgpack::to_msgpack(v, ty).map_err(|e| ConvertError(e.to_string()))?;
    Ok(v6::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

/// Decodes a value from the wire; providers may answer in msgpack or (legacy) JSON. A missing
/// value reads as null.
pub fn from_dynamic_value(dv: Option<v6::DynamicValue>, ty: &Type) -> Result<Value, ConvertError> {
    let Some(dv) = dv else {
        return Ok(Value::Null(ty.clone()));
    };
    if !dv.msgpack.is_empty() {
        return value::msgpack::from_msgpack(&dv.msgpack, ty)
            .map_err(|e| ConvertError(e.to_string()));
    }
    if !dv.json.is_empty() {
        let j: serde_json::Value =
            serde_json::from_slice(&dv.json).map_err(|e| ConvertError(e.to_string()))?;
        return value::json::from_json(&j, ty).map_err(|e| ConvertError(e.to_string()));
    }
    Ok(Value::Null(ty.clone()))
}

/// Parses cty's JSON type encoding (`"string"`, `["list","number"]`, `["object",{...}]`).
pub fn type_from_json_bytes(bytes: &[u8]) -> Result<Type, String> {
    let j: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    type_from_json(&j)
}

fn type_from_json(j: &serde_json::Value) -> Result<Type, String> {
    use serde_json::Value as J;
    match j {
        J::String(s) => match s.as_str() {
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(format!("unknown primitive type {other:?}")),
        },
        J::Array(items) => match (items.first().and_then(J::as_str), items.len()) {
            (Some("list"), 2) => Ok(Type::list(type_from_json(&items[1])?)),
            (Some("set"), 2) => Ok(Type::set(type_from_json(&items[1])?)),
            (Some("map"), 2) => Ok(Type::map(type_from_json(&items[1])?)),
            (Some("tuple"), 2) => match &items[1] {
                J::Array(ts) => Ok(Type::Tuple(
                    ts.iter().map(type_from_json).collect::<Result<_, _>>()?,
                )),
                _ => Err("tuple element types must be an array".into()),
            },
            (Some("object"), 2 | 3) => match &items[1] {
                J::Object(attrs) => {
                    let mut ot = value::ObjectType::default();
                    for (k, t) in attrs {
                        ot.attrs.insert(k.clone(), type_from_json(t)?);
                    }
                    if let Some(J::Array(opt)) = items.get(2) {
                        for o in opt.iter().filter_map(J::as_str) {
                            ot.optional.insert(o.to_string());
                        }
                    }
                    Ok(Type::Object(ot))
                }
                _ => Err("object attribute types must be an object".into()),
            },
            _ => Err(format!("invalid type specification {j}")),
        },
        _ => Err(format!("invalid type specification {j}")),
    }
}

/// Builds a value of `block`'s implied type from a partial set of attribute values: every
/// attribute and nested block the schema has is present, unset ones null (nested blocks of
/// list/set/map nesting default to empty collections, as Terraform's decoder produces).
/// Nested block values that are given (objects, or lists/sets/maps of objects) are completed
/// the same way, recursively.
pub fn complete_object(block: &Block, partial: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut attrs: std::collections::BTreeMap<String, Value> = partial.into_iter().collect();
    for (name, a) in &block.attributes {
        attrs
            .entry(name.clone())
            .or_insert_with(|| Value::Null(a.ty.clone()));
    }
    for (name, nb) in &block.block_types {
        let inner = nb.block.implied_type();
        let v = match attrs.remove(name) {
            Some(v) => complete_nested(nb, v),
            None => match nb.nesting {
                NestingMode::Single | NestingMode::Group => Value::Null(inner),
                NestingMode::List if inner.has_dynamic() => Value::Tuple(Vec::new()),
                NestingMode::List => Value::List(inner, Vec::new()),
                NestingMode::Set => Value::Set(inner, Vec::new()),
                NestingMode::Map if inner.has_dynamic() => Value::empty_object(),
                NestingMode::Map => Value::Map(inner, Default::default()),
            },
        };
        attrs.insert(name.clone(), v);
    }
    Value::Object(attrs)
}

fn complete_nested(nb: &NestedBlock, v: Value) -> Value {
    let one = |v: Value| match v {
        Value::Object(m) => complete_object(&nb.block, m),
        other => other,
    };
    let inner = nb.block.implied_type();
    match v {
        Value::Object(_) if matches!(nb.nesting, NestingMode::Single | NestingMode::Group) => {
            one(v)
        }
        Value::List(_, vs) | Value::Tuple(vs) if nb.nesting == NestingMode::List => {
            Value::List(inner, vs.into_iter().map(one).collect())
        }
        Value::Set(_, vs) | Value::List(_, vs) | Value::Tuple(vs)
            if nb.nesting == NestingMode::Set =>
        {
            Value::set_of(inner, vs.into_iter().map(one).collect())
        }
        Value::Map(_, m) | Value::Object(m) if nb.nesting == NestingMode::Map => {
            Value::Map(inner, m.into_iter().map(|(k, v)| (k, one(v))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_json() {
        assert_eq!(type_from_json_bytes(br#""string""#).unwrap(), Type::String);
        assert_eq!(
            type_from_json_bytes(br#"["map",["list","number"]]"#).unwrap(),
            Type::map(Type::list(Type::Number))
        );
        assert_eq!(
            type_from_json_bytes(br#"["object",{"a":"bool","b":["set","string"]}]"#).unwrap(),
            Type::object([
                ("a".to_string(), Type::Bool),
                ("b".to_string(), Type::set(Type::String))
            ])
        );
        assert!(type_from_json_bytes(br#"["lisst","number"]"#).is_err());
    }

    #[test]
    fn nested_attributes_imply_collection_types() {
        let attr = |name: &str, ty: &[u8]| v6::schema::Attribute {
            name: name.into(),
            r#type: ty.to_vec(),
            optional: true,
            ..Default::default()
        };
        let a = v6::schema::Attribute {
            name: "rules".into(),
            nested_type: Some(v6::schema::Object {
                attributes: vec![attr("port", br#""number""#), attr("cidr", br#""string""#)],
                nesting: v6::schema::object::NestingMode::Set as i32,
                ..Default::default()
            }),
            optional: true,
            ..Default::default()
        };
        let got = attribute_from_v6(a, &mut TypeMemo::default()).unwrap();
        assert_eq!(
            got.ty,
            Type::set(Type::object([
                ("cidr".to_string(), Type::String),
                ("port".to_string(), Type::Number)
            ]))
        );
        assert_eq!(got.nested.unwrap().0, NestingMode::Set);
    }

    #[test]
    fn diagnostic_paths_become_steps() {
        use v6::attribute_path::step::Selector;
        let d = v6::Diagnostic {
            severity: v6::diagnostic::Severity::Warning as i32,
            summary: "s".into(),
            detail: "d".into(),
            attribute: Some(v6::AttributePath {
                steps: vec![
                    v6::attribute_path::Step {
                        selector: Some(Selector::AttributeName("tags".into())),
                    },
                    v6::attribute_path::Step {
                        selector: Some(Selector::ElementKeyString("k".into())),
                    },
                    v6::attribute_path::Step {
                        selector: Some(Selector::ElementKeyInt(2)),
                    },
                ],
            }),
        };
        let got = diagnostics(vec![d]);
        assert_eq!(got[0].severity, Severity::Warning);
        assert_eq!(
            got[0].attribute.as_deref().unwrap(),
            &[
                PathStep::Attr("tags".into()),
                PathStep::Index(Value::string("k")),
                PathStep::Index(Value::from(2i64)),
            ]
        );
    }

    #[test]
    fn complete_object_fills_every_attribute() {
        let mut b = Block::default();
        b.attributes.insert(
            "region".into(),
            Attribute {
                ty: Type::String,
                optional: true,
                ..Default::default()
            },
        );
        b.attributes.insert(
            "max_retries".into(),
            Attribute {
                ty: Type::Number,
                optional: true,
                ..Default::default()
            },
        );
        let mut inner = Block::default();
        inner.attributes.insert(
            "s3".into(),
            Attribute {
                ty: Type::String,
                optional: true,
                ..Default::default()
            },
        );
        b.block_types.insert(
            "endpoints".into(),
            NestedBlock {
                nesting: NestingMode::Set,
                block: inner.clone(),
                ..Default::default()
            },
        );
        let v = complete_object(&b, [("region".to_string(), Value::string("us-east-1"))]);
        let Value::Object(m) = &v else { panic!() };
        assert_eq!(m["region"], Value::string("us-east-1"));
        assert_eq!(m["max_retries"], Value::Null(Type::Number));
        assert_eq!(m["endpoints"], Value::Set(inner.implied_type(), vec![]));
        assert_eq!(v.ty(), b.implied_type());
        // Given nested blocks are completed too.
        let v = complete_object(
            &b,
            [(
                "endpoints".to_string(),
                Value::List(Type::Dynamic, vec![Value::empty_object()]),
            )],
        );
        assert_eq!(v.ty(), b.implied_type());
    }
}
