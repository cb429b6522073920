//! Times the whole 20-command XML session of the benches from Rust, beside which
//! tests/bench/python_session.py times the same session scripted from Python, round by round:
//! `session_time N` builds N set-ups, untimed, runs N sessions after a warm-up, and prints the
//! mean nanoseconds per session.

#[path = "../tests/common/pair.rs"]
mod pair;
#[path = "../benches/workloads.rs"]
mod workloads;

use dm_core::codec::Encoding;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).expect("usage: session_time N");
    for _ in 0..n / 4 {
        std::hint::black_box(workloads::whole_session(workloads::setup(Encoding::Xml)));
    }
    let setups: Vec<_> = (0..n).map(|_| workloads::setup(Encoding::Xml)).collect();
    let start = std::time::Instant::now();
    for s in setups {
        std::hint::black_box(workloads::whole_session(s));
    }
    println!("{}", start.elapsed().as_nanos() as f64 / n as f64);
}
