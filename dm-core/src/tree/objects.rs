//! Builders for the standard management objects (facts §7): DevInfo, DevDetail and a DMAcc
//! account in the DM 1.2 layout. Each installs its nodes into a [`MemoryTree`] on the device's
//! side (no ACL check), with the MO identifier as the interior node's Type.

use super::memory::{Access, MemoryTree};
use crate::model::StatusCode;

/// `./DevInfo` (urn:oma:mo:oma-dm-devinfo:1.0): what package 1 sends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevInfo {
    /// A URN such as `IMEI:493005100592800`.
    pub dev_id: String,
    /// `Man`: the manufacturer.
    pub man: String,
    /// `Mod`: the model.
    pub model: String,
    /// `DmV`: the DM client's version.
    pub dm_v: String,
    /// RFC 1766, e.g. `en-US`.
    pub lang: String,
}

impl DevInfo {
    /// The management object's identifier, the Type of its interior node.
    pub const URN: &'static str = "urn:oma:mo:oma-dm-devinfo:1.0";

    /// The leaves in the order package 1 lists them.
    pub fn leaves(&self) -> [(&'static str, &str); 5] {
        [
            ("./DevInfo/DevId", &self.dev_id),
            ("./DevInfo/Man", &self.man),
            ("./DevInfo/Mod", &self.model),
            ("./DevInfo/DmV", &self.dm_v),
            ("./DevInfo/Lang", &self.lang),
        ]
    }

    /// Creates the object's nodes in `tree`, as the device holds them.
    pub fn install(&self, tree: &mut MemoryTree) -> Result<(), StatusCode> {
        tree.set_interior("./DevInfo", Some(Self::URN))?;
        tree.set_permanent("./DevInfo", true)?;
        tree.set_acl("./DevInfo", "Get=*")?;
        for (uri, v) in self.leaves() {
            tree.set(uri, v)?;
            tree.set_permanent(uri, true)?;
        }
        tree.set_interior("./DevInfo/Ext", None)
    }
}

/// `./DevDetail` (urn:oma:mo:oma-dm-devdetail:1.0). The URI limits bound what a server may
/// address (414); 0 means unlimited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevDetail {
    /// `DevTyp`: the device type, e.g. `phone`.
    pub dev_typ: String,
    /// `OEM`: the original equipment manufacturer.
    pub oem: String,
    /// `FwV`: the firmware version.
    pub fw_v: String,
    /// `SwV`: the software version.
    pub sw_v: String,
    /// `HwV`: the hardware version.
    pub hw_v: String,
    /// Large objects supported (`./DevDetail/LrgObj`).
    pub lrg_obj: bool,
    /// `URI/MaxDepth`: the most segments a URI has.
    pub max_depth: u16,
    /// `URI/MaxTotLen`: the most characters a URI has.
    pub max_tot_len: u16,
    /// `URI/MaxSegLen`: the most characters a segment has.
    pub max_seg_len: u16,
}

impl Default for DevDetail {
    fn default() -> Self {
        DevDetail {
            dev_typ: String::new(),
            oem: String::new(),
            fw_v: String::new(),
            sw_v: String::new(),
            hw_v: String::new(),
            lrg_obj: true,
            max_depth: 0,
            max_tot_len: 0,
            max_seg_len: 0,
        }
    }
}

impl DevDetail {
    /// The management object's identifier, the Type of its interior node.
    pub const URN: &'static str = "urn:oma:mo:oma-dm-devdetail:1.0";

    /// Creates the object's nodes in `tree`, as the device holds them.
    pub fn install(&self, tree: &mut MemoryTree) -> Result<(), StatusCode> {
        tree.set_interior("./DevDetail", Some(Self::URN))?;
        tree.set_permanent("./DevDetail", true)?;
        tree.set_acl("./DevDetail", "Get=*")?;
        for (name, v) in [
            ("DevTyp", self.dev_typ.as_str()),
            ("OEM", &self.oem),
            ("FwV", &self.fw_v),
            ("SwV", &self.sw_v),
            ("HwV", &self.hw_v),
            ("LrgObj", if self.lrg_obj { "true" } else { "false" }),
        ] {
            tree.set(&format!("./DevDetail/{name}"), v)?;
        }
        tree.set_leaf("./DevDetail/LrgObj", bool_leaf(self.lrg_obj))?;
        for (name, v) in
            [("MaxDepth", self.max_depth), ("MaxTotLen", self.max_tot_len), ("MaxSegLen", self.max_seg_len)]
        {
            let leaf =
                super::Leaf { format: "int".into(), type_: "text/plain".into(), data: v.to_string().into_bytes() };
            tree.set_leaf(&format!("./DevDetail/URI/{name}"), leaf)?;
        }
        Ok(())
    }
}

