//! Decode and encode of a typical package 2 (server commands) and package 3 (client statuses and
//! results), in MB/s of wire bytes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dm_core::codec::{self, Encoding};
use dm_core::model::*;

fn header(msg_id: u32) -> Header {
    Header::new(
        ProtocolVersion::Dm12,
        "4F2A",
        msg_id,
        Location::new("IMEI:493005100592800"),
        Location::new("https://dm.example.com/manage"),
    )
}

fn item(uri: &str, data: &str) -> Item {
    Item {
        target: Some(Location::new(uri)),
        meta: Some(Meta::typed("chr", "text/plain")),
        data: Some(Data::Text(data.into())),
        ..Item::default()
    }
}

/// Package 2: SyncHdr/Alert statuses, then 20 Gets and Replaces.
pub fn package2() -> Message {
    let mut commands = vec![status(1, 0, "SyncHdr", 212), status(2, 1, "Alert", 200)];
    for i in 0..20u32 {
        let uri = format!("./Vendor/Acme/Settings/Node{i}");
        let cmd = ItemCommand {
            cmd_id: 3 + i,
            items: vec![item(&uri, "value-of-the-node-0123456789")],
            ..ItemCommand::default()
        };
        commands.push(if i % 2 == 0 { Command::Get(cmd) } else { Command::Replace(cmd) });
    }
    Message { header: header(1), commands, is_final: true }
}

fn status(cmd_id: u32, cmd_ref: u32, cmd: &str, code: u16) -> Command {
    Command::Status(Status {
        cmd_id,
        msg_ref: Some(1),
        cmd_ref: Some(cmd_ref),
        cmd: cmd.into(),
        target_refs: vec![],
        source_refs: vec![],
        cred: None,
        chal: None,
        data: StatusCode(code),
        items: vec![],
    })
}

/// Package 3: a status per command and 10 Results.
pub fn package3() -> Message {
    let mut commands = vec![status(1, 0, "SyncHdr", 200)];
    for i in 0..20u32 {
        commands.push(status(2 + i, 3 + i, if i % 2 == 0 { "Get" } else { "Replace" }, 200));
    }
    for i in 0..10u32 {
        let uri = format!("./Vendor/Acme/Settings/Node{}", 2 * i);
        let mut it = item(&uri, "value-of-the-node-0123456789");
        it.source = it.target.take();
        commands.push(Command::Results(Results {
            cmd_id: 22 + i,
            msg_ref: Some(1),
            cmd_ref: 3 + 2 * i,
            items: vec![it],
            ..Results::default()
        }));
    }
    Message { header: header(2), commands, is_final: true }
}

fn bench(c: &mut Criterion) {
    for (group, enc) in [("xml", Encoding::Xml), ("wbxml", Encoding::Wbxml)] {
        let mut g = c.benchmark_group(group);
        for (name, m) in [("package2", package2()), ("package3", package3())] {
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

criterion_group!(benches, bench);
criterion_main!(benches);
