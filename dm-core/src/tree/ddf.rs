//! DDF (TND §7, the Device Description Framework): what a management object's nodes are (their
//! names, Format, Type and Occurrence; a node without a name stands for those the device or the
//! server names), a tree held to it (a device's dump of its tree, `?list=TNDS`, a simulated
//! device's, or a vendor's, against the MO's DDF), and a tree given the nodes it describes (a
//! simulated device that holds the MO).

use quick_xml::events::Event as X;

use base64::Engine;

use super::memory::{Access, MemoryTree};
use super::uri::{UriLimits, normalize};
use super::{Leaf, Node, property_value};
use crate::error::UsageError;

/// How deep a DDF's nodes may nest: far past any management object, short of any stack.
const MAX_DEPTH: usize = 64;

/// How many of a node a DDF allows (`Occurrence`; `One` when it says none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Occurrence {
    /// Exactly one.
    #[default]
    One,
    /// None or one.
    ZeroOrOne,
    /// Any number.
    ZeroOrMore,
    /// At least one.
    OneOrMore,
    /// At most N.
    ZeroOrN(u32),
    /// At least one, at most N.
    OneOrN(u32),
}

impl Occurrence {
    /// Whether `n` nodes keep it.
    pub fn allows(self, n: usize) -> bool {
        match self {
            Occurrence::One => n == 1,
            Occurrence::ZeroOrOne => n <= 1,
            Occurrence::ZeroOrMore => true,
            Occurrence::OneOrMore => n >= 1,
            Occurrence::ZeroOrN(max) => n <= max as usize,
            Occurrence::OneOrN(max) => (1..=max as usize).contains(&n),
        }
    }
}

/// A node a DDF describes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DdfNode {
    /// Its name; `None` for a node that stands for those the device or the server names.
    pub name: Option<String>,
    /// Where it hangs (`Path`), for a top node that says.
    pub path: Option<String>,
    /// `DFFormat` (`node`, `chr`, `int`, ...); empty when the DDF says none.
    pub format: String,
    /// `Occurrence`.
    pub occurrence: Occurrence,
    /// `DFType`: a leaf's MIME type, or an interior node's MO identifier (`DDFName`).
    pub type_: Option<String>,
    /// `AccessType`: the commands it supports; `None` when the DDF says none.
    pub access: Option<Access>,
    /// `DefaultValue`.
    pub default: Option<String>,
    /// `Scope` Permanent: the server cannot delete it.
    pub permanent: bool,
    /// The nodes below it.
    pub children: Vec<DdfNode>,
}

impl DdfNode {
    /// Whether it is an interior node: Format node, or nodes below it.
    fn is_interior(&self) -> bool {
        self.format == "node" || !self.children.is_empty()
    }
}

/// A DDF document: its top nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ddf {
    /// The nodes at the top of the document.
    pub nodes: Vec<DdfNode>,
}

/// A node of a tree that does not keep its DDF: its URI, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The node's URI (or its parent's, for a count of unnamed nodes).
    pub uri: String,
    /// What the tree has, against what the DDF says.
    pub detail: String,
}

