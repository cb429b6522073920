//! `cargo run -p dm-core --example summary -- DIR...`: one line per message file found.

use dm_core::codec::{self, DecodeOptions};
use dm_core::model::Command;

fn summary(m: &dm_core::Message) -> String {
    let cmds: Vec<String> = m
        .commands
        .iter()
        .map(|c| match c {
            Command::Alert(a) => format!("Alert({})", a.data),
            Command::Status(s) => format!("Status({}:{})", s.cmd, s.data),
            c => format!("{}[{}]", c.name(), c.items().len()),
        })
        .collect();
    format!(
        "{} session {} msg {} {} -> {}: {}{}",
        m.header.ver_proto,
        m.header.session_id,
        m.header.msg_id,
        m.header.source.uri,
        m.header.target.uri,
        cmds.join(" "),
        if m.is_final { " Final" } else { "" }
    )
}

fn main() {
    let mut files = Vec::new();
    for dir in std::env::args().skip(1) {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for sub in rd.flatten() {
            let p = sub.path();
            let kids = if p.is_dir() {
                std::fs::read_dir(&p).map(|r| r.flatten().map(|e| e.path()).collect()).unwrap_or_default()
            } else {
                vec![p]
            };
            files.extend(kids.into_iter().filter(|f| f.extension().is_some_and(|e| e == "xml" || e == "wbxml")));
        }
    }
    files.sort();
    let (mut ok, mut failed) = (0, 0);
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        let strict = codec::decode(&bytes);
        let (mode, result) = match strict {
            Ok(m) => ("strict ", Ok(m)),
            Err(_) => ("lenient", codec::decode_with(&bytes, &DecodeOptions::lenient())),
        };
        let name = f.strip_prefix(std::env::args().nth(1).unwrap_or_default()).unwrap_or(f).display();
        match result {
            Ok(m) => {
                ok += 1;
                println!("{mode} {name}: {}", summary(&m));
            }
            Err(e) => {
                failed += 1;
                println!("refused {name}: {e}");
            }
        }
    }
    println!("{ok} decoded, {failed} refused");
}
