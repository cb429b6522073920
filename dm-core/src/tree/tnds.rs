//! Tree exchange (TND §8 and TNDS): `Get URI?list=Struct|StructData|TNDS`, answered for any
//! [`Tree`] from its Get and property operations, and TNDS documents read back (an Add whose
//! Type is `application/vnd.syncml.dmtnds+xml` creates every node it holds; a [`MemoryTree`]
//! takes one as its own nodes, a device's tree as a listing or a vendor's dump gives it).

use std::borrow::Cow;

use base64::Engine;
use quick_xml::escape::partial_escape;

use super::memory::MemoryTree;
use super::uri::{ListKind, PropSelection, UriLimits};
use super::{Leaf, Node, Tree, property_value, xml_text};
use crate::codec::is_xml_text;
use crate::error::UsageError;
use crate::model::StatusCode;

/// The MIME type of an XML TNDS document.
pub const TNDS_XML: &str = "application/vnd.syncml.dmtnds+xml";
const PROPERTIES: [&str; 8] = ["ACL", "Format", "Name", "Size", "Title", "TStamp", "Type", "VerNo"];
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One node of a Struct/StructData answer: its URI and what Get gave (for Struct, leaves
/// without data).
pub type Listed = (String, Node);

/// The listing so far, and the bytes of URIs and values it may still take.
struct Listing {
    nodes: Vec<Listed>,
    kind: ListKind,
    room: usize,
}

/// The nodes of the subtree at `uri` the server may read, in pre-order (others are left out,
/// as TND says); without recursion, however deep the tree.
fn visible(tree: &mut dyn Tree, server: &str, uri: &str, out: &mut Listing) -> Result<(), StatusCode> {
    let mut pending = vec![uri.to_string()];
    while let Some(uri) = pending.pop() {
        let mut node = match tree.get(server, &uri).and_then(Node::sendable) {
            Ok(n) => n,
            Err(StatusCode::PERMISSION_DENIED | StatusCode::COMMAND_NOT_ALLOWED) if !out.nodes.is_empty() => continue,
            Err(e) => return Err(e),
        };
        match &mut node {
            Node::Interior { children, .. } => {
                let child = |c: &String| if uri == "." { format!("./{c}") } else { format!("{uri}/{c}") };
                pending.extend(children.iter().rev().map(child));
            }
            Node::Leaf(l) if out.kind == ListKind::Struct => l.data = Vec::new(),
            Node::Leaf(_) => {}
        }
        let size = uri.len() + if let Node::Leaf(l) = &node { l.data.len() } else { 0 };
        out.room = out.room.checked_sub(size).ok_or(StatusCode::REQUEST_ENTITY_TOO_LARGE)?;
        out.nodes.push((uri, node));
    }
    Ok(())
}

/// The subtree at `uri`, in pre-order; 413 once its URIs and values pass `max_len` bytes (the
/// listing stops there).
pub fn list(
    tree: &mut dyn Tree,
    server: &str,
    uri: &str,
    kind: ListKind,
    max_len: usize,
) -> Result<Vec<Listed>, StatusCode> {
    let mut out = Listing { nodes: Vec::new(), kind, room: max_len };
    visible(tree, server, uri, &mut out)?;
    Ok(out.nodes)
}

/// How deep the `Node` elements of a TNDS document that `tnds` wrote nest.
pub(crate) fn nesting(xml: &str) -> usize {
    let (mut depth, mut most) = (0usize, 0);
    for (at, _) in xml.match_indices("Node>") {
        match xml.as_bytes().get(at.wrapping_sub(1)) {
            Some(b'<') => depth += 1,
            Some(b'/') => depth = depth.saturating_sub(1),
            _ => {}
        }
        most = most.max(depth);
    }
    most
}

/// The subtree at `uri` as an XML TNDS document with the selected properties; 413 once it
/// passes `max_len` bytes.
pub fn tnds(
    tree: &mut dyn Tree,
    server: &str,
    uri: &str,
    props: &PropSelection,
    max_len: usize,
) -> Result<String, StatusCode> {
    let nodes = list(tree, server, uri, ListKind::StructData, max_len)?;
    // Format is each node's own; the other properties are asked of the tree.
    let selected: Vec<&str> = PROPERTIES.into_iter().filter(|p| props.includes(p)).collect();
    let asked: Vec<&str> = selected.iter().copied().filter(|&p| p != "Format").collect();
    let mut xml = String::from("<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>");
    let mut open: Vec<&str> = Vec::new();
    for (u, node) in &nodes {
        while open.last().is_some_and(|o| !super::uri::is_below(u, o)) {
            open.pop();
            xml.push_str("</Node>");
        }
        xml.push_str("<Node><NodeName>");
        xml.push_str(&partial_escape(super::uri::name(u)));
        xml.push_str("</NodeName>");
        if open.is_empty() {
            if let Some(p) = super::uri::parent(u) {
                element(&mut xml, "Path", p);
            }
        }
        let value = match node {
            Node::Leaf(l) if props.includes("Value") => Some(leaf_value(l)),
            _ => None,
        };
        let format = match (node, &value) {
            (Node::Interior { .. }, _) => "node",
            (Node::Leaf(_), Some((format, _))) => format,
            (Node::Leaf(l), None) => &l.format,
        };
        properties(tree, server, u, (format, node), (&selected, &asked), &mut xml)?;
        if let Some((_, value)) = value {
            element(&mut xml, "Value", &value);
        }
        if matches!(node, Node::Interior { .. }) {
            open.push(u);
        } else {
            xml.push_str("</Node>");
        }
        if xml.len() > max_len {
            return Err(StatusCode::REQUEST_ENTITY_TOO_LARGE);
        }
    }
    for _ in open {
        xml.push_str("</Node>");
    }
    xml.push_str("</MgmtTree>");
    Ok(xml)
}

/// A leaf's Format and Value as a document carries them: base64 under Format `bin` when the
/// value is binary or not XML text.
fn leaf_value(l: &Leaf) -> (&str, Cow<'_, str>) {
    match std::str::from_utf8(&l.data) {
        Ok(text) if l.format != "bin" && is_xml_text(text) => (&l.format, Cow::Borrowed(text)),
        _ => ("bin", Cow::Owned(B64.encode(&l.data))),
    }
}

/// Whether a Format can be the element name TNDS writes it as (`<Format><chr/></Format>`).
fn is_format_name(format: &str) -> bool {
    format.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && format.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn element(xml: &mut String, name: &str, text: &str) {
    push_all(xml, ["<", name, ">", &partial_escape(text), "</", name, ">"]);
}

fn push_all<const N: usize>(xml: &mut String, pieces: [&str; N]) {
    pieces.into_iter().for_each(|p| xml.push_str(p));
}

/// The `selected` properties of the node at `uri` (its Format as the document writes it), those
/// `asked` of the tree in one call; 500 for a value a document cannot carry.
fn properties(
    tree: &mut dyn Tree,
    server: &str,
    uri: &str,
    (format, node): (&str, &Node),
    (selected, asked): (&[&str], &[&str]),
    xml: &mut String,
) -> Result<(), StatusCode> {
    let mut rt = String::new();
    let mut answers = tree.get_properties(server, uri, asked).into_iter();
    for &name in selected {
        let value = match name {
            "Format" => Ok(format.to_string()),
            _ => answers.next().unwrap_or(Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED)),
        };
        let Ok(value) = value else { continue };
        let value = xml_text(value)?;
        match name {
            "Format" if value.is_empty() => push_all(&mut rt, ["<Format><chr/></Format>"]),
            "Format" if !is_format_name(&value) => return Err(StatusCode::COMMAND_FAILED),
            "Format" => push_all(&mut rt, ["<Format><", &value, "/></Format>"]),
            "Type" if value.is_empty() => {}
            "Type" if matches!(node, Node::Interior { .. }) => {
                push_all(&mut rt, ["<Type><DDFName>", &partial_escape(&value), "</DDFName></Type>"])
            }
            "Type" => push_all(&mut rt, ["<Type><MIME>", &partial_escape(&value), "</MIME></Type>"]),
            _ => element(&mut rt, name, &value),
        }
    }
    if !rt.is_empty() {
        xml.push_str("<RTProperties>");
        xml.push_str(&rt);
        xml.push_str("</RTProperties>");
    }
    Ok(())
}

/// A node read from a TNDS document, ready to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TndsNode {
    /// The node's absolute URI.
    pub uri: String,
    /// A leaf with its value, Format and Type, or an interior node.
    pub node: Node,
    /// Its ACL, if the document gave one.
    pub acl: Option<String>,
}

