//! Youzan (有赞): push envelopes `{msg, kdt_name, test, sign, sendCount, type, version, …}` whose
//! `msg` is the Java-URL-encoded message JSON. Full trades for `trade_TradeCreate`,
//! `trade_TradePaid`, `trade_TradeBuyerPay`; thin messages for ship, success, close and refunds
//! (see `fixtures/platforms/youzan/`).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::Emitted;
use crate::money::Money;
use crate::synth::catalog::{CATALOG, CITIES, REFUND_REASONS_ZH};
use crate::synth::people::{People, Person};
use crate::synth::story::{ShopCtx, Snapshot, StepKind, Story};
use crate::synth::text::{
    base62_of, fmt_time, hex_of, java_url_encode_into, mix, push_json_str, to_json, uuid_v4, TimeStyle,
};

/// The shop name Youzan puts in `kdt_name`.
const KDT_NAME: &str = "清泉净水官方商城";

#[derive(Serialize)]
struct Promotion {
    promotion_type: &'static str,
    promotion_title: &'static str,
    promotion_type_name: &'static str,
    promotion_type_id: u32,
    promotion_id: u64,
    discount_fee: Money,
    promotion_alias: &'static str,
    promotion_condition: &'static str,
    promotion_content: &'static str,
}

#[derive(Serialize)]
struct ItemPromotion {
    oid: String,
    item_id: u64,
    sku_id: u64,
    is_present: bool,
    promotions: Vec<Promotion>,
}

#[derive(Serialize)]
struct ItemShare {
    oid: String,
    discount_fee: Money,
}

#[derive(Serialize)]
struct OrderCoupon<'a> {
    promotion_title: &'a str,
    promotion_type: &'a str,
    promotion_type_name: &'a str,
    promotion_type_id: u32,
    sub_promotion_type: &'a str,
    coupon_id: String,
    promotion_id: u64,
    discount_fee: Money,
    promotion_content: &'a str,
    promotion_condition: String,
    item_info: Vec<ItemShare>,
}

#[derive(Serialize)]
struct OrderPromotion<'a> {
    item: Vec<ItemPromotion>,
    adjust_fee: Money,
    order: Vec<OrderCoupon<'a>>,
    item_discount_fee: Money,
    order_discount_fee: Money,
}

#[derive(Serialize)]
struct AddressInfo<'a> {
    self_fetch_info: &'a str,
    delivery_address: String,
    delivery_postal_code: &'a str,
    receiver_name: String,
    delivery_province: &'a str,
    delivery_city: &'a str,
    address_extra: String,
    delivery_district: &'a str,
    receiver_tel: String,
}

#[derive(Serialize)]
struct RemarkInfo {
    buyer_message: &'static str,
}

#[derive(Serialize)]
struct PayInfo {
    outer_transactions: Vec<String>,
    deduction_real_pay: i64,
    real_payment: Money,
    post_fee: Money,
    deduction_pay: i64,
    deduct_value_card_pay: i64,
    deduct_gift_card_pay: i64,
    phase_payments: &'static [u8],
    total_fee: Money,
    payment: Money,
    transaction: Vec<String>,
}

#[derive(Serialize)]
struct BuyerInfo {
    outer_user_id: String,
    buyer_phone: String,
    yz_open_id: String,
    fans_type: u32,
    buyer_id: u64,
    fans_nickname: String,
    fans_id: u64,
}

#[derive(Serialize)]
struct TradeLine<'a> {
    is_cross_border: &'a str,
    outer_item_id: &'a str,
    discount_price: Money,
    item_type: u32,
    num: i64,
    oid: String,
    title: String,
    fenxiao_payment: Money,
    item_message: &'a str,
    item_no: &'a str,
    buyer_messages: &'a str,
    cross_border_trade_mode: &'a str,
    is_present: bool,
    sub_order_no: &'a str,
    price: Money,
    fenxiao_price: Money,
    total_fee: Money,
    alias: String,
    payment: Money,
    item_barcode: &'a str,
    outer_sku_id: &'a str,
    goods_url: String,
    customs_code: &'a str,
    item_id: u64,
    sku_properties_name: &'a str,
    sku_id: u64,
    pic_path: String,
    sku_no: &'a str,
    points_price: &'a str,
    sku_barcode: &'a str,
}

#[derive(Serialize)]
struct Source {
    platform: &'static str,
    wx_entrance: &'static str,
}

#[derive(Serialize)]
struct SourceInfo {
    is_offline_order: bool,
    book_key: String,
    biz_source: &'static str,
    source: Source,
}