impl Ddf {
    /// Reads a DDF document (`MgmtTree` of `Node`s with `DFProperties`). A DOCTYPE naming the
    /// DTD is skipped; one declaring entities, markup that is not XML, nodes nested past 64 or
    /// an Occurrence that cannot be read are a `UsageError` saying what.
    pub fn parse(xml: &str) -> Result<Ddf, UsageError> {
        let bad = |what: String| UsageError(format!("not a DDF document that can be read: {what}"));
        let mut reader = quick_xml::Reader::from_str(xml);
        reader.config_mut().trim_text(true);
        let mut open: Vec<DdfNode> = Vec::new();
        let mut elements: Vec<String> = Vec::new();
        let mut text = String::new();
        let mut ddf = Ddf::default();
        loop {
            let event = reader.read_event().map_err(|e| bad(format!("{e} at byte {}", reader.buffer_position())))?;
            match event {
                X::Start(s) => {
                    let name = s.local_name().as_ref().to_string();
                    if name == "Node" {
                        if open.len() == MAX_DEPTH {
                            return Err(bad(format!("nodes nested past {MAX_DEPTH}")));
                        }
                        open.push(DdfNode::default());
                    }
                    elements.push(name);
                    text.clear();
                }
                X::Empty(e) => {
                    let name = e.local_name().as_ref().to_string();
                    if let Some(node) = open.last_mut() {
                        match elements.last().map(String::as_str) {
                            Some("DFFormat") => node.format = name,
                            Some("Occurrence") => node.occurrence = occurrence(&name, "").map_err(bad)?,
                            Some("AccessType") => {
                                let right =
                                    Access::NAMED.iter().find(|(n, _)| *n == name).map_or(Access::NONE, |r| r.1);
                                node.access = Some(node.access.unwrap_or(Access::NONE).with(right));
                            }
                            Some("Scope") => node.permanent = name == "Permanent",
                            _ => {}
                        }
                    }
                }
                X::Text(t) => text.push_str(&t.xml10_content()),
                X::GeneralRef(r) => text.push_str(&crate::codec::reference(&r).ok_or_else(|| bad("an entity".into()))?),
                X::CData(c) => text.push_str(&c.xml10_content()),
                X::End(_) => {
                    let name = elements.pop().unwrap_or_default();
                    let value = std::mem::take(&mut text);
                    if name == "Node" {
                        let node = open.pop().ok_or_else(|| bad("a Node closed twice".into()))?;
                        match open.last_mut() {
                            Some(parent) => parent.children.push(node),
                            None => ddf.nodes.push(node),
                        }
                        continue;
                    }
                    let (Some(node), parent) = (open.last_mut(), elements.last().map(String::as_str)) else { continue };
                    match (parent, name.as_str()) {
                        (Some("Node"), "NodeName") => node.name = Some(value).filter(|n| !n.is_empty()),
                        (Some("Node"), "Path") => node.path = Some(value),
                        (Some("DFType"), "MIME" | "DDFName") => node.type_ = Some(value),
                        (Some("DFProperties"), "DefaultValue") => node.default = Some(value),
                        (Some("Occurrence"), n @ ("ZeroOrN" | "OneOrN")) => {
                            node.occurrence = occurrence(n, &value).map_err(bad)?
                        }
                        _ => {}
                    }
                }
                X::DocType(d) if elements.is_empty() && !crate::codec::has_internal_subset(&d) => {}
                X::DocType(_) => return Err(bad("a DOCTYPE that declares entities, or inside the document".into())),
                X::Eof => break,
                _ => {}
            }
        }
        if !open.is_empty() || ddf.nodes.is_empty() {
            return Err(bad(if open.is_empty() { "no Node".into() } else { "a Node left open".into() }));
        }
        Ok(ddf)
    }

    /// Where `tree` does not keep the description: a node it requires that is missing, one it
    /// does not describe, another Format or Type, more or fewer unnamed nodes than their
    /// Occurrence allows. A top node goes at its `Path`, else below `base`; a top node without
    /// a name is the node at `base` (an MO a device places where it likes). AccessType, Scope and
    /// DefaultValue are what a device does, not what a tree shows: they are not checked.
    pub fn check(&self, tree: &MemoryTree, base: &str) -> Vec<Mismatch> {
        let mut out = Vec::new();
        for d in &self.nodes {
            let uri = placed(d, base);
            match normalize(&uri, UriLimits::default()) {
                Ok(uri) => check_present(d, &uri, tree, &mut out),
                Err(code) => out.push(Mismatch { uri, detail: format!("not a URI the tree can hold ({code})") }),
            }
        }
        out
    }

    /// Gives `tree` the nodes the description requires, and the optional named ones it gives a
    /// DefaultValue, as the device's own, with their Format, Type, DefaultValue, AccessType and
    /// Scope (placed as `check` places them): a simulated device that holds the MO. What the
    /// tree has already is left as it is, but for an interior node without a Type, which takes
    /// the DDF's; an unnamed node the DDF requires is made, named `1`, only where the tree has
    /// none. A DefaultValue of Format bin is base64.
    pub fn instantiate(&self, tree: &mut MemoryTree, base: &str) -> Result<(), UsageError> {
        self.nodes.iter().try_for_each(|d| make(d, &placed(d, base), tree))
    }
}

/// Where a top node goes: below its `Path`, else below `base`; at `base` when it has no name.
fn placed(d: &DdfNode, base: &str) -> String {
    let parent = d.path.as_deref().unwrap_or(base);
    d.name.as_ref().map_or_else(|| parent.to_string(), |name| format!("{parent}/{name}"))
}

