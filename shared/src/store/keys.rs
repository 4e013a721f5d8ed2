//! The one place that knows how items are keyed in the single table.
//!
//! | item                   | pk                              | sk              |
//! |------------------------|---------------------------------|-----------------|
//! | shop settings          | `SHOP#{shop}`                   | `SETTINGS`      |
//! | customer profile       | `SHOP#{shop}#CUST#{customer}`   | `PROFILE`       |
//! | order                  | `SHOP#{shop}#CUST#{customer}`   | `ORDER#{order}` |
//! | processed event (TTL)  | `SHOP#{shop}#EVENT#{webhook-id}`| `EVENT`         |
//! | order owner            | `SHOP#{shop}#ORDER#{order}`     | `OWNER`         |
//! | parked event (TTL)     | `SHOP#{shop}#ORDER#{order}`     | `PARKED#{event}` |
//! | message (outbox + log) | `SHOP#{shop}#CUST#{customer}`   | `MSG#{kind}#{cause}` |
//! | activity (timeline)    | `SHOP#{shop}#CUST#{customer}`   | `ACT#{event}#{n}` |
//! | day summary (overview) | `SHOP#{shop}#DAYS`              | `{UTC date}`    |
//! | health probe           | `HEALTH`                        | `HEALTH`        |
//! | a marketer's sessions  | `ADMIN#{user hash}`             | `SESSIONS`      |
//! | login throttle (TTL)   | `LOGIN#USER#{mac}` / `LOGIN#ADDR#{mac}` | `THROTTLE` |
//! | admin audit (TTL)      | `SHOP#{shop}#AUDIT`             | `AT#{epoch µs}` |
//! | points ledger entry    | `SHOP#{shop}#CUST#{customer}`   | `LEDGER#{epoch µs}#{id}` |
//! | redemption             | `SHOP#{shop}#CUST#{customer}`   | `REDEEM#{id}`   |
//! | adjustment's answer    | `SHOP#{shop}#CUST#{customer}`   | `ADJUST#{id}`   |
//! | reward code, free      | `SHOP#{shop}#POOL#{reward}`     | `CODE#{code}`   |
//! | reward pool's alert    | `SHOP#{shop}#POOL#{reward}`     | `ALERT`         |
//! | reward code, registry  | `SHOP#{shop}#CODE#{code}`       | `CODE`          |
//! | answer to a question   | `SHOP#{shop}#QUESTION#{question}` | `ANSWER#{customer hash}` |
//! | product (stock)        | `SHOP#{shop}#SKU#{sku key}`     | `PRODUCT`       |
//! | a product's regular buyer | `SHOP#{shop}#SKU#{sku key}`  | `BUYER#{customer}` |
//!
//! A customer's profile and orders share a partition, so one request reads both. Shop ids
//! cannot contain `#`, so no customer or order id can forge another shop's key.

use crate::domain::{CustomerId, EventId, OrderId, ShopId};
#[cfg(feature = "aws")]
use aws_sdk_dynamodb::types::AttributeValue;
#[cfg(feature = "aws")]
use std::collections::HashMap;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The table's TTL attribute (epoch seconds), as declared in `infra/template.yaml`.
pub const EXPIRES_AT: &str = "expires_at";
/// Which kind of item this is; for people reading the table.
pub const ITEM_KIND: &str = "item";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

#[cfg(feature = "aws")]
impl Key {
    pub fn to_item(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }

    pub fn of_item(item: &HashMap<String, AttributeValue>) -> Option<Key> {
        let pk = item.get(PK)?.as_s().ok()?.clone();
        let sk = item.get(SK)?.as_s().ok()?.clone();
        Some(Key { pk, sk })
    }
}

/// A product's partition: its availability and its regular buyers, so one Query pages through
/// the buyers of one product. The sku goes in as [`sku_key`](crate::domain::stock::sku_key)
/// (a hash: skus may be long and hold `#`).
pub fn product_partition(shop: &ShopId, sku: &crate::domain::Sku) -> String {
    format!("SHOP#{shop}#SKU#{}", crate::domain::stock::sku_key(sku))
}

/// The shop of a product partition key (`SHOP#{shop}#SKU#{sku key}`).
pub fn parse_product_partition(pk: &str) -> Option<ShopId> {
    let rest = pk.strip_prefix("SHOP#")?;
    let (shop, _) = rest.split_once("#SKU#")?;
    ShopId::parse(shop).ok()
}

