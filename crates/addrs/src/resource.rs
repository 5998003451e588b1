//! Module, resource and resource-instance addresses: immutable values that parse from and
//! display as Terraform's address syntax (`module.a["x"].aws_instance.b[0]`).

use std::fmt;
use std::sync::Arc;

/// An instance key: `[0]` under count, `["k"]` under for_each.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    Int(i64),
    Str(Arc<str>),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => {
                write!(f, "[\"")?;
                for c in s.chars() {
                    match c {
                        '"' => write!(f, "\\\"")?,
                        '\\' => write!(f, "\\\\")?,
                        '\n' => write!(f, "\\n")?,
                        c => write!(f, "{c}")?,
                    }
                }
                write!(f, "\"]")
            }
        }
    }
}

/// One step of a module instance path: `module.NAME[KEY]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleStep {
    pub name: Arc<str>,
    pub key: Option<InstanceKey>,
}

/// A module instance path; empty is the root module.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleInstance(pub Vec<ModuleStep>);

impl ModuleInstance {
    pub fn root() -> Self {
        ModuleInstance(Vec::new())
    }
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
    pub fn child(&self, name: &str, key: Option<InstanceKey>) -> Self {
        let mut v = self.0.clone();
        v.push(ModuleStep {
            name: name.into(),
            key,
        });
        ModuleInstance(v)
    }
    /// The static module path (names only), as the `module` of a state resource.
    pub fn module_path(&self) -> Vec<Arc<str>> {
        self.0.iter().map(|s| s.name.clone()).collect()
    }
}

impl fmt::Display for ModuleInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ".")?;
            }
            write!(f, "module.{}", s.name)?;
            if let Some(k) = &s.key {
                write!(f, "{k}")?;
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Managed,
    Data,
}

impl Mode {
    /// The `mode` string of state and plan JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Managed => "managed",
            Mode::Data => "data",
        }
    }
}

/// A resource within a module: `aws_instance.web` or `data.aws_ami.ubuntu`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    pub mode: Mode,
    pub type_name: Arc<str>,
    pub name: Arc<str>,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mode == Mode::Data {
            write!(f, "data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// A resource in a module instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbsResource {
    pub module: ModuleInstance,
    pub resource: Resource,
}

impl AbsResource {
    pub fn instance(&self, key: Option<InstanceKey>) -> AbsResourceInstance {
        AbsResourceInstance {
            module: self.module.clone(),
            resource: self.resource.clone(),
            key,
        }
    }
}

impl fmt::Display for AbsResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_root() {
            write!(f, "{}.", self.module)?;
        }
        write!(f, "{}", self.resource)
    }
}

/// One instance of a resource in a module instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbsResourceInstance {
    pub module: ModuleInstance,
    pub resource: Resource,
    pub key: Option<InstanceKey>,
}

impl AbsResourceInstance {
    pub fn resource(&self) -> AbsResource {
        AbsResource {
            module: self.module.clone(),
            resource: self.resource.clone(),
        }
    }
}

impl fmt::Display for AbsResourceInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_root() {
            write!(f, "{}.", self.module)?;
        }
        write!(f, "{}", self.resource)?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

/// What an address given on the command line (`-target`, `-replace`, `state rm`) names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Module(ModuleInstance),
    Resource(AbsResource),
    Instance(AbsResourceInstance),
}

impl Target {
    /// Whether this target covers the given instance (a module covers all inside it, a resource
    /// all its instances).
    pub fn contains(&self, inst: &AbsResourceInstance) -> bool {
        match self {
            Target::Module(m) => module_contains(m, &inst.module),
            Target::Resource(r) => r.module == inst.module && r.resource == inst.resource,
            Target::Instance(i) => i == inst,
        }
    }
}

fn module_contains(outer: &ModuleInstance, inner: &ModuleInstance) -> bool {
    outer.0.len() <= inner.0.len()
        && outer
            .0
            .iter()
            .zip(&inner.0)
            .all(|(a, b)| a.name == b.name && (a.key.is_none() || a.key == b.key))
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Module(m) => write!(f, "{m}"),
            Target::Resource(r) => write!(f, "{r}"),
            Target::Instance(i) => write!(f, "{i}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{summary}: {detail}")]
pub struct AddrError {
    pub summary: String,
    pub detail: String,
}

