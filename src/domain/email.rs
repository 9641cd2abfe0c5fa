//! Email addresses as accounts know them: trimmed, lower-cased, plausibly shaped.

use super::Invalid;

/// A normalised email address (the login name of a user within a campaign).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(Invalid::new("email", "email must not be empty"));
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(Invalid::new(
                "email",
                format!("email must be at most {} characters", Self::MAX_LEN),
            ));
        }
        // The dot-atom form of RFC 5322 (quoted local parts are not accepted), with
        // non-ASCII letters allowed as RFC 6531 does.
        let atom_char = |c: char| {
            c.is_alphanumeric()
                || "!#$%&'*+-/=?^_`{|}~".contains(c)
                || !c.is_ascii() && !c.is_whitespace() && !c.is_control()
        };
        let dot_atom = |s: &str| {
            !s.is_empty()
                && s.split('.')
                    .all(|part| !part.is_empty() && part.chars().all(atom_char))
        };
        let label = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let shaped = match email.split_once('@') {
            Some((local, domain)) => {
                dot_atom(local) && domain.contains('.') && domain.split('.').all(label)
            }
            None => false,
        };
        if !shaped {
            return Err(Invalid::new("email", "email is not a valid address"));
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_spaces() {
        let e = Email::parse("  Ada.Lovelace@Example.ORG ").map(|e| e.as_str().to_owned());
        assert_eq!(e, Ok("ada.lovelace@example.org".to_owned()));
    }

    #[test]
    fn refuses_what_cannot_be_an_address() {
        for bad in [
            "",
            "ada",
            "a..b@x.test",
            ".a@x.test",
            "a<b>@x.test",
            "a@x..test",
            "a b@x.test",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "a@b@c.org",
            "ada@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
