//! The in-memory state model: resources indexed by address, instance objects keyed the way
//! Terraform sorts them, so writing never needs a separate normalization pass.

use std::collections::BTreeMap;
use std::fmt;

use crate::json::RawJson;

/// Whether a resource is managed (`resource`) or a data source (`data`).
///
/// The variant order is Terraform's sort order in the file (`"data" < "managed"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceMode {
    Data,
    Managed,
}

impl ResourceMode {
    /// The spelling in the state file.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceMode::Data => "data",
            ResourceMode::Managed => "managed",
        }
    }

    /// Parses the state-file spelling.
    pub fn parse(s: &str) -> Option<ResourceMode> {
        match s {
            "data" => Some(ResourceMode::Data),
            "managed" => Some(ResourceMode::Managed),
            _ => None,
        }
    }
}

/// Address of a resource (not an instance): module path, mode, type and name.
///
/// `module` is the module instance path as Terraform prints it (`""` for the root,
/// `module.a["x"].module.b`). The derived order is the order of resources in the state file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddr {
    pub module: String,
    pub mode: ResourceMode,
    pub type_name: String,
    pub name: String,
}

impl ResourceAddr {
    pub fn new(
        module: impl Into<String>,
        mode: ResourceMode,
        type_name: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        ResourceAddr {
            module: module.into(),
            mode,
            type_name: type_name.into(),
            name: name.into(),
        }
    }

    /// A managed resource in the root module.
    pub fn managed(type_name: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new("", ResourceMode::Managed, type_name, name)
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_empty() {
            write!(f, "{}.", self.module)?;
        }
        if self.mode == ResourceMode::Data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// An instance key: `count` index or `for_each` key. Ints sort before strings, as in Terraform.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    /// Terraform's address syntax: `[0]` or `["key"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => {
                f.write_str("[\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"]")
            }
        }
    }
}

/// Identifies one object of a resource: its instance key (None without count/for_each) and,
/// for objects left behind by create_before_destroy, its deposed key.
///
/// The derived order is Terraform's: no key first, ints, strings; current object before deposed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub key: Option<InstanceKey>,
    pub deposed: Option<String>,
}

impl ObjectKey {
    pub fn current(key: Option<InstanceKey>) -> Self {
        ObjectKey { key, deposed: None }
    }
}

/// Whether the object is usable or must be replaced on the next apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ObjectStatus {
    #[default]
    Ready,
    Tainted,
}

/// Unknown fields kept so that newer minor formats (e.g. resource identity) survive a round
/// trip. Each is written right after the known field it followed when read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extras(pub(crate) Vec<(u8, String, RawJson)>);

impl Extras {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Fields this version does not model, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawJson)> {
        self.0.iter().map(|(_, k, v)| (k.as_str(), v))
    }
}

/// One resource instance object, with attributes still undecoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceObject {
    pub status: ObjectStatus,
    pub schema_version: u64,
    /// The object's attributes as JSON (decoding needs the provider schema).
    pub attributes: Option<RawJson>,
    /// Legacy flatmap attributes from states written before Terraform 0.12.
    pub attributes_flat: BTreeMap<String, String>,
    /// Paths of sensitive attributes, as Terraform's `[[{"type":"get_attr","value":"x"}]]`.
    pub sensitive_attributes: Option<RawJson>,
    /// Provider-private data, base64 as in the file (see [`InstanceObject::private_bytes`]).
    pub private: Option<String>,
    pub dependencies: Vec<String>,
    pub create_before_destroy: bool,
    pub extras: Extras,
}

impl InstanceObject {
    /// Decodes `private` from base64.
    pub fn private_bytes(&self) -> Option<Result<Vec<u8>, base64::DecodeError>> {
        use base64::Engine;
        self.private
            .as_ref()
            .map(|p| base64::engine::general_purpose::STANDARD.decode(p))
    }

    /// Sets `private` from raw bytes (empty means absent, as Go's `omitempty` does).
    pub fn set_private_bytes(&mut self, bytes: &[u8]) {
        use base64::Engine;
        self.private =
            (!bytes.is_empty()).then(|| base64::engine::general_purpose::STANDARD.encode(bytes));
    }
}

