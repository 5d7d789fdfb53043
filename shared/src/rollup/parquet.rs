//! Encodes a [`Table`] as one Parquet file (Zstd), with the column types the Glue tables declare:
//! string → `BYTE_ARRAY (STRING)`, bigint → `INT64`, int → `INT32`, decimal(18,2) → `INT64
//! (DECIMAL(18,2))`, double → `DOUBLE`, date → `INT32 (DATE)`, timestamp → `INT64
//! (TIMESTAMP(isAdjustedToUTC=true, MICROS))`. Every column is nullable.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, ArrowPrimitiveType, Date32Array, Decimal128Array, Decimal64Array, Float64Array, Int32Array, Int64Array,
    PrimitiveArray, RecordBatch, RecordBatchOptions, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::schema::{self, Kind, Spec};
use super::table::{Column, ColumnValues, Table};

/// Precision and scale of money columns (`DECIMAL(18,2)`, values are integer cents).
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 2;
/// Rows per row group at most.
pub const MAX_ROW_GROUP_ROWS: usize = 1_000_000;
/// Zstd level 1: in a profile of the 5M-line day, zstd went from ~4% of the run's CPU (level 3)
/// to ~2.5%, and the files are no bigger (a 917k-row order-lines part rewritten by pyarrow: 23.5 MB
/// at level 1, 24.6 MB at level 3).
const ZSTD_LEVEL: i32 = 1;
/// Columns whose values are (nearly) unique per row: a dictionary would only be built, overflow
/// and be thrown away, at the cost of hashing every value.
const NO_DICTIONARY: &[&str] = &["order_id", "source_raw_key", "version", "placed_at", "gross_sales", "net_sales"];
/// The only order-lines columns with min/max statistics: those the file is sorted by (shops in
/// name order) and the one constant per shop. Within a shop the lines are in order-key (hash)
/// order, so every other column's min/max spans nearly every row group and page: no reader
/// could skip anything with them, and keeping them compared every value (~6% of the table's
/// encoding time).
const ORDER_LINES_STATISTICS: &[&str] = &["platform", "shop_id", "currency"];
/// Largest magnitude (in cents) a `DECIMAL(18,2)` holds: 18 nines.
const MAX_DECIMAL_18: i64 = 999_999_999_999_999_999;

