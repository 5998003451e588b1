//! Encoding functions: base64 (plain, gzip, text encodings), CSV, JSON, URL and YAML, with Go's
//! byte-exact output (JSON escapes `<>&` as Go's encoder does).

use crate::framework::{arg_err, call_err, func, p, Function, R};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use value::{Marks, Type, Value};

/// Go's `base64.StdEncoding`: padded, non-canonical trailing bits allowed.
pub(crate) const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

pub(crate) fn b64(data: &[u8]) -> String {
    GO_STD.encode(data)
}

/// Decodes as Go's `StdEncoding.DecodeString` (which skips CR and LF); on failure, the offset
/// Go reports.
pub(crate) fn go_b64_decode(s: &str) -> Result<Vec<u8>, usize> {
    let clean: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    GO_STD.decode(clean.as_bytes()).map_err(|e| match e {
        base64::DecodeError::InvalidByte(o, _) => o,
        base64::DecodeError::InvalidLength(l) => l,
        base64::DecodeError::InvalidLastSymbol(o, _) => o,
        base64::DecodeError::InvalidPadding => clean.trim_end_matches('=').len(),
    })
}

pub(crate) fn quote_or_redact(s: &str, marks: Marks) -> String {
    if marks.is_sensitive() {
        "(sensitive value)".into()
    } else {
        value::ops::go_quote(s)
    }
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    fs.push(
        func(
            "base64decode",
            vec![p("str", Type::String).marked().unknown()],
        )
        .ret(Type::String)
        .imp(|a| {
            let (v, marks) = a.vals[0].clone().unmark();
            if !v.is_known() {
                return Ok(Value::unknown(Type::String).mark(marks));
            }
            let s = v.as_str().unwrap_or("");
            let dec = go_b64_decode(s).map_err(|_| {
                call_err(format!(
                    "failed to decode base64 data {}",
                    quote_or_redact(s, marks)
                ))
            })?;
            let out = String::from_utf8(dec).map_err(|_| {
                call_err("the result of decoding the provided string is not valid UTF-8")
            })?;
            Ok(Value::String(out).mark(marks))
        })
        .build(),
    );
    fs.push(
        func("base64encode", vec![p("str", Type::String)])
            .ret(Type::String)
            .imp(|a| Ok(Value::String(b64(a.str(0).as_bytes()))))
            .build(),
    );
    fs.push(
        func("base64gzip", vec![p("str", Type::String)])
            .ret(Type::String)
            .imp(|a| {
                Ok(Value::String(b64(&crate::goflate::gzip(
                    a.str(0).as_bytes(),
                ))))
            })
            .build(),
    );
    fs.push(
        func("urlencode", vec![p("str", Type::String)])
            .ret(Type::String)
            .imp(|a| Ok(Value::String(query_escape(a.str(0)))))
            .build(),
    );
    fs.push(
        func("jsonencode", vec![p("val", Type::Dynamic).null().dynamic()])
            .ret(Type::String)
            .imp(|a| {
                let v = &a.vals[0];
                if !v.is_wholly_known() {
                    return Ok(Value::unknown(Type::String));
                }
                go_json(v).map(Value::String).map_err(call_err)
            })
            .build(),
    );
    fs.push(
        func("jsondecode", vec![p("str", Type::String)])
            .ret_fn(|args| {
                if !args[0].is_known() {
                    return Ok(Type::Dynamic);
                }
                let j = crate::encoding::parse_go_json(args[0].as_str().unwrap_or(""))
                    .map_err(call_err)?;
                Ok(value::json::implied_type(&j))
            })
            .imp(|a| {
                let j = parse_go_json(a.str(0)).map_err(call_err)?;
                value::json::from_json(&j, &a.ret).map_err(|e| call_err(e.0))
            })
            .build(),
    );
    fs.push(
        func(
            "textencodebase64",
            vec![p("string", Type::String), p("encoding", Type::String)],
        )
        .ret(Type::String)
        .imp(|a| {
            let (enc, name) = encoding_for(a.str(1))?;
            // encoding_rs only decodes UTF-16 (its encoder writes UTF-8 for it).
            let utf16 = |be: bool| -> Vec<u8> {
                a.str(0)
                    .encode_utf16()
                    .flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() })
                    .collect()
            };
            let (bytes, bad) = match name.as_str() {
                "UTF-16LE" => (utf16(false), false),
                "UTF-16BE" => (utf16(true), false),
                _ => {
                    let (b, _, bad) = enc.encode(a.str(0));
                    (b.into_owned(), bad)
                }
            };
            if bad {
                return Err(arg_err(
                    0,
                    format!(
                        "the given string contains characters that cannot be represented in {name}"
                    ),
                ));
            }
            Ok(Value::String(b64(&bytes)))
        })
        .build(),
    );
    fs.push(
        func(
            "textdecodebase64",
            vec![p("source", Type::String), p("encoding", Type::String)],
        )
        .ret(Type::String)
        .imp(|a| {
            let (enc, name) = encoding_for(a.str(1))?;
            let bytes = go_b64_decode(a.str(0)).map_err(|off| {
                arg_err(
                    0,
                    format!("the given value has an invalid base64 symbol at offset {off}"),
                )
            })?;
            let (s, bad) = enc.decode_without_bom_handling(&bytes);
            if bad {
                return Err(arg_err(
                    0,
                    format!("the given string contains symbols that are not defined for {name}"),
                ));
            }
            Ok(Value::String(s.into_owned()))
        })
        .build(),
    );
    fs.push(
        func("csvdecode", vec![p("str", Type::String)])
            .ret_fn(crate::csv::csv_type)
            .imp(crate::csv::csv_impl)
            .build(),
    );
    crate::yaml::register(fs);
    crate::format::register(fs);
}

