"""The whole 20-command session of dm-core's `session/whole_20_commands` bench, scripted from
Python with the `omadm` package (Rust MemoryTree, in memory). As in that bench, the device's tree
is built before the time is taken, and the session (both sessions created, packages 1-4) is
timed. Prints one JSON object: {"python_session_ns": median ns per session, "min_ns", "max_ns"}.
`--paired SESSION_TIME` (dm-core's `session_time` example) times the same session from Rust
after each round, in a process of its own, and adds {"rust_ns": its median, "paired": the median
over rounds of Python's time over Rust's in the same round, "paired_min", "paired_max"}.
`--sessions N` runs N sessions and `--trees N` builds N trees, untimed: instructions.py counts
them with callgrind."""
import json
import statistics
import subprocess
import sys
import time

import omadm

DEVINFO = {
    "./DevInfo/DevId": "IMEI:493005100592800",
    "./DevInfo/Man": "Acme",
    "./DevInfo/Mod": "X1",
    "./DevInfo/DmV": "1.2",
    "./DevInfo/Lang": "en-US",
}


def device_tree() -> omadm.MemoryTree:
    tree = omadm.MemoryTree({**DEVINFO, "./Vendor/Level": "1"})
    tree.set_acl("./Vendor", "Add=*&Get=*&Replace=*&Delete=*&Exec=*")
    return tree


def session(tree: omadm.MemoryTree) -> None:
    client = omadm.ClientSession("IMEI:493005100592800", "omadm-test", "http://127.0.0.1/dm", tree)
    server = omadm.ServerSession("omadm-test")
    packages = 0
    while (msg := client.next_message()) is not None:
        for e in server.receive(msg):
            if e.kind == "package_end":
                packages += 1
                if packages == 1:
                    for i in range(10):
                        server.get("./DevInfo/Man")
                        server.replace(f"./Vendor/N{i}", "value")
        reply = server.next_message()
        if reply is None:
            break
        client.receive(reply)
    assert client.state == "ended", client.state


def main(rust: str | None) -> None:
    for _ in range(200):
        session(device_tree())
    rounds, rust_rounds = [], []
    for _ in range(15):
        n = 200
        trees = [device_tree() for _ in range(n)]
        t0 = time.perf_counter_ns()
        for tree in trees:
            session(tree)
        rounds.append((time.perf_counter_ns() - t0) / n)
        if rust:
            rust_rounds.append(float(subprocess.run([rust, str(n)], check=True, capture_output=True, text=True).stdout))
    out = {"python_session_ns": statistics.median(rounds), "min_ns": min(rounds), "max_ns": max(rounds)}
    if rust:
        ratios = [p / r for p, r in zip(rounds, rust_rounds)]
        out.update(rust_ns=statistics.median(rust_rounds), paired=statistics.median(ratios),
                   paired_min=min(ratios), paired_max=max(ratios))
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--sessions", "--trees"):
        trees = [device_tree() for _ in range(int(sys.argv[2]))]
        if sys.argv[1] == "--sessions":
            for tree in trees:
                session(tree)
    else:
        main(sys.argv[2] if len(sys.argv) == 3 and sys.argv[1] == "--paired" else None)
