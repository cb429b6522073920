#![no_main]
//! TNDS and DDF documents: reading one never panics, a tree that took a TNDS document lists
//! (`.?list=TNDS`) as one that reads back as the same nodes, with the same ACLs, and a DDF
//! holds a tree to it, and gives one the nodes it describes, without panicking.
use dm_core::tree::ddf::Ddf;
use dm_core::tree::uri::PropSelection;
use dm_core::codec::is_xml_text;
use dm_core::tree::{Leaf, MemoryTree, Node, Tree, tnds};
use libfuzzer_sys::fuzz_target;

const SERVER: &str = "srv";

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    let mut tree = MemoryTree::new();
    let read = tree.extend_from_tnds(xml, "./Vendor");
    if let Ok(ddf) = Ddf::parse(xml) {
        ddf.check(&tree, "./Vendor");
        let mut made = MemoryTree::new();
        if ddf.instantiate(&mut made, "./Vendor").is_ok() {
            ddf.check(&made, "./Vendor");
        }
    }
    if read.is_err() {
        return;
    }
    // A listing the server may not read, or of a value no document holds (500), is no listing.
    let Ok(listing) = tnds::tnds(&mut tree, SERVER, ".", &PropSelection::All, usize::MAX) else { return };
    let mut again = MemoryTree::new();
    again.extend_from_tnds(&listing, ".").unwrap_or_else(|e| panic!("{e}: {listing}"));
    for uri in again.uris() {
        let (read, listed) = (tree.node(&uri), again.node(&uri));
        let as_listed = match read {
            // A value that is not XML text is listed as bytes (Format bin), the same bytes.
            Some(Node::Leaf(l)) if !std::str::from_utf8(&l.data).is_ok_and(is_xml_text) => {
                Some(Node::Leaf(Leaf { format: "bin".into(), ..l }))
            }
            // Children the server may not read are not listed.
            Some(Node::Interior { children, type_ }) => {
                let Some(Node::Interior { children: shown, .. }) = &listed else { panic!("{uri} in {listing}") };
                assert!(shown.iter().all(|c| children.contains(c)), "{uri} in {listing}");
                Some(Node::Interior { children: shown.clone(), type_ })
            }
            other => other,
        };
        assert_eq!(listed, as_listed, "{uri} in {listing}");
        assert_eq!(again.acl(&uri), tree.acl(&uri), "{uri} in {listing}");
    }
});
