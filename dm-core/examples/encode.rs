//! `cargo run -p dm-core --example encode -- IN OUT [--xml]`: converts a message (XML or WBXML,
//! decoded leniently) to WBXML, or to XML with `--xml`.

use dm_core::codec::{self, DecodeOptions, Encoding};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [input, output] = files[..] else {
        eprintln!("usage: encode IN OUT [--xml]");
        std::process::exit(2);
    };
    let to = if args.iter().any(|a| a == "--xml") { Encoding::Xml } else { Encoding::Wbxml };
    let result = std::fs::read(input)
        .map_err(|e| e.to_string())
        .and_then(|b| codec::decode_with(&b, &DecodeOptions::lenient()).map_err(|e| e.to_string()))
        .and_then(|m| std::fs::write(output, codec::encode(&m, to)).map_err(|e| e.to_string()));
    if let Err(e) = result {
        eprintln!("{input}: {e}");
        std::process::exit(1);
    }
}