/// The sort key of a product's availability item.
pub const PRODUCT_SK: &str = "PRODUCT";

pub fn product(shop: &ShopId, sku: &crate::domain::Sku) -> Key {
    Key {
        pk: product_partition(shop, sku),
        sk: PRODUCT_SK.into(),
    }
}

/// Sort keys of a product's regular buyers start with this.
pub const BUYER_PREFIX: &str = "BUYER#";

/// A customer who buys the product regularly (see [`crate::domain::stock::regular_buys`]).
pub fn regular_buyer(shop: &ShopId, sku: &crate::domain::Sku, customer: &CustomerId) -> Key {
    Key {
        pk: product_partition(shop, sku),
        sk: format!("{BUYER_PREFIX}{customer}"),
    }
}

pub fn shop_settings(shop: &ShopId) -> Key {
    Key {
        pk: format!("SHOP#{shop}"),
        sk: "SETTINGS".into(),
    }
}

fn customer_partition(shop: &ShopId, customer: &CustomerId) -> String {
    format!("SHOP#{shop}#CUST#{customer}")
}

/// The shop and customer of a customer partition key (`SHOP#{shop}#CUST#{customer}`).
pub fn parse_customer_partition(pk: &str) -> Option<(ShopId, CustomerId)> {
    let rest = pk.strip_prefix("SHOP#")?;
    let (shop, customer) = rest.split_once("#CUST#")?;
    Some((ShopId::parse(shop).ok()?, CustomerId::parse(customer).ok()?))
}

/// The sort key of a customer's profile.
pub const PROFILE_SK: &str = "PROFILE";

pub fn profile(shop: &ShopId, customer: &CustomerId) -> Key {
    Key {
        pk: customer_partition(shop, customer),
        sk: PROFILE_SK.into(),
    }
}

/// Sort keys of orders start with this.
pub const ORDER_PREFIX: &str = "ORDER#";

pub fn order(shop: &ShopId, customer: &CustomerId, order: &OrderId) -> Key {
    Key {
        pk: customer_partition(shop, customer),
        sk: format!("{ORDER_PREFIX}{order}"),
    }
}

/// Sort keys of message items start with this.
pub const MESSAGE_PREFIX: &str = "MSG#";

/// A message item, beside the customer's profile: `MSG#{kind}#{cause}`.
pub fn message(shop: &ShopId, customer: &CustomerId, key: &str) -> Key {
    Key {
        pk: customer_partition(shop, customer),
        sk: format!("{MESSAGE_PREFIX}{key}"),
    }
}

/// The partition of what is known about an order by its id alone: its owner and the events
/// that wait for it. One Query reads both.
pub fn order_partition(shop: &ShopId, order: &OrderId) -> String {
    format!("SHOP#{shop}#ORDER#{order}")
}

/// The sort key of an order's owner record.
pub const OWNER_SK: &str = "OWNER";

/// Which customer an order belongs to, for platforms that name only the order (Shopify
/// fulfilments and refunds).
pub fn order_owner(shop: &ShopId, order: &OrderId) -> Key {
    Key {
        pk: order_partition(shop, order),
        sk: OWNER_SK.into(),
    }
}

/// Sort keys of parked events start with this.
pub const PARKED_PREFIX: &str = "PARKED#";

/// A platform event about an order trouw does not know yet, parked beside the order's owner
/// record (which does not exist yet) until the order arrives.
pub fn parked_event(shop: &ShopId, order: &OrderId, event: &EventId) -> Key {
    Key {
        pk: order_partition(shop, order),
        sk: format!("{PARKED_PREFIX}{event}"),
    }
}

/// Sort keys of points ledger entries start with this; the rest sorts by time.
pub const LEDGER_PREFIX: &str = "LEDGER#";

/// A ledger entry beside the profile it changed, sorted by time (then id).
pub fn ledger_entry(shop: &ShopId, customer: &CustomerId, micros: i64, id: &str) -> Key {
    Key {
        pk: customer_partition(shop, customer),
        sk: ledger_sort_key(micros, id),
    }
}

/// `LEDGER#{epoch µs, 16 digits}#{id}`: newest first is a descending Query.
pub fn ledger_sort_key(micros: i64, id: &str) -> String {
    format!("{LEDGER_PREFIX}{:016}#{id}", micros.max(0))
}

/// Sort keys of redemptions start with this.
pub const REDEMPTION_PREFIX: &str = "REDEEM#";

