#![no_main]
//! TNDS and DDF documents: reading one never panics, a tree that took a TNDS document lists
//! (`.?list=TNDS`) as one that reads back as the same nodes, with the same ACLs, and a DDF
//! holds a tree to it without panicking.
use dm_core::tree::ddf::Ddf;
use dm_core::tree::uri::PropSelection;
use dm_core::tree::{MemoryTree, Tree, tnds};
use libfuzzer_sys::fuzz_target;

const SERVER: &str = "srv";

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    let mut tree = MemoryTree::new();
    let read = tree.extend_from_tnds(xml, "./Vendor");
    if let Ok(ddf) = Ddf::parse(xml) {
        ddf.check(&tree, "./Vendor");
    }
    if read.is_err() {
        return;
    }
    // A listing the server may not read, or of a value no document holds (500), is no listing.
    let Ok(listing) = tnds::tnds(&mut tree, SERVER, ".", &PropSelection::All, usize::MAX) else { return };
    let mut again = MemoryTree::new();
    again.extend_from_tnds(&listing, ".").unwrap_or_else(|e| panic!("{e}: {listing}"));
    for uri in again.uris() {
        assert_eq!(again.node(&uri), tree.node(&uri), "{uri} in {listing}");
        assert_eq!(again.acl(&uri), tree.acl(&uri), "{uri} in {listing}");
    }
});