/// Makes `d` at `uri` unless the tree has it (which is left as it is), and the nodes below it
/// the DDF requires or gives a value: for an unnamed one, those the tree has already, or else one
/// named `1` when it is required.
fn make(d: &DdfNode, uri: &str, tree: &mut MemoryTree) -> Result<(), UsageError> {
    let code = |c| UsageError(format!("DDF node {uri}: status {c}"));
    let had = match tree.node(uri) {
        Some(Node::Interior { children, type_ }) => {
            if let (None, Some(mo)) = (type_, d.type_.as_deref().filter(|_| d.is_interior())) {
                tree.set_interior(uri, Some(mo)).map_err(code)?; // the MO's identifier, left out
            }
            Some(children)
        }
        Some(Node::Leaf(_)) => Some(Vec::new()),
        None => None,
    };
    if had.is_none() {
        if d.is_interior() {
            tree.set_interior(uri, d.type_.as_deref()).map_err(code)?;
        } else {
            let format = if d.format.is_empty() { "chr" } else { &d.format };
            let value = d.default.as_deref().unwrap_or_default();
            let data = match format {
                "bin" => base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .map_err(|e| UsageError(format!("DDF node {uri}: a DefaultValue that is not base64 ({e})")))?,
                _ => value.as_bytes().to_vec(),
            };
            let type_ = property_value(d.type_.as_deref().unwrap_or("text/plain"));
            tree.set_leaf(uri, Leaf { format: property_value(format), type_, data }).map_err(code)?;
        }
        if let Some(access) = d.access {
            tree.set_access(uri, access).map_err(code)?;
        }
        if d.permanent {
            tree.set_permanent(uri, true).map_err(code)?;
        }
    }
    let unnamed_ones: Vec<String> = (had.unwrap_or_default().into_iter())
        .filter(|child| !d.children.iter().any(|c| c.name.as_ref() == Some(child)))
        .collect();
    for c in &d.children {
        match &c.name {
            Some(name) if !c.occurrence.allows(0) || c.default.is_some() => make(c, &format!("{uri}/{name}"), tree)?,
            Some(_) => {}
            None if unnamed_ones.is_empty() && !c.occurrence.allows(0) => make(c, &format!("{uri}/1"), tree)?,
            None => unnamed_ones.iter().try_for_each(|child| make(c, &format!("{uri}/{child}"), tree))?,
        }
    }
    Ok(())
}

fn occurrence(name: &str, n: &str) -> Result<Occurrence, String> {
    let max = || n.trim().parse::<u32>().map_err(|_| format!("{name} of {n:?}, not a number"));
    Ok(match name {
        "One" => Occurrence::One,
        "ZeroOrOne" => Occurrence::ZeroOrOne,
        "ZeroOrMore" => Occurrence::ZeroOrMore,
        "OneOrMore" => Occurrence::OneOrMore,
        "ZeroOrN" => Occurrence::ZeroOrN(max()?),
        "OneOrN" => Occurrence::OneOrN(max()?),
        other => return Err(format!("an Occurrence of {other}")),
    })
}

/// `d` at `uri`: missing, or held to `d`.
fn check_present(d: &DdfNode, uri: &str, tree: &MemoryTree, out: &mut Vec<Mismatch>) {
    match tree.node(uri) {
        Some(node) => check_node(d, uri, &node, tree, out),
        None if !d.occurrence.allows(0) => out
            .push(Mismatch { uri: uri.into(), detail: format!("missing (the DDF's Occurrence: {:?})", d.occurrence) }),
        None => {}
    }
}

fn check_node(d: &DdfNode, uri: &str, node: &Node, tree: &MemoryTree, out: &mut Vec<Mismatch>) {
    let mut say = |detail: String| out.push(Mismatch { uri: uri.into(), detail });
    let (format, type_) = match node {
        Node::Leaf(l) => (&*l.format, Some(&*l.type_)),
        Node::Interior { type_, .. } => ("node", type_.as_deref()),
    };
    if !d.format.is_empty() && format != d.format {
        say(format!("Format {format}, where the DDF has {}", d.format));
    }
    if let Some(want) = &d.type_ {
        let want = property_value(want);
        if type_ != Some(&*want) {
            say(format!("Type {}, where the DDF has {want}", type_.unwrap_or("none")));
        }
    }
    let Node::Interior { children, .. } = node else { return };
    let mut unnamed_ones = Vec::new();
    for child in children {
        if !d.children.iter().any(|c| c.name.as_deref() == Some(child)) {
            unnamed_ones.push(child);
        }
    }
    for c in &d.children {
        if let Some(name) = &c.name {
            check_present(c, &format!("{uri}/{name}"), tree, out);
        }
    }
    match d.children.iter().find(|c| c.name.is_none()) {
        Some(unnamed) => {
            if !unnamed.occurrence.allows(unnamed_ones.len()) {
                let n = unnamed_ones.len();
                let detail = format!("{n} unnamed nodes, where the DDF's Occurrence is {:?}", unnamed.occurrence);
                out.push(Mismatch { uri: uri.into(), detail });
            }
            for child in unnamed_ones {
                let child_uri = format!("{uri}/{child}");
                if let Some(node) = tree.node(&child_uri) {
                    check_node(unnamed, &child_uri, &node, tree, out);
                }
            }
        }
        None => out.extend(unnamed_ones.into_iter().map(|child| Mismatch {
            uri: format!("{uri}/{child}"),
            detail: "a node the DDF does not describe".into(),
        })),
    }
}
