//! Small helpers that several modules of the core share, each defined once here.
//!
//! Each is too small for a module of its own, and used by modules that should not import each
//! other: before this module, `path` imported `eval::condition` for a list helper and four modules
//! imported `policy::parse` for an account-id check. What is here is pure (no I/O, no runtime
//! dependency), so the core keeps building alone. Out of scope: anything with AWS semantics beyond
//! the shape of an identifier.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{self, Impossible};

/// Appends `item` unless the list already has it: assumptions and notes are sets kept in the
/// order they were first met, so that explanations read in evaluation order.
pub fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|s| s == item) {
        list.push(item.to_string());
    }
}

/// A 12-digit AWS account id (IAM: "Your AWS account ID and its alias").
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `f` applied to every item on every core (at most 8 threads), the results in the items'
/// order. Workers take the next item as they finish one, so uneven items (an access-map door
/// with ten times the cells of another) still keep every core busy.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let (next, f) = (&next, &f);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { return out };
                        out.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Condition keys that describe the caller, which AWS leaves out of an anonymous request
/// (`aws:PrincipalArn`, `aws:PrincipalOrgID`, ..., `aws:MultiFactorAuthPresent`,
/// `aws:TokenIssueTime`). `key` is lower-case, as the compiled policies keep it.
pub fn is_principal_key(key: &str) -> bool {
    key.starts_with("aws:principal") || key.starts_with("aws:multifactor") || key == "aws:tokenissuetime"
}

/// The name serde gives a unit variant of `value` (its `rename_all` applied): the one place a
/// report enum's wire name is written is its serde attribute, and `name()` and `Display` read it
/// from there. Empty for anything that is not a unit variant, which [`wire_names!`] never passes.
///
/// The alternative, a hand-written `match` next to `#[serde(rename_all)]`, is the copy this
/// replaces; the cost here is one call through serde's `Serializer` trait, which returns the
/// variant's `&'static str` without formatting or allocating.
pub fn wire_name<T: Serialize + ?Sized>(value: &T) -> &'static str {
    value.serialize(VariantName).unwrap_or_default()
}

/// The unit variant serde names `name`, if any: the inverse of [`wire_name`].
pub fn from_wire_name<T: DeserializeOwned>(name: &str) -> Option<T> {
    use serde::de::IntoDeserializer;
    let deserializer: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = name.into_deserializer();
    T::deserialize(deserializer).ok()
}

/// `name()` (the serde name, [`wire_name`]) and `Display` for unit-variant enums.
macro_rules! wire_names {
    ($($t:ty),* $(,)?) => {$(
        impl $t {
            /// The wire name: the serde name of the variant.
            pub fn name(self) -> &'static str {
                $crate::util::wire_name(&self)
            }
        }

        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    )*};
}
pub(crate) use wire_names;

/// What [`VariantName`] refuses: anything but a unit variant.
#[derive(Debug)]
struct NotAUnitVariant;

impl std::fmt::Display for NotAUnitVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a unit variant")
    }
}

impl std::error::Error for NotAUnitVariant {}

impl ser::Error for NotAUnitVariant {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotAUnitVariant
    }
}

/// A serializer that answers the name of a unit variant and refuses everything else.
struct VariantName;

/// The serializer methods [`VariantName`] refuses.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {$(
        fn $method(self, $(_: $arg),*) -> Result<&'static str, NotAUnitVariant> {
            Err(NotAUnitVariant)
        }
    )*};
}