/// The text encoding for an IANA name or alias, and its canonical IANA name.
fn encoding_for(name: &str) -> R<(&'static encoding_rs::Encoding, String)> {
    let unsupported = || {
        arg_err(
            1,
            format!(
                "{} is not a supported IANA encoding name or alias in this Terraform version",
                value::ops::go_quote(name)
            ),
        )
    };
    let enc =
        encoding_rs::Encoding::for_label_no_replacement(name.as_bytes()).ok_or_else(unsupported)?;
    Ok((enc, enc.name().to_string()))
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A JSON string literal as Go's `encoding/json` writes it (HTML-safe).
pub(crate) fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Encodes a wholly known value as compact JSON exactly as cty's `json.Marshal` + Go's encoder.
pub(crate) fn go_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_json(v, &mut out)?;
    Ok(out)
}

fn write_json(v: &Value, out: &mut String) -> Result<(), String> {
    value::depth::guard(|| {
        match v.unmarked() {
            Value::Null(_) => out.push_str("null"),
            Value::Unknown(_) => return Err("value is not known".into()),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                if n.is_infinite() {
                    return Err("value must be a finite number".into());
                }
                out.push_str(&n.to_string())
            }
            Value::String(s) => go_json_string(s, out),
            Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
                out.push('[');
                for (i, e) in vs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json(e, out)?;
                }
                out.push(']');
            }
            Value::Map(_, m) | Value::Object(m) => {
                out.push('{');
                for (i, (k, e)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go_json_string(k, out);
                    out.push(':');
                    write_json(e, out)?;
                }
                out.push('}');
            }
            Value::Marked(..) => {}
        }
        Ok(())
    })
}

