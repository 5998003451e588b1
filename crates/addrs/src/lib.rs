//! Immutable addresses of the Terraform world (module instances, resources, resource instances,
//! targets, module sources) that parse from and display as Terraform's address syntax.

pub mod module_source;
pub mod resource;

pub use module_source::{
    parse_module_source, parse_module_source_registry, ModuleSource, ModuleSourceError,
    RegistryPackage, RegistrySource, RemoteSource,
};
pub use resource::{
    parse_target, AbsResource, AbsResourceInstance, AddrError, InstanceKey, Mode, ModuleInstance,
    ModuleStep, Resource, Target,
};
