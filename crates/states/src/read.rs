//! Parsing the v4 format in one pass with hand-written serde visitors, keeping raw JSON for
//! attributes and remembering unknown fields with their position.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json::RawJson;
use crate::model::{
    CheckResult, Extras, InstanceKey, InstanceObject, ObjectKey, ObjectStatus, OutputValue,
    Resource, ResourceAddr, ResourceMode, State,
};
use crate::write::slot;
use crate::StateError;

/// Remembers unknown fields and the slot (index after the last known field) they follow.
struct ExtraCollector<'a> {
    fields: &'a [&'a str],
    last: u8,
    extras: Extras,
}

impl<'a> ExtraCollector<'a> {
    fn new(fields: &'a [&'a str]) -> Self {
        ExtraCollector {
            fields,
            last: 0,
            extras: Extras::default(),
        }
    }

    /// Records that a known field was seen.
    fn known(&mut self, name: &str) {
        if let Some(i) = self.fields.iter().position(|f| *f == name) {
            self.last = i as u8 + 1;
        }
    }

    fn unknown(&mut self, name: String, raw: &RawValue) {
        self.extras
            .0
            .push((self.last, name, RawJson::from_raw(raw)));
    }
}

/// Map keys are borrowed when possible; escaped keys fall back to an owned string.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_owned().into()))
            }
        }
        d.deserialize_str(V)
    }
}

fn raw_u64<E: de::Error>(raw: &RawValue, what: &str) -> Result<u64, E> {
    raw.get().parse::<u64>().map_err(|_| {
        E::custom(format_args!(
            "{what} must be a non-negative whole number, got {}",
            raw.get()
        ))
    })
}

/// Go decodes `null` into a zero value; we do the same for strings.
fn opt_string<'de, A: MapAccess<'de>>(map: &mut A) -> Result<String, A::Error> {
    Ok(map.next_value::<Option<String>>()?.unwrap_or_default())
}

pub(crate) struct ParsedState {
    pub version: Option<u64>,
    pub state: State,
}

impl<'de> Deserialize<'de> for ParsedState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(StateVisitor)
    }
}

struct StateVisitor;

impl<'de> Visitor<'de> for StateVisitor {
    type Value = ParsedState;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a state object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParsedState, A::Error> {
        let mut extras = ExtraCollector::new(slot::STATE);
        let mut version = None;
        let mut state = State::with_lineage("", "");
        while let Some(Key(k)) = map.next_key::<Key>()? {
            extras.known(&k);
            match &*k {
                "version" => {
                    let raw: &RawValue = map.next_value()?;
                    let v = raw_u64(raw, "version")?;
                    if v != 4 {
                        // Other formats have other shapes: stop here, the caller reports the version.
                        return Err(de::Error::custom(VersionMismatch));
                    }
                    version = Some(v);
                }
                "terraform_version" => state.terraform_version = opt_string(&mut map)?,
                "serial" => state.serial = map.next_value::<Option<u64>>()?.unwrap_or(0),
                "lineage" => state.lineage = opt_string(&mut map)?,
                "outputs" => {
                    state.outputs = map
                        .next_value::<Option<Outputs>>()?
                        .map(|o| o.0)
                        .unwrap_or_default();
                }
                "resources" => {
                    state.resources = map
                        .next_value::<Option<Resources>>()?
                        .map(|r| r.0)
                        .unwrap_or_default();
                }
                "check_results" => state.check_results = map.next_value()?,
                _ => {
                    let raw: &RawValue = map.next_value()?;
                    extras.unknown(k.into_owned(), raw);
                }
            }
        }
        state.extras = extras.extras;
        Ok(ParsedState { version, state })
    }
}

/// Marker message for the early exit on a non-4 version.
pub(crate) struct VersionMismatch;
impl fmt::Display for VersionMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\u{0}weir-version-mismatch")
    }
}

struct Outputs(BTreeMap<String, OutputValue>);

impl<'de> Deserialize<'de> for Outputs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Outputs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of outputs")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outputs, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(Key(name)) = map.next_key::<Key>()? {
                    let o: ParsedOutput = map.next_value()?;
                    out.insert(name.into_owned(), o.0);
                }
                Ok(Outputs(out))
            }
        }
        d.deserialize_map(V)
    }
}

struct ParsedOutput(OutputValue);

impl<'de> Deserialize<'de> for ParsedOutput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ParsedOutput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an output object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParsedOutput, A::Error> {
                let mut extras = ExtraCollector::new(slot::OUTPUT);
                let mut value = None;
                let mut type_json = None;
                let mut sensitive = false;
                while let Some(Key(k)) = map.next_key::<Key>()? {
                    extras.known(&k);
                    match &*k {
                        "value" => value = Some(RawJson::from_raw(map.next_value::<&RawValue>()?)),
                        "type" => {
                            type_json = Some(RawJson::from_raw(map.next_value::<&RawValue>()?))
                        }
                        "sensitive" => {
                            sensitive = map.next_value::<Option<bool>>()?.unwrap_or(false)
                        }
                        _ => {
                            let raw: &RawValue = map.next_value()?;
                            extras.unknown(k.into_owned(), raw);
                        }
                    }
                }
                let value = value.ok_or_else(|| de::Error::missing_field("value"))?;
                let type_json = type_json.ok_or_else(|| de::Error::missing_field("type"))?;
                Ok(ParsedOutput(OutputValue {
                    value,
                    type_json,
                    sensitive,
                    extras: extras.extras,
                }))
            }
        }
        d.deserialize_map(V)
    }
}