#[derive(Serialize)]
struct OrderExtra {
    is_from_cart: &'static str,
    is_points_order: &'static str,
}

#[derive(Serialize)]
struct OrderTags {
    is_member: bool,
    is_secured_transactions: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_payed: Option<bool>,
}

#[derive(Serialize)]
struct OrderInfo<'a> {
    consign_time: &'a str,
    order_extra: OrderExtra,
    created: String,
    status_str: &'a str,
    expired_time: String,
    success_time: &'a str,
    #[serde(rename = "type")]
    kind: u32,
    confirm_time: &'a str,
    tid: &'a str,
    pay_time: String,
    update_time: String,
    is_retail_order: bool,
    team_type: u32,
    pay_type: u32,
    refund_state: u32,
    close_type: u32,
    order_tags: OrderTags,
    express_type: u32,
    status: &'a str,
}

#[derive(Serialize)]
struct FullOrderInfo<'a> {
    address_info: AddressInfo<'a>,
    remark_info: RemarkInfo,
    pay_info: PayInfo,
    buyer_info: BuyerInfo,
    orders: Vec<TradeLine<'a>>,
    source_info: SourceInfo,
    order_info: OrderInfo<'a>,
}

#[derive(Serialize)]
struct FullMessage<'a> {
    delivery_order: &'static [u8],
    order_promotion: OrderPromotion<'a>,
    refund_order: &'static [u8],
    full_order_info: FullOrderInfo<'a>,
}

#[derive(Serialize)]
struct ThinMessage<'a> {
    update_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    close_reason: Option<&'a str>,
    tid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    close_type: Option<u32>,
}

#[derive(Serialize)]
struct RefundMessage<'a> {
    update_time: String,
    refund_type: &'a str,
    refund_reason_desc: &'a str,
    refunded_fee: Money,
    refund_reason: &'a str,
    refund_id: &'a str,
    version: i64,
    oids: String,
    tid: &'a str,
}

/// Youzan's ciphertext form of personal data (`$…$1$`).
fn encrypted(seed: u64) -> String {
    format!("${}==$1$", base62_of(seed, 22))
}

/// A stable numeric id for the shop (`kdt_id`).
fn kdt_id(shop_id: &str) -> u64 {
    let h = shop_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    90_000_000 + h % 10_000_000
}

/// A resend of `body` (Youzan retries with `sendCount` + 1; everything else is the same).
pub(crate) fn resend(body: &[u8], send_count: u32) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    text.replacen("\"sendCount\":1,", &format!("\"sendCount\":{send_count},"), 1).into_bytes()
}

struct Trade<'a> {
    story: &'a Story,
    ctx: &'a ShopCtx<'a>,
    person: &'a Person,
    client_id: &'a str,
    kdt_id: u64,
    /// Each line's share of the order coupon.
    oids: Vec<String>,
}

impl<'a> Trade<'a> {
    fn t(&self, at: DateTime<Utc>) -> String {
        fmt_time(at, self.ctx.tz, TimeStyle::NaiveSpace)
    }

    /// The push envelope, keys in the order of recorded pushes. Written by hand: `msg` is
    /// URL-encoded ASCII and needs no JSON escaping, and it is most of the body.
    fn envelope(
        &self,
        msg_json: &[u8],
        kind: &str,
        status: Option<&str>,
        version_at: DateTime<Utc>,
        msg_id: &str,
    ) -> Vec<u8> {
        // The legacy body `sign` is md5(client_id + msg + app secret); the generator has no
        // secret, so it writes a stable stand-in of the same form. Receivers check `Event-Sign`.
        let sign = hex_of(mix(self.story.token_seed ^ version_at.timestamp() as u64) ^ msg_json.len() as u64, 32);
        let mut out = Vec::with_capacity(msg_json.len() * 2 + 400);
        out.extend_from_slice(b"{\"msg\":\"");
        java_url_encode_into(&mut out, msg_json);
        out.extend_from_slice(b"\",\"kdt_name\":");
        push_json_str(&mut out, KDT_NAME);
        out.extend_from_slice(b",\"test\":false,\"sign\":\"");
        out.extend_from_slice(sign.as_bytes());
        out.extend_from_slice(b"\",\"sendCount\":1,\"type\":");
        push_json_str(&mut out, kind);
        out.extend_from_slice(format!(",\"version\":{},\"client_id\":", version_at.timestamp()).as_bytes());
        push_json_str(&mut out, self.client_id);
        out.extend_from_slice(format!(",\"mode\":1,\"kdt_id\":{},\"id\":", self.kdt_id).as_bytes());
        push_json_str(&mut out, &self.story.order_id);
        out.extend_from_slice(b",\"msg_id\":");
        push_json_str(&mut out, msg_id);
        out.extend_from_slice(format!(",\"root_kdt_id\":{}", self.kdt_id).as_bytes());
        if let Some(status) = status {
            out.extend_from_slice(b",\"status\":");
            push_json_str(&mut out, status);
        }
        out.push(b'}');
        out
    }

