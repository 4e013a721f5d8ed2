//! What DynamoDB charges for an item: its size by DynamoDB's published sizing rules, and the
//! read and write units a request pays for it, on the table and on every global secondary
//! index the item lands in. Pure: the benchmark feeds it the items a request wrote (as
//! DynamoDB stores them) and the table's shape from the template. moto cannot tell us this:
//! its `ConsumedCapacity` is a flat 1.0 and absent for transactions.
//!
//! The rules, as the DynamoDB Developer Guide states them ("Item sizes and formats", "Read and
//! write operations", "Global secondary indexes: writes"):
//! - an attribute costs its name's UTF-8 bytes plus its value: a string its UTF-8 bytes, a
//!   binary its raw bytes, a number one byte per two significant digits plus one, a boolean or
//!   null one byte, a list or map three bytes plus one byte and the size of each element (a
//!   map's element counts its name too); a set counts its members;
//! - a write costs one unit per started KB of the larger of the item before and after it, at
//!   least one; inside `TransactWriteItems` twice that;
//! - a read costs one unit per started 4 KB (a `Query` rounds the sum of what it read, a
//!   `GetItem` or `BatchGetItem` each item), half of that when eventually consistent, twice
//!   when transactional;
//! - an index write costs the projected entry (the table's and the index's key attributes
//!   plus the projected ones) by the same 1 KB rule, only for items that carry the index's key
//!   attributes: putting an entry costs one write, removing it one, changing its key a delete
//!   plus a put, changing a projected value one, and a change it does not project nothing.
//!   Index writes are propagated outside the transaction, so they are never doubled.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

const WRITE_UNIT_BYTES: u64 = 1024;
const READ_UNIT_BYTES: u64 = 4096;

/// The bytes an item counts for: its attributes' names and values.
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

/// The bytes one value counts for (without its attribute's name).
pub fn value_size(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(text) => text.len() as u64,
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(blob) => blob.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(|t| t.len() as u64).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len() as u64).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        AttributeValue::M(entries) => {
            3 + entries
                .iter()
                .map(|(name, v)| 1 + name.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        // A type newer than this SDK: counted as its smallest possible value.
        _ => 1,
    }
}

/// A number's size: one byte per two significant digits (leading and trailing zeros trimmed,
/// the decimal point and the sign not counted), plus one byte.
fn number_size(text: &str) -> u64 {
    let mantissa = text
        .trim_start_matches(['-', '+'])
        .split(['e', 'E'])
        .next()
        .unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len() as u64;
    significant.div_ceil(2) + 1
}

/// Write units of one standard write of an item of `bytes` (the larger of before and after).
pub fn write_units(bytes: u64) -> u64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1)
}

/// How a read is made; its price per started 4 KB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    Eventual,
    Strong,
    Transactional,
}

impl Consistency {
    fn per_block(self) -> f64 {
        match self {
            Consistency::Eventual => 0.5,
            Consistency::Strong => 1.0,
            Consistency::Transactional => 2.0,
        }
    }
}

/// Read units of reading items of these sizes one by one (`GetItem`, `BatchGetItem`): each
/// item rounded up to 4 KB on its own; a missing item still costs one block.
pub fn item_read_units(sizes: impl IntoIterator<Item = u64>, consistency: Consistency) -> f64 {
    sizes
        .into_iter()
        .map(|bytes| bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64 * consistency.per_block())
        .sum()
}

/// Read units of one `Query` or `Scan` page: the sum of the items' sizes rounded up to 4 KB
/// once (an empty page still costs one block).
pub fn query_read_units(sizes: impl IntoIterator<Item = u64>, consistency: Consistency) -> f64 {
    let total: u64 = sizes.into_iter().sum();
    total.div_ceil(READ_UNIT_BYTES).max(1) as f64 * consistency.per_block()
}

/// What a global secondary index copies from the table besides the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    KeysOnly,
    Include(Vec<String>),
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexShape {
    pub name: String,
    pub partition_key: String,
    pub sort_key: Option<String>,
    pub projection: Projection,
}

