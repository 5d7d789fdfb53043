//! Byte-level helpers for writing bodies the way each platform writes them: JSON numbers for
//! money where a platform sends numbers, PHP's `wp_json_encode` escaping, Java's `URLEncoder`,
//! time formats, and deterministic ids.

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Serialize, Serializer};

/// Marks a string that must come out as a bare JSON number (serde_json writes it as `\u001f`).
const NUMBER_MARK: char = '\u{1f}';
const NUMBER_MARK_ESCAPED: &[u8] = b"\"\\u001f";

/// A decimal written as a bare JSON number (`34.65`, `0.095`), as some platforms send money or
/// rates. Built from exact text, never from a float.
#[derive(Debug, Clone)]
pub(crate) struct Num(pub String);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(self.0.len() + 1);
        text.push(NUMBER_MARK);
        text.push_str(&self.0);
        s.serialize_str(&text)
    }
}

/// Compact JSON of `value` (which holds no [`Num`]).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(2048);
    // Serialising plain structs with string keys into memory cannot fail.
    serde_json::to_writer(&mut bytes, value).expect("synthetic bodies are plain structs with string keys");
    bytes
}

/// Compact JSON of `value`, with every [`Num`] written as a bare number.
pub(crate) fn to_json_with_numbers<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8192);
    serde_json::to_writer(&mut bytes, value).expect("synthetic bodies are plain structs with string keys");
    unquote_numbers(bytes)
}

/// Appends `s` as a JSON string.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a string into memory cannot fail.
    serde_json::to_writer(out, s).expect("a string serialises");
}

/// Position of the next `"\u001f` (an escaped [`NUMBER_MARK`] opening a string) at or after `from`.
fn next_mark(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = bytes[i..].iter().position(|&b| b == b'\\') {
        let at = i + p;
        if at > 0 && bytes[at - 1] == b'"' && bytes[at..].starts_with(&NUMBER_MARK_ESCAPED[1..]) {
            return Some(at - 1);
        }
        i = at + 1;
    }
    None
}

/// Removes the quotes and mark around each [`Num`].
fn unquote_numbers(bytes: Vec<u8>) -> Vec<u8> {
    let Some(first) = next_mark(&bytes, 0) else {
        return bytes;
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut start = 0;
    let mut mark = Some(first);
    while let Some(m) = mark {
        out.extend_from_slice(&bytes[start..m]);
        let digits = m + NUMBER_MARK_ESCAPED.len();
        let end = bytes[digits..].iter().position(|&b| b == b'"').map_or(bytes.len(), |p| digits + p);
        out.extend_from_slice(&bytes[digits..end]);
        start = (end + 1).min(bytes.len());
        mark = next_mark(&bytes, start);
    }
    out.extend_from_slice(&bytes[start..]);
    out
}

/// JSON as WordPress' `wp_json_encode` writes it: compact, `/` escaped as `\\/`, non-ASCII as
/// `\\uXXXX` (UTF-16 surrogate pairs beyond the BMP). [`Num`]s are bare numbers.
pub(crate) fn to_php_json<T: Serialize>(value: &T) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let compact = to_json_with_numbers(value);
    let Ok(text) = std::str::from_utf8(&compact) else {
        return compact;
    };
    let mut out = Vec::with_capacity(compact.len() + compact.len() / 8);
    let mut units = [0u16; 2];
    for c in text.chars() {
        if c == '/' {
            out.extend_from_slice(b"\\/");
        } else if c.is_ascii() {
            out.push(c as u8);
        } else {
            for &unit in c.encode_utf16(&mut units).iter() {
                let u = usize::from(unit);
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    HEX[u >> 12],
                    HEX[(u >> 8) & 0xF],
                    HEX[(u >> 4) & 0xF],
                    HEX[u & 0xF],
                ]);
            }
        }
    }
    out
}

