//! `make codes`: a file of discount codes the shop made in its own shop admin, added to a
//! reward's pool through the loyalty API's codes route (the shop's API key), against the local
//! stack or a deployed one.
//!
//! The file is one code per line, or a CSV export with a header row naming the code's column:
//! `Code` (Shopify's export of a discount's codes, and the Shopify import/export apps),
//! `post_title` (WooCommerce: a coupon's code is its post title in exports of the
//! `shop_coupon` post type), or `code`, `coupon_code`, `Coupon code`, `Discount code`. A line
//! that holds no usable code is skipped and counted, never the end of the run.

use crate::client::{Answer, send};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::Connect;
use std::time::Duration;

/// The codes route takes at most this many per request.
pub const PER_REQUEST: usize = 100;
/// Header names (compared in lower case) of the column that holds the code.
const CODE_COLUMNS: [&str; 6] = [
    "code",
    "post_title",
    "coupon_code",
    "coupon code",
    "discount code",
    "discount_code",
];

/// What a file holds: its codes (keyed as trouw keys them, each once) and the lines that held
/// none (1-based).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodesFile {
    pub codes: Vec<String>,
    pub skipped_lines: Vec<usize>,
    /// The CSV column the codes came from, if the file had a header row.
    pub column: Option<String>,
}

/// Reads a file of codes: one per line, or CSV with a header row (see the module's doc).
pub fn parse(text: &str) -> CodesFile {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let mut file = CodesFile::default();
    let Some((first_index, first)) = lines.next() else {
        return file;
    };
    let header = csv_fields(first);
    let column = header
        .iter()
        .position(|f| CODE_COLUMNS.contains(&f.trim().to_ascii_lowercase().as_str()));
    let mut seen = std::collections::HashSet::new();
    let mut take = |file: &mut CodesFile, index: usize, field: Option<&str>| match field
        .and_then(trouw::domain::code_key)
    {
        Some(code) => {
            if seen.insert(code.clone()) {
                file.codes.push(code);
            }
        }
        None => file.skipped_lines.push(index + 1),
    };
    match column {
        Some(column) => {
            file.column = Some(header[column].trim().to_owned());
            for (index, line) in lines {
                let fields = csv_fields(line);
                take(&mut file, index, fields.get(column).map(String::as_str));
            }
        }
        None => {
            for (index, line) in std::iter::once((first_index, first)).chain(lines) {
                take(&mut file, index, Some(line.trim()));
            }
        }
    }
    file
}

/// The fields of one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// What the pool holds after the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Added {
    /// Codes new to the shop (a code already in any pool is not added twice).
    pub added: u64,
    /// Free codes in the reward's pool now.
    pub available: u64,
}

/// Adds `codes` to the reward's pool, [`PER_REQUEST`] at a time. A busy API (5xx, no
/// connection) is asked again after a pause, up to three times per request: adding a code is
/// safe to repeat. Any other refusal (a wrong key, an unknown reward) ends the run.
pub async fn upload<C>(
    client: &Client<C, Full<Bytes>>,
    api: &str,
    key: &str,
    shop: &str,
    reward: &str,
    codes: &[String],
) -> Result<Added, String>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let url = format!(
        "{}/loyalty/{shop}/rewards/{reward}/codes",
        api.trim_end_matches('/')
    );
    let mut total = Added::default();
    for (n, batch) in codes.chunks(PER_REQUEST).enumerate() {
        let body = serde_json::json!({ "codes": batch }).to_string();
        let mut attempt = 0;
        let answer = loop {
            let request = http::Request::post(&url)
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body.clone())))
                .map_err(|e| e.to_string())?;
            let result = send(client, request).await;
            let busy = match &result {
                Ok(answer) => answer.status >= 500,
                Err(_) => true,
            };
            attempt += 1;
            if !busy || attempt == 3 {
                break result;
            }
            tokio::time::sleep(Duration::from_secs(attempt)).await;
        };
        let answer: Answer = answer.map_err(|e| format!("request {}: {e}", n + 1))?;
        if answer.status != 200 {
            return Err(format!(
                "request {} ({} codes added before it): {} {}",
                n + 1,
                total.added,
                answer.status,
                answer.body
            ));
        }
        let body = answer.json();
        total.added += body["added"].as_u64().unwrap_or(0);
        total.available = body["available"].as_u64().unwrap_or(total.available);
    }
    Ok(total)
}