/// The table's keys and indexes (from the template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    pub partition_key: String,
    pub sort_key: Option<String>,
    pub indexes: Vec<IndexShape>,
}

/// The write units one write of one item costs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteCost {
    pub table: u64,
    /// Per index name, only the indexes the write touched.
    pub indexes: Vec<(String, u64)>,
}

impl WriteCost {
    pub fn index_total(&self) -> u64 {
        self.indexes.iter().map(|(_, units)| units).sum()
    }

    pub fn total(&self) -> u64 {
        self.table + self.index_total()
    }
}

impl TableShape {
    /// The cost of one put, update or delete that turned `before` into `after` (`None`: no
    /// item). A write that changed nothing still pays the table; an index pays only for what
    /// it projects.
    pub fn write_cost(
        &self,
        before: Option<&Item>,
        after: Option<&Item>,
        transactional: bool,
    ) -> WriteCost {
        let size = before
            .map(item_size)
            .unwrap_or(0)
            .max(after.map(item_size).unwrap_or(0));
        let table = write_units(size) * if transactional { 2 } else { 1 };
        let indexes = self
            .indexes
            .iter()
            .filter_map(|index| {
                let units = self.index_write_units(index, before, after);
                (units > 0).then(|| (index.name.clone(), units))
            })
            .collect();
        WriteCost { table, indexes }
    }

    fn index_write_units(
        &self,
        index: &IndexShape,
        before: Option<&Item>,
        after: Option<&Item>,
    ) -> u64 {
        let old = before.and_then(|item| self.index_entry(index, item));
        let new = after.and_then(|item| self.index_entry(index, item));
        match (old, new) {
            (None, None) => 0,
            (Some(old), None) => write_units(item_size(&old)),
            (None, Some(new)) => write_units(item_size(&new)),
            (Some(old), Some(new)) => {
                let key_changed = index_key(index).any(|name| old.get(name) != new.get(name));
                if key_changed {
                    write_units(item_size(&old)) + write_units(item_size(&new))
                } else if old != new {
                    write_units(item_size(&old).max(item_size(&new)))
                } else {
                    0
                }
            }
        }
    }

