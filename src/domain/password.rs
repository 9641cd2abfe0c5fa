//! The rule for a password someone chooses (not for one they log in with).

use super::Invalid;

/// A password that meets the policy: 10 to 1024 characters.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(raw: String) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Invalid::new(
                "password",
                format!("password must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(Invalid::new(
                "password",
                format!("password must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(NewPassword(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_length_in_characters() {
        assert!(NewPassword::parse("short".into()).is_err());
        assert!(NewPassword::parse("ten chars!".into()).is_ok());
        // Ten multi-byte characters are ten characters, not thirty bytes.
        assert!(NewPassword::parse("ééééééééé".into()).is_err());
        assert!(NewPassword::parse("x".repeat(1025)).is_err());
    }

    #[test]
    fn never_prints_the_secret() {
        let p = NewPassword::parse("correct horse battery".into()).map(|p| format!("{p:?}"));
        assert_eq!(p.as_deref(), Ok("NewPassword(***)"));
    }
}
