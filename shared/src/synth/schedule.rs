//! When deliveries reach omnilake: network latency, a few late retries, duplicates (the same
//! delivery sent 2–3 times) and local reordering.

use chrono::{DateTime, Duration, Utc};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::formats::{youzan, Emitted};
use super::{OrderVersionRef, SynthDelivery, SynthShop};
use crate::platforms::Platform;

/// Share of deliveries that are sent more than once.
pub(crate) const DUPLICATE_SHARE: f64 = 0.15;
/// Share of deliveries that arrive late (a retry after a failed attempt, a backed-up queue).
const LATE_SHARE: f64 = 0.04;
/// Consecutive deliveries that may swap places.
const WINDOW: usize = 6;
const WINDOW_SHUFFLE_SHARE: f64 = 0.35;

/// A delivery before scheduling.
#[derive(Debug)]
pub(crate) struct Pending {
    pub shop: usize,
    pub emitted: Emitted,
    pub order: Option<OrderVersionRef>,
    pub forged: bool,
}

/// The scheduled deliveries and how many of them are extra copies.
pub(crate) struct Scheduled {
    pub deliveries: Vec<SynthDelivery>,
    pub duplicates: usize,
}

struct Timed {
    send_at: DateTime<Utc>,
    order: usize,
    delivery: SynthDelivery,
}

/// Adds duplicates, delays and reordering, and numbers the deliveries in send order.
pub(crate) fn schedule(pending: Vec<Pending>, shops: &[SynthShop], rng: &mut ChaCha8Rng) -> Scheduled {
    let mut timed: Vec<Timed> = Vec::with_capacity(pending.len() + pending.len() / 4);
    let mut duplicates = 0;
    for p in pending {
        let shop = &shops[p.shop];
        let mut send_at = p.emitted.at + Duration::milliseconds(rng.gen_range(150..4_000));
        if rng.gen_bool(LATE_SHARE) {
            send_at += Duration::seconds(rng.gen_range(60..6 * 3_600));
        }
        let copies = if !p.forged && rng.gen_bool(DUPLICATE_SHARE) {
            if rng.gen_bool(0.7) {
                1
            } else {
                2
            }
        } else {
            0
        };
        let base = SynthDelivery {
            seq: 0,
            platform: shop.platform,
            shop_id: shop.shop_id.clone(),
            topic: p.emitted.topic,
            delivery_id: p.emitted.delivery_id,
            at: send_at,
            body: p.emitted.body,
            forged: p.forged,
            order: p.order,
        };
        let mut retry_at = send_at;
        for k in 0..copies {
            retry_at += Duration::seconds(rng.gen_range(5..1_800));
            let mut copy = base.clone();
            copy.at = retry_at;
            if copy.platform == Platform::Youzan {
                copy.body = youzan::resend(&base.body, 2 + k);
            }
            timed.push(Timed { send_at: retry_at, order: timed.len(), delivery: copy });
            duplicates += 1;
        }
        timed.push(Timed { send_at, order: timed.len(), delivery: base });
    }
    timed.sort_by(|a, b| a.send_at.cmp(&b.send_at).then(a.order.cmp(&b.order)));
    for chunk in timed.chunks_mut(WINDOW) {
        if rng.gen_bool(WINDOW_SHUFFLE_SHARE) {
            chunk.shuffle(rng);
        }
    }
    let deliveries = timed
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            t.delivery.seq = i + 1;
            t.delivery
        })
        .collect();
    Scheduled { deliveries, duplicates }
}
