//! Co-creation questions: a shop asks the customers who actually buy a product category what
//! it should add next. A customer gets a question (the `question` message, service) at their
//! second order in its category, once per question, while the question is active.
//!
//! Pure. The profile keeps two small values: orders per category, counted only for categories
//! the shop has a question for and stopping at two (the count that matters), and the ids of the
//! questions already asked. Both are bounded by the shop's questions ([`MAX_QUESTIONS`], with
//! short ids and categories): at most about 1 KB, usually a few dozen bytes.

use super::{ActivityKind, CustomerProfile, MessageData, Order, Timestamp};
use serde::{Deserialize, Serialize};

/// At most this many questions per shop (keeps the profile's part small).
pub const MAX_QUESTIONS: usize = 10;
/// The order in a category at which its questions are asked.
pub const ASK_AT_ORDER: u8 = 2;
/// Bounds of a question's parts, in characters.
pub const MAX_ID: usize = 32;
pub const MAX_CATEGORY: usize = 40;
pub const MAX_TEXT: usize = 300;
pub const MAX_OPTION: usize = 80;
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 6;
/// The longest free text kept with an answer, in characters, and in bytes of UTF-8: the answer
/// item stays under 1 KB with the longest shop and question ids (emoji take four bytes each, so
/// a text of them is cut shorter than one of letters).
pub const MAX_FREE_TEXT: usize = 500;
pub const MAX_FREE_TEXT_BYTES: usize = 700;

/// One question a shop asks the buyers of a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// URL-safe, unique within the shop: it names the question in links and on the pages.
    pub id: String,
    /// The product category whose buyers are asked (an order line's `category`).
    pub category: String,
    pub text: String,
    /// 2 to 6 answers to choose from.
    pub options: Vec<String>,
    /// Whether the answer page offers a field for the customer's own words (kept with the
    /// answer, at most [`MAX_FREE_TEXT`] characters).
    #[serde(default)]
    pub free_text: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_until: Option<Timestamp>,
}

impl Question {
    /// Asked from `active_from` (included) until `active_until` (excluded).
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.active_from.is_none_or(|from| from <= now)
            && self.active_until.is_none_or(|until| now < until)
    }
}

fn url_safe(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn sized(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max
}

/// The first thing wrong with the shop's questions, as `questions[i].field: why`.
pub fn check(questions: &[Question]) -> Result<(), String> {
    if questions.len() > MAX_QUESTIONS {
        return Err(format!("questions: at most {MAX_QUESTIONS}"));
    }
    for (i, q) in questions.iter().enumerate() {
        let at = |field: &str, why: String| Err(format!("questions[{i}].{field}: {why}"));
        if !url_safe(&q.id) {
            return at("id", format!("1 to {MAX_ID} letters, digits, - or _"));
        }
        if questions[..i].iter().any(|p| p.id == q.id) {
            return at("id", format!("{:?} is used twice", q.id));
        }
        if !sized(&q.category, MAX_CATEGORY) {
            return at("category", format!("1 to {MAX_CATEGORY} characters"));
        }
        if !sized(&q.text, MAX_TEXT) {
            return at("text", format!("1 to {MAX_TEXT} characters"));
        }
        if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&q.options.len()) {
            return at(
                "options",
                format!("{MIN_OPTIONS} to {MAX_OPTIONS} answers to choose from"),
            );
        }
        if let Some(j) = q.options.iter().position(|o| !sized(o, MAX_OPTION)) {
            return at(
                &format!("options[{j}]"),
                format!("1 to {MAX_OPTION} characters"),
            );
        }
        if let Some(j) = (1..q.options.len()).find(|j| q.options[..*j].contains(&q.options[*j])) {
            return at(&format!("options[{j}]"), "the same answer twice".into());
        }
        if let (Some(from), Some(until)) = (q.active_from, q.active_until)
            && until <= from
        {
            return at("active_until", "must be after active_from".into());
        }
    }
    Ok(())
}

