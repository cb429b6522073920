"""The table of `make bench`: criterion's estimates (target/criterion), the libwbxml peer run and
the Python session timing from the same run (target/omadm-bench), each figure beside its peer
and its goal; then the peer run's round-by-round ratios and callgrind's instruction counts.
Writes target/omadm-bench/report.md and prints it. Usage: report.py TARGET_DIR"""
import json
import sys
from pathlib import Path

target = Path(sys.argv[1] if len(sys.argv) > 1 else "target")
crit, runs = target / "criterion", target / "omadm-bench"


def estimate(bench_id: str) -> tuple[float, float, int | None]:
    """Median ns, its 95% half-width in %, and the bytes per iteration, of a criterion bench."""
    d = crit / bench_id / "new"
    median = json.loads((d / "estimates.json").read_text())["median"]
    ci = median["confidence_interval"]
    ns = median["point_estimate"]
    throughput = json.loads((d / "benchmark.json").read_text()).get("throughput") or {}
    return ns, 50 * (ci["upper_bound"] - ci["lower_bound"]) / ns, throughput.get("Bytes")


def lines(name: str) -> list[dict]:
    path = runs / name
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def mbs(nbytes: int, ns: float) -> str:
    return f"{nbytes / ns * 1e3:.0f} MB/s"


def us(ns: float, noise: float) -> str:
    return f"{ns / 1e3:.1f} µs ±{noise:.0f}%"


rows = []
peer = {(x["op"], x["name"]): x for x in lines("libwbxml.jsonl")}


def versus_libwbxml(what: str, ours_id: str, op: str, name: str, goal: str = "") -> None:
    ns, noise, _ = estimate(ours_id)
    theirs = peer.get((op, name))
    if theirs is None:
        rows.append((what, us(ns, noise), "libwbxml: not run", "", goal))
        return
    spread = 50 * (theirs["max_ns"] - theirs["min_ns"]) / theirs["ns"]
    rows.append((what, us(ns, noise), f"libwbxml {us(theirs['ns'], spread)}", f"{theirs['ns'] / ns:.1f}x faster", goal))


for n in (4, 40, 400):
    versus_libwbxml(f"WBXML to XML text, package 3 with {n} Results", f"convert/wbxml2xml/{n}", "wbxml2xml",
                    f"pkg3_{n}", "20x faster")
    versus_libwbxml(f"XML text to WBXML, package 3 with {n} Results", f"convert/xml2wbxml/{n}", "xml2wbxml",
                    f"pkg3_{n}")
for name in ("package2", "package3"):
    versus_libwbxml(f"WBXML decode to the model, {name}", f"wbxml/decode/{name}", "wbxml2xml", name)
    versus_libwbxml(f"WBXML encode from the model, {name}", f"wbxml/encode/{name}", "xml2wbxml", name)
for name in ("package2", "package3"):
    ns, noise, nbytes = estimate(f"xml/decode/{name}")
    qns, _, _ = estimate(f"xml/quick_xml_events_only/{name}")
    pns, _, _ = estimate(f"xml/quick_xml_plain_reader/{name}")
    rows.append((f"XML decode, {name} ({nbytes} bytes)", f"{mbs(nbytes, ns)} ±{noise:.0f}%",
                 f"quick-xml's Reader events alone {mbs(nbytes, pns)} (its NsReader {mbs(nbytes, qns)})",
                 f"{pns / ns:.2f}x its speed", "300 MB/s"))
    ens, enoise, _ = estimate(f"xml/encode/{name}")
    rows.append((f"XML encode, {name}", f"{mbs(nbytes, ens)} ±{enoise:.0f}%", "", "", ""))
whole, wnoise, _ = estimate("session/whole_20_commands")
rows.append(("Whole session in memory, packages 1–4, 20 commands, XML", us(whole, wnoise), "", "", "< 50 µs"))
wb, wbnoise, _ = estimate("session/whole_20_commands_wbxml")
rows.append(("The same session in WBXML", us(wb, wbnoise), "", "", "< 50 µs"))
big, bnoise, nbytes = estimate("session/large_object_1MiB_each_way_8KiB")
plain, _, _ = estimate("session/plain_codec_same_bytes")
rows.append(("1 MiB each way at MaxMsgSize 8 KiB", f"{mbs(nbytes, big)} ±{bnoise:.0f}%",
             f"codec alone on the same messages {mbs(nbytes, plain)}", f"{plain / big:.2f} of its speed", "≥ 0.5"))
memory = json.loads((runs / "memory.json").read_text()) if (runs / "memory.json").exists() else {}
if memory:
    rows.append(("Server session at rest, 20 commands in flight", f"{memory['server_at_rest_20_in_flight']} bytes",
                 "", "", "≤ 1024 bytes"))
    rows.append(("Its snapshot", f"{memory['snapshot_20_in_flight']} bytes", "", "", ""))
    rows.append(("Heap allocations in the whole session, XML / WBXML",
                 f"{memory['allocations_whole_session_xml']} / {memory['allocations_whole_session_wbxml']}",
                 "", "", ""))
python = lines("python.jsonl")
if python:
    x = python[0]
    p = x["python_session_ns"]
    ratio = f"{p / whole:.2f}x Rust's time"
    if "paired" in x:
        ratio += (f"; round by round beside Rust in its own process ({x['rust_ns'] / 1e3:.1f} µs): {x['paired']:.2f}x "
                  f"({x['paired_min']:.2f}–{x['paired_max']:.2f})")
    rows.append(("The same session scripted from Python", us(p, 50 * (x['max_ns'] - x['min_ns']) / p),
                 f"Rust {us(whole, wnoise)}", ratio, "≤ 2x"))
size = runs / "libomadm.so"
if size.exists():
    rows.append(("Stripped release libomadm.so", f"{size.stat().st_size / 1024:.0f} KiB", "", "", "≤ 300 KiB"))

def table(head: tuple, rows: list) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


out = table(("measure", "omadm", "peer (same run)", "ratio", "goal"), rows)
paired = [x for x in peer.values() if "paired" in x and x["name"].startswith("pkg3_")]
if paired:
    names = {"wbxml2xml": "WBXML to XML text", "xml2wbxml": "XML text to WBXML"}
    out += ["", "Round by round in one process (libomadm's converters through the C ABI, built as the benches are, "
            "each 50 ms round beside one of libwbxml's), so that a slow spell falls on both sides of each ratio:", ""]
    out += table(("operation", "libomadm", "libwbxml", "ratio: median (range) of 15 rounds"),
                 [(f"{names[x['op']]}, {x['name']}", f"{x['omadm_ns'] / 1e3:.1f} µs", f"{x['ns'] / 1e3:.1f} µs",
                   f"{x['paired']:.1f}x ({x['paired_min']:.1f}–{x['paired_max']:.1f})") for x in paired])
counted = lines("instructions.jsonl")
if counted:
    def ratio(r: dict) -> str:
        if not r["peer"]:
            return ""
        q = r["peer"] / r["ours"]
        return f"{q:.1f}x fewer" if q >= 1 else f"{1 / q:.2f}x more"
    out += ["", "Instructions per operation (callgrind, repeatable where wall time is not):", ""]
    out += table(("operation", "omadm", "peer", "ratio"),
                 [(r["what"], f"{r['ours']:,}", f"{r['peer_name']} {r['peer']:,}" if r["peer"] else "", ratio(r))
                  for r in counted])
text = "\n".join(out) + "\n"
(runs / "report.md").write_text(text)
print(text)
