//! Shopify: the REST `Order` resource for `orders/*` topics and the `Refund` resource for
//! `refunds/create`, in the compact form of `fixtures/platforms/shopify/orders_create_10kb.json`
//! (money as strings; refund line `subtotal`/`total_tax` and tax `rate` as JSON numbers).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{rate_of, rate_text, share, Emitted};
use crate::money::Money;
use crate::synth::catalog::{Region, CATALOG, CITIES, REFUND_REASONS_EN};
use crate::synth::people::{People, Person};
use crate::synth::story::{ShopCtx, Snapshot, StepKind, Story};
use crate::synth::text::{fmt_time, hex_of, mix, to_json_with_numbers, uuid_v4, Num, TimeStyle};

const VENDOR: &str = "Qingquan Water";
const USER_ID: u64 = 799_407_056;
const LOCATION_ID: u64 = 65_544_149_123;

#[derive(Serialize)]
struct Amount<'a> {
    amount: Money,
    currency_code: &'a str,
}

#[derive(Serialize)]
struct PriceSet<'a> {
    shop_money: Amount<'a>,
    presentment_money: Amount<'a>,
}

fn price_set(amount: Money, currency: &str) -> PriceSet<'_> {
    PriceSet {
        shop_money: Amount { amount, currency_code: currency },
        presentment_money: Amount { amount, currency_code: currency },
    }
}

#[derive(Serialize, Clone)]
struct Address<'a> {
    first_name: &'a str,
    address1: &'a str,
    phone: Option<String>,
    city: &'a str,
    zip: &'a str,
    province: &'a str,
    country: &'a str,
    last_name: &'a str,
    address2: &'a str,
    company: Option<&'a str>,
    latitude: Option<Num>,
    longitude: Option<Num>,
    name: String,
    country_code: &'a str,
    province_code: &'a str,
}

#[derive(Serialize)]
struct DefaultAddress<'a> {
    #[serde(flatten)]
    address: Address<'a>,
    id: u64,
    customer_id: u64,
    country_name: &'a str,
    default: bool,
}

#[derive(Serialize)]
struct MarketingConsent {
    state: &'static str,
    opt_in_level: &'static str,
    consent_updated_at: Option<String>,
}

#[derive(Serialize)]
struct Customer<'a> {
    id: u64,
    email: Option<String>,
    created_at: String,
    updated_at: String,
    first_name: &'a str,
    last_name: &'a str,
    state: &'a str,
    note: Option<&'a str>,
    verified_email: bool,
    multipass_identifier: Option<&'a str>,
    tax_exempt: bool,
    phone: Option<String>,
    email_marketing_consent: MarketingConsent,
    sms_marketing_consent: Option<MarketingConsent>,
    tags: &'a str,
    currency: &'a str,
    tax_exemptions: &'static [u8],
    admin_graphql_api_id: String,
    default_address: DefaultAddress<'a>,
}

#[derive(Serialize)]
struct TaxLine<'a> {
    channel_liable: bool,
    price: Money,
    rate: Num,
    title: &'a str,
}

#[derive(Serialize)]
struct DiscountAllocation {
    amount: Money,
    discount_application_index: u32,
}

#[derive(Serialize)]
struct LineItem<'a> {
    id: u64,
    admin_graphql_api_id: String,
    fulfillable_quantity: i64,
    fulfillment_service: &'a str,
    fulfillment_status: Option<&'a str>,
    gift_card: bool,
    grams: u32,
    name: &'a str,
    price: Money,
    product_exists: bool,
    product_id: u64,
    properties: &'static [u8],
    quantity: i64,
    requires_shipping: bool,
    sku: &'a str,
    taxable: bool,
    title: &'a str,
    total_discount: Money,
    variant_id: u64,
    variant_inventory_management: Option<&'a str>,
    variant_title: Option<&'a str>,
    vendor: &'a str,
    tax_lines: Vec<TaxLine<'a>>,
    duties: &'static [u8],
    discount_allocations: Vec<DiscountAllocation>,
}

#[derive(Serialize)]
struct DiscountCode<'a> {
    code: &'a str,
    amount: Money,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
struct DiscountApplication<'a> {
    target_type: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    value: Money,
    value_type: &'a str,
    allocation_method: &'a str,
    target_selection: &'a str,
    code: &'a str,
}

