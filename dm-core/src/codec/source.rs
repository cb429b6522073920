//! What the XML and WBXML readers have in common: the events they hand to the model parser
//! (`decode.rs`), and the element stack that bounds depth and names the path in errors.

use std::borrow::Cow;

use super::tag::Tag;
use crate::Limits;
use crate::error::{DecodeError, DecodeErrorKind, Error, Limit, LimitError, Site};
use crate::model::Data;

/// One step of a document as the model parser sees it. Adjacent text pieces (text, entities,
/// CDATA) are joined into one `Text`; comments and processing instructions never show.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    Start(Tag),
    End,
    Text(Cow<'a, str>),
    Eof,
}

/// Why strict decoding refuses a Data (`DecodeErrorKind::EmbeddedXml`), in either encoding: its
/// embedded XML must be one document, with nothing but white space beside it.
pub(crate) const TEXT_BESIDE_A_DOCUMENT: &str = "text beside an embedded document";
pub(crate) const MORE_THAN_ONE_DOCUMENT: &str = "more than one embedded document";

/// The codec's failures travel boxed: a `Result` of an event stays as small as the event.
pub(crate) type R<T> = Result<T, Box<Error>>;

/// A reader of one encoding.
pub(crate) trait Source<'a> {
    fn next(&mut self) -> R<Event<'a>>;
    /// Right after `Start(Data)`: reads the content and the closing tag.
    fn data(&mut self) -> R<Data>;
    /// Right after a start tag: reads what it can of a leaf in one step, past the events; the
    /// text read, and whether the closing tag was read after it (else `next` goes on from there).
    fn leaf(&mut self) -> R<(Cow<'a, str>, bool)> {
        Ok((Cow::Borrowed(""), false))
    }
    /// Where the reader is now, for errors.
    fn site(&self) -> Site;

    fn error(&self, kind: DecodeErrorKind) -> Box<Error> {
        Box::new(DecodeError { kind, site: self.site() }.into())
    }

    fn limit(&self, limit: Limit, value: usize, max: usize) -> Box<Error> {
        Box::new(LimitError { limit, value: value as u64, max: max as u64, site: self.site() }.into())
    }
}

/// The open elements, by name (embedded documents in Data included).
pub(crate) struct Stack {
    tags: Vec<Tag>,
    /// Depth of open elements that are not SyncML/MetInf tags (inside an embedded document).
    foreign: usize,
    max_depth: usize,
}

impl Stack {
    pub(crate) fn new(limits: &Limits) -> Self {
        Stack { tags: Vec::with_capacity(16), foreign: 0, max_depth: limits.max_element_depth() }
    }

    #[inline]
    pub(crate) fn depth(&self) -> usize {
        self.tags.len() + self.foreign
    }

    /// Opens an element; false when that nests it deeper than the limit (`too_deep` says so).
    #[inline]
    pub(crate) fn push(&mut self, tag: Tag) -> bool {
        self.tags.push(tag);
        self.depth() <= self.max_depth
    }

    pub(crate) fn push_foreign(&mut self) -> bool {
        self.foreign += 1;
        self.depth() <= self.max_depth
    }

    /// The error for an element nested past the limit, at `site`.
    #[cold]
    pub(crate) fn too_deep(&self, site: Site) -> Box<Error> {
        let (value, max) = (self.depth() as u64, self.max_depth as u64);
        Box::new(LimitError { limit: Limit::Nesting, value, max, site }.into())
    }

    /// Closes the innermost element: its tag, or `None` for one of an embedded document (or
    /// when none is open).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Tag> {
        if self.foreign > 0 {
            self.foreign -= 1;
            return None;
        }
        self.tags.pop()
    }

    /// The element the innermost open one is in.
    pub(crate) fn parent(&self) -> Option<Tag> {
        self.tags.len().checked_sub(2).map(|i| self.tags[i])
    }

    pub(crate) fn path(&self) -> String {
        self.tags.iter().map(|t| t.name()).collect::<Vec<_>>().join("/")
    }
}