struct Resources(BTreeMap<ResourceAddr, Resource>);

impl<'de> Deserialize<'de> for Resources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Resources;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of resources")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Resources, A::Error> {
                let mut list: Vec<(ResourceAddr, Resource)> =
                    Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(r) = seq.next_element::<ParsedResource>()? {
                    list.push((r.addr, r.resource));
                }
                sorted_unique_map(list, |a| format!("duplicate resource {a} in state"))
                    .map(Resources)
                    .map_err(de::Error::custom)
            }
        }
        d.deserialize_seq(V)
    }
}

/// Builds a BTreeMap in linear time when the input is already sorted (always, for files
/// Terraform wrote), rejecting duplicates instead of silently dropping one.
fn sorted_unique_map<K: Ord, V>(
    mut list: Vec<(K, V)>,
    dup: impl Fn(&K) -> String,
) -> Result<BTreeMap<K, V>, String> {
    if !list.windows(2).all(|w| w[0].0 < w[1].0) {
        list.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = list.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(dup(&w[0].0));
        }
    }
    Ok(list.into_iter().collect())
}

struct ParsedResource {
    addr: ResourceAddr,
    resource: Resource,
}

impl<'de> Deserialize<'de> for ParsedResource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ParsedResource;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a resource object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParsedResource, A::Error> {
                let mut extras = ExtraCollector::new(slot::RESOURCE);
                let mut module = String::new();
                let mut mode = None;
                let mut type_name = String::new();
                let mut name = String::new();
                let mut resource = Resource::default();
                let mut instances: Vec<(ObjectKey, InstanceObject)> = Vec::new();
                while let Some(Key(k)) = map.next_key::<Key>()? {
                    extras.known(&k);
                    match &*k {
                        "module" => module = opt_string(&mut map)?,
                        "mode" => {
                            let m = opt_string(&mut map)?;
                            mode = Some(ResourceMode::parse(&m).ok_or_else(|| {
                                de::Error::custom(format_args!(
                                    "invalid resource mode {m:?}: must be \"managed\" or \"data\""
                                ))
                            })?);
                        }
                        "type" => type_name = opt_string(&mut map)?,
                        "name" => name = opt_string(&mut map)?,
                        "each" => {
                            resource.each = map
                                .next_value::<Option<String>>()?
                                .filter(|e| !e.is_empty())
                        }
                        "provider" => resource.provider = opt_string(&mut map)?,
                        "instances" => {
                            instances = map
                                .next_value::<Option<Vec<ParsedInstance>>>()?
                                .unwrap_or_default()
                                .into_iter()
                                .map(|p| (p.key, p.obj))
                                .collect();
                        }
                        _ => {
                            let raw: &RawValue = map.next_value()?;
                            extras.unknown(k.into_owned(), raw);
                        }
                    }
                }
                let mode = mode.ok_or_else(|| de::Error::missing_field("mode"))?;
                let addr = ResourceAddr {
                    module,
                    mode,
                    type_name,
                    name,
                };
                resource.objects = sorted_unique_map(instances, |k| {
                    let key = k.key.as_ref().map(|k| k.to_string()).unwrap_or_default();
                    match &k.deposed {
                        Some(d) => format!("duplicate deposed object {d} for {addr}{key} in state"),
                        None => format!("duplicate instance {addr}{key} in state"),
                    }
                })
                .map_err(de::Error::custom)?;
                resource.extras = extras.extras;
                Ok(ParsedResource { addr, resource })
            }
        }
        d.deserialize_map(V)
    }
}

pub(crate) struct ParsedInstance {
    pub key: ObjectKey,
    pub obj: InstanceObject,
}

fn parse_index_key<E: de::Error>(raw: &RawValue) -> Result<Option<InstanceKey>, E> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => Ok(Some(InstanceKey::Str(
            serde_json::from_str(text).map_err(E::custom)?,
        ))),
        Some(b'n') => Ok(None),
        _ => {
            // Go decodes into float64 then converts to int; accept "1.0" the same way.
            if let Ok(i) = text.parse::<i64>() {
                Ok(Some(InstanceKey::Int(i)))
            } else {
                match text.parse::<f64>() {
                    Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                        Ok(Some(InstanceKey::Int(f as i64)))
                    }
                    _ => Err(E::custom(format_args!(
                        "invalid index_key {text}: must be a whole number or a string"
                    ))),
                }
            }
        }
    }
}

impl<'de> Deserialize<'de> for ParsedInstance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(InstanceVisitor)
    }
}

struct InstanceVisitor;