/// A redemption (its code and state), beside the profile.
pub fn redemption(shop: &ShopId, customer: &CustomerId, id: &str) -> Key {
    Key {
        pk: customer_partition(shop, customer),
        sk: format!("{REDEMPTION_PREFIX}{id}"),
    }
}

/// An adjustment's answer, kept for its idempotency key, beside the profile.
pub fn adjustment(shop: &ShopId, customer: &CustomerId, id: &str) -> Key {
    Key {
        pk: customer_partition(shop, customer),
        sk: format!("ADJUST#{id}"),
    }
}

/// The free codes of one reward: one item each, taken (deleted) by a redemption.
pub fn code_pool(shop: &ShopId, reward: &str) -> String {
    format!("SHOP#{shop}#POOL#{reward}")
}

pub const CODE_PREFIX: &str = "CODE#";

pub fn free_code(shop: &ShopId, reward: &str, code: &str) -> Key {
    Key {
        pk: code_pool(shop, reward),
        sk: format!("{CODE_PREFIX}{code}"),
    }
}

/// Whether a reward's pool is low and how often it ran low, beside its free codes (which are
/// read by their `CODE#` prefix).
pub fn pool_alert(shop: &ShopId, reward: &str) -> Key {
    Key {
        pk: code_pool(shop, reward),
        sk: "ALERT".into(),
    }
}

/// Every code the shop ever added, by code: a code is in one pool once, and a code seen on an
/// order leads to its redemption (by the redemption's id only; the customer is not named).
pub fn code_registry(shop: &ShopId, code: &str) -> Key {
    Key {
        pk: format!("SHOP#{shop}#CODE#{code}"),
        sk: "CODE".into(),
    }
}

/// The answers to one of the shop's questions share a partition: one Query reads them all
/// for the marketers' answers page.
pub fn question_answers(shop: &ShopId, question: &str) -> String {
    format!("SHOP#{shop}#QUESTION#{question}")
}

/// One customer's answer to a question: one item per customer (the first answer counts),
/// named by a hash of the customer id, so the key stays short whatever the id (the item holds
/// the customer's words and must stay under 1 KB) and names no customer in clear.
pub fn question_answer(shop: &ShopId, question: &str, customer: &CustomerId) -> Key {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"trouw-answer\0")
        .chain_update(customer.as_str().as_bytes())
        .finalize();
    Key {
        pk: question_answers(shop, question),
        sk: format!("ANSWER#{}", hex(&digest[..16])),
    }
}

pub fn processed_event(shop: &ShopId, event: &EventId) -> Key {
    Key {
        pk: format!("SHOP#{shop}#EVENT#{event}"),
        sk: "EVENT".into(),
    }
}

/// A marketer's session generation: every session cookie carries the generation it was issued
/// under, and logging out or a password reset moves it on. The user name (an email address for
/// Cognito accounts) is hashed, so no address stands in a key.
pub fn admin_sessions(user: &str) -> Key {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"trouw-admin\0")
        .chain_update(user.trim().to_lowercase().as_bytes())
        .finalize();
    Key {
        pk: format!("{ADMIN_PREFIX}{}", hex(&digest)),
        sk: "SESSIONS".into(),
    }
}

/// Partition keys of the marketers' own items start with this (the message-log function may
/// write only these).
pub const ADMIN_PREFIX: &str = "ADMIN#";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn health() -> Key {
    Key {
        pk: "HEALTH".into(),
        sk: "HEALTH".into(),
    }
}

