//! Decodes a file's top-level body into module declarations, with Terraform's diagnostics
//! for unknown blocks and arguments, missing labels, invalid names and duplicates.

use std::collections::BTreeMap;

use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use value::{ObjectType, Type, Value};

use crate::body::{Attribute, Block, Body};
use crate::expr::{Expr, ExprKind, ObjectKey, Traverser, UnaryOp};
use crate::model::*;

fn err(summary: impl Into<String>, detail: impl Into<String>, r: &SourceRange) -> Diagnostic {
    Diagnostic::error(summary, detail).with_subject(r.clone())
}

fn at(r: &SourceRange) -> String {
    format!(
        "{}:{},{}-{}",
        r.filename, r.start.line, r.start.column, r.end.column
    )
}

/// A constant value of a literal-only expression (strings, numbers, bools, null, tuples and
/// objects of those), as used for meta-arguments and type defaults.
pub fn const_value(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Literal(v) => Some(v.clone()),
        ExprKind::TemplateWrap(inner) | ExprKind::Parens(inner) => const_value(inner),
        ExprKind::Unary {
            op: UnaryOp::Negate,
            operand,
        } => match const_value(operand)? {
            Value::Number(n) => Some(Value::Number(n.neg())),
            _ => None,
        },
        ExprKind::Tuple(es) => Some(Value::Tuple(
            es.iter().map(const_value).collect::<Option<_>>()?,
        )),
        ExprKind::Object(items) => {
            let mut m = BTreeMap::new();
            for (k, v) in items {
                let key = match k {
                    ObjectKey::Ident(s, _) => s.clone(),
                    ObjectKey::Expr(e) => const_value(e)?.as_str()?.to_string(),
                };
                m.insert(key, const_value(v)?);
            }
            Some(Value::Object(m))
        }
        _ => None,
    }
}

fn const_bool(a: &Attribute, diags: &mut Diagnostics) -> Option<bool> {
    match const_value(&a.expr) {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
        _ => {
            diags.push(err(
                "Unsuitable value type",
                "Unsuitable value: a bool is required",
                &a.expr.range,
            ));
            None
        }
    }
}