/// URL-encodes like Java's `URLEncoder.encode(s, "UTF-8")`: space as `+`, only `A-Z a-z 0-9 . - * _`
/// left as they are (what Youzan's `msg` looks like). Appends to `out`.
pub(crate) fn java_url_encode_into(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(text.len() * 2);
    for &b in text {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]]),
        }
    }
}

/// [`java_url_encode_into`] a new string.
#[cfg(test)]
pub(crate) fn java_url_encode(text: &[u8]) -> String {
    let mut out = Vec::new();
    java_url_encode_into(&mut out, text);
    // Only ASCII was written.
    String::from_utf8(out).unwrap_or_default()
}

/// How a platform writes a time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TimeStyle {
    /// `2026-11-20T09:15:02-08:00` (Shopify, Standard Webhooks data).
    Offset,
    /// `2026-11-20T09:15:02` (WooCommerce, local or GMT).
    NaiveT,
    /// `2026-11-20 09:15:02` (Youzan).
    NaiveSpace,
}

fn push2(out: &mut String, v: u32) {
    out.push(char::from(b'0' + (v / 10 % 10) as u8));
    out.push(char::from(b'0' + (v % 10) as u8));
}

fn push_date_time<T: Datelike + Timelike>(out: &mut String, t: &T, sep: char) {
    let y = t.year().clamp(0, 9999) as u32;
    push2(out, y / 100);
    push2(out, y % 100);
    out.push('-');
    push2(out, t.month());
    out.push('-');
    push2(out, t.day());
    out.push(sep);
    push2(out, t.hour());
    out.push(':');
    push2(out, t.minute());
    out.push(':');
    push2(out, t.second());
}

/// `at` written in `tz` in `style`.
pub(crate) fn fmt_time(at: DateTime<Utc>, tz: Tz, style: TimeStyle) -> String {
    let local = at.with_timezone(&tz);
    let mut out = String::with_capacity(25);
    let sep = if matches!(style, TimeStyle::NaiveSpace) { ' ' } else { 'T' };
    push_date_time(&mut out, &local, sep);
    if matches!(style, TimeStyle::Offset) {
        let secs = local.offset().fix().local_minus_utc();
        out.push(if secs < 0 { '-' } else { '+' });
        let secs = secs.unsigned_abs();
        push2(&mut out, secs / 3600);
        out.push(':');
        push2(&mut out, secs / 60 % 60);
    }
    out
}

/// `2026-11-20T07:22:08.412Z` (Standard Webhooks envelope `timestamp`).
pub(crate) fn fmt_utc_millis(at: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(24);
    push_date_time(&mut out, &at, 'T');
    let ms = at.timestamp_subsec_millis();
    out.push('.');
    out.push(char::from(b'0' + (ms / 100 % 10) as u8));
    push2(&mut out, ms % 100);
    out.push('Z');
    out
}