/// A login throttle: failed admin logins of one user name or one client address. The handler
/// passes a keyed hash (`subject`), never the name or address itself: user names are email
/// addresses and client addresses are personal data too.
pub fn login_throttle(scope: ThrottleScope, subject: &str) -> Key {
    let scope = match scope {
        ThrottleScope::User => "USER",
        ThrottleScope::Address => "ADDR",
    };
    Key {
        pk: format!("LOGIN#{scope}#{subject}"),
        sk: "THROTTLE".into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleScope {
    User,
    Address,
}

/// Sort keys of audit entries start with this, followed by the time in epoch microseconds,
/// zero-padded so that they sort by time: one Query per shop reads a range of days.
pub const AUDIT_PREFIX: &str = "AT#";

pub fn audit_partition(shop: &ShopId) -> String {
    format!("SHOP#{shop}#AUDIT")
}

/// The sort key of an audit entry at `micros` (epoch microseconds; 0 before 1970).
pub fn audit_sort_key(micros: i64) -> String {
    format!("{AUDIT_PREFIX}{:017}", micros.max(0))
}

pub fn audit_entry(shop: &ShopId, micros: i64) -> Key {
    Key {
        pk: audit_partition(shop),
        sk: audit_sort_key(micros),
    }
}

/// The sparse, write-sharded due index (`due` in the template): items with `due_shard` and
/// `due_at` (epoch seconds) are in it, nothing else.
pub const DUE_INDEX: &str = "due";
pub const DUE_SHARD: &str = "due_shard";
pub const DUE_AT: &str = "due_at";
/// Enough shards that a busy day's due items do not crowd one partition; each pass queries all.
pub const DUE_SHARDS: u32 = 8;

/// The shard an item's due entry goes to: a stable hash of its partition key.
pub fn due_shard(pk: &str) -> String {
    // FNV-1a: stable across processes and versions, unlike std's hasher.
    let hash = pk.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("DUE#{}", hash % u64::from(DUE_SHARDS))
}

/// Sort keys of activity items (the customer's timeline) start with this.
pub const ACTIVITY_PREFIX: &str = "ACT#";

/// An activity item: what one event changed, for the timeline and the overview.
pub fn activity(shop: &ShopId, customer: &CustomerId, event: &EventId, n: usize) -> Key {
    Key {
        pk: customer_partition(shop, customer),
        sk: format!("{ACTIVITY_PREFIX}{event}#{n}"),
    }
}

/// The log index (`by_day_v2` in the template, keys only): messages and activities by shop and
/// UTC day, newest first, for the marketers' pages. `log_day` is `SHOP#{shop}#{YYYY-MM-DD}`,
/// `log_at` epoch milliseconds.
pub const BY_DAY_INDEX: &str = "by_day_v2";
pub const LOG_DAY: &str = "log_day";
pub const LOG_AT: &str = "log_at";

pub fn log_day(shop: &ShopId, day: jiff::civil::Date) -> String {
    format!("SHOP#{shop}#{day}")
}

/// A day summary: the overview's counts for one UTC day of a shop's log. A shop's summaries
/// share a partition, so one `Query` reads a year of them.
pub fn day_summary(shop: &ShopId, day: jiff::civil::Date) -> Key {
    Key {
        pk: day_summaries(shop),
        sk: day.to_string(),
    }
}

pub fn day_summaries(shop: &ShopId) -> String {
    format!("SHOP#{shop}#DAYS")
}

/// The email index (`by_email`): a profile's salted email hash, so marketers can find a
/// customer by exact address while the table holds no address index in clear.
pub const BY_EMAIL_INDEX: &str = "by_email";
pub const EMAIL_HASH: &str = "email_hash";

pub fn email_hash(shop: &ShopId, email: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"trouw-email\0")
        .chain_update(shop.as_str().as_bytes())
        .chain_update(b"\0")
        .chain_update(email.trim().to_lowercase().as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message_key;

    /// DynamoDB's limits: a partition key of at most 2048 bytes, a sort key of at most 1024.
    fn within_limits(key: &Key) {
        assert!(key.pk.len() <= 2048, "pk of {} bytes", key.pk.len());
        assert!(key.sk.len() <= 1024, "sk of {} bytes", key.sk.len());
    }

    #[test]
    fn keys_built_from_the_longest_ids_fit_dynamodb() {
        // The longest ids the contract accepts, in the widest UTF-8 (4 bytes a character).
        let shop = ShopId::parse("s".repeat(63)).unwrap();
        let customer = CustomerId::parse("😀".repeat(128)).unwrap();
        let order = OrderId::parse("😀".repeat(128)).unwrap();
        let event = EventId::parse("😀".repeat(128)).unwrap();
        within_limits(&profile(&shop, &customer));
        within_limits(&order_owner(&shop, &order));
        within_limits(&self::order(&shop, &customer, &order));
        within_limits(&processed_event(&shop, &event));
        within_limits(&activity(&shop, &customer, &event, usize::MAX));
        within_limits(&question_answer(
            &shop,
            &"q".repeat(crate::domain::questions::MAX_ID),
            &customer,
        ));
        let cause = format!("{order}#{event}");
        within_limits(&message(
            &shop,
            &customer,
            &message_key("loyalty-reversed", &cause),
        ));
        assert_eq!(
            parse_customer_partition(&profile(&shop, &customer).pk),
            Some((shop, customer))
        );
    }
}