impl<'de> Visitor<'de> for InstanceVisitor {
    type Value = ParsedInstance;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an instance object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParsedInstance, A::Error> {
        let mut extras = ExtraCollector::new(slot::INSTANCE);
        let mut key = ObjectKey {
            key: None,
            deposed: None,
        };
        let mut obj = InstanceObject::default();
        while let Some(Key(k)) = map.next_key::<Key>()? {
            extras.known(&k);
            match &*k {
                "index_key" => key.key = parse_index_key(map.next_value::<&RawValue>()?)?,
                "status" => {
                    obj.status = match map.next_value::<Option<String>>()?.as_deref() {
                        None | Some("") => ObjectStatus::Ready,
                        Some("tainted") => ObjectStatus::Tainted,
                        Some(other) => {
                            return Err(de::Error::custom(format_args!(
                                "instance has invalid status {other:?}"
                            )))
                        }
                    }
                }
                "deposed" => {
                    key.deposed = map
                        .next_value::<Option<String>>()?
                        .filter(|d| !d.is_empty())
                }
                "schema_version" => {
                    obj.schema_version = map.next_value::<Option<u64>>()?.unwrap_or(0)
                }
                "attributes" => {
                    obj.attributes = Some(RawJson::from_raw(map.next_value::<&RawValue>()?))
                }
                "attributes_flat" => {
                    obj.attributes_flat = map
                        .next_value::<Option<BTreeMap<String, String>>>()?
                        .unwrap_or_default()
                }
                "sensitive_attributes" => {
                    obj.sensitive_attributes =
                        Some(RawJson::from_raw(map.next_value::<&RawValue>()?))
                }
                "private" => {
                    obj.private = map
                        .next_value::<Option<String>>()?
                        .filter(|p| !p.is_empty())
                }
                "dependencies" => {
                    obj.dependencies = map.next_value::<Option<Vec<String>>>()?.unwrap_or_default()
                }
                "create_before_destroy" => {
                    obj.create_before_destroy = map.next_value::<Option<bool>>()?.unwrap_or(false)
                }
                _ => {
                    let raw: &RawValue = map.next_value()?;
                    extras.unknown(k.into_owned(), raw);
                }
            }
        }
        obj.extras = extras.extras;
        Ok(ParsedInstance { key, obj })
    }
}

#[derive(Deserialize)]
struct Sniff<'a> {
    #[serde(borrow)]
    version: Option<&'a RawValue>,
    #[serde(default)]
    terraform_version: Option<serde_json::Value>,
}

fn syntax(e: &serde_json::Error) -> StateError {
    StateError::Syntax {
        message: strip_position(e),
        line: e.line(),
        column: e.column(),
    }
}

/// serde_json appends " at line L column C"; we report the position separately.
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Parses a state file. Empty input (after whitespace) is [`StateError::NoState`].
pub(crate) fn parse(src: &[u8]) -> Result<State, StateError> {
    if src.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(StateError::NoState);
    }
    let err = match serde_json::from_slice::<ParsedState>(src) {
        Ok(ParsedState {
            version: Some(4),
            state,
        }) => return Ok(state),
        Ok(ParsedState { version: _, .. }) => None,
        Err(e) => Some(e),
    };
    // Either the version is missing or not 4, or the document is malformed: sniff the version
    // the way Terraform does to give the most useful message.
    let sniff = match serde_json::from_slice::<Sniff>(src) {
        Ok(s) => s,
        Err(e) if e.is_syntax() || e.is_eof() => return Err(syntax(&e)),
        Err(e) => return Err(err.map(|e| invalid(&e)).unwrap_or_else(|| invalid(&e))),
    };
    let Some(raw_version) = sniff.version else {
        return Err(StateError::MissingVersion);
    };
    let version = raw_version
        .get()
        .parse::<u64>()
        .map_err(|_| StateError::BadVersion(raw_version.get().to_owned()))?;
    let tf = sniff
        .terraform_version
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|v| !v.is_empty());
    match version {
        4 => Err(err
            .map(|e| invalid(&e))
            .unwrap_or(StateError::MissingVersion)),
        0 => Err(StateError::BadVersion("0".into())),
        1..=3 => Err(StateError::LegacyVersion { version }),
        _ => Err(StateError::UnsupportedVersion {
            version,
            terraform_version: tf,
        }),
    }
}

fn invalid(e: &serde_json::Error) -> StateError {
    if e.is_syntax() || e.is_eof() {
        return syntax(e);
    }
    StateError::Invalid {
        message: strip_position(e),
        line: e.line(),
        column: e.column(),
    }
}

/// Parses one instance object from JSON (as written by [`InstanceObject::to_compact_json`]).
pub(crate) fn parse_instance(text: &str) -> Result<InstanceObject, serde_json::Error> {
    let p: ParsedInstance = serde_json::from_str(text)?;
    Ok(p.obj)
}

pub(crate) fn parse_output(text: &str) -> Result<OutputValue, serde_json::Error> {
    let p: ParsedOutput = serde_json::from_str(text)?;
    Ok(p.0)
}

pub(crate) fn parse_check_results(
    text: &str,
) -> Result<Option<Vec<CheckResult>>, serde_json::Error> {
    serde_json::from_str(text)
}
