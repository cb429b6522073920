//! Writes the messages the benches measure, for the libwbxml peer harness (tests/bench):
//! `package2`, `package3` and `pkg3_<n>`, each as `.wbxml` and `.xml`, into the directory given.

#[path = "../benches/messages.rs"]
mod messages;

use dm_core::codec::{self, Encoding};

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir)?;
    let named = [("package2".to_string(), messages::package2()), ("package3".to_string(), messages::package3(10))];
    let sized = messages::RESULTS.map(|n| (format!("pkg3_{n}"), messages::package3(n)));
    for (name, m) in named.into_iter().chain(sized) {
        std::fs::write(dir.join(format!("{name}.wbxml")), codec::encode(&m, Encoding::Wbxml))?;
        std::fs::write(dir.join(format!("{name}.xml")), codec::encode(&m, Encoding::Xml))?;
    }
    Ok(())
}