fn err(detail: impl Into<String>) -> AddrError {
    AddrError {
        summary: "Invalid address".into(),
        detail: detail.into(),
    }
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Result<&str, AddrError> {
        let start = self.pos;
        for (i, c) in self.s[self.pos..].char_indices() {
            let ok = if i == 0 {
                c.is_alphabetic() || c == '_'
            } else {
                c.is_alphanumeric() || c == '_' || c == '-'
            };
            if !ok {
                break;
            }
            self.pos = start + i + c.len_utf8();
        }
        if self.pos == start {
            return Err(err(format!(
                "An identifier is expected at position {} of {:?}.",
                start + 1,
                self.s
            )));
        }
        Ok(&self.s[start..self.pos])
    }
    fn key(&mut self) -> Result<Option<InstanceKey>, AddrError> {
        if !self.eat('[') {
            return Ok(None);
        }
        let key = if self.eat('"') {
            let mut out = String::new();
            loop {
                match self.peek() {
                    None => return Err(err("Unterminated string in instance key.")),
                    Some('"') => {
                        self.pos += 1;
                        break;
                    }
                    Some('\\') => {
                        self.pos += 1;
                        let c = self.peek().ok_or_else(|| err("Unterminated escape."))?;
                        self.pos += c.len_utf8();
                        out.push(match c {
                            'n' => '\n',
                            't' => '\t',
                            c => c,
                        });
                    }
                    Some(c) => {
                        self.pos += c.len_utf8();
                        out.push(c);
                    }
                }
            }
            InstanceKey::Str(out.into())
        } else {
            let start = self.pos;
            while matches!(self.peek(), Some(c) if c.is_ascii_digit() || c == '-') {
                self.pos += 1;
            }
            let n: i64 = self.s[start..self.pos]
                .parse()
                .map_err(|_| err("Index key must be an integer or a quoted string."))?;
            InstanceKey::Int(n)
        };
        if !self.eat(']') {
            return Err(err("Missing closing bracket on index."));
        }
        Ok(Some(key))
    }
}

/// Parses a target address as given to `-target`, `-replace` or the `state` commands.
pub fn parse_target(s: &str) -> Result<Target, AddrError> {
    let mut c = Cursor {
        s: s.trim(),
        pos: 0,
    };
    let mut module = ModuleInstance::root();
    loop {
        let save = c.pos;
        let word = c.ident()?;
        if word == "module" && c.eat('.') {
            let name = c.ident()?.to_string();
            let key = c.key()?;
            module.0.push(ModuleStep {
                name: name.into(),
                key,
            });
            if c.eof() {
                return Ok(Target::Module(module));
            }
            if !c.eat('.') {
                return Err(err(format!(
                    "Unexpected text after module address in {s:?}."
                )));
            }
            continue;
        }
        c.pos = save;
        break;
    }
    let mut mode = Mode::Managed;
    let mut type_name = c.ident()?.to_string();
    if type_name == "data" && c.peek() == Some('.') {
        c.eat('.');
        mode = Mode::Data;
        type_name = c.ident()?.to_string();
    }
    if !c.eat('.') {
        return Err(AddrError {
            summary: "Invalid address".into(),
            detail: "Resource specification must include a resource type and name.".into(),
        });
    }
    let name = c.ident()?.to_string();
    let resource = AbsResource {
        module,
        resource: Resource {
            mode,
            type_name: type_name.into(),
            name: name.into(),
        },
    };
    let key = c.key()?;
    if !c.eof() {
        return Err(err(format!(
            "Unexpected extra text after address in {s:?}."
        )));
    }
    Ok(match key {
        None => Target::Resource(resource),
        Some(k) => Target::Instance(resource.instance(Some(k))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for s in [
            "aws_instance.web",
            "data.aws_ami.ubuntu",
            "aws_instance.web[3]",
            "aws_instance.web[\"a b\"]",
            "module.net",
            "module.net[\"eu\"].module.sub[0].aws_subnet.s[1]",
        ] {
            assert_eq!(parse_target(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn targets_contain_instances() {
        let inst = match parse_target("module.a[1].x.y[2]").unwrap() {
            Target::Instance(i) => i,
            _ => panic!(),
        };
        assert!(parse_target("module.a").unwrap().contains(&inst));
        assert!(parse_target("module.a[1].x.y").unwrap().contains(&inst));
        assert!(!parse_target("module.a[0]").unwrap().contains(&inst));
        assert!(!parse_target("x.y").unwrap().contains(&inst));
    }

    #[test]
    fn bad_addresses_are_errors() {
        assert!(parse_target("aws_instance").is_err());
        assert!(parse_target("aws_instance.web[").is_err());
        assert!(parse_target("aws_instance.web[1] extra").is_err());
    }
}