/// A resource: provider and its objects in Terraform's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// Provider configuration address, e.g. `provider["registry.terraform.io/hashicorp/aws"].west`.
    pub provider: String,
    /// Legacy `each` mode ("list"/"map"); Terraform 1.x no longer writes it.
    pub each: Option<String>,
    pub(crate) objects: BTreeMap<ObjectKey, InstanceObject>,
    pub extras: Extras,
}

impl Resource {
    pub fn new(provider: impl Into<String>) -> Self {
        Resource {
            provider: provider.into(),
            ..Default::default()
        }
    }

    /// All objects (current and deposed) in file order.
    pub fn objects(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&ObjectKey, &InstanceObject)> + ExactSizeIterator {
        self.objects.iter()
    }

    /// The current (not deposed) object of an instance.
    pub fn instance(&self, key: Option<&InstanceKey>) -> Option<&InstanceObject> {
        self.objects.get(&ObjectKey {
            key: key.cloned(),
            deposed: None,
        })
    }

    pub fn object(&self, key: &ObjectKey) -> Option<&InstanceObject> {
        self.objects.get(key)
    }

    pub fn object_mut(&mut self, key: &ObjectKey) -> Option<&mut InstanceObject> {
        self.objects.get_mut(key)
    }

    /// All objects, mutable, in file order.
    pub fn objects_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&ObjectKey, &mut InstanceObject)> + ExactSizeIterator
    {
        self.objects.iter_mut()
    }

    /// Inserts or replaces an object, returning the previous one.
    pub fn set_object(&mut self, key: ObjectKey, obj: InstanceObject) -> Option<InstanceObject> {
        self.objects.insert(key, obj)
    }

    pub fn remove_object(&mut self, key: &ObjectKey) -> Option<InstanceObject> {
        self.objects.remove(key)
    }

    /// Deposed objects of one instance, in deposed-key order.
    pub fn deposed(
        &self,
        key: Option<&InstanceKey>,
    ) -> impl Iterator<Item = (&str, &InstanceObject)> {
        let key = key.cloned();
        self.objects
            .iter()
            .filter(move |(k, _)| k.key == key)
            .filter_map(|(k, o)| k.deposed.as_deref().map(|d| (d, o)))
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// A root module output value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputValue {
    pub value: RawJson,
    /// The cty type in JSON form, e.g. `"string"` or `["list","number"]`.
    pub type_json: RawJson,
    pub sensitive: bool,
    pub extras: Extras,
}

impl OutputValue {
    pub fn new(value: RawJson, type_json: RawJson, sensitive: bool) -> Self {
        OutputValue {
            value,
            type_json,
            sensitive,
            extras: Extras::default(),
        }
    }
}

/// Check results for one checkable configuration object (resource, output or check block).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct CheckResult {
    pub object_kind: String,
    pub config_addr: String,
    pub status: String,
    /// `None` is written as `null` (Terraform does so when there are no objects).
    pub objects: Option<Vec<CheckObjectResult>>,
}

/// Check status of one dynamic object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct CheckObjectResult {
    pub object_addr: String,
    pub status: String,
    #[serde(default)]
    pub failure_messages: Option<Vec<String>>,
}

/// A whole Terraform state (format version 4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub terraform_version: String,
    pub serial: u64,
    pub lineage: String,
    /// Root module outputs; a BTreeMap because Go writes map keys sorted.
    pub outputs: BTreeMap<String, OutputValue>,
    pub(crate) resources: BTreeMap<ResourceAddr, Resource>,
    /// `None` is written as `null`.
    pub check_results: Option<Vec<CheckResult>>,
    pub extras: Extras,
}

