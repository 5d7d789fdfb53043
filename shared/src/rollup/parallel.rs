//! Decompressing and parsing input objects on several threads. A producer (S3 downloads, or
//! file reads) sends objects into a small bounded channel, so at most a few compressed objects
//! wait in memory; the workers put orders into shards they share and everything else into a
//! partial of their own, merged at the end.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::facts::{absorb_lines, absorb_order_lines, InputKind, OrderSink};
use super::partial::{shard_of, IntHash, OrderRef, OrderShard, OrderTable, Partial, Sym, Symbols, ORDER_SHARDS};
use super::RollupError;

/// One input object as fetched: gzip when its key ends in `.gz`.
pub struct InputObject {
    pub kind: InputKind,
    pub key: String,
    pub body: Vec<u8>,
}

/// How much was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub objects: u64,
    pub compressed_bytes: u64,
    pub json_bytes: u64,
    pub lines: u64,
}

impl ReadStats {
    fn add(&mut self, other: ReadStats) {
        self.objects += other.objects;
        self.compressed_bytes += other.compressed_bytes;
        self.json_bytes += other.json_bytes;
        self.lines += other.lines;
    }
}

/// The channel inputs go through: small, so downloads cannot run far ahead of parsing.
pub fn input_channel() -> (mpsc::Sender<InputObject>, mpsc::Receiver<InputObject>) {
    mpsc::channel(8)
}

/// A parser thread's buffer for the JSON of one object at a time, a piece at a time. It only
/// grows: its bytes stay initialised from one object to the next, so inflating into it never
/// zeroes memory first.
#[derive(Default)]
pub struct JsonBuffer {
    bytes: Vec<u8>,
}

/// About how many bytes of JSON [`JsonBuffer::parse_in_chunks`] hands over at a time: well
/// within a core's L2 cache, with the inflater's window and the parser's own data beside it.
const JSON_CHUNK: usize = 256 * 1024;

impl JsonBuffer {
    /// Calls `parse` with the JSON of one object's body (gunzipped, every member, when its key
    /// ends in `.gz`) in pieces of whole lines, each with the number of lines before it; `parse`
    /// returns the number of lines in its piece. A piece is about [`JSON_CHUNK`] bytes (more
    /// when a single line is longer), so it is still in the core's cache when parsed: inflating
    /// a whole object (~8 MB) first and parsing it after read every byte back from memory.
    /// Returns the JSON's size.
    pub fn parse_in_chunks(
        &mut self,
        key: &str,
        body: &[u8],
        parse: impl FnMut(&[u8], usize) -> Result<usize, RollupError>,
    ) -> Result<u64, RollupError> {
        if key.ends_with(".gz") {
            self.chunks_of(key, flate2::read::MultiGzDecoder::new(body), parse)
        } else {
            self.chunks_of(key, body, parse)
        }
    }

    fn chunks_of(
        &mut self,
        key: &str,
        mut reader: impl Read,
        mut parse: impl FnMut(&[u8], usize) -> Result<usize, RollupError>,
    ) -> Result<u64, RollupError> {
        let unreadable = |e: std::io::Error| RollupError::Unreadable { key: key.to_string(), message: e.to_string() };
        let (mut json_bytes, mut lines_before) = (0u64, 0usize);
        // The buffer may be bigger (an earlier long line): a piece still takes `limit` bytes at
        // most, which grows only while a single line does not fit.
        let mut limit = JSON_CHUNK;
        // `filled` bytes wait at the front of the buffer: the start of a line not yet complete.
        let mut filled = 0;
        loop {
            if filled == limit {
                limit *= 2;
            }
            if self.bytes.len() < limit {
                self.bytes.resize(limit, 0);
            }
            let n = match reader.read(&mut self.bytes[filled..limit]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unreadable(e)),
            };
            json_bytes += n as u64;
            filled += n;
            let ready = if n == 0 {
                filled
            } else if filled < limit / 2 {
                // Fill at least half the piece before parsing: fewer, larger pieces.
                continue;
            } else {
                match memchr::memrchr(b'\n', &self.bytes[..filled]) {
                    Some(end) => end + 1,
                    None => continue,
                }
            };
            if ready > 0 {
                lines_before += parse(&self.bytes[..ready], lines_before)?;
                self.bytes.copy_within(ready..filled, 0);
                filled -= ready;
                if filled < JSON_CHUNK / 2 {
                    limit = JSON_CHUNK;
                }
            }
            if n == 0 {
                return Ok(json_bytes);
            }
        }
    }
}

