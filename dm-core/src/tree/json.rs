//! A MemoryTree as JSON: `{"./DevInfo/Man": "Acme", "./Vendor/Level": {"value": "5", "format":
//! "int", "acl": "Get=*"}, "./Vendor/Empty": {"format": "node"}}`. A string is a `chr`
//! `text/plain` leaf; an object may carry `value` (base64 for format `bin`), `format`, `type`,
//! `acl`, `title`, `permanent` and `access` (the commands the node supports). Interior nodes
//! that only hold children are implied by their children's URIs.

use base64::Engine;
use serde_json::{Map, Value};

use super::memory::{Access, Entry, MemoryTree};
use super::{Leaf, property_value};
use crate::error::UsageError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn err(uri: &str, what: impl std::fmt::Display) -> UsageError {
    UsageError(format!("tree JSON, node {uri:?}: {what}"))
}

impl MemoryTree {
    /// Builds a tree from its JSON form (see the module doc).
    pub fn from_json(text: &str) -> Result<MemoryTree, UsageError> {
        let mut tree = MemoryTree::new();
        tree.extend_from_json(text)?;
        Ok(tree)
    }

    /// Adds (or sets) the nodes of a JSON form (see the module doc) to this tree.
    pub fn extend_from_json(&mut self, text: &str) -> Result<(), UsageError> {
        let doc: Map<String, Value> = serde_json::from_str(text).map_err(|e| UsageError(format!("tree JSON: {e}")))?;
        doc.iter().try_for_each(|(uri, v)| self.load_node(uri, v))
    }

    fn load_node(&mut self, uri: &str, v: &Value) -> Result<(), UsageError> {
        let code = |c: crate::model::StatusCode| err(uri, format!("status {c}"));
        let obj = match v {
            Value::String(s) => return self.set(uri, s).map_err(code),
            Value::Object(o) => o,
            other => return Err(err(uri, format!("expected a string or an object, got {other}"))),
        };
        let text = |k: &str| -> Result<Option<&str>, UsageError> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(err(uri, format!("{k} must be a string, got {other}"))),
            }
        };
        let format = text("format")?.unwrap_or("chr");
        if format == "node" {
            self.set_interior(uri, text("type")?).map_err(code)?;
        } else {
            let value = text("value")?.unwrap_or_default();
            let data = match format {
                "bin" => B64.decode(value).map_err(|e| err(uri, e))?,
                _ => value.as_bytes().to_vec(),
            };
            let type_ = property_value(text("type")?.unwrap_or("text/plain"));
            self.set_leaf(uri, Leaf { format: property_value(format), type_, data }).map_err(code)?;
        }
        if let Some(acl) = text("acl")? {
            self.set_acl(uri, acl).map_err(code)?;
        }
        if let Some(title) = text("title")? {
            self.set_title(uri, title).map_err(code)?;
        }
        if let Some(p) = obj.get("permanent") {
            self.set_permanent(uri, p.as_bool().ok_or_else(|| err(uri, "permanent must be true or false"))?)
                .map_err(code)?;
        }
        if let Some(list) = obj.get("access") {
            let names = list.as_array().ok_or_else(|| err(uri, "access must be a list"))?;
            let mut access = Access::ALL;
            for (name, bit) in Access::NAMED {
                if !names.iter().any(|n| n == name) {
                    access = access.without(bit);
                }
            }
            self.set_access(uri, access).map_err(code)?;
        }
        Ok(())
    }

    /// The JSON form, pretty-printed; `from_json` of it gives an equal tree (TStamp and VerNo,
    /// which the tree keeps itself, are not saved).
    pub fn to_json(&self) -> String {
        let fresh = MemoryTree::new();
        let mut doc = Map::new();
        for (uri, e) in self.entries() {
            let implied = e.interior && self.children(&uri).next().is_some();
            if let Some(v) = entry_json(e, fresh.entry(&uri), implied) {
                doc.insert(uri, v);
            }
        }
        serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default()
    }

    /// Reads a tree from a file of its JSON form, or of a TNDS document (one that starts with
    /// `<`: its nodes at their `Path`, else below the root).
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<MemoryTree, UsageError> {
        let path = path.as_ref();
        let in_file = |e: UsageError| UsageError(format!("{}: {}", path.display(), e.0));
        let text = std::fs::read_to_string(path).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
        let text = text.trim_start_matches('\u{feff}');
        if !text.trim_start().starts_with('<') {
            return MemoryTree::from_json(text).map_err(in_file);
        }
        let mut tree = MemoryTree::new();
        tree.extend_from_tnds(text, ".").map_err(in_file)?;
        Ok(tree)
    }

    /// Writes the tree as JSON, as `load` reads it.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), UsageError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()).map_err(|e| UsageError(format!("{}: {e}", path.display())))
    }

    /// Tree equality as JSON sees it: nodes and their properties, not TStamp or VerNo.
    pub fn same_content(&self, other: &MemoryTree) -> bool {
        self.to_json() == other.to_json()
    }
}

/// `None` for what a fresh tree would imply anyway; `implied`: an interior node that its
/// children's URIs create.
fn entry_json(e: &Entry, default: Option<&Entry>, implied: bool) -> Option<Value> {
    let mut o = Map::new();
    let plain_extras = e.acl.is_empty() && e.title.is_none() && !e.permanent && e.access == Access::ALL;
    if let Some(d) = default {
        if e.acl == d.acl && e.title == d.title && e.access == d.access && e.leaf == d.leaf {
            return None;
        }
    }
    if e.interior {
        if plain_extras && e.leaf.type_.is_empty() && implied {
            return None;
        }
        o.insert("format".into(), "node".into());
    } else {
        let value = match &*e.leaf.format {
            "bin" => B64.encode(&e.leaf.data),
            _ => String::from_utf8_lossy(&e.leaf.data).into_owned(),
        };
        if plain_extras && e.leaf.format == "chr" && e.leaf.type_ == "text/plain" {
            return Some(Value::String(value));
        }
        o.insert("value".into(), value.into());
        o.insert("format".into(), e.leaf.format.clone().into());
    }
    if !e.leaf.type_.is_empty() {
        o.insert("type".into(), e.leaf.type_.clone().into());
    }
    if !e.acl.is_empty() {
        o.insert("acl".into(), e.acl.clone().into());
    }
    if let Some(t) = &e.title {
        o.insert("title".into(), t.clone().into());
    }
    if e.permanent && default.is_none() {
        o.insert("permanent".into(), true.into());
    }
    if e.access != Access::ALL {
        let names: Vec<Value> =
            Access::NAMED.iter().filter(|(_, b)| e.access.contains(*b)).map(|(n, _)| (*n).into()).collect();
        o.insert("access".into(), names.into());
    }
    Some(Value::Object(o))
}
