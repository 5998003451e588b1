//! Date and time functions over RFC 3339 timestamps: `timestamp`, `plantimestamp`,
//! `formatdate` (Terraform's format spec), `timeadd` (Go durations) and `timecmp`.

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, Timelike, Utc};
use value::{Type, Value};

use crate::framework::{arg_err, call_err, func, p, Function, R};

/// Parses an RFC 3339 timestamp; `arg` is the argument to blame, or `None` where Terraform
/// reports the failure as the call's (`timeadd`).
fn parse_ts(s: &str, arg: Option<usize>) -> R<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).map_err(|_| {
        let msg = format!(
            "not a valid RFC3339 timestamp: cannot use {} as year",
            value::ops::go_quote(s)
        );
        match arg {
            Some(i) => arg_err(i, msg),
            None => call_err(msg),
        }
    })
}

fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    if t.offset().local_minus_utc() == 0 {
        t.with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::AutoSi, true)
    } else {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }
}

/// Go duration strings (`1h30m`, `-10s`, `1.5h`) as nanoseconds.
/// Go's `time.ParseDuration`, in nanoseconds, with its error messages.
fn duration(s: &str) -> Result<i128, String> {
    let q = value::ops::go_quote(s);
    let invalid = || format!("time: invalid duration {q}");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..n_end].parse().map_err(|_| invalid())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..u_end];
        rest = &rest[u_end..];
        let mul = match unit {
            "" => return Err(format!("time: missing unit in duration {q}")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {q}",
                    value::ops::go_quote(u)
                ))
            }
        };
        total += n * mul;
    }
    Ok(if neg { -(total as i128) } else { total as i128 })
}

fn format_date(spec: &str, t: &DateTime<FixedOffset>) -> Result<String, String> {
    let mut out = String::new();
    let b: Vec<char> = spec.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '\'' {
            let mut j = i + 1;
            let mut lit = String::new();
            loop {
                if j >= b.len() {
                    return Err("unterminated literal '".into());
                }
                if b[j] == '\'' {
                    if j + 1 < b.len() && b[j + 1] == '\'' {
                        lit.push('\'');
                        j += 2;
                        continue;
                    }
                    break;
                }
                lit.push(b[j]);
                j += 1;
            }
            if lit.is_empty() && j == i + 1 {
                out.push('\'');
            }
            out.push_str(&lit);
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && b[j] == c {
            j += 1;
        }
        let seq: String = b[i..j].iter().collect();
        let off = t.offset().local_minus_utc();
        let s = match seq.as_str() {
            "YYYY" => format!("{:04}", t.year()),
            "YY" => format!("{:02}", t.year() % 100),
            "MMMM" => t.format("%B").to_string(),
            "MMM" => t.format("%b").to_string(),
            "MM" => format!("{:02}", t.month()),
            "M" => t.month().to_string(),
            "DD" => format!("{:02}", t.day()),
            "D" => t.day().to_string(),
            "EEEE" => t.format("%A").to_string(),
            "EEE" => t.format("%a").to_string(),
            "hh" => format!("{:02}", t.hour()),
            "h" => t.hour().to_string(),
            "HH" => format!(
                "{:02}",
                if t.hour().is_multiple_of(12) {
                    12
                } else {
                    t.hour() % 12
                }
            ),
            "H" => (if t.hour().is_multiple_of(12) {
                12
            } else {
                t.hour() % 12
            })
            .to_string(),
            "AA" => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
            "aa" => if t.hour() < 12 { "am" } else { "pm" }.to_string(),
            "mm" => format!("{:02}", t.minute()),
            "m" => t.minute().to_string(),
            "ss" => format!("{:02}", t.second()),
            "s" => t.second().to_string(),
            "ZZZZZ" => format!(
                "{}{:02}:{:02}",
                if off < 0 { '-' } else { '+' },
                off.abs() / 3600,
                off.abs() % 3600 / 60
            ),
            "ZZZZ" => format!(
                "{}{:02}{:02}",
                if off < 0 { '-' } else { '+' },
                off.abs() / 3600,
                off.abs() % 3600 / 60
            ),
            "ZZZ" => {
                if off == 0 {
                    "UTC".into()
                } else {
                    format!(
                        "{}{:02}{:02}",
                        if off < 0 { '-' } else { '+' },
                        off.abs() / 3600,
                        off.abs() % 3600 / 60
                    )
                }
            }
            "Z" => {
                if off == 0 {
                    "Z".into()
                } else {
                    format!(
                        "{}{:02}:{:02}",
                        if off < 0 { '-' } else { '+' },
                        off.abs() / 3600,
                        off.abs() % 3600 / 60
                    )
                }
            }
            other => {
                return Err(format!(
                    "invalid date format verb {:?}: unsupported format sequence",
                    other
                ))
            }
        };
        out.push_str(&s);
        i = j;
    }
    Ok(out)
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    fs.push(
        func("timestamp", vec![])
            .ret(Type::String)
            .imp(|_| {
                Ok(Value::String(
                    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
                ))
            })
            .build(),
    );
    fs.push(
        func("plantimestamp", vec![])
            .ret(Type::String)
            .imp(|a| {
                let t = a.ctx.plan_timestamp.unwrap_or_else(Utc::now);
                Ok(Value::String(
                    t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                ))
            })
            .build(),
    );
    fs.push(
        func(
            "formatdate",
            vec![p("format", Type::String), p("time", Type::String)],
        )
        .ret(Type::String)
        .imp(|a| {
            let t = parse_ts(a.str(1), Some(1))?;
            format_date(a.str(0), &t)
                .map(Value::String)
                .map_err(|e| arg_err(0, e))
        })
        .build(),
    );
    fs.push(
        func(
            "timeadd",
            vec![p("timestamp", Type::String), p("duration", Type::String)],
        )
        .ret(Type::String)
        .imp(|a| {
            let t = parse_ts(a.str(0), None)?;
            let d = duration(a.str(1)).map_err(call_err)?;
            let nt = t + chrono::Duration::nanoseconds(d as i64);
            Ok(Value::String(rfc3339(&nt)))
        })
        .build(),
    );
    fs.push(
        func(
            "timecmp",
            vec![
                p("timestamp_a", Type::String),
                p("timestamp_b", Type::String),
            ],
        )
        .ret(Type::Number)
        .imp(|a| {
            let x = parse_ts(a.str(0), Some(0))?;
            let y = parse_ts(a.str(1), Some(1))?;
            Ok(Value::number(match x.cmp(&y) {
                std::cmp::Ordering::Less => -1i64,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            }))
        })
        .build(),
    );
}
