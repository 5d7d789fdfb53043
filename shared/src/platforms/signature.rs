//! Signature primitives shared by the platform adapters. Every comparison is constant-time.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac_key(),
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac_key() -> ! {
    panic!("HMAC accepts keys of any length")
}

/// base64(HMAC-SHA256(key, body)): the Shopify and WooCommerce header value.
pub fn hmac_sha256_base64(key: &[u8], body: &[u8]) -> String {
    B64.encode(hmac_sha256(key, &[body]))
}

/// Whether `presented` (base64 text from a header) equals the expected MAC, in constant time.
pub fn base64_mac_matches(presented: &str, expected: &[u8]) -> bool {
    match B64.decode(presented.trim()) {
        Ok(bytes) => bytes.len() == expected.len() && bool::from(bytes.ct_eq(expected)),
        Err(_) => false,
    }
}

/// Lower-case hex MD5 of the concatenation of `parts` (Youzan's `Event-Sign`).
pub fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// Constant-time equality of two ASCII strings (lengths are not secret).
pub fn ct_eq_str(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Lower-case hex SHA-256, used for event keys derived from bodies.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn base64_comparison_rejects_garbage_and_other_lengths() {
        let mac = hmac_sha256(b"k", &[b"body"]);
        assert!(base64_mac_matches(&B64.encode(mac), &mac));
        assert!(!base64_mac_matches("not base64!!", &mac));
        assert!(!base64_mac_matches(&B64.encode(&mac[..31]), &mac));
    }

    #[test]
    fn md5_hex_is_lower_case() {
        assert_eq!(md5_hex(&[b"abc"]), "900150983cd24fb0d6963f7d28e17f72");
    }
}
