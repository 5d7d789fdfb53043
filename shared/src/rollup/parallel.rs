//! Decompressing and parsing input objects on several threads. A producer (S3 downloads, or
//! file reads) sends objects into a small bounded channel, so at most a few compressed objects
//! wait in memory; each worker builds its own [`Partial`] and the partials are merged at the end.

use std::io::Read;
use std::sync::Mutex;

use tokio::sync::mpsc;

use super::facts::{absorb_object, InputKind};
use super::partial::Partial;
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

/// Decompresses one object's body into `buf`.
pub fn decompress_into(key: &str, body: &[u8], buf: &mut Vec<u8>) -> Result<(), RollupError> {
    buf.clear();
    if key.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(body)
            .read_to_end(buf)
            .map_err(|e| RollupError::Unreadable { key: key.to_string(), message: e.to_string() })?;
    } else {
        buf.extend_from_slice(body);
    }
    Ok(())
}

/// Reads every object the channel delivers on `threads` worker threads (blocking; call from a
/// thread that may block) and returns the merged partial.
pub fn absorb_all(threads: usize, inputs: mpsc::Receiver<InputObject>) -> Result<(Partial, ReadStats), RollupError> {
    let inputs = Mutex::new(inputs);
    let results: Vec<Result<(Partial, ReadStats), RollupError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut partial = Partial::default();
                    let mut stats = ReadStats::default();
                    let mut buf = Vec::new();
                    loop {
                        let next = match inputs.lock() {
                            Ok(mut rx) => rx.blocking_recv(),
                            Err(_) => return Err(RollupError::Internal("input channel poisoned".into())),
                        };
                        let Some(object) = next else { break };
                        decompress_into(&object.key, &object.body, &mut buf)?;
                        let lines = absorb_object(&mut partial, object.kind, &object.key, &buf)?;
                        stats.add(ReadStats {
                            objects: 1,
                            compressed_bytes: object.body.len() as u64,
                            json_bytes: buf.len() as u64,
                            lines,
                        });
                    }
                    Ok((partial, stats))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(RollupError::Internal("parser thread panicked".into()))))
            .collect()
    });
    let mut merged = Partial::default();
    let mut total = ReadStats::default();
    for result in results {
        let (partial, stats) = result?;
        // Merge the smaller partial into the larger one: fewer entries to move.
        if partial.orders.len() > merged.orders.len() {
            let smaller = std::mem::replace(&mut merged, partial);
            merged.merge(smaller);
        } else {
            merged.merge(partial);
        }
        total.add(stats);
    }
    Ok((merged, total))
}
