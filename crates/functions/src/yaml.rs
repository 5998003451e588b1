//! `yamldecode` and `yamlencode` with the semantics of go-cty-yaml, Terraform's YAML library:
//! YAML 1.1 scalar resolution, anchors without cycles, `<<` merge keys, one document only, and
//! its error wording and (quirky, zero-based) positions. Both sit on `libyaml-safer`, a port of
//! libyaml, which is also what go-cty-yaml's scanner, parser and emitter were ported from: the
//! same tokens, the same problems, the same output layout.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use libyaml_safer::{
    Emitter, Encoding, ErrorKind, Event, EventData, MappingStyle, Parser, ScalarStyle,
    SequenceStyle,
};
use value::{Number, Type, Value};

use crate::framework::{call_err, func, p, Function};

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// A YAML problem, worded as go-cty-yaml words it.
fn err_at(line: u64, column: u64, msg: &str) -> String {
    format!("on line {line}, column {column}: {msg}")
}

/// A scanner or parser error. go-cty-yaml prints the problem only, at the problem mark; a
/// scanner error reports the following line at column 1, and a mark on the first line (line
/// zero) counts as no position at all.
fn parse_error(e: &libyaml_safer::Error) -> String {
    let problem = e.problem();
    match (e.problem_mark(), e.context_mark()) {
        (Some(m), _) if m.line != 0 => {
            if e.kind() == ErrorKind::Scanner {
                err_at(m.line + 1, 1, problem)
            } else {
                err_at(m.line, m.column + 1, problem)
            }
        }
        (_, Some(m)) if m.line != 0 => err_at(m.line, m.column + 1, problem),
        _ => problem.to_string(),
    }
}

/// An error about an event, at the event's start (none when it starts on line zero).
fn event_error(ev: &Event, msg: &str) -> String {
    if ev.start_mark.line == 0 {
        msg.to_string()
    } else {
        err_at(ev.start_mark.line, ev.start_mark.column + 1, msg)
    }
}

fn event_name(d: &EventData) -> &'static str {
    match d {
        EventData::StreamStart { .. } => "STREAM-START",
        EventData::StreamEnd => "STREAM-END",
        EventData::DocumentStart { .. } => "DOCUMENT-START",
        EventData::DocumentEnd { .. } => "DOCUMENT-END",
        EventData::Alias { .. } => "ALIAS",
        EventData::Scalar { .. } => "SCALAR",
        EventData::SequenceStart { .. } => "SEQUENCE-START",
        EventData::SequenceEnd => "SEQUENCE-END",
        EventData::MappingStart { .. } => "MAPPING-START",
        EventData::MappingEnd => "MAPPING-END",
    }
}

/// A resolved scalar: a value, or the `<<` merge key.
enum Scalar {
    Value(Value),
    Merge,
}

struct Decoder<'a> {
    parser: Parser<&'a [u8]>,
    /// Anchors being defined (a reference to one would be a cycle), with nesting counts.
    pending: HashMap<String, usize>,
    anchors: HashMap<String, Value>,
    /// Sequences and mappings open around the current event.
    depth: usize,
}

