//! A customer's points history, newest first and paged: the ledger's own items merged with the
//! lines read from the customer's orders (whose points live on the order items). The loyalty
//! API's `transactions` and the marketers' customer page show the same lines.

use crate::domain::{CustomerId, EntryKind, Order, ShopId, Timestamp};
use crate::store::{Store, StoreError, keys, micros};

/// One line of the history and the key it sorts by (a ledger sort key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub sort: String,
    pub kind: EntryKind,
    /// Signed: what it did to the customer's points.
    pub points: i64,
    pub at: Timestamp,
    pub order: Option<String>,
    pub redemption: Option<String>,
    /// The shop's reason for an adjustment.
    pub reason: Option<String>,
}

/// A page of the history: its lines and, when more follow, the cursor of the next page (the
/// last line's sort key without the ledger prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub lines: Vec<Line>,
    pub next_cursor: Option<String>,
}

/// Whether `cursor` is one this history hands out (`{16 digits}#{id}`).
pub fn valid_cursor(cursor: &str) -> bool {
    cursor.len() <= 300
        && cursor.split_once('#').is_some_and(|(t, id)| {
            t.len() == 16
                && t.bytes().all(|b| b.is_ascii_digit())
                && !id.is_empty()
                && !id.contains('#')
        })
}

/// The lines an order contributes: earned when placed, confirmed after the return window,
/// reversed by its returns.
pub fn order_lines(order: &Order) -> Vec<Line> {
    let Some(placed) = &order.placed else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut add = |kind: EntryKind, points: i64, at: Timestamp| {
        let id = format!("{}~{}", order.id, kind.as_str());
        lines.push(Line {
            sort: keys::ledger_sort_key(micros(at), &id),
            kind,
            points,
            at,
            order: Some(order.id.to_string()),
            redemption: None,
            reason: None,
        });
    };
    if order.points_earned > 0 {
        add(
            EntryKind::Earned,
            order.points_earned as i64,
            placed.placed_at,
        );
    }
    if let Some(at) = order.points_confirmed_at
        && order.points_held() > 0
    {
        add(EntryKind::Confirmed, order.points_held() as i64, at);
    }
    if order.points_reversed > 0
        && let Some(last) = order.returns.iter().map(|r| r.returned_at).max()
    {
        add(EntryKind::Reversed, -(order.points_reversed as i64), last);
    }
    lines
}

/// One page of `limit` lines older than `cursor` (as [`valid_cursor`] checks it).
pub async fn page(
    store: &Store,
    shop: &ShopId,
    customer: &CustomerId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page, StoreError> {
    let before = cursor.map(|c| format!("{}{c}", keys::LEDGER_PREFIX));
    let wanted = i32::try_from(limit).unwrap_or(i32::MAX);
    let own = store
        .ledger_page(shop, customer, before.as_deref(), wanted)
        .await?;
    let own_full = own.len() == limit;
    let mut lines: Vec<Line> = own
        .into_iter()
        .map(|(sort, e)| Line {
            sort,
            kind: e.kind,
            points: e.points,
            at: e.at,
            order: None,
            redemption: e.redemption,
            reason: e.reason,
        })
        .collect();
    for order in store.orders(shop, customer).await? {
        lines.extend(order_lines(&order));
    }
    Ok(merge(lines, before.as_deref(), own_full, limit))
}

/// Newest first, older than `before`, `limit` lines; more follow when lines were left over or
/// the ledger's own page was full.
fn merge(mut lines: Vec<Line>, before: Option<&str>, own_full: bool, limit: usize) -> Page {
    lines.retain(|l| before.is_none_or(|b| l.sort.as_str() < b));
    lines.sort_by(|a, b| b.sort.cmp(&a.sort));
    let more = lines.len() > limit || own_full;
    lines.truncate(limit);
    let next_cursor = match (more, lines.last()) {
        (true, Some(last)) => last
            .sort
            .strip_prefix(keys::LEDGER_PREFIX)
            .map(str::to_owned),
        _ => None,
    };
    Page { lines, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(micros: i64, id: &str) -> Line {
        Line {
            sort: keys::ledger_sort_key(micros, id),
            kind: EntryKind::Adjusted,
            points: 1,
            at: Timestamp::from_microsecond(micros).unwrap(),
            order: None,
            redemption: None,
            reason: None,
        }
    }

    #[test]
    fn pages_run_newest_first_without_gaps_or_repeats() {
        let all: Vec<Line> = (1..=7)
            .map(|n| line(n * 1_000_000, &format!("e{n}")))
            .collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let before = cursor
                .as_ref()
                .map(|c| format!("{}{c}", keys::LEDGER_PREFIX));
            let page = merge(all.clone(), before.as_deref(), false, 3);
            seen.extend(page.lines.iter().map(|l| l.sort.clone()));
            match page.next_cursor {
                Some(next) => {
                    assert!(valid_cursor(&next), "{next}");
                    cursor = Some(next);
                }
                None => break,
            }
        }
        let mut expected: Vec<String> = all.iter().map(|l| l.sort.clone()).collect();
        expected.reverse();
        assert_eq!(seen, expected);
        assert!(!valid_cursor("12#x"));
        assert!(!valid_cursor("0000000000000001#a#b"));
    }
}
