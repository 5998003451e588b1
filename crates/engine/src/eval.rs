//! The values a walk has computed so far (variables, locals, module outputs, resource
//! instances, module expansions) and the `lang::Data` view of them that expressions evaluate
//! against.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

use addrs::{InstanceKey, Mode, ModuleInstance};
use diagnostics::{Diagnostic, SourceRange};
use lang::{Reference, ResourceRef};
use value::{Type, Value};

use crate::model::Mods;

/// How a resource or module call expanded.
#[derive(Clone, Debug, PartialEq)]
pub enum Expansion {
    Single,
    Count(usize),
    /// Keys in order, with each.value.
    ForEach(Vec<(String, Value)>),
}

impl Expansion {
    /// The instance keys, in order. (Large expansions are better walked with [`Self::len`]
    /// and [`Self::key_at`], which allocate nothing.)
    pub fn keys(&self) -> Vec<Option<InstanceKey>> {
        (0..self.len()).map(|i| self.key_at(i)).collect()
    }

    pub fn len(&self) -> usize {
        match self {
            Expansion::Single => 1,
            Expansion::Count(n) => *n,
            Expansion::ForEach(kv) => kv.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key of the `i`th instance.
    pub fn key_at(&self, i: usize) -> Option<InstanceKey> {
        match self {
            Expansion::Single => None,
            Expansion::Count(_) => Some(InstanceKey::Int(i as i64)),
            Expansion::ForEach(kv) => Some(InstanceKey::Str(kv[i].0.as_str().into())),
        }
    }

    /// The position of an instance key in the expansion, if it has it.
    pub fn index_of(&self, key: &Option<InstanceKey>) -> Option<usize> {
        match (self, key) {
            (Expansion::Single, None) => Some(0),
            (Expansion::Count(n), Some(InstanceKey::Int(i))) => {
                usize::try_from(*i).ok().filter(|i| i < n)
            }
            // for_each keys are sorted (see `vars::for_each_keys`).
            (Expansion::ForEach(kv), Some(InstanceKey::Str(k))) => {
                kv.binary_search_by(|(kk, _)| kk.as_str().cmp(k)).ok()
            }
            _ => None,
        }
    }

    pub fn each_value(&self, key: &InstanceKey) -> Option<Value> {
        match self {
            Expansion::ForEach(kv) => self.index_of(&Some(key.clone())).map(|i| kv[i].1.clone()),
            _ => None,
        }
    }
}

/// The values of a resource's instances: one per instance of its expansion, in order (what
/// a plan or apply computes), or by key (what a destroy reads from state, whose keys need not
/// match the expansion). Instances whose planning failed have none.
pub enum Instances {
    Dense(Vec<Option<Value>>),
    Sparse(HashMap<Option<InstanceKey>, Value>),
}

/// The values of one expanded resource.
pub struct ResourceValues {
    pub expansion: Expansion,
    instances: Instances,
    /// Instances the expansion has but `instances` lacks are unknown rather than null (values
    /// read from state, where a missing instance is one Terraform knows nothing about).
    missing_unknown: bool,
    whole: OnceLock<Value>,
}

impl ResourceValues {
    pub fn new(expansion: Expansion, instances: Instances) -> Self {
        ResourceValues {
            expansion,
            instances,
            missing_unknown: false,
            whole: OnceLock::new(),
        }
    }

    /// Values read from state (a destroy): missing instances are unknown.
    pub fn from_state(expansion: Expansion, instances: Instances) -> Self {
        ResourceValues {
            missing_unknown: true,
            ..ResourceValues::new(expansion, instances)
        }
    }

    /// The value of one instance, if it has one.
    pub fn get(&self, key: &Option<InstanceKey>) -> Option<&Value> {
        match &self.instances {
            Instances::Dense(vs) => self
                .expansion
                .index_of(key)
                .and_then(|i| vs.get(i))
                .and_then(Option::as_ref),
            Instances::Sparse(m) => m.get(key),
        }
    }

    /// Takes one instance's value out (for its planned change, once the walk is done).
    pub fn take(&mut self, key: &Option<InstanceKey>) -> Option<Value> {
        match &mut self.instances {
            Instances::Dense(vs) => {
                let i = self.expansion.index_of(key)?;
                vs.get_mut(i).and_then(Option::take)
            }
            Instances::Sparse(m) => m.remove(key),
        }
    }

    /// The resource as a whole: the object, a tuple under count, an object under for_each.
    /// Built once, on first use, so a reference to one instance never pays for all of them.
    pub fn whole(&self, ty: &Type) -> Value {
        self.whole
            .get_or_init(|| {
                let get = |i: usize| {
                    let k = self.expansion.key_at(i);
                    self.get(&k).cloned().unwrap_or_else(|| {
                        if self.missing_unknown {
                            Value::unknown(ty.clone())
                        } else {
                            Value::null(ty.clone())
                        }
                    })
                };
                match &self.expansion {
                    Expansion::Single => get(0),
                    Expansion::Count(n) => Value::Tuple((0..*n).map(get).collect()),
                    Expansion::ForEach(kv) => Value::Object(
                        kv.iter()
                            .enumerate()
                            .map(|(i, (k, _))| (k.clone(), get(i)))
                            .collect(),
                    ),
                }
            })
            .clone()
    }
}

type ResKey = (ModuleInstance, Mode, String);
/// A module call instance's key and `each.value`.
pub type CallEach = (Option<InstanceKey>, Option<Value>);

/// Everything computed during one walk. Each entry is written once, by the node that owns it,
/// before any node that depends on it runs (the graph guarantees it).
#[derive(Default)]
pub struct Store {
    pub vars: RwLock<HashMap<(ModuleInstance, String), Value>>,
    pub locals: RwLock<HashMap<(ModuleInstance, String), Value>>,
    pub outputs: RwLock<HashMap<(ModuleInstance, String), Value>>,
    pub resources: RwLock<HashMap<ResKey, Arc<ResourceValues>>>,
    /// Instances of each static module (index into `Mods`).
    pub module_instances: RwLock<HashMap<usize, Vec<ModuleInstance>>>,
    /// For each module call instance: its expansion key value and each.value.
    pub call_each: RwLock<HashMap<ModuleInstance, CallEach>>,
    /// How each module call expanded, per parent instance.
    pub call_expansions: RwLock<HashMap<(ModuleInstance, String), Expansion>>,
    /// Implied types of resources (schema) for `whole` of missing instances.
    pub resource_types: RwLock<HashMap<(Mode, String), Type>>,
}

impl Store {
    pub fn instances_of(&self, m: usize) -> Vec<ModuleInstance> {
        self.module_instances
            .read()
            .expect("store")
            .get(&m)
            .cloned()
            .unwrap_or_default()
    }

    pub fn set_resource(&self, mi: &ModuleInstance, mode: Mode, key: &str, rv: ResourceValues) {
        self.resources
            .write()
            .expect("store")
            .insert((mi.clone(), mode, key.to_string()), Arc::new(rv));
    }
}

/// What is fixed for a whole walk.
pub struct WalkInfo<'a> {
    pub mods: &'a Mods<'a>,
    /// Providers serving `provider::…` function calls.
    pub functions: crate::functions::FunctionProviders<'a>,
    pub workspace: String,
    pub root_dir: PathBuf,
    pub cwd: PathBuf,
}

/// The evaluation scope of one node instance: a module instance plus its repetition data.
pub struct NodeData<'a> {
    pub store: &'a Store,
    pub info: &'a WalkInfo<'a>,
    pub m: usize,
    pub mi: ModuleInstance,
    pub count_index: Option<i64>,
    pub each: Option<(String, Value)>,
    pub self_value: Option<Value>,
}

