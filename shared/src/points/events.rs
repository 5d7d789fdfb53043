//! What `unify-points` reads: canonical order versions and membership-card sign-ups.

use crate::canonical::{CanonicalOrder, MemberSignup, RecordKind};
use crate::raw::RawKey;

/// One record that can change members and points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointsEvent {
    Order(Box<CanonicalOrder>),
    Signup(MemberSignup),
}

impl PointsEvent {
    /// The sender format its raw event came in through (`shopify`, `standard`, `feed`, …),
    /// which says whose shop settings apply.
    pub fn sender_format(&self) -> Option<String> {
        let raw_key = match self {
            PointsEvent::Order(o) => &o.source_raw_key,
            PointsEvent::Signup(s) => &s.source_raw_key,
        };
        RawKey::parse(raw_key).map(|k| k.platform)
    }

    pub fn shop_id(&self) -> &str {
        match self {
            PointsEvent::Order(o) => &o.shop_id,
            PointsEvent::Signup(s) => &s.shop_id,
        }
    }
}

/// A line of a canonical file that does not decode (a bug upstream, never retried).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} line {line}: {reason}")]
pub struct BadRecord {
    pub key: String,
    pub line: usize,
    pub reason: String,
}

/// The kind of canonical object `key` is, if `unify-points` consumes it.
pub fn consumed_kind(key: &str) -> Option<RecordKind> {
    [RecordKind::Orders, RecordKind::MemberSignups].into_iter().find(|kind| {
        key.strip_prefix("canonical/").is_some_and(|rest| rest.starts_with(&format!("{}/", kind.prefix())))
    })
}

/// Decodes the lines of one canonical object.
pub fn points_events_of(key: &str, lines: &[String]) -> (Vec<PointsEvent>, Vec<BadRecord>) {
    let mut events = Vec::with_capacity(lines.len());
    let mut bad = Vec::new();
    let kind = consumed_kind(key);
    for (i, line) in lines.iter().enumerate() {
        let decoded = match kind {
            Some(RecordKind::Orders) => {
                serde_json::from_str::<CanonicalOrder>(line).map(|o| PointsEvent::Order(Box::new(o)))
            }
            Some(RecordKind::MemberSignups) => serde_json::from_str::<MemberSignup>(line).map(PointsEvent::Signup),
            _ => {
                bad.push(BadRecord { key: key.into(), line: i + 1, reason: "not an orders or sign-ups object".into() });
                break;
            }
        };
        match decoded {
            Ok(event) => events.push(event),
            Err(e) => bad.push(BadRecord { key: key.into(), line: i + 1, reason: e.to_string() }),
        }
    }
    (events, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_signups_decode_and_bad_lines_are_named() {
        let signup = r#"{"shop_id":"pos-sz","phone":"13800138000","signed_up_at":"2026-11-20T10:00:00+08:00","source_raw_key":"raw/platform=standard/shop=pos-sz/dt=2026-11-20/e1.json"}"#;
        let (events, bad) =
            points_events_of("canonical/member_signups/dt=2026-11-20/x.jsonl.gz", &[signup.into(), "{".into()]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].sender_format().as_deref(), Some("standard"));
        assert_eq!(events[0].shop_id(), "pos-sz");
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![2]);
        assert_eq!(consumed_kind("canonical/orders/dt=2026-11-20/a.jsonl.gz"), Some(RecordKind::Orders));
        assert_eq!(consumed_kind("canonical/inventory/dt=2026-11-20/a.jsonl.gz"), None);
        assert_eq!(consumed_kind("canonical/ordersX/a"), None);
    }
}
