//! `LanguageCode` and `SerializeType`.

/// The language of the peer that sent a command (`LanguageCode` in Apache RocketMQ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum LanguageCode {
    /// Java (what this server answers with).
    #[default]
    Java = 0,
    /// C++ (also the Python wrapper over `librocketmq.so`).
    Cpp = 1,
    /// .NET.
    Dotnet = 2,
    /// Python.
    Python = 3,
    /// Delphi.
    Delphi = 4,
    /// Erlang.
    Erlang = 5,
    /// Ruby.
    Ruby = 6,
    /// Anything unknown.
    Other = 7,
    /// HTTP.
    Http = 8,
    /// Go.
    Go = 9,
    /// PHP.
    Php = 10,
    /// OpenMessaging.
    Oms = 11,
    /// Rust.
    Rust = 12,
    /// Node.js.
    NodeJs = 13,
}

const LANGUAGES: [(LanguageCode, &str); 14] = [
    (LanguageCode::Java, "JAVA"),
    (LanguageCode::Cpp, "CPP"),
    (LanguageCode::Dotnet, "DOTNET"),
    (LanguageCode::Python, "PYTHON"),
    (LanguageCode::Delphi, "DELPHI"),
    (LanguageCode::Erlang, "ERLANG"),
    (LanguageCode::Ruby, "RUBY"),
    (LanguageCode::Other, "OTHER"),
    (LanguageCode::Http, "HTTP"),
    (LanguageCode::Go, "GO"),
    (LanguageCode::Php, "PHP"),
    (LanguageCode::Oms, "OMS"),
    (LanguageCode::Rust, "RUST"),
    (LanguageCode::NodeJs, "NODE_JS"),
];

impl LanguageCode {
    /// The name used in JSON headers (`"JAVA"`, `"CPP"`, ...).
    pub fn name(self) -> &'static str {
        LANGUAGES[self as usize].1
    }

    /// Parses a JSON-header name; unknown names map to [`LanguageCode::Other`].
    pub fn from_name(name: &str) -> Self {
        LANGUAGES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(LanguageCode::Other, |(l, _)| *l)
    }

    /// Parses a binary-header byte; unknown bytes map to [`LanguageCode::Other`].
    pub fn from_byte(b: u8) -> Self {
        LANGUAGES
            .get(b as usize)
            .map_or(LanguageCode::Other, |(l, _)| *l)
    }
}

/// How a frame's header is serialized: the high byte of the header-length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum SerializeType {
    /// JSON text (the default, and the only form C++ clients understand).
    #[default]
    Json = 0,
    /// RocketMQ's compact binary header.
    RocketMq = 1,
}

impl SerializeType {
    /// The type for the frame byte, if known.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }

    /// The Java enum name written in `serializeTypeCurrentRPC`.
    pub fn name(self) -> &'static str {
        match self {
            SerializeType::Json => "JSON",
            SerializeType::RocketMq => "ROCKETMQ",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bytes() {
        assert_eq!(LanguageCode::from_name("CPP"), LanguageCode::Cpp);
        assert_eq!(LanguageCode::from_name("KOTLIN"), LanguageCode::Other);
        assert_eq!(LanguageCode::from_byte(12), LanguageCode::Rust);
        assert_eq!(LanguageCode::from_byte(200), LanguageCode::Other);
        for (l, n) in LANGUAGES {
            assert_eq!(l.name(), n);
            assert_eq!(LanguageCode::from_byte(l as u8), l);
        }
    }
}
