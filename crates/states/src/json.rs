//! Byte-level JSON writing that reproduces Go's `json.MarshalIndent(v, "", "  ")` output, plus
//! the `RawJson` type that holds not-yet-decoded JSON (attributes, output values, types).
//!
//! Terraform writes state through Go's encoder, which escapes `<`, `>`, `&`, U+2028 and U+2029
//! even inside `json.RawMessage` values and re-indents raw values as part of the whole document.
//! Keeping raw values compact in memory and re-indenting on output is what makes
//! parse → write byte-identical for files Terraform wrote.

use std::fmt;

/// A JSON value kept as compact text, never decoded here: decoding needs the schema (engine's job).
///
/// Invariant: the text is valid JSON with no insignificant whitespace.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Parses and compacts arbitrary JSON text.
    pub fn from_json_str(text: &str) -> Result<RawJson, serde_json::Error> {
        let raw: &serde_json::value::RawValue = serde_json::from_str(text)?;
        Ok(RawJson::from_raw(raw))
    }

    /// Compacts already-validated JSON.
    pub(crate) fn from_raw(raw: &serde_json::value::RawValue) -> RawJson {
        RawJson(compact(raw.get()).into_boxed_str())
    }

    /// Builds from a `serde_json::Value` (compact serialization).
    pub fn from_value(value: &serde_json::Value) -> RawJson {
        // serde_json's compact output has no insignificant whitespace, so the invariant holds.
        RawJson(value.to_string().into_boxed_str())
    }

    /// JSON `null`.
    pub fn null() -> RawJson {
        RawJson("null".into())
    }

    /// The compact JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// Decodes into a generic JSON value (numbers keep their full precision).
    pub fn to_value(&self) -> serde_json::Value {
        // The invariant says the text is valid JSON; fall back to null rather than panic.
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }

    /// Whether this is JSON `null`.
    pub fn is_null(&self) -> bool {
        &*self.0 == "null"
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.0)
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Removes whitespace outside strings. Input must be valid JSON.
fn compact(text: &str) -> String {
    let bytes = text.as_bytes();
    // Fast path: terraform-written attribute blocks are indented, but small scalars are not.
    if !bytes
        .iter()
        .any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        return text.to_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\n' | b'\r' | b'\t' => i += 1,
            b'"' => {
                let end = string_end(bytes, i);
                out.extend_from_slice(&bytes[i..end]);
                i = end;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Only ASCII whitespace was removed, so UTF-8 validity is preserved.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Index one past the closing quote of the string starting at `start` (which is a `"`).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Output sink producing Go `MarshalIndent` (pretty) or Go `Marshal` (compact) formatting.
pub(crate) struct Writer {
    pub(crate) out: Vec<u8>,
    pretty: bool,
    depth: usize,
    /// Whether the current container has had an element written (decides the comma).
    first: Vec<bool>,
}

impl Writer {
    pub(crate) fn new(pretty: bool, capacity: usize) -> Writer {
        Writer {
            out: Vec::with_capacity(capacity),
            pretty,
            depth: 0,
            first: Vec::new(),
        }
    }

    fn newline(&mut self) {
        if self.pretty {
            self.out.push(b'\n');
            for _ in 0..self.depth {
                self.out.extend_from_slice(b"  ");
            }
        }
    }

    fn before_element(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if *first {
                *first = false;
            } else {
                self.out.push(b',');
            }
            self.newline();
        }
    }

    pub(crate) fn begin_object(&mut self) {
        self.out.push(b'{');
        self.depth += 1;
        self.first.push(true);
    }

    pub(crate) fn begin_array(&mut self) {
        self.out.push(b'[');
        self.depth += 1;
        self.first.push(true);
    }

    fn end(&mut self, close: u8) {
        self.depth -= 1;
        let empty = self.first.pop().unwrap_or(true);
        if !empty {
            self.newline();
        }
        self.out.push(close);
    }

    pub(crate) fn end_object(&mut self) {
        self.end(b'}');
    }

    pub(crate) fn end_array(&mut self) {
        self.end(b']');
    }

    /// Starts an object member; the value must be written next.
    pub(crate) fn key(&mut self, key: &str) {
        self.before_element();
        write_go_string(&mut self.out, key);
        self.out.push(b':');
        if self.pretty {
            self.out.push(b' ');
        }
    }

    /// Starts an array element (only needed before a scalar or raw element).
    pub(crate) fn element(&mut self) {
        self.before_element();
    }

    pub(crate) fn string(&mut self, s: &str) {
        write_go_string(&mut self.out, s);
    }

    pub(crate) fn uint(&mut self, n: u64) {
        self.out.extend_from_slice(n.to_string().as_bytes());
    }

    pub(crate) fn int(&mut self, n: i64) {
        self.out.extend_from_slice(n.to_string().as_bytes());
    }

    pub(crate) fn bool(&mut self, b: bool) {
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
    }

    pub(crate) fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    /// Writes compact raw JSON re-indented at the current depth, escaping like Go does.
    pub(crate) fn raw(&mut self, raw: &RawJson) {
        let bytes = raw.get().as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'"' => {
                    let end = string_end(bytes, i);
                    escape_html_in_string(&mut self.out, &bytes[i..end]);
                    i = end;
                    continue;
                }
                b'{' | b'[' => {
                    let close = if b == b'{' { b'}' } else { b']' };
                    if bytes.get(i + 1) == Some(&close) {
                        self.out.push(b);
                        self.out.push(close);
                        i += 2;
                        continue;
                    }
                    self.out.push(b);
                    self.depth += 1;
                    self.newline();
                }
                b'}' | b']' => {
                    self.depth -= 1;
                    self.newline();
                    self.out.push(b);
                }
                b',' => {
                    self.out.push(b',');
                    self.newline();
                }
                b':' => {
                    self.out.push(b':');
                    if self.pretty {
                        self.out.push(b' ');
                    }
                }
                _ => self.out.push(b),
            }
            i += 1;
        }
    }
}

