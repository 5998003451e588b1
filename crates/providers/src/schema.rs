//! Provider schemas: blocks, attributes and nested blocks, and the value types they imply.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use value::Type;

#[derive(Clone, Debug, Default)]
pub struct ProviderSchema {
    pub provider: Block,
    pub provider_meta: Option<Block>,
    pub resource_types: SchemaMap,
    pub data_sources: SchemaMap,
    pub functions: HashMap<String, crate::FunctionSignature>,
}

/// Builds one schema from the provider's wire form. It fails only on a malformed message.
pub type SchemaThunk = Box<dyn Fn() -> Result<ResourceSchema, String> + Send + Sync>;

/// Resource or data-source schemas by type name.
///
/// A plugin's schema names hundreds of types (about 1,500 for AWS) of which a run uses a few,
/// so a plugin hands over each entry in its wire form and it is converted on first use:
/// converting them all costs a quarter of a second on every start.
#[derive(Clone, Default)]
pub struct SchemaMap {
    entries: HashMap<String, Arc<Entry>>,
}

struct Entry {
    cell: OnceLock<Option<ResourceSchema>>,
    make: Option<SchemaThunk>,
}

impl SchemaMap {
    pub fn insert(&mut self, name: impl Into<String>, schema: ResourceSchema) {
        let cell = OnceLock::new();
        let _ = cell.set(Some(schema));
        self.entries
            .insert(name.into(), Arc::new(Entry { cell, make: None }));
    }

    /// Adds an entry converted on first use.
    pub fn insert_lazy(&mut self, name: impl Into<String>, make: SchemaThunk) {
        self.entries.insert(
            name.into(),
            Arc::new(Entry {
                cell: OnceLock::new(),
                make: Some(make),
            }),
        );
    }

    /// The schema of a type. An entry whose wire form does not convert is reported once and
    /// then treated as absent; plugins check every entry before they cache a schema, so this
    /// means a damaged message.
    pub fn get(&self, name: &str) -> Option<&ResourceSchema> {
        let e = self.entries.get(name)?;
        e.cell
            .get_or_init(|| {
                let make = e.make.as_ref()?;
                match make() {
                    Ok(s) => Some(s),
                    Err(err) => {
                        tracing::error!("the provider's schema for {name:?} is malformed: {err}");
                        None
                    }
                }
            })
            .as_ref()
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Type names, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Converts every entry, returning the first failure: for checking a fresh schema answer
    /// before it is trusted.
    pub fn check_all(&self) -> Result<(), String> {
        for (name, e) in &self.entries {
            if e.cell.get().is_none() {
                if let Some(make) = &e.make {
                    let s = make()?;
                    let _ = e.cell.set(Some(s));
                }
            }
            if let Some(None) = e.cell.get() {
                return Err(format!("the schema for {name:?} is malformed"));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for SchemaMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.names().collect();
        names.sort_unstable();
        f.debug_struct("SchemaMap").field("types", &names).finish()
    }
}

impl std::ops::Index<&str> for SchemaMap {
    type Output = ResourceSchema;
    fn index(&self, name: &str) -> &ResourceSchema {
        match self.get(name) {
            Some(s) => s,
            None => panic!("no schema for {name:?}"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ResourceSchema {
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub attributes: BTreeMap<String, Attribute>,
    pub block_types: BTreeMap<String, NestedBlock>,
    pub description: String,
    pub deprecated: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Attribute {
    /// The attribute's type. For attributes with a nested type (protocol 6) this is the type the
    /// nesting implies.
    pub ty: Type,
    /// Protocol-6 nested attribute types (`nested_type`), kept for validation and rendering.
    pub nested: Option<(NestingMode, Block)>,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecated: bool,
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NestingMode {
    #[default]
    Single,
    Group,
    List,
    Set,
    Map,
}

#[derive(Clone, Debug, Default)]
pub struct NestedBlock {
    pub nesting: NestingMode,
    pub block: Block,
    pub min_items: u64,
    pub max_items: u64,
}

impl Block {
    /// The object type of values that conform to this block.
    pub fn implied_type(&self) -> Type {
        let mut attrs = BTreeMap::new();
        for (name, a) in &self.attributes {
            attrs.insert(name.clone(), a.ty.clone());
        }
        for (name, b) in &self.block_types {
            let inner = b.block.implied_type();
            let t = match b.nesting {
                NestingMode::Single | NestingMode::Group => inner,
                NestingMode::List => {
                    if inner.has_dynamic() {
                        Type::Dynamic
                    } else {
                        Type::list(inner)
                    }
                }
                NestingMode::Set => Type::set(inner),
                NestingMode::Map => {
                    if inner.has_dynamic() {
                        Type::Dynamic
                    } else {
                        Type::map(inner)
                    }
                }
            };
            attrs.insert(name.clone(), t);
        }
        Type::object(attrs)
    }
}