#[derive(Debug, thiserror::Error)]
pub enum ParquetEncodeError {
    #[error("table {table}: column {column} has {actual} rows, expected {expected}")]
    ColumnLength { table: &'static str, column: &'static str, expected: usize, actual: usize },
    #[error("table {table}: column {column}: {cents} cents does not fit DECIMAL(18,2)")]
    DecimalOverflow { table: &'static str, column: &'static str, cents: i64 },
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    #[error("parquet: {0}")]
    Parquet(#[from] ParquetError),
}

/// The Arrow type of a column kind (its Parquet type follows from it, see the module doc).
pub fn kind_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str => DataType::Utf8,
        Kind::I64 => DataType::Int64,
        Kind::I32 => DataType::Int32,
        Kind::Cents => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
        Kind::F64 => DataType::Float64,
        Kind::Date => DataType::Date32,
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

/// The Arrow schema of a table's column list (every column nullable).
pub fn spec_schema(spec: Spec) -> Schema {
    Schema::new(spec.iter().map(|(name, kind)| Field::new(*name, kind_type(*kind), true)).collect::<Vec<_>>())
}

/// The Arrow type a column is written as (its Parquet type follows from it, see the module doc).
fn data_type(values: &ColumnValues) -> DataType {
    match values {
        ColumnValues::Str(_) => DataType::Utf8,
        ColumnValues::I64(_) => DataType::Int64,
        ColumnValues::I32(_) => DataType::Int32,
        ColumnValues::Cents(_) => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
        ColumnValues::F64(_) => DataType::Float64,
        ColumnValues::Date(_) => DataType::Date32,
        ColumnValues::TimestampMicros(_) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

fn array(table: &Table, column: &'static str, values: &ColumnValues) -> Result<ArrayRef, ParquetEncodeError> {
    Ok(match values {
        ColumnValues::Str(v) => Arc::new(v.iter().map(|s| s.as_deref()).collect::<StringArray>()),
        ColumnValues::I64(v) => Arc::new(Int64Array::from(v.clone())),
        ColumnValues::I32(v) => Arc::new(Int32Array::from(v.clone())),
        ColumnValues::Cents(v) => {
            if let Some(&cents) = v.iter().flatten().find(|c| c.unsigned_abs() > MAX_DECIMAL_18 as u64) {
                return Err(ParquetEncodeError::DecimalOverflow { table: table.name, column, cents });
            }
            let decimals: Decimal128Array = v.iter().map(|c| c.map(i128::from)).collect();
            Arc::new(decimals.with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)?)
        }
        ColumnValues::F64(v) => Arc::new(Float64Array::from(v.clone())),
        ColumnValues::Date(v) => Arc::new(Date32Array::from(v.clone())),
        ColumnValues::TimestampMicros(v) => Arc::new(TimestampMicrosecondArray::from(v.clone()).with_timezone("UTC")),
    })
}

/// Encodes `table` as a Parquet file: Zstd (level 1), at most [`MAX_ROW_GROUP_ROWS`] rows per row
/// group, page and chunk statistics. A table of 0 rows gives a valid file with the schema and no
/// row group.
fn checked_arrays(table: &Table) -> Result<(Vec<Field>, Vec<ArrayRef>), ParquetEncodeError> {
    let rows = table.rows();
    let mut fields = Vec::with_capacity(table.columns.len());
    let mut arrays = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        if column.values.len() != rows {
            return Err(ParquetEncodeError::ColumnLength {
                table: table.name,
                column: column.name,
                expected: rows,
                actual: column.values.len(),
            });
        }
        fields.push(Field::new(column.name, data_type(&column.values), true));
        arrays.push(array(table, column.name, &column.values)?);
    }
    Ok((fields, arrays))
}

/// One Parquet file written batch by batch, so a big table never sits in memory as Arrow arrays
/// all at once (only the compressed file does).
pub struct PartWriter {
    writer: ArrowWriter<Vec<u8>>,
    schema: Arc<Schema>,
}

impl PartWriter {
    /// A writer with the schema of `first` (every later batch must have the same columns).
    pub fn new(first: &Table) -> Result<PartWriter, ParquetEncodeError> {
        let (fields, _) = checked_arrays(&Table {
            name: first.name,
            columns: first.columns.iter().map(|c| Column { name: c.name, values: c.values.slice(0, 0) }).collect(),
        })?;
        PartWriter::with_schema(Arc::new(Schema::new(fields)), ArrowWriterOptions::new(), None)
    }

    /// A writer for a table's column list, fed with [`PartWriter::write_arrays`].
    pub fn for_spec(spec: Spec) -> Result<PartWriter, ParquetEncodeError> {
        PartWriter::with_schema(Arc::new(spec_schema(spec)), ArrowWriterOptions::new(), None)
    }

    /// A writer for `curated/order_lines`, fed with the column types of [`order_lines_type`]. The
    /// file is what [`PartWriter::for_spec`] would write (Parquet strings, `INT64 DECIMAL(18,2)`)
    /// but for its min/max statistics, kept only where they can prune
    /// ([`ORDER_LINES_STATISTICS`]), and it embeds no Arrow schema, which would make readers
    /// load the strings as dictionaries (categoricals in polars).
    pub fn for_order_lines() -> Result<PartWriter, ParquetEncodeError> {
        let fields: Vec<Field> =
            schema::ORDER_LINES.iter().map(|(name, kind)| Field::new(*name, order_lines_type(*kind), true)).collect();
        let options = ArrowWriterOptions::new().with_skip_arrow_metadata(true);
        PartWriter::with_schema(Arc::new(Schema::new(fields)), options, Some(ORDER_LINES_STATISTICS))
    }

