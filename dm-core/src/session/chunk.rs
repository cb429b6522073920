//! Large objects (facts §6): an item too big for one message travels as chunks, each but the
//! last with `<MoreData/>`, the first with `Meta/Size` (the size as transmitted). The receiver
//! answers each chunk with 213, checks the size, and commits only the whole object.

use crate::model::{Data, Item, Meta, StatusCode};

/// An object being received.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Reassembly {
    pub cmd: String,
    pub uri: String,
    pub declared: Option<u64>,
    pub data: Vec<u8>,
    pub binary: bool,
    /// Past the size limit (413): the remaining chunks are refused too.
    pub refused: bool,
}

/// What a received item is, as far as chunking goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Not part of a large object.
    Whole,
    /// A chunk was buffered: answer 213.
    Buffered,
    /// The object is refused (413 too large, 424 size mismatch).
    Refused(StatusCode),
    /// The last chunk: the reassembled item.
    Complete(Box<Item>),
}

pub(crate) fn item_uri(item: &Item) -> &str {
    item.target.as_ref().or(item.source.as_ref()).map_or("", |l| l.uri.as_str())
}

fn size_of(item: &Item, cmd_meta: Option<&Meta>) -> Option<u64> {
    item.meta.as_ref().and_then(|m| m.size).or_else(|| cmd_meta.and_then(|m| m.size))
}

impl Reassembly {
    /// Takes one received item of command `cmd`. `interrupted` comes back true when an
    /// object in progress was abandoned by this item (the sender gets Alert 1225).
    pub(crate) fn accept(
        slot: &mut Option<Box<Reassembly>>,
        cmd: &str,
        item: &Item,
        cmd_meta: Option<&Meta>,
        max: u64,
        interrupted: &mut Option<Box<Reassembly>>,
    ) -> Chunk {
        let uri = item_uri(item);
        let continues = slot.as_ref().is_some_and(|r| r.cmd == cmd && r.uri == uri);
        if !continues {
            *interrupted = slot.take();
            if !item.more_data {
                return Chunk::Whole;
            }
            let declared = size_of(item, cmd_meta);
            *slot = Some(Box::new(Reassembly {
                cmd: cmd.to_string(),
                uri: uri.to_string(),
                declared,
                data: Vec::new(),
                binary: matches!(item.data, Some(Data::Binary(_))),
                refused: declared.is_some_and(|d| d > max),
            }));
        }
        let Some(r) = slot.as_mut() else { return Chunk::Whole };
        if !r.refused {
            let bytes = item.data.as_ref().map_or(&[][..], Data::as_bytes);
            r.grow_for(bytes.len());
            r.data.extend_from_slice(bytes);
            r.refused = r.data.len() as u64 > max;
        }
        if item.more_data {
            return if r.refused { Chunk::Refused(StatusCode::REQUEST_ENTITY_TOO_LARGE) } else { Chunk::Buffered };
        }
        let Some(r) = slot.take() else { return Chunk::Whole };
        if r.refused {
            return Chunk::Refused(StatusCode::REQUEST_ENTITY_TOO_LARGE);
        }
        if r.declared.is_some_and(|d| d != r.data.len() as u64) {
            return Chunk::Refused(StatusCode::SIZE_MISMATCH);
        }
        let data = if r.binary {
            Data::Binary(r.data)
        } else {
            match String::from_utf8(r.data) {
                Ok(s) => Data::Text(s),
                Err(e) => Data::Binary(e.into_bytes()),
            }
        };
        Chunk::Complete(Box::new(Item {
            target: item.target.clone(),
            source: item.source.clone(),
            source_parent: item.source_parent.clone(),
            target_parent: item.target_parent.clone(),
            meta: item.meta.clone().map(|m| Box::new(Meta { size: None, ..*m })),
            data: Some(data),
            more_data: false,
        }))
    }

