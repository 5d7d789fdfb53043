//! A small validating JSON pull scanner for the hot path of the rollup: canonical order lines.
//!
//! The rollup reads millions of order versions a night and needs a dozen fields of each.
//! serde_json's typed deserialisation spends most of its time in per-field visitor machinery
//! and in skipping fields nobody asked for; this scanner walks the bytes once, hands out
//! borrowed strings (owned only when a string has escapes) and skips unwanted values without
//! building them. It is still strict JSON: bad syntax, control characters in strings, numbers
//! outside the grammar, a fractional number where an integer is required and trailing garbage
//! are errors, so a line that serde_json refuses is refused here too.
//!
//! The input is a `&str`: the caller checked UTF-8 once for the whole object, and every string
//! slice handed out starts and ends at an ASCII quote, so it is valid UTF-8 as well.

use std::borrow::Cow;

use crate::money::Money;

pub type ScanResult<T> = Result<T, String>;

/// Nesting deeper than this is refused (serde_json's default limit is 128 as well).
const MAX_DEPTH: usize = 128;
/// How many keys of [`Scanner::object_in_order`]'s list are tried at each key: one more than
/// the canonical order's longest run of optional fields (`paid_at`, `shipped_at`,
/// `delivered_at`).
const KEY_LOOKAHEAD: usize = 4;