/// Parses JSON text as cty's `json.ImpliedType` + `Unmarshal` read it (Go's decoder), with Go's
/// error messages. Duplicate object keys are an error, as in cty.
pub(crate) fn parse_go_json(s: &str) -> Result<serde_json::Value, String> {
    let mut p = JsonParser {
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    if p.i >= p.b.len() {
        return Err("EOF".into());
    }
    let v = p.value()?;
    p.ws();
    if p.i < p.b.len() {
        return Err("extraneous data after JSON object".into());
    }
    Ok(v)
}

struct JsonParser<'a> {
    b: &'a [u8],
    i: usize,
    /// Arrays and objects open around the current position.
    depth: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn bad(&self, ctx: &str) -> String {
        match self.b.get(self.i) {
            None => "unexpected EOF".into(),
            Some(_) => {
                let s = std::str::from_utf8(&self.b[self.i..]).unwrap_or("");
                let c = s.chars().next().unwrap_or('\u{fffd}');
                let q = match c {
                    '\'' => "'\\''".to_string(),
                    '"' => "'\"'".to_string(),
                    c => {
                        let q = value::ops::go_quote(&c.to_string());
                        format!("'{}'", &q[1..q.len() - 1])
                    }
                };
                format!("invalid character {q} {ctx}")
            }
        }
    }
    fn value(&mut self) -> Result<serde_json::Value, String> {
        self.ws();
        if matches!(self.b.get(self.i), Some(b'{' | b'[')) {
            if self.depth >= value::depth::MAX_DEPTH {
                return Err(value::depth::too_deep_message("the JSON document"));
            }
            self.depth += 1;
            let v = value::depth::guard(|| self.scalar_or_nested());
            self.depth -= 1;
            return v;
        }
        self.scalar_or_nested()
    }

    fn scalar_or_nested(&mut self) -> Result<serde_json::Value, String> {
        use serde_json::Value as J;
        self.ws();
        // Go's decoder reports running out of input between tokens as plain "EOF".
        if self.i >= self.b.len() {
            return Err("EOF".into());
        }
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut m = serde_json::Map::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(J::Object(m));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.bad("looking for beginning of object key string"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(self.bad("after object key"));
                    }
                    self.i += 1;
                    let v = self.value()?;
                    if m.contains_key(&k) {
                        return Err(format!(
                            "duplicate {} property in JSON object",
                            value::ops::go_quote(&k)
                        ));
                    }
                    m.insert(k, v);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(J::Object(m));
                        }
                        _ => return Err(self.bad("after object key:value pair")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(J::Array(v));
                }
                loop {
                    v.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(J::Array(v));
                        }
                        _ => return Err(self.bad("after array element")),
                    }
                }
            }
            Some(b'"') => Ok(J::String(self.string()?)),
            Some(b't') => self.lit("true", J::Bool(true)),
            Some(b'f') => self.lit("false", J::Bool(false)),
            Some(b'n') => self.lit("null", J::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.bad("looking for beginning of value")),
        }
    }
    fn lit(&mut self, word: &str, v: serde_json::Value) -> Result<serde_json::Value, String> {
        for (k, w) in word.bytes().enumerate() {
            if self.b.get(self.i) != Some(&w) {
                return Err(self.bad(&format!(
                    "in literal {word} (expecting '{}')",
                    &word[k..k + 1]
                )));
            }
            self.i += 1;
        }
        Ok(v)
    }
    fn number(&mut self) -> Result<serde_json::Value, String> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while matches!(p.b.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i - s
        };
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.bad("in numeric literal")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.bad("after decimal point in numeric literal"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.bad("in exponent of numeric literal"));
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("0");
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err("unexpected EOF".into());
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return Err("unexpected EOF".into());
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.b.get(self.i) == Some(&b'\\')
                                && self.b.get(self.i + 1) == Some(&b'u')
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    let c = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                    out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                                    continue;
                                }
                                self.i = save;
                            }
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.bad("in string escape code"));
                        }
                    }
                }
                c if c < 0x20 => return Err(self.bad("in string literal")),
                _ => {
                    let s = std::str::from_utf8(&self.b[self.i..]).unwrap_or("");
                    let ch = s.chars().next().unwrap_or('\u{fffd}');
                    out.push(ch);
                    self.i += ch.len_utf8().max(1);
                }
            }
        }
    }
    fn hex4(&mut self) -> Result<u32, String> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(&c) = self.b.get(self.i) else {
                return Err("unexpected EOF".into());
            };
            let d = (c as char)
                .to_digit(16)
                .ok_or_else(|| self.bad("in \\u hexadecimal character escape"))?;
            v = v * 16 + d;
            self.i += 1;
        }
        Ok(v)
    }
}