/// What to ask at a newly placed order: counts the order in each of its categories that has a
/// question (stopping at [`ASK_AT_ORDER`]), and returns the questions due (their id, the
/// message's key cause, and the message), marking them asked. A question is due when it is
/// active, its category is in this order, this is the customer's second order or later in it,
/// and the customer was not asked it before.
pub fn on_order_placed(
    profile: &mut CustomerProfile,
    order: &Order,
    questions: &[Question],
    now: Timestamp,
) -> Vec<(String, MessageData)> {
    let Some(placed) = &order.placed else {
        return Vec::new();
    };
    let mut categories: Vec<&str> = placed
        .lines
        .iter()
        .filter_map(|l| l.category.as_deref())
        .filter(|c| questions.iter().any(|q| q.category == *c))
        .collect();
    categories.sort_unstable();
    categories.dedup();
    for category in &categories {
        let count = profile
            .category_orders
            .entry((*category).to_owned())
            .or_insert(0);
        *count = (*count + 1).min(ASK_AT_ORDER);
    }
    // Categories and asked ids the shop no longer asks about are let go, so the profile's part
    // stays bounded by the shop's current questions.
    profile
        .category_orders
        .retain(|c, _| questions.iter().any(|q| q.category == *c));
    profile
        .questions_asked
        .retain(|id| questions.iter().any(|q| q.id == *id));
    profile
        .questions_answered
        .retain(|id| questions.iter().any(|q| q.id == *id));
    let mut due = Vec::new();
    for q in questions {
        let ordered_enough = profile
            .category_orders
            .get(&q.category)
            .is_some_and(|n| *n >= ASK_AT_ORDER);
        if q.is_active(now)
            && ordered_enough
            && categories.contains(&q.category.as_str())
            && !profile.questions_asked.contains(&q.id)
        {
            profile.questions_asked.push(q.id.clone());
            due.push((
                q.id.clone(),
                MessageData::Question {
                    question_id: q.id.clone(),
                    category: q.category.clone(),
                    text: q.text.clone(),
                    options: q.options.clone(),
                    free_text: q.free_text,
                },
            ));
        }
    }
    due
}

/// Why the words posted with an answer are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeTextRefused {
    /// The question does not invite the customer's own words.
    NotInvited,
    /// Longer than [`MAX_FREE_TEXT`] characters or [`MAX_FREE_TEXT_BYTES`] bytes.
    TooLong,
}

/// The customer's own words posted with an answer to `question`: trimmed, `None` when blank.
/// Words to a question that does not invite them are refused rather than dropped, so a form
/// that sends them learns that they were not kept.
pub fn free_text(
    question: &Question,
    posted: Option<&str>,
) -> Result<Option<String>, FreeTextRefused> {
    let Some(text) = posted.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if !question.free_text {
        return Err(FreeTextRefused::NotInvited);
    }
    if text.chars().count() > MAX_FREE_TEXT || text.len() > MAX_FREE_TEXT_BYTES {
        return Err(FreeTextRefused::TooLong);
    }
    Ok(Some(text.to_owned()))
}

/// One customer's answer to a question, as the marketers' answers page counts it: kept under
/// the question (one item per customer), so one Query per question reads them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionAnswer {
    pub question_id: String,
    pub option: u8,
    /// The customer's own words, when the question invites them.
    pub free_text: Option<String>,
    pub at: Timestamp,
}

/// One stored answer as the marketers' answers page reads it (no customer named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRead {
    pub option: u8,
    pub at: Timestamp,
    pub free_text: Option<String>,
}

