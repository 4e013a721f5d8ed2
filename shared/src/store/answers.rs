//! Answers to the shop's co-creation questions, kept under each question
//! (`SHOP#{shop}#QUESTION#{question}`, one `ANSWER#{customer hash}` item per customer): the
//! marketers' answers page reads a question's answers with one Query, never a scan.
//!
//! An answer item holds the answer's index, its time (epoch seconds) and the customer's own
//! words when the question invites them: at most about 900 bytes with the longest shop and
//! question ids and the longest words (`MAX_FREE_TEXT_BYTES`). It names no customer in clear.

use super::items::{decode, encode, put_item};
use super::keys::{self, Key};
use super::{Store, StoreError};
use crate::domain::questions::{AnswerRead, QuestionAnswer};
use crate::domain::{CustomerId, ShopId, Timestamp};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

const FREE_TEXT: &str = "free_text";

#[derive(Debug, Serialize, Deserialize)]
struct StoredAnswer {
    option: u8,
    /// Epoch seconds.
    at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    free_text: Option<String>,
}

/// The put of a customer's first answer, for the decision's transaction (the profile that
/// records the question answered is written with it, under its version: one answer per
/// customer, also when two answers race).
pub(super) fn answer_put(
    table: &str,
    shop: &ShopId,
    customer: &CustomerId,
    answer: &QuestionAnswer,
) -> Result<TransactWriteItem, StoreError> {
    let stored = StoredAnswer {
        option: answer.option,
        at: answer.at.as_second(),
        free_text: answer.free_text.clone(),
    };
    let key = keys::question_answer(shop, &answer.question_id, customer);
    put_item(table, encode(&stored, &key, "answer")?, None)
}

impl Store {
    /// Every answer to one question: one Query of its partition, a page at a time.
    pub async fn question_answers(
        &self,
        shop: &ShopId,
        question: &str,
    ) -> Result<Vec<AnswerRead>, StoreError> {
        let mut answers = Vec::new();
        self.read_partition(
            &keys::question_answers(shop, question),
            Some("ANSWER#"),
            false,
            |_, item| {
                let stored: StoredAnswer = decode(item, "answer")?;
                answers.push(AnswerRead {
                    option: stored.option,
                    at: Timestamp::from_second(stored.at).unwrap_or(Timestamp::UNIX_EPOCH),
                    free_text: stored.free_text,
                });
                Ok(())
            },
        )
        .await?;
        Ok(answers)
    }

    /// Erasure: removes the customer's own words from their answers to `questions`, keeping
    /// the choice (the counts stay right). Only answers that still hold words are written
    /// (read first, consistently); each write is idempotent, so an erasure that is retried
    /// does it again harmlessly. Returns how many answers lost their words.
    pub async fn erase_answer_words(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        questions: &[String],
    ) -> Result<usize, StoreError> {
        let wanted: Vec<Key> = questions
            .iter()
            .map(|q| keys::question_answer(shop, q, customer))
            .collect();
        let found = self.items_by_key(&wanted, true).await?;
        let mut erased = 0;
        for (key, _) in found
            .iter()
            .filter(|(_, item)| item.contains_key(FREE_TEXT))
        {
            let result = self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(key.to_item()))
                .update_expression("REMOVE #words")
                .condition_expression("attribute_exists(#words)")
                .expression_attribute_names("#words", FREE_TEXT)
                .send()
                .await;
            match result {
                Ok(_) => erased += 1,
                // Removed meanwhile (a concurrent try of the same erasure).
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => {}
                Err(err) => return Err(StoreError::from_sdk(&err)),
            }
        }
        Ok(erased)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questions::{MAX_FREE_TEXT, MAX_FREE_TEXT_BYTES, MAX_ID};

    #[test]
    fn the_longest_answer_stays_under_1_kb() {
        let shop = ShopId::parse("s".repeat(63)).unwrap();
        let customer = CustomerId::parse("😀".repeat(128)).unwrap();
        for words in [
            "é".repeat(MAX_FREE_TEXT_BYTES / 2),
            "w".repeat(MAX_FREE_TEXT),
            "😀".repeat(MAX_FREE_TEXT_BYTES / 4),
        ] {
            assert!(words.len() <= MAX_FREE_TEXT_BYTES);
            let answer = QuestionAnswer {
                question_id: "q".repeat(MAX_ID),
                option: 5,
                free_text: Some(words),
                at: Timestamp::MAX,
            };
            let put = answer_put("trouw", &shop, &customer, &answer).unwrap();
            let item = put.put.unwrap().item;
            let bytes = super::super::capacity::item_size(&item);
            assert!(bytes < 1024, "{bytes} bytes");
        }
    }
}
