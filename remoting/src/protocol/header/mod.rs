//! Typed custom headers that convert to and from a command's ext fields.
//!
//! Keys are the Java field names; values are decimal text for numbers and `true`/`false`
//! for booleans, as Apache RocketMQ writes them. Required fields missing from a request
//! produce an error that names the field.

mod broker;
mod client_extra;
mod namesrv;

pub use broker::*;
pub use client_extra::*;

pub use namesrv::*;

use thiserror::Error;

use crate::command::ExtFields;

/// A header field could not be read.
#[derive(Debug, Error, PartialEq)]
pub enum HeaderError {
    /// A required field is absent (Apache's wording).
    #[error("the custom field <{0}> is null")]
    Missing(&'static str),
    /// A field's text does not parse as its type.
    #[error("the custom field <{field}> has an invalid value {value:?}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// Text found.
        value: String,
    },
}

/// A typed custom header.
pub trait CommandHeader: Sized {
    /// Reads the header from ext fields.
    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError>;
    /// Writes every present field into ext fields.
    fn write_to(&self, ext: &mut ExtFields);
}

/// A type that can be a header field (required as `T`, optional as `Option<T>`).
pub trait HeaderField: Sized {
    /// Reads the field `key`.
    fn read(ext: &ExtFields, key: &'static str) -> Result<Self, HeaderError>;
    /// Writes the field `key` (nothing for `None`).
    fn write(&self, ext: &mut ExtFields, key: &str);
}

/// Text conversion of a header value.
pub trait ExtValue: Sized {
    /// Parses the Java text form.
    fn parse_ext(s: &str) -> Option<Self>;
    /// The Java text form.
    fn to_ext(&self) -> String;
}

impl ExtValue for String {
    fn parse_ext(s: &str) -> Option<Self> {
        Some(s.to_owned())
    }
    fn to_ext(&self) -> String {
        self.clone()
    }
}

impl ExtValue for bool {
    /// Java's `Boolean.parseBoolean`: `true` in any case is true, anything else false.
    fn parse_ext(s: &str) -> Option<Self> {
        Some(s.eq_ignore_ascii_case("true"))
    }
    fn to_ext(&self) -> String {
        self.to_string()
    }
}

macro_rules! numeric_ext_value {
    ($($t:ty),*) => {$(
        impl ExtValue for $t {
            fn parse_ext(s: &str) -> Option<Self> {
                s.trim().parse().ok()
            }
            fn to_ext(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
numeric_ext_value!(i32, i64, u32, u64);

macro_rules! header_field {
    ($($t:ty),*) => {$(
        impl HeaderField for $t {
            fn read(ext: &ExtFields, key: &'static str) -> Result<Self, HeaderError> {
                let text = ext.get(key).ok_or(HeaderError::Missing(key))?;
                <$t>::parse_ext(text).ok_or_else(|| HeaderError::Invalid { field: key, value: text.clone() })
            }
            fn write(&self, ext: &mut ExtFields, key: &str) {
                ext.insert(key.to_owned(), self.to_ext());
            }
        }

        impl HeaderField for Option<$t> {
            fn read(ext: &ExtFields, key: &'static str) -> Result<Self, HeaderError> {
                match ext.get(key) {
                    None => Ok(None),
                    Some(text) => <$t>::parse_ext(text)
                        .map(Some)
                        .ok_or_else(|| HeaderError::Invalid { field: key, value: text.clone() }),
                }
            }
            fn write(&self, ext: &mut ExtFields, key: &str) {
                if let Some(v) = self {
                    ext.insert(key.to_owned(), v.to_ext());
                }
            }
        }
    )*};
}
header_field!(String, bool, i32, i64, u32, u64);

/// Declares header structs whose fields map to ext-field keys:
/// `pub field: Type = "javaName",` (use `Option<Type>` for optional fields).
#[macro_export]
macro_rules! command_header {
    ($(
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident : $ty:ty = $key:literal,)*
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $crate::protocol::header::CommandHeader for $name {
            #[allow(unused_variables)]
            fn read_from(ext: &$crate::command::ExtFields) -> Result<Self, $crate::protocol::header::HeaderError> {
                Ok(Self { $($field: $crate::protocol::header::HeaderField::read(ext, $key)?,)* })
            }
            #[allow(unused_variables)]
            fn write_to(&self, ext: &mut $crate::command::ExtFields) {
                $($crate::protocol::header::HeaderField::write(&self.$field, ext, $key);)*
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::command_header! {
        /// Test header.
        pub struct Sample {
            /// Required.
            pub topic: String = "topic",
            /// Required number.
            pub queue_id: i32 = "queueId",
            /// Optional flag.
            pub order: Option<bool> = "order",
        }
    }

    #[test]
    fn round_trip_and_missing_field_is_named() {
        let h = Sample {
            topic: "T".into(),
            queue_id: 3,
            order: None,
        };
        let mut ext = ExtFields::new();
        h.write_to(&mut ext);
        assert_eq!(ext.get("queueId").map(String::as_str), Some("3"));
        assert!(!ext.contains_key("order"));
        assert_eq!(Sample::read_from(&ext).unwrap(), h);

        ext.remove("topic");
        let err = Sample::read_from(&ext).unwrap_err();
        assert_eq!(err.to_string(), "the custom field <topic> is null");
    }

    #[test]
    fn invalid_number_is_reported() {
        let mut ext = ExtFields::new();
        ext.insert("topic".into(), "T".into());
        ext.insert("queueId".into(), "x1".into());
        assert_eq!(
            Sample::read_from(&ext).unwrap_err(),
            HeaderError::Invalid {
                field: "queueId",
                value: "x1".into()
            }
        );
    }

    #[test]
    fn java_boolean_parsing() {
        assert_eq!(bool::parse_ext("TRUE"), Some(true));
        assert_eq!(bool::parse_ext("yes"), Some(false));
    }
}
