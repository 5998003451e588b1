//! `weir fmt`: Terraform's canonical layout of native-syntax files.
//!
//! Like `terraform fmt` (hclwrite underneath), formatting works on the token stream and changes
//! only the spaces between tokens: each line is split into a lead, an optional `= value` cell
//! and an optional trailing comment; leads are indented two spaces per open bracket, tokens
//! within a cell are spaced by a fixed set of rules, and the `=` and comment cells of
//! consecutive lines are aligned. On top of that come Terraform's own rewrites: an
//! interpolation-only string (`"${var.x}"`) becomes its expression, a legacy quoted variable
//! type (`"string"`) becomes a type keyword, and block labels are written as quoted strings.
//! Files that do not parse are left alone (the caller checks syntax first).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    OQuote,
    CQuote,
    OHeredoc,
    CHeredoc,
    Ident,
    Number,
    /// Literal text inside a quoted template (escapes included, as written).
    QuotedLit,
    /// A line of heredoc text, with its newline.
    StringLit,
    /// `${` or `${~`
    Interp,
    /// `%{` or `%{~`
    Control,
    /// The `}` or `~}` closing an interpolation or directive.
    SeqEnd,
    /// A comment; `#` and `//` comments include their newline.
    Comment,
    Newline,
    Equal,
    Comma,
    Dot,
    Ellipsis,
    Colon,
    DoubleColon,
    Question,
    Bang,
    Minus,
    Plus,
    Star,
    Slash,
    Percent,
    /// `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`, `=>`
    Op,
    Other,
    /// The end of the file, carrying the spaces before it (kept as written).
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    text: String,
    spaces: usize,
}

impl Token {
    fn new(kind: Kind, text: impl Into<String>) -> Token {
        Token {
            kind,
            text: text.into(),
            spaces: 0,
        }
    }
}

/// Where the lexer is: plain expressions, a quoted template, or a heredoc template.
enum Mode {
    /// Normal tokens; inside an interpolation, the count of open braces of its own.
    Expr {
        interp_braces: Option<usize>,
    },
    Quoted,
    Heredoc {
        marker: String,
    },
}

/// Inside `${ … }` or `%{ … }`: expressions, until the `}` that closes the sequence.
const INTERP: Mode = Mode::Expr {
    interp_braces: Some(0),
};