#[derive(Serialize)]
struct NoteAttribute {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct OrderTaxLine<'a> {
    price: Money,
    rate: Num,
    title: &'a str,
    channel_liable: bool,
}

#[derive(Serialize)]
struct ShippingLine<'a> {
    id: u64,
    carrier_identifier: Option<&'a str>,
    code: &'a str,
    discounted_price: Money,
    phone: Option<&'a str>,
    price: Money,
    requested_fulfillment_service_id: Option<&'a str>,
    source: &'a str,
    title: &'a str,
    tax_lines: &'static [u8],
    discount_allocations: &'static [u8],
}

#[derive(Serialize)]
struct Fulfillment<'a> {
    id: u64,
    admin_graphql_api_id: String,
    created_at: String,
    location_id: u64,
    name: String,
    order_id: u64,
    origin_address: Empty,
    receipt: Empty,
    service: &'a str,
    shipment_status: Option<&'a str>,
    status: &'a str,
    tracking_company: &'a str,
    tracking_number: String,
    tracking_numbers: Vec<String>,
    tracking_url: String,
    tracking_urls: Vec<String>,
    updated_at: String,
    line_items: &'a [LineItem<'a>],
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Transaction<'a> {
    id: u64,
    admin_graphql_api_id: String,
    amount: Money,
    authorization: String,
    created_at: String,
    currency: &'a str,
    device_id: Option<u64>,
    error_code: Option<&'a str>,
    gateway: &'a str,
    kind: &'a str,
    location_id: Option<u64>,
    message: Option<&'a str>,
    order_id: u64,
    parent_id: u64,
    payment_id: String,
    processed_at: String,
    receipt: Empty,
    source_name: &'a str,
    status: &'a str,
    test: bool,
    user_id: u64,
}

#[derive(Serialize)]
struct OrderAdjustment<'a> {
    id: u64,
    amount: Money,
    amount_set: PriceSet<'a>,
    kind: &'a str,
    order_id: u64,
    reason: &'a str,
    refund_id: u64,
    tax_amount: Money,
    tax_amount_set: PriceSet<'a>,
}

#[derive(Serialize)]
struct RefundLineItem<'a> {
    id: u64,
    line_item_id: u64,
    location_id: u64,
    quantity: i64,
    restock_type: &'a str,
    subtotal: Num,
    subtotal_set: PriceSet<'a>,
    total_tax: Num,
    total_tax_set: PriceSet<'a>,
    line_item: &'a LineItem<'a>,
}

#[derive(Serialize)]
struct Refund<'a> {
    id: u64,
    admin_graphql_api_id: String,
    created_at: String,
    note: &'a str,
    order_id: u64,
    processed_at: String,
    restock: bool,
    total_duties_set: PriceSet<'a>,
    user_id: u64,
    order_adjustments: Vec<OrderAdjustment<'a>>,
    transactions: Vec<Transaction<'a>>,
    refund_line_items: Vec<RefundLineItem<'a>>,
    duties: &'static [u8],
}

#[derive(Serialize)]
struct ClientDetails<'a> {
    accept_language: &'a str,
    browser_height: Option<u32>,
    browser_ip: String,
    browser_width: Option<u32>,
    session_hash: Option<&'a str>,
    user_agent: &'a str,
}

