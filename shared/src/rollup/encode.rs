//! A day computed and encoded, step by step in the order that keeps memory low: the orders
//! folded, the order lines written to Parquet and their facts dropped, then the other tables
//! built and written with the state the day hands on. Each Parquet part goes to the caller's
//! [`PartSink`] (S3, or a file) as soon as it is encoded, so a day's parts are never all in
//! memory. Nothing here does I/O itself.

use super::compute::{begin_day, fold_threads, DayContext, DayStats, DayTables, OrderLines};
use super::parquet::{encode_parquet, ParquetEncodeError, PartWriter};
use super::partial::Partial;
use super::plan::{part_key, ROWS_PER_PART};
use super::schema;
use super::state::CarriedState;
use super::table::Table;
use super::time::Day;
use super::RollupError;

/// Where each finished Parquet part goes, `(key, bytes)`; called from encoder threads.
pub type PartSink<'a> = &'a (dyn Fn(&str, Vec<u8>) -> Result<(), RollupError> + Sync);

/// A table of the day as handed to the sink: its name, rows and part keys (in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenTable {
    pub name: &'static str,
    pub rows: u64,
    pub parts: Vec<String>,
}

/// Rows per batch when the order lines stream into Parquet: bounds the Arrow arrays in memory.
const ORDER_LINE_BATCH_ROWS: usize = 32_768;

/// Every table of a day (its parts handed to the sink), and the state it hands on (also as
/// gzip JSON).
pub struct EncodedDay {
    /// `curated/order_lines` first, then the rollups.
    pub tables: Vec<WrittenTable>,
    pub state: CarriedState,
    pub state_bytes: Vec<u8>,
    pub stats: DayStats,
}

/// The steps of [`compute_and_encode_day`], reported as each ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayStep {
    /// Movements and orders folded.
    Fold,
    /// The order lines written (and the order facts freed).
    OrderLines,
    /// The other tables built.
    Tables,
    /// The other tables and the state written.
    Encode,
}

/// Computes and encodes day `ctx.day` from the day before's state and the merged partial of
/// its inputs, every Parquet part into `sink`; `step` is told as each [`DayStep`] ends
/// (progress and timings).
pub fn compute_and_encode_day(
    prev: CarriedState,
    partial: Partial,
    ctx: &DayContext,
    sink: PartSink<'_>,
    step: &mut dyn FnMut(DayStep),
) -> Result<EncodedDay, RollupError> {
    let d = ctx.day;
    let (order_lines, rest) = begin_day(prev, partial, ctx, fold_threads())?;
    step(DayStep::Fold);
    let lines = encode_order_lines(&order_lines, d, sink)?;
    // The order facts are most of a day's memory: gone before the other tables are built.
    drop(order_lines);
    step(DayStep::OrderLines);
    let DayTables { tables, state, stats } = rest.finish(ctx)?;
    step(DayStep::Tables);
    let (rest, state_bytes) = encode_tables(tables, &state, d, sink)?;
    step(DayStep::Encode);
    let mut all = vec![lines];
    all.extend(rest);
    Ok(EncodedDay { tables: all, state, state_bytes, stats })
}

fn parquet_error(name: &str, e: ParquetEncodeError) -> RollupError {
    RollupError::Internal(format!("{name}: parquet: {e}"))
}

/// `curated/order_lines` as Parquet parts of up to [`ROWS_PER_PART`] rows (whole batches), each
/// part streamed batch by batch into its own file, two parts encoded at a time.
pub fn encode_order_lines(order_lines: &OrderLines, d: Day, sink: PartSink<'_>) -> Result<WrittenTable, RollupError> {
    let name = "order_lines";
    let bounds = order_lines.bounds(ORDER_LINE_BATCH_ROWS);
    let mut part_ranges: Vec<Vec<usize>> = Vec::new();
    let mut filled = usize::MAX;
    for (i, rows) in bounds.iter().map(|(a, b)| order_lines.range_rows(*a, *b)).enumerate() {
        if filled.saturating_add(rows) > ROWS_PER_PART {
            part_ranges.push(Vec::new());
            filled = 0;
        }
        if let Some(last) = part_ranges.last_mut() {
            last.push(i);
        }
        filled += rows;
    }
    let encode_part = |part: usize, batches: &[usize]| -> Result<String, RollupError> {
        let mut writer = PartWriter::for_spec(schema::ORDER_LINES).map_err(|e| parquet_error(name, e))?;
        for &b in batches {
            let (start, end) = bounds[b];
            writer.write_arrays(order_lines.range_arrays(start, end)?).map_err(|e| parquet_error(name, e))?;
        }
        let bytes = writer.finish().map_err(|e| parquet_error(name, e))?;
        let key = part_key(name, d, part);
        sink(&key, bytes)?;
        Ok(key)
    };
    let stream_parts = |parity: usize| -> Result<Vec<String>, RollupError> {
        part_ranges.iter().enumerate().filter(|(i, _)| i % 2 == parity).map(|(i, b)| encode_part(i, b)).collect()
    };
    let (even, odd) = std::thread::scope(|s| {
        let odd = s.spawn(|| stream_parts(1));
        let even = stream_parts(0);
        (even, odd.join().unwrap_or_else(|_| Err(RollupError::Internal("encoder panicked".into()))))
    });
    let mut parts: Vec<String> = even?.into_iter().chain(odd?).collect();
    parts.sort();
    if parts.is_empty() {
        // An empty day is still a readable partition with the schema.
        parts.push(encode_part(0, &[])?);
    }
    Ok(WrittenTable { name, rows: order_lines.rows() as u64, parts })
}

/// The rollup tables as Parquet parts, and the gzip JSON of the state, on two threads.
pub fn encode_tables(
    tables: Vec<Table>,
    state: &CarriedState,
    d: Day,
    sink: PartSink<'_>,
) -> Result<(Vec<WrittenTable>, Vec<u8>), RollupError> {
    let encode = |table: Table| -> Result<WrittenTable, RollupError> {
        let name = table.name;
        let rows = table.rows() as u64;
        let mut parts = Vec::new();
        for (i, part) in table.into_parts(ROWS_PER_PART).iter().enumerate() {
            let key = part_key(name, d, i);
            sink(&key, encode_parquet(part).map_err(|e| parquet_error(name, e))?)?;
            parts.push(key);
        }
        Ok(WrittenTable { name, rows, parts })
    };
    let (encoded, state_bytes) = std::thread::scope(|s| {
        let state_bytes = s.spawn(|| state.to_gzip_json());
        let encoded: Result<Vec<_>, RollupError> = tables.into_iter().map(encode).collect();
        let state_bytes =
            state_bytes.join().unwrap_or_else(|_| Err(RollupError::Internal("state encoder panicked".into())));
        (encoded, state_bytes)
    });
    Ok((encoded?, state_bytes?))
}