/// Splits native-syntax source into tokens, keeping every byte except the spaces and tabs
/// between tokens (which formatting recomputes).
fn lex(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut modes: Vec<Mode> = vec![Mode::Expr {
        interp_braces: None,
    }];
    let mut i = 0;
    let mut spaces = 0;
    let push = |out: &mut Vec<Token>, kind: Kind, text: &str, spaces: &mut usize| {
        let mut t = Token::new(kind, text);
        t.spaces = std::mem::take(spaces);
        out.push(t);
    };
    while i < b.len() {
        let rest = &src[i..];
        match modes.last_mut().expect("lexer mode") {
            Mode::Quoted => {
                if rest.starts_with('"') {
                    push(&mut out, Kind::CQuote, "\"", &mut spaces);
                    modes.pop();
                    i += 1;
                } else if let Some(n) = template_open(rest) {
                    push(&mut out, template_kind(rest), &rest[..n], &mut spaces);
                    modes.push(INTERP);
                    i += n;
                } else {
                    let n = literal_len(rest, true);
                    push(&mut out, Kind::QuotedLit, &rest[..n.max(1)], &mut spaces);
                    i += n.max(1);
                }
            }
            Mode::Heredoc { marker } => {
                let line_end = rest.find('\n').map_or(rest.len(), |p| p + 1);
                let line = &rest[..line_end];
                if line.trim() == marker.as_str() {
                    let text = line.trim_end_matches(['\r', '\n']);
                    push(&mut out, Kind::CHeredoc, text, &mut spaces);
                    modes.pop();
                    i += text.len();
                } else if let Some(n) = template_open(rest) {
                    push(&mut out, template_kind(rest), &rest[..n], &mut spaces);
                    modes.push(INTERP);
                    i += n;
                } else {
                    let n = literal_len(&rest[..line_end], false);
                    push(&mut out, Kind::StringLit, &rest[..n.max(1)], &mut spaces);
                    i += n.max(1);
                }
            }
            Mode::Expr { interp_braces } => {
                let c = b[i];
                let two = rest.get(..2).unwrap_or("");
                let (kind, n) = match c {
                    b' ' | b'\t' => {
                        spaces += 1;
                        i += 1;
                        continue;
                    }
                    b'\r' if rest.starts_with("\r\n") => (Kind::Newline, 2),
                    b'\n' => (Kind::Newline, 1),
                    b'#' => (Kind::Comment, rest.find('\n').map_or(rest.len(), |p| p + 1)),
                    b'/' if two == "//" => {
                        (Kind::Comment, rest.find('\n').map_or(rest.len(), |p| p + 1))
                    }
                    b'/' if two == "/*" => {
                        (Kind::Comment, rest.find("*/").map_or(rest.len(), |p| p + 2))
                    }
                    b'"' => {
                        push(&mut out, Kind::OQuote, "\"", &mut spaces);
                        modes.push(Mode::Quoted);
                        i += 1;
                        continue;
                    }
                    b'<' if two == "<<" => match heredoc_open(rest) {
                        Some((n, marker)) => {
                            push(&mut out, Kind::OHeredoc, &rest[..n], &mut spaces);
                            modes.push(Mode::Heredoc { marker });
                            i += n;
                            continue;
                        }
                        None => (Kind::Op, 1),
                    },
                    b'{' => {
                        if let Some(d) = interp_braces {
                            *d += 1;
                        }
                        (Kind::OBrace, 1)
                    }
                    b'}' => match interp_braces {
                        Some(0) => {
                            push(&mut out, Kind::SeqEnd, "}", &mut spaces);
                            modes.pop();
                            i += 1;
                            continue;
                        }
                        Some(d) => {
                            *d -= 1;
                            (Kind::CBrace, 1)
                        }
                        None => (Kind::CBrace, 1),
                    },
                    b'~' if two == "~}" && *interp_braces == Some(0) => {
                        push(&mut out, Kind::SeqEnd, "~}", &mut spaces);
                        modes.pop();
                        i += 2;
                        continue;
                    }
                    b'[' => (Kind::OBrack, 1),
                    b']' => (Kind::CBrack, 1),
                    b'(' => (Kind::OParen, 1),
                    b')' => (Kind::CParen, 1),
                    b',' => (Kind::Comma, 1),
                    b'.' if rest.starts_with("...") => (Kind::Ellipsis, 3),
                    b'.' => (Kind::Dot, 1),
                    b':' if two == "::" => (Kind::DoubleColon, 2),
                    b':' => (Kind::Colon, 1),
                    b'?' => (Kind::Question, 1),
                    b'=' if two == "==" || two == "=>" => (Kind::Op, 2),
                    b'=' => (Kind::Equal, 1),
                    b'!' if two == "!=" => (Kind::Op, 2),
                    b'!' => (Kind::Bang, 1),
                    b'<' | b'>' if rest.get(1..2) == Some("=") => (Kind::Op, 2),
                    b'<' | b'>' => (Kind::Op, 1),
                    b'&' if two == "&&" => (Kind::Op, 2),
                    b'|' if two == "||" => (Kind::Op, 2),
                    b'-' => (Kind::Minus, 1),
                    b'+' => (Kind::Plus, 1),
                    b'*' => (Kind::Star, 1),
                    b'/' => (Kind::Slash, 1),
                    b'%' => (Kind::Percent, 1),
                    b'0'..=b'9' => (Kind::Number, number_len(rest)),
                    _ if is_ident_start(rest) => (Kind::Ident, ident_len(rest)),
                    _ => (Kind::Other, rest.chars().next().map_or(1, char::len_utf8)),
                };
                push(&mut out, kind, &rest[..n], &mut spaces);
                i += n;
            }
        }
    }
    push(&mut out, Kind::Eof, "", &mut spaces);
    out
}

/// An interpolation (`${`) or a directive (`%{`).
fn template_kind(s: &str) -> Kind {
    if s.starts_with('$') {
        Kind::Interp
    } else {
        Kind::Control
    }
}

