//! Bounds on everything a peer controls. Defaults are DESIGN.md's.

/// Limits applied when decoding and when reassembling large objects.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Bytes in one message (default 1 MiB); also the most a WBXML message's string-table
    /// references may expand to, in all (`Limit::TableExpansion`).
    pub max_message_size: usize,
    /// Bytes in one reassembled large object (default 16 MiB).
    pub max_object_size: usize,
    /// Depth of nested Sequence/Atomic (default 8). Raw element depth, embedded documents
    /// included, is bounded by `ELEMENT_DEPTH_PER_NESTING * max_nesting + ELEMENT_DEPTH_BASE`.
    pub max_nesting: usize,
    /// Commands in one message, nested ones included (default 10 000).
    pub max_commands: usize,
    /// Items in one command (default 1 000).
    pub max_items: usize,
    /// Bytes in a URI: LocURI, TargetRef, SourceRef (default 1 024).
    pub max_uri_len: usize,
    /// Bytes of text in one element (default 1 MiB).
    pub max_text_len: usize,
    /// Bytes of data in the Results a client owes at once (default 64 MiB): a Get whose results
    /// would pass it is answered 413 and sends none, so that a few Gets of one large value
    /// cannot make a device hold it many times over.
    pub max_results_size: usize,
}

const MIB: usize = 1 << 20;
const ELEMENT_DEPTH_BASE: usize = 64;
const ELEMENT_DEPTH_PER_NESTING: usize = 2;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: MIB,
            max_object_size: 16 * MIB,
            max_nesting: 8,
            max_commands: 10_000,
            max_items: 1_000,
            max_uri_len: 1_024,
            max_text_len: MIB,
            max_results_size: 64 * MIB,
        }
    }
}

impl Limits {
    /// The deepest element nesting a decoder accepts.
    #[inline]
    pub fn max_element_depth(&self) -> usize {
        ELEMENT_DEPTH_BASE + ELEMENT_DEPTH_PER_NESTING * self.max_nesting
    }
}