#[derive(Serialize)]
struct Order<'a> {
    id: u64,
    admin_graphql_api_id: String,
    app_id: u64,
    browser_ip: String,
    buyer_accepts_marketing: bool,
    cancel_reason: Option<&'a str>,
    cancelled_at: Option<String>,
    cart_token: String,
    checkout_id: u64,
    checkout_token: String,
    client_details: ClientDetails<'a>,
    closed_at: Option<String>,
    confirmation_number: String,
    confirmed: bool,
    contact_email: Option<String>,
    created_at: String,
    currency: &'a str,
    current_subtotal_price: Money,
    current_total_discounts: Money,
    current_total_price: Money,
    current_total_tax: Money,
    customer_locale: &'a str,
    discount_codes: Vec<DiscountCode<'a>>,
    email: Option<String>,
    estimated_taxes: bool,
    financial_status: &'a str,
    fulfillment_status: Option<&'a str>,
    landing_site: String,
    location_id: Option<u64>,
    name: String,
    note: Option<&'a str>,
    note_attributes: Vec<NoteAttribute>,
    number: u64,
    order_number: u64,
    order_status_url: String,
    payment_gateway_names: [&'a str; 1],
    phone: Option<String>,
    presentment_currency: &'a str,
    processed_at: String,
    reference: Option<&'a str>,
    referring_site: &'a str,
    source_identifier: Option<&'a str>,
    source_name: &'a str,
    subtotal_price: Money,
    tags: &'a str,
    tax_exempt: bool,
    tax_lines: Vec<OrderTaxLine<'a>>,
    taxes_included: bool,
    test: bool,
    token: String,
    total_discounts: Money,
    total_line_items_price: Money,
    total_outstanding: Money,
    total_price: Money,
    total_tax: Money,
    total_tip_received: Money,
    total_weight: u64,
    updated_at: String,
    user_id: Option<u64>,
    billing_address: Address<'a>,
    customer: Customer<'a>,
    discount_applications: Vec<DiscountApplication<'a>>,
    fulfillments: Vec<Fulfillment<'a>>,
    line_items: &'a [LineItem<'a>],
    payment_terms: Option<u8>,
    refunds: Vec<Refund<'a>>,
    shipping_address: Address<'a>,
    shipping_lines: Vec<ShippingLine<'a>>,
    total_shipping_price_set: PriceSet<'a>,
}

/// What every version of one order shares.
struct Base<'a> {
    story: &'a Story,
    ctx: &'a ShopCtx<'a>,
    person: &'a Person,
    order_id: u64,
    currency: &'a str,
    tax_bp: i64,
    tax_title: &'static str,
    line_tax: Vec<Money>,
    total_tax: Money,
    /// `authorized` (card) or `pending` (PayPal, awaiting capture) before payment.
    unpaid_status: &'static str,
    gateway: &'static str,
}

impl<'a> Base<'a> {
    fn t(&self, at: DateTime<Utc>) -> String {
        fmt_time(at, self.ctx.tz, TimeStyle::Offset)
    }

    fn line_id(&self, i: usize) -> u64 {
        13_512_345_000_000 + self.story.number * 10 + i as u64
    }

    fn refund_id(&self, r: usize) -> u64 {
        self.story.refunds[r].id.parse().unwrap_or(985_612_000_000 + self.story.number * 10 + r as u64)
    }

