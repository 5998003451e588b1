//! Writing the v4 format with Terraform's field order, omissions and formatting.

use crate::json::Writer;
use crate::model::{
    CheckResult, Extras, InstanceKey, InstanceObject, ObjectKey, ObjectStatus, OutputValue,
    Resource, ResourceAddr, State,
};

// Field slots: extras read after known field N are written after it (slot 0 = before all).
pub(crate) mod slot {
    pub const STATE: &[&str] = &[
        "version",
        "terraform_version",
        "serial",
        "lineage",
        "outputs",
        "resources",
        "check_results",
    ];
    pub const OUTPUT: &[&str] = &["value", "type", "sensitive"];
    pub const RESOURCE: &[&str] = &[
        "module",
        "mode",
        "type",
        "name",
        "each",
        "provider",
        "instances",
    ];
    pub const INSTANCE: &[&str] = &[
        "index_key",
        "status",
        "deposed",
        "schema_version",
        "attributes",
        "attributes_flat",
        "sensitive_attributes",
        "private",
        "dependencies",
        "create_before_destroy",
    ];
}

fn extras_at(w: &mut Writer, extras: &Extras, slot: u8) {
    for (s, k, v) in &extras.0 {
        if *s == slot {
            w.key(k);
            w.raw(v);
        }
    }
}

impl State {
    /// The state file bytes exactly as Terraform writes them (2-space indent, trailing newline).
    pub fn to_vec(&self) -> Vec<u8> {
        // Attribute-heavy states are dominated by raw attribute bytes; a rough size hint avoids
        // repeated reallocation of a large buffer.
        let hint = 512
            + self
                .resources
                .values()
                .map(|r| r.objects.len() * 1024)
                .sum::<usize>();
        let mut w = Writer::new(true, hint);
        self.write(&mut w);
        w.out.push(b'\n');
        w.out
    }

    /// Compact single-line JSON of the same document (for storage, not for users).
    pub fn to_compact_vec(&self) -> Vec<u8> {
        let mut w = Writer::new(false, 1024);
        self.write(&mut w);
        w.out
    }

    fn write(&self, w: &mut Writer) {
        let x = &self.extras;
        w.begin_object();
        extras_at(w, x, 0);
        w.key("version");
        w.uint(4);
        extras_at(w, x, 1);
        w.key("terraform_version");
        w.string(&self.terraform_version);
        extras_at(w, x, 2);
        w.key("serial");
        w.uint(self.serial);
        extras_at(w, x, 3);
        w.key("lineage");
        w.string(&self.lineage);
        extras_at(w, x, 4);
        w.key("outputs");
        w.begin_object();
        for (name, out) in &self.outputs {
            w.key(name);
            write_output(w, out);
        }
        w.end_object();
        extras_at(w, x, 5);
        w.key("resources");
        w.begin_array();
        for (addr, res) in &self.resources {
            w.element();
            write_resource(w, addr, res);
        }
        w.end_array();
        extras_at(w, x, 6);
        w.key("check_results");
        match &self.check_results {
            None => w.null(),
            Some(results) => {
                w.begin_array();
                for r in results {
                    w.element();
                    write_check(w, r);
                }
                w.end_array();
            }
        }
        extras_at(w, x, 7);
        w.end_object();
    }
}

fn write_output(w: &mut Writer, out: &OutputValue) {
    let x = &out.extras;
    w.begin_object();
    extras_at(w, x, 0);
    w.key("value");
    w.raw(&out.value);
    extras_at(w, x, 1);
    w.key("type");
    w.raw(&out.type_json);
    extras_at(w, x, 2);
    if out.sensitive {
        w.key("sensitive");
        w.bool(true);
    }
    extras_at(w, x, 3);
    w.end_object();
}

fn write_resource(w: &mut Writer, addr: &ResourceAddr, res: &Resource) {
    let x = &res.extras;
    w.begin_object();
    extras_at(w, x, 0);
    if !addr.module.is_empty() {
        w.key("module");
        w.string(&addr.module);
    }
    extras_at(w, x, 1);
    w.key("mode");
    w.string(addr.mode.as_str());
    extras_at(w, x, 2);
    w.key("type");
    w.string(&addr.type_name);
    extras_at(w, x, 3);
    w.key("name");
    w.string(&addr.name);
    extras_at(w, x, 4);
    if let Some(each) = res.each.as_deref().filter(|e| !e.is_empty()) {
        w.key("each");
        w.string(each);
    }
    extras_at(w, x, 5);
    w.key("provider");
    w.string(&res.provider);
    extras_at(w, x, 6);
    w.key("instances");
    w.begin_array();
    for (key, obj) in &res.objects {
        w.element();
        write_instance(w, Some(key), obj);
    }
    w.end_array();
    extras_at(w, x, 7);
    w.end_object();
}

