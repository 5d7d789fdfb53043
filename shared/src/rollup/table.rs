//! A computed rollup table in columnar form, independent of any file format: the engine fills
//! it, `parquet` encodes it. Column types mirror docs/tables.md (and the Glue tables).

use std::sync::Arc;

/// One column's values. Money is integer cents (`DECIMAL(18,2)` on disk), dates are days since
/// 1970-01-01, timestamps microseconds since the epoch (UTC).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    Str(Vec<Option<Arc<str>>>),
    I64(Vec<Option<i64>>),
    I32(Vec<Option<i32>>),
    Cents(Vec<Option<i64>>),
    F64(Vec<Option<f64>>),
    Date(Vec<Option<i32>>),
    TimestampMicros(Vec<Option<i64>>),
}

impl ColumnValues {
    pub fn len(&self) -> usize {
        match self {
            ColumnValues::Str(v) => v.len(),
            ColumnValues::I64(v) | ColumnValues::Cents(v) | ColumnValues::TimestampMicros(v) => v.len(),
            ColumnValues::I32(v) | ColumnValues::Date(v) => v.len(),
            ColumnValues::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub values: ColumnValues,
}

/// A table's rows for one `dt` partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// `sales_daily`, …, or `order_lines` (written under `curated/`).
    pub name: &'static str,
    pub columns: Vec<Column>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    /// The key prefix of the table's partitions: `rollups/{name}` or `curated/order_lines`.
    pub fn prefix(&self) -> String {
        table_prefix(self.name)
    }
}

pub fn table_prefix(name: &str) -> String {
    if name == "order_lines" {
        "curated/order_lines".to_string()
    } else {
        format!("rollups/{name}")
    }
}

impl ColumnValues {
    pub fn slice(&self, start: usize, end: usize) -> ColumnValues {
        match self {
            ColumnValues::Str(v) => ColumnValues::Str(v[start..end].to_vec()),
            ColumnValues::I64(v) => ColumnValues::I64(v[start..end].to_vec()),
            ColumnValues::I32(v) => ColumnValues::I32(v[start..end].to_vec()),
            ColumnValues::Cents(v) => ColumnValues::Cents(v[start..end].to_vec()),
            ColumnValues::F64(v) => ColumnValues::F64(v[start..end].to_vec()),
            ColumnValues::Date(v) => ColumnValues::Date(v[start..end].to_vec()),
            ColumnValues::TimestampMicros(v) => ColumnValues::TimestampMicros(v[start..end].to_vec()),
        }
    }
}

impl Table {
    /// The table cut into parts of at most `rows_per_part` rows (one empty part for no rows, so
    /// an empty day is still a readable partition with the schema).
    pub fn into_parts(self, rows_per_part: usize) -> Vec<Table> {
        let rows = self.rows();
        if rows <= rows_per_part {
            return vec![self];
        }
        (0..rows)
            .step_by(rows_per_part.max(1))
            .map(|start| {
                let end = (start + rows_per_part).min(rows);
                Table {
                    name: self.name,
                    columns: self
                        .columns
                        .iter()
                        .map(|c| Column { name: c.name, values: c.values.slice(start, end) })
                        .collect(),
                }
            })
            .collect()
    }
}