fn const_string(a: &Attribute, diags: &mut Diagnostics) -> Option<String> {
    match const_value(&a.expr) {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_text()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => {
            diags.push(err(
                "Unsuitable value type",
                "Unsuitable value: a string is required",
                &a.expr.range,
            ));
            None
        }
    }
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// Checks a body's attributes and blocks against what a block type allows.
fn check_schema(
    body: &Body,
    attrs: &[&str],
    blocks: &[&str],
    required: &[&str],
    open: &SourceRange,
    diags: &mut Diagnostics,
) {
    for (name, a) in &body.attributes {
        if !attrs.contains(&name.as_str()) {
            if blocks.contains(&name.as_str()) {
                diags.push(err(
                    "Unsupported argument",
                    format!("An argument named \"{name}\" is not expected here. Did you mean to define a block of type \"{name}\"?"),
                    &a.name_range,
                ));
            } else {
                diags.push(err(
                    "Unsupported argument",
                    format!("An argument named \"{name}\" is not expected here."),
                    &a.name_range,
                ));
            }
        }
    }
    for b in &body.blocks {
        if !blocks.contains(&b.type_name.as_str()) {
            if attrs.contains(&b.type_name.as_str()) {
                diags.push(err(
                    "Unsupported block type",
                    format!("Blocks of type \"{}\" are not expected here. Did you mean to define argument \"{}\"? If so, use the equals sign to assign it a value.", b.type_name, b.type_name),
                    &b.type_range,
                ));
            } else {
                let hint = diagnostics::name_suggestion(&b.type_name, blocks.iter().copied())
                    .map(|s| format!(" Did you mean \"{s}\"?"))
                    .unwrap_or_default();
                diags.push(err(
                    "Unsupported block type",
                    format!(
                        "Blocks of type \"{}\" are not expected here.{hint}",
                        b.type_name
                    ),
                    &b.type_range,
                ));
            }
        }
    }
    for r in required {
        if !body.attributes.contains_key(*r) {
            diags.push(err(
                "Missing required argument",
                format!("The argument \"{r}\" is required, but no definition was found."),
                open,
            ));
        }
    }
}

pub(crate) fn labels(
    b: &Block,
    n: usize,
    what: &str,
    names: &str,
    diags: &mut Diagnostics,
) -> bool {
    if b.labels.len() == n {
        return true;
    }
    let r = if b.labels.len() > n {
        b.label_ranges[n].clone()
    } else {
        b.open_range.clone()
    };
    if b.labels.len() < n {
        diags.push(err(
            format!("Missing name for {what}"),
            format!("All {what} blocks must have {n} labels ({names})."),
            &r,
        ));
    } else {
        diags.push(err(
            format!("Extraneous label for {what}"),
            format!("Only {n} labels ({names}) are expected for {what} blocks."),
            &r,
        ));
    }
    false
}

fn check_rule(b: &Block, diags: &mut Diagnostics) -> Option<CheckRule> {
    check_schema(
        &b.body,
        &["condition", "error_message"],
        &[],
        &["condition", "error_message"],
        &b.open_range,
        diags,
    );
    Some(CheckRule {
        condition: b.body.attributes.get("condition")?.expr.clone(),
        error_message: b.body.attributes.get("error_message")?.expr.clone(),
        range: b.range.clone(),
    })
}

/// Parses a type constraint expression (`list(object({a = optional(string, "x")}))`).
pub fn type_constraint(e: &Expr, defaults: &mut TypeDefaults) -> Result<Type, Diagnostic> {
    let bad = |detail: String| Err(err("Invalid type specification", detail, &e.range));
    match &e.kind {
        ExprKind::ScopeTraversal { root, steps } if steps.is_empty() => match root.as_str() {
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            "any" => Ok(Type::Dynamic),
            "list" | "map" | "set" => bad(format!("The {root} type constructor requires one argument specifying the element type.")),
            "object" => bad("The object type constructor requires one argument specifying the attribute types as a map.".into()),
            "tuple" => bad("The tuple type constructor requires one argument specifying the element types as a list.".into()),
            other => bad(format!("The keyword \"{other}\" is not a valid type specification.")),
        },
        ExprKind::Literal(Value::String(s)) => match s.as_str() {
            // Legacy quoted type names.
            "string" => Ok(Type::String),
            "list" => Ok(Type::list(Type::Dynamic)),
            "map" => Ok(Type::map(Type::Dynamic)),
            _ => bad("A type specification is either a primitive type keyword (bool, number, string) or a complex type constructor call, like list(string).".into()),
        },
        ExprKind::FunctionCall { name, args, .. } => match name.as_str() {
            "list" | "set" | "map" => {
                if args.len() != 1 {
                    return bad(format!("The {name} type constructor requires one argument specifying the element type."));
                }
                let mut child = TypeDefaults::default();
                let et = type_constraint(&args[0], &mut child)?;
                if !child.is_empty() {
                    defaults.children.insert(String::new(), child);
                }
                Ok(match name.as_str() {
                    "list" => Type::list(et),
                    "set" => Type::set(et),
                    _ => Type::map(et),
                })
            }
            "object" => {
                let Some(ExprKind::Object(items)) = args.first().map(|a| &a.kind) else {
                    return bad("Object type constructor requires a map whose keys are attribute names and whose values are the corresponding attribute types.".into());
                };
                let mut ot = ObjectType::default();
                for (k, v) in items {
                    let key = match k {
                        ObjectKey::Ident(s, _) => s.clone(),
                        ObjectKey::Expr(ke) => match const_value(ke) {
                            Some(Value::String(s)) => s,
                            _ => return Err(err("Invalid type specification", "Object constructor map keys must be attribute names.", &ke.range)),
                        },
                    };
                    let mut child = TypeDefaults::default();
                    let (t, optional) = match &v.kind {
                        ExprKind::FunctionCall { name, args, .. } if name == "optional" => {
                            if args.is_empty() || args.len() > 2 {
                                return Err(err("Invalid type specification", "Optional attribute modifier expects at most two arguments: the attribute type, and a default value.", &v.range));
                            }
                            let t = type_constraint(&args[0], &mut child)?;
                            if let Some(d) = args.get(1) {
                                match const_value(d) {
                                    Some(dv) => {
                                        defaults.defaults.insert(key.clone(), dv);
                                    }
                                    None => return Err(err("Invalid type specification", "The default value for an optional attribute must be a constant.", &d.range)),
                                }
                            }
                            (t, true)
                        }
                        _ => (type_constraint(v, &mut child)?, false),
                    };
                    if !child.is_empty() {
                        defaults.children.insert(key.clone(), child);
                    }
                    if optional {
                        ot.optional.insert(key.clone());
                    }
                    ot.attrs.insert(key, t);
                }
                Ok(Type::Object(ot))
            }
            "tuple" => {
                let Some(ExprKind::Tuple(items)) = args.first().map(|a| &a.kind) else {
                    return bad("The tuple type constructor requires one argument specifying the element types as a list.".into());
                };
                let mut ts = Vec::new();
                for i in items {
                    ts.push(type_constraint(i, &mut TypeDefaults::default())?);
                }
                Ok(Type::Tuple(ts))
            }
            "optional" => bad("Keyword \"optional\" is valid only as a modifier for object type attributes.".into()),
            other => bad(format!("Keyword \"{other}\" is not a valid type constructor.")),
        },
        _ => bad("A type specification is either a primitive type keyword (bool, number, string) or a complex type constructor call, like list(string).".into()),
    }
}

/// A `provider = aws.west` reference.
fn provider_ref(a: &Attribute, diags: &mut Diagnostics) -> Option<ProviderRef> {
    match &a.expr.kind {
        ExprKind::ScopeTraversal { root, steps } => {
            let alias = match steps.as_slice() {
                [] => None,
                [Traverser::Attr { name, .. }] => Some(name.clone()),
                _ => {
                    diags.push(err(
                        "Invalid provider configuration reference",
                        "A provider configuration reference must not include an index key.",
                        &a.expr.range,
                    ));
                    return None;
                }
            };
            Some(ProviderRef {
                name: root.clone(),
                alias,
                range: a.expr.range.clone(),
            })
        }
        _ => {
            diags.push(err(
                "Invalid provider configuration reference",
                "The provider argument requires a provider type name, optionally followed by a period and then a configuration alias.",
                &a.expr.range,
            ));
            None
        }
    }
}

fn list_exprs(a: &Attribute, diags: &mut Diagnostics) -> Vec<Expr> {
    match &a.expr.kind {
        ExprKind::Tuple(es) => es.clone(),
        _ => {
            diags.push(err(
                "Invalid expression",
                "A static list expression is required.",
                &a.expr.range,
            ));
            Vec::new()
        }
    }
}

fn decode_resource(b: &Block, mode: Mode, diags: &mut Diagnostics) -> Option<Resource> {
    let what = if mode == Mode::Managed {
        "resource"
    } else {
        "data"
    };
    if !labels(b, 2, what, "type, name", diags) {
        return None;
    }
    for (i, l) in b.labels.iter().enumerate() {
        if !valid_name(l) {
            let summary = if i == 0 {
                if mode == Mode::Managed {
                    "Invalid resource type name"
                } else {
                    "Invalid data source name"
                }
            } else if mode == Mode::Managed {
                "Invalid resource name"
            } else {
                "Invalid data resource name"
            };
            diags.push(err(summary, "A name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes.", &b.label_ranges[i]));
            return None;
        }
    }
    let mut config = b.body.clone();
    let meta = |n: &str, config: &mut Body| config.attributes.shift_remove(n);
    let count = meta("count", &mut config).map(|a| a.expr);
    let for_each = meta("for_each", &mut config);
    if let (Some(_), Some(fe)) = (&count, &for_each) {
        diags.push(err(
            "Invalid combination of \"count\" and \"for_each\"",
            "The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of resources to be created.",
            &fe.name_range,
        ));
    }
    let provider = meta("provider", &mut config).and_then(|a| provider_ref(&a, diags));
    let depends_on = meta("depends_on", &mut config)
        .map(|a| list_exprs(&a, diags))
        .unwrap_or_default();
    let mut lifecycle = Lifecycle::default();
    let mut provisioners = Vec::new();
    let mut connection = None;
    let mut rest = Vec::new();
    for blk in config.blocks.drain(..) {
        match blk.type_name.as_str() {
            "lifecycle" => {
                let allowed: &[&str] = if mode == Mode::Managed {
                    &[
                        "create_before_destroy",
                        "prevent_destroy",
                        "ignore_changes",
                        "replace_triggered_by",
                    ]
                } else {
                    &[]
                };
                check_schema(
                    &blk.body,
                    allowed,
                    &["precondition", "postcondition"],
                    &[],
                    &blk.open_range,
                    diags,
                );
                for (n, a) in &blk.body.attributes {
                    match n.as_str() {
                        "create_before_destroy" => {
                            lifecycle.create_before_destroy = const_bool(a, diags)
                        }
                        "prevent_destroy" => lifecycle.prevent_destroy = const_bool(a, diags),
                        "ignore_changes" => {
                            lifecycle.ignore_changes = match &a.expr.kind {
                                ExprKind::ScopeTraversal { root, steps }
                                    if root == "all" && steps.is_empty() =>
                                {
                                    IgnoreChanges::All
                                }
                                ExprKind::Literal(Value::String(s)) if s == "all" => {
                                    IgnoreChanges::All
                                }
                                _ => IgnoreChanges::Paths(list_exprs(a, diags)),
                            }
                        }
                        "replace_triggered_by" => {
                            lifecycle.replace_triggered_by = list_exprs(a, diags)
                        }
                        _ => {}
                    }
                }
                for c in &blk.body.blocks {
                    let rule = check_rule(c, diags);
                    match (c.type_name.as_str(), rule) {
                        ("precondition", Some(r)) => lifecycle.preconditions.push(r),
                        ("postcondition", Some(r)) => lifecycle.postconditions.push(r),
                        _ => {}
                    }
                }
            }
            "provisioner" if mode == Mode::Managed => provisioners.push(blk),
            "connection" if mode == Mode::Managed => connection = Some(blk),
            _ => rest.push(blk),
        }
    }
    config.blocks = rest;
    Some(Resource {
        mode,
        type_name: b.labels[0].clone(),
        name: b.labels[1].clone(),
        provider,
        count,
        for_each: for_each.map(|a| a.expr),
        depends_on,
        config,
        lifecycle,
        provisioners,
        connection,
        range: b.range.clone(),
        decl_range: b.def_range.clone(),
        type_range: b.label_ranges[0].clone(),
    })
}

fn decode_variable(b: &Block, diags: &mut Diagnostics) -> Option<Variable> {
    if !labels(b, 1, "variable", "name", diags) {
        return None;
    }
    let name = b.labels[0].clone();
    if !valid_name(&name) {
        diags.push(err("Invalid variable name", "A name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes.", &b.label_ranges[0]));
    }
    check_schema(
        &b.body,
        &[
            "description",
            "default",
            "type",
            "sensitive",
            "nullable",
            "ephemeral",
        ],
        &["validation"],
        &[],
        &b.open_range,
        diags,
    );
    let attrs = &b.body.attributes;
    let mut defaults = TypeDefaults::default();
    let (type_expr, ty) = match attrs.get("type") {
        Some(a) => match type_constraint(&a.expr, &mut defaults) {
            Ok(t) => (Some(a.expr.clone()), t),
            Err(d) => {
                diags.push(d);
                (Some(a.expr.clone()), Type::Dynamic)
            }
        },
        None => (None, Type::Dynamic),
    };
    let validations = b
        .body
        .blocks_of("validation")
        .filter_map(|v| check_rule(v, diags))
        .collect();
    Some(Variable {
        name,
        type_expr,
        type_constraint: ty,
        type_defaults: defaults,
        default: attrs.get("default").map(|a| a.expr.clone()),
        description: attrs
            .get("description")
            .and_then(|a| const_string(a, diags)),
        sensitive: attrs
            .get("sensitive")
            .and_then(|a| const_bool(a, diags))
            .unwrap_or(false),
        nullable: attrs
            .get("nullable")
            .and_then(|a| const_bool(a, diags))
            .unwrap_or(true),
        ephemeral: attrs
            .get("ephemeral")
            .and_then(|a| const_bool(a, diags))
            .unwrap_or(false),
        validations,
        range: b.range.clone(),
        decl_range: b.def_range.clone(),
    })
}

fn decode_output(b: &Block, diags: &mut Diagnostics) -> Option<Output> {
    if !labels(b, 1, "output", "name", diags) {
        return None;
    }
    check_schema(
        &b.body,
        &[
            "description",
            "value",
            "sensitive",
            "depends_on",
            "ephemeral",
        ],
        &["precondition"],
        &["value"],
        &b.open_range,
        diags,
    );
    let attrs = &b.body.attributes;
    let value = attrs.get("value")?.expr.clone();
    Some(Output {
        name: b.labels[0].clone(),
        expr: value,
        description: attrs
            .get("description")
            .and_then(|a| const_string(a, diags)),
        sensitive: attrs
            .get("sensitive")
            .and_then(|a| const_bool(a, diags))
            .unwrap_or(false),
        ephemeral: attrs
            .get("ephemeral")
            .and_then(|a| const_bool(a, diags))
            .unwrap_or(false),
        depends_on: attrs
            .get("depends_on")
            .map(|a| list_exprs(a, diags))
            .unwrap_or_default(),
        preconditions: b
            .body
            .blocks_of("precondition")
            .filter_map(|c| check_rule(c, diags))
            .collect(),
        range: b.range.clone(),
        decl_range: b.def_range.clone(),
    })
}

fn decode_module_call(b: &Block, diags: &mut Diagnostics) -> Option<ModuleCall> {
    if !labels(b, 1, "module", "name", diags) {
        return None;
    }
    let mut config = b.body.clone();
    let source = config.attributes.shift_remove("source");
    let Some(source) = source else {
        diags.push(err(
            "Missing required argument",
            "The argument \"source\" is required, but no definition was found.",
            &b.open_range,
        ));
        return None;
    };
    let version = config
        .attributes
        .shift_remove("version")
        .and_then(|a| const_string(&a, diags));
    let count = config.attributes.shift_remove("count").map(|a| a.expr);
    let for_each = config.attributes.shift_remove("for_each");
    if let (Some(_), Some(fe)) = (&count, &for_each) {
        diags.push(err(
            "Invalid combination of \"count\" and \"for_each\"",
            "The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of resources to be created.",
            &fe.name_range,
        ));
    }
    let depends_on = config
        .attributes
        .shift_remove("depends_on")
        .map(|a| list_exprs(&a, diags))
        .unwrap_or_default();
    let mut providers = Vec::new();
    if let Some(p) = config.attributes.shift_remove("providers") {
        match &p.expr.kind {
            ExprKind::Object(items) => {
                for (k, v) in items {
                    let child = match k {
                        ObjectKey::Ident(s, _) => Some(s.clone()),
                        ObjectKey::Expr(e) => crate::traversal_text(e),
                    };
                    let parent = crate::traversal_text(v);
                    match (child, parent) {
                        (Some(c), Some(pp)) => providers.push(PassedProvider { in_child: c, in_parent: pp, range: v.range.clone() }),
                        _ => diags.push(err("Invalid provider configuration reference", "A provider configuration reference must be a provider type name, optionally followed by a period and then a configuration alias.", &v.range)),
                    }
                }
            }
            _ => diags.push(err("Invalid providers argument", "The \"providers\" argument must be a mapping from provider names to provider configurations.", &p.expr.range)),
        }
    }
    for blk in &config.blocks {
        diags.push(err(
            "Unsupported block type",
            format!(
                "Blocks of type \"{}\" are not expected here.",
                blk.type_name
            ),
            &blk.type_range,
        ));
    }
    let source_str = const_string(&source, diags).unwrap_or_default();
    Some(ModuleCall {
        name: b.labels[0].clone(),
        source: source_str,
        source_range: source.expr.range.clone(),
        version,
        count,
        for_each: for_each.map(|a| a.expr),
        providers,
        depends_on,
        config,
        range: b.range.clone(),
        decl_range: b.def_range.clone(),
    })
}

fn decode_terraform(b: &Block, m: &mut Module, diags: &mut Diagnostics) {
    check_schema(
        &b.body,
        &["required_version", "experiments", "language"],
        &["required_providers", "backend", "cloud", "provider_meta"],
        &[],
        &b.open_range,
        diags,
    );
    if let Some(a) = b.body.attributes.get("required_version") {
        if let Some(s) = const_string(a, diags) {
            m.required_version.push((s, a.expr.range.clone()));
        }
    }
    for rb in &b.body.blocks {
        match rb.type_name.as_str() {
            "required_providers" => {
                for (name, a) in &rb.body.attributes {
                    let rp = match const_value(&a.expr) {
                        Some(Value::String(v)) => RequiredProvider {
                            name: name.clone(),
                            source: None,
                            version: Some(v),
                            configuration_aliases: Vec::new(),
                            range: a.range.clone(),
                        },
                        _ => match &a.expr.kind {
                            ExprKind::Object(items) => {
                                let mut rp = RequiredProvider {
                                    name: name.clone(),
                                    source: None,
                                    version: None,
                                    configuration_aliases: Vec::new(),
                                    range: a.range.clone(),
                                };
                                for (k, v) in items {
                                    let key = match k {
                                        ObjectKey::Ident(s, _) => s.clone(),
                                        ObjectKey::Expr(e) => const_value(e)
                                            .and_then(|v| v.as_str().map(String::from))
                                            .unwrap_or_default(),
                                    };
                                    match key.as_str() {
                                        "source" => rp.source = const_value(v).and_then(|v| v.as_str().map(String::from)),
                                        "version" => rp.version = const_value(v).and_then(|v| v.as_str().map(String::from)),
                                        "configuration_aliases" => {
                                            if let ExprKind::Tuple(es) = &v.kind {
                                                rp.configuration_aliases = es.iter().filter_map(crate::traversal_text).collect();
                                            }
                                        }
                                        _ => diags.push(err("Invalid required_providers object", "required_providers objects can only contain \"version\", \"source\" and \"configuration_aliases\" attributes. To configure a provider, use a \"provider\" block.", &v.range)),
                                    }
                                }
                                rp
                            }
                            _ => {
                                diags.push(err(
                                    "Invalid required_providers object",
                                    "required_providers entries must be strings or objects.",
                                    &a.expr.range,
                                ));
                                continue;
                            }
                        },
                    };
                    m.required_providers.insert(name.clone(), rp);
                }
            }
            "provider_meta" => {
                if let Some(pm) = crate::static_expr::provider_meta(rb, diags) {
                    m.provider_metas.insert(pm.name.clone(), pm);
                }
            }
            "backend" | "cloud" => {
                let ty = if rb.type_name == "cloud" {
                    "cloud".to_string()
                } else {
                    rb.labels.first().cloned().unwrap_or_default()
                };
                m.backend = Some(Backend {
                    type_name: ty,
                    config: rb.body.clone(),
                    range: rb.range.clone(),
                });
            }
            _ => {}
        }
    }
}

/// Adds one file's declarations to the module (duplicates are errors).
pub fn decode_file(body: &Body, m: &mut Module, diags: &mut Diagnostics) {
    for (name, a) in &body.attributes {
        diags.push(err(
            "Unsupported argument",
            format!("An argument named \"{name}\" is not expected here."),
            &a.name_range,
        ));
    }
    for b in &body.blocks {
        match b.type_name.as_str() {
            "terraform" => decode_terraform(b, m, diags),
            "provider" => {
                if !labels(b, 1, "provider", "name", diags) {
                    continue;
                }
                let mut config = b.body.clone();
                let alias = config
                    .attributes
                    .shift_remove("alias")
                    .and_then(|a| const_string(&a, diags));
                let version = config
                    .attributes
                    .shift_remove("version")
                    .and_then(|a| const_string(&a, diags));
                let name = b.labels[0].clone();
                let key = match &alias {
                    Some(a) => format!("{name}.{a}"),
                    None => name.clone(),
                };
                if let Some(prev) = m.provider_configs.get(&key) {
                    let detail = match &alias {
                        Some(a) => format!("A provider configuration for \"{name}\" with alias \"{a}\" was already given at {}. Each configuration for the same provider must have a distinct alias.", at(&prev.range)),
                        None => format!("A default (non-aliased) provider configuration for \"{name}\" was already given at {}. If multiple configurations are required, set the \"alias\" argument for alternative configurations.", at(&prev.range)),
                    };
                    diags.push(err(
                        "Duplicate provider configuration",
                        detail,
                        &b.def_range,
                    ));
                    continue;
                }
                m.provider_configs.insert(
                    key,
                    ProviderConfig {
                        name,
                        alias,
                        version,
                        config,
                        range: b.def_range.clone(),
                        name_range: b.label_ranges[0].clone(),
                    },
                );
            }
            "variable" => {
                if let Some(v) = decode_variable(b, diags) {
                    if let Some(prev) = m.variables.get(&v.name) {
                        diags.push(err("Duplicate variable declaration", format!("A variable named \"{}\" was already declared at {}. Variable names must be unique within a module.", v.name, at(&prev.decl_range)), &v.decl_range));
                        continue;
                    }
                    m.variables.insert(v.name.clone(), v);
                }
            }
            "locals" => {
                check_schema(
                    &b.body,
                    &[],
                    &[],
                    &[],
                    &b.open_range,
                    &mut Diagnostics::new(),
                );
                for blk in &b.body.blocks {
                    diags.push(err(
                        "Unsupported block type",
                        format!(
                            "Blocks of type \"{}\" are not expected here.",
                            blk.type_name
                        ),
                        &blk.type_range,
                    ));
                }
                for (name, a) in &b.body.attributes {
                    if let Some(prev) = m.locals.get(name) {
                        diags.push(err("Duplicate local value definition", format!("A local value named \"{name}\" was already defined at {}. Local value names must be unique within a module.", at(&prev.range)), &a.range));
                        continue;
                    }
                    m.locals.insert(
                        name.clone(),
                        Local {
                            name: name.clone(),
                            expr: a.expr.clone(),
                            range: a.range.clone(),
                        },
                    );
                }
            }
            "output" => {
                if let Some(o) = decode_output(b, diags) {
                    if let Some(prev) = m.outputs.get(&o.name) {
                        diags.push(err("Duplicate output definition", format!("An output named \"{}\" was already defined at {}. Output names must be unique within a module.", o.name, at(&prev.decl_range)), &o.decl_range));
                        continue;
                    }
                    m.outputs.insert(o.name.clone(), o);
                }
            }
            "resource" | "data" => {
                let mode = if b.type_name == "resource" {
                    Mode::Managed
                } else {
                    Mode::Data
                };
                if let Some(r) = decode_resource(b, mode, diags) {
                    let key = format!("{}.{}", r.type_name, r.name);
                    let map = if mode == Mode::Managed {
                        &mut m.managed_resources
                    } else {
                        &mut m.data_resources
                    };
                    if let Some(prev) = map.get(&key) {
                        let summary = if mode == Mode::Managed {
                            format!("Duplicate resource \"{}\" configuration", r.type_name)
                        } else {
                            format!("Duplicate data \"{}\" configuration", r.type_name)
                        };
                        diags.push(err(summary, format!("A {} {} named \"{}\" was already declared at {}. Resource names must be unique per type in each module.", r.type_name, if mode == Mode::Managed { "resource" } else { "data resource" }, r.name, at(&prev.decl_range)), &r.decl_range));
                        continue;
                    }
                    map.insert(key, r);
                }
            }
            "module" => {
                if let Some(c) = decode_module_call(b, diags) {
                    if let Some(prev) = m.module_calls.get(&c.name) {
                        diags.push(err("Duplicate module call", format!("A module call named \"{}\" was already defined at {}. Module calls must have unique names within a module.", c.name, at(&prev.decl_range)), &c.decl_range));
                        continue;
                    }
                    m.module_calls.insert(c.name.clone(), c);
                }
            }
            "moved" => {
                check_schema(
                    &b.body,
                    &["from", "to"],
                    &[],
                    &["from", "to"],
                    &b.open_range,
                    diags,
                );
                if let (Some(f), Some(t)) =
                    (b.body.attributes.get("from"), b.body.attributes.get("to"))
                {
                    m.moved.push(Moved {
                        from: f.expr.clone(),
                        to: t.expr.clone(),
                        range: b.range.clone(),
                    });
                }
            }
            "import" => {
                check_schema(
                    &b.body,
                    &["to", "id", "for_each", "provider", "identity"],
                    &[],
                    &["to"],
                    &b.open_range,
                    diags,
                );
                let a = &b.body.attributes;
                if let (Some(t), Some(id)) = (a.get("to"), a.get("id")) {
                    m.imports.push(Import {
                        to: t.expr.clone(),
                        id: id.expr.clone(),
                        for_each: a.get("for_each").map(|x| x.expr.clone()),
                        provider: a.get("provider").and_then(|p| provider_ref(p, diags)),
                        range: b.range.clone(),
                    });
                }
            }
            "removed" => {
                check_schema(
                    &b.body,
                    &["from"],
                    &["lifecycle", "provisioner", "connection"],
                    &["from"],
                    &b.open_range,
                    diags,
                );
                let mut destroy = true;
                for l in b.body.blocks_of("lifecycle") {
                    check_schema(&l.body, &["destroy"], &[], &[], &l.open_range, diags);
                    if let Some(a) = l.body.attributes.get("destroy") {
                        destroy = const_bool(a, diags).unwrap_or(true);
                    }
                }
                if let Some(f) = b.body.attributes.get("from") {
                    m.removed.push(Removed {
                        from: f.expr.clone(),
                        destroy,
                        range: b.range.clone(),
                    });
                }
            }
            "check" => {
                if !labels(b, 1, "check", "name", diags) {
                    continue;
                }
                let data_resource = b
                    .body
                    .blocks_of("data")
                    .find_map(|d| decode_resource(d, Mode::Data, diags));
                let asserts = b
                    .body
                    .blocks_of("assert")
                    .filter_map(|a| check_rule(a, diags))
                    .collect();
                m.checks.push(Check {
                    name: b.labels[0].clone(),
                    data_resource,
                    asserts,
                    range: b.range.clone(),
                });
            }
            other => {
                // Terraform's top-level schema, in its order (for the suggestion).
                const TOP: [&str; 13] = [
                    "terraform",
                    "required_providers",
                    "provider",
                    "variable",
                    "locals",
                    "output",
                    "module",
                    "resource",
                    "data",
                    "moved",
                    "import",
                    "check",
                    "removed",
                ];
                let hint = diagnostics::name_suggestion(other, TOP)
                    .map(|s| format!(" Did you mean \"{s}\"?"))
                    .unwrap_or_default();
                diags.push(err(
                    "Unsupported block type",
                    format!("Blocks of type \"{other}\" are not expected here.{hint}"),
                    &b.type_range,
                ))
            }
        }
    }
}