    fn address(&self) -> Address<'a> {
        let city = &CITIES[self.story.city.unwrap_or(self.person.city)];
        let (country, country_code, province) = match city.region {
            Region::Us => ("United States", "US", us_state(city.province)),
            Region::De => ("Germany", "DE", city.province),
            Region::Cn => ("China", "CN", city.province),
        };
        Address {
            first_name: &self.person.first,
            address1: &self.person.street,
            phone: Some(self.person.phone_typed()),
            city: city.name,
            zip: city.postcode,
            province,
            country,
            last_name: &self.person.last,
            address2: "",
            company: None,
            latitude: None,
            longitude: None,
            name: self.person.full_name(),
            country_code,
            province_code: city.province,
        }
    }

    fn line_items(&self, snap: &Snapshot) -> Vec<LineItem<'a>> {
        let shipped = snap.shipped_at.is_some();
        let rate = rate_text(self.tax_bp);
        self.story
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let s = &CATALOG[l.sku];
                LineItem {
                    id: self.line_id(i),
                    admin_graphql_api_id: format!("gid://shopify/LineItem/{}", self.line_id(i)),
                    fulfillable_quantity: if shipped { 0 } else { l.quantity },
                    fulfillment_service: "manual",
                    fulfillment_status: shipped.then_some("fulfilled"),
                    gift_card: false,
                    grams: s.grams,
                    name: s.name_en,
                    price: l.unit_price,
                    product_exists: true,
                    product_id: 7_890_123_000 + l.sku as u64 * 17,
                    properties: &[],
                    quantity: l.quantity,
                    requires_shipping: s.category != "service",
                    sku: s.sku,
                    taxable: true,
                    title: s.name_en,
                    total_discount: Money::ZERO,
                    variant_id: 42_345_678_000 + l.sku as u64 * 31,
                    variant_inventory_management: (s.category != "service").then_some("shopify"),
                    variant_title: s.is_purifier().then_some("White"),
                    vendor: VENDOR,
                    tax_lines: vec![TaxLine {
                        channel_liable: false,
                        price: self.line_tax[i],
                        rate: Num(rate.clone()),
                        title: self.tax_title,
                    }],
                    duties: &[],
                    discount_allocations: if l.discount() > Money::ZERO {
                        vec![DiscountAllocation { amount: l.discount(), discount_application_index: 0 }]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect()
    }

    /// Refunded merchandise, tax and shipping of refund `r`.
    fn refund_amounts(&self, r: usize) -> (Vec<Money>, Money) {
        let plan = &self.story.refunds[r];
        let taxes = plan
            .parts
            .iter()
            .map(|p| {
                let l = &self.story.lines[p.line];
                if p.quantity == l.quantity {
                    self.line_tax[p.line]
                } else {
                    share(self.line_tax[p.line], p.quantity, l.quantity)
                }
            })
            .collect();
        (taxes, plan.shipping)
    }

    fn refund<'b>(&'b self, r: usize, at: DateTime<Utc>, items: &'b [LineItem<'b>]) -> Refund<'b> {
        let plan = &self.story.refunds[r];
        let refund_id = self.refund_id(r);
        let (taxes, shipping) = self.refund_amounts(r);
        let cur = self.currency;
        let refund_line_items = plan
            .parts
            .iter()
            .zip(&taxes)
            .enumerate()
            .map(|(k, (p, tax))| RefundLineItem {
                id: 104_689_000_000 + refund_id % 1_000_000 * 10 + k as u64,
                line_item_id: self.line_id(p.line),
                location_id: LOCATION_ID,
                quantity: p.quantity,
                restock_type: if self.story.lines[p.line].code() == "SVC-INSTALL" { "no_restock" } else { "return" },
                subtotal: Num(p.amount.to_string()),
                subtotal_set: price_set(p.amount, cur),
                total_tax: Num(tax.to_string()),
                total_tax_set: price_set(*tax, cur),
                line_item: &items[p.line],
            })
            .collect();
        let order_adjustments = if shipping > Money::ZERO {
            vec![OrderAdjustment {
                id: 34_812_000_000 + refund_id % 1_000_000,
                amount: -shipping,
                amount_set: price_set(-shipping, cur),
                kind: "shipping_refund",
                order_id: self.order_id,
                reason: "Shipping refund",
                refund_id,
                tax_amount: Money::ZERO,
                tax_amount_set: price_set(Money::ZERO, cur),
            }]
        } else {
            Vec::new()
        };
        let amount = plan.merchandise() + taxes.iter().copied().sum::<Money>() + shipping;
        let at_text = self.t(at);
        Refund {
            id: refund_id,
            admin_graphql_api_id: format!("gid://shopify/Refund/{refund_id}"),
            created_at: at_text.clone(),
            note: REFUND_REASONS_EN[plan.reason % REFUND_REASONS_EN.len()],
            order_id: self.order_id,
            processed_at: at_text.clone(),
            restock: true,
            total_duties_set: price_set(Money::ZERO, cur),
            user_id: USER_ID,
            order_adjustments,
            transactions: vec![Transaction {
                id: 5_792_000_000_000 + refund_id % 1_000_000_000,
                admin_graphql_api_id: format!(
                    "gid://shopify/OrderTransaction/{}",
                    5_792_000_000_000 + refund_id % 1_000_000_000
                ),
                amount,
                authorization: format!("re_{}", hex_of(mix(refund_id), 24)),
                created_at: at_text.clone(),
                currency: cur,
                device_id: None,
                error_code: None,
                gateway: self.gateway,
                kind: "refund",
                location_id: None,
                message: None,
                order_id: self.order_id,
                parent_id: 5_791_000_000_000 + self.story.number,
                payment_id: format!("c{}.{}", 29_170_118_312_000 + self.story.number, r + 2),
                processed_at: at_text,
                receipt: Empty {},
                source_name: "1830279",
                status: "success",
                test: false,
                user_id: USER_ID,
            }],
            refund_line_items,
            duties: &[],
        }
    }

    fn customer(
        &self,
        created: DateTime<Utc>,
        updated: DateTime<Utc>,
        email: Option<String>,
        phone: Option<String>,
    ) -> Customer<'a> {
        let id = self.person.shopify_id();
        Customer {
            id,
            email,
            created_at: self.t(created - Duration::minutes(3 + (self.person.index % 50) as i64)),
            updated_at: self.t(updated),
            first_name: &self.person.first,
            last_name: &self.person.last,
            state: "disabled",
            note: None,
            verified_email: true,
            multipass_identifier: None,
            tax_exempt: false,
            phone,
            email_marketing_consent: MarketingConsent {
                state: "not_subscribed",
                opt_in_level: "single_opt_in",
                consent_updated_at: None,
            },
            sms_marketing_consent: None,
            tags: "",
            currency: self.currency,
            tax_exemptions: &[],
            admin_graphql_api_id: format!("gid://shopify/Customer/{id}"),
            default_address: DefaultAddress {
                address: self.address(),
                id: id + 1,
                customer_id: id,
                country_name: "United States",
                default: true,
            },
        }
    }

    fn order<'b>(&'b self, snap: &Snapshot, items: &'b [LineItem<'b>], cancelled: bool) -> Order<'b> {
        let story = self.story;
        let cur = self.currency;
        let seed = story.token_seed;
        let created = story.created_at() - Duration::seconds(2);
        let updated = snap.at;
        let gross = story.gross();
        let discounts = story.discounts();
        let subtotal = story.net();
        let total = subtotal + story.shipping + self.total_tax;
        let mut refunded = Money::ZERO;
        let mut refunded_merch = Money::ZERO;
        let mut refunded_tax = Money::ZERO;
        for (r, _) in &snap.refunds {
            let (taxes, shipping) = self.refund_amounts(*r);
            let tax: Money = taxes.into_iter().sum();
            refunded_merch += story.refunds[*r].merchandise();
            refunded_tax += tax;
            refunded += story.refunds[*r].merchandise() + tax + shipping;
        }
        let paid = snap.paid_at.is_some();
        let financial_status = if !paid && cancelled {
            "voided"
        } else if !paid {
            self.unpaid_status
        } else if snap.fully_refunded(story) {
            "refunded"
        } else if !snap.refunds.is_empty() {
            "partially_refunded"
        } else {
            "paid"
        };
        let voided = financial_status == "voided";
        let cancelled_at = cancelled.then(|| self.t(snap.at - Duration::seconds(1)));
        let email =
            self.person.email.as_ref().map(|e| if self.person.index % 7 == 3 { capitalise(e) } else { e.clone() });
        let phone = (self.person.index % 5 != 0).then(|| self.person.e164());
        let fulfillments = match snap.shipped_at {
            Some(shipped) => {
                let delivered = snap.delivered_at;
                let tracking = format!("1Z{}", hex_of(mix(seed ^ 0x1A), 16).to_ascii_uppercase());
                vec![Fulfillment {
                    id: 4_567_890_000_000 + story.number,
                    admin_graphql_api_id: format!("gid://shopify/Fulfillment/{}", 4_567_890_000_000 + story.number),
                    created_at: self.t(shipped),
                    location_id: LOCATION_ID,
                    name: format!("#{}.1", 1000 + story.number),
                    order_id: self.order_id,
                    origin_address: Empty {},
                    receipt: Empty {},
                    service: "manual",
                    shipment_status: Some(if delivered.is_some() { "delivered" } else { "in_transit" }),
                    status: "success",
                    tracking_company: "UPS",
                    tracking_url: format!(
                        "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums={tracking}"
                    ),
                    tracking_urls: vec![format!(
                        "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums={tracking}"
                    )],
                    tracking_numbers: vec![tracking.clone()],
                    tracking_number: tracking,
                    updated_at: self.t(delivered.unwrap_or(shipped)),
                    line_items: items,
                }]
            }
            None => Vec::new(),
        };
        let refunds = snap.refunds.iter().map(|(r, at)| self.refund(*r, *at - Duration::seconds(1), items)).collect();
        let coupon_total = story.lines.iter().map(|l| l.coupon).sum::<Money>();
        let (discount_codes, discount_applications) = match story.coupon_code {
            Some(code) if coupon_total > Money::ZERO => (
                vec![DiscountCode { code, amount: coupon_total, kind: "fixed_amount" }],
                vec![DiscountApplication {
                    target_type: "line_item",
                    kind: "discount_code",
                    value: coupon_total,
                    value_type: "fixed_amount",
                    allocation_method: "across",
                    target_selection: "all",
                    code,
                }],
            ),
            _ => (Vec::new(), Vec::new()),
        };
        let first = &CATALOG[story.lines[0].sku];
        let installation = story.lines.iter().any(|l| l.code() == "SVC-INSTALL");
        let zero_if_void = |m: Money| if voided { Money::ZERO } else { m };
        Order {
            id: self.order_id,
            admin_graphql_api_id: format!("gid://shopify/Order/{}", self.order_id),
            app_id: 580_111,
            browser_ip: format!("203.0.113.{}", 1 + seed % 254),
            buyer_accepts_marketing: seed % 3 == 0,
            cancel_reason: cancelled.then_some("customer"),
            cancelled_at: cancelled_at.clone(),
            cart_token: hex_of(seed ^ 1, 32),
            checkout_id: 9_014_140_000 + story.number,
            checkout_token: hex_of(seed ^ 2, 32),
            client_details: ClientDetails {
                accept_language: "en-US",
                browser_height: None,
                browser_ip: format!("203.0.113.{}", 1 + seed % 254),
                browser_width: None,
                session_hash: None,
                user_agent: [
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
                ][(seed % 2) as usize],
            },
            closed_at: cancelled_at,
            confirmation_number: hex_of(seed ^ 3, 10).to_ascii_uppercase(),
            confirmed: true,
            contact_email: email.clone(),
            created_at: self.t(created),
            currency: cur,
            current_subtotal_price: zero_if_void(subtotal - refunded_merch),
            current_total_discounts: zero_if_void(discounts),
            current_total_price: zero_if_void(total - refunded),
            current_total_tax: zero_if_void(self.total_tax - refunded_tax),
            customer_locale: "en-US",
            discount_codes,
            email: email.clone(),
            estimated_taxes: false,
            financial_status,
            fulfillment_status: snap.shipped_at.map(|_| "fulfilled"),
            landing_site: format!("/products/{}", first.name_en.to_ascii_lowercase().replace(['"', ' '], "-")),
            location_id: None,
            name: format!("#{}", 1000 + story.number),
            note: None,
            note_attributes: if installation {
                vec![NoteAttribute {
                    name: "installation_date",
                    value: fmt_time(story.created_at() + Duration::days(3), self.ctx.tz, TimeStyle::NaiveT)[..10]
                        .to_string(),
                }]
            } else {
                Vec::new()
            },
            number: story.number,
            order_number: 1000 + story.number,
            order_status_url: format!(
                "https://{}.myshopify.com/70091555/orders/{}/authenticate?key={}",
                self.ctx.shop.shop_id,
                hex_of(seed ^ 4, 32),
                hex_of(seed ^ 5, 8)
            ),
            payment_gateway_names: [self.gateway],
            phone: phone.clone(),
            presentment_currency: cur,
            processed_at: self.t(created),
            reference: None,
            referring_site: ["https://www.google.com/", "", "https://www.instagram.com/"][(seed % 3) as usize],
            source_identifier: None,
            source_name: "web",
            subtotal_price: subtotal,
            tags: "",
            tax_exempt: false,
            tax_lines: vec![OrderTaxLine {
                price: self.total_tax,
                rate: Num(rate_text(self.tax_bp)),
                title: self.tax_title,
                channel_liable: false,
            }],
            taxes_included: false,
            test: false,
            token: hex_of(seed ^ 4, 32),
            total_discounts: discounts,
            total_line_items_price: gross,
            total_outstanding: if paid || voided { Money::ZERO } else { total },
            total_price: total,
            total_tax: self.total_tax,
            total_tip_received: Money::ZERO,
            total_weight: story.lines.iter().map(|l| u64::from(CATALOG[l.sku].grams) * l.quantity.unsigned_abs()).sum(),
            updated_at: self.t(updated),
            user_id: None,
            billing_address: self.address(),
            customer: self.customer(created, updated, email, phone),
            discount_applications,
            fulfillments,
            line_items: items,
            payment_terms: None,
            refunds,
            shipping_address: self.address(),
            shipping_lines: vec![ShippingLine {
                id: 27_187_834_000 + story.number,
                carrier_identifier: None,
                code: if story.shipping > Money::ZERO { "Standard" } else { "Free Shipping" },
                discounted_price: story.shipping,
                phone: None,
                price: story.shipping,
                requested_fulfillment_service_id: None,
                source: "shopify",
                title: if story.shipping > Money::ZERO { "Standard Shipping" } else { "Free Shipping" },
                tax_lines: &[],
                discount_allocations: &[],
            }],
            total_shipping_price_set: price_set(story.shipping, cur),
        }
    }
}