    /// The whole trade as `trade_TradeCreate`/`TradePaid`/`TradeBuyerPay` carry it.
    fn full(&self, snap: &Snapshot, status: &str, status_str: &str, update: DateTime<Utc>) -> Vec<u8> {
        let story = self.story;
        let p = self.person;
        let seed = story.token_seed;
        let city = &CITIES[story.city.unwrap_or(p.city)];
        let paid = snap.paid_at.is_some();
        let (buyer_id, fans_id) = p.youzan_ids();
        let item_promos: Vec<ItemPromotion> = story
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.promo > Money::ZERO)
            .map(|(i, l)| ItemPromotion {
                oid: self.oids[i].clone(),
                item_id: item_id(l.sku),
                sku_id: sku_id(l.sku),
                is_present: false,
                promotions: vec![Promotion {
                    promotion_type: "timelimitedDiscount",
                    promotion_title: "限时折扣",
                    promotion_type_name: "限时折扣",
                    promotion_type_id: 11,
                    promotion_id: 6_138_916,
                    discount_fee: l.promo,
                    promotion_alias: "",
                    promotion_condition: "",
                    promotion_content: "限时折扣",
                }],
            })
            .collect();
        let coupon_total: Money = story.lines.iter().map(|l| l.coupon).sum();
        let order_coupons = match story.coupon_code {
            Some(code) if coupon_total > Money::ZERO => vec![OrderCoupon {
                promotion_title: code,
                promotion_type: "coupon",
                promotion_type_name: "优惠卡券",
                promotion_type_id: 105,
                sub_promotion_type: "card",
                coupon_id: (2_592_102_628 + story.number).to_string(),
                promotion_id: 7_412_093,
                discount_fee: coupon_total,
                promotion_content: "优惠卡券",
                promotion_condition: code.replace('减', "元,减") + "元",
                item_info: story
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.coupon > Money::ZERO)
                    .map(|(i, l)| ItemShare { oid: self.oids[i].clone(), discount_fee: l.coupon })
                    .collect(),
            }],
            _ => Vec::new(),
        };
        let lines_total_fee: Money = story.lines.iter().map(|l| l.gross() - l.promo).sum();
        let payment = story.net() + story.shipping;
        let trade_lines = story
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let s = &CATALOG[l.sku];
                let alias = base62_of(mix(l.sku as u64 ^ 0xA11A5), 13).to_ascii_lowercase();
                let variant = s.is_purifier();
                TradeLine {
                    is_cross_border: "",
                    outer_item_id: if variant { family(s.sku) } else { s.sku },
                    discount_price: l.unit_price - Money::from_minor(l.promo.minor() / l.quantity.max(1)),
                    item_type: 0,
                    num: l.quantity,
                    oid: self.oids[i].clone(),
                    title: format!("清泉 {}", s.name_zh),
                    fenxiao_payment: Money::ZERO,
                    item_message: "",
                    item_no: "",
                    buyer_messages: "",
                    cross_border_trade_mode: "",
                    is_present: false,
                    sub_order_no: "",
                    price: l.unit_price,
                    fenxiao_price: Money::ZERO,
                    total_fee: l.gross() - l.promo,
                    goods_url: format!("https://h5.youzan.com/v2/showcase/goods?alias={alias}"),
                    alias,
                    payment: l.net(),
                    item_barcode: "",
                    outer_sku_id: if variant { s.sku } else { "" },
                    customs_code: "",
                    item_id: item_id(l.sku),
                    sku_properties_name: if variant {
                        r#"[{"k":"颜色","k_id":14,"v":"白色","v_id":2031}]"#
                    } else {
                        "[]"
                    },
                    sku_id: if variant { sku_id(l.sku) } else { 0 },
                    pic_path: format!(
                        "https://img01.yzcdn.cn/upload_files/2026/10/12/Fq{}.jpg",
                        hex_of(l.sku as u64, 16)
                    ),
                    sku_no: "",
                    points_price: "0",
                    sku_barcode: "",
                }
            })
            .collect();
        let enc = p.youzan_encrypted;
        let message = FullMessage {
            delivery_order: &[],
            order_promotion: OrderPromotion {
                item_discount_fee: item_promos.iter().flat_map(|i| &i.promotions).map(|p| p.discount_fee).sum(),
                item: item_promos,
                adjust_fee: Money::ZERO,
                order: order_coupons,
                order_discount_fee: coupon_total,
            },
            refund_order: &[],
            full_order_info: FullOrderInfo {
                address_info: AddressInfo {
                    self_fetch_info: "",
                    delivery_address: if enc { encrypted(seed ^ 21) } else { p.street.clone() },
                    delivery_postal_code: city.postcode,
                    receiver_name: if enc { encrypted(seed ^ 22) } else { p.full_name() },
                    delivery_province: city.province,
                    delivery_city: city.name,
                    address_extra: format!(
                        r#"{{"areaCode":"{}","lon":113.95,"lat":22.53}}"#,
                        &city.postcode[..6.min(city.postcode.len())]
                    ),
                    delivery_district: city.district,
                    receiver_tel: if enc { encrypted(seed ^ 23) } else { p.mobile.clone() },
                },
                remark_info: RemarkInfo {
                    buyer_message: if story.lines.iter().any(|l| l.code() == "SVC-INSTALL") {
                        "请周末上门安装"
                    } else {
                        ""
                    },
                },
                pay_info: PayInfo {
                    outer_transactions: if paid {
                        vec![format!("4200002026{:018}", mix(seed ^ 31) % 1_000_000_000_000_000_000)]
                    } else {
                        Vec::new()
                    },
                    deduction_real_pay: payment.minor(),
                    real_payment: if paid { payment } else { Money::ZERO },
                    post_fee: story.shipping,
                    deduction_pay: 0,
                    deduct_value_card_pay: 0,
                    deduct_gift_card_pay: 0,
                    phase_payments: &[],
                    total_fee: lines_total_fee,
                    payment,
                    transaction: if paid {
                        vec![format!("2611{:017}", mix(seed ^ 32) % 100_000_000_000_000_000)]
                    } else {
                        Vec::new()
                    },
                },
                buyer_info: BuyerInfo {
                    outer_user_id: p.wechat_openid(),
                    buyer_phone: if enc { encrypted(seed ^ 24) } else { p.mobile.clone() },
                    yz_open_id: p.yz_open_id(),
                    fans_type: 1,
                    buyer_id,
                    fans_nickname: if enc { encrypted(seed ^ 25) } else { format!("{}{}", p.first, p.first) },
                    fans_id,
                },
                orders: trade_lines,
                source_info: SourceInfo {
                    is_offline_order: false,
                    book_key: format!(
                        "{}-{}-4{}-a{}-{}",
                        hex_of(seed ^ 41, 8),
                        hex_of(seed ^ 42, 4),
                        hex_of(seed ^ 43, 3),
                        hex_of(seed ^ 44, 3),
                        hex_of(seed ^ 45, 12)
                    ),
                    biz_source: "",
                    source: Source { platform: "wx", wx_entrance: "merchant_xcx" },
                },
                order_info: OrderInfo {
                    consign_time: "",
                    order_extra: OrderExtra { is_from_cart: "true", is_points_order: "0" },
                    created: self.t(story.created_at()),
                    status_str,
                    expired_time: self.t(story.created_at() + Duration::hours(1)),
                    success_time: "",
                    kind: 0,
                    confirm_time: "",
                    tid: &story.order_id,
                    pay_time: snap.paid_at.map(|t| self.t(t)).unwrap_or_default(),
                    update_time: self.t(update),
                    is_retail_order: false,
                    team_type: 0,
                    pay_type: if paid { 10 } else { 0 },
                    refund_state: 0,
                    close_type: 0,
                    order_tags: OrderTags {
                        is_member: true,
                        is_secured_transactions: true,
                        is_payed: paid.then_some(true),
                    },
                    express_type: 0,
                    status,
                },
            },
        };
        to_json(&message)
    }
}

