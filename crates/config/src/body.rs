//! Bodies of blocks as parsed: attributes by name and nested blocks in order, with ranges.
//! Resource and provider bodies stay in this form until the evaluator decodes them against
//! a provider schema.

use diagnostics::SourceRange;
use indexmap::IndexMap;

use crate::expr::Expr;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Body {
    pub attributes: IndexMap<String, Attribute>,
    pub blocks: Vec<Block>,
    pub range: SourceRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub expr: Expr,
    pub range: SourceRange,
    pub name_range: SourceRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub type_name: String,
    pub labels: Vec<String>,
    pub label_ranges: Vec<SourceRange>,
    pub body: Body,
    pub type_range: SourceRange,
    /// The whole block.
    pub range: SourceRange,
    /// Type and labels: what Terraform's "on FILE line N" points at.
    pub def_range: SourceRange,
    /// The opening brace (where "Missing required argument" points).
    pub open_range: SourceRange,
}

impl Body {
    pub fn blocks_of<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks.iter().filter(move |b| b.type_name == ty)
    }
}
