//! Provider schemas: blocks, attributes and nested blocks, and the value types they imply.

use std::collections::{BTreeMap, HashMap};
use value::Type;

#[derive(Clone, Debug, Default)]
pub struct ProviderSchema {
    pub provider: Block,
    pub provider_meta: Option<Block>,
    pub resource_types: HashMap<String, ResourceSchema>,
    pub data_sources: HashMap<String, ResourceSchema>,
    pub functions: HashMap<String, crate::FunctionSignature>,
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
