//! Order versions and sign-ups: resolve the customer's identities to one live member (creating
//! or merging members as needed), plan with the pure engine, write it all in one transaction.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::items::{self, award_from_item, member_from_item, n, s, text, Item, Versioned};
use super::{backoff, is_conflict, PointsError, PointsStore, MAX_ATTEMPTS};
use crate::aws::StorageError;
use crate::canonical::{CanonicalOrder, MemberSignup};
use crate::points::plan::{apply_order_version, grant_signup_bonus, merge_members, order_key, seniority};
use crate::points::{Award, Identity, LedgerEntry, MemberState, ShopPoints};

/// What applying one order version did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// No phone, email or account: a guest order earns nothing.
    Guest,
    /// The award already holds this version or a newer one; its points went to `member_id`
    /// (as recorded on the award: possibly a member merged since, an alias of the live one).
    Stale { member_id: String },
    Applied {
        member_id: String,
        delta: i64,
        created: bool,
        /// Members merged into `member_id` by this order.
        merged: Vec<String>,
    },
}

impl ApplyOutcome {
    /// The member the order version's points went to; `None` for a guest order.
    pub fn member_id(&self) -> Option<&str> {
        match self {
            ApplyOutcome::Guest => None,
            ApplyOutcome::Stale { member_id } | ApplyOutcome::Applied { member_id, .. } => Some(member_id),
        }
    }
}

/// What a membership-card sign-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupOutcome {
    /// Neither a valid phone nor a valid email.
    NoIdentity,
    Applied {
        member_id: String,
        bonus: i64,
        created: bool,
        merged: Vec<String>,
    },
}

/// Identities as read: identity key → the member it points to (absent: unclaimed).
type Links = BTreeMap<String, String>;

/// One member's write in a transaction.
pub(super) struct MemberWrite {
    pub before: Versioned,
    pub after: MemberState,
    pub entries: Vec<LedgerEntry>,
}

impl PointsStore {
    /// Applies one order version (idempotent: duplicates and older versions change nothing).
    pub async fn apply_order(
        &self,
        order: &CanonicalOrder,
        shop: &ShopPoints,
        now: DateTime<Utc>,
    ) -> Result<ApplyOutcome, PointsError> {
        let identities: Vec<Identity> =
            self.hasher.identities_of(&order.customer, &order.platform, &order.shop_id, &shop.country);
        if identities.is_empty() {
            return Ok(ApplyOutcome::Guest);
        }
        let okey = order_key(order);
        let award_key = items::key(items::award_pk(&okey), items::AWARD_SK);
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                self.count_retry();
                backoff(attempt).await;
            }
            let (links, award) = self.read_links(&identities, Some(award_key.clone())).await?;
            if let Some(a) = award.as_ref().filter(|a| a.version >= order.version) {
                return Ok(ApplyOutcome::Stale { member_id: a.member_id.clone() });
            }
            let award_member = award.as_ref().map(|a| a.member_id.clone());
            let (mut survivor, mut writes, created) = self.resolve_and_merge(&links, award_member, now).await?;
            let Some(plan) = apply_order_version(&mut survivor.after, order, award.as_ref(), shop, &self.policy, now)
            else {
                // Only when the award is as new: the check above, so not reached in practice.
                let member_id = award.map_or_else(|| survivor.after.member_id.clone(), |a| a.member_id);
                return Ok(ApplyOutcome::Stale { member_id });
            };
            survivor.entries.extend(plan.entries);
            let member_id = survivor.after.member_id.clone();
            let merged: Vec<String> = writes.iter().map(|w| w.before.state.member_id.clone()).collect();
            writes.insert(0, survivor);

            let mut tx = member_writes(self, &writes);
            tx.extend(link_writes(self, &identities, &links, &member_id));
            tx.push(award_write(self, &okey, &plan.award, award.as_ref()));
            match self.transact(tx, &format!("apply order {okey} v{}", order.version)).await {
                Ok(()) => return Ok(ApplyOutcome::Applied { member_id, delta: plan.delta, created, merged }),
                Err(e) if is_conflict(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PointsError::Contended(format!("order {okey}")))
    }