/// `WP-RO-500` → `WP-RO` (the product code; the SKU names the variant).
fn family(sku: &str) -> &str {
    match sku.rfind('-') {
        Some(i) if i > 0 => &sku[..i],
        _ => sku,
    }
}

fn item_id(sku: usize) -> u64 {
    3_312_045_600 + sku as u64 * 13
}

fn sku_id(sku: usize) -> u64 {
    41_234_500 + sku as u64 * 7
}

/// Every push of one Youzan trade.
pub(crate) fn emit(story: &Story, ctx: &ShopCtx<'_>, people: &People, rng: &mut ChaCha8Rng, out: &mut Vec<Emitted>) {
    let Some(person) = story.customer.map(|c| people.get(c)) else {
        return;
    };
    let client_id = ctx.shop.client_id.as_deref().unwrap_or(crate::synth::DEFAULT_YOUZAN_CLIENT_ID);
    let oids = (0..story.lines.len()).map(|i| format!("29015341{:011}", story.number * 10 + i as u64)).collect();
    let trade = Trade { story, ctx, person, client_id, kdt_id: kdt_id(&ctx.shop.shop_id), oids };
    let tid = story.order_id.as_str();
    let mut push = |kind: &str,
                    status: Option<&str>,
                    msg: Vec<u8>,
                    at: DateTime<Utc>,
                    version: Option<i64>,
                    rng: &mut ChaCha8Rng| {
        let msg_id = uuid_v4(rng);
        let body = trade.envelope(&msg, kind, status, at, &msg_id);
        out.push(Emitted { topic: kind.to_string(), delivery_id: msg_id, body, at, version });
    };
    let thin = |at: DateTime<Utc>, close: Option<(&'static str, u32)>| {
        to_json(&ThinMessage {
            update_time: trade.t(at),
            close_reason: close.map(|c| c.0),
            tid,
            close_type: close.map(|c| c.1),
        })
    };
    for (i, step) in story.steps.iter().enumerate() {
        let snap = story.snapshot(i);
        let at = step.at;
        let v = Some(at.timestamp_millis());
        match step.kind {
            StepKind::Created => push(
                "trade_TradeCreate",
                Some("WAIT_BUYER_PAY"),
                trade.full(&snap, "WAIT_BUYER_PAY", "待支付", at),
                at,
                v,
                rng,
            ),
            StepKind::Paid => {
                push("trade_TradePaid", Some("TRADE_PAID"), trade.full(&snap, "TRADE_PAID", "已支付", at), at, v, rng);
                if rng.gen_bool(0.5) {
                    let next = at + Duration::seconds(1);
                    let body = trade.full(&snap, "WAIT_SELLER_SEND_GOODS", "待发货", next);
                    push(
                        "trade_TradeBuyerPay",
                        Some("WAIT_SELLER_SEND_GOODS"),
                        body,
                        next,
                        Some(next.timestamp_millis()),
                        rng,
                    );
                }
            }
            StepKind::Shipped => {
                push("trade_TradeSellerShip", Some("WAIT_BUYER_CONFIRM_GOODS"), thin(at, None), at, None, rng)
            }
            StepKind::Delivered => push("trade_TradeSuccess", Some("TRADE_SUCCESS"), thin(at, None), at, None, rng),
            StepKind::Cancelled => {
                let close = if rng.gen_bool(0.5) { ("超时未支付", 1) } else { ("买家取消", 4) };
                push("trade_TradeClose", Some("TRADE_CLOSED"), thin(at, Some(close)), at, None, rng)
            }
            StepKind::Refunded(r) => {
                let plan = &story.refunds[r];
                let fee = plan.merchandise() + plan.shipping;
                let oids: Vec<&str> = plan.parts.iter().map(|p| trade.oids[p.line].as_str()).collect();
                let msg = to_json(&RefundMessage {
                    update_time: trade.t(at),
                    refund_type: if snap.shipped_at.is_some() { "REFUND_AND_RETURN" } else { "REFUND_ONLY" },
                    refund_reason_desc: REFUND_REASONS_ZH[plan.reason % REFUND_REASONS_ZH.len()],
                    refunded_fee: fee,
                    refund_reason: "RETURNSNOT_OTHER",
                    refund_id: &plan.id,
                    version: at.timestamp_millis() + (mix(story.token_seed) % 1000) as i64,
                    oids: oids.join(","),
                    tid,
                });
                push("trade_refund_RefundSuccess", None, msg, at, None, rng);
                if plan.full {
                    let next = at + Duration::seconds(1);
                    push("trade_TradeClose", Some("TRADE_CLOSED"), thin(next, Some(("退款成功", 2))), next, None, rng);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resends_only_change_send_count() {
        let body = br#"{"msg":"x","sendCount":1,"type":"trade_TradePaid"}"#;
        assert_eq!(resend(body, 2), br#"{"msg":"x","sendCount":2,"type":"trade_TradePaid"}"#.to_vec());
        assert_eq!(family("WP-RO-500"), "WP-RO");
        assert!(encrypted(1).starts_with('$') && encrypted(1).ends_with("$1$"));
    }
}
