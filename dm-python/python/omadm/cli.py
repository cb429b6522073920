"""The ``omadm`` command-line tool."""

from __future__ import annotations

import argparse
import json
import sys

import omadm


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def _decode(args: argparse.Namespace) -> int:
    m = omadm.decode(_read(args.file), lenient=args.lenient)
    print(json.dumps(m.to_dict(), indent=2) if args.json else m.to_xml(pretty=True), end="" if not args.json else "\n")
    return 0


def _encode(args: argparse.Namespace) -> int:
    m = omadm.decode(_read(args.file), lenient=True)
    out = m.to_wbxml() if args.to == "wbxml" else m.to_xml(pretty=False).encode()
    if args.output:
        with open(args.output, "wb") as f:
            f.write(out)
    else:
        sys.stdout.buffer.write(out)
    return 0


def _notify(args: argparse.Namespace) -> int:
    if args.action == "build":
        data = omadm.notification.build(args.server_id, args.password, args.nonce.encode(), args.session_id, args.ui_mode)
        with open(args.output, "wb") as f:
            f.write(data)
        print(f"{len(data)} bytes written to {args.output}")
        return 0
    data = _read(args.file)
    n = omadm.notification.parse(data)
    print(f"version {n.version // 10}.{n.version % 10}, ui-mode {n.ui_mode}, session {n.session_id_hex}, "
          f"server {n.server_id!r}, {'server' if n.server_initiated else 'client'}-initiated, vendor {len(n.vendor)} bytes")
    if args.password is not None:
        verdict = omadm.notification.verify(data, args.password, (args.nonce or "").encode())
        print(f"digest: {verdict or 'does not match'}")
        return 0 if verdict else 1
    return 0


def _demo(_: argparse.Namespace) -> int:
    """A whole session between the server and client engines, in memory."""
    tree = omadm.MemoryTree({"./DevInfo/DevId": "IMEI:1", "./DevInfo/Man": "Acme", "./DevInfo/Mod": "Py",
                             "./DevInfo/DmV": "1.2", "./DevInfo/Lang": "en", "./Vendor/Level": "1"})
    tree.set_acl("./Vendor", "Get=*&Replace=*")
    client = omadm.ClientSession("IMEI:1", "omadm-demo", "http://127.0.0.1/dm", tree)
    server = omadm.ServerSession("omadm-demo")
    package = 0
    while (msg := client.next_message()) is not None:
        m = omadm.decode(msg)
        print(f"-> device {len(msg):5} bytes {m!r}")
        for e in server.receive(msg):
            print(f"     {e!r}")
            if e.kind == "package_end":
                package += 1
                if package == 1:
                    server.get("./DevInfo/Mod")
                    server.replace("./Vendor/Level", "7")
        reply = server.next_message()
        assert reply is not None
        print(f"<- server {len(reply):5} bytes {omadm.decode(reply)!r}")
        for e in client.receive(reply):
            print(f"     {e!r}")
    print(f"session {client.state}; ./Vendor/Level = {tree.get('./Vendor/Level')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="omadm", description="OMA DM 1.2.1 (SyncML DM) tools")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decode", help="print a message (XML or WBXML) as pretty XML or JSON")
    d.add_argument("file", help="a file, or - for standard input")
    d.add_argument("--json", action="store_true")
    d.add_argument("--lenient", action="store_true", help="accept what real peers send that is not valid")
    d.set_defaults(run=_decode)
    e = sub.add_parser("encode", help="convert a message to WBXML or XML")
    e.add_argument("file")
    e.add_argument("--to", choices=["wbxml", "xml"], required=True)
    e.add_argument("-o", "--output")
    e.set_defaults(run=_encode)
    n = sub.add_parser("notify", help="build or parse a package-0 notification")
    n.add_argument("action", choices=["build", "parse"])
    n.add_argument("file", nargs="?", help="parse: the notification")
    n.add_argument("--server-id")
    n.add_argument("--password")
    n.add_argument("--nonce", default="")
    n.add_argument("--session-id", type=lambda s: int(s, 0), default=1)
    n.add_argument("--ui-mode", type=int, default=0, choices=range(4))
    n.add_argument("-o", "--output", default="notification.bin")
    n.set_defaults(run=_notify)
    m = sub.add_parser("demo", help="a whole session between the built-in server and a simulated device")
    m.set_defaults(run=_demo)
    args = p.parse_args(argv)
    try:
        return args.run(args)
    except (omadm.Error, OSError) as err:
        print(f"omadm {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
