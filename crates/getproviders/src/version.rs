//! Versions and version constraints in Terraform's syntax (`~> 5.0`, `>= 1.2, < 2.0`, `!= 1.1`).

use std::cmp::Ordering;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub parts: [u64; 3],
    pub pre: String,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_start_matches('v');
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => (c, p.to_string()),
            None => (s, String::new()),
        };
        let core = core.split('+').next()?;
        let mut parts = [0u64; 3];
        let nums: Vec<&str> = core.split('.').collect();
        if nums.is_empty() || nums.len() > 3 {
            return None;
        }
        for (i, n) in nums.iter().enumerate() {
            parts[i] = n.parse().ok()?;
        }
        Some(Version { parts, pre })
    }
}

impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        self.parts
            .cmp(&o.parts)
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&o.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.parts[0], self.parts[1], self.parts[2])?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Pessimistic,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct One {
    op: Op,
    v: Version,
    /// How many version segments were written (for `~>`).
    segments: usize,
}

/// A list of constraints that must all hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Constraints {
    all: Vec<One>,
    text: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid version constraint {0:?}")]
pub struct ConstraintError(pub String);

impl Constraints {
    pub fn parse(s: &str) -> Result<Constraints, ConstraintError> {
        let mut c = Constraints::default();
        c.add(s)?;
        Ok(c)
    }

    /// Adds more constraints (from another module's requirement).
    pub fn add(&mut self, s: &str) -> Result<(), ConstraintError> {
        for part in s.split(',') {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            let (op, rest) = [
                ("~>", Op::Pessimistic),
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("!=", Op::Ne),
                (">", Op::Gt),
                ("<", Op::Lt),
                ("=", Op::Eq),
            ]
            .into_iter()
            .find_map(|(t, op)| p.strip_prefix(t).map(|r| (op, r)))
            .unwrap_or((Op::Eq, p));
            let rest = rest.trim();
            let v = Version::parse(rest).ok_or_else(|| ConstraintError(s.to_string()))?;
            let segments = rest.split('-').next().unwrap_or("").split('.').count();
            let one = One { op, v, segments };
            if !self.all.contains(&one) {
                self.all.push(one);
                self.text.push(p.to_string());
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    pub fn allows(&self, v: &Version) -> bool {
        // Pre-releases match only an exact constraint naming them.
        if !v.pre.is_empty() && !self.all.iter().any(|c| c.op == Op::Eq && &c.v == v) {
            return false;
        }
        self.all.iter().all(|c| match c.op {
            Op::Eq => v == &c.v,
            Op::Ne => v != &c.v,
            Op::Gt => v > &c.v,
            Op::Ge => v >= &c.v,
            Op::Lt => v < &c.v,
            Op::Le => v <= &c.v,
            Op::Pessimistic => {
                if v < &c.v {
                    return false;
                }
                let fixed = c.segments.saturating_sub(1).max(1);
                v.parts[..fixed] == c.v.parts[..fixed]
            }
        })
    }
}

impl fmt::Display for Constraints {
    /// As Terraform writes them into the lock file: comma-separated, in order given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        Constraints::parse(c)
            .unwrap()
            .allows(&Version::parse(v).unwrap())
    }

    #[test]
    fn terraform_constraint_semantics() {
        assert!(ok("~> 5.0", "5.100.0"));
        assert!(!ok("~> 5.0", "6.0.0"));
        assert!(ok("~> 5.1.0", "5.1.9"));
        assert!(!ok("~> 5.1.0", "5.2.0"));
        assert!(ok(">= 1.2, < 2.0", "1.9.9"));
        assert!(!ok(">= 1.2, < 2.0", "2.0.0"));
        assert!(!ok("!= 1.1.0", "1.1.0"));
        assert!(ok("1.0.0", "1.0.0"));
        assert!(!ok(">= 1.0", "2.0.0-beta1"));
        assert!(Constraints::parse("~> banana").is_err());
    }
}
