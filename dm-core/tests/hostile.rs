//! The hostile-input corpus (tests/hostile/make_corpus.py): each case gives its typed error,
//! and the session is still usable after it. The same corpus runs through the C ABI and Python.
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::pair::{Pair, client_config, device_tree, server_config};
use dm_core::Error;
use dm_core::codec;
use dm_core::session::{ClientSession, ServerSession, State};

/// Counts the heap in use and its peak, to show each hostile case is handled in bounded memory,
/// and every byte allocated, to show it is not copied over and over either.
struct Peak;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        TOTAL.fetch_add(layout.size(), Ordering::Relaxed);
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Peak = Peak;

/// The heap a command may take while its message runs, beyond its share of the input's bound.
const PER_COMMAND: usize = 600;

/// The tests here count the whole process's heap: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn corpus() -> PathBuf {
    let out = std::env::temp_dir().join(format!("omadm-hostile-{}", std::process::id()));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/hostile/make_corpus.py");
    let ok = std::process::Command::new("python3").arg(&script).arg(&out).status().expect("python3").success();
    assert!(ok, "make_corpus.py failed");
    out
}

fn kind(r: &Result<Vec<dm_core::session::Event>, Error>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(Error::Decode(_)) => "decode",
        Err(Error::Limit(_)) => "limit",
        Err(Error::Remote(_)) => "protocol",
        Err(Error::Auth(_)) => "auth",
        Err(Error::Usage(_)) => "usage",
    }
}

#[test]
fn every_hostile_case_gives_its_typed_error_and_leaves_the_session_usable() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = corpus();
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let mut cases = 0;
    for line in manifest.lines() {
        let [name, target, expected] = line.split('\t').collect::<Vec<_>>()[..] else { panic!("{line}") };
        let data = std::fs::read(dir.join(name)).unwrap();
        let commands = codec::decode(&data).map_or(0, |m| m.command_count());
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let total_before = TOTAL.load(Ordering::Relaxed);
        let got = match target {
            "decode" => kind(&codec::decode(&data).map(|_| vec![])),
            "client" => {
                let mut c = ClientSession::new(client_config(), device_tree()).unwrap();
                let _ = c.next_message().unwrap();
                let r = c.receive(&data);
                if r.is_err() {
                    assert_eq!(c.state(), State::Waiting, "{name}");
                }
                kind(&r)
            }
            "server" => {
                let mut s = ServerSession::new(server_config());
                let r = s.receive(&data);
                if r.is_err() {
                    // Still waiting for a real package 1, which it then takes.
                    assert_eq!(s.state(), State::Waiting, "{name}");
                    let mut c = ClientSession::new(client_config(), device_tree()).unwrap();
                    s.receive(&c.next_message().unwrap().unwrap().body).unwrap();
                }
                kind(&r)
            }
            other => panic!("unknown target {other}"),
        };
        assert_eq!(got, expected, "{name}");
        // Bounded memory: a few times the input, never what the input claims (2 GiB sizes,
        // 100 000-deep nesting, expanding entities), and WBXML string-table references expanded
        // up to the message size limit (1 MiB), no further; and a few hundred bytes a command
        // (decoded, its status, its event), however small it is on the wire.
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let total = TOTAL.load(Ordering::Relaxed) - total_before;
        let bound = 4 * data.len() + (2 << 20) + PER_COMMAND * commands;
        println!(
            "{name:40} {:>9} bytes in, {commands:>5} commands, peak heap {peak:>9} bytes, {total:>11} allocated",
            data.len()
        );
        assert!(peak <= bound, "{name}: peak heap {peak} bytes for {} bytes and {commands} commands", data.len());
        // Nor copied over and over: what is allocated in all stays within a few times the input
        // and what its commands take (twice: with the room grown for them on the way).
        let total_bound = 16 * data.len() + (4 << 20) + 2 * PER_COMMAND * commands;
        assert!(total <= total_bound, "{name}: {total} bytes allocated for {} bytes of input", data.len());
        cases += 1;
    }
    assert!(cases >= 23);
    let _ = std::fs::remove_dir_all(dir);
}

/// A WBXML client owing 18 000 statuses and results to a server that takes 256 KB messages
/// lays them out without sizing the message in full at every command (which made it quadratic:
/// 18 GB allocated, encoded and thrown away, for three messages); it sizes each message in full
/// a few dozen times at most (180 MB).
#[test]
fn large_wbxml_replies_are_laid_out_in_linear_work() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cc = client_config();
    cc.wire.encoding = codec::Encoding::Wbxml;
    let mut sc = server_config();
    sc.wire.max_msg_size = Some(256 * 1024);
    let mut p = Pair::with(cc, device_tree(), sc);
    p.until_server_has_package();
    for _ in 0..9_000 {
        p.server.get("./DevInfo/Man").unwrap();
    }
    let before = TOTAL.load(Ordering::Relaxed);
    p.drive();
    let total = TOTAL.load(Ordering::Relaxed) - before;
    let moved: usize = p.trace.iter().map(|(_, body)| body.len()).sum();
    println!("{moved} bytes moved, {total} allocated");
    assert_eq!(p.server.state(), State::Ended);
    assert!(total <= 256 * moved, "{total} bytes allocated for {moved} bytes moved");
}