pub struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        Scanner { text, pos: 0, depth: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn error<T>(&self, what: &str) -> ScanResult<T> {
        Err(format!("{what} at column {}", self.pos + 1))
    }

    /// The next non-whitespace byte, without consuming it.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                return Some(b);
            }
        }
        None
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> ScanResult<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(&format!("expected `{}`", byte as char))
        }
    }

    /// After the top-level value: nothing but whitespace may follow.
    pub fn finish(&mut self) -> ScanResult<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.error("trailing characters"),
        }
    }

    /// Whether the next value is `null` (consumed if so).
    #[inline]
    fn null(&mut self) -> ScanResult<bool> {
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.literal("null")?;
        Ok(true)
    }

    fn literal(&mut self, word: &str) -> ScanResult<()> {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            self.error("invalid literal")
        }
    }

    /// Calls `field` with each key of an object; `field` must consume the key's value (read it or
    /// [`Scanner::skip`] it).
    pub fn object(&mut self, field: impl FnMut(&mut Self, &str) -> ScanResult<()>) -> ScanResult<()> {
        self.object_in_order(&[], field)
    }

    /// [`Scanner::object`] for an object whose keys usually come in the order of `keys`, as
    /// the canonical model writes them: a key that is next (or a few further on) in `keys` is
    /// recognised by comparing its bytes with `"key":`, without scanning it as a string.
    /// Any other key (escaped, spaced, out of order, unknown) is read the general way, so the
    /// result is the same for any input; only the speed differs.
    pub fn object_in_order(
        &mut self,
        keys: &[&'static str],
        mut field: impl FnMut(&mut Self, &str) -> ScanResult<()>,
    ) -> ScanResult<()> {
        self.expect(b'{')?;
        self.enter()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        let mut next = 0;
        loop {
            if self.peek() != Some(b'"') {
                return self.error("expected a key");
            }
            let key = self.key(keys, &mut next)?;
            field(self, &key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return self.error("expected `,` or `}`"),
            }
        }
    }

    /// The key at the current `"` and its `:`. `next` is the index in `keys` the next key is
    /// expected at: keys `next..next + KEY_LOOKAHEAD` are tried (optional fields may be left
    /// out) before the key is scanned as a string.
    #[inline(always)]
    fn key(&mut self, keys: &[&'static str], next: &mut usize) -> ScanResult<Cow<'a, str>> {
        let rest = &self.bytes()[self.pos + 1..];
        for (i, expected) in keys.iter().enumerate().skip(*next).take(KEY_LOOKAHEAD) {
            if key_at(rest, expected.as_bytes()) {
                self.pos += expected.len() + 3;
                *next = i + 1;
                return Ok(Cow::Borrowed(expected));
            }
        }
        let key = self.string_body()?;
        self.expect(b':')?;
        if let Some(i) = keys.iter().position(|k| *k == key) {
            *next = i + 1;
        }
        Ok(key)
    }

    /// Calls `item` for each element of an array; `null` counts as an empty array.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> ScanResult<()>) -> ScanResult<()> {
        if self.null()? {
            return Ok(());
        }
        self.expect(b'[')?;
        self.enter()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return self.error("expected `,` or `]`"),
            }
        }
    }

    fn enter(&mut self) -> ScanResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error("nested too deeply");
        }
        Ok(())
    }

    /// A string value.
    pub fn string(&mut self) -> ScanResult<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return self.error("expected a string");
        }
        self.string_body()
    }

    /// A string value or `null`.
    pub fn opt_string(&mut self) -> ScanResult<Option<Cow<'a, str>>> {
        if self.null()? {
            return Ok(None);
        }
        self.string().map(Some)
    }

    /// The string starting at the current `"`: borrowed unless it has escapes.
    #[inline]
    fn string_body(&mut self) -> ScanResult<Cow<'a, str>> {
        let bytes = self.bytes();
        let start = self.pos + 1;
        let end = find_special(bytes, start);
        match bytes.get(end) {
            Some(b'"') => {
                self.pos = end + 1;
                Ok(Cow::Borrowed(&self.text[start..end]))
            }
            Some(b'\\') => {
                let mut owned = String::from(&self.text[start..end]);
                self.pos = end;
                self.unescape_rest(&mut owned)?;
                Ok(Cow::Owned(owned))
            }
            Some(_) => {
                self.pos = end;
                self.error("control character in a string")
            }
            None => {
                self.pos = bytes.len();
                self.error("unterminated string")
            }
        }
    }

    /// From a backslash to the closing quote, appending the decoded text to `out`.
    fn unescape_rest(&mut self, out: &mut String) -> ScanResult<()> {
        let bytes = self.bytes();
        loop {
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let escaped = bytes.get(self.pos + 1).copied();
                    self.pos += 2;
                    match escaped {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let c = self.unicode_escape()?;
                            out.push(c);
                        }
                        _ => return self.error("invalid escape"),
                    }
                }
                Some(&b) if b < 0x20 => return self.error("control character in a string"),
                Some(_) => {
                    let start = self.pos;
                    let end = find_special(bytes, start).min(bytes.len());
                    out.push_str(&self.text[start..end]);
                    self.pos = end;
                }
                None => return self.error("unterminated string"),
            }
        }
    }

    /// The character of a `\uXXXX` escape (the `\u` already consumed), joining surrogate pairs.
    fn unicode_escape(&mut self) -> ScanResult<char> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            if (0xDC00..0xE000).contains(&high) {
                return self.error("lone low surrogate");
            }
            return char::from_u32(u32::from(high)).map_or_else(|| self.error("invalid \\u escape"), Ok);
        }
        if !self.bytes()[self.pos..].starts_with(b"\\u") {
            return self.error("lone high surrogate");
        }
        self.pos += 2;
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            return self.error("invalid surrogate pair");
        }
        let code = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
        char::from_u32(code).map_or_else(|| self.error("invalid \\u escape"), Ok)
    }

    fn hex4(&mut self) -> ScanResult<u16> {
        let digits = self.bytes().get(self.pos..self.pos + 4).ok_or_else(|| "truncated \\u escape".to_string())?;
        let mut value = 0u16;
        for &d in digits {
            let v = (d as char).to_digit(16).ok_or_else(|| format!("invalid \\u escape at column {}", self.pos + 1))?;
            value = value * 16 + v as u16;
        }
        self.pos += 4;
        Ok(value)
    }

    /// The text of a JSON number, checked against the grammar
    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; also whether it is an integer.
    fn number_text(&mut self) -> ScanResult<(&'a str, bool)> {
        self.peek();
        let bytes = self.bytes();
        let start = self.pos;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        let n = digits(&mut i);
        if n == 0 || (n > 1 && bytes[int_start] == b'0') {
            return self.error("invalid number");
        }
        let mut integer = true;
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            integer = false;
            if digits(&mut i) == 0 {
                return self.error("invalid number");
            }
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            integer = false;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return self.error("invalid number");
            }
        }
        self.pos = i;
        Ok((&self.text[start..i], integer))
    }

    /// An integer value (a fraction or exponent is refused, as for serde's `i64`).
    pub fn i64(&mut self) -> ScanResult<i64> {
        if let Some(value) = self.short_integer() {
            return Ok(value);
        }
        let (text, integer) = self.number_text()?;
        // serde_json reads `-0` as a float (negative zero), which `i64` refuses.
        if !integer || text == "-0" {
            return Err(format!("expected an integer, found {text}"));
        }
        text.parse().map_err(|_| format!("integer out of range: {text}"))
    }

    /// The fast path of [`Scanner::i64`]: `-?(0|[1-9][0-9]{0,17})` not followed by a fraction or
    /// exponent, summed while it is scanned. Anything else (more digits, bad syntax) is left
    /// unconsumed for the general path, which validates it and reports errors.
    #[inline]
    fn short_integer(&mut self) -> Option<i64> {
        self.peek();
        let bytes = self.bytes();
        let negative = bytes.get(self.pos) == Some(&b'-');
        let start = self.pos + usize::from(negative);
        let mut i = start;
        let mut value: i64 = 0;
        while let Some(&b) = bytes.get(i) {
            if !b.is_ascii_digit() || i - start == 18 {
                break;
            }
            value = value * 10 + i64::from(b - b'0');
            i += 1;
        }
        let digits = i - start;
        let leading_zero = digits > 1 && bytes[start] == b'0';
        let negative_zero = negative && value == 0;
        if digits == 0
            || digits == 18
            || leading_zero
            || negative_zero
            || matches!(bytes.get(i), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.pos = i;
        Some(if negative { -value } else { value })
    }

    pub fn opt_i64(&mut self) -> ScanResult<Option<i64>> {
        if self.null()? {
            return Ok(None);
        }
        self.i64().map(Some)
    }

    /// An amount: the canonical decimal string, or a JSON number read from its text (never
    /// through a float), as [`Money`]'s own deserialiser accepts.
    pub fn money(&mut self) -> ScanResult<Money> {
        if self.peek() == Some(b'"') {
            // The canonical form, `"-?digits(.d{1,2})?"`, read without scanning it as a string
            // first; anything else takes the general path below.
            let bytes = self.bytes();
            let start = self.pos + 1;
            let mut end = start;
            while bytes.get(end).is_some_and(|b| b.is_ascii_digit() || *b == b'.' || *b == b'-') {
                end += 1;
            }
            if bytes.get(end) == Some(&b'"') {
                if let Some(cents) = plain_cents(&self.text[start..end]) {
                    self.pos = end + 1;
                    return Ok(Money::from_minor(cents));
                }
            }
            let text = self.string_body()?;
            if let Some(cents) = plain_cents(&text) {
                return Ok(Money::from_minor(cents));
            }
            return text.parse().map_err(|e: crate::money::MoneyError| e.to_string());
        }
        let (text, _) = self.number_text()?;
        if text.contains(['e', 'E']) {
            // An exponent: the shortest decimal form of the float, as Money's deserialiser does.
            let value: f64 = text.parse().map_err(|_| format!("invalid number {text}"))?;
            return format!("{value}").parse().map_err(|e: crate::money::MoneyError| e.to_string());
        }
        text.parse().map_err(|e: crate::money::MoneyError| e.to_string())
    }

    pub fn opt_money(&mut self) -> ScanResult<Option<Money>> {
        if self.null()? {
            return Ok(None);
        }
        self.money().map(Some)
    }

    /// Skips one value of any type, checking its syntax.
    pub fn skip(&mut self) -> ScanResult<()> {
        match self.peek() {
            Some(b'"') => self.string_body().map(drop),
            Some(b'{') => self.object(|s, _| s.skip()),
            Some(b'[') => self.array(Self::skip),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number_text().map(drop),
            _ => self.error("expected a value"),
        }
    }
}

