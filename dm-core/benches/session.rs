//! Whole sessions through the in-memory `Pair`: packages 1–4 with 20 commands, and a 1 MiB
//! object each way at MaxMsgSize 8 KiB beside the plain codec on the same bytes. Then the
//! memory a server session holds at rest and in a snapshot, counted by the allocator, written
//! to target/omadm-bench/memory.json for the report (tests/bench/report.py).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dm_core::codec::{self, Encoding};
use dm_core::model::*;
use dm_core::session::{ServerSession, State};

#[path = "../tests/common/pair.rs"]
mod pair;
mod workloads;
use pair::{Pair, server_config};
use workloads::{MIB, large_object_session, queue_twenty_commands, setup, whole_session};

/// Counts the bytes live on the heap, and the allocations made, while `COUNTING`: the timed
/// benches run with it off, so that they do not pay for the count's atomic additions.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicIsize = AtomicIsize::new(0);

fn count(bytes: isize, allocations: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_add(bytes, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(allocations, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize, 1);
        unsafe { System.alloc(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize, 1);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize), 0);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The same bytes through the codec alone: every message of that session decoded once and
/// encoded once.
fn plain_codec(trace: &[(Vec<u8>, Message)]) {
    for (bytes, message) in trace {
        codec::decode(bytes).unwrap();
        codec::encode(message, Encoding::Xml);
    }
}

fn sessions(c: &mut Criterion) {
    let mut g = c.benchmark_group("session");
    for (name, encoding) in [("whole_20_commands", Encoding::Xml), ("whole_20_commands_wbxml", Encoding::Wbxml)] {
        g.bench_function(name, |b| b.iter_batched(|| setup(encoding), whole_session, BatchSize::SmallInput));
    }
    let value = "0123456789abcdef".repeat(MIB / 16);
    g.throughput(Throughput::Bytes(2 * MIB as u64));
    g.sample_size(10);
    g.bench_function("large_object_1MiB_each_way_8KiB", |b| b.iter(|| large_object_session(&value, false)));
    let trace: Vec<(Vec<u8>, Message)> = large_object_session(&value, true)
        .trace
        .into_iter()
        .map(|(_, b)| (b.clone(), codec::decode(&b).unwrap()))
        .collect();
    g.bench_function("plain_codec_same_bytes", |b| b.iter(|| plain_codec(&trace)));
    g.finish();
}

/// Heap allocations (reallocations included) of the whole session in `encoding`, set-up apart.
fn allocations_per_session(encoding: Encoding) -> isize {
    let setup = setup(encoding);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let p = whole_session(setup);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    drop(p);
    allocations
}

/// A server session at rest between two messages (waiting for package 3 after sending 20
/// commands): its heap bytes plus the value itself, its configuration shared with the other
/// sessions of the server; and its snapshot.
fn memory(_: &mut Criterion) {
    COUNTING.store(true, Ordering::Relaxed);
    let shared = std::sync::Arc::new(server_config());
    let mut p = Pair::new();
    p.server = ServerSession::new(shared.clone());
    p.until_server_has_package();
    queue_twenty_commands(&mut p.server);
    let out = p.server.next_message().unwrap().unwrap();
    drop(out);
    assert_eq!(p.server.state(), State::Waiting);
    let snapshot = p.server.snapshot().len();
    let server = std::mem::replace(&mut p.server, ServerSession::new(server_config()));
    let before = LIVE.load(Ordering::Relaxed);
    drop(server);
    let at_rest = (before - LIVE.load(Ordering::Relaxed)) as usize + size_of::<ServerSession>();
    let (xml, wbxml) = (allocations_per_session(Encoding::Xml), allocations_per_session(Encoding::Wbxml));
    let json = format!(
        "{{\"server_at_rest_20_in_flight\": {at_rest}, \"snapshot_20_in_flight\": {snapshot}, \
         \"allocations_whole_session_xml\": {xml}, \"allocations_whole_session_wbxml\": {wbxml}}}\n"
    );
    println!("memory: {json}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/omadm-bench");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("memory.json"), json);
}

criterion_group!(benches, sessions, memory);
criterion_main!(benches);
