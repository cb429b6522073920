fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).unwrap();
    let n: usize = args[2].parse().unwrap();
    let mode = args.get(3).map(|s| s.as_str()).unwrap_or("decode");
    let mut total = 0;
    for _ in 0..n {
        match mode {
            "decode" => total += dm_core::codec::decode(&bytes).unwrap().commands.len(),
            "w2x" => total += dm_core::codec::wbxml_to_xml(&bytes).unwrap().len(),
            "x2w" => total += dm_core::codec::xml_to_wbxml(&bytes).unwrap().len(),
            _ => {}
        }
    }
    println!("{total}");
}