/// Reads a TNDS document. `base` is where the top nodes go when they carry no `Path`.
/// A malformed document gives 400; a node URI past `limits` gives 414 (the nodes' URIs are
/// built as they are read, so a document cannot make many long ones out of one long `Path`).
pub fn parse(xml: &str, base: &str, limits: UriLimits) -> Result<Vec<TndsNode>, StatusCode> {
    use quick_xml::events::Event as X;
    const BAD: StatusCode = StatusCode::BAD_REQUEST;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut frames: Vec<Frame> = Vec::new();
    let mut out: Vec<TndsNode> = Vec::new();
    let mut elements: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|_| BAD)? {
            X::Start(s) => {
                let n = s.local_name().as_ref().to_string();
                if n == "Node" {
                    if !frames.is_empty() {
                        resolve(&mut frames, base, limits)?;
                        if let Some(f) = frames.last_mut() {
                            f.has_children = true;
                        }
                    }
                    frames.push(Frame::default());
                }
                elements.push(n);
                text.clear();
            }
            X::Empty(s) => {
                let n = s.local_name().as_ref().to_string();
                let f = frames.last_mut().ok_or(BAD)?;
                match (elements.last().map(String::as_str), n.as_str()) {
                    (Some("Format"), _) => f.format = n,
                    (_, "Value") => f.value = Some(String::new()),
                    _ => {}
                }
            }
            X::Text(t) => text.push_str(&t.xml10_content()),
            X::GeneralRef(r) => text.push_str(&crate::codec::reference(&r).ok_or(BAD)?),
            X::CData(c) => text.push_str(&c.xml10_content()),
            X::End(_) => {
                let n = elements.pop().unwrap_or_default();
                let t = std::mem::take(&mut text);
                if n == "Node" {
                    resolve(&mut frames, base, limits)?;
                    let f = frames.pop().ok_or(BAD)?;
                    out.push(f.into_node()?);
                    continue;
                }
                let Some(f) = frames.last_mut() else { continue };
                // A value as it is, white space and all; names and properties trimmed.
                match n.as_str() {
                    "NodeName" => f.name = Some(t.trim().to_string()),
                    "Path" => f.path = Some(t.trim().to_string()),
                    "MIME" | "DDFName" => f.mime = t.trim().to_string(),
                    "ACL" => f.acl = Some(t.trim().to_string()),
                    "Value" => f.value = Some(t),
                    _ => {}
                }
            }
            X::Eof => break,
            // A DOCTYPE naming the DTD, as DDF and TNDS files begin; one declaring entities is refused.
            X::DocType(d) if elements.is_empty() && !crate::codec::has_internal_subset(&d) => {}
            X::DocType(_) => return Err(BAD),
            _ => {}
        }
    }
    if !frames.is_empty() || out.is_empty() {
        return Err(BAD);
    }
    // Parents before children; document order otherwise.
    out.sort_by_key(|n| n.uri.matches('/').count());
    Ok(out)
}

