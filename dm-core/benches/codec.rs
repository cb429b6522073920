//! The codec, in MB/s of wire bytes: decode and encode of a typical package 2 and 3 in XML and
//! WBXML, and the conversions the libwbxml peer harness (tests/bench) measures on the same bytes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dm_core::codec::{self, Encoding};

mod messages;
use messages::{RESULTS, package2, package3};

fn codec(c: &mut Criterion) {
    for (group, enc) in [("xml", Encoding::Xml), ("wbxml", Encoding::Wbxml)] {
        let mut g = c.benchmark_group(group);
        for (name, m) in [("package2", package2()), ("package3", package3(10))] {
            let bytes = codec::encode(&m, enc);
            g.throughput(Throughput::Bytes(bytes.len() as u64));
            g.bench_with_input(BenchmarkId::new("decode", name), &bytes, |b, bytes| {
                b.iter(|| codec::decode(bytes).unwrap())
            });
            g.bench_with_input(BenchmarkId::new("encode", name), &m, |b, m| b.iter(|| codec::encode(m, enc)));
            g.bench_with_input(BenchmarkId::new("encoded_len", name), &m, |b, m| b.iter(|| codec::encoded_len(m, enc)));
        }
        g.finish();
    }
}

/// WBXML to XML text and back, on package 3 with n Results: what libwbxml's converters do.
fn conversions(c: &mut Criterion) {
    let mut g = c.benchmark_group("convert");
    for n in RESULTS {
        let m = package3(n);
        let wbxml = codec::encode(&m, Encoding::Wbxml);
        let xml = codec::encode(&m, Encoding::Xml);
        g.throughput(Throughput::Bytes(wbxml.len() as u64));
        g.bench_with_input(BenchmarkId::new("wbxml2xml", n), &wbxml, |b, w| b.iter(|| codec::wbxml_to_xml(w).unwrap()));
        g.throughput(Throughput::Bytes(xml.len() as u64));
        g.bench_with_input(BenchmarkId::new("xml2wbxml", n), &xml, |b, x| b.iter(|| codec::xml_to_wbxml(x).unwrap()));
    }
    g.finish();
}

/// The peer for the XML decoder: quick-xml's plain reader (which the decoder falls back to for
/// what its own plain lexer leaves, and whose events that lexer yields) alone, walking the same
/// bytes without building anything; and, for reference, its namespace-aware reader.
fn quick_xml_events(c: &mut Criterion) {
    let mut g = c.benchmark_group("xml");
    for (name, m) in [("package2", package2()), ("package3", package3(10))] {
        let bytes = codec::encode(&m, Encoding::Xml);
        let text = std::str::from_utf8(&bytes).unwrap();
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("quick_xml_events_only", name), text, |b, text| {
            b.iter(|| {
                let mut reader = quick_xml::NsReader::from_str(text);
                let mut n = 0usize;
                while !matches!(reader.read_event().unwrap(), quick_xml::events::Event::Eof) {
                    n += 1;
                }
                n
            })
        });
        g.bench_with_input(BenchmarkId::new("quick_xml_plain_reader", name), text, |b, text| {
            b.iter(|| {
                let mut reader = quick_xml::Reader::from_str(text);
                let mut n = 0usize;
                while !matches!(reader.read_event().unwrap(), quick_xml::events::Event::Eof) {
                    n += 1;
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, codec, conversions, quick_xml_events);
criterion_main!(benches);
