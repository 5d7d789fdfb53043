//! WooCommerce: the REST v3 order as `WC_Webhook` sends it (`wp_json_encode`: compact, `\/`,
//! `\uXXXX`), German shop with VAT-inclusive prices; refunds listed as `{id, reason, total}`;
//! `order.deleted` as `{"id": N}`.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{rate_of, vat_inside, Emitted};
use crate::money::Money;
use crate::synth::catalog::{Currency, Region, CATALOG, CITIES, REFUND_REASONS_EN};
use crate::synth::people::People;
use crate::synth::story::{ShopCtx, Snapshot, StepKind, Story};
use crate::synth::text::{base62_of, fmt_time, hex_id, hex_of, to_php_json, Num, TimeStyle};

/// German standard VAT rate (percent).
const VAT_PCT: i64 = 19;

#[derive(Serialize)]
struct Contact<'a> {
    first_name: &'a str,
    last_name: &'a str,
    company: &'a str,
    address_1: &'a str,
    address_2: &'a str,
    city: &'a str,
    state: &'a str,
    postcode: &'a str,
    country: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    phone: String,
}

#[derive(Serialize)]
struct Meta<'a> {
    id: u64,
    key: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_value: Option<&'a str>,
}

#[derive(Serialize)]
struct LineTax {
    id: u64,
    total: Money,
    subtotal: Money,
}

#[derive(Serialize)]
struct Image {
    id: u64,
    src: String,
}

#[derive(Serialize)]
struct LineItem<'a> {
    id: u64,
    name: String,
    product_id: u64,
    variation_id: u64,
    quantity: i64,
    tax_class: &'a str,
    subtotal: Money,
    subtotal_tax: Money,
    total: Money,
    total_tax: Money,
    taxes: Vec<LineTax>,
    meta_data: Vec<Meta<'a>>,
    sku: &'a str,
    price: Num,
    image: Image,
    parent_name: Option<&'a str>,
}

#[derive(Serialize)]
struct TaxLine<'a> {
    id: u64,
    rate_code: &'a str,
    rate_id: u64,
    label: &'a str,
    compound: bool,
    tax_total: Money,
    shipping_tax_total: Money,
    rate_percent: Num,
    meta_data: &'static [u8],
}

#[derive(Serialize)]
struct ShippingLine<'a> {
    id: u64,
    method_title: &'a str,
    method_id: &'a str,
    instance_id: &'a str,
    total: Money,
    total_tax: Money,
    taxes: &'static [u8],
    meta_data: &'static [u8],
}

#[derive(Serialize)]
struct CouponLine<'a> {
    id: u64,
    code: &'a str,
    discount: Money,
    discount_tax: Money,
    meta_data: &'static [u8],
}

#[derive(Serialize)]
struct RefundRef<'a> {
    id: u64,
    reason: &'a str,
    total: Money,
}

#[derive(Serialize)]
struct Href {
    href: String,
}

#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: Vec<Href>,
    collection: Vec<Href>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<Vec<Href>>,
}

#[derive(Serialize)]
struct Order<'a> {
    id: u64,
    parent_id: u64,
    status: &'a str,
    currency: &'a str,
    version: &'a str,
    prices_include_tax: bool,
    date_created: String,
    date_modified: String,
    discount_total: Money,
    discount_tax: Money,
    shipping_total: Money,
    shipping_tax: Money,
    cart_tax: Money,
    total: Money,
    total_tax: Money,
    customer_id: u64,
    order_key: String,
    billing: Contact<'a>,
    shipping: Contact<'a>,
    payment_method: &'a str,
    payment_method_title: &'a str,
    transaction_id: String,
    customer_ip_address: String,
    customer_user_agent: &'a str,
    created_via: &'a str,
    customer_note: &'a str,
    date_completed: Option<String>,
    date_paid: Option<String>,
    cart_hash: String,
    number: String,
    meta_data: Vec<Meta<'a>>,
    line_items: Vec<LineItem<'a>>,
    tax_lines: Vec<TaxLine<'a>>,
    shipping_lines: Vec<ShippingLine<'a>>,
    fee_lines: &'static [u8],
    coupon_lines: Vec<CouponLine<'a>>,
    refunds: Vec<RefundRef<'a>>,
    payment_url: String,
    is_editable: bool,
    needs_payment: bool,
    needs_processing: bool,
    date_created_gmt: String,
    date_modified_gmt: String,
    date_completed_gmt: Option<String>,
    date_paid_gmt: Option<String>,
    currency_symbol: &'a str,
    #[serde(rename = "_links")]
    links: Links,
}

