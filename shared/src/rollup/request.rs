//! The nightly-rollup function's events (see infra/template.yaml), parsed into a request.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::time::{day_of, Day, LocalClock};
use super::RollupError;

/// A Distributed Map item: the input objects one map worker reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollupRequest {
    /// Compute and publish these days in order (`{}`, `{"date"}`, `{"from","to"}`).
    Days { from: Day, to: Day },
    /// Decide single vs distributed for a day and cut its inputs into chunks.
    Plan { day: Day },
    /// Read one chunk into a partial under `rollups/_partials/`.
    Map { day: Day, chunk: Chunk },
    /// Merge the day's partials, compute and publish.
    Reduce { day: Day },
}

fn date_field(event: &Value, field: &str) -> Result<Option<Day>, RollupError> {
    match event.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Some(day_of(d)))
            .map_err(|_| RollupError::BadRequest(format!("`{field}` must be a date YYYY-MM-DD, got {s:?}"))),
        Some(other) => Err(RollupError::BadRequest(format!("`{field}` must be a date string, got {other}"))),
    }
}

/// Parses an event. `{}` (the schedule) means the business day before `now_micros`.
pub fn parse_request(event: &Value, now_micros: i64, business_tz: Tz) -> Result<RollupRequest, RollupError> {
    if !event.is_object() {
        return Err(RollupError::BadRequest(format!("the event must be a JSON object, got {event}")));
    }
    let date = date_field(event, "date")?;
    let need_date = |mode: &str| date.ok_or_else(|| RollupError::BadRequest(format!("mode {mode} needs `date`")));
    match event.get("mode").and_then(Value::as_str) {
        Some("plan") => Ok(RollupRequest::Plan { day: need_date("plan")? }),
        Some("reduce") => Ok(RollupRequest::Reduce { day: need_date("reduce")? }),
        Some("map") => {
            let chunk = event
                .get("chunk")
                .cloned()
                .ok_or_else(|| RollupError::BadRequest("mode map needs `chunk`".into()))
                .and_then(|c| serde_json::from_value(c).map_err(|e| RollupError::BadRequest(format!("chunk: {e}"))))?;
            Ok(RollupRequest::Map { day: need_date("map")?, chunk })
        }
        Some(other) => Err(RollupError::BadRequest(format!("unknown mode {other:?} (plan, map, reduce)"))),
        None => match (date, date_field(event, "from")?, date_field(event, "to")?) {
            (Some(d), None, None) => Ok(RollupRequest::Days { from: d, to: d }),
            (None, Some(from), Some(to)) if from <= to => Ok(RollupRequest::Days { from, to }),
            (None, Some(_), Some(_)) => Err(RollupError::BadRequest("`from` is after `to`".into())),
            (None, None, None) => {
                let today = LocalClock::new(business_tz).day(now_micros);
                Ok(RollupRequest::Days { from: today - 1, to: today - 1 })
            }
            _ => Err(RollupError::BadRequest("give `date`, or both `from` and `to`, or nothing".into())),
        },
    }
}

/// A day goes through the Distributed Map above 2 GiB of compressed input or 20,000 objects
/// (docs/infra.md): one function parses about 40 MB/s of gzip JSON per core, so 2 GiB is well
/// inside its 15 minutes with room for compute and writes.
pub const DISTRIBUTED_THRESHOLD_BYTES: u64 = 2 << 30;
pub const DISTRIBUTED_THRESHOLD_OBJECTS: usize = 20_000;
/// Compressed bytes per map chunk.
pub const CHUNK_BYTES: u64 = 256 << 20;

/// Whether a day's inputs call for the Distributed Map.
pub fn is_distributed(objects: usize, bytes: u64) -> bool {
    bytes > DISTRIBUTED_THRESHOLD_BYTES || objects > DISTRIBUTED_THRESHOLD_OBJECTS
}

/// Cuts input keys (with sizes) into chunks of about [`CHUNK_BYTES`].
pub fn chunk_inputs(inputs: &[(String, u64)]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Chunk { keys: Vec::new() };
    let mut size = 0u64;
    for (key, bytes) in inputs {
        if !current.keys.is_empty() && size + bytes > CHUNK_BYTES {
            chunks.push(std::mem::replace(&mut current, Chunk { keys: Vec::new() }));
            size = 0;
        }
        current.keys.push(key.clone());
        size += bytes;
    }
    if !current.keys.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(s: &str) -> Day {
        day_of(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date"))
    }

    #[test]
    fn the_schedule_means_yesterday_in_the_business_zone() {
        // 2026-10-05 18:30 UTC is 02:30 on the 6th in Shanghai: the rollup of the 5th.
        let now = super::super::time::parse_instant("2026-10-05T18:30:00Z").expect("time");
        let r = parse_request(&json!({}), now, chrono_tz::Asia::Shanghai).expect("ok");
        assert_eq!(r, RollupRequest::Days { from: day("2026-10-05"), to: day("2026-10-05") });
        let r = parse_request(&json!({}), now, chrono_tz::America::Los_Angeles).expect("ok");
        assert_eq!(r, RollupRequest::Days { from: day("2026-10-04"), to: day("2026-10-04") });
    }

    #[test]
    fn every_event_shape() {
        let tz = chrono_tz::Asia::Shanghai;
        let p = |v: Value| parse_request(&v, 0, tz);
        assert_eq!(
            p(json!({"date": "2026-10-05"})).expect("ok"),
            RollupRequest::Days { from: day("2026-10-05"), to: day("2026-10-05") }
        );
        assert_eq!(
            p(json!({"from": "2026-10-01", "to": "2026-10-05"})).expect("ok"),
            RollupRequest::Days { from: day("2026-10-01"), to: day("2026-10-05") }
        );
        assert_eq!(
            p(json!({"mode": "plan", "date": "2026-10-05"})).expect("ok"),
            RollupRequest::Plan { day: day("2026-10-05") }
        );
        assert_eq!(
            p(json!({"mode": "map", "date": "2026-10-05", "chunk": {"keys": ["a"]}})).expect("ok"),
            RollupRequest::Map { day: day("2026-10-05"), chunk: Chunk { keys: vec!["a".into()] } }
        );
        for bad in [
            json!({"date": "05/10/2026"}),
            json!({"from": "2026-10-05"}),
            json!({"from": "2026-10-05", "to": "2026-10-01"}),
            json!({"mode": "reduce"}),
            json!({"mode": "map", "date": "2026-10-05"}),
            json!({"mode": "shuffle", "date": "2026-10-05"}),
            json!([1]),
        ] {
            assert!(matches!(p(bad.clone()), Err(RollupError::BadRequest(_))), "{bad}");
        }
    }

    #[test]
    fn chunks_stay_near_the_size_and_keep_every_key() {
        let inputs: Vec<(String, u64)> = (0..10).map(|i| (format!("k{i}"), 100 << 20)).collect();
        let chunks = chunk_inputs(&inputs);
        assert_eq!(chunks.len(), 5);
        assert!(!is_distributed(10, 1 << 30));
        assert!(is_distributed(10, 3 << 30));
        assert!(is_distributed(20_001, 1));
        assert_eq!(chunks.iter().map(|c| c.keys.len()).sum::<usize>(), 10);
        assert!(chunk_inputs(&[]).is_empty());
    }
}