/// `path.module`, `path.root` (relative to `cwd`, "." when equal) and `path.cwd`.
pub(crate) fn path_attr(
    what: &str,
    module_dir: &std::path::Path,
    root_dir: &std::path::Path,
    cwd: &std::path::Path,
    range: &SourceRange,
) -> Result<Value, Diagnostic> {
    let relative = |p: &std::path::Path| {
        let s = p
            .strip_prefix(cwd)
            .unwrap_or(p)
            .to_string_lossy()
            .to_string();
        if s.is_empty() {
            ".".to_string()
        } else {
            s
        }
    };
    let s = match what {
        "module" => relative(module_dir),
        "root" => relative(root_dir),
        "cwd" => cwd.to_string_lossy().to_string(),
        other => {
            return Err(err(
                "Invalid \"path\" attribute",
                format!("The \"path\" object does not have an attribute named {other:?}. The supported attributes are path.cwd, the current working directory; path.module, the directory containing the current module; and path.root, the directory containing the root module."),
                range,
            ))
        }
    };
    Ok(Value::string(s))
}

/// `terraform.workspace`.
pub(crate) fn terraform_attr(
    what: &str,
    workspace: &str,
    range: &SourceRange,
) -> Result<Value, Diagnostic> {
    match what {
        "workspace" => Ok(Value::string(workspace)),
        other => Err(err(
            "Invalid \"terraform\" attribute",
            format!("The \"terraform\" object does not have an attribute named {other:?}. The only supported attribute is terraform.workspace, the name of the currently-selected workspace."),
            range,
        )),
    }
}

