//! Every XML vector of ../shared/vectors: the valid ones decode strictly, the quirky ones fail
//! strictly at the right line and decode leniently, and whatever decodes re-encodes to an equal
//! message.
mod common;

use dm_core::codec::{self, DecodeOptions, Encoding};
use dm_core::error::{DecodeErrorKind, Error};

enum Expect {
    Strict,
    /// Strict decoding fails at this line; lenient decoding succeeds.
    Lenient(u32),
    /// Not a DM message at all.
    Refused(fn(&DecodeErrorKind) -> bool),
}
use Expect::*;

fn expectation(name: &str) -> Expect {
    match name {
        // A raw '&' in <Data>MAXDT=15&DR=1</Data>, as real servers send it.
        "motorola_dm12/testalertconfirm.xml" => Lenient(24),
        "motorola_dm12/testalertmultiplechoice.xml"
        | "motorola_dm12/testalertsinglechoice.xml"
        | "motorola_dm12/testalerttextinput.xml" => Lenient(22),
        // Decodings of WBXML, written without any namespace.
        n if n.ends_with(".decoded.xml") => Lenient(2),
        "libwbxml/syncml-012.xml" => Lenient(3),
        // Spec examples: "..." left in the body; typographic quotes around xmlns values.
        "oma_spec_examples/24_01_auth_basic_pkg1_no_cred.xml" => Lenient(12),
        "oma_spec_examples/24_04_auth_basic_pkg2_212.xml" => Lenient(19),
        "oma_spec_examples/24_02_auth_basic_pkg2_chal_407.xml" => Lenient(19),
        "oma_spec_examples/24_03_auth_basic_pkg1_retry_with_cred.xml" => Lenient(11),
        "oma_spec_examples/24_05_auth_md5_pkg1_with_cred.xml" => Lenient(14),
        "oma_spec_examples/24_06_auth_md5_pkg2_212_nextnonce.xml" => Lenient(20),
        // A DS message (Sync), which DM does not use.
        // (strictly it already fails on the missing namespace).
        "libwbxml/syncml_with_ddf-001.xml" => Refused(|k| {
            matches!(
                k,
                DecodeErrorKind::UnexpectedElement("Sync") | DecodeErrorKind::Namespace { element: "SyncML", .. }
            )
        }),
        // The transcription broke a comment.
        "oma_spec_examples/51_01_security_md5_cred_synchdr.xml" => Refused(|k| matches!(k, DecodeErrorKind::Syntax(_))),
        _ => Strict,
    }
}

fn reencodes(name: &str, m: &dm_core::Message) {
    for enc in [Encoding::Xml, Encoding::Wbxml] {
        let bytes = codec::encode(m, enc);
        assert_eq!(codec::encoded_len(m, enc), bytes.len(), "{name}");
        assert_eq!(&codec::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}")), m, "{name}");
    }
}

#[test]
fn xml_vectors_decode_as_expected_and_reencode_equal() {
    let files = common::vectors_with_ext("xml");
    assert!(files.len() >= 30, "vectors missing: {}", files.len());
    for (name, bytes) in &files {
        let strict = codec::decode(bytes);
        match expectation(name) {
            Strict => reencodes(name, &strict.unwrap_or_else(|e| panic!("{name}: {e}"))),
            Lenient(line) => {
                match strict {
                    Err(Error::Decode(e)) => assert_eq!(e.site.line, line, "{name}: {e}"),
                    other => panic!("{name}: strict decoding should fail, got {other:?}"),
                }
                let m = codec::decode_with(bytes, &DecodeOptions::lenient()).unwrap_or_else(|e| panic!("{name}: {e}"));
                reencodes(name, &m);
            }
            Refused(is) => {
                for r in [strict, codec::decode_with(bytes, &DecodeOptions::lenient())] {
                    match r {
                        Err(Error::Decode(e)) => assert!(is(&e.kind), "{name}: {e}"),
                        other => panic!("{name}: should be refused, got {other:?}"),
                    }
                }
            }
        }
    }
}

#[test]
fn spec_two_step_results_keep_their_values() {
    let m = codec::decode(&common::vector("oma_spec_examples/26_07_twostep_pkg3_client_results.xml")).unwrap();
    let results: Vec<_> = m.commands.iter().filter(|c| c.name() == "Results").collect();
    assert!(!results.is_empty());
    assert!(results[0].items().iter().all(|i| i.source.is_some()));
}