impl Decoder<'_> {
    fn next(&mut self) -> Result<Event, String> {
        self.parser.parse().map_err(|e| parse_error(&e))
    }

    fn document(&mut self) -> Result<Value, String> {
        let ev = self.next()?;
        if !matches!(ev.data, EventData::StreamStart { .. }) {
            return Err(event_error(&ev, "missing stream start token"));
        }
        let ev = self.next()?;
        if !matches!(ev.data, EventData::DocumentStart { .. }) {
            return Err(event_error(&ev, "missing start of document"));
        }
        let v = self.node()?;
        let ev = self.next()?;
        match ev.data {
            EventData::DocumentStart { .. } => {
                return Err(event_error(&ev, "only a single document is allowed"))
            }
            EventData::DocumentEnd { .. } => {}
            ref d => {
                let msg = format!("unexpected extra content ({}) after value", event_name(d));
                return Err(event_error(&ev, &msg));
            }
        }
        let ev = self.next()?;
        if !matches!(ev.data, EventData::StreamEnd) {
            return Err(event_error(&ev, "unexpected extra content after value"));
        }
        Ok(v)
    }

    fn node(&mut self) -> Result<Value, String> {
        let ev = self.next()?;
        self.node_from(ev)
    }

    fn begin(&mut self, anchor: &Option<String>) {
        if let Some(a) = anchor {
            *self.pending.entry(a.clone()).or_default() += 1;
        }
    }

    fn complete(&mut self, anchor: &Option<String>, v: &Value) {
        if let Some(a) = anchor {
            if let Some(n) = self.pending.get_mut(a) {
                *n -= 1;
                if *n == 0 {
                    self.pending.remove(a);
                }
            }
            self.anchors.insert(a.clone(), v.clone());
        }
    }

    fn node_from(&mut self, ev: Event) -> Result<Value, String> {
        if !matches!(
            ev.data,
            EventData::SequenceStart { .. } | EventData::MappingStart { .. }
        ) {
            return self.node_from_flat(ev);
        }
        if self.depth >= value::depth::MAX_DEPTH {
            return Err(value::depth::too_deep_message("the YAML document"));
        }
        self.depth += 1;
        let v = value::depth::guard(|| self.node_from_flat(ev));
        self.depth -= 1;
        v
    }

    fn node_from_flat(&mut self, ev: Event) -> Result<Value, String> {
        match &ev.data {
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                self.begin(anchor);
                let v = match resolve(tag.as_deref().unwrap_or(""), value, *style) {
                    Ok(Scalar::Value(v)) => v,
                    // Outside a mapping key, `<<` is just a string.
                    Ok(Scalar::Merge) => Value::String(value.clone()),
                    Err(msg) => return Err(event_error(&ev, &msg)),
                };
                self.complete(anchor, &v);
                Ok(v)
            }
            EventData::Alias { anchor } => {
                if self.pending.contains_key(anchor) {
                    let msg =
                        format!("cannot refer to anchor {anchor:?} from inside its own definition");
                    return Err(event_error(&ev, &msg));
                }
                match self.anchors.get(anchor) {
                    Some(v) => Ok(v.clone()),
                    None => Err(event_error(
                        &ev,
                        &format!("reference to undefined anchor {anchor:?}"),
                    )),
                }
            }
            EventData::MappingStart { anchor, tag, .. } => {
                if let Some(t) = tag.as_deref().filter(|t| *t != "tag:yaml.org,2002:map") {
                    return Err(event_error(&ev, &format!("can't interpret mapping as {t}")));
                }
                self.begin(anchor);
                let v = self.mapping()?;
                self.complete(anchor, &v);
                Ok(v)
            }
            EventData::SequenceStart { anchor, tag, .. } => {
                if let Some(t) = tag.as_deref().filter(|t| *t != "tag:yaml.org,2002:seq") {
                    return Err(event_error(
                        &ev,
                        &format!("can't interpret sequence as {t}"),
                    ));
                }
                self.begin(anchor);
                let mut items = Vec::new();
                loop {
                    let next = self.next()?;
                    if matches!(next.data, EventData::SequenceEnd) {
                        break;
                    }
                    items.push(self.node_from(next)?);
                }
                let v = Value::Tuple(items);
                self.complete(anchor, &v);
                Ok(v)
            }
            EventData::DocumentStart { .. } => {
                Err(event_error(&ev, "only a single document is allowed"))
            }
            EventData::StreamEnd => {
                Err(event_error(&ev, "expecting value but found end of stream"))
            }
            d => Err(event_error(
                &ev,
                &format!("unexpected parser event {}", event_name(d)),
            )),
        }
    }

    fn mapping(&mut self) -> Result<Value, String> {
        let mut attrs = BTreeMap::new();
        loop {
            let key = self.next()?;
            let (tag, text, style) = match &key.data {
                EventData::MappingEnd => return Ok(Value::Object(attrs)),
                EventData::Scalar {
                    tag, value, style, ..
                } => (tag.as_deref().unwrap_or(""), value.as_str(), *style),
                _ => {
                    return Err(event_error(
                        &key,
                        "only strings are allowed as mapping keys",
                    ))
                }
            };
            let name = match resolve(tag, text, style)? {
                Scalar::Merge => {
                    match self.node()? {
                        Value::Object(m) => attrs.extend(m),
                        other => {
                            let msg =
                                format!("cannot merge {} into mapping", other.ty().friendly_name());
                            return Err(event_error(&key, &msg));
                        }
                    }
                    continue;
                }
                Scalar::Value(v) => match v {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_text(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null(_) => return Err(event_error(&key, "mapping key cannot be null")),
                    _ => {
                        return Err(event_error(
                            &key,
                            "only strings are allowed as mapping keys",
                        ))
                    }
                },
            };
            let v = self.node()?;
            attrs.insert(name, v);
        }
    }
}

