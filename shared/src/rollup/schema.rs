//! The column lists of every rollup table (docs/tables.md), and a row-at-a-time builder that
//! fills a columnar [`Table`] while checking each value against its column's type.

use super::table::{Column, ColumnValues, Table};
use super::RollupError;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    I64,
    I32,
    Cents,
    F64,
    Date,
    Timestamp,
}

pub type Spec = &'static [(&'static str, Kind)];

use Kind::*;

pub const ORDER_LINES: Spec = &[
    ("platform", Str),
    ("shop_id", Str),
    ("order_id", Str),
    ("version", I64),
    ("status", Str),
    ("placed_at", Timestamp),
    ("hour", I32),
    ("store_id", Str),
    ("salesperson", Str),
    ("city", Str),
    ("location_id", Str),
    ("member_id", Str),
    ("currency", Str),
    ("line_no", I32),
    ("sku", Str),
    ("quantity", I64),
    ("unit_price", Cents),
    ("discount", Cents),
    ("gross_sales", Cents),
    ("refunded_quantity", I64),
    ("refunded_amount", Cents),
    ("net_sales", Cents),
    ("source_raw_key", Str),
];

pub const SALES_DAILY: Spec = &[
    ("platform", Str),
    ("shop_id", Str),
    ("store_id", Str),
    ("sku", Str),
    ("currency", Str),
    ("orders", I64),
    ("units_sold", I64),
    ("units_refunded", I64),
    ("gross_sales", Cents),
    ("discounts", Cents),
    ("refunds", Cents),
    ("net_sales", Cents),
    ("cogs", Cents),
    ("gross_margin", Cents),
    ("gross_margin_pct", F64),
    ("avg_unit_price", Cents),
    ("avg_unit_price_prev_28d", Cents),
    ("customers", I64),
    ("new_customers", I64),
];

pub const INVENTORY_DAILY: Spec = &[
    ("location_id", Str),
    ("sku", Str),
    ("opening_qty", I64),
    ("received_qty", I64),
    ("sold_qty", I64),
    ("returned_qty", I64),
    ("adjusted_qty", I64),
    ("transfer_in_qty", I64),
    ("transfer_out_qty", I64),
    ("closing_qty", I64),
    ("in_transit_inbound_qty", I64),
    ("in_transit_outbound_qty", I64),
    ("avg_unit_cost", Cents),
    ("closing_value", Cents),
    ("units_sold_28d", I64),
    ("days_of_cover", F64),
    ("turnover_28d", F64),
];

pub const SHOP_DAILY: Spec = &[
    ("platform", Str),
    ("shop_id", Str),
    ("currency", Str),
    ("orders", I64),
    ("customers", I64),
    ("net_sales", Cents),
    ("cogs", Cents),
    ("gross_margin", Cents),
    ("avg_order_value", Cents),
    ("points_issued", I64),
    ("points_redeemed", I64),
    ("points_expired", I64),
    ("points_liability", I64),
];

pub const CUSTOMERS_DAILY: Spec = &[
    ("platform", Str),
    ("active_customers", I64),
    ("new_customers", I64),
    ("returning_customers", I64),
    ("repurchase_rate_365d", F64),
    ("cohort_365d_size", I64),
    ("retained_365d", I64),
];

pub const ORDERS_HOURLY: Spec =
    &[("platform", Str), ("shop_id", Str), ("hour", I32), ("orders", I64), ("net_sales", Cents)];

pub const SERVICE_DEMAND_DAILY: Spec = &[("city", Str), ("sku", Str), ("units_requiring_installation", I64)];

pub const MEMBER_VALUE: Spec = &[
    ("member_id", Str),
    ("first_order_date", Date),
    ("last_order_date", Date),
    ("orders", I64),
    ("lifetime_net_sales", Cents),
    ("lifetime_gross_margin", Cents),
    ("platforms", Str),
    ("points_balance", I64),
];