impl ser::Serializer for VariantName {
    type Ok = &'static str;
    type Error = NotAUnitVariant;
    type SerializeSeq = Impossible<&'static str, NotAUnitVariant>;
    type SerializeTuple = Impossible<&'static str, NotAUnitVariant>;
    type SerializeTupleStruct = Impossible<&'static str, NotAUnitVariant>;
    type SerializeTupleVariant = Impossible<&'static str, NotAUnitVariant>;
    type SerializeMap = Impossible<&'static str, NotAUnitVariant>;
    type SerializeStruct = Impossible<&'static str, NotAUnitVariant>;
    type SerializeStructVariant = Impossible<&'static str, NotAUnitVariant>;

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<&'static str, Self::Error> {
        Ok(variant)
    }

    refuse! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64),
        serialize_f32(f32), serialize_f64(f64), serialize_char(char), serialize_str(&str),
        serialize_bytes(&[u8]), serialize_none(), serialize_unit(), serialize_unit_struct(&'static str),
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Self::Error> {
        Err(NotAUnitVariant)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(NotAUnitVariant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_the_order_of_uneven_items() {
        // Item 0 takes longest, so the other worker finishes the rest first.
        let items: Vec<u64> = (0..50).collect();
        let got = parallel_map(&items, |&i| {
            if i == 0 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            i * 2
        });
        assert_eq!(got, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(parallel_map(&[] as &[u64], |&i| i).is_empty());
        assert_eq!(parallel_map(&[7u64], |&i| i + 1), vec![8]);
    }

    #[test]
    fn push_unique_keeps_first_occurrence_order() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("into empty", &["a"], &["a"]),
            ("distinct items in order", &["b", "a"], &["b", "a"]),
            ("a repeat is dropped", &["a", "b", "a"], &["a", "b"]),
            ("only repeats", &["a", "a", "a"], &["a"]),
            ("case counts", &["a", "A"], &["a", "A"]),
        ];
        for (name, pushes, want) in cases {
            let mut list = Vec::new();
            for p in *pushes {
                push_unique(&mut list, p);
            }
            assert_eq!(list, *want, "{name}");
        }
    }

    #[test]
    fn account_ids() {
        let cases = [
            ("twelve digits", "111122223333", true),
            ("leading zeros", "000000000000", true),
            ("eleven digits", "11112222333", false),
            ("thirteen digits", "1111222233334", false),
            ("a letter", "11112222333a", false),
            ("empty", "", false),
            ("an ARN", "arn:aws:iam::111122223333:root", false),
            ("non-ASCII digits", "１１１１２２２２３３３３", false),
        ];
        for (name, s, want) in cases {
            assert_eq!(is_account_id(s), want, "{name}");
        }
    }

    #[test]
    fn principal_keys() {
        let cases = [
            ("principal arn", "aws:principalarn", true),
            ("principal org", "aws:principalorgid", true),
            ("principal tag", "aws:principaltag/team", true),
            ("mfa", "aws:multifactorauthpresent", true),
            ("token issue time", "aws:tokenissuetime", true),
            ("source vpce", "aws:sourcevpce", false),
            ("resource account", "aws:resourceaccount", false),
            ("a service key", "s3:prefix", false),
        ];
        for (name, key, want) in cases {
            assert_eq!(is_principal_key(key), want, "{name}");
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Sample {
        One,
        TwoWords,
        #[serde(rename = "third")]
        Three,
    }

    #[derive(Serialize)]
    enum NotUnit {
        Tuple(u8),
    }

    #[test]
    fn wire_names_come_from_serde() {
        let cases = [
            ("one word", Sample::One, "one"),
            ("rename_all applied", Sample::TwoWords, "two_words"),
            ("a rename wins", Sample::Three, "third"),
        ];
        for (name, value, want) in cases {
            assert_eq!(wire_name(&value), want, "{name}");
            assert_eq!(serde_json::to_value(value).unwrap(), want, "{name}: the JSON says the same");
            assert_eq!(from_wire_name::<Sample>(want), Some(value), "{name}: and reads back");
        }
        assert_eq!(from_wire_name::<Sample>("TwoWords"), None, "the Rust name is not a wire name");
        assert_eq!(wire_name(&NotUnit::Tuple(1)), "", "not a unit variant");
        assert_eq!(wire_name("a string"), "", "not an enum");
    }
}