fn decode(src: &str) -> Result<Value, String> {
    // go-cty-yaml reads an empty source as a lone newline.
    let bytes: &[u8] = if src.is_empty() {
        b"\n"
    } else {
        src.as_bytes()
    };
    let mut parser = Parser::new();
    parser.set_input(bytes);
    Decoder {
        parser,
        pending: HashMap::new(),
        anchors: HashMap::new(),
        depth: 0,
    }
    .document()
    .and_then(|v| {
        // Aliases can put a deep value deeper still.
        if value::depth::too_deep(&v) {
            return Err(value::depth::too_deep_message("the YAML document"));
        }
        Ok(v)
    })
}

fn is_int_literal(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b));
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    false
}

fn is_float_literal(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let digits = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = digits(b);
    if i == 0 {
        // `.5`: a point and at least one digit.
        if b.first() != Some(&b'.') {
            return false;
        }
        let f = digits(&b[1..]);
        if f == 0 {
            return false;
        }
        i = 1 + f;
    } else if b.get(i) == Some(&b'.') {
        i += 1 + digits(&b[i + 1..]);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let e = digits(&b[j..]);
        if e == 0 {
            return false;
        }
        i = j + e;
    }
    i == b.len()
}

/// Go's `strconv.ParseInt`/`ParseUint` with base 0: a sign, then `0x`, `0o`, `0b` or a
/// leading `0` (octal) prefix.
fn parse_go_int(s: &str) -> Option<Number> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        // ParseInt: the magnitude must fit an i64.
        let v = i64::try_from(mag)
            .map(|m| -m)
            .or_else(|_| (mag == 1 << 63).then_some(i64::MIN).ok_or(()))
            .ok()?;
        Some(Number::from_bigint(&v.into()))
    } else {
        Some(Number::from_bigint(&mag.into()))
    }
}

fn resolve_keyword(s: &str) -> Option<(Value, &'static str)> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            (Value::Bool(true), "bool")
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            (Value::Bool(false), "bool")
        }
        "" | "~" | "null" | "Null" | "NULL" => (Value::null(Type::Dynamic), "null"),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            (Value::Number(Number::infinity(false)), "float")
        }
        "-.inf" | "-.Inf" | "-.INF" => (Value::Number(Number::infinity(true)), "float"),
        _ => return None,
    })
}