    /// `statistics`: the columns with min/max statistics (`None`: all of them).
    fn with_schema(
        schema: Arc<Schema>,
        options: ArrowWriterOptions,
        statistics: Option<&[&str]>,
    ) -> Result<PartWriter, ParquetEncodeError> {
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?))
            .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
            .set_statistics_enabled(EnabledStatistics::Page);
        for field in schema.fields() {
            if NO_DICTIONARY.contains(&field.name().as_str()) {
                props = props.set_column_dictionary_enabled(field.name().as_str().into(), false);
            }
            if statistics.is_some_and(|with| !with.contains(&field.name().as_str())) {
                props = props.set_column_statistics_enabled(field.name().as_str().into(), EnabledStatistics::None);
            }
        }
        let writer =
            ArrowWriter::try_new_with_options(Vec::new(), schema.clone(), options.with_properties(props.build()))?;
        Ok(PartWriter { writer, schema })
    }

    /// Writes columns built directly as Arrow arrays, in the writer's schema order and types;
    /// money columns are checked to fit `DECIMAL(18,2)`.
    pub fn write_arrays(&mut self, arrays: Vec<ArrayRef>) -> Result<(), ParquetEncodeError> {
        for (field, array) in self.schema.fields().iter().zip(&arrays) {
            let over = if let Some(decimals) = array.as_any().downcast_ref::<Decimal128Array>() {
                first_over_decimal_18(decimals)
            } else if let Some(decimals) = array.as_any().downcast_ref::<Decimal64Array>() {
                first_over_decimal_18(decimals)
            } else {
                None
            };
            if let Some(cents) = over {
                return Err(ParquetEncodeError::Arrow(ArrowError::InvalidArgumentError(format!(
                    "{}: {cents} cents does not fit DECIMAL(18,2)",
                    field.name()
                ))));
            }
        }
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        if batch.num_rows() > 0 {
            self.writer.write(&batch)?;
        }
        Ok(())
    }

    pub fn write(&mut self, batch: &Table) -> Result<(), ParquetEncodeError> {
        let rows = batch.rows();
        if rows == 0 {
            return Ok(());
        }
        let (_, arrays) = checked_arrays(batch)?;
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        self.writer.write(&batch)?;
        Ok(())
    }

    /// Writes the footer and returns the file's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, ParquetEncodeError> {
        self.writer.finish()?;
        // Finished: the footer is written and nothing else will touch the buffer.
        Ok(std::mem::take(self.writer.inner_mut()))
    }
}

/// The first value of `decimals` with more than 18 digits, if any. A plain compare per value:
/// Arrow's `validate_decimal_precision` took ~45 instructions per value, ~1% of a big day.
fn first_over_decimal_18<T>(decimals: &PrimitiveArray<T>) -> Option<i128>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128>,
{
    use arrow_array::Array;
    let over = |v: &i128| v.unsigned_abs() > MAX_DECIMAL_18 as u128;
    if decimals.null_count() == 0 {
        decimals.values().iter().map(|&v| v.into()).find(over)
    } else {
        decimals.iter().flatten().map(Into::into).find(over)
    }
}

/// The Arrow type of a string column given as a dictionary array ([`PartWriter::for_order_lines`]).
pub fn dictionary_string_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8))
}

/// The Arrow types the order lines are built as: strings as dictionary arrays (`UInt32` keys
/// into `Utf8` values: an order's value repeats on its lines without being copied), money as
/// 64-bit decimals (the writer stores them as they are; 128-bit ones it converts value by value).
pub fn order_lines_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str => dictionary_string_type(),
        Kind::Cents => DataType::Decimal64(MONEY_PRECISION, MONEY_SCALE),
        other => kind_type(other),
    }
}

