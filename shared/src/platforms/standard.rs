//! Standard Webhooks (our POS, mini-programs, ERP and middleware such as Tmall/JD pollers).
//!
//! Authentication per the Standard Webhooks spec: `webhook-signature` holds one or more
//! space-separated `v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`
//! (several during a secret rotation); the secret is `whsec_` + base64(key); the timestamp
//! must be within 300 s of now. Event key: `webhook-id`, stable across the sender's retries.
//! The body is an envelope `{"type", "timestamp", "data"}` whose `data` is canonical JSON.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::signature::{base64_mac_matches, hmac_sha256};
use super::{key_from_delivery_id, Headers, ParseContext, ParseError, Verified, VerifyError};
use crate::canonical::{CanonicalOrder, CanonicalRecord, InventoryMovement, MemberSignup};

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// Allowed clock skew between sender and receiver.
pub const TOLERANCE_S: i64 = 300;

pub const TYPES: [&str; 5] =
    ["order.created", "order.updated", "member.signup", "inventory.movement", "product.upsert"];

/// The key bytes of a `whsec_…` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, VerifyError> {
    let encoded = secret.trim().strip_prefix("whsec_").unwrap_or(secret.trim());
    B64.decode(encoded).map_err(|_| VerifyError::MalformedSecret)
}

/// The `webhook-signature` value a sender would put on `body` (used by `omnilake send`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, VerifyError> {
    let key = secret_key(secret)?;
    let ts = timestamp.to_string();
    let mac = hmac_sha256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    Ok(format!("v1,{}", B64.encode(mac)))
}

pub fn verify(headers: &Headers, body: &[u8], secret: &str, now: DateTime<Utc>) -> Result<Verified, VerifyError> {
    let id = headers.require(ID_HEADER)?;
    let ts_text = headers.require(TIMESTAMP_HEADER)?;
    let signatures = headers.require(SIGNATURE_HEADER)?;
    let ts: i64 = ts_text.parse().map_err(|_| VerifyError::MalformedHeader(TIMESTAMP_HEADER))?;
    let skew_s = now.timestamp() - ts;
    if skew_s.abs() > TOLERANCE_S {
        return Err(VerifyError::StaleTimestamp { skew_s, tolerance_s: TOLERANCE_S });
    }
    let key = secret_key(secret)?;
    let expected = hmac_sha256(&key, &[id.as_bytes(), b".", ts_text.as_bytes(), b".", body]);
    // Check every candidate (no early exit on a match's position) so timing says nothing.
    let mut matched = false;
    for candidate in signatures.split_ascii_whitespace() {
        if let Some(sig) = candidate.strip_prefix("v1,") {
            matched |= base64_mac_matches(sig, &expected);
        }
    }
    if !matched {
        return Err(VerifyError::BadSignature);
    }
    // The topic is inside the signed body; peek at it so the raw object's metadata names it.
    let topic = envelope_type(body).unwrap_or_else(|| "unknown".to_string());
    Ok(Verified::Event { event_key: key_from_delivery_id("standard", id), topic })
}

fn envelope_type(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct TypeOnly {
        #[serde(rename = "type")]
        kind: String,
    }
    serde_json::from_slice::<TypeOnly>(body).ok().map(|t| t.kind)
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    data: Value,
}

pub fn parse(body: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<CanonicalRecord>, ParseError> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    let record = match envelope.kind.as_str() {
        "order.created" | "order.updated" => CanonicalRecord::Order(Box::new(order_from(envelope.data, ctx)?)),
        "member.signup" => {
            let data = with_default(envelope.data, "shop_id", ctx.shop_id)?;
            let signup: MemberSignup = serde_json::from_value(data)?;
            if signup.shop_id != ctx.shop_id {
                return Err(ParseError::invalid(format!(
                    "sign-up names shop `{}` but was sent to shop `{}`",
                    signup.shop_id, ctx.shop_id
                )));
            }
            if signup.phone.is_none() && signup.email.is_none() {
                return Err(ParseError::invalid("sign-up has neither phone nor email"));
            }
            CanonicalRecord::MemberSignup(signup)
        }
        "inventory.movement" => {
            let movement: InventoryMovement = serde_json::from_value(envelope.data)?;
            movement.validate().map_err(ParseError::Invalid)?;
            CanonicalRecord::Inventory(movement)
        }
        "product.upsert" => CanonicalRecord::Product(serde_json::from_value(envelope.data)?),
        other => return Err(ParseError::UnsupportedTopic(other.to_string())),
    };
    Ok(vec![record])
}

/// Inserts `field` into a JSON object when the sender left it out.
fn with_default(mut data: Value, field: &str, value: &str) -> Result<Value, ParseError> {
    let object = data.as_object_mut().ok_or_else(|| ParseError::invalid("`data` is not an object"))?;
    object.entry(field).or_insert_with(|| Value::String(value.to_string()));
    Ok(data)
}

fn order_from(data: Value, ctx: &ParseContext<'_>) -> Result<CanonicalOrder, ParseError> {
    // `platform` names the sales channel (pos, tmall, jd, wechat, …); POS when absent.
    let data = with_default(data, "platform", "pos")?;
    let data = with_default(data, "shop_id", ctx.shop_id)?;
    let data = with_default(data, "currency", ctx.currency)?;
    let mut order: CanonicalOrder = serde_json::from_value(data)?;
    if order.shop_id != ctx.shop_id {
        return Err(ParseError::invalid(format!(
            "order names shop `{}` but was sent to shop `{}`",
            order.shop_id, ctx.shop_id
        )));
    }
    let lines_carry_refunds =
        order.lines.iter().any(|l| l.refunded_quantity > 0 || l.refunded_amount != crate::money::Money::ZERO);
    if !order.refunds.is_empty() && !lines_carry_refunds {
        order.roll_up_refunds_into_lines();
    }
    order.source_raw_key.clear();
    Ok(order)
}