fn err(summary: &str, detail: String, range: &SourceRange) -> Diagnostic {
    Diagnostic::error(summary, detail).with_subject(range.clone())
}

impl NodeData<'_> {
    fn module_value(&self, name: &str, range: &SourceRange) -> Result<Value, Diagnostic> {
        let mods = self.info.mods;
        let Some(&child) = mods.get(self.m).children.get(name) else {
            return Err(lang::undeclared_module(
                name,
                range,
                mods.get(self.m).cfg.module_calls.keys().map(String::as_str),
                &self.module_phrase(),
            ));
        };
        let outputs: Vec<&String> = mods.get(child).cfg.outputs.keys().collect();
        let store_outputs = self.store.outputs.read().expect("store");
        let obj_for = |ci: &ModuleInstance| {
            Value::Object(
                outputs
                    .iter()
                    .map(|o| {
                        let v = store_outputs
                            .get(&(ci.clone(), (*o).clone()))
                            .cloned()
                            .unwrap_or_else(Value::dynamic_unknown);
                        ((*o).clone(), v)
                    })
                    .collect(),
            )
        };
        let exp = self
            .store
            .call_expansions
            .read()
            .expect("store")
            .get(&(self.mi.clone(), name.to_string()))
            .cloned()
            .unwrap_or(Expansion::Single);
        Ok(match &exp {
            Expansion::Single => obj_for(&self.mi.child(name, None)),
            Expansion::Count(n) => Value::Tuple(
                (0..*n)
                    .map(|i| obj_for(&self.mi.child(name, Some(InstanceKey::Int(i as i64)))))
                    .collect(),
            ),
            Expansion::ForEach(kv) => Value::Object(
                kv.iter()
                    .map(|(k, _)| {
                        (
                            k.clone(),
                            obj_for(
                                &self
                                    .mi
                                    .child(name, Some(InstanceKey::Str(k.as_str().into()))),
                            ),
                        )
                    })
                    .collect(),
            ),
        })
    }

    fn module_phrase(&self) -> String {
        if self.m == 0 {
            "the root module".into()
        } else {
            format!(
                "module.{}",
                self.info.mods.get(self.m).path.join(".module.")
            )
        }
    }

    fn resource_values(&self, r: &ResourceRef) -> Option<Arc<ResourceValues>> {
        self.store
            .resources
            .read()
            .expect("store")
            .get(&(
                self.mi.clone(),
                r.mode,
                format!("{}.{}", r.type_name, r.name),
            ))
            .cloned()
    }

    fn resource_type(&self, r: &ResourceRef) -> Type {
        self.store
            .resource_types
            .read()
            .expect("store")
            .get(&(r.mode, r.type_name.clone()))
            .cloned()
            .unwrap_or(Type::Dynamic)
    }
}