/// Arrow arrays (in `spec` order, of its types or of [`order_lines_type`]) as a [`Table`]: how
/// tests look at a table that is produced as arrays.
pub fn table_from_arrays(name: &'static str, spec: Spec, arrays: &[ArrayRef]) -> Result<Table, ParquetEncodeError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Date32Type, Decimal128Type, Decimal64Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
        UInt32Type,
    };
    use arrow_array::Array;
    if arrays.len() != spec.len() {
        return Err(ParquetEncodeError::Arrow(ArrowError::SchemaError(format!(
            "{name}: {} arrays for {} columns",
            arrays.len(),
            spec.len()
        ))));
    }
    let mut columns = Vec::with_capacity(spec.len());
    for ((column, kind), array) in spec.iter().zip(arrays) {
        let order_lines_types = array.data_type() == &order_lines_type(*kind);
        if array.data_type() != &kind_type(*kind) && !order_lines_types {
            return Err(ParquetEncodeError::Arrow(ArrowError::SchemaError(format!(
                "{name}.{column}: {} is not {:?}",
                array.data_type(),
                kind
            ))));
        }
        let values = match kind {
            Kind::Str if order_lines_types => {
                let typed = array.as_dictionary::<UInt32Type>().downcast_dict::<StringArray>().ok_or_else(|| {
                    ParquetEncodeError::Arrow(ArrowError::SchemaError(format!(
                        "{name}.{column}: not a string dictionary"
                    )))
                })?;
                ColumnValues::Str(typed.into_iter().map(|v| v.map(Arc::from)).collect())
            }
            Kind::Str => ColumnValues::Str(array.as_string::<i32>().iter().map(|v| v.map(Arc::from)).collect()),
            Kind::I64 => ColumnValues::I64(array.as_primitive::<Int64Type>().iter().collect()),
            Kind::I32 => ColumnValues::I32(array.as_primitive::<Int32Type>().iter().collect()),
            Kind::Cents if order_lines_types => {
                ColumnValues::Cents(array.as_primitive::<Decimal64Type>().iter().collect())
            }
            Kind::Cents => ColumnValues::Cents(
                array
                    .as_primitive::<Decimal128Type>()
                    .iter()
                    .map(|v| v.map(|c| i64::try_from(c).unwrap_or(i64::MAX)))
                    .collect(),
            ),
            Kind::F64 => ColumnValues::F64(array.as_primitive::<Float64Type>().iter().collect()),
            Kind::Date => ColumnValues::Date(array.as_primitive::<Date32Type>().iter().collect()),
            Kind::Timestamp => {
                ColumnValues::TimestampMicros(array.as_primitive::<TimestampMicrosecondType>().iter().collect())
            }
        };
        columns.push(Column { name: column, values });
    }
    Ok(Table { name, columns })
}