/// Copies a JSON string token, escaping the characters Go's encoder escapes even in raw values.
fn escape_html_in_string(out: &mut Vec<u8>, token: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < token.len() {
        let b = token[i];
        let esc: Option<&[u8]> = match b {
            b'<' => Some(b"\\u003c"),
            b'>' => Some(b"\\u003e"),
            b'&' => Some(b"\\u0026"),
            0xE2 if token.get(i + 1) == Some(&0x80)
                && matches!(token.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                Some(if token[i + 2] == 0xA8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                })
            }
            _ => None,
        };
        if let Some(esc) = esc {
            out.extend_from_slice(&token[start..i]);
            out.extend_from_slice(esc);
            i += if b == 0xE2 { 3 } else { 1 };
            start = i;
        } else {
            i += 1;
        }
    }
    out.extend_from_slice(&token[start..]);
}

/// Writes `s` as a JSON string exactly as Go's `encoding/json` does (HTML-safe escaping).
pub(crate) fn write_go_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let short: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'<' => Some(b"\\u003c"),
            b'>' => Some(b"\\u003e"),
            b'&' => Some(b"\\u0026"),
            _ => None,
        };
        if let Some(short) = short {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(short);
            i += 1;
            start = i;
        } else if b < 0x20 {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
            i += 1;
            start = i;
        } else if b == 0xE2
            && bytes.get(i + 1) == Some(&0x80)
            && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9))
        {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(if bytes[i + 2] == 0xA8 {
                b"\\u2028"
            } else {
                b"\\u2029"
            });
            i += 3;
            start = i;
        } else {
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty(raw: &str) -> String {
        let mut w = Writer::new(true, 0);
        w.raw(&RawJson::from_json_str(raw).unwrap());
        String::from_utf8(w.out).unwrap()
    }

    #[test]
    fn compacts_outside_strings_only() {
        let r = RawJson::from_json_str("{ \"a b\" : [ 1 , \"x y\" ] }").unwrap();
        assert_eq!(r.get(), "{\"a b\":[1,\"x y\"]}");
    }

    #[test]
    fn reindents_like_go() {
        assert_eq!(pretty("{\"a\":[],\"b\":{},\"c\":[1,{\"d\":null}]}"),
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": null\n    }\n  ]\n}");
        assert_eq!(pretty("\"x\""), "\"x\"");
    }

    #[test]
    fn escapes_html_in_raw_and_plain_strings() {
        assert_eq!(
            pretty("\"<a&b>\u{2028}\\\"\""),
            "\"\\u003ca\\u0026b\\u003e\\u2028\\\"\""
        );
        let mut out = Vec::new();
        write_go_string(&mut out, "a\u{1}\u{8}\u{c}\n\"<é\u{2029}\u{7f}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\u0001\\b\\f\\n\\\"\\u003cé\\u2029\u{7f}\""
        );
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|i| serde_json::json!(i)),
            "[a-zA-Z0-9 _\\-\"\\\\\n\t\u{e9}\u{1F600}]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                proptest::collection::vec(("[a-z]{0,6}", inner), 0..5)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Without HTML-sensitive characters, Go's MarshalIndent equals serde_json's pretty printer,
        /// so the re-indenter must agree with it, and compacting the pretty text must give back
        /// the compact form.
        #[test]
        fn reindent_matches_a_pretty_printer(v in arb_json()) {
            let raw = RawJson::from_value(&v);
            let mut w = Writer::new(true, 0);
            w.raw(&raw);
            let pretty = String::from_utf8(w.out).unwrap();
            proptest::prop_assert_eq!(&pretty, &serde_json::to_string_pretty(&v).unwrap());
            proptest::prop_assert_eq!(RawJson::from_json_str(&pretty).unwrap(), raw);
        }
    }
}
