//! `csvdecode`: RFC 4180 CSV (via the `csv` crate) into a list of objects keyed by the header
//! row, with the errors Terraform reports.

use std::collections::BTreeMap;

use value::{Type, Value};

use crate::framework::{call_err, Args, R};

fn records(s: &str) -> R<Vec<Vec<String>>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(s.as_bytes());
    let mut out = Vec::new();
    for r in rdr.records() {
        match r {
            Ok(rec) => out.push(rec.iter().map(String::from).collect()),
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(1);
                // Go's encoding/csv words these as cty's csvdecode passes them on.
                return Err(call_err(match e.kind() {
                    csv::ErrorKind::UnequalLengths { .. } => {
                        format!("CSV parse error on line {line}: wrong number of fields")
                    }
                    _ => format!(
                        "parse error on line {line}, column 0: extraneous or missing \" in quoted-field"
                    ),
                }));
            }
        }
    }
    Ok(out)
}

pub(crate) fn csv_type(args: &[Value]) -> R<Type> {
    let Some(s) = args[0].as_str() else {
        return Ok(Type::Dynamic);
    };
    let recs = records(s)?;
    let Some(header) = recs.first() else {
        return Err(call_err("missing header line"));
    };
    let mut attrs = BTreeMap::new();
    for h in header {
        if attrs.insert(h.clone(), Type::String).is_some() {
            return Err(call_err(format!("duplicate column name {h:?}")));
        }
    }
    Ok(Type::list(Type::object(attrs)))
}

pub(crate) fn csv_impl(a: &Args) -> R<Value> {
    let recs = records(a.str(0))?;
    let header = recs.first().cloned().unwrap_or_default();
    let ety = match &a.ret {
        Type::List(e) => (**e).clone(),
        _ => Type::Dynamic,
    };
    let rows: Vec<Value> = recs[1..]
        .iter()
        .map(|r| {
            Value::Object(
                header
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.clone(), Value::string(v.clone())))
                    .collect(),
            )
        })
        .collect();
    Ok(Value::list_of(ety, rows))
}