/// A local wall-clock time in `tz`, moved past a daylight-saving gap if it falls in one.
pub(crate) fn local_to_utc(tz: Tz, naive: chrono::NaiveDateTime) -> DateTime<Utc> {
    for shift in [0, 1, 2] {
        if let Some(t) = tz.from_local_datetime(&(naive + chrono::Duration::hours(shift))).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    naive.and_utc()
}

/// SplitMix64: a fixed, fast mixing function for ids and tokens derived from numbers, so that
/// every version of an order repeats the same token without consuming randomness.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `n` lower-case hex digits derived from `seed`.
pub(crate) fn hex_of(seed: u64, n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(n);
    let mut state = seed;
    let mut bits = 0u64;
    let mut left = 0;
    for _ in 0..n {
        if left == 0 {
            state = mix(state);
            bits = state;
            left = 16;
        }
        out.push(HEX[(bits & 0xF) as usize] as char);
        bits >>= 4;
        left -= 1;
    }
    out
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` base-62 characters derived from `seed`.
pub(crate) fn base62_of(seed: u64, n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut state = seed;
    for _ in 0..n {
        state = mix(state);
        out.push(BASE62[(state % 62) as usize] as char);
    }
    out
}

/// A random version-4 UUID (`b54557e4-bdd9-4b37-8a5f-bf7d70bcd043`).
pub(crate) fn uuid_v4(rng: &mut ChaCha8Rng) -> String {
    let hi: u64 = rng.gen();
    let lo: u64 = rng.gen();
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// A random Standard Webhooks message id (`msg_` + 27 base-62 characters, KSUID-like).
pub(crate) fn msg_id(rng: &mut ChaCha8Rng) -> String {
    format!("msg_{}", base62_of(rng.gen(), 27))
}

/// A random 32-hex-digit id (WooCommerce's `wp_hash` delivery ids).
pub(crate) fn hex_id(rng: &mut ChaCha8Rng) -> String {
    hex_of(rng.gen(), 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[derive(Serialize)]
    struct Sample {
        price: Num,
        name: &'static str,
        url: &'static str,
    }

    #[test]
    fn numbers_come_out_bare() {
        let s = Sample { price: Num("34.65".into()), name: "Müller 王", url: "a/b" };
        assert_eq!(
            String::from_utf8(to_json_with_numbers(&s)).expect("utf8"),
            r#"{"price":34.65,"name":"Müller 王","url":"a/b"}"#
        );
        let two = Sample { price: Num("0.095".into()), name: "say \"10\\\"\"", url: "" };
        assert_eq!(
            String::from_utf8(to_json_with_numbers(&two)).expect("utf8"),
            r#"{"price":0.095,"name":"say \"10\\\"\"","url":""}"#
        );
        assert_eq!(
            String::from_utf8(to_php_json(&s)).expect("ascii"),
            r#"{"price":34.65,"name":"M\u00fcller \u738b","url":"a\/b"}"#
        );
        let back: serde_json::Value = serde_json::from_slice(&to_php_json(&s)).expect("valid JSON");
        assert_eq!(back["name"], "Müller 王");
    }

    #[test]
    fn java_url_encoding_matches_form_decoding() {
        let text = r#"{"a":"2026-11-20 14:03:11","b":"深圳市","c":"x*y_z.-~"}"#;
        let encoded = java_url_encode(text.as_bytes());
        assert!(encoded.contains("2026-11-20+14%3A03%3A11"));
        assert!(encoded.contains("x*y_z.-%7E"));
        let decoded: String =
            form_urlencoded::parse(format!("m={encoded}").as_bytes()).map(|(_, v)| v.into_owned()).collect();
        assert_eq!(decoded, text);
    }

    #[test]
    fn times_in_each_style() {
        let at: DateTime<Utc> = "2026-11-20T06:03:11Z".parse().expect("time");
        assert_eq!(fmt_time(at, chrono_tz::Asia::Shanghai, TimeStyle::NaiveSpace), "2026-11-20 14:03:11");
        assert_eq!(fmt_time(at, chrono_tz::America::Los_Angeles, TimeStyle::Offset), "2026-11-19T22:03:11-08:00");
        assert_eq!(fmt_time(at, chrono_tz::UTC, TimeStyle::NaiveT), "2026-11-20T06:03:11");
        assert_eq!(fmt_time(at, chrono_tz::Asia::Kolkata, TimeStyle::Offset), "2026-11-20T11:33:11+05:30");
        let ms = at + chrono::Duration::milliseconds(412);
        assert_eq!(fmt_utc_millis(ms), "2026-11-20T06:03:11.412Z");
    }

    #[test]
    fn ids_have_their_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let u = uuid_v4(&mut rng);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(msg_id(&mut rng).starts_with("msg_"));
        assert_eq!(hex_id(&mut rng).len(), 32);
        assert_eq!(hex_of(7, 10), hex_of(7, 10));
        assert_ne!(hex_of(7, 10), hex_of(8, 10));
    }
}
