//! The few URL operations module installation needs, with Go's `net/url` results: resolving a
//! reference against a base (RFC 3986, as `URL.ResolveReference`) and splitting a URL.

/// `scheme://authority` of an absolute URL.
fn origin(base: &str) -> (&str, &str) {
    let (scheme, rest) = base.split_once("://").unwrap_or(("", base));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (scheme, &rest[..end])
}

fn path_of(base: &str) -> &str {
    let rest = base.split_once("://").map(|(_, r)| r).unwrap_or(base);
    let start = rest.find('/').unwrap_or(rest.len());
    let p = &rest[start..];
    let end = p.find(['?', '#']).unwrap_or(p.len());
    &p[..end]
}

fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) if i > 0 => s[..i].chars().enumerate().all(|(n, c)| {
            c.is_ascii_alphabetic() || (n > 0 && (c.is_ascii_digit() || "+-.".contains(c)))
        }),
        _ => false,
    }
}

/// RFC 3986 section 5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        let last = i == segs.len() - 1;
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if path.starts_with('/') && !joined.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Resolves `reference` against the absolute URL `base`.
pub fn resolve_reference(base: &str, reference: &str) -> String {
    if has_scheme(reference) {
        return reference.to_string();
    }
    let (scheme, authority) = origin(base);
    if let Some(rest) = reference.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    let (ref_path, ref_tail) = match reference.find(['?', '#']) {
        Some(i) => (&reference[..i], &reference[i..]),
        None => (reference, ""),
    };
    let path = if ref_path.is_empty() {
        let base_path = path_of(base).to_string();
        if ref_tail.is_empty() {
            // Same document: keep the base's query.
            let q = base
                .find('?')
                .map(|i| &base[i..])
                .unwrap_or("")
                .split('#')
                .next()
                .unwrap_or("");
            return format!("{scheme}://{authority}{base_path}{q}");
        }
        base_path
    } else if ref_path.starts_with('/') {
        remove_dot_segments(ref_path)
    } else {
        let bp = path_of(base);
        let dir = match bp.rfind('/') {
            Some(i) => &bp[..=i],
            None => "/",
        };
        remove_dot_segments(&format!("{dir}{ref_path}"))
    };
    format!("{scheme}://{authority}{path}{ref_tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_go() {
        let b = "https://reg.example.com:8443/v1/modules/";
        assert_eq!(
            resolve_reference(b, "acme/net/aws/versions"),
            "https://reg.example.com:8443/v1/modules/acme/net/aws/versions"
        );
        assert_eq!(
            resolve_reference("https://h/.well-known/terraform.json", "/api/modules/"),
            "https://h/api/modules/"
        );
        assert_eq!(
            resolve_reference("https://h/v1/modules/a/b/c/1.0.0/download", "./archive.tgz"),
            "https://h/v1/modules/a/b/c/1.0.0/archive.tgz"
        );
        assert_eq!(
            resolve_reference(
                "https://h/v1/modules/a/b/c/1.0.0/download",
                "../../x.zip?y=1"
            ),
            "https://h/v1/modules/a/b/x.zip?y=1"
        );
        assert_eq!(
            resolve_reference("https://h/a/b", "git::https://o/r.git"),
            "git::https://o/r.git"
        );
        assert_eq!(
            resolve_reference("https://h/a", "https://o/x"),
            "https://o/x"
        );
    }
}
