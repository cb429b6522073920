//! Management tree URIs (TND §6): `./A/B` absolute, `A/B` relative to the root, `.` the root,
//! and the two queries a Get may carry: `?prop=Name` and `?list=Struct|StructData|TNDS[+-Prop]`.

use std::borrow::Cow;

use crate::model::StatusCode;

/// What a command's target asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// The node itself (its URI normalized).
    Node(Cow<'a, str>),
    /// `?prop=Name`: one property of the node.
    Property {
        /// The node.
        node: Cow<'a, str>,
        /// The property: `ACL`, `Format`, `Type`, `Size`, `Name`, `Title`, `TStamp`, `VerNo`.
        name: String,
    },
    /// `?list=`: the node's subtree.
    List {
        /// The subtree's root.
        node: Cow<'a, str>,
        /// How the subtree is listed.
        kind: ListKind,
        /// The properties listed with each node (TNDS).
        props: PropSelection,
    },
}

/// What `?list=` asks for: names only, names and values, or a TNDS document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// `Struct`: the nodes' names.
    Struct,
    /// `StructData`: the nodes' names and the leaves' values.
    StructData,
    /// `TNDS`: a TNDS document of the subtree.
    Tnds,
}

/// `?list=TNDS+Value+ACL` selects, `?list=TNDS-ACL` excludes; the two cannot be mixed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PropSelection {
    /// Every property (`?list=TNDS`).
    #[default]
    All,
    /// These properties only (`+Value+ACL`).
    Only(Vec<String>),
    /// Every property but these (`-ACL`).
    Except(Vec<String>),
}

impl PropSelection {
    /// Whether the property `name` is selected.
    pub fn includes(&self, name: &str) -> bool {
        match self {
            PropSelection::All => true,
            PropSelection::Only(v) => v.iter().any(|p| p == name),
            PropSelection::Except(v) => !v.iter().any(|p| p == name),
        }
    }
}

/// The segment limits of `./DevDetail/URI` (0 means unlimited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UriLimits {
    /// The most segments a URI has.
    pub max_depth: usize,
    /// The most characters a URI has.
    pub max_tot_len: usize,
    /// The most characters a segment has.
    pub max_seg_len: usize,
}

/// Normalizes a node URI to the absolute form `./A/B` (or `.`): a trailing `/` is dropped,
/// empty, `.` and `..` segments are refused (400), limits give 414. A URI already in that form
/// is borrowed, not copied.
pub fn normalize(uri: &str, limits: UriLimits) -> Result<Cow<'_, str>, StatusCode> {
    let body = uri.strip_prefix("./").or(if uri == "." { Some("") } else { None }).unwrap_or(uri);
    let body = body.strip_suffix('/').unwrap_or(body);
    if body.is_empty() {
        return Ok(Cow::Borrowed("."));
    }
    let mut depth = 0;
    for seg in body.as_bytes().split(|&b| b == b'/') {
        if !is_segment(seg) {
            return Err(StatusCode::BAD_REQUEST);
        }
        if limits.max_seg_len > 0 && seg.len() > limits.max_seg_len {
            return Err(StatusCode::URI_TOO_LONG);
        }
        depth += 1;
    }
    if (limits.max_depth > 0 && depth > limits.max_depth) || (limits.max_tot_len > 0 && body.len() > limits.max_tot_len)
    {
        return Err(StatusCode::URI_TOO_LONG);
    }
    if uri.len() == body.len() + 2 {
        return Ok(Cow::Borrowed(uri));
    }
    let mut out = String::with_capacity(body.len() + 2);
    out.push_str("./");
    out.push_str(body);
    Ok(Cow::Owned(out))
}

/// Whether `seg` can be one segment of a node URI: not empty, `.` or `..`, and without `/`, `?`
/// or NUL.
pub(crate) fn is_segment(seg: &[u8]) -> bool {
    !matches!(seg, b"" | b"." | b"..") && !seg.iter().any(|&b| matches!(b, b'/' | b'?' | 0))
}

/// Splits a target URI into node and query.
pub fn parse_target(uri: &str, limits: UriLimits) -> Result<Target<'_>, StatusCode> {
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (uri, None),
    };
    let node = normalize(path, limits)?;
    let Some(query) = query else { return Ok(Target::Node(node)) };
    if let Some(name) = query.strip_prefix("prop=") {
        return Ok(Target::Property { node, name: name.to_string() });
    }
    let Some(list) = query.strip_prefix("list=") else { return Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED) };
    let (kind, rest) = match list.find(['+', '-']) {
        Some(i) => list.split_at(i),
        None => (list, ""),
    };
    let kind = match kind {
        "Struct" => ListKind::Struct,
        "StructData" => ListKind::StructData,
        "TNDS" => ListKind::Tnds,
        _ => return Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED),
    };
    let props = if rest.is_empty() {
        PropSelection::All
    } else {
        let sign = &rest[..1];
        if kind != ListKind::Tnds || rest[1..].contains(if sign == "+" { '-' } else { '+' }) {
            return Err(StatusCode::OPTIONAL_FEATURE_NOT_SUPPORTED);
        }
        let names = rest[1..].split(sign).map(str::to_string).collect();
        if sign == "+" { PropSelection::Only(names) } else { PropSelection::Except(names) }
    };
    Ok(Target::List { node, kind, props })
}

/// The parent of a normalized URI (`None` for the root).
pub fn parent(uri: &str) -> Option<&str> {
    uri.bytes().rposition(|b| b == b'/').map(|i| &uri[..i])
}

/// Whether normalized `uri` lies below `ancestor`.
pub(crate) fn is_below(uri: &str, ancestor: &str) -> bool {
    uri.strip_prefix(ancestor).is_some_and(|rest| rest.starts_with('/'))
}

/// The last segment of a normalized URI.
pub fn name(uri: &str) -> &str {
    uri.rsplit('/').next().unwrap_or(uri)
}