impl lang::Data for NodeData<'_> {
    fn call_provider_function(
        &self,
        provider: &str,
        name: &str,
        args: Vec<Value>,
    ) -> Option<Result<Value, functions::FuncError>> {
        // Only providers the module declares offer functions to it.
        let module = &self.info.mods.get(self.m).cfg;
        module.required_providers.get(provider)?;
        let source = crate::model::provider_source(module, provider);
        Some(self.info.functions.call(&source, provider, name, args))
    }

    fn get(&self, r: &Reference, range: &SourceRange) -> Result<Value, Diagnostic> {
        match r {
            Reference::Var(n) => self
                .store
                .vars
                .read()
                .expect("store")
                .get(&(self.mi.clone(), n.clone()))
                .cloned()
                .ok_or_else(|| {
                    let declared = &self.info.mods.get(self.m).cfg.variables;
                    lang::undeclared_named(r, range, declared.keys().map(String::as_str))
                }),
            Reference::Local(n) => self
                .store
                .locals
                .read()
                .expect("store")
                .get(&(self.mi.clone(), n.clone()))
                .cloned()
                .ok_or_else(|| {
                    let declared = &self.info.mods.get(self.m).cfg.locals;
                    lang::undeclared_named(r, range, declared.keys().map(String::as_str))
                }),
            Reference::Module(name) => self.module_value(name, range),
            Reference::Resource(rr) => match self.resource_values(rr) {
                Some(rv) => Ok(rv.whole(&self.resource_type(rr))),
                None => {
                    // Expressions of the configuration were checked when the graph was built;
                    // console input was not.
                    let cfg = self.info.mods.get(self.m).cfg;
                    let key = format!("{}.{}", rr.type_name, rr.name);
                    let (declared, what) = match rr.mode {
                        Mode::Managed => (cfg.managed_resources.contains_key(&key), "managed resource"),
                        Mode::Data => (cfg.data_resources.contains_key(&key), "data resource"),
                    };
                    if declared {
                        Ok(Value::dynamic_unknown())
                    } else {
                        Err(err(
                            "Reference to undeclared resource",
                            format!(
                                "A {what} \"{}\" \"{}\" has not been declared in {}.",
                                rr.type_name,
                                rr.name,
                                crate::graph::module_phrase(self.info.mods, self.m)
                            ),
                            range,
                        ))
                    }
                }
            },
            Reference::CountIndex => match self.count_index {
                Some(i) => Ok(Value::number(i)),
                None => Err(err(
                    "Reference to \"count\" in non-counted context",
                    "The \"count\" object can only be used in \"module\", \"resource\", and \"data\" blocks, and only when the \"count\" argument is set.".into(),
                    range,
                )),
            },
            Reference::EachKey | Reference::EachValue => match &self.each {
                Some((k, v)) => Ok(if matches!(r, Reference::EachKey) {
                    Value::string(k.clone())
                } else {
                    v.clone()
                }),
                None => Err(err(
                    "Reference to \"each\" in context without for_each",
                    "The \"each\" object can be used only in \"module\" or \"resource\" blocks, and only when the \"for_each\" argument is set.".into(),
                    range,
                )),
            },
            Reference::Path(what) => path_attr(
                what,
                &self.info.mods.get(self.m).cfg.dir,
                &self.info.root_dir,
                &self.info.cwd,
                range,
            ),
            Reference::Terraform(what) => terraform_attr(what, &self.info.workspace, range),
            Reference::SelfRef => self.self_value.clone().ok_or_else(|| {
                err(
                    "Invalid \"self\" reference",
                    "The \"self\" object is not available in this context. This object can be used only in resource provisioner, connection, and postcondition blocks.".into(),
                    range,
                )
            }),
            Reference::Output(n) => self
                .store
                .outputs
                .read()
                .expect("store")
                .get(&(self.mi.clone(), n.clone()))
                .cloned()
                .ok_or_else(|| {
                    let declared = &self.info.mods.get(self.m).cfg.outputs;
                    lang::undeclared_named(r, range, declared.keys().map(String::as_str))
                }),
        }
    }

    fn get_resource_instance(
        &self,
        res: &ResourceRef,
        key: &InstanceKey,
        _range: &SourceRange,
    ) -> Option<Result<Value, Diagnostic>> {
        let rv = self.resource_values(res)?;
        rv.get(&Some(key.clone())).cloned().map(Ok)
    }
}

/// Values of all root outputs (for plans and state).
pub fn root_outputs(store: &Store) -> BTreeMap<String, Value> {
    store
        .outputs
        .read()
        .expect("store")
        .iter()
        .filter(|((mi, _), _)| mi.is_root())
        .map(|((_, n), v)| (n.clone(), v.clone()))
        .collect()
}
