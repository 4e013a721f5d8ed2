//! A claim token: names one attempt to send a message. The claim writes it on the message and
//! the record of the outcome requires it, so that the attempt recognises its own writes when
//! it sends them again after their answer was lost (DynamoDB applied the first, the SDK's
//! retry meets the changed item).

/// One attempt's token (96 random bits, as hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(String);

impl ClaimToken {
    /// A new token, never the same as another attempt's.
    pub fn new() -> Self {
        let mut bytes = [0u8; 12];
        getrandom::getrandom(&mut bytes).expect("the operating system's random source");
        ClaimToken(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ClaimToken {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attempt_has_its_own_token() {
        let (a, b) = (ClaimToken::new(), ClaimToken::new());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 24);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
