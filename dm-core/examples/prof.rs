//! A workload for profiling (`valgrind --tool=callgrind`): `prof FILE N
//! decode|encode|w2x|x2w|reader|nsreader` runs the codec (or quick-xml's readers alone) on FILE N
//! times; `prof - N session|session_wbxml|setup|large|large_codec` runs the whole 20-command
//! session (XML or WBXML) from its set-up, that set-up alone (configurations and the device's
//! tree, built and dropped), the 1 MiB large-object session of the benches, or the codec alone
//! on that session's messages (recorded once, before the first time); `session_decode` and
//! `session_wbxml_decode` decode the whole session's messages (recorded once) and drop them.

#[path = "../tests/common/pair.rs"]
mod pair;
#[path = "../benches/workloads.rs"]
mod workloads;

use dm_core::codec::Encoding;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = if args[1] == "-" { Vec::new() } else { std::fs::read(&args[1]).unwrap() };
    let n: usize = args[2].parse().unwrap();
    let mut total = 0;
    let mut large_trace: Option<Vec<(dm_core::Message, Vec<u8>)>> = None;
    let mut session_trace: Option<Vec<Vec<u8>>> = None;
    for _ in 0..n {
        total += match args.get(3).map_or("decode", String::as_str) {
            "decode" => dm_core::codec::decode(&bytes).unwrap().commands.len(),
            "reader" => {
                let mut reader = quick_xml::Reader::from_reader(&bytes[..]);
                let mut n = 0;
                while !matches!(reader.read_event().unwrap(), quick_xml::events::Event::Eof) {
                    n += 1;
                }
                n
            }
            "nsreader" => {
                let mut reader = quick_xml::NsReader::from_reader(&bytes[..]);
                let mut n = 0;
                while !matches!(reader.read_event().unwrap(), quick_xml::events::Event::Eof) {
                    n += 1;
                }
                n
            }
            "encode" => {
                let m = dm_core::codec::decode(&bytes).unwrap();
                let enc = dm_core::codec::detect(&bytes).unwrap();
                dm_core::codec::encode(&m, enc).len()
            }
            "w2x" => dm_core::codec::wbxml_to_xml(&bytes).unwrap().len(),
            "x2w" => dm_core::codec::xml_to_wbxml(&bytes).unwrap().len(),
            "session" => workloads::whole_session(workloads::setup(Encoding::Xml)).server_events.len(),
            "session_wbxml" => workloads::whole_session(workloads::setup(Encoding::Wbxml)).server_events.len(),
            "setup" => {
                drop(std::hint::black_box(workloads::setup(Encoding::Xml)));
                1
            }
            "large" => workloads::large_object_session(&"0123456789abcdef".repeat(1 << 16), false).server_events.len(),
            "large_codec" => {
                let trace = large_trace.get_or_insert_with(|| {
                    let p = workloads::large_object_session(&"0123456789abcdef".repeat(1 << 16), true);
                    p.trace.into_iter().map(|(_, b)| (dm_core::codec::decode(&b).unwrap(), b)).collect()
                });
                let mut n = 0;
                for (m, b) in trace.iter() {
                    n += dm_core::codec::decode(b).unwrap().commands.len();
                    n += dm_core::codec::encode(m, dm_core::codec::Encoding::Xml).len();
                }
                n
            }
            "session_decode" | "session_wbxml_decode" => {
                let encoding = if args[3] == "session_decode" { Encoding::Xml } else { Encoding::Wbxml };
                let trace = session_trace.get_or_insert_with(|| workloads::session_messages(encoding));
                trace.iter().map(|body| dm_core::codec::decode(body).unwrap().commands.len()).sum()
            }
            other => panic!("unknown workload {other}"),
        };
    }
    println!("{total}");
}
