//! Writes the messages the benches measure, for the libwbxml peer harness (tests/bench):
//! `pkg3_<n>.wbxml` and `pkg3_<n>.xml` into the directory given.

#[path = "../benches/messages.rs"]
mod messages;

use dm_core::codec::{self, Encoding};

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir)?;
    for n in messages::RESULTS {
        let m = messages::package3(n);
        std::fs::write(dir.join(format!("pkg3_{n}.wbxml")), codec::encode(&m, Encoding::Wbxml))?;
        std::fs::write(dir.join(format!("pkg3_{n}.xml")), codec::encode(&m, Encoding::Xml))?;
    }
    Ok(())
}
