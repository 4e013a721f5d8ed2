//! Email templates (minijinja), bundled into the binary: one subject, HTML and plain-text part
//! per kind and locale under `shared/templates/`. Values are HTML-escaped in HTML parts; a
//! template that prints a variable it was not given fails (semi-strict), and a test renders
//! every template in every locale to prove none does.

use minijinja::{Environment, UndefinedBehavior, Value};

/// Locales with bundled templates; `nl` is the fallback.
pub const LOCALES: [&str; 2] = ["nl", "en"];
/// Kinds with templates.
pub const KINDS: [&str; 21] = [
    "loyalty-earned",
    "loyalty-confirmed",
    "loyalty-reversed",
    "tier-reached",
    "tier-changed",
    "points-expiring",
    "birthday",
    "care-tip",
    "survey",
    "survey-promoter",
    "survey-detractor",
    "detractor-alert",
    "pool-low",
    "welcome-after-move",
    "reactivation",
    "replenishment",
    "contract-ending",
    "yearly-recap",
    "question",
    "out-of-stock-alternative",
    "back-in-stock",
];

macro_rules! bundled {
    ($($locale:literal / $kind:literal),* $(,)?) => {
        &[
            ("layout.html", include_str!("../../templates/layout.html")),
            $(
                (concat!($locale, "/", $kind, ".subject.txt"), include_str!(concat!("../../templates/", $locale, "/", $kind, ".subject.txt"))),
                (concat!($locale, "/", $kind, ".html"), include_str!(concat!("../../templates/", $locale, "/", $kind, ".html"))),
                (concat!($locale, "/", $kind, ".txt"), include_str!(concat!("../../templates/", $locale, "/", $kind, ".txt"))),
            )*
        ]
    };
}

const TEMPLATES: &[(&str, &str)] = bundled!(
    "nl" / "loyalty-earned",
    "nl" / "loyalty-confirmed",
    "nl" / "loyalty-reversed",
    "nl" / "tier-reached",
    "nl" / "tier-changed",
    "nl" / "points-expiring",
    "nl" / "birthday",
    "nl" / "care-tip",
    "nl" / "survey",
    "nl" / "survey-promoter",
    "nl" / "survey-detractor",
    "nl" / "detractor-alert",
    "nl" / "pool-low",
    "nl" / "welcome-after-move",
    "nl" / "reactivation",
    "nl" / "replenishment",
    "nl" / "contract-ending",
    "nl" / "yearly-recap",
    "nl" / "question",
    "nl" / "out-of-stock-alternative",
    "nl" / "back-in-stock",
    "en" / "loyalty-earned",
    "en" / "loyalty-confirmed",
    "en" / "loyalty-reversed",
    "en" / "tier-reached",
    "en" / "tier-changed",
    "en" / "points-expiring",
    "en" / "birthday",
    "en" / "care-tip",
    "en" / "survey",
    "en" / "survey-promoter",
    "en" / "survey-detractor",
    "en" / "detractor-alert",
    "en" / "pool-low",
    "en" / "welcome-after-move",
    "en" / "reactivation",
    "en" / "replenishment",
    "en" / "contract-ending",
    "en" / "yearly-recap",
    "en" / "question",
    "en" / "out-of-stock-alternative",
    "en" / "back-in-stock",
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub locale: &'static str,
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
#[error("template {template}: {message}")]
pub struct RenderError {
    pub template: String,
    pub message: String,
}

pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("bundled templates parse (checked by a test)");
        }
        Renderer { env }
    }

    /// The customer's language if bundled, else the shop's default if bundled, else Dutch.
    pub fn locale_for(customer: Option<&str>, shop_default: &str) -> &'static str {
        let language = |tag: &str| LOCALES.iter().copied().find(|l| tag.get(..2) == Some(*l));
        customer
            .and_then(language)
            .or_else(|| language(shop_default))
            .unwrap_or("nl")
    }

    /// Renders the three parts of `kind` in `locale` with `context`.
    pub fn render(
        &self,
        kind: &str,
        locale: &'static str,
        context: &Value,
    ) -> Result<Rendered, RenderError> {
        let part = |suffix: &str| -> Result<String, RenderError> {
            let name = format!("{locale}/{kind}.{suffix}");
            let error = |e: minijinja::Error| RenderError {
                template: name.clone(),
                message: e.to_string(),
            };
            self.env
                .get_template(&name)
                .map_err(error)?
                .render(context)
                .map_err(error)
        };
        Ok(Rendered {
            locale,
            subject: part("subject.txt")?.trim().to_owned(),
            html: part("html")?,
            text: part("txt")?,
        })
    }
}