/// The exact decimal of `minor / 100 / qty`, as PHP prints a float (trailing zeros dropped,
/// at most 14 decimals).
fn decimal_div(minor: i64, qty: i64) -> String {
    let qty = qty.max(1);
    let (neg, minor) = (minor < 0, minor.unsigned_abs());
    let den = qty.unsigned_abs() * 100;
    let int = minor / den;
    let mut rem = minor % den;
    let mut frac = String::new();
    while rem != 0 && frac.len() < 14 {
        rem *= 10;
        frac.push(char::from(b'0' + (rem / den) as u8));
        rem %= den;
    }
    let sign = if neg { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Per-line money as WooCommerce stores it (all excluding tax).
struct LineMoney {
    subtotal: Money,
    subtotal_tax: Money,
    total: Money,
    total_tax: Money,
}

fn line_money(gross: Money, net: Money, inclusive: bool) -> LineMoney {
    if inclusive {
        let subtotal_tax = vat_inside(gross, VAT_PCT);
        let total_tax = vat_inside(net, VAT_PCT);
        LineMoney { subtotal: gross - subtotal_tax, subtotal_tax, total: net - total_tax, total_tax }
    } else {
        LineMoney { subtotal: gross, subtotal_tax: Money::ZERO, total: net, total_tax: Money::ZERO }
    }
}

/// Every delivery of one WooCommerce order.
pub(crate) fn emit(story: &Story, ctx: &ShopCtx<'_>, people: &People, rng: &mut ChaCha8Rng, out: &mut Vec<Emitted>) {
    let Some(person) = story.customer.map(|c| people.get(c)) else {
        return;
    };
    let inclusive = ctx.currency == Currency::Eur;
    let id = story.order_id.parse().unwrap_or(story.number);
    let site = format!("https://{}.example", ctx.shop.shop_id);
    let city = &CITIES[story.city.unwrap_or(person.city)];
    let country = match city.region {
        Region::De => "DE",
        Region::Us => "US",
        Region::Cn => "CN",
    };
    let lines: Vec<LineMoney> = story.lines.iter().map(|l| line_money(l.gross(), l.net(), inclusive)).collect();
    let shipping_tax = if inclusive { rate_of(story.shipping, VAT_PCT * 100) } else { Money::ZERO };
    let cart_tax: Money = lines.iter().map(|l| l.total_tax).sum();
    let discount_total: Money = lines.iter().map(|l| l.subtotal - l.total).sum();
    let discount_tax: Money = lines.iter().map(|l| l.subtotal_tax - l.total_tax).sum();
    let order_total: Money = story.net() + story.shipping + shipping_tax;
    let (payment_method, payment_title, unpaid_status) = match story.token_seed % 10 {
        0 => ("bacs", "Direct bank transfer", "on-hold"),
        1..=3 => ("ppcp-gateway", "PayPal", "pending"),
        _ => ("stripe", "Credit Card (Stripe)", "pending"),
    };
    let order_key = format!("wc_order_{}", base62_of(story.token_seed, 13));
    let local = |at: DateTime<Utc>| fmt_time(at, ctx.tz, TimeStyle::NaiveT);
    let gmt = |at: DateTime<Utc>| fmt_time(at, chrono_tz::UTC, TimeStyle::NaiveT);
    let symbol = match ctx.currency {
        Currency::Eur => "€",
        Currency::Usd => "$",
        Currency::Cny => "¥",
    };

    let render = |snap: &Snapshot| -> Vec<u8> {
        let paid = snap.paid_at.is_some();
        let status = if snap.cancelled_at.is_some() {
            "cancelled"
        } else if snap.fully_refunded(story) {
            "refunded"
        } else if snap.shipped_at.is_some() {
            "completed"
        } else if paid {
            "processing"
        } else {
            unpaid_status
        };
        let paid_at = snap.paid_at.map(|t| t - Duration::seconds(1));
        let completed_at = snap.shipped_at.map(|t| t - Duration::seconds(1));
        let phone = person.phone_typed();
        let line_items = story
            .lines
            .iter()
            .zip(&lines)
            .enumerate()
            .map(|(i, (l, m))| {
                let s = &CATALOG[l.sku];
                let product_id = 20 + l.sku as u64 * 3;
                LineItem {
                    id: id * 8 + i as u64,
                    name: s.name_en.replace('"', "&quot;") + if s.is_purifier() { " - White" } else { "" },
                    product_id,
                    variation_id: if s.is_purifier() { product_id + 1 } else { 0 },
                    quantity: l.quantity,
                    tax_class: "",
                    subtotal: m.subtotal,
                    subtotal_tax: m.subtotal_tax,
                    total: m.total,
                    total_tax: m.total_tax,
                    taxes: if inclusive {
                        vec![LineTax { id: 1, total: m.total_tax, subtotal: m.subtotal_tax }]
                    } else {
                        Vec::new()
                    },
                    meta_data: if s.is_purifier() {
                        vec![Meta {
                            id: id * 8 + 100 + i as u64,
                            key: "pa_color",
                            value: "white",
                            display_key: Some("Color"),
                            display_value: Some("White"),
                        }]
                    } else {
                        Vec::new()
                    },
                    sku: s.sku,
                    price: Num(decimal_div(m.total.minor(), l.quantity)),
                    image: Image {
                        id: 400 + l.sku as u64,
                        src: format!("{site}/wp-content/uploads/2026/10/{}.jpg", s.sku.to_ascii_lowercase()),
                    },
                    parent_name: s.is_purifier().then_some(s.name_en),
                }
            })
            .collect();
        let refunds = snap
            .refunds
            .iter()
            .rev()
            .map(|(r, _)| {
                let plan = &story.refunds[*r];
                let total = if plan.full { order_total } else { plan.merchandise() };
                RefundRef {
                    id: plan.id.parse().unwrap_or(id + 1 + *r as u64),
                    reason: REFUND_REASONS_EN[plan.reason % REFUND_REASONS_EN.len()],
                    total: -total,
                }
            })
            .collect();
        let contact = |with_email: bool, phone: String| Contact {
            first_name: &person.first,
            last_name: &person.last,
            company: "",
            address_1: &person.street,
            address_2: "",
            city: city.name,
            state: if city.region == Region::De { "" } else { city.province },
            postcode: city.postcode,
            country,
            email: if with_email { person.email.as_deref() } else { None },
            phone,
        };
        let order = Order {
            id,
            parent_id: 0,
            status,
            currency: &ctx.shop.currency,
            version: "9.4.2",
            prices_include_tax: inclusive,
            date_created: local(story.created_at()),
            date_modified: local(snap.at),
            discount_total,
            discount_tax,
            shipping_total: story.shipping,
            shipping_tax,
            cart_tax,
            total: order_total,
            total_tax: cart_tax + shipping_tax,
            customer_id: if story.guest { 0 } else { person.woo_id() },
            order_key: order_key.clone(),
            billing: contact(true, phone),
            shipping: contact(false, String::new()),
            payment_method,
            payment_method_title: payment_title,
            transaction_id: if paid && payment_method != "bacs" {
                format!("pi_{}", hex_of(story.token_seed ^ 9, 24))
            } else {
                String::new()
            },
            customer_ip_address: format!("198.51.100.{}", 1 + story.token_seed % 254),
            customer_user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
            created_via: "checkout",
            customer_note: "",
            date_completed: completed_at.map(local),
            date_paid: paid_at.map(local),
            cart_hash: hex_of(story.token_seed ^ 7, 32),
            number: id.to_string(),
            meta_data: if paid && payment_method == "stripe" {
                vec![Meta {
                    id: id * 8 + 200,
                    key: "_stripe_currency",
                    value: &ctx.shop.currency,
                    display_key: None,
                    display_value: None,
                }]
            } else {
                Vec::new()
            },
            line_items,
            tax_lines: if inclusive {
                vec![TaxLine {
                    id: id * 8 + 5,
                    rate_code: "DE-MWST-1",
                    rate_id: 1,
                    label: "MwSt.",
                    compound: false,
                    tax_total: cart_tax,
                    shipping_tax_total: shipping_tax,
                    rate_percent: Num(VAT_PCT.to_string()),
                    meta_data: &[],
                }]
            } else {
                Vec::new()
            },
            shipping_lines: vec![ShippingLine {
                id: id * 8 + 4,
                method_title: if story.shipping > Money::ZERO { "Flat rate" } else { "Free shipping" },
                method_id: if story.shipping > Money::ZERO { "flat_rate" } else { "free_shipping" },
                instance_id: "1",
                total: story.shipping,
                total_tax: shipping_tax,
                taxes: &[],
                meta_data: &[],
            }],
            fee_lines: &[],
            coupon_lines: match story.coupon_code {
                Some(code) if discount_total > Money::ZERO => {
                    vec![CouponLine { id: id * 8 + 6, code, discount: discount_total, discount_tax, meta_data: &[] }]
                }
                _ => Vec::new(),
            },
            refunds,
            payment_url: format!("{site}/checkout/order-pay/{id}/?pay_for_order=true&key={order_key}"),
            is_editable: matches!(status, "pending" | "on-hold"),
            needs_payment: !paid && status != "cancelled",
            needs_processing: true,
            date_created_gmt: gmt(story.created_at()),
            date_modified_gmt: gmt(snap.at),
            date_completed_gmt: completed_at.map(gmt),
            date_paid_gmt: paid_at.map(gmt),
            currency_symbol: symbol,
            links: Links {
                this: vec![Href { href: format!("{site}/wp-json/wc/v3/orders/{id}") }],
                collection: vec![Href { href: format!("{site}/wp-json/wc/v3/orders") }],
                customer: (!story.guest)
                    .then(|| vec![Href { href: format!("{site}/wp-json/wc/v3/customers/{}", person.woo_id()) }]),
            },
        };
        to_php_json(&order)
    };

    for (i, step) in story.steps.iter().enumerate() {
        if step.kind == StepKind::Delivered {
            // Core WooCommerce has no delivery state: nothing is sent.
            continue;
        }
        let snap = story.snapshot(i);
        let topic = if step.kind == StepKind::Created { "order.created" } else { "order.updated" };
        out.push(Emitted {
            topic: topic.into(),
            delivery_id: hex_id(rng),
            body: render(&snap),
            at: step.at,
            version: Some(step.at.timestamp_millis()),
        });
        if step.kind == StepKind::Cancelled && rng.gen_bool(0.3) {
            // The shop manager trashes the cancelled order later.
            let at = step.at + Duration::seconds(rng.gen_range(3_600..172_800));
            out.push(Emitted {
                topic: "order.deleted".into(),
                delivery_id: hex_id(rng),
                body: format!("{{\"id\":{id}}}").into_bytes(),
                at,
                version: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_float_text() {
        assert_eq!(decimal_div(3465, 2), "17.325");
        assert_eq!(decimal_div(43215, 1), "432.15");
        assert_eq!(decimal_div(4800, 4), "12");
        assert_eq!(decimal_div(1000, 3), "3.33333333333333");
    }

    #[test]
    fn vat_inclusive_lines_add_up() {
        let m = |s: &str| s.parse::<Money>().expect("money");
        let l = line_money(m("998.00"), m("978.00"), true);
        assert_eq!(l.subtotal + l.subtotal_tax, m("998.00"));
        assert_eq!(l.total + l.total_tax, m("978.00"));
        assert_eq!(l.subtotal_tax, m("159.34"));
    }
}
