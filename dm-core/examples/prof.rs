//! A workload for profiling (`valgrind --tool=callgrind`): `prof FILE N decode|w2x|x2w` runs the
//! codec on FILE N times; `prof - N session|large` runs the whole 20-command session or the 1 MiB large object
//! session of the benches.

#[path = "../tests/common/pair.rs"]
mod pair;

use dm_core::model::Data;

fn session() -> usize {
    let mut p = pair::Pair::new();
    p.until_server_has_package();
    for i in 0..10 {
        p.server.get("./DevInfo/Man").unwrap();
        p.server.replace(&format!("./Vendor/N{i}"), Data::Text("value".into()), None, None).unwrap();
    }
    p.drive();
    p.trace.len()
}

fn large_object() -> usize {
    let mut cc = pair::client_config();
    cc.wire.max_msg_size = Some(8 * 1024);
    cc.wire.limits.max_object_size = 2 << 20;
    let mut sc = pair::server_config();
    sc.wire.max_msg_size = Some(8 * 1024);
    sc.wire.limits.max_object_size = 2 << 20;
    let mut p = pair::Pair::with(cc, pair::device_tree(), sc);
    p.until_server_has_package();
    p.server.replace("./Vendor/Big", Data::Text("0123456789abcdef".repeat(1 << 16)), None, None).unwrap();
    p.exchange();
    p.server.get("./Vendor/Big").unwrap();
    p.drive();
    p.trace.len()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = if args[1] == "-" { Vec::new() } else { std::fs::read(&args[1]).unwrap() };
    let n: usize = args[2].parse().unwrap();
    let mut total = 0;
    for _ in 0..n {
        total += match args.get(3).map_or("decode", String::as_str) {
            "decode" => dm_core::codec::decode(&bytes).unwrap().commands.len(),
            "w2x" => dm_core::codec::wbxml_to_xml(&bytes).unwrap().len(),
            "x2w" => dm_core::codec::xml_to_wbxml(&bytes).unwrap().len(),
            "session" => session(),
            "large" => large_object(),
            other => panic!("unknown workload {other}"),
        };
    }
    println!("{total}");
}