impl MemoryTree {
    /// Sets the nodes of a TNDS document as this tree's own (as `set_leaf` and `set_interior`
    /// do: no ACL is asked): each at its `Path`, or below `base` when the document gives none,
    /// with its Format, Type, value and ACL; the parents they need are made.
    pub fn extend_from_tnds(&mut self, xml: &str, base: &str) -> Result<(), UsageError> {
        let nodes = parse(xml, base, UriLimits::default())
            .map_err(|c| UsageError(format!("not a TNDS document that can be read ({c})")))?;
        for n in nodes {
            let code = |c: StatusCode| UsageError(format!("TNDS document, node {:?}: status {c}", n.uri));
            match &n.node {
                Node::Interior { type_, .. } => self.set_interior(&n.uri, type_.as_deref()),
                Node::Leaf(leaf) => self.set_leaf(&n.uri, leaf.clone()),
            }
            .map_err(code)?;
            if let Some(acl) = &n.acl {
                self.set_acl(&n.uri, acl).map_err(code)?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Frame {
    name: Option<String>,
    path: Option<String>,
    uri: Option<String>,
    format: String,
    mime: String,
    acl: Option<String>,
    value: Option<String>,
    has_children: bool,
}

/// Gives the innermost open node its URI: its parent's URI (or its Path, or `base`) and its name.
fn resolve(frames: &mut [Frame], base: &str, limits: UriLimits) -> Result<(), StatusCode> {
    let i = frames.len().checked_sub(1).ok_or(StatusCode::BAD_REQUEST)?;
    if frames[i].uri.is_some() {
        return Ok(());
    }
    let parent = match (i, &frames[i].path) {
        (_, Some(p)) => p.clone(),
        (0, None) => base.to_string(),
        (_, None) => frames[i - 1].uri.clone().ok_or(StatusCode::BAD_REQUEST)?,
    };
    let name = frames[i].name.as_deref().ok_or(StatusCode::BAD_REQUEST)?;
    if (i, name, &frames[i].path) == (0, ".", &None) {
        // The root, as a listing of `.?list=TNDS` names it.
        frames[i].uri = Some(".".into());
        return Ok(());
    }
    // One segment: a name with `/` would make nodes the document does not show.
    if !super::uri::is_segment(name.as_bytes()) {
        return Err(StatusCode::BAD_REQUEST);
    }
    frames[i].uri = Some(super::uri::normalize(&format!("{parent}/{name}"), limits)?.into_owned());
    Ok(())
}

impl Frame {
    fn into_node(self) -> Result<TndsNode, StatusCode> {
        let uri = self.uri.ok_or(StatusCode::BAD_REQUEST)?;
        let node = if self.format == "node" || self.has_children {
            Node::Interior { children: Vec::new(), type_: Some(self.mime).filter(|m| !m.is_empty()) }
        } else {
            let value = self.value.unwrap_or_default();
            let data = match self.format.as_str() {
                "bin" => B64.decode(value.trim()).map_err(|_| StatusCode::BAD_REQUEST)?,
                _ => value.into_bytes(),
            };
            let format = property_value(if self.format.is_empty() { "chr" } else { &self.format });
            let type_ = property_value(if self.mime.is_empty() { "text/plain" } else { &self.mime });
            Node::Leaf(Leaf { format, type_, data })
        };
        Ok(TndsNode { uri, node, acl: self.acl })
    }
}