pub fn encode_parquet(table: &Table) -> Result<Vec<u8>, ParquetEncodeError> {
    let mut writer = PartWriter::new(table)?;
    writer.write(table)?;
    writer.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rollup::table::Column;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::{LogicalType, TimeUnit as ParquetTimeUnit, Type as PhysicalType};
    use parquet::file::statistics::Statistics;

    fn s(v: &str) -> Option<Arc<str>> {
        Some(Arc::from(v))
    }

    fn every_type_table() -> Table {
        Table {
            name: "sales_daily",
            columns: vec![
                Column { name: "shop_id", values: ColumnValues::Str(vec![s("shop-1"), None, s("店铺")]) },
                Column { name: "units_sold", values: ColumnValues::I64(vec![Some(5), Some(-2), None]) },
                Column { name: "hour", values: ColumnValues::I32(vec![None, Some(23), Some(0)]) },
                Column {
                    name: "net_sales",
                    values: ColumnValues::Cents(vec![Some(-1234), None, Some(999_999_999_999_999_999)]),
                },
                Column { name: "ratio", values: ColumnValues::F64(vec![Some(0.25), None, Some(-1.5)]) },
                Column {
                    // 2024-03-01 is day 19783 since 1970-01-01.
                    name: "dt",
                    values: ColumnValues::Date(vec![Some(19_783), Some(-1), None]),
                },
                Column {
                    name: "placed_at",
                    values: ColumnValues::TimestampMicros(vec![None, Some(1_709_251_200_123_456), Some(0)]),
                },
            ],
        }
    }

    fn reader(bytes: Vec<u8>) -> ParquetRecordBatchReaderBuilder<bytes::Bytes> {
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap()
    }

    fn expected_arrow_types() -> Vec<(&'static str, DataType)> {
        vec![
            ("shop_id", DataType::Utf8),
            ("units_sold", DataType::Int64),
            ("hour", DataType::Int32),
            ("net_sales", DataType::Decimal128(18, 2)),
            ("ratio", DataType::Float64),
            ("dt", DataType::Date32),
            ("placed_at", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))),
        ]
    }

    fn assert_arrow_schema(schema: &Schema) {
        let actual: Vec<(&str, DataType, bool)> =
            schema.fields().iter().map(|f| (f.name().as_str(), f.data_type().clone(), f.is_nullable())).collect();
        let expected: Vec<(&str, DataType, bool)> =
            expected_arrow_types().into_iter().map(|(n, t)| (n, t, true)).collect();
        assert_eq!(actual, expected);
    }

    /// The Parquet column types Glue/Athena read: string, bigint, int, decimal(18,2), double,
    /// date, timestamp.
    fn assert_parquet_schema(builder: &ParquetRecordBatchReaderBuilder<bytes::Bytes>) {
        let descr = builder.parquet_schema();
        let actual: Vec<(String, PhysicalType, Option<LogicalType>)> = descr
            .columns()
            .iter()
            .map(|c| (c.name().to_string(), c.physical_type(), c.logical_type_ref().cloned()))
            .collect();
        let expected = vec![
            ("shop_id".to_string(), PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
            ("units_sold".to_string(), PhysicalType::INT64, None),
            ("hour".to_string(), PhysicalType::INT32, None),
            ("net_sales".to_string(), PhysicalType::INT64, Some(LogicalType::decimal(2, 18))),
            ("ratio".to_string(), PhysicalType::DOUBLE, None),
            ("dt".to_string(), PhysicalType::INT32, Some(LogicalType::Date)),
            ("placed_at".to_string(), PhysicalType::INT64, Some(LogicalType::timestamp(true, ParquetTimeUnit::MICROS))),
        ];
        assert_eq!(actual, expected);
        let decimal = descr.column(3);
        assert_eq!((decimal.type_precision(), decimal.type_scale()), (18, 2));
    }

    #[test]
    fn every_column_type_round_trips_with_glue_types() {
        let bytes = encode_parquet(&every_type_table()).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");

        let builder = reader(bytes);
        assert_arrow_schema(builder.schema());
        assert_parquet_schema(&builder);

        let meta = builder.metadata().clone();
        assert_eq!(meta.file_metadata().num_rows(), 3);
        assert_eq!(meta.num_row_groups(), 1);
        let row_group = meta.row_group(0);
        assert_eq!(row_group.num_columns(), 7);
        for column in row_group.columns() {
            assert!(
                matches!(column.compression(), Compression::ZSTD(_)),
                "{}: {:?}",
                column.column_path(),
                column.compression()
            );
            assert!(column.statistics().is_some(), "{} has no statistics", column.column_path());
        }
        // Decimal statistics are the unscaled INT64 values, nulls counted.
        match row_group.column(3).statistics().unwrap() {
            Statistics::Int64(st) => {
                assert_eq!(st.min_opt(), Some(&-1234));
                assert_eq!(st.max_opt(), Some(&999_999_999_999_999_999));
                assert_eq!(st.null_count_opt(), Some(1));
            }
            other => panic!("decimal statistics {other:?}"),
        }

        let batches: Vec<RecordBatch> = builder.build().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(batches.len(), 1);
        let batch = &batches[0];
        assert_eq!(batch.num_rows(), 3);

        let shop = batch.column(0).as_string::<i32>();
        assert_eq!(shop.value(0), "shop-1");
        assert!(shop.is_null(1));
        assert_eq!(shop.value(2), "店铺");

        let units = batch.column(1).as_primitive::<Int64Type>();
        assert_eq!((units.value(0), units.value(1)), (5, -2));
        assert!(units.is_null(2));

        let hour = batch.column(2).as_primitive::<Int32Type>();
        assert!(hour.is_null(0));
        assert_eq!((hour.value(1), hour.value(2)), (23, 0));

        let net = batch.column(3).as_primitive::<Decimal128Type>();
        assert_eq!((net.precision(), net.scale()), (18, 2));
        assert_eq!(net.value(0), -1234_i128);
        assert_eq!(net.value_as_string(0), "-12.34");
        assert!(net.is_null(1));
        assert_eq!(net.value(2), 999_999_999_999_999_999_i128);
        assert_eq!(net.null_count(), 1);

        let ratio = batch.column(4).as_primitive::<Float64Type>();
        assert_eq!(ratio.value(0), 0.25);
        assert!(ratio.is_null(1));
        assert_eq!(ratio.value(2), -1.5);

        let dt = batch.column(5).as_primitive::<Date32Type>();
        assert_eq!((dt.value(0), dt.value(1)), (19_783, -1));
        assert!(dt.is_null(2));

        let placed = batch.column(6).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(placed.timezone(), Some("UTC"));
        assert!(placed.is_null(0));
        assert_eq!(placed.value(1), 1_709_251_200_123_456);
        assert_eq!(placed.value(2), 0);
    }

    #[test]
    fn empty_table_gives_valid_file_with_schema() {
        let mut table = every_type_table();
        for column in &mut table.columns {
            column.values = match &column.values {
                ColumnValues::Str(_) => ColumnValues::Str(vec![]),
                ColumnValues::I64(_) => ColumnValues::I64(vec![]),
                ColumnValues::I32(_) => ColumnValues::I32(vec![]),
                ColumnValues::Cents(_) => ColumnValues::Cents(vec![]),
                ColumnValues::F64(_) => ColumnValues::F64(vec![]),
                ColumnValues::Date(_) => ColumnValues::Date(vec![]),
                ColumnValues::TimestampMicros(_) => ColumnValues::TimestampMicros(vec![]),
            };
        }
        assert_eq!(table.rows(), 0);

        let builder = reader(encode_parquet(&table).unwrap());
        assert_arrow_schema(builder.schema());
        assert_parquet_schema(&builder);
        assert_eq!(builder.metadata().file_metadata().num_rows(), 0);
        assert_eq!(builder.metadata().num_row_groups(), 0);
        let rows: usize = builder.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 0);
    }

    #[test]
    fn row_groups_split_at_one_million_rows() {
        let n = MAX_ROW_GROUP_ROWS + 5;
        let table = Table {
            name: "inventory_daily",
            columns: vec![Column {
                name: "n",
                values: ColumnValues::I32((0..n as i32).map(|i| Some(i % 7)).collect()),
            }],
        };
        let builder = reader(encode_parquet(&table).unwrap());
        let meta = builder.metadata();
        assert_eq!(meta.file_metadata().num_rows(), n as i64);
        let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, vec![MAX_ROW_GROUP_ROWS as i64, 5]);
    }

    #[test]
    fn ragged_columns_are_rejected() {
        let mut table = every_type_table();
        table.columns[2].values = ColumnValues::I32(vec![Some(1)]);
        match encode_parquet(&table) {
            Err(ParquetEncodeError::ColumnLength { column, expected, actual, .. }) => {
                assert_eq!((column, expected, actual), ("hour", 3, 1))
            }
            other => panic!("expected ColumnLength, got {other:?}"),
        }
    }

    #[test]
    fn arrays_with_cents_beyond_decimal_18_2_are_rejected() {
        const SPEC: Spec = &[("net_sales", Kind::Cents)];
        let write = |values: Vec<Option<i128>>| {
            let decimals = Decimal128Array::from(values).with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)?;
            PartWriter::for_spec(SPEC)?.write_arrays(vec![Arc::new(decimals) as ArrayRef])
        };
        let max = i128::from(MAX_DECIMAL_18);
        assert!(write(vec![Some(max), Some(-max), Some(0)]).is_ok());
        assert!(write(vec![Some(max), None, Some(-max)]).is_ok());
        for values in [vec![Some(1), Some(max + 1)], vec![None, Some(-max - 1), Some(2)]] {
            match write(values.clone()) {
                Err(ParquetEncodeError::Arrow(e)) => assert!(e.to_string().contains("net_sales"), "{e}"),
                other => panic!("{values:?} written: {other:?}"),
            }
        }
    }

    #[test]
    fn cents_beyond_decimal_18_2_are_rejected() {
        let table = Table {
            name: "sales_daily",
            columns: vec![Column {
                name: "net_sales",
                values: ColumnValues::Cents(vec![Some(1), Some(-1_000_000_000_000_000_000)]),
            }],
        };
        match encode_parquet(&table) {
            Err(ParquetEncodeError::DecimalOverflow { column, cents, .. }) => {
                assert_eq!((column, cents), ("net_sales", -1_000_000_000_000_000_000))
            }
            other => panic!("expected DecimalOverflow, got {other:?}"),
        }
    }
}
