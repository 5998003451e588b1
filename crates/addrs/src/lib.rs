//! Immutable addresses of the Terraform world (module instances, resources, resource instances,
//! targets) that parse from and display as Terraform's address syntax.

pub mod resource;

pub use resource::{
    parse_target, AbsResource, AbsResourceInstance, AddrError, InstanceKey, Mode, ModuleInstance,
    ModuleStep, Resource, Target,
};
