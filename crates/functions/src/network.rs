//! CIDR functions (`cidrhost`, `cidrnetmask`, `cidrsubnet`, `cidrsubnets`) for IPv4 and IPv6,
//! with Go's `net` parsing rules and Terraform's error texts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use value::{Type, Value};

use crate::framework::{arg_err, call_err, func, p, Args, Function, R};

struct Net {
    addr: u128,
    prefix: u32,
    bits: u32,
}

/// Parses a CIDR prefix; `arg` is the argument to blame, or `None` where Terraform reports the
/// failure as the call's (all CIDR functions but `cidrsubnets`).
fn parse_cidr(s: &str, arg: Option<usize>) -> R<Net> {
    let bad = || {
        let msg = format!("invalid CIDR expression: invalid CIDR address: {s}");
        match arg {
            Some(i) => arg_err(i, msg),
            None => call_err(msg),
        }
    };
    let (ip, pre) = s.split_once('/').ok_or_else(bad)?;
    let prefix: u32 = pre.parse().map_err(|_| bad())?;
    let (addr, bits) = match ip.parse::<IpAddr>().map_err(|_| bad())? {
        IpAddr::V4(v) => (u32::from(v) as u128, 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    };
    if prefix > bits {
        return Err(bad());
    }
    let mask = mask(prefix, bits);
    Ok(Net {
        addr: addr & mask,
        prefix,
        bits,
    })
}

fn mask(prefix: u32, bits: u32) -> u128 {
    let full: u128 = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    if prefix == 0 {
        0
    } else {
        (full >> (bits - prefix)) << (bits - prefix) & full
    }
}

fn fmt_addr(a: u128, bits: u32) -> String {
    if bits == 32 {
        Ipv4Addr::from(a as u32).to_string()
    } else {
        Ipv6Addr::from(a).to_string()
    }
}

fn subnet(n: &Net, newbits: i64, num: i128, i: usize) -> R<Net> {
    if newbits < 0 {
        return Err(arg_err(i, "must extend prefix by at least one bit"));
    }
    let np = n.prefix as i64 + newbits;
    if np > n.bits as i64 {
        return Err(call_err(format!(
            "insufficient address space to extend prefix of {} by {newbits}",
            n.prefix
        )));
    }
    let max = if newbits >= 128 {
        i128::MAX
    } else {
        (1i128 << newbits) - 1
    };
    if num < 0 || num > max {
        return Err(call_err(format!(
            "prefix extension of {newbits} does not accommodate a subnet numbered {num}"
        )));
    }
    let shift = n.bits as i64 - np;
    let addr = n.addr | ((num as u128) << shift);
    Ok(Net {
        addr,
        prefix: np as u32,
        bits: n.bits,
    })
}

fn int(a: &Args, i: usize) -> R<i64> {
    a.num(i)
        .to_i64()
        .ok_or_else(|| arg_err(i, "must be a whole number"))
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    fs.push(
        func(
            "cidrhost",
            vec![p("prefix", Type::String), p("hostnum", Type::Number)],
        )
        .ret(Type::String)
        .imp(|a| {
            let n = parse_cidr(a.str(0), None)?;
            let host = int(a, 1)? as i128;
            let hostbits = n.bits - n.prefix;
            let size: i128 = if hostbits >= 127 {
                i128::MAX
            } else {
                1i128 << hostbits
            };
            let h = if host < 0 { size + host } else { host };
            if h < 0 || h >= size {
                return Err(call_err(format!(
                    "prefix of {} does not accommodate a host numbered {host}",
                    n.prefix
                )));
            }
            Ok(Value::String(fmt_addr(n.addr | h as u128, n.bits)))
        })
        .build(),
    );
    fs.push(
        func("cidrnetmask", vec![p("prefix", Type::String)])
            .ret(Type::String)
            .imp(|a| {
                let n = parse_cidr(a.str(0), None)?;
                if n.bits != 32 {
                    return Err(call_err(format!(
                        "IPv6 addresses cannot have a netmask: {}",
                        a.str(0)
                    )));
                }
                Ok(Value::String(fmt_addr(mask(n.prefix, 32), 32)))
            })
            .build(),
    );
    fs.push(
        func(
            "cidrsubnet",
            vec![
                p("prefix", Type::String),
                p("newbits", Type::Number),
                p("netnum", Type::Number),
            ],
        )
        .ret(Type::String)
        .imp(|a| {
            let n = parse_cidr(a.str(0), None)?;
            let s = subnet(&n, int(a, 1)?, int(a, 2)? as i128, 1)?;
            Ok(Value::String(format!(
                "{}/{}",
                fmt_addr(s.addr, s.bits),
                s.prefix
            )))
        })
        .build(),
    );
    fs.push(
        func("cidrsubnets", vec![p("prefix", Type::String)])
            .var(p("newbits", Type::Number))
            .ret(Type::list(Type::String))
            .imp(|a| {
                let n = parse_cidr(a.str(0), Some(0))?;
                let mut out = Vec::new();
                let mut next: u128 = n.addr;
                for i in 1..a.vals.len() {
                    let nb = int(a, i)?;
                    if nb < 1 {
                        return Err(arg_err(i, "must extend prefix by at least one bit"));
                    }
                    let np = n.prefix as i64 + nb;
                    if np > n.bits as i64 {
                        return Err(arg_err(i, format!("would extend prefix to {np} bits, which is too long for an IPv{} address", if n.bits == 32 { 4 } else { 6 })));
                    }
                    let m = mask(np as u32, n.bits);
                    // Align to the new prefix boundary.
                    let step: u128 = 1u128 << (n.bits as i64 - np);
                    let mut start = next & m;
                    if start < next {
                        start += step;
                    }
                    if start & mask(n.prefix, n.bits) != n.addr {
                        return Err(arg_err(i, format!("not enough remaining address space for a subnet with a prefix of {np} bits after {}", out.last().and_then(|v: &Value| v.as_str().map(String::from)).unwrap_or_default())));
                    }
                    out.push(Value::String(format!("{}/{np}", fmt_addr(start, n.bits))));
                    next = start + step;
                }
                Ok(Value::list_of(Type::String, out))
            })
            .build(),
    );
}
