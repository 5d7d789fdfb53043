//! The points audit (`omnilake audit points`): what must hold for every member and order.

use std::collections::BTreeMap;

use serde::Serialize;

use super::member::MemberState;
use super::plan::Award;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mismatch {
    /// `Σ ledger ≠ available + pending − debt`.
    LedgerSum { member_id: String, ledger: i64, balance: i64 },
    /// Debt while a lot still holds points, or negative lots/pending/debt.
    Inconsistent { member_id: String, reason: String },
    /// The award record differs from the rule applied to the order's latest version.
    Award { order: String, awarded: i64, expected: i64, awarded_version: i64, latest_version: i64 },
    /// An award points to a member that does not exist.
    OrphanAward { order: String, member_id: String },
}

/// Counts and mismatches of one audit run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub members: usize,
    pub aliases: usize,
    pub ledger_entries: usize,
    pub awards: usize,
    pub orders_checked: usize,
    pub points_outstanding: i64,
    pub mismatches: Vec<Mismatch>,
}

/// Checks each member's state against the sum of its ledger.
pub fn audit_members(members: &[MemberState], ledger_sums: &BTreeMap<String, (i64, usize)>, report: &mut AuditReport) {
    for m in members {
        let (ledger, entries) = ledger_sums.get(&m.member_id).copied().unwrap_or((0, 0));
        report.ledger_entries += entries;
        if m.merged_into.is_some() {
            report.aliases += 1;
        } else {
            report.members += 1;
            report.points_outstanding += m.balance();
        }
        if ledger != m.balance() {
            report.mismatches.push(Mismatch::LedgerSum {
                member_id: m.member_id.clone(),
                ledger,
                balance: m.balance(),
            });
        }
        let negative =
            m.lots.values().any(|l| l.points <= 0) || m.pending.values().any(|p| p.points <= 0) || m.debt < 0;
        if negative {
            report.mismatches.push(Mismatch::Inconsistent {
                member_id: m.member_id.clone(),
                reason: "a lot, pending award or the debt is not positive".into(),
            });
        } else if m.debt > 0 && m.available() > 0 {
            report.mismatches.push(Mismatch::Inconsistent {
                member_id: m.member_id.clone(),
                reason: format!("debt {} while {} points sit in lots", m.debt, m.available()),
            });
        }
    }
}

/// Checks each award against the points of its order's latest version (`expected`: order key
/// → (latest version, points under the shop's rule), only orders with a customer identity:
/// guests have no award).
pub fn audit_awards(
    awards: &BTreeMap<String, Award>,
    expected: &BTreeMap<String, (i64, i64)>,
    members: &[MemberState],
    report: &mut AuditReport,
) {
    let known: std::collections::BTreeSet<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    report.awards += awards.len();
    for (order, award) in awards {
        if !known.contains(award.member_id.as_str()) {
            report.mismatches.push(Mismatch::OrphanAward { order: order.clone(), member_id: award.member_id.clone() });
        }
    }
    for (order, &(latest_version, points)) in expected {
        report.orders_checked += 1;
        let (awarded, awarded_version) = awards.get(order).map_or((0, 0), |a| (a.points, a.version));
        if awarded != points || awarded_version != latest_version {
            report.mismatches.push(Mismatch::Award {
                order: order.clone(),
                awarded,
                expected: points,
                awarded_version,
                latest_version,
            });
        }
    }
}