/// `${`, `${~`, `%{` or `%{~` at the start of template text (`$${` and `%%{` are escapes).
fn template_open(s: &str) -> Option<usize> {
    if s.starts_with("${") || s.starts_with("%{") {
        Some(if s[2..].starts_with('~') { 3 } else { 2 })
    } else {
        None
    }
}

/// The length of literal template text before the next template sequence (or quote).
fn literal_len(s: &str, quoted: bool) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 2,
            b'"' if quoted => return i,
            b'$' | b'%' if s[i..].starts_with("$${") || s[i..].starts_with("%%{") => i += 3,
            b'$' | b'%' if s[i + 1..].starts_with('{') => return i,
            _ => i += 1,
        }
    }
    i.min(b.len())
}

/// `<<EOT\n` or `<<-EOT\n`: the opener's length (newline included) and the marker.
fn heredoc_open(s: &str) -> Option<(usize, String)> {
    let body = s.strip_prefix("<<")?;
    let (dash, body) = match body.strip_prefix('-') {
        Some(b) => (1, b),
        None => (0, body),
    };
    if !is_ident_start(body) {
        return None;
    }
    let n = ident_len(body);
    let after = &body[n..];
    let nl = if after.starts_with("\r\n") {
        2
    } else if after.starts_with('\n') {
        1
    } else {
        return None;
    };
    Some((2 + dash + n + nl, body[..n].to_string()))
}