/// go-cty-yaml's scalar resolution: the tag (if any), else the first character as a hint.
fn resolve(tag: &str, src: &str, style: ScalarStyle) -> Result<Scalar, String> {
    let short = tag.strip_prefix(TAG_PREFIX);
    let known = matches!(
        short,
        Some("str" | "bool" | "int" | "float" | "null" | "timestamp" | "binary")
    );
    if !tag.is_empty() && !known {
        return Err(format!("unsupported tag {tag:?}"));
    }
    let mut kind = short.unwrap_or("");
    let hint = match src.as_bytes().first() {
        None => Some('N'),
        Some(b'+' | b'-') => Some('S'),
        Some(b'0'..=b'9') => Some('D'),
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => {
            Some('M')
        }
        Some(b'.') => Some('.'),
        _ => None,
    };
    if let Some(hint) = hint.filter(|_| kind != "str" && kind != "binary") {
        if matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) {
            return Ok(Scalar::Value(Value::String(src.to_string())));
        }
        if let Some((v, _)) = resolve_keyword(src) {
            return Ok(Scalar::Value(v));
        }
        if kind.is_empty() && matches!(src, ".nan" | ".NaN" | ".NAN") {
            return Err("floating point NaN is not supported".into());
        }
        match hint {
            '.' => {
                if let Some(n) = Number::parse(src) {
                    return Ok(Scalar::Value(Value::Number(n)));
                }
            }
            'D' | 'S' => {
                if kind.is_empty() || kind == "timestamp" {
                    if let Some(t) = timestamp(src) {
                        return Ok(Scalar::Value(Value::String(t)));
                    }
                }
                if is_int_literal(src) {
                    kind = "int";
                } else if is_float_literal(src) {
                    kind = "float";
                }
            }
            _ => {}
        }
    }
    if tag.is_empty() && kind.is_empty() && src == "<<" {
        return Ok(Scalar::Merge);
    }
    let full = || format!("{TAG_PREFIX}{kind}");
    let value = match kind {
        "str" => Value::String(src.to_string()),
        "binary" => {
            // go's base64 decoder skips line breaks.
            let compact: String = src.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
            if base64::engine::general_purpose::STANDARD
                .decode(compact)
                .is_err()
            {
                return Err(format!(
                    "cannot parse {src:?} as {}: not valid base64",
                    full()
                ));
            }
            Value::String(src.to_string())
        }
        "bool" => match resolve_keyword(src) {
            Some((v, "bool")) => v,
            _ => return Err(format!("cannot parse {src:?} as {}", full())),
        },
        "int" | "float" => {
            let plain = src.replace('_', "");
            match Number::parse(&plain).or_else(|| parse_go_int(&plain)) {
                Some(n) => Value::Number(n),
                None => return Err(format!("cannot parse {src:?} as {}", full())),
            }
        }
        "timestamp" => match timestamp(src) {
            Some(t) => Value::String(t),
            None => return Err(format!("cannot parse {src:?} as {}", full())),
        },
        "null" => Value::null(Type::Dynamic),
        _ => Value::String(src.to_string()),
    };
    Ok(Scalar::Value(value))
}

/// Reads 1 or 2 digits (Go's layout fields `1`, `2`, `15`, `4`, `5`).
fn one_or_two(s: &mut &[u8]) -> Option<u32> {
    let n = s.iter().take(2).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let v = s[..n].iter().fold(0, |a, c| a * 10 + u32::from(c - b'0'));
    *s = &s[n..];
    Some(v)
}

fn expect(s: &mut &[u8], c: u8) -> Option<()> {
    let (&first, rest) = s.split_first()?;
    (first == c).then(|| *s = rest)
}