fn us_state(code: &str) -> &'static str {
    match code {
        "CA" => "California",
        "WA" => "Washington",
        "NV" => "Nevada",
        "OR" => "Oregon",
        _ => "California",
    }
}

/// `zhou.min12@example.cn` → `Zhou.min12@example.cn` (people type e-mails with capitals).
fn capitalise(email: &str) -> String {
    let mut chars = email.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Every delivery of one Shopify order.
pub(crate) fn emit(story: &Story, ctx: &ShopCtx<'_>, people: &People, rng: &mut ChaCha8Rng, out: &mut Vec<Emitted>) {
    let Some(person) = story.customer.map(|c| people.get(c)) else {
        return;
    };
    let city = &CITIES[story.city.unwrap_or(person.city)];
    let tax_bp = city.tax_bp;
    let line_tax: Vec<Money> = story.lines.iter().map(|l| rate_of(l.net(), tax_bp)).collect();
    let total_tax = line_tax.iter().copied().sum();
    let base = Base {
        story,
        ctx,
        person,
        order_id: story.order_id.parse().unwrap_or(story.number),
        currency: &ctx.shop.currency,
        tax_bp,
        tax_title: if city.tax_title.is_empty() { "Sales Tax" } else { city.tax_title },
        line_tax,
        total_tax,
        unpaid_status: if story.token_seed % 4 == 0 { "pending" } else { "authorized" },
        gateway: if story.token_seed % 4 == 0 { "paypal" } else { "shopify_payments" },
    };
    for (i, step) in story.steps.iter().enumerate() {
        let snap = story.snapshot(i);
        let items = base.line_items(&snap);
        let version = Some(step.at.timestamp_millis());
        let mut push = |topic: &str, body: Vec<u8>, at: DateTime<Utc>, version: Option<i64>, rng: &mut ChaCha8Rng| {
            out.push(Emitted { topic: topic.to_string(), delivery_id: uuid_v4(rng), body, at, version });
        };
        match step.kind {
            StepKind::Created => {
                push("orders/create", to_json_with_numbers(&base.order(&snap, &items, false)), step.at, version, rng)
            }
            StepKind::Paid => {
                let body = to_json_with_numbers(&base.order(&snap, &items, false));
                if rng.gen_bool(0.5) {
                    // Payment also fires `orders/updated` with the same resource (same version).
                    push("orders/updated", body.clone(), step.at, version, rng);
                }
                push("orders/paid", body, step.at, version, rng);
            }
            StepKind::Shipped | StepKind::Delivered => {
                push("orders/updated", to_json_with_numbers(&base.order(&snap, &items, false)), step.at, version, rng)
            }
            StepKind::Refunded(r) => {
                let refund_at = step.at - Duration::seconds(1);
                push("refunds/create", to_json_with_numbers(&base.refund(r, refund_at, &items)), refund_at, None, rng);
                // A full refund before shipping is a cancellation with refund.
                let cancel = story.refunds[r].full && snap.shipped_at.is_none();
                let topic = if cancel { "orders/cancelled" } else { "orders/updated" };
                push(topic, to_json_with_numbers(&base.order(&snap, &items, cancel)), step.at, version, rng);
            }
            StepKind::Cancelled => {
                let body = to_json_with_numbers(&base.order(&snap, &items, true));
                if rng.gen_bool(0.3) {
                    push("orders/updated", body.clone(), step.at, version, rng);
                }
                push("orders/cancelled", body, step.at, version, rng);
            }
        }
    }
}
