//! HCL's template whitespace rules, applied to the scanner's token sequence: `~` strip markers
//! and the flush heredoc (`<<-`) indentation.
//!
//! The rules are defined on tokens, not on text: in heredocs and bare templates the scanner
//! emits one literal token per line, a marker trims only the adjacent token, and `<<-` measures
//! indentation after the markers have trimmed. So a `~}` at the end of a line eats that line's
//! newline but not the blank lines after it, and a line whose newline was eaten no longer
//! starts the following line for indentation purposes.

use unicode_segmentation::UnicodeSegmentation;

/// One scanner token of a template, in source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// Literal text (escapes already processed), at most one line of a heredoc.
    Literal(String),
    /// An interpolation or a directive keyword sequence (`if`, `else`, `endif`, `for`, `endfor`).
    Marker {
        /// `${~` / `%{~`: trims trailing whitespace of the literal just before.
        strip_before: bool,
        /// `~}`: trims leading whitespace of the literal just after.
        strip_after: bool,
    },
}

/// Splits literal text into the scanner's per-line tokens (each keeps its newline).
pub fn split_lines(text: &str, out: &mut Vec<Token>) {
    out.extend(
        text.split_inclusive('\n')
            .map(|line| Token::Literal(line.to_string())),
    );
}

/// Applies the strip markers, then (for `<<-`) removes the common indentation of line-leading
/// literals.
pub fn apply(tokens: &mut [Token], flush: bool) {
    strip_markers(tokens);
    if flush {
        flush_indent(tokens);
    }
}

fn strip_markers(tokens: &mut [Token]) {
    let mut trim_next = false;
    for i in 0..tokens.len() {
        let trim_this = std::mem::take(&mut trim_next);
        match &mut tokens[i] {
            Token::Literal(text) => {
                if trim_this {
                    *text = text.trim_start().to_string();
                }
            }
            Token::Marker {
                strip_before,
                strip_after,
            } => {
                trim_next = *strip_after;
                if *strip_before && i > 0 {
                    if let Token::Literal(prev) = &mut tokens[i - 1] {
                        prev.truncate(prev.trim_end().len());
                    }
                }
            }
        }
    }
}

fn flush_indent(tokens: &mut [Token]) {
    let mut min = usize::MAX;
    let mut line_start = true;
    let mut adjust = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        if std::mem::take(&mut line_start) {
            if let Token::Literal(text) = tok {
                let rest = text.trim_start();
                // A whitespace-only line that ends with its newline is blank: it does not count.
                if !(rest.is_empty() && text.ends_with('\n')) {
                    let lead = &text[..text.len() - rest.len()];
                    min = min.min(lead.graphemes(true).count());
                    adjust.push(i);
                }
            } else {
                // A line that starts with an interpolation or directive has no indentation.
                min = 0;
            }
        }
        if let Token::Literal(text) = tok {
            line_start = text.ends_with('\n');
        }
    }
    if min == usize::MAX || min == 0 {
        return;
    }
    for i in adjust {
        if let Token::Literal(text) = &mut tokens[i] {
            let cut: usize = text.graphemes(true).take(min).map(str::len).sum();
            text.drain(..cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Token {
        Token::Literal(s.to_string())
    }

    fn mark(strip_before: bool, strip_after: bool) -> Token {
        Token::Marker {
            strip_before,
            strip_after,
        }
    }

    fn texts(tokens: &[Token]) -> Vec<&str> {
        tokens
            .iter()
            .filter_map(|t| match t {
                Token::Literal(s) => Some(s.as_str()),
                Token::Marker { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_closing_marker_trims_only_the_next_line_token() {
        let mut t = vec![mark(false, true)];
        split_lines("\n\n  foo\n", &mut t);
        apply(&mut t, false);
        assert_eq!(texts(&t), ["", "\n", "  foo\n"]);
    }

    #[test]
    fn an_opening_marker_trims_only_the_token_just_before() {
        let mut t = vec![lit("  a   "), mark(true, false), lit("x")];
        apply(&mut t, false);
        assert_eq!(texts(&t), ["  a", "x"]);
        // A marker right after another marker has no literal to trim.
        let mut t = vec![lit(" a "), mark(false, false), mark(true, false)];
        apply(&mut t, false);
        assert_eq!(texts(&t), [" a "]);
    }

    #[test]
    fn flush_measures_after_stripping() {
        // `<<-` with `%{~ for … ~}` lines: the trimmed newline means the body line does not
        // start a line, and the trimmed indentation before `%{~ endfor` is a zero-indent line.
        let mut t = vec![lit("    "), mark(true, true)];
        split_lines("\n    [", &mut t);
        t.push(mark(false, false));
        split_lines("]\n    ", &mut t);
        t.push(mark(true, true));
        split_lines("\n", &mut t);
        apply(&mut t, true);
        assert_eq!(texts(&t), ["", "", "    [", "]\n", "", ""]);
    }

    #[test]
    fn flush_removes_the_smallest_indentation_and_ignores_blank_lines() {
        let mut t = Vec::new();
        split_lines("    a\n\n      b\n  \n    c\n", &mut t);
        apply(&mut t, true);
        assert_eq!(texts(&t), ["a\n", "\n", "  b\n", "  \n", "c\n"]);
    }

    #[test]
    fn flush_with_a_line_starting_with_an_interpolation_keeps_indentation() {
        let mut t = Vec::new();
        split_lines("  a\n", &mut t);
        t.push(mark(false, false));
        split_lines("\n", &mut t);
        apply(&mut t, true);
        assert_eq!(texts(&t), ["  a\n", "\n"]);
    }
}
