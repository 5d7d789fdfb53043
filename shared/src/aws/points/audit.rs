//! `omnilake audit points`: the whole table checked against its invariants and against the
//! rule applied to each order's latest version.

use std::collections::BTreeMap;

use super::{PointsError, PointsStore};
use crate::canonical::CanonicalOrder;
use crate::points::audit::{audit_awards, audit_members, AuditReport};
use crate::points::plan::order_key;
use crate::points::ShopPoints;

impl PointsStore {
    /// Audits the table. `orders` are every known version of every order (any order, with
    /// duplicates) with its shop's settings; the latest version of each is judged.
    pub async fn audit<'a>(
        &self,
        orders: impl IntoIterator<Item = (&'a CanonicalOrder, &'a ShopPoints)>,
    ) -> Result<AuditReport, PointsError> {
        let mut latest: BTreeMap<String, (&CanonicalOrder, &ShopPoints)> = BTreeMap::new();
        for (order, shop) in orders {
            let slot = latest.entry(order_key(order)).or_insert((order, shop));
            if order.version > slot.0.version {
                *slot = (order, shop);
            }
        }
        let expected: BTreeMap<String, (i64, i64)> = latest
            .into_iter()
            .filter(|(_, (order, shop))| {
                !self.hasher.identities_of(&order.customer, &order.platform, &order.shop_id, &shop.country).is_empty()
            })
            .map(|(key, (order, shop))| (key, (order.version, shop.rule.points_for_order(order, shop.time_zone))))
            .collect();
        let contents = self.scan_all().await?;
        let mut report = AuditReport::default();
        audit_members(&contents.members, &contents.ledger_sums, &mut report);
        audit_awards(&contents.awards, &expected, &contents.members, &mut report);
        Ok(report)
    }
}
