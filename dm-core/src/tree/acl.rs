//! Access control lists (TND §7.7): `Add=srv1+srv2&Get=*&Replace=srv1`. An empty ACL inherits
//! the nearest non-empty ancestor's; `*` grants every server.

use crate::model::StatusCode;

/// The commands an ACL entry can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclCommand {
    Add,
    Delete,
    Exec,
    Get,
    Replace,
}

impl AclCommand {
    pub fn name(self) -> &'static str {
        match self {
            AclCommand::Add => "Add",
            AclCommand::Delete => "Delete",
            AclCommand::Exec => "Exec",
            AclCommand::Get => "Get",
            AclCommand::Replace => "Replace",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        [AclCommand::Add, AclCommand::Delete, AclCommand::Exec, AclCommand::Get, AclCommand::Replace]
            .into_iter()
            .find(|c| c.name() == s)
    }
}

/// Checks the grammar; a malformed ACL given by a server is refused with 400.
pub fn validate(acl: &str) -> Result<(), StatusCode> {
    if acl.is_empty() {
        return Ok(());
    }
    for entry in acl.split('&') {
        let (cmd, servers) = entry.split_once('=').ok_or(StatusCode::BAD_REQUEST)?;
        if AclCommand::from_name(cmd).is_none() || servers.split('+').any(str::is_empty) {
            return Err(StatusCode::BAD_REQUEST);
        }
    }
    Ok(())
}

/// True when `acl` (already the effective, non-empty one) grants `cmd` to `server`.
pub fn allows(acl: &str, cmd: AclCommand, server: &str) -> bool {
    acl.split('&')
        .filter_map(|e| e.split_once('='))
        .any(|(c, servers)| c == cmd.name() && servers.split('+').any(|s| s == "*" || s == server))
}

/// The ACL a server gets on an interior node it creates without Replace rights on the parent.
pub fn creator(server: &str) -> String {
    format!("Add={server}&Delete={server}&Replace={server}")
}
