//! The WBXML string table: which strings of a message to store once and reference with STR_T.
//!
//! Three kinds of entry, each taken only when it pays for itself: whole strings that repeat,
//! words (split at spaces) that repeat inside other strings, and the longest `/`-prefix that
//! several URIs share. A string is then written as one reference, or as a prefix reference and
//! words, or inline, whichever is shortest.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::embedded::{Document, Form};
use super::emit::Sink;
use super::tag::Tag;
use super::xml::{bytes_below, word};
use crate::model::{Data, Message};

const MIN_WORD: usize = 4;
const MIN_WHOLE: usize = 2;

/// A fast hash for the table's short keys (strings of the message being encoded, bounded by
/// its size): a word at a time, multiply and rotate.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(word(c));
        }
        match chunks.remainder() {
            [] => {}
            // The last eight bytes, overlapping the word before: one step instead of one a byte.
            _ if bytes.len() >= 8 => self.add(word(&bytes[bytes.len() - 8..])),
            rest => rest.iter().for_each(|&b| self.add(u64::from(b))),
        }
    }
}

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// Whether `bytes` holds a NUL, which a WBXML string cannot carry: eight bytes at a time.
pub(crate) fn has_nul(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    words.any(|w| bytes_below(word(w), 1) != 0) || words.remainder().contains(&0)
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

#[derive(Default)]
pub(crate) struct StringTable<'m> {
    pub(crate) bytes: Vec<u8>,
    offsets: FastMap<&'m str, u32>,
    /// The message's leaves as the writer meets them, each with its distinct string's plan
    /// (`NONE`: not planned): how a leaf is written is worked out once per distinct string.
    leaves: Vec<(&'m str, u32)>,
    /// Per distinct string, its range of `pieces`.
    plans: Vec<(u32, u32)>,
    pieces: Vec<Piece<'m>>,
}

const NONE: u32 = u32::MAX;

/// A piece of a string as written: a table reference or inline text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Piece<'s> {
    Ref(u32),
    Inline(&'s str),
}

impl Piece<'_> {
    fn cost(&self) -> usize {
        match self {
            Piece::Ref(at) => 1 + mb_len(*at),
            Piece::Inline(s) => s.len() + 2,
        }
    }
}

/// The bytes `s` takes written with no string table: inline, or OPAQUE when it holds a NUL.
pub(crate) fn plain_len(s: &str) -> usize {
    if has_nul(s.as_bytes()) { 1 + mb_len(s.len() as u32) + s.len() } else { s.len() + 2 }
}

pub(crate) fn mb_len(v: u32) -> usize {
    match v {
        0..=0x7F => 1,
        0x80..=0x3FFF => 2,
        0x4000..=0x1F_FFFF => 3,
        0x20_0000..=0xFFF_FFFF => 4,
        _ => 5,
    }
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|w| w.len() >= MIN_WORD)
}

/// The longest proper prefix of `s` that ends with `/`.
fn dir_prefix(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let end = bytes[..bytes.len().saturating_sub(1)].iter().rposition(|&b| b == b'/')? + 1;
    (end >= MIN_WORD).then(|| &s[..end])
}

