//! Append-mostly stores for the variable-length parts of many small records (an order's lines,
//! refunds and ids), in chunks that never move.
//!
//! A day keeps the latest version of a million and more orders. Giving each its own boxed lines
//! and id text cost two allocations per order version on the parser threads and, on the 5M-line
//! day, ~1 s of CPU just to free them (freed by another thread than the one that allocated).
//! Here an order's items are one contiguous run inside a chunk: a [`Span`] of a few integers.
//! A newer version of an order overwrites its run when it fits (versions of an order mostly keep
//! their lines and id lengths) and appends a new run when it does not.

/// Where one record's items sit in a store. The empty span needs no chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    chunk: u32,
    start: u32,
    len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

/// The first chunk of a store holds this many items; each next one twice as many as the last, up
/// to `MAX` (small partials stay small, big ones get few chunks).
const FIRST_CHUNK: usize = 64;

/// Capacity of chunk number `index` for a store whose chunks grow to `max` (≤ 4 Mi) items.
fn chunk_capacity(index: usize, max: usize) -> usize {
    (FIRST_CHUNK << index.min(16)).min(max)
}

/// Runs of `T` in chunks of at most `MAX` items (a run longer than that gets a chunk of its own).
#[derive(Debug, Clone)]
pub struct SliceStore<T, const MAX: usize> {
    chunks: Vec<Vec<T>>,
}

impl<T, const MAX: usize> Default for SliceStore<T, MAX> {
    fn default() -> Self {
        SliceStore { chunks: Vec::new() }
    }
}

impl<T: Clone, const MAX: usize> SliceStore<T, MAX> {
    /// The items of `span` (empty for a span this store did not hand out).
    pub fn get(&self, span: Span) -> &[T] {
        if span.len == 0 {
            return &[];
        }
        self.chunks.get(span.chunk as usize).and_then(|c| c.get(span.range())).unwrap_or(&[])
    }

    /// Appends `items` as one run.
    pub fn push(&mut self, items: &[T]) -> Span {
        if items.is_empty() {
            return Span::default();
        }
        let fits = self.chunks.last().is_some_and(|c| c.capacity() - c.len() >= items.len());
        if !fits {
            let capacity = chunk_capacity(self.chunks.len(), MAX).max(items.len());
            self.chunks.push(Vec::with_capacity(capacity));
        }
        let chunk = self.chunks.len() - 1;
        let run = &mut self.chunks[chunk];
        let start = run.len();
        run.extend_from_slice(items);
        Span { chunk: chunk as u32, start: start as u32, len: items.len() as u32 }
    }

    /// Replaces the run at `span` by `items`: in place when they fit in it, else appended (the
    /// old run is then unused).
    pub fn replace(&mut self, span: Span, items: &[T]) -> Span {
        if !items.is_empty() && items.len() <= span.len as usize {
            let place = Span { len: items.len() as u32, ..span };
            if let Some(run) = self.chunks.get_mut(span.chunk as usize).and_then(|c| c.get_mut(place.range())) {
                run.clone_from_slice(items);
                return place;
            }
        }
        self.push(items)
    }
}

/// Runs of text in chunks of at most `MAX` bytes (a longer text gets a chunk of its own).
#[derive(Debug, Clone, Default)]
pub struct TextStore<const MAX: usize> {
    chunks: Vec<String>,
}

impl<const MAX: usize> TextStore<MAX> {
    /// The text of `span` (empty for a span this store did not hand out).
    pub fn get(&self, span: Span) -> &str {
        if span.len == 0 {
            return "";
        }
        self.chunks.get(span.chunk as usize).and_then(|c| c.get(span.range())).unwrap_or_default()
    }

    /// Appends `text` as one run.
    pub fn push(&mut self, text: &str) -> Span {
        if text.is_empty() {
            return Span::default();
        }
        let fits = self.chunks.last().is_some_and(|c| c.capacity() - c.len() >= text.len());
        if !fits {
            let capacity = chunk_capacity(self.chunks.len(), MAX).max(text.len());
            self.chunks.push(String::with_capacity(capacity));
        }
        let chunk = self.chunks.len() - 1;
        let run = &mut self.chunks[chunk];
        let start = run.len();
        run.push_str(text);
        Span { chunk: chunk as u32, start: start as u32, len: text.len() as u32 }
    }

    /// Replaces the text at `span` by `text`: in place when it has the same length (a shorter
    /// one would shift the texts after it), else appended.
    pub fn replace(&mut self, span: Span, text: &str) -> Span {
        if !text.is_empty() && text.len() == span.len as usize {
            if let Some(run) = self.chunks.get_mut(span.chunk as usize) {
                if run.get(span.range()).is_some() {
                    run.replace_range(span.range(), text);
                    return span;
                }
            }
        }
        self.push(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_read_back_across_chunks_and_replacements() {
        let mut store: SliceStore<u32, 256> = SliceStore::default();
        let mut spans = Vec::new();
        for n in 0..200u32 {
            let items: Vec<u32> = (0..n % 7).map(|i| n * 100 + i).collect();
            spans.push((store.push(&items), items));
        }
        // A run of more than MAX items gets a chunk of its own.
        let long: Vec<u32> = (0..1000).collect();
        spans.push((store.push(&long), long));
        // Shorter replacements stay in place, longer ones move; the others are untouched.
        for (i, (span, items)) in spans.iter_mut().enumerate() {
            if i % 3 == 0 {
                let new: Vec<u32> = items.iter().take(2).map(|x| x + 7).collect();
                let before = *span;
                *span = store.replace(*span, &new);
                if !new.is_empty() && new.len() <= items.len() {
                    assert_eq!((span.chunk, span.start), (before.chunk, before.start), "in place");
                }
                *items = new;
            } else if i % 3 == 1 {
                let new: Vec<u32> = items.iter().chain(&[1, 2, 3]).copied().collect();
                *span = store.replace(*span, &new);
                *items = new;
            }
        }
        for (span, items) in &spans {
            assert_eq!(store.get(*span), items.as_slice());
        }
        assert_eq!(store.get(Span { chunk: 99, start: 0, len: 3 }), &[] as &[u32], "a foreign span reads empty");
        assert!(store.chunks.iter().all(|c| c.capacity() <= 256 || c.len() == 1000));
    }

    #[test]
    fn texts_read_back_and_change_in_place_only_at_equal_length() {
        let mut store: TextStore<64> = TextStore::default();
        let a = store.push("o-1001raw-a.json");
        let b = store.push("五一-1002raw-b.json");
        let c = store.push(&"x".repeat(100));
        assert_eq!(
            (store.get(a), store.get(b), store.get(c)),
            ("o-1001raw-a.json", "五一-1002raw-b.json", &*"x".repeat(100))
        );
        let a2 = store.replace(a, "o-1001raw-z.json");
        assert_eq!(a2, a, "same length: in place");
        let a3 = store.replace(a2, "o-1001raw-zz.json");
        assert_ne!(a3, a2, "longer: appended");
        let a4 = store.replace(a3, "o-1");
        assert_ne!(a4, a3, "shorter: appended, the texts after it stay put");
        assert_eq!((store.get(a4), store.get(b)), ("o-1", "五一-1002raw-b.json"));
        assert_eq!(store.push(""), Span::default());
        assert_eq!(store.get(Span::default()), "");
    }
}