/// The order shards and symbols the parser threads share, so each order is kept once (no
/// per-thread copies to merge afterwards: that merge took ~2 s and doubled the memory of a big
/// day). Each thread keeps its own cache of symbol ids; it takes the symbols' lock only for a
/// string it has not seen yet (SKUs, shops … are few), and a shard's lock per order version.
struct SharedOrders<'a> {
    symbols: &'a Mutex<Symbols>,
    shards: &'a [Mutex<OrderShard>],
    cache: SymCache,
}

/// A parser thread's symbol ids. Nearly every string interned (SKUs, shops, statuses,
/// currencies, cities) is 15 bytes or shorter: those are keyed by their bytes and length packed
/// into one `u128`, found with an integer compare instead of a string compare through a
/// pointer (the interning was ~6% of the run's CPU). Longer strings go through a string map.
#[derive(Default)]
struct SymCache {
    short: HashMap<u128, Sym, IntHash>,
    long: HashMap<Box<str>, Sym, IntHash>,
}

/// `text`'s bytes and length as one integer, if it has at most 15 bytes: distinct strings
/// give distinct integers (the length byte tells "a" from "a\0").
fn packed_short(text: &str) -> Option<u128> {
    let bytes = text.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut word = [0u8; 16];
    word[..bytes.len()].copy_from_slice(bytes);
    word[15] = bytes.len() as u8;
    Some(u128::from_le_bytes(word))
}

impl SymCache {
    fn get_or_intern(&mut self, text: &str, symbols: &Mutex<Symbols>) -> Sym {
        match packed_short(text) {
            Some(word) => *self.short.entry(word).or_insert_with(|| lock(symbols).intern(text)),
            None => {
                if let Some(&id) = self.long.get(text) {
                    return id;
                }
                let id = lock(symbols).intern(text);
                self.long.insert(text.into(), id);
                id
            }
        }
    }
}

/// A poisoned lock means a parser thread panicked; its join reports that, so the data is
/// taken as it is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl OrderSink for SharedOrders<'_> {
    fn intern(&mut self, text: &str) -> Sym {
        self.cache.get_or_intern(text, self.symbols)
    }

    // On a tie of versions the shard's lock is held while the symbols' is taken; nothing
    // takes them the other way round.
    fn wants_order(&mut self, key: u128, version: i64, source_raw_key: &str) -> bool {
        let name = |id: Sym| lock(self.symbols).name(id).clone();
        lock(&self.shards[shard_of(key)]).wants(key, version, source_raw_key, &name)
    }

    fn offer_order(&mut self, key: u128, order: OrderRef<'_>) {
        let name = |id: Sym| lock(self.symbols).name(id).clone();
        lock(&self.shards[shard_of(key)]).offer(key, order, &name);
    }
}

