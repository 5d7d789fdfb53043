//! Exact money: integer hundredths of the currency's major unit.
//!
//! Every amount in omnilake is a [`Money`]: an `i64` count of minor units at a fixed scale of
//! two decimals, which is what Parquet's `DECIMAL(18,2)` stores. Parsing accepts the decimal
//! strings platforms send (`"1299.00"`, `"12.5"`, `"-10.00"`); digits beyond the second decimal
//! must be zeros, so no amount is ever silently rounded.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exact amount in hundredths of the major currency unit (cents, fen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why a string is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a decimal amount")]
    NotDecimal(String),
    #[error("`{0}` has more than two significant decimals")]
    TooPrecise(String),
    #[error("`{0}` is out of range")]
    OutOfRange(String),
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// From a count of minor units (hundredths).
    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    /// From whole major units (`Money::from_major(5)` is 5.00).
    pub const fn from_major(major: i64) -> Self {
        Money(major * 100)
    }

    /// The count of minor units (hundredths), as stored in `DECIMAL(18,2)`.
    pub const fn minor(self) -> i64 {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self × quantity`, exact.
    pub fn times(self, quantity: i64) -> Money {
        Money(self.0.saturating_mul(quantity))
    }

    /// Whole major units, rounded towards zero (`12.99` → 12): what points are earned on.
    pub fn whole_units(self) -> i64 {
        self.0 / 100
    }

    /// Parses a JSON number's text exactly (used for platforms that send prices as numbers).
    pub fn from_json_number(n: &serde_json::Number) -> Result<Money, MoneyError> {
        n.to_string().parse()
    }
}

/// Splits `total` across `weights` in proportion, exactly: the parts always add up to `total`
/// (largest-remainder method, ties to the earlier weight). Used to allocate order-level
/// discounts and refunds to lines. With no positive weight, everything goes to the first part.
pub fn allocate_proportionally(total: Money, weights: &[Money]) -> Vec<Money> {
    if weights.is_empty() {
        return Vec::new();
    }
    let weight_sum: i128 = weights.iter().map(|w| i128::from(w.0.max(0))).sum();
    if weight_sum == 0 {
        let mut parts = vec![Money::ZERO; weights.len()];
        parts[0] = total;
        return parts;
    }
    let t = i128::from(total.0);
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = t * i128::from(w.0.max(0));
        // Floor division that also floors negative totals (refund reversals).
        let q = exact.div_euclid(weight_sum);
        parts.push(i64::try_from(q).unwrap_or(i64::MAX));
        remainders.push((exact.rem_euclid(weight_sum), i));
    }
    let mut missing = total.0 - parts.iter().sum::<i64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.iter().cycle() {
        if missing <= 0 {
            break;
        }
        parts[*i] += 1;
        missing -= 1;
    }
    parts.into_iter().map(Money).collect()
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (negative, digits) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty()) || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(MoneyError::NotDecimal(s.to_string()));
        }
        let (kept, extra) = frac_part.split_at(frac_part.len().min(2));
        if extra.bytes().any(|b| b != b'0') {
            return Err(MoneyError::TooPrecise(s.to_string()));
        }
        let out_of_range = || MoneyError::OutOfRange(s.to_string());
        let major: i64 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| out_of_range())? };
        let mut minor_frac: i64 = 0;
        for (i, b) in kept.bytes().enumerate() {
            let digit = i64::from(b - b'0');
            minor_frac += if i == 0 { digit * 10 } else { digit };
        }
        let minor = major.checked_mul(100).and_then(|m| m.checked_add(minor_frac)).ok_or_else(out_of_range)?;
        Ok(Money(if negative { -minor } else { minor }))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Accepts the canonical decimal string, and also a JSON number (parsed from its text, never
    /// through a float), because some senders emit numbers.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal amount as a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Money, E> {
                v.checked_mul(100).map(Money).ok_or_else(|| E::custom("amount out of range"))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Money, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(|v| v.checked_mul(100))
                    .map(Money)
                    .ok_or_else(|| E::custom("amount out of range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Money, E> {
                // serde_json hands us its shortest round-trip text form via Display, so a
                // number like 12.5 parses exactly; anything finer than cents is refused.
                format!("{v}").parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}
impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}
impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}
impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}
impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}
impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().expect("valid amount")
    }

    #[test]
    fn parses_platform_decimal_strings_exactly() {
        assert_eq!(m("1299.00").minor(), 129_900);
        assert_eq!(m("12.5").minor(), 1_250);
        assert_eq!(m("0.07").minor(), 7);
        assert_eq!(m("-10.00").minor(), -1_000);
        assert_eq!(m("199").minor(), 19_900);
        assert_eq!(m(".5").minor(), 50);
        assert_eq!(m("3.9800").minor(), 398);
    }

    #[test]
    fn refuses_what_it_cannot_hold_exactly() {
        assert!(matches!("12.345".parse::<Money>(), Err(MoneyError::TooPrecise(_))));
        assert!(matches!("abc".parse::<Money>(), Err(MoneyError::NotDecimal(_))));
        assert!(matches!("".parse::<Money>(), Err(MoneyError::NotDecimal(_))));
        assert!(matches!("1e5".parse::<Money>(), Err(MoneyError::NotDecimal(_))));
        assert!(matches!("99999999999999999999".parse::<Money>(), Err(MoneyError::OutOfRange(_))));
    }

    #[test]
    fn displays_two_decimals_and_round_trips() {
        for s in ["0.00", "0.07", "-0.50", "1299.00", "-10.00", "123456789.99"] {
            assert_eq!(m(s).to_string(), s);
        }
    }

    #[test]
    fn serde_uses_strings_and_accepts_numbers() {
        assert_eq!(serde_json::to_string(&m("21.99")).expect("json"), "\"21.99\"");
        let from_num: Money = serde_json::from_str("21.99").expect("number");
        assert_eq!(from_num, m("21.99"));
        let from_int: Money = serde_json::from_str("7").expect("int");
        assert_eq!(from_int, m("7.00"));
    }

    #[test]
    fn allocation_always_adds_up() {
        let weights = [m("100.00"), m("50.00"), m("50.00")];
        let parts = allocate_proportionally(m("10.00"), &weights);
        assert_eq!(parts, vec![m("5.00"), m("2.50"), m("2.50")]);
        let parts = allocate_proportionally(m("0.10"), &[m("1"), m("1"), m("1")]);
        assert_eq!(parts.iter().copied().sum::<Money>(), m("0.10"));
        assert_eq!(parts, vec![m("0.04"), m("0.03"), m("0.03")]);
        assert_eq!(allocate_proportionally(m("3.00"), &[Money::ZERO, Money::ZERO]), vec![m("3.00"), Money::ZERO]);
        assert!(allocate_proportionally(m("3.00"), &[]).is_empty());
    }

    #[test]
    fn arithmetic_is_exact() {
        let total: Money = [m("0.10"), m("0.20")].into_iter().sum();
        assert_eq!(total, m("0.30"));
        assert_eq!(m("19.99").times(3), m("59.97"));
        assert_eq!(m("12.99").whole_units(), 12);
    }
}