/// The YAML timestamp forms go-cty-yaml accepts (date; date and time with `T`, `t` or a space;
/// zone `Z` or `±hh:mm`), rendered as RFC 3339 without fractional seconds, as Go's
/// `time.Format(time.RFC3339)` does.
fn timestamp(text: &str) -> Option<String> {
    let mut s = text.as_bytes();
    if s.len() < 5 || !s[..4].iter().all(u8::is_ascii_digit) || s[4] != b'-' {
        return None;
    }
    let year: i32 = text[..4].parse().ok()?;
    s = &s[5..];
    let month = one_or_two(&mut s)?;
    expect(&mut s, b'-')?;
    let day = one_or_two(&mut s)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if s.is_empty() {
        return Some(format!("{date}T00:00:00Z"));
    }
    let sep = s[0];
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    s = &s[1..];
    let hour = one_or_two(&mut s)?;
    expect(&mut s, b':')?;
    let min = one_or_two(&mut s)?;
    expect(&mut s, b':')?;
    let sec = one_or_two(&mut s)?;
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    if s.first() == Some(&b'.') && s.get(1).is_some_and(u8::is_ascii_digit) {
        let n = s[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        s = &s[1 + n..];
    }
    let time = format!("{date}T{hour:02}:{min:02}:{sec:02}");
    if sep == b' ' {
        // The space-separated form carries no zone: UTC.
        return s.is_empty().then(|| format!("{time}Z"));
    }
    match s {
        b"Z" => Some(format!("{time}Z")),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let hh = u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0');
            let mm = u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0');
            if hh > 24 || mm > 59 {
                return None;
            }
            if hh == 0 && mm == 0 {
                return Some(format!("{time}Z"));
            }
            Some(format!("{time}{}{hh:02}:{mm:02}", char::from(*sign)))
        }
        _ => None,
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

fn emit(em: &mut Emitter, ev: Event) -> Result<(), String> {
    em.emit(ev).map_err(|e| e.problem().to_string())
}

fn emit_value(v: &Value, em: &mut Emitter) -> Result<(), String> {
    value::depth::guard(|| {
        let scalar = |text: &str, style| Event::scalar(None, None, text, true, true, style);
        let ev = match v.unmarked() {
            Value::Null(_) => scalar("null", ScalarStyle::Plain),
            Value::String(s) if s.contains('\n') => scalar(s, ScalarStyle::Literal),
            Value::String(s) => scalar(s, ScalarStyle::DoubleQuoted),
            Value::Number(n) => scalar(&n.to_text(), ScalarStyle::Plain),
            Value::Bool(b) => scalar(if *b { "true" } else { "false" }, ScalarStyle::Plain),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                let start = Event::sequence_start(None, None, true, SequenceStyle::Block);
                emit(em, start)?;
                for item in items {
                    emit_value(item, em)?;
                }
                Event::sequence_end()
            }
            Value::Object(m) | Value::Map(_, m) => {
                let start = Event::mapping_start(None, None, true, MappingStyle::Block);
                emit(em, start)?;
                for (k, item) in m {
                    emit(em, scalar(k, ScalarStyle::DoubleQuoted))?;
                    emit_value(item, em)?;
                }
                Event::mapping_end()
            }
            other => {
                return Err(format!(
                    "can't marshal {} as YAML",
                    other.ty().friendly_name()
                ))
            }
        };
        emit(em, ev)
    })
}

fn encode(v: &Value) -> Result<String, String> {
    let mut out = Vec::new();
    {
        let mut em = Emitter::new();
        em.set_output_string(&mut out);
        em.set_unicode(true);
        emit(&mut em, Event::stream_start(Encoding::Utf8))?;
        emit(&mut em, Event::document_start(None, &[], true))?;
        emit_value(v, &mut em)?;
        emit(&mut em, Event::document_end(true))?;
        emit(&mut em, Event::stream_end())?;
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    fs.push(
        func("yamldecode", vec![p("src", Type::String)])
            .ret(Type::Dynamic)
            .imp(|a| decode(a.str(0)).map_err(call_err))
            .build(),
    );
    fs.push(
        func(
            "yamlencode",
            vec![p("value", Type::Dynamic).null().dynamic()],
        )
        .ret(Type::String)
        .imp(|a| {
            if !a.vals[0].is_wholly_known() {
                return Ok(Value::unknown(Type::String));
            }
            encode(&a.vals[0]).map(Value::String).map_err(call_err)
        })
        .build(),
    );
}
