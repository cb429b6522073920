//! Access control lists (TND §7.7): `Add=srv1+srv2&Get=*&Replace=srv1`. An empty ACL inherits
//! the nearest non-empty ancestor's; `*` grants every server.

use crate::model::StatusCode;

/// The commands an ACL entry can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclCommand {
    /// Add.
    Add,
    /// Delete.
    Delete,
    /// Exec.
    Exec,
    /// Get.
    Get,
    /// Replace.
    Replace,
}

impl AclCommand {
    /// The command name as an ACL writes it (`Add=*&Get=*`).
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
    let (cmd, server) = (cmd.name().as_bytes(), server.as_bytes());
    acl.as_bytes().split(|&b| b == b'&').any(|entry| {
        let servers = entry.strip_prefix(cmd).and_then(|rest| rest.strip_prefix(b"="));
        servers.is_some_and(|s| s.split(|&b| b == b'+').any(|s| s == b"*" || s == server))
    })
}

/// The ACL a server gets on an interior node it creates without Replace rights on the parent.
pub fn creator(server: &str) -> String {
    format!("Add={server}&Delete={server}&Replace={server}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_or_command_matches_only_whole() {
        let acl = "Get=srv1+srv22&Replace=*";
        assert!(allows(acl, AclCommand::Get, "srv22"));
        assert!(!allows(acl, AclCommand::Get, "srv2"), "a prefix of a listed server");
        assert!(!allows(acl, AclCommand::Get, "srv1x"), "a listed server as prefix");
        assert!(allows(acl, AclCommand::Replace, "anyone"));
        assert!(!allows(acl, AclCommand::Add, "srv1"));
        assert!(!allows("Gets=*", AclCommand::Get, "srv1"), "a command name as prefix");
    }
}