    /// What `index` holds for `item`: `None` when the item lacks the index's key attributes
    /// (a sparse index).
    pub fn index_entry(&self, index: &IndexShape, item: &Item) -> Option<Item> {
        if index_key(index).any(|name| !item.contains_key(name)) {
            return None;
        }
        let table_key =
            std::iter::once(self.partition_key.as_str()).chain(self.sort_key.as_deref());
        let keep = |name: &str| match &index.projection {
            Projection::All => true,
            Projection::KeysOnly => false,
            Projection::Include(names) => names.iter().any(|n| n == name),
        };
        let keys: Vec<&str> = index_key(index).chain(table_key).collect();
        Some(
            item.iter()
                .filter(|(name, _)| keys.contains(&name.as_str()) || keep(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        )
    }
}

fn index_key(index: &IndexShape) -> impl Iterator<Item = &str> {
    std::iter::once(index.partition_key.as_str()).chain(index.sort_key.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn n(text: &str) -> AttributeValue {
        AttributeValue::N(text.to_owned())
    }

    fn item(entries: &[(&str, AttributeValue)]) -> Item {
        entries
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn strings_count_utf8_bytes_of_name_and_value() {
        assert_eq!(item_size(&item(&[("name", s("Anne"))])), 8);
        // "é" and "ü" are two bytes each in UTF-8.
        assert_eq!(
            item_size(&item(&[("city", s("Zürich")), ("é", s(""))])),
            4 + 7 + 2
        );
    }

    #[test]
    fn numbers_count_a_byte_per_two_significant_digits_plus_one() {
        assert_eq!(value_size(&n("7")), 2);
        assert_eq!(value_size(&n("12")), 2);
        assert_eq!(value_size(&n("123")), 3);
        // Leading and trailing zeros are trimmed; the sign and the point are not digits.
        assert_eq!(value_size(&n("000120000")), 2);
        assert_eq!(value_size(&n("-3.14159")), 4);
        assert_eq!(value_size(&n("0.0001")), 2);
        assert_eq!(value_size(&n("1.5E+10")), 2);
        // Epoch seconds: ten digits, six bytes, unless trailing zeros trim them.
        assert_eq!(value_size(&n("1764460800")), 5);
        assert_eq!(value_size(&n("1764460801")), 6);
        // 38 significant digits, the most DynamoDB keeps: 20 bytes.
        assert_eq!(value_size(&n(&"9".repeat(38))), 20);
    }

    #[test]
    fn binary_counts_raw_bytes_and_booleans_and_null_one_byte() {
        let blob = AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(vec![0u8; 32]));
        assert_eq!(item_size(&item(&[("hash", blob)])), 4 + 32);
        assert_eq!(item_size(&item(&[("ok", AttributeValue::Bool(true))])), 3);
        assert_eq!(item_size(&item(&[("gone", AttributeValue::Null(true))])), 5);
    }

    #[test]
    fn lists_and_maps_pay_three_bytes_plus_one_per_element_and_nested_names() {
        assert_eq!(
            item_size(&item(&[("tags", AttributeValue::L(vec![]))])),
            4 + 3
        );
        assert_eq!(
            item_size(&item(&[("tags", AttributeValue::M(HashMap::new()))])),
            4 + 3
        );
        // ["a", "bc"]: 3 + (1 + 1) + (1 + 2).
        let list = AttributeValue::L(vec![s("a"), s("bc")]);
        assert_eq!(item_size(&item(&[("l", list)])), 1 + 3 + 2 + 3);
        // {"city": "Gent", "n": 12}: 3 + (1 + 4 + 4) + (1 + 1 + 2).
        let map = AttributeValue::M(item(&[("city", s("Gent")), ("n", n("12"))]));
        assert_eq!(item_size(&item(&[("address", map.clone())])), 7 + 3 + 9 + 4);
        // Nested one level deeper: the inner map is an element of the outer one.
        let outer = AttributeValue::M(item(&[("home", map)]));
        assert_eq!(item_size(&item(&[("a", outer)])), 1 + 3 + (1 + 4 + 16));
    }

    #[test]
    fn sets_count_their_members() {
        let set = AttributeValue::Ss(vec!["ab".into(), "cde".into()]);
        assert_eq!(item_size(&item(&[("s", set)])), 1 + 5);
    }

    #[test]
    fn write_units_per_started_kilobyte_and_at_least_one() {
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(500), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        // A 1.5 KB item costs two units, a 3.6 KB item four.
        assert_eq!(write_units(1536), 2);
        assert_eq!(write_units(3686), 4);
    }

    #[test]
    fn read_units_per_started_four_kilobytes() {
        // The guide's examples: a 3,500-byte item costs one block, 8 KB two, 10 KB three;
        // eventual consistency halves it, a transaction doubles it.
        assert_eq!(item_read_units([3500], Consistency::Strong), 1.0);
        assert_eq!(item_read_units([8192], Consistency::Strong), 2.0);
        assert_eq!(item_read_units([8192], Consistency::Eventual), 1.0);
        assert_eq!(item_read_units([8192], Consistency::Transactional), 4.0);
        assert_eq!(item_read_units([10 * 1024], Consistency::Strong), 3.0);
        // BatchGetItem of 1.5 KB and 6.5 KB items: 4 KB + 8 KB, three blocks.
        assert_eq!(item_read_units([1536, 6656], Consistency::Strong), 3.0);
        // A Query of the same two items: 8 KB in all, two blocks.
        assert_eq!(query_read_units([1536, 6656], Consistency::Strong), 2.0);
        assert_eq!(query_read_units([], Consistency::Eventual), 0.5);
    }

    fn shape(projection: Projection) -> TableShape {
        TableShape {
            partition_key: "pk".into(),
            sort_key: Some("sk".into()),
            indexes: vec![IndexShape {
                name: "by_day".into(),
                partition_key: "log_day".into(),
                sort_key: Some("log_at".into()),
                projection,
            }],
        }
    }

    fn message(status: &str, body: usize) -> Item {
        item(&[
            ("pk", s("SHOP#a#CUS#1")),
            ("sk", s("MSG#1")),
            ("log_day", s("a#2026-11-30")),
            ("log_at", n("1764460801")),
            ("status", s(status)),
            ("body", s(&"x".repeat(body))),
        ])
    }

    #[test]
    fn a_new_item_pays_the_table_and_each_index_it_lands_in() {
        let table = shape(Projection::All);
        let new = message("PENDING", 1500);
        let cost = table.write_cost(None, Some(&new), false);
        assert_eq!(
            cost,
            WriteCost {
                table: 2,
                indexes: vec![("by_day".into(), 2)]
            }
        );
        // Inside a transaction the table's share doubles; the index's does not.
        let cost = table.write_cost(None, Some(&new), true);
        assert_eq!((cost.table, cost.index_total()), (4, 2));
    }

    #[test]
    fn projection_decides_what_the_index_write_costs() {
        let new = message("PENDING", 1500);
        let keys_only = shape(Projection::KeysOnly).write_cost(None, Some(&new), false);
        assert_eq!(keys_only.index_total(), 1);
        let include = shape(Projection::Include(vec!["status".into()]));
        assert_eq!(include.write_cost(None, Some(&new), false).index_total(), 1);
        // A change to an attribute the index does not project costs the index nothing.
        let mut renamed = new.clone();
        renamed.insert("body".into(), s(&"y".repeat(1500)));
        assert_eq!(
            include
                .write_cost(Some(&new), Some(&renamed), false)
                .index_total(),
            0
        );
        let mut sent = new.clone();
        sent.insert("status".into(), s("SENT"));
        assert_eq!(
            include
                .write_cost(Some(&new), Some(&sent), false)
                .index_total(),
            1
        );
        // ALL projects everything: any change is a write of the whole entry.
        let all = shape(Projection::All);
        assert_eq!(
            all.write_cost(Some(&new), Some(&renamed), false)
                .index_total(),
            2
        );
    }

    #[test]
    fn items_without_the_index_key_are_not_in_the_index() {
        let table = shape(Projection::All);
        let mut profile = message("x", 10);
        profile.remove("log_day");
        assert_eq!(table.write_cost(None, Some(&profile), true).indexes, vec![]);
        // Gaining the key puts an entry; losing it deletes one.
        let with_key = message("x", 10);
        assert_eq!(
            table
                .write_cost(Some(&profile), Some(&with_key), false)
                .index_total(),
            1
        );
        assert_eq!(
            table
                .write_cost(Some(&with_key), Some(&profile), false)
                .index_total(),
            1
        );
    }

    #[test]
    fn changing_an_index_key_costs_a_delete_and_a_put() {
        let table = shape(Projection::KeysOnly);
        let old = message("PENDING", 10);
        let mut moved = old.clone();
        moved.insert("log_at".into(), n("1764547200"));
        assert_eq!(
            table
                .write_cost(Some(&old), Some(&moved), false)
                .index_total(),
            2
        );
        // Unchanged keys and nothing else projected: no index write, but the table pays.
        let mut sent = old.clone();
        sent.insert("status".into(), s("SENT"));
        let cost = table.write_cost(Some(&old), Some(&sent), false);
        assert_eq!((cost.table, cost.index_total()), (1, 0));
    }

    #[test]
    fn a_write_pays_for_the_larger_of_before_and_after_and_a_delete_for_what_it_removed() {
        let table = shape(Projection::KeysOnly);
        let big = message("PENDING", 3000);
        let small = message("PENDING", 10);
        assert_eq!(table.write_cost(Some(&big), Some(&small), false).table, 3);
        let delete = table.write_cost(Some(&big), None, false);
        assert_eq!((delete.table, delete.index_total()), (3, 1));
        // A delete of nothing still costs a unit.
        assert_eq!(table.write_cost(None, None, false).total(), 1);
    }
}
