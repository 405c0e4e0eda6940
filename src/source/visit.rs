//! What the sources' hand-written serde visitors share. Their line types are decoded leniently,
//! straight from the line: a string is borrowed from it unless it has escapes ([`text_to`]), and
//! a value of a type the field does not take is skipped without being built ([`skip_to`],
//! [`MaybeText`]).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

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