/// Sample contexts for every kind, for `make preview` and the template test: a full one and
/// one with every optional value left out.
pub fn samples(kind: &str, locale: &str) -> [serde_json::Value; 2] {
    use serde_json::json;
    let base = |extra: serde_json::Value, full: bool| {
        let mut v = json!({
            "locale": locale,
            "shop": if full {
                json!({ "name": "Bakker & Zn <Delft>", "logo_url": "https://example.nl/logo.png", "primary_colour": "#8a3b12", "website_url": "https://example.nl" })
            } else {
                json!({ "name": "Demo Winkel", "logo_url": null, "primary_colour": null, "website_url": null })
            },
            "customer": { "first_name": if full { json!("Anna") } else { json!(null) } },
            "unsubscribe_url": "https://trouw.example/u/dTEfZGVtbx9jdXMtODgxMg.c2lnbmF0dXJl",
            "preferences_url": "https://trouw.example/u/dTEfZGVtbx9jdXMtODgxMg.c2lnbmF0dXJl",
            "return_window_days": 30,
        });
        for (k, val) in extra.as_object().expect("object").clone() {
            v[k] = val;
        }
        v
    };
    match kind {
        "loyalty-earned" => [
            base(
                json!({ "order_id": "NL-100482", "points": 64, "points_pending": 64, "points_available": 120, "tier": "Brons", "next_tier": "Zilver", "points_to_next_tier": 66 }),
                true,
            ),
            base(
                json!({ "order_id": "NL-100482", "points": 64, "points_pending": 64, "points_available": 0, "tier": null, "next_tier": null, "points_to_next_tier": null }),
                false,
            ),
        ],
        "loyalty-confirmed" => [
            base(
                json!({ "order_id": "NL-100482", "points": 64, "points_pending": 0, "points_available": 184 }),
                true,
            ),
            base(
                json!({ "order_id": "NL-100482", "points": 1, "points_pending": 0, "points_available": 1 }),
                false,
            ),
        ],
        "loyalty-reversed" => [
            base(
                json!({ "order_id": "NL-100482", "points": 53, "points_pending": 11, "points_available": 120 }),
                true,
            ),
            base(
                json!({ "order_id": "NL-100482", "points": 53, "points_pending": 11, "points_available": 0 }),
                false,
            ),
        ],
        "care-tip" => [
            base(
                json!({ "order_id": "NL-100482", "category": "apparaten", "title": "Opzetborstel <vervangen>", "text": "Vervang je opzetborstel elke drie maanden & spoel hem goed af." }),
                true,
            ),
            base(
                json!({ "order_id": "NL-100482", "category": "apparaten", "title": "Opladen", "text": "Laad pas op als hij bijna leeg is." }),
                false,
            ),
        ],
        "survey" => {
            let links: Vec<serde_json::Value> = (0..=10).map(|s| json!({ "score": s, "url": format!("https://trouw.example/s/c2lnbmVk.dG9rZW4?score={s}") })).collect();
            [
                base(
                    json!({ "order_id": "NL-100482", "score_links": links }),
                    true,
                ),
                base(
                    json!({ "order_id": "NL-100482", "score_links": links }),
                    false,
                ),
            ]
        }
        "survey-promoter" => [
            base(
                json!({ "order_id": "NL-100482", "review_url": "https://www.kiyoh.com/demo-winkel" }),
                true,
            ),
            base(
                json!({ "order_id": "NL-100482", "review_url": null }),
                false,
            ),
        ],
        "survey-detractor" => [
            base(json!({ "order_id": "NL-100482" }), true),
            base(json!({ "order_id": "NL-100482" }), false),
        ],
        "detractor-alert" => [
            base(
                json!({ "order_id": "NL-100482", "customer_id": "cus-8812", "score": 4, "comment": "De doos was kapot <en> de tandpasta lekte." }),
                true,
            ),
            base(
                json!({ "order_id": "NL-100482", "customer_id": "cus-8812", "score": 0 }),
                false,
            ),
        ],
        "pool-low" => [
            base(
                json!({ "reward": "r5", "reward_name": "€5 <korting>", "codes_left": 49, "mark": 50 }),
                true,
            ),
            base(
                json!({ "reward": "naar-keuze", "reward_name": "Korting naar keuze", "codes_left": 0, "mark": 50 }),
                false,
            ),
        ],
        "reactivation" => [
            base(
                json!({ "months_since_last_order": 8, "keep_url": "https://trouw.example/r/cjEfZGVtbx9jdXMtODgxMg.c2ln?keep=1", "survey_url": "https://trouw.example/r/cjEfZGVtbx9jdXMtODgxMg.c2ln" }),
                true,
            ),
            base(
                json!({ "months_since_last_order": 1, "keep_url": "https://trouw.example/r/x.y?keep=1", "survey_url": "https://trouw.example/r/x.y" }),
                false,
            ),
        ],
        "replenishment" => [
            base(
                json!({ "order_id": "NL-100482", "sku": "TP-075", "product_name": "Tandpasta <mint> 75 ml", "quantity": 3, "run_out_on": "2027-07-30" }),
                true,
            ),
            base(
                json!({ "order_id": "NL-100482", "sku": "TP-075", "product_name": null, "quantity": 1, "run_out_on": "2027-02-01" }),
                false,
            ),
        ],
        "contract-ending" => [
            base(
                json!({ "order_id": "NL-100482", "sku": "ONDERHOUD-1J", "product_name": "Onderhoudscontract <fiets>", "ends_on": "2027-11-02", "days_left": 30, "renewal_url": "https://www.demo-winkel.nl/verlengen?plan=1j", "last": false }),
                true,
            ),
            base(
                json!({ "order_id": "NL-100482", "sku": "ONDERHOUD-1J", "product_name": null, "ends_on": "2027-11-02", "days_left": 1, "renewal_url": "https://www.demo-winkel.nl/verlengen", "last": true }),
                false,
            ),
        ],
        "yearly-recap" => [
            base(
                json!({ "years": 1, "orders": 4, "favourite_category": "mondverzorging <&>", "points_earned": 212, "tier": "Zilver", "anniversary_points": 100, "points_available": 312 }),
                true,
            ),
            base(
                json!({ "years": 3, "orders": 2, "favourite_category": null, "points_earned": 1, "tier": null, "anniversary_points": null, "points_available": 0 }),
                false,
            ),
        ],
        "question" => {
            let options = ["Jasmijn <&>", "Rooibos", "Chai"];
            let links: Vec<serde_json::Value> = options.iter().enumerate().map(|(i, o)| json!({ "option": o, "url": format!("https://trouw.example/q/c2lnbmVk.dG9rZW4?option={i}") })).collect();
            [
                base(
                    json!({ "question_id": "thee-smaak", "category": "thee <&>", "text": "Welke smaak moeten we <echt> toevoegen?", "options": options, "free_text": true, "answer_links": links }),
                    true,
                ),
                base(
                    json!({ "question_id": "thee-smaak", "category": "thee", "text": "Which flavour next?", "options": options, "free_text": false, "answer_links": links }),
                    false,
                ),
            ]
        }
        "out-of-stock-alternative" => [
            base(
                json!({ "sku": "TP-075", "product_name": "Tandpasta <mint> & co", "expected_back_on": "2027-01-08", "alternatives": [
                    { "sku": "TP-125", "name": "Tandpasta mint 125 ml <groot>", "url": "https://example.nl/p/tp-125?a=1&b=2" },
                    { "sku": "TP-075-K", "name": "Tandpasta kruidnagel", "url": "https://example.nl/p/tp-075-k" }
                ] }),
                true,
            ),
            base(json!({ "sku": "TP-075" }), false),
        ],
        "back-in-stock" => [
            base(
                json!({ "sku": "TP-075", "product_name": "Tandpasta <mint> & co" }),
                true,
            ),
            base(json!({ "sku": "TP-075", "product_name": null }), false),
        ],
        "tier-reached" => [
            base(json!({ "tier": "Zilver", "points": 250 }), true),
            base(json!({ "tier": "Zilver", "points": 250 }), false),
        ],
        "tier-changed" => [
            base(json!({ "previous": "Goud", "tier": "Zilver" }), true),
            base(json!({ "previous": "Brons" }), false),
        ],
        "points-expiring" => [
            base(
                json!({ "points": 420, "expires_on": "2027-03-10", "days_before": 30 }),
                true,
            ),
            base(
                json!({ "points": 1, "expires_on": "2027-03-10", "days_before": 7 }),
                false,
            ),
        ],
        "birthday" => [
            base(json!({ "points": 100, "points_available": 620 }), true),
            base(json!({ "points": 1, "points_available": 1 }), false),
        ],
        _ => [
            base(json!({ "coupon_code": "WELKOMTHUIS" }), true),
            base(json!({ "coupon_code": null }), false),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_in_every_locale_without_missing_variables() {
        let renderer = Renderer::new();
        for kind in KINDS {
            for locale in LOCALES {
                for sample in samples(kind, locale) {
                    let out = renderer
                        .render(kind, locale, &Value::from(minijinja::value::Serde(&sample)))
                        .unwrap_or_else(|e| panic!("{kind}/{locale}: {e}"));
                    assert!(
                        !out.subject.is_empty() && !out.subject.contains('\n'),
                        "{kind}/{locale} subject"
                    );
                    assert!(
                        out.html.contains("u/dTEfZGVtbx9jdXMtODgxMg")
                            || out.html.contains("u&#x2f;dTEfZGVtbx9jdXMtODgxMg"),
                        "{kind}/{locale}: visible unsubscribe link"
                    );
                    assert!(
                        out.text
                            .contains("https://trouw.example/u/dTEfZGVtbx9jdXMtODgxMg"),
                        "{kind}/{locale}: unsubscribe URL in the text part"
                    );
                    assert!(
                        !out.html.contains("<Delft>"),
                        "{kind}/{locale}: values are HTML-escaped"
                    );
                    assert!(
                        !out.html.contains("None")
                            && !out.text.contains("None")
                            && !out.text.contains("none"),
                        "{kind}/{locale}: no empty values printed"
                    );
                }
            }
        }
    }

    #[test]
    fn a_missing_variable_fails_the_render() {
        let renderer = Renderer::new();
        let mut sample = samples("loyalty-earned", "nl")[0].clone();
        sample.as_object_mut().unwrap().remove("points");
        assert!(
            renderer
                .render(
                    "loyalty-earned",
                    "nl",
                    &Value::from(minijinja::value::Serde(&sample))
                )
                .is_err()
        );
    }

    #[test]
    fn locale_falls_back_to_the_shop_then_dutch() {
        assert_eq!(Renderer::locale_for(Some("en-GB"), "nl"), "en");
        assert_eq!(Renderer::locale_for(Some("de"), "en"), "en");
        assert_eq!(Renderer::locale_for(None, "fr"), "nl");
    }
}
