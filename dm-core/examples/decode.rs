//! `cargo run -p dm-core --example decode -- FILE [--lenient]`: prints the message as pretty XML,
//! or the error.

use dm_core::codec::{self, DecodeOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: decode FILE [--lenient]");
        std::process::exit(2);
    };
    let options =
        if args.iter().any(|a| a == "--lenient") { DecodeOptions::lenient() } else { DecodeOptions::default() };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    match codec::decode_with(&bytes, &options) {
        Ok(message) => print!("{}", codec::to_pretty_xml(&message)),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
