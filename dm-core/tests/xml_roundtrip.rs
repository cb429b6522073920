//! Model → XML → model is the identity, compact and pretty; `encoded_len` is exact.
mod common;

use dm_core::codec::{self, Encoding};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn xml_round_trip(m in common::message()) {
        let bytes = codec::encode(&m, Encoding::Xml);
        prop_assert_eq!(codec::encoded_len(&m, Encoding::Xml), bytes.len());
        let back = codec::decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&bytes))))?;
        prop_assert_eq!(&back, &m);
        let pretty = codec::to_pretty_xml(&m);
        prop_assert_eq!(codec::decode(pretty.as_bytes()).unwrap(), m);
    }
}
