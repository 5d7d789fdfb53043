//! Each platform's way of writing an order story down: topics, bodies and versions.

use chrono::{DateTime, Utc};
use rand_chacha::ChaCha8Rng;

use super::people::People;
use super::story::{Kind, ShopCtx, Story};
use crate::money::Money;

pub(crate) mod shopify;
pub(crate) mod standard;
pub(crate) mod woocommerce;
pub(crate) mod youzan;

/// One delivery a platform sends, before duplication and shuffling.
#[derive(Debug, Clone)]
pub(crate) struct Emitted {
    pub topic: String,
    pub delivery_id: String,
    pub body: Vec<u8>,
    /// When the platform sends it (simulated).
    pub at: DateTime<Utc>,
    /// The canonical version the body parses to, when it is a whole order.
    pub version: Option<i64>,
}

/// Writes every delivery of `story` in its shop's format.
pub(crate) fn emit(story: &Story, ctx: &ShopCtx<'_>, people: &People, rng: &mut ChaCha8Rng, out: &mut Vec<Emitted>) {
    match ctx.kind {
        Kind::Shopify => shopify::emit(story, ctx, people, rng, out),
        Kind::Woo => woocommerce::emit(story, ctx, people, rng, out),
        Kind::Youzan => youzan::emit(story, ctx, people, rng, out),
        Kind::Pos | Kind::Market => standard::emit_order(story, ctx, people, rng, out),
    }
}

/// Writes only the first version of `story` (for forged deliveries).
pub(crate) fn emit_first(story: &Story, ctx: &ShopCtx<'_>, people: &People, rng: &mut ChaCha8Rng) -> Option<Emitted> {
    let mut first = story.clone();
    first.steps.truncate(1);
    first.refunds.clear();
    let mut out = Vec::with_capacity(1);
    emit(&first, ctx, people, rng, &mut out);
    out.into_iter().next()
}

/// `amount × bp / 10000`, rounded half up (sales tax).
pub(crate) fn rate_of(amount: Money, bp: i64) -> Money {
    Money::from_minor((amount.minor() * bp + 5_000).div_euclid(10_000))
}

/// The VAT inside a tax-inclusive `amount` at `pct` percent, rounded half up.
pub(crate) fn vat_inside(amount: Money, pct: i64) -> Money {
    let den = 100 + pct;
    Money::from_minor((amount.minor() * pct * 2 + den).div_euclid(2 * den))
}

/// `part × num / den`, rounded down.
pub(crate) fn share(part: Money, num: i64, den: i64) -> Money {
    if den == 0 {
        return Money::ZERO;
    }
    Money::from_minor(part.minor() * num / den)
}

/// `0.095` for 950 basis points.
pub(crate) fn rate_text(bp: i64) -> String {
    let text = format!("0.{:04}", bp.clamp(0, 9_999));
    let trimmed = text.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_helpers_round_as_platforms_do() {
        let m = |s: &str| s.parse::<Money>().expect("money");
        assert_eq!(rate_of(m("432.15"), 725), m("31.33"));
        assert_eq!(vat_inside(m("499.00"), 19), m("79.67"));
        assert_eq!(share(m("10.00"), 1, 3), m("3.33"));
        assert_eq!(rate_text(950), "0.095");
        assert_eq!(rate_text(600), "0.06");
        assert_eq!(rate_text(0), "0.0");
    }
}