fn bool_leaf(v: bool) -> super::Leaf {
    super::Leaf {
        format: "bool".into(),
        type_: "text/plain".into(),
        data: if v { b"true".to_vec() } else { b"false".to_vec() },
    }
}

/// One `AppAuth/<X>` entry: credentials for one level (`CLCRED`, `SRVCRED`, ...).
#[derive(Clone, PartialEq, Eq)]
pub struct AppAuth {
    /// `AAuthLevel`: `CLCRED` (the client's), `SRVCRED` (the server's), ...
    pub level: String,
    /// `BASIC`, `DIGEST`, `HMAC`, ...
    pub auth_type: String,
    /// `AAuthName`: the user name.
    pub name: String,
    /// `AAuthSecret`: the password.
    pub secret: String,
    /// `AAuthData`: the nonce.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for AppAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppAuth")
            .field("level", &self.level)
            .field("auth_type", &self.auth_type)
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .field("data", &"<redacted>")
            .finish()
    }
}

/// A DMAcc account (urn:oma:mo:oma-dm-dmacc:1.0) under `./DMAcc/<node>`. The secrets
/// (AAuthSecret, AAuthData) cannot be read by any server: Get on them gives 405.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DmAcc {
    /// The `<X>` node name.
    pub node: String,
    /// `ServerID`.
    pub server_id: String,
    /// `Name`: a name to show.
    pub name: String,
    /// `AppAddr/<X>/Addr`: the server's address.
    pub addr: String,
    /// `URI`, `IPv4` or `IPv6`.
    pub addr_type: String,
    /// `AppAddr/<X>/Port/<X>/PortNbr`, if not the scheme's.
    pub port: Option<u16>,
    /// `AAuthPref`: the authentication type the server prefers.
    pub auth_pref: Option<String>,
    /// `AppAuth/<X>`: the credentials, one entry per level.
    pub auth: Vec<AppAuth>,
}

impl DmAcc {
    /// The management object's identifier, the Type of its interior node.
    pub const URN: &'static str = "urn:oma:mo:oma-dm-dmacc:1.0";

    /// Creates the object's nodes in `tree`, as the device holds them. A node name that is not
    /// one URI segment is 400.
    pub fn install(&self, tree: &mut MemoryTree) -> Result<(), StatusCode> {
        if !super::uri::is_segment(self.node.as_bytes()) {
            return Err(StatusCode::BAD_REQUEST);
        }
        let base = format!("./DMAcc/{}", self.node);
        tree.set_interior(&base, Some(Self::URN))?;
        // Only the account's own server may read or change it.
        tree.set_acl(&base, &format!("Get={0}&Replace={0}&Delete={0}", self.server_id))?;
        tree.set(&format!("{base}/AppID"), "w7")?;
        tree.set(&format!("{base}/ServerID"), &self.server_id)?;
        tree.set(&format!("{base}/Name"), &self.name)?;
        tree.set(&format!("{base}/AppAddr/1/Addr"), &self.addr)?;
        let addr_type = if self.addr_type.is_empty() { "URI" } else { &self.addr_type };
        tree.set(&format!("{base}/AppAddr/1/AddrType"), addr_type)?;
        if let Some(p) = self.port {
            tree.set(&format!("{base}/AppAddr/1/Port/1/PortNbr"), &p.to_string())?;
        }
        if let Some(p) = &self.auth_pref {
            tree.set(&format!("{base}/AAuthPref"), p)?;
        }
        for (i, a) in self.auth.iter().enumerate() {
            let at = format!("{base}/AppAuth/{}", i + 1);
            tree.set(&format!("{at}/AAuthLevel"), &a.level)?;
            tree.set(&format!("{at}/AAuthType"), &a.auth_type)?;
            tree.set(&format!("{at}/AAuthName"), &a.name)?;
            for (leaf, data, format) in
                [("AAuthSecret", a.secret.as_bytes(), "chr"), ("AAuthData", a.data.as_slice(), "bin")]
            {
                let uri = format!("{at}/{leaf}");
                let value = super::Leaf { format: format.into(), type_: "text/plain".into(), data: data.to_vec() };
                tree.set_leaf(&uri, value)?;
                tree.set_access(&uri, Access::ALL.without(Access::GET).without(Access::COPY))?;
            }
        }
        Ok(())
    }
}
