"""Instructions per operation, counted by callgrind: the repeatable side of `make bench` on a
noisy machine. Each workload runs n and 2n times; the difference over n is one operation, free
of start-up. Ours is dm-core's `prof` example (built as the benches are), the peers libwbxml's
converters (build/libwbxml_peer --repeat) and quick-xml's `Reader` alone (a `prof` workload).
With PYTHON (an interpreter with omadm installed), the whole session scripted from Python
(tests/bench/python_session.py, its trees built apart) beside the same session from Rust.
Usage: instructions.py PROF PEER DIR [PYTHON] > instructions.jsonl; one JSON object per line:
{"what": ..., "ours": instructions, "peer": instructions or null, "peer_name": ...}."""

import json
import os
import subprocess
import sys
import tempfile


def instructions(cmd: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    raise RuntimeError(f"no totals from callgrind for {cmd}")


def per_op(cmd, n: int) -> int:
    """`cmd(k)` runs the operation k times."""
    return (instructions(cmd(2 * n)) - instructions(cmd(n))) // n


def main() -> None:
    prof, peer, d = sys.argv[1:4]
    ours = lambda file, work: lambda k: [prof, file, str(k), work]  # noqa: E731
    libwbxml = lambda op, file: lambda k: [peer, "--repeat", str(k), op, file]  # noqa: E731
    rows = []
    for name, n in (("pkg3_4", 20), ("pkg3_40", 4), ("pkg3_400", 1)):
        w, x = f"{d}/{name}.wbxml", f"{d}/{name}.xml"
        rows.append((f"WBXML to XML text, {name}", per_op(ours(w, "w2x"), n),
                     per_op(libwbxml("wbxml2xml", w), n), "libwbxml"))
        rows.append((f"XML text to WBXML, {name}", per_op(ours(x, "x2w"), n),
                     per_op(libwbxml("xml2wbxml", x), n), "libwbxml"))
    for name in ("package2", "package3"):
        x = f"{d}/{name}.xml"
        rows.append((f"XML decode, {name}", per_op(ours(x, "decode"), 10),
                     per_op(ours(x, "reader"), 10), "quick-xml Reader events alone"))
    setup = per_op(ours("-", "setup"), 5)  # the benches build it outside the time taken
    rust = per_op(ours("-", "session"), 5) - setup
    rows.append(("Whole session, XML", rust, None, None))
    rows.append(("Whole session, WBXML", per_op(ours("-", "session_wbxml"), 5) - setup, None, None))
    rows.append(("1 MiB each way at MaxMsgSize 8 KiB", per_op(ours("-", "large"), 1),
                 per_op(ours("-", "large_codec"), 1), "codec alone on the same messages"))
    if len(sys.argv) > 4:
        os.environ["PYTHONHASHSEED"] = "0"  # string hashes, and so the count, the same each run
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_session.py")
        py = lambda mode: lambda k: [sys.argv[4], script, mode, str(k)]  # noqa: E731
        python = per_op(py("--sessions"), 20) - per_op(py("--trees"), 20)
        rows.append(("Whole session from Python, XML", python, rust, "the same session from Rust"))
    for what, mine, theirs, who in rows:
        print(json.dumps({"what": what, "ours": mine, "peer": theirs, "peer_name": who}))


if __name__ == "__main__":
    main()
