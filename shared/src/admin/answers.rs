//! The answers page's figures, pure: per question the answers counted per option with their
//! share, and the customers' own words, newest first, with whatever looks like an email or
//! postal address taken out before a marketer reads them.

use crate::domain::Timestamp;
use crate::domain::questions::{AnswerRead, Question};
use serde::Serialize;

/// What stands where something that looked like an address was taken out.
pub const REMOVED: &str = "[…]";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionFigure {
    pub text: String,
    pub count: u64,
    /// Percent of the question's answers, one decimal (`"62.5"`); `None` without answers.
    pub share: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Words {
    pub at: Timestamp,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionFigures {
    pub id: String,
    pub category: String,
    pub text: String,
    pub answers: u64,
    pub options: Vec<OptionFigure>,
    /// Answers to an option the question no longer has (the shop shortened its list).
    pub other_answers: u64,
    /// The newest words, newest first, at most `cap`, addresses taken out.
    pub words: Vec<Words>,
    /// How many answers came with words (also those not shown).
    pub words_total: u64,
}

/// The figures of one question from all its answers; `cap` bounds the words shown.
pub fn figures(question: &Question, answers: &[AnswerRead], cap: usize) -> QuestionFigures {
    let mut counts = vec![0_u64; question.options.len()];
    let mut other = 0;
    for answer in answers {
        match counts.get_mut(usize::from(answer.option)) {
            Some(n) => *n += 1,
            None => other += 1,
        }
    }
    let total = answers.len() as u64;
    let options = question
        .options
        .iter()
        .zip(&counts)
        .map(|(text, &count)| OptionFigure {
            text: text.clone(),
            count,
            share: share(count, total),
        })
        .collect();
    let mut with_words: Vec<(&Timestamp, &str)> = answers
        .iter()
        .filter_map(|a| a.free_text.as_deref().map(|t| (&a.at, t)))
        .collect();
    let words_total = with_words.len() as u64;
    with_words.sort_by(|a, b| b.0.cmp(a.0));
    QuestionFigures {
        id: question.id.clone(),
        category: question.category.clone(),
        text: question.text.clone(),
        answers: total,
        options,
        other_answers: other,
        words: with_words
            .into_iter()
            .take(cap)
            .map(|(at, text)| Words {
                at: *at,
                text: without_addresses(text),
            })
            .collect(),
        words_total,
    }
}

fn share(count: u64, total: u64) -> Option<String> {
    (total > 0).then(|| {
        let tenths = (count * 1000 + total / 2) / total;
        format!("{}.{}", tenths / 10, tenths % 10)
    })
}

/// Words that end a street's name (Dutch, English, German), compared in lower case.
const STREET_ENDINGS: &[&str] = &[
    "straat",
    "laan",
    "weg",
    "plein",
    "gracht",
    "kade",
    "singel",
    "dijk",
    "steeg",
    "hof",
    "pad",
    "dreef",
    "markt",
    "baan",
    "wal",
    "burgwal",
    "haven",
    "park",
    "ring",
    "plantsoen",
    "street",
    "road",
    "avenue",
    "lane",
    "drive",
    "close",
    "crescent",
    "strasse",
    "straße",
    "allee",
    "gasse",
];

/// The customer's words without anything that looks like an email or postal address: an
/// email address (`name@domain.tld`), a Dutch postcode (`1016 GV`, `1016GV`), a British one
/// (`SW1A 1AA`), a street with its house number either way round (`Kerkstraat 12a`,
/// `12 Baker Street`) and a PO box (`Postbus 123`, `PO Box 12`). Each run of such words becomes
/// [`REMOVED`]; the rest stays as written. It takes out more rather than less (`weg 2` in
/// "ik was weg 2 weken" goes too).
pub fn without_addresses(text: &str) -> String {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let bare: Vec<String> = tokens.iter().map(|t| trimmed(t).to_owned()).collect();
    let mut gone = vec![false; tokens.len()];
    for i in 0..tokens.len() {
        let next = bare.get(i + 1).map(String::as_str);
        let word = bare[i].as_str();
        if is_email(word) || is_joined_postcode(word) {
            gone[i] = true;
        }
        if let Some(next) = next {
            let lower = word.to_lowercase();
            let split_postcode = is_nl_postcode_digits(word) && is_upper_letters(next, 2);
            let uk_postcode = is_uk_outward(word) && is_uk_inward(next);
            let street_then_number =
                STREET_ENDINGS.iter().any(|e| lower.ends_with(e)) && is_house_number(next);
            let po_box = (lower == "postbus" || lower == "box") && is_house_number(next);
            if split_postcode || uk_postcode || street_then_number || po_box {
                gone[i] = true;
                gone[i + 1] = true;
            }
        }
        // `12 Baker Street`: a number, then up to three words, the last a street's.
        if is_house_number(word) {
            for span in 1..=3 {
                let Some(last) = bare.get(i + span) else {
                    break;
                };
                let lower = last.to_lowercase();
                if STREET_ENDINGS
                    .iter()
                    .any(|e| lower == *e || lower.ends_with(e))
                    && bare[i + 1..=i + span]
                        .iter()
                        .all(|w| w.chars().next().is_some_and(char::is_uppercase))
                {
                    for g in &mut gone[i..=i + span] {
                        *g = true;
                    }
                    break;
                }
            }
        }
    }
    let mut out: Vec<&str> = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        if !gone[i] {
            out.push(token);
        } else if i == 0 || !gone[i - 1] {
            out.push(REMOVED);
        }
    }
    out.join(" ")
}

/// A word without the punctuation around it.
fn trimmed(token: &str) -> &str {
    token.trim_matches(|c: char| !(c.is_alphanumeric() || c == '@'))
}

fn is_email(word: &str) -> bool {
    word.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain
                .split_once('.')
                .is_some_and(|(host, tld)| !host.is_empty() && !tld.is_empty())
    })
}

