use std::fmt;

/// A site's public key, as written in the script tag's `data-site`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SiteKey(String);

impl SiteKey {
    pub const MAX_LEN: usize = 64;

    /// 1–64 characters of `[A-Za-z0-9_-]`: safe in URLs, logs and SQL identifiers' neighbourhood.
    pub fn parse(s: &str) -> Result<SiteKey, String> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(format!(
                "site key must be 1 to {} characters long",
                Self::MAX_LEN
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("site key may contain only letters, digits, '-' and '_'".into());
        }
        Ok(SiteKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SiteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_simple_keys_and_rejects_the_rest() {
        assert!(SiteKey::parse("demo").is_ok());
        assert!(SiteKey::parse("shop_eu-1").is_ok());
        assert!(SiteKey::parse("").is_err());
        assert!(SiteKey::parse("a b").is_err());
        assert!(SiteKey::parse("<script>").is_err());
        assert!(SiteKey::parse(&"x".repeat(65)).is_err());
    }
}
