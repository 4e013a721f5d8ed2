//! The message list as CSV for spreadsheets. Every cell is quoted, and a cell that starts with
//! `=`, `+`, `-`, `@` (or a tab or carriage return) gets a leading `'`, so a spreadsheet shows
//! it as text instead of running it as a formula (CSV injection).

use super::MessageRow;

pub const HEADER: [&str; 9] = [
    "time",
    "customer_id",
    "email",
    "kind",
    "class",
    "status",
    "reason",
    "subject",
    "key",
];

/// One cell, quoted and neutralised.
pub fn cell(value: &str) -> String {
    let neutral = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", neutral.replace('"', "\"\""))
}

/// The rows as CSV (RFC 4180 line ends), with a header line.
pub fn write(rows: &[MessageRow]) -> String {
    let mut out = String::new();
    let line = |cells: Vec<&str>| cells.into_iter().map(cell).collect::<Vec<_>>().join(",");
    out.push_str(&line(HEADER.to_vec()));
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&line(vec![
            &row.at,
            &row.customer_id,
            row.email.as_deref().unwrap_or(""),
            &row.kind,
            &row.class,
            &row.status,
            row.reason.as_deref().unwrap_or(""),
            row.subject.as_deref().unwrap_or(""),
            &row.key,
        ]));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quotes_escaped() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+31 6"), "\"'+31 6\"");
        assert_eq!(cell("-1"), "\"'-1\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("plain, text"), "\"plain, text\"");
        assert_eq!(cell("a=b"), "\"a=b\"");
    }
}
