//! Who a customer is: phone, email and platform account, the first two only as keyed HMACs.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::canonical::Customer;

/// One identity, in the form stored as a table key (`identity#{kind}#{value}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identity {
    /// HMAC of the E.164 number, hex.
    Phone(String),
    /// HMAC of the trimmed, lowercased address, hex.
    Email(String),
    /// `{platform}#{shop}#{id}`, plain: an account id is not personal data.
    Account(String),
}

impl Identity {
    pub fn kind(&self) -> &'static str {
        match self {
            Identity::Phone(_) => "phone",
            Identity::Email(_) => "email",
            Identity::Account(_) => "account",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Identity::Phone(v) | Identity::Email(v) | Identity::Account(v) => v,
        }
    }

    /// The identity item's partition key.
    pub fn key(&self) -> String {
        format!("identity#{}#{}", self.kind(), self.value())
    }
}

/// Keys phone and email identities with the deployment's secret, so the table never holds them
/// in plain text and they cannot be found by hashing a phone book without the key.
#[derive(Clone)]
pub struct IdentityHasher {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for IdentityHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityHasher(<key>)")
    }
}

/// The identity key is unusable.
#[derive(Debug, thiserror::Error)]
#[error("the identity HMAC key must be at least 32 bytes")]
pub struct WeakKey;

impl IdentityHasher {
    pub fn new(key: &[u8]) -> Result<IdentityHasher, WeakKey> {
        if key.len() < 32 {
            return Err(WeakKey);
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| WeakKey)?;
        Ok(IdentityHasher { mac })
    }

    fn keyed(&self, domain: &str, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(b":");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The phone identity of a number as customers write it, read with `country` (ISO 3166
    /// alpha-2) when it has no `+` prefix; `None` if it is not a valid number.
    pub fn phone(&self, raw: &str, country: &str) -> Option<Identity> {
        normalize_phone(raw, country).map(|e164| Identity::Phone(self.keyed("phone", &e164)))
    }

    pub fn email(&self, raw: &str) -> Option<Identity> {
        normalize_email(raw).map(|email| Identity::Email(self.keyed("email", &email)))
    }

    /// Every identity a customer record gives, for an order of `platform`/`shop_id`.
    pub fn identities_of(&self, customer: &Customer, platform: &str, shop_id: &str, country: &str) -> Vec<Identity> {
        let mut out = Vec::with_capacity(3);
        if let Some(id) = customer.platform_customer_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
            out.push(Identity::Account(format!("{platform}#{shop_id}#{id}")));
        }
        if let Some(phone) = customer.phone.as_deref().and_then(|p| self.phone(p, country)) {
            out.push(phone);
        }
        if let Some(email) = customer.email.as_deref().and_then(|e| self.email(e)) {
            out.push(email);
        }
        out
    }
}

/// E.164 (`+8613800138000`), or `None` for what no phone library accepts as a valid number.
pub fn normalize_phone(raw: &str, country: &str) -> Option<String> {
    let region: phonenumber::country::Id = country.trim().to_ascii_uppercase().parse().ok()?;
    let number = phonenumber::parse(Some(region), raw.trim()).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// Trimmed and lowercased, if it looks like an address (`local@domain`).
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') || email.contains(char::is_whitespace) {
        return None;
    }
    Some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> IdentityHasher {
        IdentityHasher::new(&[7u8; 32]).unwrap_or_else(|_| panic!("key"))
    }

    #[test]
    fn phones_written_differently_are_one_identity() {
        let h = hasher();
        let forms = ["13800138000", "+86 138 0013 8000", "+86-138-0013-8000", "138 0013 8000", "(+86) 13800138000"];
        let ids: Vec<_> = forms.iter().map(|f| h.phone(f, "CN")).collect();
        assert!(ids[0].is_some());
        assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
        assert_eq!(normalize_phone("138 0013 8000", "cn").as_deref(), Some("+8613800138000"));
        // A US number with its own prefix is not re-read as Chinese.
        assert_eq!(normalize_phone("+1 415-555-2671", "CN").as_deref(), Some("+14155552671"));
    }

    #[test]
    fn invalid_phones_are_no_identity() {
        for bad in ["", "12345", "not a phone", "+86 000 0000 0000"] {
            assert_eq!(normalize_phone(bad, "CN"), None, "{bad}");
        }
        assert_eq!(normalize_phone("13800138000", "XX"), None);
    }

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(normalize_email("  Li.Wei@Example.COM ").as_deref(), Some("li.wei@example.com"));
        for bad in ["", "no-at", "@x.com", "a@", "a@b@c", "a b@c.com"] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
        let h = hasher();
        assert_eq!(h.email("A@B.cn"), h.email(" a@b.cn"));
    }

    #[test]
    fn stored_identities_hold_no_plain_pii_and_depend_on_the_key() {
        let h = hasher();
        let Some(Identity::Phone(v)) = h.phone("13800138000", "CN") else { panic!("phone") };
        assert_eq!(v.len(), 64);
        assert!(!v.contains("13800138000"));
        let other = IdentityHasher::new(&[8u8; 32]).unwrap_or_else(|_| panic!("key"));
        assert_ne!(h.phone("13800138000", "CN"), other.phone("13800138000", "CN"));
        // The domain separates kinds: the same text as phone and email never collides.
        assert_ne!(h.keyed("phone", "x"), h.keyed("email", "x"));
        assert!(IdentityHasher::new(b"short").is_err());
    }

    #[test]
    fn accounts_are_scoped_to_platform_and_shop() {
        let h = hasher();
        let c = Customer { platform_customer_id: Some("42".into()), phone: None, email: None };
        assert_eq!(h.identities_of(&c, "shopify", "s1", "CN"), vec![Identity::Account("shopify#s1#42".into())]);
        assert!(h.identities_of(&Customer::default(), "shopify", "s1", "CN").is_empty());
    }
}
