//! The pages' words in Dutch and English.

use serde_json::Value;

/// `nl` unless the marketer asked for English (`?lang=en`, or an English browser).
pub fn pick(lang_param: Option<&str>, accept_language: Option<&str>) -> &'static str {
    match lang_param {
        Some("en") => "en",
        Some("nl") => "nl",
        _ => {
            let first = accept_language
                .and_then(|a| a.split(',').next())
                .map(|l| l.trim().to_ascii_lowercase());
            if first.is_some_and(|l| l.starts_with("en")) {
                "en"
            } else {
                "nl"
            }
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
];