    /// Makes room for `more` bytes: doubling, as a `Vec` would, but not past the declared size
    /// when the object fits in it, so that the whole object ends in a buffer of its own size.
    /// Never more than twice what has arrived: a declared size alone reserves nothing.
    fn grow_for(&mut self, more: usize) {
        let needed = self.data.len() + more;
        if needed <= self.data.capacity() {
            return;
        }
        let doubled = needed.max(2 * self.data.capacity());
        let declared = self.declared.and_then(|d| usize::try_from(d).ok()).filter(|&d| d >= needed);
        let target = declared.map_or(doubled, |d| doubled.min(d));
        self.data.reserve_exact(target - self.data.len());
    }
}

/// Cuts `data` to at most `len` bytes from `offset` (on a character boundary for text).
pub(crate) fn slice(data: &Data, offset: usize, len: usize) -> Data {
    match data {
        Data::Binary(b) => Data::Binary(b[offset..(offset + len).min(b.len())].to_vec()),
        Data::Text(s) | Data::Xml(s) => {
            let mut end = (offset + len).min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Data::Text(s[offset..end].to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Location;

    fn chunk(uri: &str, text: &str, size: Option<u64>, more: bool) -> Item {
        Item {
            target: Some(Location::new(uri)),
            meta: size.map(|s| Box::new(Meta { size: Some(s), ..Meta::default() })),
            data: Some(Data::Text(text.into())),
            more_data: more,
            ..Item::default()
        }
    }

    /// 100 000 bytes in chunks of 7 000: the buffer grows by doubling but stops at the declared
    /// size, so the object is held in 100 000 bytes, not in the 112 000 doubling reaches.
    #[test]
    fn a_reassembled_object_is_held_in_a_buffer_of_its_declared_size() {
        let (total, piece) = (100_000, 7_000);
        let (mut slot, mut interrupted) = (None, None);
        let mut sent = 0;
        loop {
            let len = piece.min(total - sent);
            let first = (sent == 0).then_some(total as u64);
            let item = chunk("./Big", &"x".repeat(len), first, sent + len < total);
            sent += len;
            match Reassembly::accept(&mut slot, "Replace", &item, None, 1 << 20, &mut interrupted) {
                Chunk::Buffered => continue,
                Chunk::Complete(whole) => {
                    let Some(Data::Text(text)) = whole.data else { panic!("{whole:?}") };
                    assert_eq!((text.len(), text.capacity()), (total, total));
                    return;
                }
                other => panic!("{other:?}"),
            }
        }
    }

    /// A sender that declares a small size, or none, and sends on: once what it sent passes the
    /// limit every chunk is refused (413), and no more is held, whatever comes after.
    #[test]
    fn chunks_past_the_limit_are_refused_and_not_held_whatever_size_was_declared() {
        let (max, piece) = (10_000u64, 3_000);
        for declared in [Some(1_000), None] {
            let (mut slot, mut interrupted) = (None, None);
            let mut codes = Vec::new();
            for n in 0..10 {
                let item = chunk("./Big", &"x".repeat(piece), declared.filter(|_| n == 0), true);
                codes.push(match Reassembly::accept(&mut slot, "Replace", &item, None, max, &mut interrupted) {
                    Chunk::Buffered => 213,
                    Chunk::Refused(code) => code.0,
                    other => panic!("{other:?}"),
                });
                let held = slot.as_ref().map_or(0, |r| r.data.len() as u64);
                assert!(held <= max + piece as u64, "{held} bytes held");
            }
            assert_eq!(codes, [213, 213, 213, 413, 413, 413, 413, 413, 413, 413], "declared {declared:?}");
            let last = chunk("./Big", "end", None, false);
            let end = Reassembly::accept(&mut slot, "Replace", &last, None, max, &mut interrupted);
            assert_eq!(end, Chunk::Refused(StatusCode::REQUEST_ENTITY_TOO_LARGE));
        }
    }
}
