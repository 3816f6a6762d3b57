//! Java-properties configuration shared by the servers: `-c FILE` reading, `-p` printing,
//! and runtime updates (UPDATE_NAMESRV_CONFIG / UPDATE_BROKER_CONFIG), with Apache's keys.

use std::collections::BTreeMap;
use std::path::Path;

use thiserror::Error;

/// A configuration value could not be read.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not Java-properties text.
    #[error("cannot parse properties: {0}")]
    Parse(String),
    /// A value does not parse as its key's type.
    #[error("invalid value {value:?} for {key}")]
    Invalid {
        /// Key.
        key: String,
        /// Text found.
        value: String,
    },
}

/// Parses Java-properties text into key → value.
pub fn parse_properties(text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let map =
        java_properties::read(text.as_bytes()).map_err(|e| ConfigError::Parse(e.to_string()))?;
    Ok(map.into_iter().collect())
}

/// Reads a Java-properties file.
pub fn read_properties_file(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_properties(&text)
}

/// Reads the `-c` config file of a server binary and applies it with `apply` (which returns
/// the keys it does not know; each is logged and ignored). The error is the message to print.
pub fn load_config_file(
    path: &Path,
    apply: impl FnOnce(&BTreeMap<String, String>) -> Result<Vec<String>, ConfigError>,
) -> Result<(), String> {
    let unknown = read_properties_file(path)
        .and_then(|props| apply(&props))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for k in unknown {
        tracing::warn!(key = %k, "unknown config key ignored");
    }
    tracing::info!(file = %path.display(), "config loaded");
    Ok(())
}

/// Renders key/value pairs as properties text, one `key=value` a line.
pub fn render_properties<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(k);
        out.push('=');
        out.push_str(&v);
        out.push('\n');
    }
    out
}

/// A value type usable in a properties config.
pub trait ConfigValue: Sized {
    /// Parses the text form.
    fn parse_value(s: &str) -> Option<Self>;
    /// The text form.
    fn render(&self) -> String;
}

macro_rules! config_value_fromstr {
    ($($t:ty),*) => {$(
        impl ConfigValue for $t {
            fn parse_value(s: &str) -> Option<Self> {
                s.trim().parse().ok()
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
config_value_fromstr!(String, i32, i64, u16, u32, u64, usize, f64);

impl ConfigValue for bool {
    fn parse_value(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

/// Declares a configuration struct whose fields map to Java-style keys:
/// `pub field: Type = "javaKey", default_expr;`. It gets `Default`, `set`,
/// `apply`, `from_properties` and `to_properties`.
#[macro_export]
macro_rules! properties_config {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident : $ty:ty = $key:literal, $default:expr;)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $($field: $default,)* }
            }
        }

        impl $name {
            /// Every key this config knows, in declaration order.
            pub const KEYS: &'static [&'static str] = &[$($key,)*];

            /// Sets one key; `Ok(false)` when the key is unknown.
            pub fn set(&mut self, key: &str, value: &str) -> Result<bool, $crate::config::ConfigError> {
                match key {
                    $($key => {
                        self.$field = <$ty as $crate::config::ConfigValue>::parse_value(value).ok_or_else(|| {
                            $crate::config::ConfigError::Invalid { key: key.to_owned(), value: value.to_owned() }
                        })?;
                        Ok(true)
                    })*
                    _ => Ok(false),
                }
            }

            /// Applies every pair; returns the unknown keys.
            pub fn apply<'a>(
                &mut self,
                pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
            ) -> Result<Vec<String>, $crate::config::ConfigError> {
                let mut unknown = Vec::new();
                for (k, v) in pairs {
                    if !self.set(k, v)? {
                        unknown.push(k.clone());
                    }
                }
                Ok(unknown)
            }

            /// Defaults overridden by `props`; returns the config and the unknown keys.
            pub fn from_properties(
                props: &std::collections::BTreeMap<String, String>,
            ) -> Result<(Self, Vec<String>), $crate::config::ConfigError> {
                let mut c = Self::default();
                let unknown = c.apply(props)?;
                Ok((c, unknown))
            }

            /// Every key with its current value.
            pub fn to_properties(&self) -> Vec<(&'static str, String)> {
                vec![$(($key, $crate::config::ConfigValue::render(&self.$field)),)*]
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::properties_config! {
        /// Sample.
        pub struct Sample {
            /// Port.
            pub listen_port: u16 = "listenPort", 9876;
            /// Path.
            pub kv_config_path: String = "kvConfigPath", "/tmp/kv.json".into();
            /// Flag.
            pub order_message_enable: bool = "orderMessageEnable", false;
        }
    }

    #[test]
    fn parse_apply_render() {
        let props = super::parse_properties(
            "# comment\nlistenPort = 9877\norderMessageEnable=true\nbogus=1\n",
        )
        .unwrap();
        let (c, unknown) = Sample::from_properties(&props).unwrap();
        assert_eq!(c.listen_port, 9877);
        assert!(c.order_message_enable);
        assert_eq!(c.kv_config_path, "/tmp/kv.json");
        assert_eq!(unknown, vec!["bogus".to_string()]);
        assert_eq!(
            Sample::KEYS,
            ["listenPort", "kvConfigPath", "orderMessageEnable"]
        );
        let text = super::render_properties(c.to_properties());
        assert_eq!(
            text,
            "listenPort=9877\nkvConfigPath=/tmp/kv.json\norderMessageEnable=true\n"
        );
    }

    #[test]
    fn invalid_value_names_the_key() {
        let mut c = Sample::default();
        let err = c.set("listenPort", "port").unwrap_err();
        assert_eq!(err.to_string(), "invalid value \"port\" for listenPort");
    }
}