/// Every table the rollup writes, in the order it writes them.
pub const TABLES: [(&str, Spec); 8] = [
    ("order_lines", ORDER_LINES),
    ("sales_daily", SALES_DAILY),
    ("inventory_daily", INVENTORY_DAILY),
    ("shop_daily", SHOP_DAILY),
    ("customers_daily", CUSTOMERS_DAILY),
    ("orders_hourly", ORDERS_HOURLY),
    ("service_demand_daily", SERVICE_DEMAND_DAILY),
    ("member_value", MEMBER_VALUE),
];

/// Whether a column's values have the type of `kind`.
pub fn matches(kind: Kind, values: &ColumnValues) -> bool {
    matches!(
        (kind, values),
        (Str, ColumnValues::Str(_))
            | (I64, ColumnValues::I64(_))
            | (I32, ColumnValues::I32(_))
            | (Cents, ColumnValues::Cents(_))
            | (F64, ColumnValues::F64(_))
            | (Date, ColumnValues::Date(_))
            | (Timestamp, ColumnValues::TimestampMicros(_))
    )
}

/// One cell of a row. `C` is money in cents, `D` days since the epoch, `T` µs since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    S(Option<Arc<str>>),
    I(Option<i64>),
    I32(Option<i32>),
    C(Option<i64>),
    F(Option<f64>),
    D(Option<i32>),
    T(Option<i64>),
}

pub struct TableBuilder {
    name: &'static str,
    spec: Spec,
    columns: Vec<ColumnValues>,
}

impl TableBuilder {
    pub fn new(name: &'static str, spec: Spec) -> Self {
        Self::with_rows(name, spec, 0)
    }

    /// A builder with room for `rows` rows: a table of a few hundred thousand rows grown step by
    /// step would copy every column several times and keep up to half of it empty.
    pub fn with_rows(name: &'static str, spec: Spec, rows: usize) -> Self {
        let columns = spec
            .iter()
            .map(|(_, kind)| match kind {
                Str => ColumnValues::Str(Vec::with_capacity(rows)),
                I64 => ColumnValues::I64(Vec::with_capacity(rows)),
                I32 => ColumnValues::I32(Vec::with_capacity(rows)),
                Cents => ColumnValues::Cents(Vec::with_capacity(rows)),
                F64 => ColumnValues::F64(Vec::with_capacity(rows)),
                Date => ColumnValues::Date(Vec::with_capacity(rows)),
                Timestamp => ColumnValues::TimestampMicros(Vec::with_capacity(rows)),
            })
            .collect();
        TableBuilder { name, spec, columns }
    }

    /// Appends a row; a cell of the wrong type is a programming error reported as such.
    pub fn push(&mut self, row: Vec<Cell>) -> Result<(), RollupError> {
        if row.len() != self.columns.len() {
            return Err(RollupError::Internal(format!(
                "{}: row of {} cells for {} columns",
                self.name,
                row.len(),
                self.columns.len()
            )));
        }
        for (i, (cell, column)) in row.into_iter().zip(self.columns.iter_mut()).enumerate() {
            match (cell, column) {
                (Cell::S(v), ColumnValues::Str(c)) => c.push(v),
                (Cell::I(v), ColumnValues::I64(c)) => c.push(v),
                (Cell::I32(v), ColumnValues::I32(c)) => c.push(v),
                (Cell::C(v), ColumnValues::Cents(c)) => c.push(v),
                (Cell::F(v), ColumnValues::F64(c)) => c.push(v),
                (Cell::D(v), ColumnValues::Date(c)) => c.push(v),
                (Cell::T(v), ColumnValues::TimestampMicros(c)) => c.push(v),
                (cell, _) => {
                    return Err(RollupError::Internal(format!(
                        "{}.{}: {cell:?} has the wrong type",
                        self.name, self.spec[i].0
                    )))
                }
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Table {
        let columns = self.spec.iter().zip(self.columns).map(|((name, _), values)| Column { name, values }).collect();
        Table { name: self.name, columns }
    }
}
