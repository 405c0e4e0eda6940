//! What the sources' hand-written serde visitors share. Their line types are decoded leniently,
//! straight from the line: a string is borrowed from it unless it has escapes ([`text_to`]), and
//! a value of a type the field does not take is skipped without being built ([`skip_to`],
//! [`MaybeText`], [`flag`], [`Boxed`], [`Object`], [`Objects`]).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Visitor methods that skip a scalar, a list or an object and yield `$nothing`: each names its
/// method and, but for `visit_unit`, the scalar's type; `visit_seq` and `visit_map` skip every
/// element.
macro_rules! skip_to {
    ($nothing:expr; $($visit:ident($($arg:ty)?)),* $(,)?) => {
        $($crate::source::visit::skip_to!(@one $nothing; $visit($($arg)?));)*
    };
    (@one $nothing:expr; visit_seq()) => {
        fn visit_seq<A: ::serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<::serde::de::IgnoredAny>()?.is_some() {}
            Ok($nothing)
        }
    };
    (@one $nothing:expr; visit_map()) => {
        fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map
                .next_entry::<::serde::de::IgnoredAny, ::serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok($nothing)
        }
    };
    (@one $nothing:expr; $visit:ident($($arg:ty)?)) => {
        fn $visit<E: ::serde::de::Error>(self $(, _: $arg)?) -> Result<Self::Value, E> {
            Ok($nothing)
        }
    };
}
pub(super) use skip_to;

/// Visitor methods that take a string as the `Cow` `$text`, borrowed from the input when serde
/// can lend it (a string without escapes), and yield `$value`.
macro_rules! text_to {
    (|$text:ident| $value:expr) => {
        fn visit_borrowed_str<E: ::serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
            let $text = ::std::borrow::Cow::Borrowed(text);
            Ok($value)
        }
        fn visit_str<E: ::serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            let $text = ::std::borrow::Cow::Owned(text.to_owned());
            Ok($value)
        }
        fn visit_string<E: ::serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
            let $text = ::std::borrow::Cow::Owned(text);
            Ok($value)
        }
    };
}
pub(super) use text_to;

/// A string, borrowed from the line unless it has escapes; any other JSON value is skipped and
/// counts as absent.
pub(super) struct MaybeText<'a>(pub Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for MaybeText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = MaybeText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            text_to!(|text| MaybeText(Some(text)));
            skip_to!(MaybeText(None);
                visit_unit(),
                visit_bool(bool),
                visit_i64(i64),
                visit_u64(u64),
                visit_f64(f64),
                visit_seq(),
                visit_map()
            );
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// [`MaybeText`] as a field's `deserialize_with`.
pub(super) fn maybe_text<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    MaybeText::deserialize(deserializer).map(|MaybeText(text)| text)
}

/// An optional boolean as a field's `deserialize_with`; any other JSON value counts as absent.
pub(super) fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    struct FlagVisitor;
    impl<'de> Visitor<'de> for FlagVisitor {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E: ::serde::de::Error>(self, value: bool) -> Result<Self::Value, E> {
            Ok(Some(value))
        }
        skip_to!(None;
            visit_unit(),
            visit_i64(i64),
            visit_u64(u64),
            visit_f64(f64),
            visit_str(&str),
            visit_seq(),
            visit_map()
        );
    }
    deserializer.deserialize_any(FlagVisitor)
}

/// A whole record: a JSON object decoded as `T`, boxed (a record declares every kind's fields).
/// Any other value is an error, so the line is malformed: a struct would otherwise also decode
/// from an array, its fields by position.
pub(super) struct Boxed<T>(pub Box<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Boxed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoxedVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for BoxedVisitor<T> {
            type Value = Boxed<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Boxed<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|value| Boxed(Box::new(value)))
            }
        }
        deserializer.deserialize_map(BoxedVisitor(PhantomData))
    }
}

/// An object decoded as `T`; any other JSON value is skipped and counts as absent.
pub(super) struct Object<T>(pub Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|value| Object(Some(value)))
            }
            skip_to!(Object(None); visit_unit(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str), visit_seq());
        }
        deserializer.deserialize_any(ObjectVisitor(PhantomData))
    }
}

/// An array's objects decoded as `T`, other elements skipped; empty when the value is no array.
pub(super) struct Objects<T>(pub Vec<T>);

impl<T> Default for Objects<T> {
    fn default() -> Self {
        Objects(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Objects<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectsVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectsVisitor<T> {
            type Value = Objects<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Objects<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(Object(item)) = seq.next_element::<Object<T>>()? {
                    items.extend(item);
                }
                Ok(Objects(items))
            }
            skip_to!(Objects::default(); visit_unit(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str), visit_map());
        }
        deserializer.deserialize_any(ObjectsVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_is_borrowed_unless_it_has_escapes_and_anything_else_is_absent() {
        fn text(json: &str) -> Option<Cow<'_, str>> {
            serde_json::from_str::<MaybeText<'_>>(json).unwrap().0
        }
        assert!(matches!(text(r#""as is""#), Some(Cow::Borrowed("as is"))));
        assert!(matches!(text(r#""esc\naped""#), Some(Cow::Owned(owned)) if owned == "esc\naped"));
        for other in ["null", "true", "-1", "7", "1.5", r#"["a"]"#, r#"{"a":"b"}"#] {
            assert_eq!(text(other), None, "{other}");
        }
        assert!(serde_json::from_str::<MaybeText<'_>>(r#"{"a":}"#).is_err());
    }
}
