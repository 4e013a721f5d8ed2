//! Signed links in emails. An unsubscribe token names the shop and the customer (never the
//! email address) and carries an HMAC-SHA256 under the shop's link key, so it cannot be forged
//! or altered; using it twice has the same effect as once.

use crate::domain::{CustomerId, ShopId};
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

    fn for_shop(&self, shop: &ShopId) -> Hmac<Sha256> {
        let mut derive = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        derive.update(b"trouw-links-v1\x1f");
        derive.update(shop.as_str().as_bytes());
        let shop_key = derive.finalize().into_bytes();
        Hmac::<Sha256>::new_from_slice(&shop_key).expect("HMAC takes any key")
    }

    /// `{payload}.{signature}`, both base64url.
    pub fn unsubscribe_token(&self, shop: &ShopId, customer: &CustomerId) -> String {
        let payload = format!("u1\x1f{shop}\x1f{customer}");
        let mut mac = self.for_shop(shop);
        mac.update(payload.as_bytes());
        format!(
            "{}.{}",
            B64.encode(&payload),
            B64.encode(mac.finalize().into_bytes())
        )
    }

    /// A survey token: shop, customer and order.
    pub fn survey_token(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        order: &crate::domain::OrderId,
    ) -> String {
        let payload = format!("s1\x1f{shop}\x1f{customer}\x1f{order}");
        let mut mac = self.for_shop(shop);
        mac.update(payload.as_bytes());
        format!(
            "{}.{}",
            B64.encode(&payload),
            B64.encode(mac.finalize().into_bytes())
        )
    }

    /// The shop, customer and order of a genuine survey token.
    pub fn verify_survey(
        &self,
        token: &str,
    ) -> Option<(ShopId, CustomerId, crate::domain::OrderId)> {
        let (payload, signature) = token.split_once('.')?;
        let payload = String::from_utf8(B64.decode(payload).ok()?).ok()?;
        let signature = B64.decode(signature).ok()?;
        let mut parts = payload.split('\x1f');
        let (version, shop, customer, order) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "s1" || parts.next().is_some() {
            return None;
        }
        let shop = ShopId::parse(shop).ok()?;
        let mut mac = self.for_shop(&shop);
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        Some((
            shop,
            CustomerId::parse(customer).ok()?,
            crate::domain::OrderId::parse(order).ok()?,
        ))
    }

    /// The shop and customer of a genuine token; `None` for anything forged, altered or garbled.
    pub fn verify_unsubscribe(&self, token: &str) -> Option<(ShopId, CustomerId)> {
        let (payload, signature) = token.split_once('.')?;
        let payload = String::from_utf8(B64.decode(payload).ok()?).ok()?;
        let signature = B64.decode(signature).ok()?;
        let mut parts = payload.split('\x1f');
        let (version, shop, customer) = (parts.next()?, parts.next()?, parts.next()?);
        if version != "u1" || parts.next().is_some() {
            return None;
        }
        let shop = ShopId::parse(shop).ok()?;
        let mut mac = self.for_shop(&shop);
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        Some((shop, CustomerId::parse(customer).ok()?))
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
            Some((shop.clone(), customer.clone()))
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
        // The same customer in another shop gets another token.
        let elsewhere = key.unsubscribe_token(&ShopId::parse("other").unwrap(), &customer);
        assert_ne!(elsewhere.split_once('.').unwrap().1, signature);
    }
}