/// Reads every object the channel delivers on `threads` worker threads (blocking; call from a
/// thread that may block) and returns the partial of them all. Orders go into shards shared by
/// the threads; the other kinds (few lines) into a partial per thread, merged at the end.
pub fn absorb_all(threads: usize, inputs: mpsc::Receiver<InputObject>) -> Result<(Partial, ReadStats), RollupError> {
    let inputs = Mutex::new(inputs);
    let symbols = Mutex::new(Symbols::default());
    let shards: Vec<Mutex<OrderShard>> = (0..ORDER_SHARDS).map(|_| Mutex::default()).collect();
    let results: Vec<Result<(Partial, ReadStats), RollupError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut orders = SharedOrders { symbols: &symbols, shards: &shards, cache: SymCache::default() };
                    let mut rest = Partial::default();
                    let mut stats = ReadStats::default();
                    let mut buf = JsonBuffer::default();
                    loop {
                        let next = match inputs.lock() {
                            Ok(mut rx) => rx.blocking_recv(),
                            Err(_) => return Err(RollupError::Internal("input channel poisoned".into())),
                        };
                        let Some(object) = next else { break };
                        let mut lines = 0;
                        let json_bytes = buf.parse_in_chunks(&object.key, &object.body, |json, before| {
                            let (read, seen) = match object.kind {
                                InputKind::Orders => absorb_order_lines(&mut orders, &object.key, json, before)?,
                                kind => absorb_lines(&mut rest, kind, &object.key, json, before)?,
                            };
                            lines += read;
                            Ok(seen)
                        })?;
                        stats.add(ReadStats {
                            objects: 1,
                            compressed_bytes: object.body.len() as u64,
                            json_bytes,
                            lines,
                        });
                    }
                    Ok((rest, stats))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(RollupError::Internal("parser thread panicked".into()))))
            .collect()
    });
    let shards = shards.into_iter().map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner())).collect();
    let mut merged = Partial {
        symbols: symbols.into_inner().unwrap_or_else(|p| p.into_inner()),
        orders: OrderTable::from_shards(shards).map_err(RollupError::Internal)?,
        ..Partial::default()
    };
    let mut total = ReadStats::default();
    for result in results {
        let (rest, stats) = result?;
        merged.merge(rest);
        total.add(stats);
    }
    Ok((merged, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(text: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(text).unwrap_or_else(|e| panic!("{e}"));
        z.finish().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The pieces of one object, joined.
    fn whole(buf: &mut JsonBuffer, key: &str, body: &[u8]) -> Result<Vec<u8>, RollupError> {
        let mut joined = Vec::new();
        buf.parse_in_chunks(key, body, |piece, _| {
            joined.extend_from_slice(piece);
            Ok(piece.iter().filter(|&&b| b == b'\n').count())
        })?;
        Ok(joined)
    }

    #[test]
    fn the_json_buffer_reads_every_gzip_member_and_forgets_the_last_object() {
        let big: Vec<u8> = (0..3_000_000u32).flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes()).collect();
        let mut two_members = gzip(&big);
        two_members.extend(gzip(b"{\"last\":true}\n"));
        let mut expected = big.clone();
        expected.extend_from_slice(b"{\"last\":true}\n");
        let mut buf = JsonBuffer::default();
        let json = whole(&mut buf, "a.jsonl.gz", &two_members);
        assert_eq!(json.ok().as_deref(), Some(&expected[..]), "both members, in many pieces");
        // A smaller object after it: only its own bytes, plain or gzip.
        assert_eq!(whole(&mut buf, "b.jsonl", b"{\"x\":1}\n").ok().as_deref(), Some(&b"{\"x\":1}\n"[..]));
        assert_eq!(whole(&mut buf, "c.jsonl.gz", &gzip(b"{}")).ok().as_deref(), Some(&b"{}"[..]));
        assert_eq!(whole(&mut buf, "d.jsonl", b"").ok().as_deref(), Some(&b""[..]));
        let truncated = &two_members[..two_members.len() / 2];
        match whole(&mut buf, "e.jsonl.gz", truncated) {
            Err(RollupError::Unreadable { key, .. }) => assert_eq!(key, "e.jsonl.gz"),
            other => panic!("a truncated gzip read as {:?}", other.map(|json| json.len())),
        }
    }

    #[test]
    fn chunks_are_whole_lines_that_add_up_to_the_object() {
        // Lines of every length around the chunk size, one longer than several chunks, no
        // newline at the end, the whole in two gzip members.
        let mut text = Vec::new();
        for i in 0..400usize {
            let width = [10, 300, 5_000, JSON_CHUNK / 3][i % 4] + i % 7;
            text.extend(format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(width)).into_bytes());
        }
        text.extend(format!("{{\"long\":\"{}\"}}\n", "y".repeat(3 * JSON_CHUNK)).into_bytes());
        text.extend(b"{\"last\":true}");
        let half = text.len() / 2;
        let cut = half + text[half..].iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
        let mut body = gzip(&text[..cut]);
        body.extend(gzip(&text[cut..]));
        let long_line_at = text.len() - 3 * JSON_CHUNK;
        for (key, body) in [("a.jsonl.gz", body), ("a.jsonl", text.clone())] {
            let mut buf = JsonBuffer::default();
            // An object of one long line before, which grew the buffer: the pieces stay small
            // all the same.
            assert!(whole(&mut buf, "big.jsonl", &vec![b' '; 8 * JSON_CHUNK]).is_ok());
            let (mut joined, mut pieces) = (Vec::new(), 0);
            let json_bytes = buf.parse_in_chunks(key, &body, |piece, before| {
                let holds_the_long_line = joined.len() + piece.len() > long_line_at;
                assert!(piece.len() <= JSON_CHUNK || holds_the_long_line, "{key}: a piece of {}", piece.len());
                assert_eq!(before, joined.iter().filter(|&&b| b == b'\n').count(), "{key}: lines before");
                let last = joined.len() + piece.len() == text.len();
                assert!(last || piece.ends_with(b"\n"), "{key}: a piece ends with its last line");
                joined.extend_from_slice(piece);
                pieces += 1;
                Ok(piece.split(|&b| b == b'\n').count() - usize::from(piece.ends_with(b"\n")))
            });
            assert_eq!(json_bytes.ok(), Some(text.len() as u64), "{key}");
            assert!(joined == text, "{key}: the pieces are the object, in order");
            assert!(pieces > 10, "{key}: {pieces} pieces");
        }
    }

    #[test]
    fn a_bad_line_in_a_later_chunk_is_reported_with_its_number_in_the_object() {
        let order = r#"{"platform":"shopify","shop_id":"s1","order_id":"1","version":1,"status":"paid","placed_at":"2026-11-02T01:00:00Z","currency":"CNY","lines":[]}"#;
        let good = format!("{order}\n").repeat(JSON_CHUNK / 10);
        let text = format!("{good}{{\"platform\": oops}}\n");
        let mut buf = JsonBuffer::default();
        let mut partial = Partial::default();
        let result = buf.parse_in_chunks("o.jsonl", text.as_bytes(), |json, before| {
            absorb_order_lines(&mut partial, "o.jsonl", json, before).map(|(_, seen)| seen)
        });
        match result {
            Err(RollupError::BadInput { key, line, .. }) => {
                assert_eq!((key.as_str(), line), ("o.jsonl", JSON_CHUNK / 10 + 1));
            }
            other => panic!("expected a bad line, got {other:?}"),
        }
    }

    #[test]
    fn short_and_long_strings_get_the_ids_of_the_shared_symbols() {
        let symbols = Mutex::new(Symbols::default());
        let mut a = SymCache::default();
        let mut b = SymCache::default();
        // Strings a packed integer could confuse: trailing NULs, the 15/16-byte edge, UTF-8.
        let texts = [
            "",
            "a",
            "a\0",
            "\0",
            "ab",
            "SKU-01246",
            "杭州",
            "123456789012345",
            "1234567890123456",
            "raw/platform=youzan/shop=yz-03/",
        ];
        let ids: Vec<Sym> = texts.iter().map(|t| a.get_or_intern(t, &symbols)).collect();
        for (t, id) in texts.iter().zip(&ids) {
            assert_eq!(lock(&symbols).name(*id).as_ref(), *t);
            assert_eq!(b.get_or_intern(t, &symbols), *id, "another thread's cache finds the same id");
            assert_eq!(a.get_or_intern(t, &symbols), *id, "cached");
        }
        assert_eq!(lock(&symbols).len(), texts.len(), "each string interned once");
        assert!(packed_short("123456789012345").is_some() && packed_short("1234567890123456").is_none());
    }
}
