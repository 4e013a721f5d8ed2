//! Money in minor units with its currency. Payloads carry decimal strings ("64.85"); they are
//! parsed exactly, never through floating point.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error(
        "must be a decimal amount like \"12.34\" (at most 12 digits before and 4 after the point)"
    )]
    Format,
    #[error("has more decimals than {currency} allows ({allowed})")]
    TooPrecise { currency: Currency, allowed: u32 },
    #[error("must be a three-letter ISO 4217 currency code like EUR")]
    Currency,
    #[error("must not be negative")]
    Negative,
}

/// The currencies of ISO 4217 that money is paid in (not the codes for precious metals,
/// funds, testing or "no currency"): three capital letters alone would let an order in "XYZ"
/// be counted as if it were real money.
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF",
    "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB",
    "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYI",
    "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF",
    "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 currency code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let b = code.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) || !ISO_4217.contains(&code) {
            return Err(MoneyError::Currency);
        }
        Ok(Self([b[0], b[1], b[2]]))
    }

    pub fn code(&self) -> &str {
        // Only ASCII uppercase letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Decimals of the currency's minor unit (ISO 4217): 2 for most, 0 or 3 for a few.
    pub fn minor_digits(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            "CLF" | "UYW" => 4,
            _ => 2,
        }
    }
}
impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, MoneyError> {
        Self::parse(&value)
    }
}
impl From<Currency> for String {
    fn from(value: Currency) -> String {
        value.code().to_owned()
    }
}
impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A decimal amount without a currency yet (a refund total arrives without one), kept exactly
/// in ten-thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Amount {
    pub ten_thousandths: i64,
}

impl Amount {
    /// Parses the schema's money pattern `^-?[0-9]{1,12}(\.[0-9]{1,4})?$`.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        let whole_ok = (1..=12).contains(&whole.len()) && whole.bytes().all(|b| b.is_ascii_digit());
        let fraction_ok = (digits.contains('.') && (1..=4).contains(&fraction.len())
            || !digits.contains('.'))
            && fraction.bytes().all(|b| b.is_ascii_digit());
        if !whole_ok || !fraction_ok {
            return Err(MoneyError::Format);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Format)?;
        let mut frac: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| MoneyError::Format)?
        };
        for _ in fraction.len()..4 {
            frac *= 10;
        }
        let value = whole * 10_000 + frac;
        Ok(Self {
            ten_thousandths: if negative { -value } else { value },
        })
    }

    /// The same amount in `currency`'s minor units; refused when it has finer precision than
    /// the currency has (e.g. "1.005" EUR), so nothing is silently rounded.
    pub fn in_currency(self, currency: Currency) -> Result<Money, MoneyError> {
        let divisor = 10_i64.pow(4 - currency.minor_digits());
        if self.ten_thousandths % divisor != 0 {
            return Err(MoneyError::TooPrecise {
                currency,
                allowed: currency.minor_digits(),
            });
        }
        Ok(Money {
            minor: self.ten_thousandths / divisor,
            currency,
        })
    }
}

/// An amount of money in the currency's minor units (cents for EUR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Whole currency units, rounded down: 64.85 EUR is 64.
    pub fn whole_units(&self) -> i64 {
        self.minor
            .div_euclid(10_i64.pow(self.currency.minor_digits()))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return write!(f, "{} {}", self.minor, self.currency);
        }
        let scale = 10_i64.pow(digits);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale as u64,
            abs % scale as u64,
            self.currency,
            width = digits as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_become_exact_minor_units() {
        let eur = Currency::EUR;
        assert_eq!(
            Amount::parse("64.85").unwrap().in_currency(eur).unwrap(),
            Money::new(6485, eur)
        );
        assert_eq!(
            Amount::parse("3").unwrap().in_currency(eur).unwrap(),
            Money::new(300, eur)
        );
        assert_eq!(
            Amount::parse("0.5").unwrap().in_currency(eur).unwrap(),
            Money::new(50, eur)
        );
        assert_eq!(
            Amount::parse("-1.2500").unwrap().in_currency(eur).unwrap(),
            Money::new(-125, eur)
        );
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(
            Amount::parse("1200").unwrap().in_currency(jpy).unwrap(),
            Money::new(1200, jpy)
        );
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(
            Amount::parse("1.005").unwrap().in_currency(kwd).unwrap(),
            Money::new(1005, kwd)
        );
    }

    #[test]
    fn precision_the_currency_lacks_is_refused_not_rounded() {
        let err = Amount::parse("1.005")
            .unwrap()
            .in_currency(Currency::EUR)
            .unwrap_err();
        assert!(matches!(err, MoneyError::TooPrecise { allowed: 2, .. }));
        assert!(
            Amount::parse("12.5")
                .unwrap()
                .in_currency(Currency::parse("JPY").unwrap())
                .is_err()
        );
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in [
            "",
            "1,50",
            "1.",
            ".5",
            "1.23456",
            "1e3",
            "€5",
            "1234567890123",
            "--1",
            " 1",
        ] {
            assert_eq!(Amount::parse(bad), Err(MoneyError::Format), "{bad:?}");
        }
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("EURO").is_err());
        for unknown in ["XYZ", "ABC", "XXX", "XTS", "XAU"] {
            assert_eq!(
                Currency::parse(unknown),
                Err(MoneyError::Currency),
                "{unknown}"
            );
        }
        for known in ["EUR", "USD", "JPY", "KWD", "CLF", "XCG", "ZWG"] {
            assert!(Currency::parse(known).is_ok(), "{known}");
        }
    }

    #[test]
    fn whole_units_round_down_and_display_is_readable() {
        let m = Money::new(6485, Currency::EUR);
        assert_eq!(m.whole_units(), 64);
        assert_eq!(m.to_string(), "64.85 EUR");
        assert_eq!(Money::new(-5, Currency::EUR).to_string(), "-0.05 EUR");
    }
}