pub(crate) fn write_instance(w: &mut Writer, key: Option<&ObjectKey>, obj: &InstanceObject) {
    let x = &obj.extras;
    w.begin_object();
    extras_at(w, x, 0);
    if let Some(k) = key.and_then(|k| k.key.as_ref()) {
        w.key("index_key");
        match k {
            InstanceKey::Int(i) => w.int(*i),
            InstanceKey::Str(s) => w.string(s),
        }
    }
    extras_at(w, x, 1);
    if obj.status == ObjectStatus::Tainted {
        w.key("status");
        w.string("tainted");
    }
    extras_at(w, x, 2);
    if let Some(d) = key
        .and_then(|k| k.deposed.as_deref())
        .filter(|d| !d.is_empty())
    {
        w.key("deposed");
        w.string(d);
    }
    extras_at(w, x, 3);
    w.key("schema_version");
    w.uint(obj.schema_version);
    extras_at(w, x, 4);
    if let Some(a) = &obj.attributes {
        w.key("attributes");
        w.raw(a);
    }
    extras_at(w, x, 5);
    if !obj.attributes_flat.is_empty() {
        w.key("attributes_flat");
        w.begin_object();
        for (k, v) in &obj.attributes_flat {
            w.key(k);
            w.string(v);
        }
        w.end_object();
    }
    extras_at(w, x, 6);
    if let Some(s) = &obj.sensitive_attributes {
        w.key("sensitive_attributes");
        w.raw(s);
    }
    extras_at(w, x, 7);
    if let Some(p) = obj.private.as_deref().filter(|p| !p.is_empty()) {
        w.key("private");
        w.string(p);
    }
    extras_at(w, x, 8);
    if !obj.dependencies.is_empty() {
        w.key("dependencies");
        w.begin_array();
        for d in &obj.dependencies {
            w.element();
            w.string(d);
        }
        w.end_array();
    }
    extras_at(w, x, 9);
    if obj.create_before_destroy {
        w.key("create_before_destroy");
        w.bool(true);
    }
    extras_at(w, x, 10);
    w.end_object();
}

fn write_check(w: &mut Writer, r: &CheckResult) {
    w.begin_object();
    w.key("object_kind");
    w.string(&r.object_kind);
    w.key("config_addr");
    w.string(&r.config_addr);
    w.key("status");
    w.string(&r.status);
    w.key("objects");
    match &r.objects {
        None => w.null(),
        Some(objs) => {
            w.begin_array();
            for o in objs {
                w.element();
                w.begin_object();
                w.key("object_addr");
                w.string(&o.object_addr);
                w.key("status");
                w.string(&o.status);
                if let Some(msgs) = o.failure_messages.as_ref().filter(|m| !m.is_empty()) {
                    w.key("failure_messages");
                    w.begin_array();
                    for m in msgs {
                        w.element();
                        w.string(m);
                    }
                    w.end_array();
                }
                w.end_object();
            }
            w.end_array();
        }
    }
    w.end_object();
}

impl InstanceObject {
    /// Compact JSON of this object as it appears in the file, without index_key and deposed
    /// (used by journals that store single objects).
    pub fn to_compact_json(&self) -> String {
        let mut w = Writer::new(false, 256);
        write_instance(&mut w, None, self);
        String::from_utf8(w.out).unwrap_or_default()
    }
}

impl OutputValue {
    /// Compact JSON of this output as it appears in the file.
    pub fn to_compact_json(&self) -> String {
        let mut w = Writer::new(false, 64);
        write_output(&mut w, self);
        String::from_utf8(w.out).unwrap_or_default()
    }
}

/// Compact JSON of check results (for journals).
pub fn check_results_to_compact_json(results: &Option<Vec<CheckResult>>) -> String {
    let mut w = Writer::new(false, 64);
    match results {
        None => w.null(),
        Some(results) => {
            w.begin_array();
            for r in results {
                w.element();
                write_check(&mut w, r);
            }
            w.end_array();
        }
    }
    String::from_utf8(w.out).unwrap_or_default()
}