/// Records an answer from the answer page: only to a question the shop still has and asked
/// this customer, only an answer it offers, and only the first (a second answer changes
/// nothing: the counts marketers read stay one per customer). Returns what the timeline shows
/// and the answer to keep under the question. The words are kept only when the question invites
/// them, within the bounds of [`free_text`], and when `words_allowed` (not for a customer being
/// or once erased: an old link must not bring words back).
pub fn record_answer(
    profile: &mut CustomerProfile,
    question_id: &str,
    option: u8,
    posted_text: Option<&str>,
    words_allowed: bool,
    questions: &[Question],
    now: Timestamp,
) -> Option<(ActivityKind, QuestionAnswer)> {
    let question = questions.iter().find(|q| q.id == question_id)?;
    let answer = question.options.get(usize::from(option))?;
    if !profile.questions_asked.iter().any(|id| id == question_id)
        || profile
            .questions_answered
            .iter()
            .any(|id| id == question_id)
    {
        return None;
    }
    profile.questions_answered.push(question_id.to_owned());
    let words = free_text(question, posted_text)
        .ok()
        .flatten()
        .filter(|_| words_allowed);
    Some((
        ActivityKind::QuestionAnswered {
            question_id: question_id.to_owned(),
            option,
            answer: answer.clone(),
        },
        QuestionAnswer {
            question_id: question_id.to_owned(),
            option,
            free_text: words,
            at: now,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Currency, CustomerId, Money, OrderId, OrderLine, PlacedOrder, ShopId, Sku,
    };

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn question(id: &str, category: &str) -> Question {
        Question {
            id: id.into(),
            category: category.into(),
            text: "Welke smaak zullen we toevoegen?".into(),
            options: vec!["Jasmijn".into(), "Rooibos".into(), "Chai".into()],
            free_text: true,
            active_from: None,
            active_until: None,
        }
    }

    fn order(id: &str, categories: &[&str]) -> Order {
        let mut order = Order::empty(OrderId::parse(id).unwrap());
        order.placed = Some(PlacedOrder {
            id: order.id.clone(),
            placed_at: t(NOW),
            discount_codes: Vec::new(),
            total: Money::new(1000, Currency::EUR),
            lines: categories
                .iter()
                .enumerate()
                .map(|(i, c)| OrderLine {
                    sku: Sku::parse(format!("SKU-{i}")).unwrap(),
                    name: None,
                    category: Some((*c).to_owned()),
                    quantity: 1,
                    unit_price: None,
                    replenish_after_days: None,
                    contract: None,
                })
                .collect(),
        });
        order
    }

    fn profile() -> CustomerProfile {
        CustomerProfile::new(
            ShopId::parse("demo").unwrap(),
            CustomerId::parse("c1").unwrap(),
        )
    }

    const NOW: &str = "2026-03-01T10:00:00Z";

    #[test]
    fn asks_at_the_second_order_in_the_category_once() {
        let qs = [question("thee-smaak", "thee")];
        let mut p = profile();
        assert!(on_order_placed(&mut p, &order("A1", &["thee"]), &qs, t(NOW)).is_empty());
        let due = on_order_placed(&mut p, &order("A2", &["thee", "thee"]), &qs, t(NOW));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0, "thee-smaak");
        assert_eq!(due[0].1.kind(), "question");
        // A third order: already asked.
        assert!(on_order_placed(&mut p, &order("A3", &["thee"]), &qs, t(NOW)).is_empty());
        assert_eq!(p.questions_asked, vec!["thee-smaak".to_owned()]);
        assert_eq!(p.category_orders.get("thee"), Some(&2));
    }

    #[test]
    fn other_categories_do_not_count_nor_ask() {
        let qs = [question("thee-smaak", "thee")];
        let mut p = profile();
        on_order_placed(&mut p, &order("A1", &["thee"]), &qs, t(NOW));
        assert!(on_order_placed(&mut p, &order("A2", &["koffie"]), &qs, t(NOW)).is_empty());
        assert!(!p.category_orders.contains_key("koffie"));
        assert_eq!(p.category_orders.get("thee"), Some(&1));
    }

    #[test]
    fn an_inactive_question_waits_for_an_order_while_active() {
        let mut q = question("thee-smaak", "thee");
        q.active_from = Some(t("2026-04-01T00:00:00Z"));
        q.active_until = Some(t("2026-05-01T00:00:00Z"));
        let qs = [q];
        let mut p = profile();
        on_order_placed(&mut p, &order("A1", &["thee"]), &qs, t(NOW));
        assert!(on_order_placed(&mut p, &order("A2", &["thee"]), &qs, t(NOW)).is_empty());
        assert!(p.questions_asked.is_empty());
        let in_april = t("2026-04-10T00:00:00Z");
        assert_eq!(
            on_order_placed(&mut p, &order("A3", &["thee"]), &qs, in_april).len(),
            1
        );
        let after = t("2026-05-01T00:00:00Z");
        let mut late = profile();
        on_order_placed(&mut late, &order("B1", &["thee"]), &qs, after);
        assert!(on_order_placed(&mut late, &order("B2", &["thee"]), &qs, after).is_empty());
    }

    #[test]
    fn the_profile_part_stays_small_and_forgets_removed_questions() {
        let qs: Vec<Question> = (0..MAX_QUESTIONS)
            .map(|i| {
                question(
                    &format!("{i:0>width$}", width = MAX_ID),
                    &format!("{i:x>width$}", width = MAX_CATEGORY),
                )
            })
            .collect();
        let cats: Vec<&str> = qs.iter().map(|q| q.category.as_str()).collect();
        let mut p = profile();
        on_order_placed(&mut p, &order("A1", &cats), &qs, t(NOW));
        assert_eq!(
            on_order_placed(&mut p, &order("A2", &cats), &qs, t(NOW)).len(),
            10
        );
        let bytes = serde_json::to_vec(&(&p.category_orders, &p.questions_asked)).unwrap();
        assert!(bytes.len() < 1024, "{} bytes", bytes.len());
        on_order_placed(&mut p, &order("A3", &[]), &qs[..1], t(NOW));
        assert_eq!(p.category_orders.len(), 1);
        assert_eq!(p.questions_asked.len(), 1);
    }

    #[test]
    fn the_first_answer_to_an_asked_question_counts() {
        let qs = [question("thee-smaak", "thee"), question("ander", "koffie")];
        let mut p = profile();
        let answer = |p: &mut CustomerProfile, id: &str, option: u8| {
            record_answer(p, id, option, None, true, &qs, t(NOW)).map(|(what, _)| what)
        };
        assert_eq!(answer(&mut p, "thee-smaak", 1), None, "not asked");
        on_order_placed(&mut p, &order("A1", &["thee"]), &qs, t(NOW));
        on_order_placed(&mut p, &order("A2", &["thee"]), &qs, t(NOW));
        assert_eq!(answer(&mut p, "thee-smaak", 3), None, "no such answer");
        assert_eq!(answer(&mut p, "weg", 0), None, "no such question");
        assert_eq!(answer(&mut p, "ander", 0), None, "not asked");
        assert_eq!(
            answer(&mut p, "thee-smaak", 1),
            Some(ActivityKind::QuestionAnswered {
                question_id: "thee-smaak".into(),
                option: 1,
                answer: "Rooibos".into(),
            })
        );
        assert_eq!(answer(&mut p, "thee-smaak", 2), None, "once");
        assert_eq!(p.questions_answered, vec!["thee-smaak".to_owned()]);
    }

    #[test]
    fn free_text_is_kept_only_where_invited_within_bounds_and_while_words_are_allowed() {
        let invites = question("thee-smaak", "thee");
        let mut closed = question("ander", "thee");
        closed.free_text = false;
        assert_eq!(
            free_text(&invites, Some("  Meer groene thee \n")),
            Ok(Some("Meer groene thee".into()))
        );
        assert_eq!(free_text(&invites, Some("   ")), Ok(None));
        assert_eq!(free_text(&invites, None), Ok(None));
        assert_eq!(
            free_text(&closed, Some("iets")),
            Err(FreeTextRefused::NotInvited)
        );
        assert_eq!(
            free_text(&closed, Some(" ")),
            Ok(None),
            "a blank field is no words"
        );
        let letters = "a".repeat(MAX_FREE_TEXT);
        assert_eq!(
            free_text(&invites, Some(&letters)),
            Ok(Some(letters.clone()))
        );
        assert_eq!(
            free_text(&invites, Some(&format!("{letters}a"))),
            Err(FreeTextRefused::TooLong)
        );
        let emoji = "😀".repeat(MAX_FREE_TEXT_BYTES / 4 + 1);
        assert_eq!(
            free_text(&invites, Some(&emoji)),
            Err(FreeTextRefused::TooLong)
        );

        let qs = [invites, closed];
        let asked = || {
            let mut p = profile();
            p.questions_asked = vec!["thee-smaak".into(), "ander".into()];
            p
        };
        let kept = |p: &mut CustomerProfile, id: &str, allowed: bool| {
            record_answer(p, id, 0, Some("Meer rooibos"), allowed, &qs, t(NOW))
                .map(|(_, answer)| answer.free_text)
        };
        assert_eq!(
            kept(&mut asked(), "thee-smaak", true),
            Some(Some("Meer rooibos".into()))
        );
        assert_eq!(
            kept(&mut asked(), "thee-smaak", false),
            Some(None),
            "erased: the choice only"
        );
        assert_eq!(
            kept(&mut asked(), "ander", true),
            Some(None),
            "not invited: the choice only"
        );
    }

    #[test]
    fn check_names_the_field() {
        let ok = question("thee-smaak", "thee");
        assert_eq!(check(std::slice::from_ref(&ok)), Ok(()));
        let mut one = ok.clone();
        one.options.truncate(1);
        assert_eq!(
            check(&[one]).unwrap_err(),
            "questions[0].options: 2 to 6 answers to choose from"
        );
        let mut seven = ok.clone();
        seven.options = (0..7).map(|i| i.to_string()).collect();
        assert!(
            check(&[seven])
                .unwrap_err()
                .starts_with("questions[0].options:")
        );
        let mut twice = ok.clone();
        twice.options[2] = "Jasmijn".into();
        assert!(
            check(&[twice])
                .unwrap_err()
                .starts_with("questions[0].options[2]:")
        );
        assert!(
            check(&[ok.clone(), ok.clone()])
                .unwrap_err()
                .starts_with("questions[1].id:")
        );
        let mut bad_id = ok.clone();
        bad_id.id = "a b".into();
        assert!(
            check(&[bad_id])
                .unwrap_err()
                .starts_with("questions[0].id:")
        );
        let mut empty = ok.clone();
        empty.text = " ".into();
        assert!(
            check(&[empty])
                .unwrap_err()
                .starts_with("questions[0].text:")
        );
        let mut window = ok.clone();
        window.active_from = Some(t("2026-05-01T00:00:00Z"));
        window.active_until = Some(t("2026-04-01T00:00:00Z"));
        assert!(
            check(&[window])
                .unwrap_err()
                .starts_with("questions[0].active_until:")
        );
        let many: Vec<Question> = (0..11).map(|i| question(&i.to_string(), "thee")).collect();
        assert!(check(&many).unwrap_err().starts_with("questions:"));
    }
}
