//! Signed links in emails. An unsubscribe token names the shop, the customer (never the email
//! address) and the message it was mailed in, and carries an HMAC-SHA256 under the shop's link
//! key, so it cannot be forged or altered; using it twice has the same effect as once.

use crate::domain::{CustomerId, OrderId, ShopId};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The key links are signed with: derived per shop from the deployment's link secret, so one
/// shop's tokens are worthless in another.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

impl LinkKey {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        LinkKey(secret.as_ref().to_vec())
    }

    /// A key for another purpose, derived from the same deployment secret so that no key is
    /// used for two things. Never for admin sessions: they have a secret of their own, so that
    /// nothing that can sign a link can sign a session.
    pub fn derive(&self, purpose: &str) -> Vec<u8> {
        let mut derive = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        derive.update(b"trouw-derive-v1\x1f");
        derive.update(purpose.as_bytes());
        derive.finalize().into_bytes().to_vec()
    }

    fn for_shop(&self, shop: &ShopId) -> Hmac<Sha256> {
        let mut derive = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        derive.update(b"trouw-links-v1\x1f");
        derive.update(shop.as_str().as_bytes());
        let shop_key = derive.finalize().into_bytes();
        Hmac::<Sha256>::new_from_slice(&shop_key).expect("HMAC takes any key")
    }

    /// `{payload}.{signature}`, both base64url; the payload is a version tag and the parts.
    fn sign(&self, shop: &ShopId, version: &str, parts: &[&str]) -> String {
        let payload = std::iter::once(version)
            .chain(std::iter::once(shop.as_str()))
            .chain(parts.iter().copied())
            .collect::<Vec<_>>()
            .join("\x1f");
        let mut mac = self.for_shop(shop);
        mac.update(payload.as_bytes());
        format!(
            "{}.{}",
            B64.encode(&payload),
            B64.encode(mac.finalize().into_bytes())
        )
    }

    /// The shop and the `n` parts of a genuine token of `version`; `None` for anything forged,
    /// altered, garbled or of another kind.
    fn verify(&self, token: &str, version: &str, n: usize) -> Option<(ShopId, Vec<String>)> {
        let (payload, signature) = token.split_once('.')?;
        let payload = String::from_utf8(B64.decode(payload).ok()?).ok()?;
        let signature = B64.decode(signature).ok()?;
        let mut parts = payload.split('\x1f');
        if parts.next()? != version {
            return None;
        }
        let shop = ShopId::parse(parts.next()?).ok()?;
        let rest: Vec<String> = parts.map(str::to_owned).collect();
        if rest.len() != n {
            return None;
        }
        let mut mac = self.for_shop(&shop);
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        Some((shop, rest))
    }

    /// An unsubscribe token that names no message (the links mailed before they named one).
    pub fn unsubscribe_token(&self, shop: &ShopId, customer: &CustomerId) -> String {
        self.sign(shop, "u1", &[customer.as_str()])
    }

    /// An unsubscribe token that also names the message it was mailed in (its key, which says
    /// its kind), so that the unsubscribe counts against that kind. A message key holds no
    /// control character (see `derived_id`), so it cannot split the payload.
    pub fn message_unsubscribe_token(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        message_key: &str,
    ) -> String {
        self.sign(shop, "u2", &[customer.as_str(), message_key])
    }

    /// The shop and customer of a genuine unsubscribe token, and the key of the message it
    /// names (none for the tokens that name none).
    pub fn verify_unsubscribe(&self, token: &str) -> Option<(ShopId, CustomerId, Option<String>)> {
        if let Some((shop, parts)) = self.verify(token, "u1", 1) {
            return Some((shop, CustomerId::parse(parts[0].clone()).ok()?, None));
        }
        let (shop, mut parts) = self.verify(token, "u2", 2)?;
        let key = parts.pop().filter(|k| !k.is_empty())?;
        Some((shop, CustomerId::parse(parts.pop()?).ok()?, Some(key)))
    }

    /// A reactivation token ("keep me" and the two-question survey): shop and customer.
    pub fn reactivation_token(&self, shop: &ShopId, customer: &CustomerId) -> String {
        self.sign(shop, "r1", &[customer.as_str()])
    }

    /// The shop and customer of a genuine reactivation token.
    pub fn verify_reactivation(&self, token: &str) -> Option<(ShopId, CustomerId)> {
        let (shop, parts) = self.verify(token, "r1", 1)?;
        Some((shop, CustomerId::parse(parts[0].clone()).ok()?))
    }

    /// A survey token: shop, customer and order.
    pub fn survey_token(&self, shop: &ShopId, customer: &CustomerId, order: &OrderId) -> String {
        self.sign(shop, "s1", &[customer.as_str(), order.as_str()])
    }

    /// The shop, customer and order of a genuine survey token.
    pub fn verify_survey(&self, token: &str) -> Option<(ShopId, CustomerId, OrderId)> {
        let (shop, parts) = self.verify(token, "s1", 2)?;
        Some((
            shop,
            CustomerId::parse(parts[0].clone()).ok()?,
            OrderId::parse(parts[1].clone()).ok()?,
        ))
    }

    /// A question token: shop, customer and the shop's question id.
    pub fn question_token(&self, shop: &ShopId, customer: &CustomerId, question: &str) -> String {
        self.sign(shop, "q1", &[customer.as_str(), question])
    }

    /// The shop, customer and question id of a genuine question token.
    pub fn verify_question(&self, token: &str) -> Option<(ShopId, CustomerId, String)> {
        let (shop, mut parts) = self.verify(token, "q1", 2)?;
        let question = parts.pop()?;
        Some((shop, CustomerId::parse(parts.pop()?).ok()?, question))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let key = LinkKey::new("deployment-secret");
        let shop = ShopId::parse("demo").unwrap();
        let customer = CustomerId::parse("cus-8812").unwrap();
        let token = key.unsubscribe_token(&shop, &customer);
        assert!(!token.contains("cus-8812") && !token.contains('@'));
        assert_eq!(
            key.verify_unsubscribe(&token),
            Some((shop.clone(), customer.clone(), None))
        );
        // A link that names its message says which one; its signature covers the key.
        let named = key.message_unsubscribe_token(&shop, &customer, "survey#NL-1");
        assert_eq!(
            key.verify_unsubscribe(&named),
            Some((
                shop.clone(),
                customer.clone(),
                Some("survey#NL-1".to_owned())
            ))
        );
        let (_, named_signature) = named.split_once('.').unwrap();
        let other_message = key.message_unsubscribe_token(&shop, &customer, "welcome#NL-1");
        let (other_payload, _) = other_message.split_once('.').unwrap();
        assert_eq!(
            key.verify_unsubscribe(&format!("{other_payload}.{named_signature}")),
            None,
            "a swapped message"
        );

        let other = key.unsubscribe_token(&shop, &CustomerId::parse("cus-1").unwrap());
        let (payload, _) = other.split_once('.').unwrap();
        let (_, signature) = token.split_once('.').unwrap();
        assert_eq!(
            key.verify_unsubscribe(&format!("{payload}.{signature}")),
            None,
            "a swapped customer"
        );
        assert_eq!(
            LinkKey::new("another-secret").verify_unsubscribe(&token),
            None
        );
        for garbage in ["", ".", "abc", "abc.def", "!!!.???"] {
            assert_eq!(key.verify_unsubscribe(garbage), None);
        }
        // A survey token is not an unsubscribe token, and the other way round.
        let survey = key.survey_token(&shop, &customer, &OrderId::parse("NL-1").unwrap());
        assert_eq!(key.verify_unsubscribe(&survey), None);
        assert_eq!(key.verify_survey(&token), None);
        let question = key.question_token(&shop, &customer, "thee-smaak");
        assert_eq!(
            key.verify_question(&question),
            Some((shop.clone(), customer.clone(), "thee-smaak".to_owned()))
        );
        assert_eq!(key.verify_survey(&question), None);
        assert_eq!(key.verify_question(&survey), None);
        assert_eq!(
            key.verify_survey(&survey),
            Some((
                shop.clone(),
                customer.clone(),
                OrderId::parse("NL-1").unwrap()
            ))
        );
        // The same customer in another shop gets another token.
        let elsewhere = key.unsubscribe_token(&ShopId::parse("other").unwrap(), &customer);
        assert_ne!(elsewhere.split_once('.').unwrap().1, signature);
    }
}