    /// Applies a membership-card sign-up: finds or creates the member, grants the bonus once.
    pub async fn apply_signup(
        &self,
        signup: &MemberSignup,
        shop: &ShopPoints,
        now: DateTime<Utc>,
    ) -> Result<SignupOutcome, PointsError> {
        let mut identities = Vec::new();
        identities.extend(signup.phone.as_deref().and_then(|p| self.hasher.phone(p, &shop.country)));
        identities.extend(signup.email.as_deref().and_then(|e| self.hasher.email(e)));
        if identities.is_empty() {
            return Ok(SignupOutcome::NoIdentity);
        }
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                self.count_retry();
                backoff(attempt).await;
            }
            let (links, _) = self.read_links(&identities, None).await?;
            let (mut survivor, mut writes, created) = self.resolve_and_merge(&links, None, now).await?;
            let had_bonus = survivor.after.signup_bonus.is_some();
            let entries = grant_signup_bonus(
                &mut survivor.after,
                shop.rule.signup_bonus,
                signup.signed_up_at,
                shop.time_zone,
                &self.policy,
                now,
            );
            survivor.entries.extend(entries);
            let bonus = if had_bonus { 0 } else { survivor.after.signup_bonus.unwrap_or(0) };
            let member_id = survivor.after.member_id.clone();
            let merged: Vec<String> = writes.iter().map(|w| w.before.state.member_id.clone()).collect();
            writes.insert(0, survivor);

            let links = link_writes(self, &identities, &links, &member_id);
            let unchanged = writes.len() == 1 && writes[0].after == writes[0].before.state && links.is_empty();
            if unchanged {
                return Ok(SignupOutcome::Applied { member_id, bonus: 0, created: false, merged });
            }
            let mut tx = member_writes(self, &writes);
            tx.extend(links);
            match self.transact(tx, &format!("sign-up of {member_id}")).await {
                Ok(()) => return Ok(SignupOutcome::Applied { member_id, bonus, created, merged }),
                Err(e) if is_conflict(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PointsError::Contended("a sign-up's member".into()))
    }

    /// The live members the identities (and an earlier award's member) reach, merged into the
    /// oldest, or a new member when none: the survivor's write, the absorbed members' writes,
    /// and whether the survivor is new. Shared by orders and sign-ups.
    async fn resolve_and_merge(
        &self,
        links: &Links,
        award_member: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(MemberWrite, Vec<MemberWrite>, bool), PointsError> {
        let mut reached: BTreeSet<String> = links.values().cloned().collect();
        reached.extend(award_member);
        let (mut survivor, absorbed, created) = start_plan(self.load_live(reached).await?, now);
        let writes = merge_all(&mut survivor, absorbed, self, now);
        Ok((survivor, writes, created))
    }

    /// One consistent batch read of the identities (and the award, for orders).
    async fn read_links(
        &self,
        identities: &[Identity],
        award_key: Option<Item>,
    ) -> Result<(Links, Option<Award>), PointsError> {
        let mut keys: Vec<Item> = identities.iter().map(|i| items::key(i.key(), items::IDENTITY_SK)).collect();
        keys.extend(award_key);
        let mut links = Links::new();
        let mut award = None;
        for item in self.batch_get(keys).await? {
            match text(&item, "sk") {
                Some(items::AWARD_SK) => award = Some(award_from_item(&item)?),
                _ => {
                    if let (Some(pk), Some(member)) = (text(&item, "pk"), text(&item, "member_id")) {
                        links.insert(pk.to_string(), member.to_string());
                    }
                }
            }
        }
        Ok((links, award))
    }

    /// The distinct live members `ids` lead to, following aliases (an alias never changes, so
    /// it needs no condition in the transaction).
    pub(super) async fn load_live(&self, ids: BTreeSet<String>) -> Result<Vec<Versioned>, PointsError> {
        let mut live: BTreeMap<String, Versioned> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut next: BTreeSet<String> = ids;
        while !next.is_empty() {
            seen.extend(next.iter().cloned());
            let keys = next.iter().map(|id| items::key(items::member_pk(id), items::STATE_SK)).collect();
            let found = self.batch_get(keys).await?;
            if found.len() < next.len() {
                let present: BTreeSet<String> = found
                    .iter()
                    .filter_map(|i| text(i, "pk"))
                    .map(|pk| pk.trim_start_matches("member#").into())
                    .collect();
                let missing: Vec<&String> = next.iter().filter(|id| !present.contains(*id)).collect();
                return Err(StorageError::NotFound(format!("member items {missing:?} that identities point to")).into());
            }
            next = BTreeSet::new();
            for item in &found {
                let member = member_from_item(item)?;
                match &member.state.merged_into {
                    Some(target) if !seen.contains(target) => {
                        next.insert(target.clone());
                    }
                    Some(_) => {}
                    None => {
                        live.insert(member.state.member_id.clone(), member);
                    }
                }
            }
        }
        Ok(live.into_values().collect())
    }
}

/// The survivor (oldest live member, or a new one) and the members it absorbs.
fn start_plan(mut live: Vec<Versioned>, now: DateTime<Utc>) -> (MemberWrite, Vec<Versioned>, bool) {
    let created = live.is_empty();
    if created {
        live.push(Versioned { state: MemberState::new(new_member_id(), now), version: 0 });
    }
    live.sort_by(|a, b| seniority(&a.state).cmp(&seniority(&b.state)));
    let mut rest = live.into_iter();
    let survivor =
        rest.next().unwrap_or_else(|| Versioned { state: MemberState::new(new_member_id(), now), version: 0 });
    let write = MemberWrite { after: survivor.state.clone(), before: survivor, entries: Vec::new() };
    (write, rest.collect(), created)
}

fn merge_all(
    survivor: &mut MemberWrite,
    absorbed: Vec<Versioned>,
    store: &PointsStore,
    now: DateTime<Utc>,
) -> Vec<MemberWrite> {
    absorbed
        .into_iter()
        .map(|before| {
            let mut after = before.state.clone();
            let plan = merge_members(&mut survivor.after, &mut after, &store.policy, now);
            survivor.entries.extend(plan.survivor_entries);
            MemberWrite { before, after, entries: plan.absorbed_entries }
        })
        .collect()
}

/// A fresh member id: `mem_` and a time-ordered UUID.
pub(super) fn new_member_id() -> String {
    format!("mem_{}", uuid::Uuid::now_v7().simple())
}

/// Each member's new state (conditioned on the version read) and its ledger entries; an
/// unchanged member is only checked, so the transaction still fails if it moved meanwhile.
pub(super) fn member_writes(store: &PointsStore, writes: &[MemberWrite]) -> Vec<TransactWriteItem> {
    let mut tx = Vec::new();
    for w in writes {
        let id = &w.after.member_id;
        if w.after == w.before.state && w.entries.is_empty() && w.before.version > 0 {
            let check = ConditionCheck::builder()
                .table_name(&store.table)
                .set_key(Some(items::key(items::member_pk(id), items::STATE_SK)))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(w.before.version))
                .build();
            tx.extend(check.ok().map(|c| TransactWriteItem::builder().condition_check(c).build()));
            continue;
        }
        let version = w.before.version + 1;
        tx.push(put(store, items::member_item(&w.after, version), version_condition(w.before.version)));
        for (i, entry) in w.entries.iter().enumerate() {
            tx.push(put(store, items::ledger_item(id, version, i, entry), Some(("attribute_not_exists(pk)", None))));
        }
    }
    tx
}