/// What a run did: the answer `make codes` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub added: u64,
    pub available: u64,
    /// Lines without a usable code (1-based), skipped.
    pub skipped_lines: Vec<usize>,
}

/// `trouw-admin codes SHOP REWARD [FILE]`: the codes of FILE (stdin when left out or `-`)
/// added to the reward's pool through `LOYALTY_API_URL` with `LOYALTY_API_KEY` (the shop's
/// API key), both read through `env`.
pub async fn run(args: &[&str], env: impl Fn(&str) -> Option<String>) -> Result<Report, String> {
    let (shop, reward, file) = match args {
        [shop, reward] | [shop, reward, "-"] => (*shop, *reward, None),
        [shop, reward, file] => (*shop, *reward, Some(*file)),
        _ => return Err("usage: trouw-admin codes SHOP REWARD [FILE|-]".into()),
    };
    let api = env("LOYALTY_API_URL")
        .filter(|v| !v.is_empty())
        .ok_or("set LOYALTY_API_URL to the API's URL (the stack's ApiUrl output)")?;
    let key = env("LOYALTY_API_KEY")
        .filter(|v| !v.is_empty())
        .ok_or("set LOYALTY_API_KEY to the shop's loyalty API key")?;
    let text = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?,
        None => std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))?,
    };
    let parsed = parse(&text);
    if parsed.codes.is_empty() {
        return Err(format!(
            "no codes found (lines skipped: {:?}); one code per line, or a CSV with a Code or post_title column",
            parsed.skipped_lines
        ));
    }
    let added = upload(
        &crate::client::web_client(),
        &api,
        &key,
        shop,
        reward,
        &parsed.codes,
    )
    .await?;
    Ok(Report {
        added: added.added,
        available: added.available,
        skipped_lines: parsed.skipped_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_code_per_line() {
        let file = parse("SPRING5-A1B2\n\n  spring5-c3d4 \nnot a code\nSPRING5-A1B2\r\n");
        assert_eq!(file.codes, ["SPRING5-A1B2", "SPRING5-C3D4"]);
        assert_eq!(file.skipped_lines, [4]);
        assert_eq!(file.column, None);
    }

    #[test]
    fn shopify_and_woocommerce_exports() {
        let shopify = "\u{feff}Code,Usage Count\nWELKOM-7F3A,0\n\"WELKOM-9C1D\",2\n,0\n";
        let file = parse(shopify);
        assert_eq!(file.codes, ["WELKOM-7F3A", "WELKOM-9C1D"]);
        assert_eq!(file.skipped_lines, [4]);
        assert_eq!(file.column.as_deref(), Some("Code"));
        let woo = "ID,post_title,post_excerpt,discount_type,coupon_amount\n\
                   812,vijf-euro-01,\"Vijf euro, eenmalig\",fixed_cart,5\n\
                   813,vijf-euro-02,\"Zeg \"\"hoi\"\"\",fixed_cart,5\n";
        let file = parse(woo);
        assert_eq!(file.codes, ["VIJF-EURO-01", "VIJF-EURO-02"]);
        assert!(file.skipped_lines.is_empty());
        assert_eq!(file.column.as_deref(), Some("post_title"));
        assert_eq!(
            csv_fields(r#"1,"a, b","say ""hi""",x"#),
            ["1", "a, b", "say \"hi\"", "x"]
        );
    }
}
