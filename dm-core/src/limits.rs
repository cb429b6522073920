//! Bounds on everything a peer controls. Defaults are DESIGN.md's.

use crate::error::UsageError;

/// Limits applied when decoding and when reassembling large objects. C has this very struct
/// (`repr(C)`) as `dm_limits`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[repr(C)]
pub struct Limits {
    /// Bytes in one message (default 1 MiB); also the most a WBXML message's string-table
    /// references may expand to, in all.
    pub max_message_size: usize,
    /// Bytes in one reassembled large object (default 16 MiB).
    pub max_object_size: usize,
    /// Depth of nested Sequence/Atomic (default 8). Raw element depth, embedded documents
    /// included, is bounded by 64 + 2 × this.
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
    /// The settings' names, as the fields are named.
    pub const NAMES: [&'static str; 8] = [
        "max_message_size",
        "max_object_size",
        "max_nesting",
        "max_commands",
        "max_items",
        "max_uri_len",
        "max_text_len",
        "max_results_size",
    ];

    fn setting(&mut self, name: &str) -> Option<&mut usize> {
        Some(match name {
            "max_message_size" => &mut self.max_message_size,
            "max_object_size" => &mut self.max_object_size,
            "max_nesting" => &mut self.max_nesting,
            "max_commands" => &mut self.max_commands,
            "max_items" => &mut self.max_items,
            "max_uri_len" => &mut self.max_uri_len,
            "max_text_len" => &mut self.max_text_len,
            "max_results_size" => &mut self.max_results_size,
            _ => return None,
        })
    }

    /// Each setting by name, in the order of `NAMES`: for the skins that name them.
    pub fn settings(&self) -> impl Iterator<Item = (&'static str, usize)> {
        let mut copy = self.clone();
        Self::NAMES.into_iter().map(move |name| (name, copy.setting(name).map_or(0, |v| *v)))
    }

    /// Sets the setting `name` (one of `NAMES`).
    pub fn set(&mut self, name: &str, value: usize) -> Result<(), UsageError> {
        let unknown = || UsageError(format!("no limit is named {name:?} (limits: {})", Self::NAMES.join(", ")));
        *self.setting(name).ok_or_else(unknown)? = value;
        Ok(())
    }

    /// The deepest element nesting a decoder accepts.
    #[inline]
    pub fn max_element_depth(&self) -> usize {
        ELEMENT_DEPTH_BASE + ELEMENT_DEPTH_PER_NESTING * self.max_nesting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_named_and_set_by_its_name() {
        let defaults = Limits::default();
        let mut limits = Limits::default();
        for (i, (name, value)) in defaults.settings().enumerate() {
            assert_eq!(name, Limits::NAMES[i]);
            limits.set(name, value + 1 + i).unwrap();
        }
        let set: Vec<usize> = limits.settings().map(|(_, v)| v).collect();
        let expected: Vec<usize> = defaults.settings().enumerate().map(|(i, (_, v))| v + 1 + i).collect();
        assert_eq!(set, expected);
        assert_eq!(limits.max_uri_len, defaults.max_uri_len + 6);
        let e = limits.clone().set("max_uri", 1).unwrap_err();
        assert!(e.0.contains("\"max_uri\"") && e.0.contains("max_uri_len"), "{e}");
    }
}