impl<'m> StringTable<'m> {
    pub(crate) fn build(message: &'m Message) -> Self {
        // Room for the header's leaves and about two a command (a session's messages hold
        // 1.5 to 2.5; fewer distinct): more is a larger allocation every message pays for.
        let n = 2 * message.commands.len() + 16;
        let mut strings = Strings { leaves: Vec::with_capacity(n), ..Strings::with_capacity(n) };
        super::emit::message(&mut strings, message);
        let mut table = StringTable::default();
        // Embedded documents' names first, at small offsets, for each document that is shorter
        // as LITERAL elements with its new entries than as text.
        let mut whole_saving: usize = strings.docs.iter().map(|xml| table.add_names(xml)).sum();
        // Whole strings: n inline copies against one entry and n references, each always used.
        let mut rest = Vec::with_capacity(strings.order.len());
        for &(s, n) in &strings.order {
            let at = table.bytes.len() as u32;
            let (entry, inline) = (s.len() + 1 + n * (1 + mb_len(at)), n * (s.len() + 2));
            if entry < inline {
                table.add(s);
                whole_saving += inline - entry;
            } else {
                rest.push((s, n));
            }
        }
        let whole_len = table.bytes.len();
        // Shared URI prefixes, then words: a reference in the middle of a string costs the
        // reference and a new inline string (3 + offset bytes) instead of the text it replaces.
        let mut parts = Strings::with_capacity(2 * rest.len());
        for &(s, n) in &rest {
            if let Some(p) = dir_prefix(s) {
                parts.count(p, n);
            }
            for w in words(s) {
                parts.count(w, n);
            }
        }
        for &(p, n) in &parts.order {
            let at = table.bytes.len() as u32;
            if n >= 2 && !table.offsets.contains_key(p) && p.len() + 1 + n * (3 + mb_len(at)) < n * p.len() {
                table.add(p);
            }
        }
        if table.offsets.is_empty() {
            return table;
        }
        table.plan(&mut strings);
        // Each string is written no longer than inline, and whole strings pay for their entries,
        // but prefix and word entries might not be used enough to: a table that does not pay for
        // itself is dropped, so that a message is never longer than with every string inline
        // (the bound the sessions size WBXML messages by). Counted only when the whole strings'
        // saving does not already cover every prefix and word entry.
        let header = mb_len(table.bytes.len() as u32) - 1;
        if whole_saving < table.bytes.len() - whole_len + header {
            let leaves = strings.order.iter().zip(&table.plans).map(|(&(s, n), &plan)| n * table.saving(s, plan));
            let documents = strings.docs.iter().map(|xml| table.document_saving(xml));
            let saved: usize = leaves.chain(documents).sum();
            if saved < table.bytes.len() + header {
                return StringTable::default();
            }
        }
        table
    }

    /// Works out how each distinct string is written, and which leaf is which string.
    fn plan(&mut self, strings: &mut Strings<'m>) {
        let mut pieces = Vec::with_capacity(strings.order.len());
        let mut plan = |s| {
            let start = pieces.len() as u32;
            self.pieces(s, |p| pieces.push(p));
            (start, pieces.len() as u32)
        };
        self.plans = strings.order.iter().map(|&(s, _)| plan(s)).collect();
        self.pieces = pieces;
        self.leaves = std::mem::take(&mut strings.leaves);
    }

    /// The bytes `s` takes less than inline, written as `plan` says.
    fn saving(&self, s: &str, (start, end): (u32, u32)) -> usize {
        let cost: usize = self.pieces[start as usize..end as usize].iter().map(Piece::cost).sum();
        Piece::Inline(s).cost() - cost
    }

    /// Adds the names `xml` lacks to be written as LITERAL elements, when that with the new
    /// entries takes no more bytes than its text: the bytes saved.
    fn add_names(&mut self, xml: &'m str) -> usize {
        let Some(doc) = Document::parse(xml).filter(|d| d.ddf_tokens().is_none()) else { return 0 };
        let (len, count) = (self.bytes.len(), self.offsets.len());
        let mut added = Vec::new();
        for name in doc.names() {
            if !self.offsets.contains_key(name) {
                self.add(name);
                added.push(name);
            }
        }
        let cost = doc.literal_len(self).map(|n| n + self.bytes.len() - len);
        match cost.filter(|&c| c <= plain_len(xml)) {
            Some(cost) => plain_len(xml) - cost,
            None => {
                added.iter().for_each(|name| _ = self.offsets.remove(name));
                self.bytes.truncate(len);
                debug_assert_eq!(self.offsets.len(), count);
                0
            }
        }
    }

    /// The bytes `xml` takes less as the writer writes it than as text.
    fn document_saving(&self, xml: &str) -> usize {
        match Form::of(xml, self) {
            Form::Literal(_, len) => plain_len(xml) - len,
            Form::Ddf(..) | Form::Text => 0,
        }
    }

    pub(crate) fn offset(&self, s: &str) -> Option<u32> {
        self.offsets.get(s).copied()
    }

    fn add(&mut self, s: &'m str) {
        if self.bytes.is_empty() {
            self.bytes.reserve(256);
        }
        self.offsets.insert(s, self.bytes.len() as u32);
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
    }