/// A fresh lineage in Terraform's format (a random UUID).
pub fn new_lineage() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl State {
    /// An empty state with a fresh lineage and serial 0.
    pub fn new(terraform_version: impl Into<String>) -> State {
        State::with_lineage(terraform_version, new_lineage())
    }

    pub fn with_lineage(terraform_version: impl Into<String>, lineage: impl Into<String>) -> State {
        State {
            terraform_version: terraform_version.into(),
            serial: 0,
            lineage: lineage.into(),
            outputs: BTreeMap::new(),
            resources: BTreeMap::new(),
            check_results: None,
            extras: Extras::default(),
        }
    }

    /// Resources in file order.
    pub fn resources(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&ResourceAddr, &Resource)> + ExactSizeIterator {
        self.resources.iter()
    }

    /// Resources of one module instance (`""` is the root), in file order.
    pub fn module_resources<'a>(
        &'a self,
        module: &'a str,
    ) -> impl Iterator<Item = (&'a ResourceAddr, &'a Resource)> + 'a {
        let start = ResourceAddr::new(module, ResourceMode::Data, "", "");
        self.resources
            .range(start..)
            .take_while(move |(a, _)| a.module == module)
    }

    /// Resources, mutable, in file order.
    pub fn resources_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = (&ResourceAddr, &mut Resource)> + ExactSizeIterator {
        self.resources.iter_mut()
    }

    pub fn resource(&self, addr: &ResourceAddr) -> Option<&Resource> {
        self.resources.get(addr)
    }

    pub fn resource_mut(&mut self, addr: &ResourceAddr) -> Option<&mut Resource> {
        self.resources.get_mut(addr)
    }

    /// Inserts or replaces a whole resource.
    pub fn set_resource(&mut self, addr: ResourceAddr, resource: Resource) -> Option<Resource> {
        self.resources.insert(addr, resource)
    }

    pub fn remove_resource(&mut self, addr: &ResourceAddr) -> Option<Resource> {
        self.resources.remove(addr)
    }

    /// The current object of a resource instance.
    pub fn instance(
        &self,
        addr: &ResourceAddr,
        key: Option<&InstanceKey>,
    ) -> Option<&InstanceObject> {
        self.resources.get(addr)?.instance(key)
    }

    /// Any object (current or deposed).
    pub fn object(&self, addr: &ResourceAddr, key: &ObjectKey) -> Option<&InstanceObject> {
        self.resources.get(addr)?.object(key)
    }

    /// Sets or removes one object in O(log n) and returns the previous one.
    ///
    /// Setting creates the resource (with `provider`) if needed and updates its provider.
    /// Removing the last object removes the resource, as Terraform prunes empty resources.
    pub fn set_object(
        &mut self,
        addr: &ResourceAddr,
        provider: &str,
        key: ObjectKey,
        obj: Option<InstanceObject>,
    ) -> Option<InstanceObject> {
        match obj {
            Some(obj) => {
                if let Some(res) = self.resources.get_mut(addr) {
                    if res.provider != provider {
                        res.provider = provider.to_owned();
                    }
                    res.objects.insert(key, obj)
                } else {
                    let mut res = Resource::new(provider);
                    res.objects.insert(key, obj);
                    self.resources.insert(addr.clone(), res);
                    None
                }
            }
            None => {
                let res = self.resources.get_mut(addr)?;
                let prev = res.objects.remove(&key);
                if res.objects.is_empty() {
                    self.resources.remove(addr);
                }
                prev
            }
        }
    }

    /// Number of resources.
    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    /// Number of objects over all resources (current and deposed).
    pub fn object_count(&self) -> usize {
        self.resources.values().map(|r| r.objects.len()).sum()
    }

    /// Whether any managed resource has an object (Terraform's "workspace is not empty" test).
    pub fn has_managed_objects(&self) -> bool {
        self.resources
            .iter()
            .any(|(a, r)| a.mode == ResourceMode::Managed && !r.objects.is_empty())
    }

    /// Whether two states are equal ignoring serial, lineage and terraform_version
    /// (Terraform's "state changed?" test before bumping the serial).
    pub fn same_content(&self, other: &State) -> bool {
        self.outputs == other.outputs
            && self.resources == other.resources
            && self.check_results == other.check_results
            && self.extras == other.extras
    }
}
