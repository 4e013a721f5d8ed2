//! The pages' words in Dutch and English: the interface's own words ([`labels`]) and the label
//! of every code the product stores (statuses, kinds, classes, reasons, activities, points
//! lines, ...), so that no page shows a raw code ([`code`]). The one place for them: pages ask
//! here and never spell a code out themselves.

use serde_json::Value;

/// The families of stored codes that pages show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// A message's status, and the steps of its history.
    Status,
    /// A message's kind (its template).
    Kind,
    Class,
    /// Why a message was skipped, deferred, held out or not known to be sent.
    Reason,
    /// A timeline entry.
    Activity,
    /// A line of the points history.
    Entry,
    Engagement,
    Lifecycle,
    /// A customer's answer to "why did you stop?".
    Lapse,
    AuditAction,
    AuditPage,
    Format,
    /// Parts of a customer's mail standing.
    Mail,
    /// A field of what the rules put in a message.
    Field,
}

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Status => "status",
            Group::Kind => "kind",
            Group::Class => "class",
            Group::Reason => "reason",
            Group::Activity => "activity",
            Group::Entry => "entry",
            Group::Engagement => "engagement",
            Group::Lifecycle => "lifecycle",
            Group::Lapse => "lapse",
            Group::AuditAction => "audit_action",
            Group::AuditPage => "audit_page",
            Group::Format => "format",
            Group::Mail => "mail",
            Group::Field => "field",
        }
    }
}

/// The label of a stored code in `lang`. A code without a label (one added without its words)
/// is still never shown raw: its underscores and dashes become spaces.
pub fn code(lang: &str, group: Group, code: &str) -> String {
    CODES
        .iter()
        .find(|(g, c, _, _)| *g == group.name() && *c == code)
        .map(|(_, _, nl, en)| if lang == "en" { *en } else { *nl })
        .map_or_else(|| code.replace(['_', '-'], " "), str::to_owned)
}

/// Every labelled code: what a page must never show as it is stored.
pub fn codes() -> impl Iterator<Item = &'static str> {
    CODES.iter().map(|(_, c, _, _)| *c)
}

/// Whether `group` has a label for `code`.
pub fn has_label(group: Group, code: &str) -> bool {
    CODES
        .iter()
        .any(|(g, c, _, _)| *g == group.name() && *c == code)
}

