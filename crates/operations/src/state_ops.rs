//! `state list`, `state mv` and `state rm` on a decoded-free state model (objects move as
//! they are, attributes untouched), with Terraform's messages.

use addrs::{AbsResource, AbsResourceInstance, InstanceKey, Mode, Target};
use states::{ObjectKey, ResourceAddr, ResourceMode, State};

use crate::Failure;

fn abs_instance(saddr: &ResourceAddr, key: &Option<states::InstanceKey>) -> AbsResourceInstance {
    AbsResourceInstance {
        module: engine::walk::parse_module_instance(&saddr.module),
        resource: addrs::Resource {
            mode: match saddr.mode {
                ResourceMode::Data => Mode::Data,
                _ => Mode::Managed,
            },
            type_name: saddr.type_name.as_str().into(),
            name: saddr.name.as_str().into(),
        },
        key: engine::walk::addr_key(key),
    }
}

fn state_addr(r: &AbsResource) -> ResourceAddr {
    ResourceAddr::new(
        r.module.to_string(),
        match r.resource.mode {
            Mode::Data => ResourceMode::Data,
            Mode::Managed => ResourceMode::Managed,
        },
        r.resource.type_name.to_string(),
        r.resource.name.to_string(),
    )
}

/// Instance addresses in state order, filtered by `filters` (all when empty).
pub fn list(state: &State, filters: &[Target]) -> Vec<String> {
    let mut out = Vec::new();
    for (saddr, res) in state.resources() {
        for (k, _) in res.objects() {
            if k.deposed.is_some() {
                continue;
            }
            let inst = abs_instance(saddr, &k.key);
            if filters.is_empty() || filters.iter().any(|f| f.contains(&inst)) {
                out.push(inst.to_string());
            }
        }
    }
    out
}

fn parse(a: &str) -> Result<Target, Failure> {
    addrs::parse_target(a)
        .map_err(|e| Failure::new("Invalid address", format!("{}: {}", e.summary, e.detail)))
}

/// Removes every instance the addresses match; errors if an address matches nothing.
pub fn rm(state: &mut State, addresses: &[String]) -> Result<Vec<String>, Failure> {
    let mut removed = Vec::new();
    for a in addresses {
        let t = parse(a)?;
        let mut hits: Vec<(ResourceAddr, ObjectKey, String)> = Vec::new();
        for (saddr, res) in state.resources() {
            for (k, _) in res.objects() {
                let inst = abs_instance(saddr, &k.key);
                if t.contains(&inst) {
                    hits.push((saddr.clone(), k.clone(), inst.to_string()));
                }
            }
        }
        if hits.is_empty() {
            return Err(Failure::new(
                "Invalid target address",
                "No matching objects found. To view the available instances, use \"terraform state list\". Please modify the address to reference a specific instance.",
            ));
        }
        for (saddr, k, name) in hits {
            if let Some(res) = state.resource_mut(&saddr) {
                res.remove_object(&k);
                if res.is_empty() {
                    state.remove_resource(&saddr);
                }
            }
            if k.deposed.is_none() {
                removed.push(name);
            }
        }
    }
    Ok(removed)
}

/// Moves a resource, instance or module; returns how many objects moved.
pub fn mv(state: &mut State, src: &str, dst: &str) -> Result<usize, Failure> {
    let s = parse(src)?;
    let d = parse(dst)?;
    let exists = |state: &State, t: &Target| -> bool {
        state.resources().any(|(saddr, res)| {
            res.objects()
                .any(|(k, _)| t.contains(&abs_instance(saddr, &k.key)))
        })
    };
    if !exists(state, &s) {
        return Err(Failure::new(
            "Invalid source address",
            format!("Cannot move {src}: does not match anything in the current state."),
        ));
    }
    if exists(state, &d) {
        return Err(Failure::new(
            "Invalid target address",
            format!("Cannot move to {dst}: there is already a resource instance at that address in the current state."),
        ));
    }
    match (s, d) {
        (Target::Instance(si), Target::Instance(di)) => {
            move_instance(state, &si, &di)
        }
        (Target::Instance(si), Target::Resource(dr)) => move_instance(state, &si, &dr.instance(None)),
        (Target::Resource(sr), Target::Resource(dr)) => {
            if sr.resource.type_name != dr.resource.type_name {
                return Err(Failure::new(
                    "Invalid state move request",
                    format!("Cannot move {src} to {dst}: resource types don't match."),
                ));
            }
            let from = state_addr(&sr);
            let Some(res) = state.remove_resource(&from) else { return Ok(0) };
            let n = res.len();
            state.set_resource(state_addr(&dr), res);
            Ok(n)
        }
        (Target::Resource(sr), Target::Instance(di)) => move_instance(state, &sr.instance(None), &di),
        (Target::Module(sm), Target::Module(dm)) => {
            let prefix = sm.to_string();
            let moving: Vec<ResourceAddr> = state
                .resources()
                .filter(|(a, _)| a.module == prefix || a.module.starts_with(&format!("{prefix}.")))
                .map(|(a, _)| a.clone())
                .collect();
            let mut n = 0;
            for a in moving {
                if let Some(res) = state.remove_resource(&a) {
                    n += res.len();
                    let rest = &a.module[prefix.len()..];
                    let mut na = a.clone();
                    na.module = format!("{dm}{rest}");
                    state.set_resource(na, res);
                }
            }
            Ok(n)
        }
        _ => Err(Failure::new(
            "Invalid state move request",
            format!("Cannot move {src} to {dst}: the source and destination must both be modules, resources or resource instances."),
        )),
    }
}

fn move_instance(
    state: &mut State,
    si: &AbsResourceInstance,
    di: &AbsResourceInstance,
) -> Result<usize, Failure> {
    let from = state_addr(&si.resource());
    let to = state_addr(&di.resource());
    let skey = key_of(&si.key);
    let dkey = key_of(&di.key);
    let Some(res) = state.resource_mut(&from) else {
        return Ok(0);
    };
    let provider = res.provider.clone();
    let keys: Vec<ObjectKey> = res
        .objects()
        .map(|(k, _)| k.clone())
        .filter(|k| k.key == skey)
        .collect();
    let mut moved = Vec::new();
    for k in keys {
        if let Some(o) = res.remove_object(&k) {
            moved.push((
                ObjectKey {
                    key: dkey.clone(),
                    deposed: k.deposed.clone(),
                },
                o,
            ));
        }
    }
    if res.is_empty() {
        state.remove_resource(&from);
    }
    let n = moved.len();
    if state.resource(&to).is_none() {
        state.set_resource(to.clone(), states::Resource::new(provider));
    }
    let target = state.resource_mut(&to).expect("just created");
    for (k, o) in moved {
        target.set_object(k, o);
    }
    Ok(n)
}

fn key_of(k: &Option<InstanceKey>) -> Option<states::InstanceKey> {
    engine::walk::state_key(k)
}
