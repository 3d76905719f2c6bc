//! Three-valued truth: yes, no, or unknown because an input is unknown offline.
//!
//! Kleene logic: `No` wins an AND, `Yes` wins an OR, otherwise `Unknown` spreads. This is what
//! lets the auditor say "unknown" instead of guessing when, say, `aws:SourceIp` cannot be known.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Unknown,
        }
    }

    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Unknown,
        }
    }

    pub fn negate(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }

    pub fn is_yes(self) -> bool {
        self == Tri::Yes
    }

    pub fn is_no(self) -> bool {
        self == Tri::No
    }

    /// OR over an iterator, stopping at the first `Yes`.
    pub fn any<I: IntoIterator<Item = Tri>>(items: I) -> Tri {
        let mut acc = Tri::No;
        for t in items {
            acc = acc.or(t);
            if acc == Tri::Yes {
                break;
            }
        }
        acc
    }

    /// AND over an iterator, stopping at the first `No`.
    pub fn all<I: IntoIterator<Item = Tri>>(items: I) -> Tri {
        let mut acc = Tri::Yes;
        for t in items {
            acc = acc.and(t);
            if acc == Tri::No {
                break;
            }
        }
        acc
    }
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
}

#[cfg(test)]
mod tests {
    use super::Tri::{self, *};

    #[test]
    fn kleene_tables() {
        let all = [Yes, No, Unknown];
        for a in all {
            assert_eq!(a.and(No), No);
            assert_eq!(a.or(Yes), Yes);
            assert_eq!(a.negate().negate(), a);
        }
        assert_eq!(Yes.and(Unknown), Unknown);
        assert_eq!(No.or(Unknown), Unknown);
        assert_eq!(Tri::any([No, Unknown, No]), Unknown);
        assert_eq!(Tri::all([Yes, Unknown, No]), No);
        assert_eq!(Tri::any(std::iter::empty()), No);
        assert_eq!(Tri::all(std::iter::empty()), Yes);
    }
}