/// The filters an audit entry recorded (`kind=care-tip status=held_out ...`), in words.
pub fn filters(lang: &str, recorded: &str) -> String {
    recorded
        .split(' ')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((name, value)) => {
                let value = match name {
                    // A message key: its kind, then what caused it.
                    "key" => match value.split_once('#') {
                        Some((kind, cause)) => {
                            format!("{} · {cause}", code(lang, Group::Kind, kind))
                        }
                        None => value.to_owned(),
                    },
                    "kind" => code(lang, Group::Kind, value),
                    "class" => code(lang, Group::Class, value),
                    "status" => code(lang, Group::Status, value),
                    _ => value.to_owned(),
                };
                let name = match (name, lang == "en") {
                    ("from", true) => "from",
                    ("from", false) => "van",
                    ("to", true) => "to",
                    ("to", false) => "tot en met",
                    ("kind", true) => "kind",
                    ("kind", false) => "soort",
                    ("class", true) => "class",
                    ("class", false) => "klasse",
                    ("status", _) => "status",
                    ("customer", true) => "customer",
                    ("customer", false) => "klant",
                    ("email", true) => "email",
                    ("email", false) => "e-mail",
                    ("key", true) => "message",
                    ("key", false) => "bericht",
                    ("page", true) => "page",
                    ("page", false) => "pagina",
                    (other, _) => other,
                };
                format!("{name}: {value}")
            }
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "waited: frequency cap until 10:00": a deferral in a message's history.
pub fn waited(lang: &str, reason: &str, until: &str) -> String {
    let reason = code(lang, Group::Reason, reason);
    if lang == "en" {
        format!("waited: {reason} until {until}")
    } else {
        format!("wachtte: {reason} tot {until}")
    }
}

/// Deferrals a message's history no longer lists one by one (it keeps the first and the
/// latest).
pub fn waited_more(lang: &str, times: u32) -> String {
    match (lang, times) {
        ("en", 1) => "waited once more in between".to_owned(),
        ("en", n) => format!("waited {n} more times in between"),
        (_, 1) => "wachtte daartussen nog één keer".to_owned(),
        (_, n) => format!("wachtte daartussen nog {n} keer"),
    }
}

/// An attributed order on a message's timeline row: how many whole days after the send the
/// first order came, and how many orders the message earned.
pub fn ordered_after(lang: &str, days: u32, orders: u32) -> String {
    let more = orders.saturating_sub(1);
    let (first, extra) = match (lang, days) {
        ("en", 0) => ("ordered the day this email went".to_owned(), "more orders"),
        ("en", 1) => ("ordered 1 day after this email".to_owned(), "more orders"),
        ("en", n) => (format!("ordered {n} days after this email"), "more orders"),
        (_, 0) => (
            "besteld op de dag van deze e-mail".to_owned(),
            "bestellingen meer",
        ),
        (_, 1) => (
            "besteld 1 dag na deze e-mail".to_owned(),
            "bestellingen meer",
        ),
        (_, n) => (
            format!("besteld {n} dagen na deze e-mail"),
            "bestellingen meer",
        ),
    };
    let extra = match (more, lang) {
        (1, "en") => "more order",
        (1, _) => "bestelling meer",
        _ => extra,
    };
    if more == 0 {
        first
    } else {
        format!("{first} (+{more} {extra})")
    }
}

/// (group, code, Dutch, English)
const CODES: &[(&str, &str, &str, &str)] = &[
    ("status", "created", "aangemaakt", "created"),
    (
        "status",
        "pending",
        "wacht op verzending",
        "waiting to be sent",
    ),
    ("status", "sending", "wordt verstuurd", "being sent"),
    (
        "status",
        "unknown",
        "onbekend of verstuurd",
        "not known whether sent",
    ),
    ("status", "sent", "verstuurd", "sent"),
    ("status", "skipped", "overgeslagen", "skipped"),
    ("status", "deferred", "uitgesteld", "deferred"),
    ("status", "failed", "mislukt", "failed"),
    ("status", "held_out", "controlegroep", "held out"),
    ("status", "delivered", "afgeleverd", "delivered"),
    (
        "status",
        "delivery_delayed",
        "aflevering vertraagd",
        "delivery delayed",
    ),
    ("status", "bounced", "gebouncet", "bounced"),
    ("status", "complained", "als spam gemeld", "marked as spam"),
    ("status", "opened", "geopend", "opened"),
    ("status", "clicked", "geklikt", "clicked"),
    ("status", "rejected", "geweigerd", "rejected"),
    (
        "status",
        "rendering_failed",
        "opmaak mislukt",
        "rendering failed",
    ),
    ("status", "waited", "gewacht", "waited"),
    ("kind", "loyalty-earned", "punten gespaard", "points earned"),
    (
        "kind",
        "loyalty-confirmed",
        "punten bevestigd",
        "points confirmed",
    ),
    (
        "kind",
        "loyalty-reversed",
        "punten teruggenomen",
        "points taken back",
    ),
    ("kind", "tier-reached", "nieuw niveau", "tier reached"),
    ("kind", "care-tip", "verzorgingstip", "care tip"),
    (
        "kind",
        "survey",
        "tevredenheidsvraag",
        "satisfaction survey",
    ),
    (
        "kind",
        "survey-promoter",
        "dank aan promotor",
        "thanks to a promoter",
    ),
    (
        "kind",
        "survey-detractor",
        "opvolging criticaster",
        "follow-up of a detractor",
    ),
    (
        "kind",
        "detractor-alert",
        "melding criticaster",
        "detractor alert",
    ),
    (
        "kind",
        "pool-low",
        "kortingscodes bijna op",
        "discount codes running low",
    ),
    (
        "kind",
        "welcome-after-move",
        "welkom na verhuizing",
        "welcome after a move",
    ),
    ("kind", "reactivation", "heractivatie", "reactivation"),
    (
        "kind",
        "replenishment",
        "bijna op",
        "replenishment reminder",
    ),
    (
        "kind",
        "points-expiring",
        "punten vervallen binnenkort",
        "points expiring",
    ),
    ("kind", "birthday", "verjaardag", "birthday"),
    (
        "kind",
        "contract-ending",
        "contract loopt af",
        "contract ending",
    ),
    ("kind", "yearly-recap", "jaaroverzicht", "yearly recap"),
    ("kind", "question", "vraag aan kopers", "buyers' question"),
    (
        "kind",
        "out-of-stock-alternative",
        "uitverkocht, met alternatief",
        "out of stock, with an alternative",
    ),
    ("kind", "back-in-stock", "weer op voorraad", "back in stock"),
    (
        "activity",
        "question_answered",
        "vraag beantwoord",
        "question answered",
    ),
    ("kind", "tier-changed", "niveau gewijzigd", "tier changed"),
    ("class", "transactional", "transactioneel", "transactional"),
    ("class", "service", "service", "service"),
    ("class", "promotional", "aanbieding", "promotional"),
    ("class", "internal", "intern", "internal"),
    ("reason", "no_email", "geen e-mailadres", "no email address"),
    ("reason", "no_consent", "geen toestemming", "no consent"),
    ("reason", "opted_out", "afgemeld", "unsubscribed"),
    (
        "reason",
        "suppressed",
        "adres geblokkeerd",
        "address suppressed",
    ),
    ("reason", "inactive", "inactief", "inactive"),
    (
        "reason",
        "frequency_cap",
        "maximaal aantal mails",
        "frequency cap",
    ),
    ("reason", "quiet_hours", "nachtrust", "quiet hours"),
    ("reason", "holdout", "controlegroep", "holdout group"),
    (
        "reason",
        "ses_unavailable",
        "mailserver bezet",
        "mail service busy",
    ),
    (
        "reason",
        "sender_stopped",
        "verzender gestopt tijdens verzenden",
        "sender stopped while sending",
    ),
    (
        "reason",
        "asked_within_90_days",
        "al gevraagd in de laatste 90 dagen",
        "asked within the last 90 days",
    ),
    ("reason", "unknown", "onbekend", "unknown"),
    (
        "activity",
        "order_placed",
        "bestelling geplaatst",
        "order placed",
    ),
    ("activity", "order_returned", "retour", "order returned"),
    (
        "activity",
        "points_confirmed",
        "punten bevestigd",
        "points confirmed",
    ),
    (
        "activity",
        "survey_answered",
        "vraag beantwoord",
        "survey answered",
    ),
    (
        "activity",
        "survey_skipped",
        "vraag overgeslagen",
        "survey skipped",
    ),
    (
        "activity",
        "engagement_changed",
        "betrokkenheid gewijzigd",
        "engagement changed",
    ),
    (
        "activity",
        "kept_in_touch",
        "wil mail blijven ontvangen",
        "kept in touch",
    ),
    (
        "activity",
        "lapse_answered",
        "reden van wegblijven gegeven",
        "said why they stopped",
    ),
    (
        "activity",
        "contract_renewed",
        "contract verlengd: geen herinnering meer",
        "contract renewed: no more reminders",
    ),
    (
        "activity",
        "delivered",
        "pakket afgeleverd",
        "parcel delivered",
    ),
    ("activity", "reactivation", "teruggekomen", "came back"),
    ("entry", "earned", "gespaard", "earned"),
    ("entry", "confirmed", "bevestigd", "confirmed"),
    (
        "entry",
        "reversed",
        "teruggenomen na retour",
        "taken back after a return",
    ),
    ("entry", "redeemed", "ingewisseld", "redeemed"),
    (
        "entry",
        "refunded",
        "terug van geannuleerde korting",
        "back from a cancelled discount",
    ),
    ("entry", "expired", "vervallen", "expired"),
    ("entry", "birthday", "verjaardag", "birthday"),
    ("entry", "anniversary", "jaar als klant", "anniversary"),
    (
        "entry",
        "adjusted",
        "aangepast door de winkel",
        "adjusted by the shop",
    ),
    ("engagement", "active", "actief", "active"),
    ("engagement", "at_risk", "dreigt af te haken", "at risk"),
    ("engagement", "lapsed", "weggebleven", "lapsed"),
    ("engagement", "inactive", "inactief", "inactive"),
    (
        "lifecycle",
        "prospect",
        "nog geen bestelling",
        "no order yet",
    ),
    ("lifecycle", "new", "nieuwe klant", "new customer"),
    (
        "lifecycle",
        "repeat",
        "terugkerende klant",
        "repeat customer",
    ),
    ("lapse", "no_need", "heeft niets nodig", "no need"),
    ("lapse", "elsewhere", "koopt elders", "buys elsewhere"),
    ("lapse", "price", "prijs", "price"),
    ("lapse", "experience", "ervaring", "experience"),
    ("lapse", "other", "anders", "other"),
    (
        "audit_action",
        "reveal",
        "adressen getoond",
        "addresses shown",
    ),
    ("audit_action", "export", "download", "download"),
    ("audit_page", "messages", "berichten", "messages"),
    ("audit_page", "message", "bericht", "message"),
    ("audit_page", "customer", "klant", "customer"),
    ("format", "html", "pagina", "page"),
    ("format", "csv", "CSV", "CSV"),
    ("format", "json", "JSON", "JSON"),
    ("field", "category", "categorie", "category"),
    ("field", "comment", "opmerking", "comment"),
    ("field", "coupon_code", "kortingscode", "coupon code"),
    ("field", "customer_id", "klantnummer", "customer id"),
    ("field", "days_before", "dagen vooraf", "days before"),
    ("field", "expires_on", "vervalt op", "expires on"),
    ("field", "previous", "vorig niveau", "previous tier"),
    (
        "field",
        "months_since_last_order",
        "maanden sinds de laatste bestelling",
        "months since the last order",
    ),
    ("field", "next_tier", "volgend niveau", "next tier"),
    ("field", "order_id", "bestelling", "order"),
    ("field", "points", "punten", "points"),
    (
        "field",
        "points_available",
        "punten te gebruiken",
        "points available",
    ),
    (
        "field",
        "points_pending",
        "punten in afwachting",
        "points pending",
    ),
    (
        "field",
        "points_to_next_tier",
        "punten tot het volgende niveau",
        "points to the next tier",
    ),
    ("field", "product_name", "product", "product"),
    ("field", "quantity", "aantal", "quantity"),
    ("field", "review_url", "reviewlink", "review link"),
    ("field", "run_out_on", "op rond", "runs out on"),
    ("field", "score", "score", "score"),
    ("field", "sku", "artikelnummer", "SKU"),
    ("field", "text", "tekst", "text"),
    ("field", "tier", "niveau", "tier"),
    ("field", "title", "titel", "title"),
    ("mail", "consent", "toestemming", "consent"),
    ("mail", "no_consent", "geen toestemming", "no consent"),
    (
        "mail",
        "opted_out_promotional",
        "afgemeld voor aanbiedingen",
        "unsubscribed from offers",
    ),
    (
        "mail",
        "opted_out_all",
        "afgemeld voor alle mail",
        "unsubscribed from all mail",
    ),
    (
        "mail",
        "suppressed",
        "adres geblokkeerd",
        "address suppressed",
    ),
    ("mail", "inactive", "inactief", "inactive"),
];

/// `nl` unless the marketer asked for English (`?lang=en`), or the browser prefers English to
/// Dutch (`Accept-Language`, by its q-values; languages the pages do not speak are passed over).
pub fn pick(lang_param: Option<&str>, accept_language: Option<&str>) -> &'static str {
    match lang_param {
        Some("en") => "en",
        Some("nl") => "nl",
        _ => {
            let mut offered: Vec<(f32, usize, &'static str)> = accept_language
                .unwrap_or_default()
                .split(',')
                .enumerate()
                .filter_map(|(n, part)| {
                    let mut pieces = part.split(';');
                    let tag = pieces.next()?.trim().to_ascii_lowercase();
                    let q = pieces
                        .filter_map(|p| p.trim().strip_prefix("q="))
                        .find_map(|q| q.trim().parse::<f32>().ok())
                        .unwrap_or(1.0);
                    let lang = if tag == "en" || tag.starts_with("en-") {
                        "en"
                    } else if tag == "nl" || tag.starts_with("nl-") {
                        "nl"
                    } else {
                        return None;
                    };
                    (q > 0.0).then_some((q, n, lang))
                })
                .collect();
            // Highest q first; the browser's own order among equals.
            offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            offered.first().map_or("nl", |(_, _, lang)| lang)
        }
    }
}

pub fn labels(lang: &str) -> Value {
    let words = if lang == "en" { EN } else { NL };
    Value::Object(
        words
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect(),
    )
}

const EN: &[(&str, &str)] = &[
    ("app", "Messages"),
    ("menu", "Menu"),
    ("overview", "Overview"),
    ("messages", "Messages"),
    ("logout", "Log out"),
    ("login", "Log in"),
    ("login_failed", "Wrong user name or password."),
    ("username", "User name"),
    ("password", "Password"),
    ("shop", "Shop"),
    ("from", "From"),
    ("to", "To"),
    ("kind", "Kind"),
    ("class", "Class"),
    ("status", "Status"),
    ("all", "All"),
    ("customer_id", "Customer id"),
    ("email_exact", "Exact email address"),
    ("reveal", "Show email addresses"),
    ("apply", "Apply"),
    ("download_csv", "Download CSV"),
    ("download_json", "Download JSON"),
    (
        "download_parts",
        "Big downloads come in parts of about 4.5 MB; each part's Link header (rel=\"next\"), and next in JSON, fetches the next one.",
    ),
    ("rows", "messages"),
    ("time", "Time"),
    ("customer", "Customer"),
    ("reason", "Reason"),
    ("no_messages", "No messages match these filters."),
    ("next_page", "Older messages"),
    ("template", "Template and language"),
    ("cause", "Caused by"),
    ("key", "Message key"),
    ("history", "Status history"),
    ("detail", "Detail"),
    ("decision", "The decision that created it"),
    (
        "decision_help",
        "What the rules put in the message when they created it.",
    ),
    ("email", "Email"),
    ("lifecycle", "Lifecycle"),
    ("orders", "Orders"),
    ("with_returns", "with returns"),
    ("value_historic", "Spent and kept so far"),
    ("value_forecast", "Expected in the next 12 months"),
    ("value_orders", "orders"),
    ("value_one_every", "one every"),
    ("value_days", "days"),
    (
        "value_forecast_how",
        "The expectation: orders in 12 months (365 days / the customer's reorder interval) times the average order value (spent and kept / orders). The interval is the median time between their orders (the shop's default after one order), at least 14 days; returns lower both figures.",
    ),
    ("points", "Points"),
    ("available", "available"),
    ("pending", "pending"),
    ("mail", "Mail standing"),
    ("unknown_customer", "No customer with this id."),
    ("timeline", "Timeline"),
    ("what", "What"),
    ("nothing_yet", "Nothing recorded yet."),
    ("answers", "answers"),
    ("promoters", "promoters"),
    ("passives", "passives"),
    ("detractors", "detractors"),
    (
        "nps_value",
        "What promoters, passives and detractors are worth",
    ),
    (
        "nps_value_how",
        "Per group of the NPS above: the average of what each answering customer had spent and kept when they answered (returns taken off; the latest answer per order and day counts, so a customer who answered twice counts twice).",
    ),
    ("nps_group", "Group"),
    ("answers_with_value", "Answers"),
    ("average_value", "Average value"),
    (
        "nps_value_ratio",
        "Promoters are worth this many times detractors:",
    ),
    (
        "nps_value_not_enough",
        "Not enough data for a ratio yet: at least 20 answers from promoters and 20 from detractors are needed.",
    ),
    ("reactivation_rate", "Reactivation rate"),
    ("reactivated", "came back"),
    ("asked", "asked"),
    ("holdout", "Holdout group (not asked)"),
    ("per_kind", "Per kind"),
    ("sent", "sent"),
    ("skips", "Skipped, by reason"),
    ("audit", "Audit"),
    (
        "audit_intro",
        "Every page that showed email addresses in clear and every download, by whom.",
    ),
    ("audit_action", "Action"),
    ("audit_page", "Page"),
    ("audit_filters", "Filters"),
    ("audit_rows", "Rows"),
    ("audit_in_clear", "in clear"),
    ("audit_older", "Older entries"),
    (
        "no_audit",
        "Nothing was revealed or downloaded in this period.",
    ),
    (
        "too_many",
        "Too many failed logins. Try again in (seconds):",
    ),
    ("mfa_code", "Code from your authenticator app"),
    ("mfa_hint", "Six digits; a new one every 30 seconds."),
    ("code_failed", "That code was not accepted. Log in again."),
    ("count", "Count"),
    ("debt", "debt"),
    ("spent", "spent"),
    ("tier", "Tier"),
    ("tier_since", "since"),
    ("tier_until", "kept until"),
    ("points_history", "Points history"),
    ("order", "order"),
    ("redemption", "redemption"),
    ("older_points", "Older points"),
    ("loyalty", "Loyalty"),
    ("issued", "issued"),
    ("redeemed", "redeemed"),
    ("expired", "expired"),
    ("taken_back", "taken back (returns, corrections)"),
    ("outstanding", "Outstanding at the end of the period"),
    ("liability", "worth at most"),
    (
        "outstanding_help",
        "Points customers hold (available and pending, less debt): every day's points issued less redeemed, expired and taken back, added up from the first counted day",
    ),
    (
        "liability_help",
        "Valued at the most generous reward that gives an amount, a point at",
    ),
    ("pools", "Discount codes per reward"),
    ("reward", "Reward"),
    ("codes_free", "Codes left"),
    ("low_stock", "low: add codes"),
    ("no_rewards", "No rewards configured."),
    ("delivered", "delivered"),
    ("bounced", "bounced"),
    ("complained", "marked as spam"),
    ("opened", "opened"),
    ("clicked", "clicked"),
    ("unsubscribed", "unsubscribed"),
    ("unsubscribed_here", "unsubscribed through this email"),
    ("skipped", "skipped"),
    ("held_out", "held out"),
    ("charts", "Over time"),
    ("chart_messages", "Messages per day by outcome"),
    ("not_sent", "waiting or failed"),
    ("chart_nps", "NPS per week"),
    ("nps_score", "NPS"),
    ("chart_points", "Points per week"),
    ("chart_attributed", "Orders and revenue attributed per week"),
    ("chart_table", "Figures as a table"),
    ("week_of", "week of"),
    ("created", "created"),
    ("deliverability", "Deliverability"),
    (
        "deliverability_help",
        "Bounces and spam complaints per sent email over the last 7 and 30 full days (UTC, up to the day before yesterday). Gmail wants complaints under 0.1% and never at 0.3%; Amazon SES reviews a sender at 5% bounces or 0.1% complaints and may pause its sending at 10% or 0.5%. Close means from 80% of the first mark (4% bounces, 0.08% complaints); fewer than 100 sent emails are not judged.",
    ),
    ("last_days", "last days"),
    ("bounce_rate", "Bounce rate"),
    ("complaint_rate", "Complaint rate"),
    ("marks", "Marks"),
    ("bounce_marks", "SES: 5% review, 10% pause"),
    (
        "complaint_marks",
        "Gmail: under 0.1%, never 0.3%; SES: 0.1% review, 0.5% pause",
    ),
    ("level_unjudged", "too few emails to judge"),
    ("level_fine", "fine"),
    ("level_close", "close to a mark"),
    ("level_over", "over a mark"),
    ("deliverability_warning", "Deliverability needs attention"),
    ("see_deliverability", "See deliverability"),
    ("funnels", "What became of each kind of message"),
    (
        "funnel_help",
        "Of the messages created in the period: skipped (by reason), held out, waiting or failed, or sent; of the sent, delivered; of those, opened; of those, clicked. Ordered: the orders attributed to the sent messages, per sent message. The percentage is of the step above (ordered: of the sent).",
    ),
    ("ordered", "ordered"),
    ("attributed_orders", "orders"),
    ("attributed_revenue", "revenue"),
    ("revenue", "Revenue"),
    ("placed_order_rate", "Placed-order rate"),
    ("revenue_per_recipient", "Revenue per recipient"),
    ("recipients", "Recipients"),
    (
        "per_kind_help",
        "Recipients are the emails sent. An order counts for the customer's last email before it (last touch) when it came within the shop's attribution window, on the day that email was created; revenue is what the customers kept of those orders (returns taken off). Placed-order rate: orders per recipient. Revenue per recipient: revenue divided by the recipients.",
    ),
    ("language", "Language"),
    ("uplift", "Uplift against the holdout group"),
    ("uplift_treated", "got the email"),
    ("uplift_held_out", "held out"),
    ("uplift_ordered", "ordered"),
    (
        "uplift_rates",
        "ordered within the window: got the email / held out",
    ),
    ("uplift_orders", "extra orders"),
    ("uplift_revenue", "extra revenue"),
    ("uplift_percent", "uplift"),
    ("uplift_interval", "95% interval"),
    ("uplift_points", "percentage points"),
    ("uplift_no_base", "no held-out customer ordered; difference"),
    (
        "uplift_not_enough",
        "Not enough data yet: at least 100 customers per group are needed.",
    ),
    ("uplift_none", "This shop holds no customers out."),
    ("answers_page", "Answers"),
    (
        "answers_intro",
        "The answers to the shop's questions: per question how many customers chose each answer, and what they wrote in their own words, newest first. A customer's first answer counts.",
    ),
    (
        "answers_removed",
        "What looks like an email or postal address in their words is shown as",
    ),
    ("asked_of", "Asked of buyers of"),
    ("asked_from", "from"),
    ("asked_until", "until"),
    ("answers_counted", "answers"),
    ("answer", "Answer"),
    ("share", "Share"),
    ("answer_no_longer_offered", "An answer no longer offered"),
    ("own_words", "In their own words"),
    ("own_words_newest", "The newest"),
    ("words", "Words"),
    ("no_questions", "This shop asks no questions."),
];

const NL: &[(&str, &str)] = &[
    ("app", "Berichten"),
    ("menu", "Menu"),
    ("overview", "Overzicht"),
    ("messages", "Berichten"),
    ("logout", "Uitloggen"),
    ("login", "Inloggen"),
    ("login_failed", "Onjuiste gebruikersnaam of wachtwoord."),
    ("username", "Gebruikersnaam"),
    ("password", "Wachtwoord"),
    ("shop", "Winkel"),
    ("from", "Van"),
    ("to", "Tot en met"),
    ("kind", "Soort"),
    ("class", "Klasse"),
    ("status", "Status"),
    ("all", "Alle"),
    ("customer_id", "Klantnummer"),
    ("email_exact", "Exact e-mailadres"),
    ("reveal", "E-mailadressen tonen"),
    ("apply", "Toepassen"),
    ("download_csv", "CSV downloaden"),
    ("download_json", "JSON downloaden"),
    (
        "download_parts",
        "Grote downloads komen in delen van zo'n 4,5 MB; de Link-header (rel=\"next\") van elk deel, en next in JSON, haalt het volgende deel.",
    ),
    ("rows", "berichten"),
    ("time", "Tijd"),
    ("customer", "Klant"),
    ("reason", "Reden"),
    ("no_messages", "Geen berichten bij deze filters."),
    ("next_page", "Oudere berichten"),
    ("template", "Sjabloon en taal"),
    ("cause", "Veroorzaakt door"),
    ("key", "Berichtsleutel"),
    ("history", "Statusgeschiedenis"),
    ("detail", "Toelichting"),
    ("decision", "De beslissing die het maakte"),
    (
        "decision_help",
        "Wat de regels in het bericht zetten toen ze het maakten.",
    ),
    ("email", "E-mail"),
    ("lifecycle", "Levensfase"),
    ("orders", "Bestellingen"),
    ("with_returns", "met retouren"),
    ("value_historic", "Besteed en gehouden tot nu toe"),
    ("value_forecast", "Verwacht in de komende 12 maanden"),
    ("value_orders", "bestellingen"),
    ("value_one_every", "één per"),
    ("value_days", "dagen"),
    (
        "value_forecast_how",
        "De verwachting: bestellingen in 12 maanden (365 dagen / het bestelritme van de klant) maal de gemiddelde bestelwaarde (besteed en gehouden / bestellingen). Het ritme is de mediaan van de tijd tussen hun bestellingen (na één bestelling de standaard van de winkel), minstens 14 dagen; retouren verlagen beide.",
    ),
    ("points", "Punten"),
    ("available", "te gebruiken"),
    ("pending", "in afwachting"),
    ("mail", "E-mailstatus"),
    ("unknown_customer", "Geen klant met dit nummer."),
    ("timeline", "Tijdlijn"),
    ("what", "Wat"),
    ("nothing_yet", "Nog niets vastgelegd."),
    ("answers", "antwoorden"),
    ("promoters", "promotors"),
    ("passives", "passieven"),
    ("detractors", "criticasters"),
    (
        "nps_value",
        "Wat promotors, passieven en criticasters waard zijn",
    ),
    (
        "nps_value_how",
        "Per groep van de NPS hierboven: het gemiddelde van wat elke klant die antwoordde had besteed en gehouden toen hij antwoordde (retouren eraf; het laatste antwoord per bestelling en dag telt, dus een klant die twee keer antwoordde telt twee keer).",
    ),
    ("nps_group", "Groep"),
    ("answers_with_value", "Antwoorden"),
    ("average_value", "Gemiddelde waarde"),
    (
        "nps_value_ratio",
        "Promotors zijn zoveel keer criticasters waard:",
    ),
    (
        "nps_value_not_enough",
        "Nog niet genoeg gegevens voor een verhouding: er zijn minstens 20 antwoorden van promotors en 20 van criticasters nodig.",
    ),
    ("reactivation_rate", "Heractivatie"),
    ("reactivated", "teruggekomen"),
    ("asked", "gevraagd"),
    ("holdout", "Controlegroep (niet gevraagd)"),
    ("per_kind", "Per soort"),
    ("sent", "verstuurd"),
    ("skips", "Overgeslagen, per reden"),
    ("audit", "Audit"),
    (
        "audit_intro",
        "Elke pagina die e-mailadressen leesbaar toonde en elke download, en door wie.",
    ),
    ("audit_action", "Actie"),
    ("audit_page", "Pagina"),
    ("audit_filters", "Filters"),
    ("audit_rows", "Regels"),
    ("audit_in_clear", "leesbaar"),
    ("audit_older", "Oudere regels"),
    (
        "no_audit",
        "In deze periode is niets getoond of gedownload.",
    ),
    (
        "too_many",
        "Te veel mislukte pogingen. Probeer het opnieuw over (seconden):",
    ),
    ("mfa_code", "Code uit je authenticator-app"),
    ("mfa_hint", "Zes cijfers; elke 30 seconden een nieuwe."),
    (
        "code_failed",
        "Die code werd niet geaccepteerd. Log opnieuw in.",
    ),
    ("count", "Aantal"),
    ("debt", "schuld"),
    ("spent", "uitgegeven"),
    ("tier", "Niveau"),
    ("tier_since", "sinds"),
    ("tier_until", "behouden tot"),
    ("points_history", "Puntenhistorie"),
    ("order", "bestelling"),
    ("redemption", "inwisseling"),
    ("older_points", "Oudere punten"),
    ("loyalty", "Spaarprogramma"),
    ("issued", "uitgegeven aan klanten"),
    ("redeemed", "ingewisseld"),
    ("expired", "vervallen"),
    ("taken_back", "teruggenomen (retouren, correcties)"),
    ("outstanding", "Openstaand aan het eind van de periode"),
    ("liability", "waarde hooguit"),
    (
        "outstanding_help",
        "Punten die klanten hebben (te gebruiken en in afwachting, min schuld): per dag de uitgegeven punten min ingewisselde, vervallen en teruggenomen punten, opgeteld vanaf de eerste getelde dag",
    ),
    (
        "liability_help",
        "Gewaardeerd tegen de gunstigste beloning met een bedrag, een punt is",
    ),
    ("pools", "Kortingscodes per beloning"),
    ("reward", "Beloning"),
    ("codes_free", "Codes over"),
    ("low_stock", "bijna op: voeg codes toe"),
    ("no_rewards", "Geen beloningen ingesteld."),
    ("delivered", "afgeleverd"),
    ("bounced", "gebouncet"),
    ("complained", "als spam gemeld"),
    ("opened", "geopend"),
    ("clicked", "geklikt"),
    ("unsubscribed", "afgemeld"),
    ("unsubscribed_here", "afgemeld via deze e-mail"),
    ("skipped", "overgeslagen"),
    ("held_out", "controlegroep"),
    ("charts", "Door de tijd"),
    ("chart_messages", "Berichten per dag naar uitkomst"),
    ("not_sent", "wacht of mislukt"),
    ("chart_nps", "NPS per week"),
    ("nps_score", "NPS"),
    ("chart_points", "Punten per week"),
    (
        "chart_attributed",
        "Bestellingen en omzet per week toegeschreven",
    ),
    ("chart_table", "Cijfers als tabel"),
    ("week_of", "week van"),
    ("created", "aangemaakt"),
    ("deliverability", "Bezorgbaarheid"),
    (
        "deliverability_help",
        "Bounces en spamklachten per verstuurde e-mail over de laatste 7 en 30 hele dagen (UTC, tot en met eergisteren). Gmail wil klachten onder 0,1% en nooit 0,3%; Amazon SES beoordeelt een afzender bij 5% bounces of 0,1% klachten en kan het versturen stilzetten bij 10% of 0,5%. Dichtbij betekent vanaf 80% van de eerste grens (4% bounces, 0,08% klachten); minder dan 100 verstuurde e-mails worden niet beoordeeld.",
    ),
    ("last_days", "laatste dagen"),
    ("bounce_rate", "Bounces"),
    ("complaint_rate", "Spamklachten"),
    ("marks", "Grenzen"),
    ("bounce_marks", "SES: 5% beoordeling, 10% stilzetten"),
    (
        "complaint_marks",
        "Gmail: onder 0,1%, nooit 0,3%; SES: 0,1% beoordeling, 0,5% stilzetten",
    ),
    ("level_unjudged", "te weinig e-mails om te beoordelen"),
    ("level_fine", "in orde"),
    ("level_close", "dicht bij een grens"),
    ("level_over", "over een grens"),
    ("deliverability_warning", "Bezorgbaarheid vraagt aandacht"),
    ("see_deliverability", "Bekijk bezorgbaarheid"),
    ("funnels", "Wat er van elke soort bericht werd"),
    (
        "funnel_help",
        "Van de berichten die in de periode zijn aangemaakt: overgeslagen (per reden), controlegroep, wacht of mislukt, of verstuurd; van de verstuurde de afgeleverde; daarvan de geopende; daarvan de aangeklikte. Besteld: de bestellingen die aan de verstuurde berichten zijn toegeschreven, per verstuurd bericht. Het percentage is van de stap erboven (besteld: van de verstuurde).",
    ),
    ("ordered", "besteld"),
    ("attributed_orders", "bestellingen"),
    ("attributed_revenue", "omzet"),
    ("revenue", "Omzet"),
    ("placed_order_rate", "Bestelratio"),
    ("revenue_per_recipient", "Omzet per ontvanger"),
    ("recipients", "Ontvangers"),
    (
        "per_kind_help",
        "Ontvangers zijn de verstuurde e-mails. Een bestelling telt voor de laatste e-mail aan de klant ervoor (last touch) als ze binnen het toeschrijvingsvenster van de winkel kwam, op de dag dat die e-mail werd aangemaakt; omzet is wat de klanten van die bestellingen hielden (retouren eraf). Bestelratio: bestellingen per ontvanger. Omzet per ontvanger: omzet gedeeld door de ontvangers.",
    ),
    ("language", "Taal"),
    ("uplift", "Uplift ten opzichte van de controlegroep"),
    ("uplift_treated", "kregen de e-mail"),
    ("uplift_held_out", "controlegroep"),
    ("uplift_ordered", "bestelden"),
    (
        "uplift_rates",
        "besteld binnen het venster: kregen de e-mail / controlegroep",
    ),
    ("uplift_orders", "extra bestellingen"),
    ("uplift_revenue", "extra omzet"),
    ("uplift_percent", "uplift"),
    ("uplift_interval", "95%-interval"),
    ("uplift_points", "procentpunt"),
    (
        "uplift_no_base",
        "niemand in de controlegroep bestelde; verschil",
    ),
    (
        "uplift_not_enough",
        "Nog niet genoeg gegevens: er zijn minstens 100 klanten per groep nodig.",
    ),
    (
        "uplift_none",
        "Deze winkel houdt geen klanten buiten de mails.",
    ),
    ("answers_page", "Antwoorden"),
    (
        "answers_intro",
        "De antwoorden op de vragen van de winkel: per vraag hoeveel klanten elk antwoord kozen, en wat ze in hun eigen woorden schreven, nieuwste eerst. Het eerste antwoord van een klant telt.",
    ),
    (
        "answers_removed",
        "Wat in hun woorden op een e-mail- of postadres lijkt, staat er als",
    ),
    ("asked_of", "Gevraagd aan kopers van"),
    ("asked_from", "vanaf"),
    ("asked_until", "tot"),
    ("answers_counted", "antwoorden"),
    ("answer", "Antwoord"),
    ("share", "Aandeel"),
    (
        "answer_no_longer_offered",
        "Een antwoord dat niet meer bestaat",
    ),
    ("own_words", "In hun eigen woorden"),
    ("own_words_newest", "De nieuwste"),
    ("words", "Woorden"),
    ("no_questions", "Deze winkel stelt geen vragen."),
];

#[cfg(test)]
mod tests {

    #[test]
    fn an_attributed_order_reads_in_days_after_the_email_in_both_languages() {
        assert_eq!(ordered_after("en", 2, 1), "ordered 2 days after this email");
        assert_eq!(
            ordered_after("en", 1, 3),
            "ordered 1 day after this email (+2 more orders)"
        );
        assert_eq!(
            ordered_after("nl", 0, 1),
            "besteld op de dag van deze e-mail"
        );
        assert_eq!(
            ordered_after("nl", 4, 2),
            "besteld 4 dagen na deze e-mail (+1 bestelling meer)"
        );
    }

    use super::*;
    use crate::domain::{
        DeliveryStatus, Engagement, EntryKind, LapseReason, Lifecycle, SENDING_UNKNOWN_REASON,
        SkipReason,
    };

    #[test]
    fn every_code_the_pages_show_has_a_label_in_dutch_and_english() {
        let mut expected: Vec<(Group, String)> = Vec::new();
        let mut add = |group: Group, codes: &[&str]| {
            expected.extend(codes.iter().map(|c| (group, (*c).to_owned())));
        };
        add(Group::Kind, &crate::mail::render::KINDS);
        add(Group::Status, &crate::admin::filters::STATUSES);
        add(Group::Status, &["created", "waited"]);
        let delivery: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
        add(Group::Status, &delivery);
        add(
            Group::Class,
            &["transactional", "service", "promotional", "internal"],
        );
        let skips: Vec<&str> = [
            SkipReason::NoEmail,
            SkipReason::NoConsent,
            SkipReason::OptedOut,
            SkipReason::Suppressed,
            SkipReason::Inactive,
            SkipReason::FrequencyCap,
        ]
        .iter()
        .map(|r| r.as_str())
        .collect();
        add(Group::Reason, &skips);
        add(
            Group::Reason,
            &[
                "quiet_hours",
                "holdout",
                "ses_unavailable",
                SENDING_UNKNOWN_REASON,
                "asked_within_90_days",
            ],
        );
        add(
            Group::Activity,
            &[
                "order_placed",
                "order_returned",
                "points_confirmed",
                "survey_answered",
                "survey_skipped",
                "engagement_changed",
                "kept_in_touch",
                "lapse_answered",
                "delivered",
                "contract_renewed",
                "question_answered",
            ],
        );
        let entries: Vec<&str> = [
            EntryKind::Earned,
            EntryKind::Confirmed,
            EntryKind::Reversed,
            EntryKind::Redeemed,
            EntryKind::Refunded,
            EntryKind::Expired,
            EntryKind::Birthday,
            EntryKind::Anniversary,
            EntryKind::Adjusted,
        ]
        .iter()
        .map(|e| e.as_str())
        .collect();
        add(Group::Entry, &entries);
        let stages: Vec<&str> = [
            Engagement::Active,
            Engagement::AtRisk,
            Engagement::Lapsed,
            Engagement::Inactive,
        ]
        .iter()
        .map(|e| e.as_str())
        .collect();
        add(Group::Engagement, &stages);
        let lifecycles: Vec<&str> = [Lifecycle::Prospect, Lifecycle::New, Lifecycle::Repeat]
            .iter()
            .map(|l| l.as_str())
            .collect();
        add(Group::Lifecycle, &lifecycles);
        let lapses: Vec<&str> = LapseReason::ALL.iter().map(|r| r.as_str()).collect();
        add(Group::Lapse, &lapses);
        add(Group::AuditAction, &["reveal", "export"]);
        for (group, c) in &expected {
            assert!(has_label(*group, c), "{group:?} {c} has no label");
            let (nl, en) = (code("nl", *group, c), code("en", *group, c));
            assert!(!nl.is_empty() && !en.is_empty(), "{c}");
            if c.contains(['_', '-']) {
                assert!(nl != *c && en != *c, "{c} is shown as it is stored");
            }
        }
        // A code added without its words is still not shown raw.
        assert_eq!(
            code("en", Group::Reason, "brand_new-reason"),
            "brand new reason"
        );
    }

    /// Found when the answers page's title took the key of the NPS card's "answers": the
    /// later of two equal keys wins, and the card read "3 Answers".
    #[test]
    fn no_word_is_given_twice_in_a_language() {
        for (lang, words) in [("en", EN), ("nl", NL)] {
            let mut seen = std::collections::BTreeSet::new();
            for (key, _) in words {
                assert!(seen.insert(*key), "{lang}: {key} twice");
            }
        }
    }

    #[test]
    fn a_deferral_reads_as_waiting_and_recorded_filters_read_as_words() {
        assert_eq!(
            waited("en", "frequency_cap", "10:00"),
            "waited: frequency cap until 10:00"
        );
        assert_eq!(
            waited("nl", "quiet_hours", "08:00"),
            "wachtte: nachtrust tot 08:00"
        );
        assert_eq!(
            filters(
                "en",
                "from=2026-11-01 to=2026-11-30 kind=care-tip status=held_out"
            ),
            "from: 2026-11-01, to: 2026-11-30, kind: care tip, status: held out"
        );
        assert_eq!(
            filters("nl", "customer=cus-1 key=reactivation#evt-9"),
            "klant: cus-1, bericht: heractivatie · evt-9"
        );
        assert_eq!(pick(None, Some("en-GB,en;q=0.9")), "en");
        assert_eq!(pick(None, Some("fr-FR,fr;q=0.9,en;q=0.8,nl;q=0.7")), "en");
        assert_eq!(pick(None, Some("de,nl;q=0.5,en;q=0.4")), "nl");
        assert_eq!(pick(None, Some("en;q=0,nl-BE")), "nl");
        assert_eq!(pick(None, Some("fr")), "nl");
        assert_eq!(pick(Some("nl"), Some("en-GB")), "nl");
        assert_eq!(pick(None, None), "nl");
    }
}
