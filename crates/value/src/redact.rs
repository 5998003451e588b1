//! Keeping sensitive values out of messages: errors that quote a value (a path that does not
//! exist, a string that is not a number) must say "(sensitive value)" instead, as Terraform does.

use crate::value::Value;

/// What Terraform prints in place of a sensitive value.
pub const SENSITIVE: &str = "(sensitive value)";

/// The texts that sensitive parts of `values` would show in a message: their strings, numbers,
/// bools and map keys. Walked without recursion, so any depth is fine.
pub fn sensitive_texts<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<(&Value, bool)> = values.into_iter().map(|v| (v, false)).collect();
    while let Some((v, secret)) = stack.pop() {
        match v {
            Value::Marked(inner, m) => stack.push((inner, secret || m.is_sensitive())),
            Value::String(s) if secret => out.push(s.clone()),
            Value::Number(n) if secret => out.push(n.to_string()),
            Value::Bool(b) if secret => out.push(b.to_string()),
            Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => {
                stack.extend(es.iter().map(|e| (e, secret)))
            }
            Value::Map(_, m) | Value::Object(m) => {
                if secret {
                    out.extend(m.keys().cloned());
                }
                stack.extend(m.values().map(|e| (e, secret)));
            }
            _ => {}
        }
    }
    out.retain(|s| !s.is_empty());
    // Longer texts first, so a secret that contains another is replaced whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `msg` with every quoted or bare occurrence of a secret replaced by "(sensitive value)". A bare
/// occurrence counts only as a whole word, so a short secret does not eat into other words.
pub fn redact(msg: &str, secrets: &[String]) -> String {
    let mut out = msg.to_string();
    for s in secrets {
        for quoted in [crate::ops::go_quote(s), format!("{s:?}")] {
            if out.contains(&quoted) {
                out = out.replace(&quoted, SENSITIVE);
            }
        }
        out = replace_words(&out, s);
    }
    out
}

fn replace_words(text: &str, word: &str) -> String {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    // A secret that starts (ends) with punctuation has no word boundary to respect there.
    let (edge_before, edge_after) = (is_word(word.chars().next()), is_word(word.chars().last()));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        out.push_str(&rest[..i]);
        let before = out.chars().last();
        let after = rest[i + word.len()..].chars().next();
        if (edge_before && is_word(before)) || (edge_after && is_word(after)) {
            out.push_str(word);
        } else {
            out.push_str(SENSITIVE);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Marks;

    fn secret(v: Value) -> Value {
        v.mark(Marks::SENSITIVE)
    }

    #[test]
    fn texts_of_sensitive_parts_only() {
        let v = Value::object([
            ("open".to_string(), Value::string("visible")),
            (
                "closed".to_string(),
                secret(Value::object([("k".to_string(), Value::number(42))])),
            ),
        ]);
        assert_eq!(
            sensitive_texts([&v]),
            vec!["42".to_string(), "k".to_string()]
        );
    }

    #[test]
    fn quoted_and_whole_word_occurrences_are_replaced() {
        let secrets = sensitive_texts([&secret(Value::string("hunter2"))]);
        assert_eq!(
            redact(
                "no file exists at \"hunter2\"; hunter2 and hunter22",
                &secrets
            ),
            "no file exists at (sensitive value); (sensitive value) and hunter22"
        );
    }

    #[test]
    fn short_secrets_do_not_eat_words() {
        let secrets = sensitive_texts([&secret(Value::string("a"))]);
        assert_eq!(
            redact("cannot parse a value", &secrets),
            "cannot parse (sensitive value) value"
        );
        assert_eq!(redact("parameter", &secrets), "parameter");
    }
}