fn is_ident_start(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn ident_len(s: &str) -> usize {
    s.char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .map_or(s.len(), |(i, _)| i)
}

fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

fn bracket_change(t: &Token) -> i32 {
    match t.kind {
        Kind::OBrace | Kind::OBrack | Kind::OParen | Kind::Interp | Kind::Control => 1,
        Kind::CBrace | Kind::CBrack | Kind::CParen | Kind::SeqEnd => -1,
        _ => 0,
    }
}

fn is_newline(t: &Token) -> bool {
    t.kind == Kind::Newline || (t.kind == Kind::Comment && t.text.ends_with('\n'))
}

/// One line's cells, as token index ranges: lead, then `= value`, then a trailing comment.
struct Line {
    lead: std::ops::Range<usize>,
    assign: Option<std::ops::Range<usize>>,
    comment: Option<std::ops::Range<usize>>,
}

fn lines(tokens: &[Token]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut start = 0;
    // The end-of-file token belongs to no line.
    let end = tokens.len() - usize::from(tokens.last().is_some_and(|t| t.kind == Kind::Eof));
    for (i, t) in tokens[..end].iter().enumerate() {
        if is_newline(t) {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < end {
        out.push(start..end);
    }
    out.into_iter()
        .map(|r| {
            let mut lead = r.clone();
            let mut comment = None;
            if lead.len() > 1 && tokens[lead.end - 1].kind == Kind::Comment {
                comment = Some(lead.end - 1..lead.end);
                lead.end -= 1;
            }
            let mut assign = None;
            if let Some(eq) = (lead.start + 1..lead.end).find(|&i| tokens[i].kind == Kind::Equal) {
                let net: i32 = tokens[eq..lead.end].iter().map(bracket_change).sum();
                if net == 0 {
                    assign = Some(eq..lead.end);
                    lead.end = eq;
                }
            }
            Line {
                lead,
                assign,
                comment,
            }
        })
        .collect()
}

fn format_indent(tokens: &mut [Token], lines: &[Line]) {
    let mut indents: Vec<i32> = Vec::new();
    for line in lines {
        if line.lead.is_empty() {
            continue;
        }
        let first = line.lead.start;
        if tokens[first].kind == Kind::Newline {
            tokens[first].spaces = 0;
            continue;
        }
        let mut net = 0;
        for t in &tokens[line.lead.clone()] {
            net += bracket_change(t);
            if t.kind == Kind::OHeredoc {
                break;
            }
        }
        if let Some(a) = &line.assign {
            net += tokens[a.clone()].iter().map(bracket_change).sum::<i32>();
        }
        if net > 0 {
            tokens[first].spaces = 2 * indents.len();
            indents.push(net);
        } else {
            let mut closed = -net;
            while closed > 0 {
                let Some(top) = indents.last_mut() else { break };
                if closed >= *top {
                    closed -= *top;
                    indents.pop();
                } else {
                    *top -= closed;
                    closed = 0;
                }
            }
            tokens[first].spaces = 2 * indents.len();
        }
    }
}

fn space_after(subject: &Token, before: Option<&Token>, after: &Token) -> bool {
    use Kind::*;
    let (s, a) = (subject.kind, after.kind);
    if a == Newline {
        return false;
    }
    if s == Ident && a == OParen {
        return false;
    }
    if (s == Ident && a == DoubleColon) || (s == DoubleColon && a == Ident) {
        return false;
    }
    if s == Dot || a == Dot {
        return false;
    }
    if a == Comma || a == Ellipsis {
        return false;
    }
    if s == Comma {
        return true;
    }
    if matches!(s, QuotedLit | StringLit | OQuote | OHeredoc)
        || matches!(a, QuotedLit | StringLit | CQuote | CHeredoc)
    {
        return false;
    }
    if s == Ident && subject.text == "in" && before.is_some_and(|b| b.kind == Ident) {
        return true;
    }
    if a == OBrack && (s == Ident || s == Number || bracket_change(subject) < 0) {
        return false;
    }
    if s == Bang {
        return false;
    }
    if s == Minus {
        let Some(b) = before else { return false };
        return !(matches!(
            b.kind,
            OParen
                | OBrace
                | OBrack
                | Equal
                | Colon
                | Comma
                | Question
                | Plus
                | Star
                | Slash
                | Percent
                | Minus
                | Bang
        ) || (b.kind == Op && b.text != "=>"));
    }
    if s == OBrace || a == CBrace {
        return !(s == OBrace && a == CBrace);
    }
    if matches!(s, Interp | Control) && a == OBrace {
        return true;
    }
    if s == CBrace && a == SeqEnd {
        return true;
    }
    if s == SeqEnd && matches!(a, Interp | Control) {
        return false;
    }
    if bracket_change(subject) > 0 {
        return false;
    }
    if bracket_change(after) < 0 {
        return false;
    }
    true
}

fn format_spaces(tokens: &mut [Token], lines: &[Line]) {
    for line in lines {
        for cell in [Some(line.lead.clone()), line.assign.clone()]
            .into_iter()
            .flatten()
        {
            if cell.is_empty() {
                continue;
            }
            if Some(&cell) == line.assign.as_ref() {
                tokens[cell.start].spaces = 1;
            }
            for i in cell.start..cell.end - 1 {
                let before = (i > cell.start).then(|| tokens[i - 1].clone());
                let sp = space_after(&tokens[i], before.as_ref(), &tokens[i + 1]);
                tokens[i + 1].spaces = usize::from(sp);
            }
        }
    }
}

/// The display width of a cell: its tokens and the spaces before them.
fn columns(tokens: &[Token], r: &std::ops::Range<usize>) -> usize {
    tokens[r.clone()]
        .iter()
        .map(|t| t.spaces + t.text.chars().count())
        .sum()
}

fn format_cells(tokens: &mut [Token], lines: &[Line]) {
    // Aligns the first token of a cell over a run of consecutive lines that have it.
    fn align(
        tokens: &mut [Token],
        lines: &[Line],
        cell: impl Fn(&Line) -> Option<std::ops::Range<usize>>,
        width: impl Fn(&[Token], &Line) -> usize,
    ) {
        let mut i = 0;
        while i < lines.len() {
            if cell(&lines[i]).is_none() {
                i += 1;
                continue;
            }
            let start = i;
            while i < lines.len() && cell(&lines[i]).is_some() {
                i += 1;
            }
            let max = lines[start..i]
                .iter()
                .map(|l| width(tokens, l))
                .max()
                .unwrap_or(0);
            for l in &lines[start..i] {
                let w = width(tokens, l);
                let c = cell(l).expect("in chain");
                tokens[c.start].spaces = max - w + 1;
            }
        }
    }
    align(
        tokens,
        lines,
        |l| l.assign.clone(),
        |t, l| columns(t, &l.lead),
    );
    align(
        tokens,
        lines,
        |l| l.comment.clone(),
        |t, l| columns(t, &l.lead) + l.assign.as_ref().map_or(0, |a| columns(t, a)),
    );
}

/// Terraform's own rewrites, on the token stream: interpolation-only values unwrapped, legacy
/// quoted variable types turned into keywords, block labels quoted.
fn rewrite(tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    // Block types enclosing the current body; `None` for braces that are not block bodies.
    let mut blocks: Vec<Option<String>> = Vec::new();
    let mut i = 0;
    let at_line_start = |out: &Vec<Token>| out.last().is_none_or(is_newline);
    while i < tokens.len() {
        let t = &tokens[i];
        let in_body = blocks.iter().all(Option::is_some);
        if in_body && t.kind == Kind::Ident && at_line_start(&out) {
            // An attribute: `name = value` up to the newline at bracket depth zero.
            if tokens.get(i + 1).is_some_and(|n| n.kind == Kind::Equal) {
                let mut end = i + 2;
                let mut depth = 0;
                let mut in_heredoc = false;
                while end < tokens.len() {
                    let k = &tokens[end];
                    match k.kind {
                        Kind::OHeredoc => in_heredoc = true,
                        Kind::CHeredoc => in_heredoc = false,
                        _ => {}
                    }
                    depth += bracket_change(k);
                    if depth <= 0 && !in_heredoc && (is_newline(k) || k.kind == Kind::Comment) {
                        break;
                    }
                    end += 1;
                }
                out.push(t.clone());
                out.push(tokens[i + 1].clone());
                let value = &tokens[i + 2..end];
                let in_variable = blocks.len() == 1 && blocks[0].as_deref() == Some("variable");
                let value = if in_variable && t.text == "type" {
                    type_expr(value)
                } else {
                    value_expr(value)
                };
                out.extend(value);
                i = end;
                continue;
            }
            // A block header: type, labels, `{`.
            let mut j = i + 1;
            let mut labels = Vec::new();
            loop {
                match tokens.get(j).map(|t| t.kind) {
                    Some(Kind::Ident) => {
                        labels.push(tokens[j].text.clone());
                        j += 1;
                    }
                    Some(Kind::OQuote)
                        if tokens.get(j + 1).map(|t| t.kind) == Some(Kind::QuotedLit)
                            && tokens.get(j + 2).map(|t| t.kind) == Some(Kind::CQuote) =>
                    {
                        labels.push(format!("\u{0}{}", tokens[j + 1].text));
                        j += 3;
                    }
                    Some(Kind::OQuote)
                        if tokens.get(j + 1).map(|t| t.kind) == Some(Kind::CQuote) =>
                    {
                        labels.push("\u{0}".to_string());
                        j += 2;
                    }
                    _ => break,
                }
            }
            if tokens.get(j).map(|t| t.kind) == Some(Kind::OBrace) {
                out.push(t.clone());
                for l in labels {
                    // Quoted labels keep their text as written; bare ones get quotes.
                    let text = l.strip_prefix('\u{0}').unwrap_or(&l).to_string();
                    out.push(Token::new(Kind::OQuote, "\""));
                    if !text.is_empty() {
                        out.push(Token::new(Kind::QuotedLit, text));
                    }
                    out.push(Token::new(Kind::CQuote, "\""));
                }
                out.push(tokens[j].clone());
                blocks.push(Some(t.text.clone()));
                i = j + 1;
                continue;
            }
        }
        match t.kind {
            Kind::OBrace => blocks.push(None),
            Kind::CBrace => {
                blocks.pop();
            }
            _ => {}
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

/// `"${expr}"` → `expr` (wrapped in parentheses when it spans lines).
fn value_expr(tokens: &[Token]) -> Vec<Token> {
    let n = tokens.len();
    let shape = n >= 5
        && tokens[0].kind == Kind::OQuote
        && tokens[1].kind == Kind::Interp
        && tokens[1].text == "${"
        && tokens[n - 2].kind == Kind::SeqEnd
        && tokens[n - 2].text == "}"
        && tokens[n - 1].kind == Kind::CQuote;
    if !shape {
        return tokens.to_vec();
    }
    let inside = &tokens[2..n - 2];
    let mut quotes = 0;
    for t in inside {
        match t.kind {
            Kind::OQuote => quotes += 1,
            Kind::CQuote => quotes -= 1,
            _ if quotes > 0 => {}
            Kind::Interp | Kind::SeqEnd | Kind::QuotedLit | Kind::Control => {
                return tokens.to_vec()
            }
            _ => {}
        }
    }
    let s = inside
        .iter()
        .position(|t| t.kind != Kind::Newline)
        .unwrap_or(inside.len());
    let e = inside
        .iter()
        .rposition(|t| t.kind != Kind::Newline)
        .map_or(s, |p| p + 1);
    let trimmed = &inside[s..e.max(s)];
    let multi = trimmed.iter().any(|t| t.kind == Kind::Newline);
    let parens = trimmed.first().is_some_and(|t| t.kind == Kind::OParen)
        && trimmed.last().is_some_and(|t| t.kind == Kind::CParen);
    if multi && !parens {
        let mut v = vec![Token::new(Kind::OParen, "(")];
        v.extend_from_slice(trimmed);
        v.push(Token::new(Kind::CParen, ")"));
        return v;
    }
    trimmed.to_vec()
}

/// A variable's `type`: bare `list`/`map`/`set` get `(any)`; pre-0.12 quoted types become
/// keywords (`"list"` meant a list of strings then).
fn type_expr(tokens: &[Token]) -> Vec<Token> {
    let kw = |s: &str| Token::new(Kind::Ident, s);
    let call = |name: &str, arg: &str| {
        vec![
            kw(name),
            Token::new(Kind::OParen, "("),
            kw(arg),
            Token::new(Kind::CParen, ")"),
        ]
    };
    match tokens {
        [t] if t.kind == Kind::Ident && matches!(t.text.as_str(), "list" | "map" | "set") => {
            call(&t.text, "any")
        }
        [o, s, c]
            if o.kind == Kind::OQuote && s.kind == Kind::QuotedLit && c.kind == Kind::CQuote =>
        {
            match s.text.as_str() {
                "string" => vec![kw("string")],
                "list" => call("list", "string"),
                "map" => call("map", "string"),
                _ => tokens.to_vec(),
            }
        }
        _ => tokens.to_vec(),
    }
}

/// Formats one file's source as `terraform fmt` does. The source must parse.
pub fn format_source(src: &str) -> String {
    let mut tokens = rewrite(lex(src));
    let lines = lines(&tokens);
    format_indent(&mut tokens, &lines);
    format_spaces(&mut tokens, &lines);
    format_cells(&mut tokens, &lines);
    let mut out = String::with_capacity(src.len());
    for t in &tokens {
        // Spaces never precede a line break (or end a line before a comment's newline).
        if t.kind != Kind::Newline {
            out.extend(std::iter::repeat_n(' ', t.spaces));
        }
        out.push_str(&t.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format_source;

    fn check(input: &str, want: &str) {
        assert_eq!(format_source(input), want, "input:\n{input}");
    }

    #[test]
    fn aligns_and_indents() {
        check(
            "resource aws_s3_bucket b {\nbucket=\"x\"\n    force_destroy   = true\ntags = {\nName = \"n\" # the name\nteam=\"t\"\n}\n}\n",
            "resource \"aws_s3_bucket\" \"b\" {\n  bucket        = \"x\"\n  force_destroy = true\n  tags = {\n    Name = \"n\" # the name\n    team = \"t\"\n  }\n}\n",
        );
    }

    #[test]
    fn unwraps_interpolation_only_strings_and_legacy_types() {
        check(
            "variable \"a\" {\n  type = \"string\"\n}\nvariable \"b\" {\n  type = list\n}\noutput \"o\" {\n  value = \"${var.a}\"\n}\n",
            "variable \"a\" {\n  type = string\n}\nvariable \"b\" {\n  type = list(any)\n}\noutput \"o\" {\n  value = var.a\n}\n",
        );
        // Not only an interpolation: kept.
        check("x = \"a-${var.a}\"\n", "x = \"a-${var.a}\"\n");
    }

    #[test]
    fn spaces_operators_calls_and_heredocs() {
        check(
            "x = [ 1,2 , 3 ]\ny = foo( 1 , -2 )\nz = a*-b\nh = <<-EOT\n    keep   this\n  EOT\n",
            "x = [1, 2, 3]\ny = foo(1, -2)\nz = a * -b\nh = <<-EOT\n    keep   this\n  EOT\n",
        );
    }
}
