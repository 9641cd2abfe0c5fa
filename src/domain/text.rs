//! Small bounded strings: display names, device tokens, platforms.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A person's or a region's name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(Invalid::new(field, format!("{field} must not be empty")));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new(
                field,
                format!("{field} must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new(
                field,
                format!("{field} must not contain control characters"),
            ));
        }
        Ok(DisplayName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An FCM registration token: opaque, printable, at most 4096 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub const MAX_LEN: usize = 4096;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.is_empty() {
            return Err(Invalid::new("token", "token must not be empty"));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(Invalid::new(
                "token",
                format!("token must be at most {} bytes", Self::MAX_LEN),
            ));
        }
        if !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Invalid::new(
                "token",
                "token must be printable ASCII without spaces",
            ));
        }
        Ok(DeviceToken(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The kind of phone or browser a device token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Android,
    Ios,
    Web,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw {
            "android" => Ok(Platform::Android),
            "ios" => Ok(Platform::Ios),
            "web" => Ok(Platform::Web),
            other => Err(Invalid::new(
                "platform",
                format!("unknown platform {other:?}; expected android, ios or web"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("name", "  Ward 5 ").map(DisplayName::into_string),
            Ok("Ward 5".to_owned())
        );
        assert!(DisplayName::parse("name", "   ").is_err());
        assert!(DisplayName::parse("name", &"x".repeat(201)).is_err());
        assert!(DisplayName::parse("name", "a\u{0}b").is_err());
    }

    #[test]
    fn tokens_are_printable_and_bounded() {
        assert!(DeviceToken::parse("fcm:APA91b-x_y").is_ok());
        assert!(DeviceToken::parse("").is_err());
        assert!(DeviceToken::parse("has space").is_err());
        assert!(DeviceToken::parse(&"t".repeat(4097)).is_err());
    }

    #[test]
    fn platforms_round_trip() {
        for p in [Platform::Android, Platform::Ios, Platform::Web] {
            assert_eq!(Platform::parse(p.as_str()), Ok(p));
        }
        assert!(Platform::parse("symbian").is_err());
    }
}