/// Whether `rest` starts with `key` and `":`. Compared a word at a time: a slice compare
/// called `memcmp` for each key, which cost as much as scanning the key.
#[inline(always)]
fn key_at(rest: &[u8], key: &[u8]) -> bool {
    let n = key.len();
    if !matches!(rest.get(n..n + 2), Some([b'"', b':'])) {
        return false;
    }
    if n < 8 {
        return rest[..n].iter().zip(key).all(|(a, b)| a == b);
    }
    // Whole words from the start, then the last eight bytes (overlapping the words before).
    (0..n - 8).step_by(8).all(|at| word_at(rest, at) == word_at(key, at)) && word_at(rest, n - 8) == word_at(key, n - 8)
}

/// The eight bytes of `bytes` from `at` as one little-endian word (the caller checked that
/// they are there).
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The index of the first byte at or after `from` that ends a run of plain string characters:
/// `"`, `\\` or a control character (U+0000–U+001F, which JSON forbids unescaped); `len` if none.
/// Eight bytes at a time (SWAR): the strings of an order line are short, too short for SIMD
/// searches to pay off their setup.
#[inline]
fn find_special(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Bytes that are zero (or, for `below`, less than n <= 128) get their high bit set; bits
    // above the first hit may be set spuriously, so only the lowest one is trusted.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGHS;
    let mut i = from;
    while i + 8 <= bytes.len() {
        let v = word_at(bytes, i);
        let hits = zero(v ^ (ONES * u64::from(b'"'))) | zero(v ^ (ONES * u64::from(b'\\'))) | below(v, 0x20);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// Cents of a plain decimal amount (`-?digits` with up to two decimals, as the canonical model
/// writes them); `None` for anything else, which then goes through [`Money`]'s own parser.
#[inline]
fn plain_cents(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let (mut cents, mut decimals, mut dot) = (0i64, 0, false);
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                cents = cents * 10 + i64::from(b - b'0');
                if dot {
                    decimals += 1;
                }
            }
            b'.' if !dot => dot = true,
            _ => return None,
        }
    }
    if decimals > 2 || (dot && decimals == 0) {
        return None;
    }
    let cents = cents
        * if decimals == 0 {
            100
        } else if decimals == 1 {
            10
        } else {
            1
        };
    Some(if negative { -cents } else { cents })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read_doc(text: &str) -> ScanResult<Vec<String>> {
        let mut s = Scanner::new(text);
        let mut out = Vec::new();
        s.object(|s, key| {
            match key {
                "s" => out.push(format!("s={}", s.string()?)),
                "o" => out.push(format!("o={:?}", s.opt_string()?)),
                "i" => out.push(format!("i={}", s.i64()?)),
                "m" => out.push(format!("m={}", s.money()?.minor())),
                "a" => {
                    let mut n = 0;
                    s.array(|s| {
                        n += 1;
                        s.skip()
                    })?;
                    out.push(format!("a={n}"));
                }
                _ => s.skip()?,
            }
            Ok(())
        })?;
        s.finish()?;
        Ok(out)
    }

    #[test]
    fn reads_fields_and_skips_the_rest() {
        let doc = r#" { "x": {"y": [1, -2.5e3, true, null, "z\"", {}]}, "s": "a\u00e9\n\ud83d\ude00b",
            "o": null, "i": -42, "m": "12.30", "b": true, "a": [[], {"k": 0}, 3], "m": 7 } "#;
        let got = read_doc(doc).unwrap();
        assert_eq!(got, vec!["s=aé\n😀b", "o=None", "i=-42", "m=1230", "a=3", "m=700"]);
        // What serde_json accepts as JSON, the scanner accepts, and the values agree.
        let v: serde_json::Value = serde_json::from_str(doc).unwrap();
        assert_eq!(v["s"].as_str().unwrap(), "aé\n😀b");
    }

    #[test]
    fn integers_of_every_length_read_as_serde_reads_them() {
        let mut texts: Vec<String> = vec!["0".into(), "-0".into(), i64::MAX.to_string(), i64::MIN.to_string()];
        for digits in 1..=20 {
            let n: String = (0..digits).map(|i| char::from(b'1' + (i % 9) as u8)).collect();
            texts.push(n.clone());
            texts.push(format!("-{n}"));
        }
        texts.extend(["9223372036854775808", "-9223372036854775809", "00", "-01", "1.0", "2e3", "-"].map(String::from));
        for text in texts {
            let doc = format!(r#"{{"i": {text}}}"#);
            let serde = serde_json::from_str::<std::collections::BTreeMap<String, i64>>(&doc).ok().map(|m| m["i"]);
            let mine = read_doc(&doc).ok().map(|got| got.concat());
            assert_eq!(mine, serde.map(|v| format!("i={v}")), "{text}");
        }
        // Money in its canonical form and beside it, fast path or not.
        for (text, cents) in
            [("\"-12.05\"", Some(-1205)), ("\"7.5\"", Some(750)), ("\"1.2.3\"", None), ("\"--1\"", None)]
        {
            let got = read_doc(&format!(r#"{{"m": {text}}}"#)).ok().map(|got| got.concat());
            assert_eq!(got, cents.map(|c| format!("m={c}")), "{text}");
        }
    }

    #[test]
    fn money_from_numbers_is_exact() {
        for (doc, cents) in [
            (r#"{"m": 12.5}"#, 1250),
            (r#"{"m": 1e2}"#, 10000),
            (r#"{"m": "-0.07"}"#, -7),
            (r#"{"m": "3"}"#, 300),
            (r#"{"m": "3.1"}"#, 310),
            (r#"{"m": " 3.10 "}"#, 310),
            (r#"{"m": "3.100"}"#, 310),
            (r#"{"m": "+4.5"}"#, 450),
            (r#"{"m": ".5"}"#, 50),
        ] {
            assert_eq!(read_doc(doc).unwrap(), vec![format!("m={cents}")], "{doc}");
        }
        for bad in [r#"{"m": "1.234"}"#, r#"{"m": "1-2"}"#, r#"{"m": "x"}"#, r#"{"m": ""}"#] {
            assert!(read_doc(bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn refuses_what_json_refuses() {
        for bad in [
            r#"{"s": "a"#,
            "{\"s\": \"a\u{1}b\"}",
            r#"{"i": 01}"#,
            r#"{"i": 1.5}"#,
            r#"{"i": 99999999999999999999}"#,
            r#"{"i": -}"#,
            r#"{"s": "\x"}"#,
            r#"{"s": "\ud800"}"#,
            r#"{"s": "\udc00"}"#,
            r#"{"a": [1,]}"#,
            r#"{"a": [1 2]}"#,
            r#"{"s": "a",}"#,
            r#"{"s" "a"}"#,
            r#"{s: "a"}"#,
            r#"{"b": tru}"#,
            r#"{"x": nul}"#,
            r#"{"s": "a"} x"#,
            r#"{"x": [}"#,
            r#"{"x": 1."#,
            r#"{"x": .5}"#,
        ] {
            assert!(read_doc(bad).is_err(), "accepted {bad:?}");
            assert!(serde_json::from_str::<serde_json::Value>(bad).is_err() || bad.contains("\"i\""), "{bad:?}");
        }
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(read_doc(&deep).is_err());
    }

    #[test]
    fn finds_quotes_backslashes_and_control_characters_at_every_offset() {
        for len in 0..20 {
            for special in [b'"', b'\\', 0x01, 0x1f] {
                let mut bytes = vec![b'a'; len];
                bytes.extend_from_slice("é~\x7f".as_bytes());
                let at = bytes.len();
                bytes.push(special);
                bytes.extend_from_slice(b"\"zz");
                assert_eq!(find_special(&bytes, 0), at, "len {len} special {special}");
            }
            assert_eq!(find_special(&vec![b' '; len], 0), len);
        }
    }

    /// The keys an object yields, each with the text of its value, read with or without a
    /// list of expected keys.
    fn keys_and_values(doc: &str, keys: Option<&[&'static str]>) -> ScanResult<Vec<(String, String)>> {
        let mut s = Scanner::new(doc);
        let mut out = Vec::new();
        let mut field = |s: &mut Scanner<'_>, key: &str| {
            let start = s.pos;
            s.skip()?;
            out.push((key.to_string(), s.text[start..s.pos].trim().to_string()));
            Ok(())
        };
        match keys {
            Some(keys) => s.object_in_order(keys, &mut field)?,
            None => s.object(&mut field)?,
        }
        s.finish()?;
        Ok(out)
    }

    #[test]
    fn keys_in_order_read_the_same_as_any_keys() {
        const KEYS: &[&str] = &["a", "ab", "b", "c", "d", "e", "f", "g"];
        for doc in [
            r#"{"a":1,"ab":2,"b":3,"c":4,"d":5,"e":6,"f":7,"g":8}"#,
            r#"{"ab":2,"a":1}"#,
            r#"{"a":1,"g":8,"b":3}"#,
            r#"{"a":1,"f":7,"g":8}"#,
            r#"{"g":1,"a":2,"a":3}"#,
            r#"{"a" :1, "b": 2 ,"c":"x\"y","zz":{"a":1},"d":[1,{"b":2}]}"#,
            r#"{"\u0061":1,"b":2}"#,
            r#"{"a\"":1,"a":2}"#,
            r#"{"abc":1,"ab":2}"#,
            r#"{}"#,
        ] {
            let general = keys_and_values(doc, None).unwrap();
            assert_eq!(keys_and_values(doc, Some(KEYS)).unwrap(), general, "{doc}");
            assert!(!general.is_empty() || doc == "{}");
        }
        for bad in [r#"{"a"1}"#, r#"{"a":}"#, r#"{"a":1"b":2}"#, r#"{"a":1,}"#, "{\"a\u{1}\":1}"] {
            assert!(keys_and_values(bad, Some(KEYS)).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn a_key_matches_only_its_own_bytes_then_quote_colon() {
        for n in 1..=25 {
            let key: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let mut rest = key.clone();
            rest.extend_from_slice(b"\":1}");
            assert!(key_at(&rest, &key), "length {n}");
            for at in 0..n + 2 {
                let mut other = rest.clone();
                other[at] ^= 0x20;
                assert!(!key_at(&other, &key), "length {n}, byte {at} changed");
            }
            assert!(!key_at(&rest[..n + 1], &key), "length {n}, cut before the colon");
        }
    }

    #[test]
    fn an_escaped_key_still_matches() {
        assert_eq!(read_doc(r#"{"\u0069": 5}"#).unwrap(), vec!["i=5"]);
    }
}