fn is_nl_postcode_digits(word: &str) -> bool {
    word.len() == 4 && word.bytes().all(|b| b.is_ascii_digit()) && !word.starts_with('0')
}

fn is_upper_letters(word: &str, n: usize) -> bool {
    word.len() == n && word.bytes().all(|b| b.is_ascii_uppercase())
}

/// `1016GV`.
fn is_joined_postcode(word: &str) -> bool {
    word.len() == 6 && is_nl_postcode_digits(&word[..4]) && is_upper_letters(&word[4..], 2)
}

/// The first half of a British postcode: a letter or two, a digit, then a digit or letter.
fn is_uk_outward(word: &str) -> bool {
    let b = word.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    (2..=4).contains(&b.len())
        && (1..=2).contains(&letters)
        && b.get(letters).is_some_and(u8::is_ascii_digit)
        && b[letters + 1..]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

/// The second half: a digit and two letters.
fn is_uk_inward(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 3 && b[0].is_ascii_digit() && is_upper_letters(&word[1..], 2)
}

/// `12`, `12a`, `12-3`, `12bis`: digits first, at most 5, then a short addition.
fn is_house_number(word: &str) -> bool {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    (1..=5).contains(&digits)
        && word.len() - digits <= 4
        && word[digits..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question() -> Question {
        Question {
            id: "smaak".into(),
            category: "thee".into(),
            text: "Welke smaak?".into(),
            options: vec!["Jasmijn".into(), "Rooibos".into(), "Chai".into()],
            free_text: true,
            active_from: None,
            active_until: None,
        }
    }

    fn answer(option: u8, second: i64, words: Option<&str>) -> AnswerRead {
        AnswerRead {
            option,
            at: Timestamp::from_second(1_800_000_000 + second).unwrap(),
            free_text: words.map(str::to_owned),
        }
    }

    #[test]
    fn counts_shares_and_the_newest_words_first_capped() {
        let answers = [
            answer(1, 1, Some("eerste")),
            answer(1, 3, Some("derde")),
            answer(0, 2, None),
            answer(2, 4, Some("vierde")),
            answer(7, 5, None),
        ];
        let f = figures(&question(), &answers, 2);
        assert_eq!(f.answers, 5);
        let counts: Vec<u64> = f.options.iter().map(|o| o.count).collect();
        assert_eq!(counts, [1, 2, 1]);
        assert_eq!(f.options[1].share.as_deref(), Some("40.0"));
        assert_eq!(f.other_answers, 1);
        assert_eq!(f.words_total, 3);
        let shown: Vec<&str> = f.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(shown, ["vierde", "derde"]);
        let none = figures(&question(), &[], 10);
        assert_eq!(none.answers, 0);
        assert_eq!(none.options[0].share, None);
        assert_eq!(share(1, 3).as_deref(), Some("33.3"));
        assert_eq!(share(2, 3).as_deref(), Some("66.7"));
    }

    #[test]
    fn addresses_are_taken_out_of_the_words() {
        assert_eq!(
            without_addresses("Mail me op anna.devries@example.nl, graag!"),
            "Mail me op […] graag!"
        );
        assert_eq!(
            without_addresses("Stuur het naar Kerkstraat 12a, 1016 GV Amsterdam."),
            "Stuur het naar […] Amsterdam."
        );
        assert_eq!(
            without_addresses("Postcode 1016GV, Van Woustraat 101-3"),
            "Postcode […]"
        );
        assert_eq!(
            without_addresses("Kom langs: Van Woustraat 101-3!"),
            "Kom langs: Van […]"
        );
        assert_eq!(
            without_addresses("I live at 221b Baker Street, London NW1 6XE"),
            "I live at […] London […]"
        );
        assert_eq!(without_addresses("Postbus 1234 graag"), "[…] graag");
        assert_eq!(without_addresses("PO Box 12"), "PO […]");
        // Ordinary words stay, also numbers that are no address.
        for kept in [
            "Meer groene thee, en 2 soorten chai!",
            "Ik drink 1000 ml per dag",
            "Een @ in een zin of user@localhost",
            "In 2026 graag meer rooibos",
        ] {
            assert_eq!(without_addresses(kept), kept);
        }
    }
}