/// Claims unclaimed identities for `member_id` and repoints those of absorbed members or aliases.
fn link_writes(store: &PointsStore, identities: &[Identity], links: &Links, member_id: &str) -> Vec<TransactWriteItem> {
    let mut tx = Vec::new();
    let mut done = BTreeSet::new();
    for identity in identities {
        let key = identity.key();
        if !done.insert(key.clone()) {
            continue;
        }
        let item = items::identity_item(&key, member_id);
        match links.get(&key) {
            None => tx.push(put(store, item, Some(("attribute_not_exists(pk)", None)))),
            Some(current) if current != member_id => {
                tx.push(put(store, item, Some(("member_id = :old", Some(s(current.clone()))))))
            }
            Some(_) => {}
        }
    }
    tx
}

fn award_write(store: &PointsStore, okey: &str, award: &Award, prior: Option<&Award>) -> TransactWriteItem {
    let condition = match prior {
        None => ("attribute_not_exists(pk)", None),
        Some(p) => ("version = :v", Some(n(p.version))),
    };
    put(store, items::award_item(okey, award), Some(condition))
}

fn version_condition(read_version: i64) -> Option<(&'static str, Option<aws_sdk_dynamodb::types::AttributeValue>)> {
    if read_version == 0 {
        Some(("attribute_not_exists(pk)", None))
    } else {
        Some(("version = :v", Some(n(read_version))))
    }
}

pub(super) fn put(
    store: &PointsStore,
    item: Item,
    condition: Option<(&str, Option<aws_sdk_dynamodb::types::AttributeValue>)>,
) -> TransactWriteItem {
    let mut builder = Put::builder().table_name(&store.table).set_item(Some(item));
    if let Some((expr, value)) = condition {
        builder = builder.condition_expression(expr);
        if let Some(value) = value {
            let name = if expr.contains(":old") { ":old" } else { ":v" };
            builder = builder.expression_attribute_values(name, value);
        }
    }
    // Building a Put fails only without table or item, both always set here.
    TransactWriteItem::builder().set_put(builder.build().ok()).build()
}
