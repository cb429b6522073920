//! The messages every benchmark (and the libwbxml peer harness) measures: a package 2 of 20
//! server commands, and packages 3 of n Gets answered (a status each and n Results).
#![allow(dead_code)]

use dm_core::model::*;

fn header(msg_id: u32) -> Header {
    Header::new(
        ProtocolVersion::Dm12,
        "4F2A",
        msg_id,
        Location::new("IMEI:493005100592800"),
        Location::new("https://dm.example.com/manage"),
    )
}

fn item(uri: &str, data: &str) -> Item {
    Item {
        target: Some(Location::new(uri)),
        meta: Some(Box::new(Meta::typed("chr", "text/plain"))),
        data: Some(Data::Text(data.into())),
        ..Item::default()
    }
}

fn status(cmd_id: u32, cmd_ref: u32, cmd: &str, code: u16) -> Command {
    Command::Status(Status {
        cmd_id,
        msg_ref: Some(1),
        cmd_ref: Some(cmd_ref),
        cmd: Status::cmd_name(cmd),
        target_refs: vec![],
        source_refs: vec![],
        cred: None,
        chal: None,
        data: StatusCode(code),
        items: vec![],
    })
}

/// Package 2: SyncHdr/Alert statuses, then 20 Gets and Replaces.
pub fn package2() -> Message {
    let mut commands = vec![status(1, 0, "SyncHdr", 212), status(2, 1, "Alert", 200)];
    for i in 0..20u32 {
        let uri = format!("./Vendor/Acme/Settings/Node{i}");
        let cmd = ItemCommand {
            cmd_id: 3 + i,
            items: vec![item(&uri, "value-of-the-node-0123456789")],
            ..ItemCommand::default()
        };
        commands.push(if i % 2 == 0 { Command::Get(cmd) } else { Command::Replace(cmd) });
    }
    Message { header: header(1), commands, is_final: true }
}

/// Package 3 answering n Gets: the SyncHdr status, a status per Get, and n Results.
pub fn package3(n: u32) -> Message {
    let mut commands = vec![status(1, 0, "SyncHdr", 200)];
    for i in 0..n {
        commands.push(status(2 + i, 3 + i, "Get", 200));
    }
    for i in 0..n {
        let uri = format!("./Vendor/Acme/Settings/Node{i}");
        let mut it = item(&uri, "value-of-the-node-0123456789");
        it.source = it.target.take();
        commands.push(Command::Results(Results {
            cmd_id: 2 + n + i,
            msg_ref: Some(1),
            cmd_ref: 3 + i,
            items: vec![it],
            ..Results::default()
        }));
    }
    Message { header: header(2), commands, is_final: true }
}

/// The package-3 sizes the peer comparison runs on.
pub const RESULTS: [u32; 3] = [4, 40, 400];