    /// How leaf number `n` of the message is written, if it is `s` and was planned. The writer
    /// meets the leaves in the order `build` did (debug builds, and so every test, check it);
    /// any other string is written as `pieces` says.
    pub(crate) fn planned(&self, n: usize, s: &str) -> Option<&[Piece<'m>]> {
        let &(leaf, plan) = self.leaves.get(n)?;
        let same = leaf.as_ptr() == s.as_ptr() && leaf.len() == s.len();
        debug_assert!(same, "leaf {n} written is {s:?}, planned {leaf:?}");
        let &(start, end) = self.plans.get(plan as usize).filter(|_| same)?;
        Some(&self.pieces[start as usize..end as usize])
    }

    /// Writes `s` as the shortest of one reference, prefix and word references, or inline.
    pub(crate) fn pieces<'s>(&self, s: &'s str, mut emit: impl FnMut(Piece<'s>)) {
        // Whole entries are at least MIN_WHOLE long, prefix and word entries MIN_WORD: a string
        // shorter than these is inline, or whole.
        if s.len() < MIN_WHOLE || self.offsets.is_empty() {
            return emit(Piece::Inline(s));
        }
        if let Some(&at) = self.offsets.get(s) {
            return emit(Piece::Ref(at));
        }
        if s.len() < MIN_WORD {
            return emit(Piece::Inline(s));
        }
        // Split once, keeping the first few pieces; split again only for a string of more.
        let mut first: [Option<Piece<'s>>; 4] = Default::default();
        let (mut n, mut cost) = (0, 0);
        self.split(s, |p| {
            cost += p.cost();
            if let Some(slot) = first.get_mut(n) {
                *slot = Some(p);
            }
            n += 1;
        });
        if cost == 0 || cost >= Piece::Inline(s).cost() {
            emit(Piece::Inline(s));
        } else if n <= first.len() {
            first.into_iter().flatten().for_each(emit);
        } else {
            self.split(s, emit);
        }
    }

    /// `s` as prefix and word references with the inline text between them.
    fn split<'s>(&self, s: &'s str, mut emit: impl FnMut(Piece<'s>)) {
        let mut rest = s;
        if let Some(p) = dir_prefix(s) {
            if let Some(&at) = self.offsets.get(p) {
                emit(Piece::Ref(at));
                rest = &s[p.len()..];
            }
        }
        let mut start = 0;
        let mut pos = 0;
        for w in rest.split(' ') {
            if let Some(&at) = self.offsets.get(w).filter(|_| w.len() >= MIN_WORD) {
                if pos > start {
                    emit(Piece::Inline(&rest[start..pos]));
                }
                emit(Piece::Ref(at));
                start = pos + w.len();
            }
            pos += w.len() + 1;
        }
        if start < rest.len() {
            emit(Piece::Inline(&rest[start..]));
        }
    }
}

/// Every distinct leaf string of a message with how often it occurs, in order of first use,
/// and every leaf as met with its distinct string (`NONE`: not counted).
#[derive(Default)]
struct Strings<'m> {
    index: FastMap<&'m str, u32>,
    order: Vec<(&'m str, usize)>,
    leaves: Vec<(&'m str, u32)>,
    /// Embedded documents (Data's XML).
    docs: Vec<&'m str>,
}

impl<'m> Strings<'m> {
    fn with_capacity(n: usize) -> Self {
        let index = FastMap::with_capacity_and_hasher(n, Default::default());
        Strings { index, order: Vec::with_capacity(n), leaves: Vec::new(), docs: Vec::new() }
    }

    fn count(&mut self, s: &'m str, n: usize) -> u32 {
        let order = &mut self.order;
        let i = *self.index.entry(s).or_insert_with(|| {
            order.push((s, 0));
            (order.len() - 1) as u32
        });
        order[i as usize].1 += n;
        i
    }
}

impl<'m> Sink<'m> for Strings<'m> {
    fn start(&mut self, _: Tag) {}
    fn end(&mut self, _: Tag) {}
    fn empty(&mut self, _: Tag) {}
    fn number(&mut self, _: Tag, _: u64) {}

    fn leaf(&mut self, _: Tag, text: &'m str) {
        let counted = text.len() >= MIN_WHOLE && !has_nul(text.as_bytes());
        let i = if counted { self.count(text, 1) } else { NONE };
        self.leaves.push((text, i));
    }

    fn data(&mut self, data: &'m Data) {
        match data {
            Data::Text(t) => self.leaf(Tag::Data, t),
            Data::Xml(x) => self.docs.push(x),
            Data::Binary(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{self, Encoding};

    fn get(uri: &str) -> String {
        format!("<Get><CmdID>2</CmdID><Item><Target><LocURI>{uri}</LocURI></Target></Item></Get>")
    }

    #[test]
    fn has_nul_finds_a_nul_anywhere_and_nothing_else() {
        for len in 0..20 {
            for filler in [0x01u8, 0x7F, 0x80, 0xFF, b'a'] {
                let mut bytes = vec![filler; len];
                assert!(!has_nul(&bytes), "{len} {filler}");
                for at in 0..len {
                    bytes[at] = 0;
                    assert!(has_nul(&bytes), "{len} {filler} {at}");
                    bytes[at] = filler;
                }
            }
        }
    }

    /// Strings that share only a URI prefix: no whole string pays for its prefix entry, so the
    /// strings' use of the table is counted; they use it, it stays, and the message is shorter
    /// than with every string inline.
    #[test]
    fn a_prefix_entry_stays_when_the_strings_pay_for_it() {
        let prefix = "./Vendor/Acme/Settings/Network/";
        let xml = format!(
            "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
             <SessionID>1</SessionID><MsgID>2</MsgID><Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI>\
             </Source></SyncHdr><SyncBody>{}{}<Final/></SyncBody></SyncML>",
            get(&format!("{prefix}Apn")),
            get(&format!("{prefix}Proxy")),
        );
        let m = codec::decode(xml.as_bytes()).unwrap();
        let table = StringTable::build(&m);
        assert!(table.offsets.contains_key(prefix) && table.offsets.len() == 1);
        assert!(codec::encoded_len(&m, Encoding::Wbxml) < codec::plain_len(&m, Encoding::Wbxml));
    }

    /// Embedded documents' names enter the table only for documents that pay for their entries,
    /// the documents of a message share them, and a message is never longer than with every
    /// string inline, whatever its documents and leaves hold.
    #[test]
    fn document_names_enter_the_table_when_their_documents_pay_for_them() {
        let replace = |uri: &str, doc: &str| {
            format!(
                "<Replace><CmdID>2</CmdID><Item><Target><LocURI>{uri}</LocURI></Target><Data>{doc}</Data></Item></Replace>"
            )
        };
        let message = |body: &str| {
            let xml = format!(
                "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
                 <SessionID>1</SessionID><MsgID>2</MsgID><Target><LocURI>a</LocURI></Target><Source><LocURI>b</LocURI>\
                 </Source></SyncHdr><SyncBody>{body}<Final/></SyncBody></SyncML>"
            );
            codec::decode(xml.as_bytes()).unwrap()
        };
        let costly = r#"<a n="1" m="2"/>"#;
        let paying = r#"<a n="1" m="2"><b/><b/><b/></a>"#;
        let names = |m: &Message| {
            let table = StringTable::build(m);
            let mut names: Vec<String> = table.offsets.keys().map(|k| k.to_string()).collect();
            names.sort();
            names
        };
        assert!(names(&message(&replace("./x", costly))).is_empty());
        assert_eq!(names(&message(&replace("./x", paying))), ["a", "b", "m", "n"]);
        // The second document uses the first one's entries: each is written once.
        let both = message(&(replace("./x", paying) + &replace("./y", costly)));
        assert_eq!(names(&both), ["a", "b", "m", "n"]);
        let w = codec::encode(&both, Encoding::Wbxml);
        let literal = |token: u8| w.windows(2).filter(|p| *p == [token, 0]).count();
        assert_eq!((literal(0xC4), literal(0x84)), (1, 1), "a with attributes, with content and without");
        // A leaf equal to a name shares its entry; a DDF document uses no entry.
        let ddf = "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD></MgmtTree>";
        let mixed = message(&(replace("b", paying) + &replace("b", ddf) + &replace("./a/b/c", "<c>t</c>")));
        for m in [both, mixed, message(&replace("./x", costly))] {
            assert!(codec::encoded_len(&m, Encoding::Wbxml) <= codec::plain_len(&m, Encoding::Wbxml));
            let back = codec::decode(&codec::encode(&m, Encoding::Wbxml)).unwrap();
            assert!(back == m || m.commands.len() == 1, "all but the costly document alone read back alike");
        }
    }
}
