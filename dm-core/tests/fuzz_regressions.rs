//! What the fuzzers found: each input is refused with a DecodeError or round-trips.
use dm_core::codec;

fn round_trips_or_is_refused(name: &str) {
    let path = format!("{}/tests/fuzz_regressions/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(path).unwrap();
    if let (Ok(m), Some(enc)) = (codec::decode(&data), codec::detect(&data)) {
        assert_eq!(codec::decode(&codec::encode(&m, enc)).unwrap(), m, "{name}");
    }
}

#[test]
fn syncml_elements_in_data_are_refused() {
    let data = std::fs::read(format!(
        "{}/tests/fuzz_regressions/wbxml_syncml_elements_in_data.bin",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let e = codec::decode(&data).unwrap_err();
    assert!(e.to_string().contains("embedded in Data"), "{e}");
    round_trips_or_is_refused("wbxml_syncml_elements_in_data.bin");
}

#[test]
fn binary_data_round_trips_in_wbxml() {
    round_trips_or_is_refused("wbxml_binary_data_reencoded_as_xml.bin");
}
