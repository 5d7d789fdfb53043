//! A day computed and encoded, step by step in the order that keeps memory low: the orders
//! folded, the order lines written to Parquet and their facts dropped, then the other tables
//! built and written with the state the day hands on. Each Parquet part goes to the caller's
//! [`PartSink`] (S3, or a file) as soon as it is encoded, so a day's parts are never all in
//! memory. Nothing here does I/O itself.

use super::compute::{begin_day, fold_threads, DayContext, DayStats, DayTables, OrderLines};
use super::parquet::{encode_parquet, ParquetEncodeError, PartWriter};
use super::partial::Partial;
use super::plan::{part_key, ROWS_PER_PART};
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
/// A batch's arrays (~1.5 MB at 8k rows) stay in the core's cache while the writer encodes
/// them: the step took ~5% less CPU than with 32k-row batches (4k rows did no better).
const ORDER_LINE_BATCH_ROWS: usize = 8_192;

/// Rows per order-lines part at most. An encoder holds its part's compressed row group until
/// the part is stored: half a million rows (~12 MB) instead of a million keeps the two encoders
/// ~25 MB smaller at the day's peak. Still under [`ROWS_PER_PART`].
const ORDER_LINE_PART_ROWS: usize = ROWS_PER_PART / 2;

/// Parts of the order lines encoded at a time.
const ENCODER_THREADS: usize = 2;

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
    // The order facts are most of a day's memory: gone before the other tables are built (a few
    // thousand chunks, not an allocation per order: see `store.rs`).
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

/// `curated/order_lines` as Parquet parts of up to [`ORDER_LINE_PART_ROWS`] rows (whole batches), each
/// part streamed batch by batch into its own file, two parts encoded at a time. A day of more
/// than one part gets an even number of parts of about equal size, so both encoders finish
/// together (1M, 1M, 1M, 0.67M left one encoder alone for a sixth of the work).
pub fn encode_order_lines(order_lines: &OrderLines, d: Day, sink: PartSink<'_>) -> Result<WrittenTable, RollupError> {
    let name = "order_lines";
    let bounds = order_lines.bounds(ORDER_LINE_BATCH_ROWS);
    let batch_rows: Vec<usize> = bounds.iter().map(|(a, b)| order_lines.range_rows(*a, *b)).collect();
    let part_ranges = batches_into_parts(&batch_rows, ORDER_LINE_PART_ROWS, ENCODER_THREADS);
    let encode_part = |part: usize, batches: &[usize]| -> Result<String, RollupError> {
        let mut writer = PartWriter::for_order_lines().map_err(|e| parquet_error(name, e))?;
        for &b in batches {
            let (start, end) = bounds[b];
            writer.write_arrays(order_lines.range_arrays(start, end)?).map_err(|e| parquet_error(name, e))?;
        }
        let bytes = writer.finish().map_err(|e| parquet_error(name, e))?;
        let key = part_key(name, d, part);
        sink(&key, bytes)?;
        Ok(key)
    };
    // Encoder `e` takes parts e, e + ENCODER_THREADS, …; this thread is encoder 0.
    let stream_parts = |encoder: usize| -> Result<Vec<String>, RollupError> {
        part_ranges
            .iter()
            .enumerate()
            .filter(|(i, _)| i % ENCODER_THREADS == encoder)
            .map(|(i, b)| encode_part(i, b))
            .collect()
    };
    let streamed: Vec<Result<Vec<String>, RollupError>> = std::thread::scope(|s| {
        let others: Vec<_> = (1..ENCODER_THREADS).map(|e| s.spawn(move || stream_parts(e))).collect();
        let mut all = vec![stream_parts(0)];
        all.extend(
            others
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(RollupError::Internal("encoder panicked".into())))),
        );
        all
    });
    let mut parts: Vec<String> = Vec::new();
    for keys in streamed {
        parts.extend(keys?);
    }
    parts.sort();
    if parts.is_empty() {
        // An empty day is still a readable partition with the schema.
        parts.push(encode_part(0, &[])?);
    }
    Ok(WrittenTable { name, rows: order_lines.rows() as u64, parts })
}

/// Groups consecutive batches (their row counts) into parts: one part when everything fits in
/// `max_rows`, else a multiple of `threads` parts of about equal rows, none over `max_rows`
/// unless a single batch is.
fn batches_into_parts(batch_rows: &[usize], max_rows: usize, threads: usize) -> Vec<Vec<usize>> {
    let total: usize = batch_rows.iter().sum();
    let largest = batch_rows.iter().copied().max().unwrap_or(0);
    // A part overshoots its share by less than one batch.
    let share = if largest < max_rows { max_rows - largest } else { max_rows }.max(1);
    let mut parts = if total <= max_rows { 1 } else { total.div_ceil(share) };
    if parts > 1 {
        parts = parts.next_multiple_of(threads.max(1));
    }
    // Each part's share ends at `total * (i + 1) / parts` rows; a batch goes to the part its
    // first row falls in.
    let mut grouped: Vec<Vec<usize>> = vec![Vec::new(); parts];
    let mut before = 0usize;
    for (i, rows) in batch_rows.iter().enumerate() {
        let part = (before as u128 * parts as u128 / total.max(1) as u128) as usize;
        grouped[part.min(parts - 1)].push(i);
        before += rows;
    }
    grouped.retain(|g| !g.is_empty());
    grouped
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

#[cfg(test)]
mod tests {
    use super::batches_into_parts;

    fn part_rows(batch_rows: &[usize], parts: &[Vec<usize>]) -> Vec<usize> {
        parts.iter().map(|p| p.iter().map(|&b| batch_rows[b]).sum()).collect()
    }

    #[test]
    fn a_day_that_fits_is_one_part() {
        let rows = vec![100; 10];
        assert_eq!(batches_into_parts(&rows, 1_000, 2), vec![(0..10).collect::<Vec<_>>()]);
        assert!(batches_into_parts(&[], 1_000, 2).is_empty(), "an empty day has no batches to place");
    }

    #[test]
    fn a_big_day_is_an_even_number_of_equal_parts_in_batch_order() {
        // 3.67M rows in 32k batches, as on the benchmark day: 4 parts of ~0.92M (not 1M ×3 + 0.67M).
        let mut rows = vec![32_768; 111];
        rows.push(30_000);
        let parts = batches_into_parts(&rows, 1_000_000, 2);
        assert_eq!(parts.len(), 4);
        let flat: Vec<usize> = parts.iter().flatten().copied().collect();
        assert_eq!(flat, (0..rows.len()).collect::<Vec<_>>(), "every batch once, in order");
        let sizes = part_rows(&rows, &parts);
        let (min, max) = (sizes.iter().min().copied().unwrap_or(0), sizes.iter().max().copied().unwrap_or(0));
        assert!(max - min <= 32_768, "{sizes:?}");
        assert!(sizes.iter().all(|&s| s <= 1_000_000), "{sizes:?}");
    }

    #[test]
    fn no_part_goes_over_the_limit_even_when_the_day_is_an_exact_multiple() {
        let rows = vec![25_000; 80]; // 2,000,000 rows
        let parts = batches_into_parts(&rows, 1_000_000, 2);
        assert_eq!(parts.len() % 2, 0);
        assert!(part_rows(&rows, &parts).iter().all(|&s| s <= 1_000_000));
    }
}
