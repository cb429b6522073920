"""The ``omadm`` command-line tool."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import urllib.parse
from typing import Any, Callable, Iterable

import omadm
import omadm.capture
import omadm.conformance
import omadm.fumo
import omadm.replay
from omadm.notification import PUSH_PORT


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes | str) -> None:
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def _message(path: str, lenient: bool) -> omadm.Message:
    """A message from a file (a bootstrap in a WAP push: the message it holds, its Content-Type
    said on stderr): the user's own, so taken whatever its size (a peer's are bounded)."""
    raw = _read(path)
    got = omadm.bootstrap.unwrap(raw)
    if got.body is not raw:
        print(f"{path}: a WAP push of Content-Type: {got.content_type}", file=sys.stderr)
    data = got.body
    room = max(len(data), omadm.Limits().max_message_size)
    return omadm.decode(data, lenient=lenient, limits=omadm.Limits(max_message_size=room, max_text_len=room))


def _decode(args: argparse.Namespace) -> int:
    m = _message(args.file, args.lenient)
    print(json.dumps(m.to_dict(), indent=2) if args.json else m.to_xml(pretty=True), end="" if not args.json else "\n")
    return 0


def _encode(args: argparse.Namespace) -> int:
    m = _message(args.file, args.lenient)
    out = m.to_wbxml() if args.to == "wbxml" else m.to_xml(pretty=False).encode()
    if args.output:
        _write(args.output, out)
    else:
        sys.stdout.buffer.write(out)
    return 0


_SMS_HELP = "print the user data (UDH included, hex) of each SMS the WAP push takes, to WDP port 2948"


def _print_sms(pdu: bytes) -> None:
    """The user data of each SMS a WAP push takes (--sms)."""
    for i, part in enumerate(omadm.notification.sms_user_data(pdu), 1):
        print(f"SMS {i} user data (UDH included): {part.hex().upper()}")


def _print_sent(sent: int, to: tuple[str, int]) -> None:
    print(f"{sent} bytes (a WAP push) sent to udp {to[0]}:{to[1]}")


def _notify(args: argparse.Namespace) -> int:
    if args.action == "build":
        data = omadm.notification.build(args.server_id, args.password, args.nonce.encode(), args.session_id, args.ui_mode)
        pdu = omadm.notification.wap_push(data)
        written = pdu if args.wap_push else data
        _write(args.output, written)
        print(f"{len(written)} bytes written to {args.output}" + (" (a WAP push: WSP Push PDU)" if args.wap_push else ""))
        if args.sms:
            _print_sms(pdu)
        return 0
    raw = _read(args.file)
    if args.action == "send":
        _print_sent(omadm.notification.send(raw, *args.to), args.to)
        return 0
    data = omadm.notification.unwrap(raw)
    pushed = data is not raw
    n = omadm.notification.parse(data)
    if pushed:
        print("a WAP push (WSP Push PDU) holding:")
    print(f"version {n.version // 10}.{n.version % 10}, ui-mode {n.ui_mode}, session {n.session_id_hex}, "
          f"server {n.server_id!r}, {'server' if n.server_initiated else 'client'}-initiated, vendor {len(n.vendor)} bytes")
    if args.password is not None:
        verdict = omadm.notification.verify(data, args.password, (args.nonce or "").encode())
        said = {"nonce": "matches, with the nonce given", "resync": "matches, with the resync nonce 0x00000000"}
        print(f"digest: {said.get(verdict or '', 'does not match')}")
        return 0 if verdict else 1
    return 0


def _demo(_: argparse.Namespace) -> int:
    """A whole session over loopback HTTP: the built-in server running a script against a
    simulated device, then the annotated trace the server wrote and the checker's verdict."""
    import tempfile

    import omadm.http

    tree = omadm.MemoryTree({"./DevInfo/DevId": "IMEI:1", "./DevInfo/Man": "Acme", "./DevInfo/Mod": "Py",
                             "./DevInfo/DmV": "1.2", "./DevInfo/Lang": "en", "./Vendor/Level": "1"})
    tree.set_acl("./Vendor", "Get=*&Replace=*")

    def run(session: Any) -> None:
        model = session.get("./DevInfo/Mod")
        level = session.replace("./Vendor/Level", "7")
        print(f"[script] model {model.value!r}, Replace {level.status}", flush=True)

    replies: list[list[Any]] = []  # the device's events, for each server message in turn
    with tempfile.TemporaryDirectory() as trace:
        with omadm.http.Server(run, server_id="omadm-demo", trace_dir=trace) as server:
            print(f"server {server.url}")
            omadm.http.device(server.url, tree, device_id="IMEI:1", server_id="omadm-demo",
                              received=lambda _, events: replies.append(events))
        print("annotated trace (each server message with what the device did with it):")
        [session] = omadm.capture.read([trace])
        s2c = [i for i, d in enumerate(session.directions or []) if d == "s2c"]
        _show(session.messages, session.directions, {i: [repr(e) for e in events] for i, events in zip(s2c, replies)})
        found = _verdict("checker", session.messages, session.directions)
    print(f"session ended; ./Vendor/Level = {tree.get('./Vendor/Level')!r}")
    return found


def _check(args: argparse.Namespace) -> int:
    traces = omadm.capture.read(args.paths)
    seals = _seals(args)
    if args.json:  # for a pipeline: each session with its messages' count and its violations
        verdicts = [{"session": t.name, "messages": len(t.messages),
                     "violations": [dataclasses.asdict(v) for v in _violations(
                         t.messages, t.directions, [*t.http, *_sealed(t, seals)], _secrets(args, t))]}
                    for t in traces]
        print(json.dumps(verdicts, indent=2))
        return 1 if any(v["violations"] for v in verdicts) else 0
    found = 0
    for trace in traces:
        if args.show:
            _show(trace.messages, trace.directions, {})
        found += _verdict(trace.name, trace.messages, trace.directions, [*trace.http, *_sealed(trace, seals)],
                          _secrets(args, trace))
    return 1 if found else 0


def _seals(args: argparse.Namespace) -> dict[bytes, str | None]:
    """With --bootstrap-key or --imsi: each bootstrap pushed in a file of PATHS (its Content-Type
    with it), and why its MAC is not the one they give (None when it is)."""
    if not (args.bootstrap_key or args.imsi):
        return {}
    seals: dict[bytes, str | None] = {}
    for path in args.paths:
        if path == "-" or not os.path.isfile(path):
            continue
        got = omadm.bootstrap.unwrap(_read(path), "")
        if not got.content_type:
            continue
        try:
            omadm.bootstrap.verify(got.body, got.content_type, args.bootstrap_key, args.imsi)
            seals[got.body] = None
        except omadm.AuthError as e:
            seals[got.body] = str(e)
    return seals


def _sealed(trace: omadm.capture.Trace, seals: dict[bytes, str | None]) -> list[omadm.Violation]:
    """Rule Bootstrap for each message of ``trace`` that is a bootstrap whose MAC does not match."""
    return [omadm.Violation("Bootstrap", i, why) for i, m in enumerate(trace.messages) if (why := seals.get(m))]


def _secrets(args: argparse.Namespace, trace: omadm.capture.Trace) -> dict:
    """What `omadm.check` verifies a session's Creds and HMACs with: --client-cred USER:PASSWORD
    and the rest, and the x-syncml-hmac headers its capture shows."""
    def pair(option: str, value: str | None) -> tuple[str, str] | None:
        if value is None:
            return None
        user, colon, password = value.partition(":")
        if not colon:
            raise omadm.UsageError(f"{option} takes USER:PASSWORD, not {value!r}")
        return user, password

    def nonce(text: str | None) -> bytes | None:
        return None if text is None else text.encode()
    return {"client": pair("--client-cred", args.client_cred), "server": pair("--server-cred", args.server_cred),
            "passwords": _passwords(args.passwords) if args.passwords else None,
            "client_nonce": nonce(args.client_nonce), "server_nonce": nonce(args.server_nonce), "hmac": trace.hmac}


def _extract(args: argparse.Namespace) -> int:
    if args.tree:
        trace = _one_session(args.paths)
        tree = omadm.replay.device_tree(trace)
        tree.save(args.tree)
        print(f"{trace.name}: {_count(len(tree.uris()), 'node')} -> {args.tree}")
        return 0
    for trace in omadm.capture.read(args.paths):
        paths = trace.save(args.output)
        name = os.path.basename(paths[0]).rsplit("-", 2)[0]
        print(f"{trace.name}: {_count(len(paths), 'message')} -> {os.path.join(args.output, name)}-*.msg")
    return 0


def _diff(args: argparse.Namespace) -> int:
    differences = omadm.replay.compare(_one_session([args.before]), _one_session([args.after]))
    print("\n".join(differences) if differences else "no differences")
    return 1 if differences else 0


def _fumo(args: argparse.Namespace) -> int:
    found = omadm.fumo.updates(omadm.capture.read(args.paths))
    if args.json:
        print(json.dumps([dataclasses.asdict(u) for u in found], indent=2))
    else:
        print("\n".join(map(str, found)) or "no firmware updates")
    return 1 if any(u.failed for u in found) else 0


def _ddf(args: argparse.Namespace) -> int:
    """Where a device's tree does not keep a DDF: a line a node, exit 1 if any."""
    ddf = _read(args.ddf).decode("utf-8", errors="replace")
    tree = omadm.MemoryTree.load(args.tree)
    found = tree.check_ddf(ddf, args.base)
    for uri, why in found:
        print(f"{uri}: {why}")
    print(f"{args.tree}: {_count(len(found), 'node')} not as {args.ddf} describes")
    return 1 if found else 0


def _ddf_argument(text: str) -> tuple[str, str]:
    """URI=FILE: the URI, and the DDF document the file holds."""
    uri, eq, path = text.partition("=")
    if not (eq and uri.startswith(".") and path):
        raise argparse.ArgumentTypeError(f"not URI=FILE (./FUMO=fumo.ddf, say): {text!r}")
    try:
        return uri, _read(path).decode("utf-8", errors="replace")
    except OSError as e:
        raise argparse.ArgumentTypeError(f"{path}: {e.strerror}") from None


def _one_session(paths: list[str]) -> omadm.capture.Trace:
    traces = omadm.capture.read(paths)
    if len(traces) != 1:
        raise omadm.UsageError(f"{' '.join(paths)} holds {len(traces)} sessions ({', '.join(t.name for t in traces)}): "
                               "keep the one wanted (omadm extract -o DIR), and give its files")
    return traces[0]


def _show(bodies: list[bytes], dirs: list[str] | None, notes: dict[int, list[str]]) -> None:
    """One line a message, each followed by its ``notes``."""
    for i, body in enumerate(bodies):
        arrow = {"c2s": "device -> server", "s2c": "server -> device"}.get((dirs or [""] * len(bodies))[i], "")
        print(f"{i:3} {arrow:16} {_summary(body)}")
        for note in notes.get(i, []):
            print(f"{'':26}{note}")


def _summary(body: bytes) -> str:
    """A message in one line: its size and commands, or why it is none."""
    try:
        seen = repr(omadm.decode(body, lenient=True))
    except omadm.Error as e:
        seen = f"not a message: {e}"
    return f"{len(body):6} bytes  {seen}"


def _violations(bodies: list[bytes], dirs: list[str] | None, http: Iterable[omadm.Violation] = (),
                secrets: dict | None = None) -> list[omadm.Violation]:
    """The checker's violations (its Cred findings with `secrets`) and the capture's HTTP
    findings, in message order."""
    return sorted([*omadm.check(bodies, dirs, **(secrets or {})), *http], key=lambda v: v.msg_index)


def _verdict(name: str, bodies: list[bytes], dirs: list[str] | None, http: Iterable[omadm.Violation] = (),
             secrets: dict | None = None) -> int:
    """Prints the checker's verdict on a session, with what its capture shows wrong in the HTTP
    that carried it; how many violations it found."""
    violations = _violations(bodies, dirs, http, secrets)
    print(f"{name}: {_count(len(bodies), 'message')}, {_count(len(violations), 'violation')}")
    for v in violations:
        print(f"  {v}")
    return len(violations)


def _session_options(args: argparse.Namespace) -> dict:
    options: dict = {"max_msg_size": args.max_msg_size} if args.max_msg_size else {}
    options.update({k: True for k in ("lenient", "accept_dm11") if getattr(args, k)})
    if args.auth != "none":
        options.update(auth=args.auth, username=args.username, password=args.password, nonce=args.nonce.encode())
    if args.server_password is not None:
        options.update(server_password=args.server_password, server_nonce=args.server_nonce.encode())
    if args.nonce_file:
        import omadm.http

        options.update(nonces=omadm.http.Nonces(args.nonce_file))
    return options


def _default_script(session) -> None:
    """Reads the device's DevInfo and DevDetail firmware version."""
    session.get("./DevInfo/Mod").value
    session.get("./DevDetail/FwV").value


def _run_script(path: str) -> dict[str, Any]:
    """A script's top level, run; an error there is one line that says where."""
    import runpy
    import traceback

    try:
        return runpy.run_path(path)
    except SyntaxError as e:
        raise omadm.UsageError(f"{path} line {e.lineno}: {e.msg}") from None
    except Exception as e:
        line = next((f.lineno for f in reversed(traceback.extract_tb(e.__traceback__)) if f.filename == path), None)
        raise omadm.UsageError(f"{path}{f' line {line}' if line else ''}: {type(e).__name__}: {e}") from None


def _load_script(path: str | None):
    if not path:
        return _default_script
    run = _run_script(path).get("run")
    if not callable(run):
        raise omadm.UsageError(f"{path} defines no run(session)")
    return run


def _serve(args: argparse.Namespace) -> int:
    import omadm.http

    campaign = _campaign(args) if args.fumo else None
    script = (campaign if campaign is not None else _dumper(args.dump_tree) if args.dump_tree else
              _replay(args.replay) if args.replay else
              omadm.conformance.Conformance(args.conformance, ddfs=args.ddf) if args.conformance else
              _load_script(args.script))
    options: dict[str, Any] = {"encoding": "wbxml"} if args.wbxml else {}
    if campaign is not None:
        options.update(files=campaign.files, posts=campaign.posts)
    if args.conformance and not args.max_msg_size:  # so that a device's Results of a large object come in chunks
        options["max_msg_size"] = omadm.conformance.SERVER_MESSAGES
    if args.passwords:
        options["passwords"] = _passwords(args.passwords)
    if args.show:
        options["watch"] = _watch
    tls = omadm.http.server_tls(args.cert, args.key) if args.cert else None
    server = omadm.http.Server(script, host=args.host, port=args.port, server_id=args.server_id or "omadm",
                               trace_dir=args.trace_dir, tls=tls, max_sessions=args.max_sessions,
                               max_connections=args.max_connections, check=args.check, **options,
                               **_session_options(args))
    print(server.url, flush=True)
    server.start()
    if args.notify:
        if args.bootstrap_key or args.bootstrap_imsi:
            _push_bootstrap(args, args.server_id or "omadm", server.url)
        _push(args, args.server_id or "omadm")
    runs: list[tuple[str, list[omadm.conformance.Verdict]]] = []
    try:
        while True:
            time.sleep(0.2)
            while server.finished:  # taken, so that a server running for days keeps none
                s = server.finished.pop(0)
                s.wait(5)  # its script's last error, if it raises on the way out
                state = f"failed: {s.error!r}" if s.error else s.server.state
                print(f"session with {s.server.device_id}: {state}", flush=True)
                if args.check:
                    print(f"[check] {s.server.device_id}: {_count(len(s.violations), 'violation')}", flush=True)
                    for v in s.violations:
                        print(f"[check]   {v}", flush=True)
                server.nonces.save()
                verdicts = getattr(s, "verdicts", None)  # a conformance run's
                if args.check and verdicts is not None:  # the rules, one more check of the run
                    verdicts = [*verdicts, omadm.conformance.rules(s.violations)]
                if args.junit and verdicts is not None:  # every run so far, each a suite
                    runs.append((s.server.device_id, verdicts))
                    _write(args.junit, omadm.conformance.junit(runs))
                if args.once and getattr(s, "fumo_job", None) is not None:
                    continue  # it started an update: the session that reports it is the one
                if args.once:  # what the session found: its error, or what its script returned
                    server.stop()
                    return 1 if s.error or s.server.state != "ended" or s.result or s.violations else 0
    except KeyboardInterrupt:
        server.stop()
        server.nonces.save()
        for line in campaign.summary() if campaign is not None else ():
            print(f"[fumo] {line}", flush=True)
    return 0


def _dumper(directory: str) -> Callable[[Any], None]:
    """A script writing each device's tree to `directory`, a JSON file each."""
    os.makedirs(directory, exist_ok=True)

    def dump(session: Any) -> None:
        tree = session.read_tree(".")
        path = os.path.join(directory, f"{omadm.capture._file_name(session.device)}.json")
        tree.save(path)
        print(f"[dump] {session.device}: {_count(tree.node_count() - 1, 'node')} -> {path}", flush=True)

    return dump


def _campaign(args: argparse.Namespace) -> Any:
    is_url = args.fumo.startswith(("http://", "https://"))
    if args.fumo_operation == "Update" and is_url:
        raise omadm.UsageError("--fumo-operation Update sends the package itself: give a file, not a URL")
    package = args.fumo if is_url else _read(args.fumo)
    return omadm.fumo.Campaign(package, args.fumo_base, args.fumo_operation,
                               f"/fumo/{os.path.basename(args.fumo) or 'package.bin'}", args.fumo_descriptor,
                               args.fumo_version, args.fumo_on_request)


def _push_bootstrap(args: argparse.Namespace, server_id: str, url: str) -> None:
    """The bootstrap that gives the device at --notify this server's account (its address, the
    credentials and nonces of the session options), sealed with --bootstrap-key (and
    --bootstrap-imsi), pushed over UDP."""
    account = omadm.MemoryTree()
    omadm.bootstrap.install_account(account, server_id, url, args.auth, args.username, args.password,
                                    args.nonce.encode(), args.server_password, args.server_nonce.encode())
    made = omadm.bootstrap.message(account, server_id, args.bootstrap_device_id, args.bootstrap_key,
                                   args.bootstrap_security, args.bootstrap_imsi)
    host, port = args.notify
    sent = omadm.notification.send_push(omadm.bootstrap.wap_push(made), host, port)
    print(f"bootstrap ({sent} bytes, SEC={args.bootstrap_security}) sent to udp {host}:{port}", flush=True)


def _push(args: argparse.Namespace, server_id: str) -> None:
    """Package 0 for a new session, signed with the server's password, to a device that waits
    for one on UDP: a server-initiated session."""
    import secrets

    host, port = args.notify
    session_id = secrets.randbelow(0xFFFF) + 1
    data = omadm.notification.build(server_id, args.server_password or "", args.server_nonce.encode(), session_id)
    omadm.notification.send(data, host, port)
    print(f"package 0 for session {session_id:X} sent to udp {host}:{port}", flush=True)


def _replay(path: str) -> Any:
    return omadm.replay.Replay(_one_session([path]))


def _watch(device: str, direction: str, body: bytes) -> None:
    """A message as it passes, in one line."""
    print(f"{device} {'->' if direction == 'c2s' else '<-'} {_summary(body)}", flush=True)


def _passwords(path: str) -> dict[str, str]:
    """The devices' passwords by user name, from a JSON object."""
    try:
        passwords = json.loads(_read(path))
    except ValueError:
        passwords = None
    if not isinstance(passwords, dict) or not all(isinstance(v, str) for v in passwords.values()):
        raise omadm.UsageError(f'{path}: not a JSON object of user name to password ({{"dev1": "secret", ...}})')
    return passwords


def _device_tree(args: argparse.Namespace, server_id: str, account: bool = True) -> omadm.MemoryTree:
    """A device as a server finds a real one: DevInfo, DevDetail, and (unless it is yet to be
    bootstrapped) the DMAcc account for the server it is told to reach, with the credentials it
    is given."""
    tree = omadm.MemoryTree()
    tree.install_devinfo("IMEI:493005100592800", "omadm", "simulated")
    tree.install_devdetail(fw_v="1.0", sw_v=omadm.__version__, hw_v="1.0", dev_typ="simulated", oem="omadm")
    if account:
        omadm.bootstrap.install_account(tree, server_id, args.server, args.auth, args.username, args.password,
                                        args.nonce.encode(), args.server_password, args.server_nonce.encode())
    return tree


def _device_script(path: str | None) -> tuple[Any, Any, Any, Any]:
    """A device script's hooks: ``tree()`` (a fresh tree for each device), ``ui(code, options,
    text, choices)`` (answers UI alerts), ``setup(client)`` (runs before package 1),
    ``received(client, events)`` (runs after each server message) and ``firmware(tree)`` (the
    device's `omadm.fumo.Firmware`)."""
    if not path:
        return None, None, None, None
    found = _run_script(path)
    tree, ui, user_setup, received, firmware = (f if callable(f := found.get(k)) else None
                                                for k in ("tree", "ui", "setup", "received", "firmware"))
    if not (tree or ui or user_setup or received or firmware):
        raise omadm.UsageError(f"{path} defines none of tree(), ui(...), setup(client), received(client, events), "
                               "firmware(tree)")

    def setup(client: omadm.ClientSession) -> None:
        if ui:
            client.set_ui_handler(ui)
        if user_setup:
            user_setup(client)

    return tree, setup, received, firmware


def _one_device(args: argparse.Namespace, tree: Any, options: dict[str, Any],
                make_firmware: Callable[[Any], Any] | None) -> bool:
    """One session of a simulated device, its events printed; with --check, the rules its
    messages break too, however it ends. Whether they break any."""
    import omadm.http

    firmware = make_firmware(tree) if make_firmware else None
    if firmware is not None:
        options = {**options, "firmware": firmware}
    violations: list[omadm.Violation] = []
    if args.check:
        options = {**options, "violations": violations}
    try:
        events = omadm.http.device(args.server, tree, **options)
    except omadm.Error as e:  # what the session saw up to its end, then why it failed
        for seen in getattr(e, "events", []):
            print(seen)
        raise
    finally:
        if args.save_tree:  # the device keeps what the server did to it, and its next nonces
            tree.save(args.tree)
        if args.check:
            print(f"[check] {args.server}: {_count(len(violations), 'violation')}", flush=True)
            for v in violations:
                print(f"[check]   {v}", flush=True)
    for event in events:
        print(event)
    for report in firmware.done if firmware else ():
        print(f"[fumo] {report}", flush=True)
    return bool(violations)


def _firmware(args: argparse.Namespace, options: dict[str, Any]) -> Callable[[Any], Any]:
    """Gives a device's tree its firmware, which updates as --fumo says."""
    log = (lambda line: print(f"[fumo] {line}", flush=True)) if args.count == 1 or args.listen else None
    return lambda tree: omadm.fumo.Firmware(tree, args.fumo, args.fumo_result, args.fumo_version, options.get("tls"),
                                            log=log, request=args.fumo_request,
                                            keep=f"{args.tree}.fumo" if args.save_tree else None)


def _listen(args: argparse.Namespace, tree: Any, options: dict[str, Any],
            make_firmware: Callable[[Any], Any] | None) -> int:
    """A device on an IP network: it waits for package 0 (WAP push over UDP) and answers each
    with its session, ``--count`` of them, one after the other, with one tree: at --server, else
    at the address of the tree's account for the server that sent it. With --bootstrap-key or
    --imsi, a bootstrap pushed is applied, its MAC checked with the key they give."""
    import omadm.http

    host, port = args.listen
    failed = sessions = 0
    with omadm.notification.Listener(host, port) as listener:
        print(f"listening for package 0{' and bootstraps' if _checks_bootstraps(args) else ''} on udp "
              f"{host}:{listener.port}",
              flush=True)
        while sessions < args.count:
            try:
                data, (peer, peer_port) = listener.receive_push()
            except KeyboardInterrupt:
                break
            for sender, why in listener.dropped:
                print(f"[listen] dropped a datagram from {sender[0]}:{sender[1]}: {why}", file=sys.stderr)
            listener.dropped.clear()
            if isinstance(data, omadm.bootstrap.Bootstrap):
                refused = None if _checks_bootstraps(args) else "no --bootstrap-key or --imsi to check its MAC with"
                try:
                    if refused is None:
                        _bootstrapped(args, tree, data, f", pushed by {peer}:{peer_port}")
                except omadm.Error as e:
                    refused = _reason(e)
                if refused:
                    print(f"[listen] dropped a bootstrap from {peer}:{peer_port}: {refused}", file=sys.stderr,
                          flush=True)
                continue
            n = omadm.notification.parse(data)
            print(f"[listen] package 0 from {peer}:{peer_port}: session {n.session_id_hex} for {n.server_id!r}",
                  flush=True)
            server_id = args.server_id or n.server_id
            url = args.server or omadm.http.Account(tree, server_id).address
            if not url:
                print(f"[listen] dropped package 0 from {peer}:{peer_port}: no account for {server_id!r} yet",
                      file=sys.stderr, flush=True)
                continue
            sessions += 1
            try:  # its digest is checked with the server's password and nonce the device holds
                failed += _one_device(argparse.Namespace(**{**vars(args), "server": url}), tree,
                                      {**options, "notification": data, "server_id": server_id}, make_firmware)
            except (omadm.Error, OSError) as e:
                failed += 1
                print(f"[listen] session {n.session_id_hex}: {_reason(e)}", file=sys.stderr, flush=True)
    return 1 if failed else 0


def _device(args: argparse.Namespace) -> int:
    options = _session_options(args)
    try:
        return _devices(args, options)
    finally:
        if "nonces" in options:
            options["nonces"].save()


def _devices(args: argparse.Namespace, session_options: dict[str, Any]) -> int:
    import omadm.http

    make_tree, setup, received, make_firmware = _device_script(args.script)
    if make_firmware and args.fumo:
        raise omadm.UsageError(f"{args.script} gives the device its firmware (firmware(tree)): --fumo gives another")
    tls = None
    if args.cafile or args.insecure or args.cert:
        tls = omadm.http.device_tls(args.cafile, not args.insecure, args.cert, args.key)
    options = dict(server_id=args.server_id or "omadm", encoding="wbxml" if args.wbxml else "xml", setup=setup,
                   received=received, tls=tls, busy_retries=args.busy_retries, trace_dir=args.trace_dir,
                   **session_options)
    if args.show:
        options["watch"] = lambda direction, body: _watch("device", direction, body)
    if args.notification:
        # Its digest is checked first when the server's password is known (AuthError otherwise).
        data = omadm.notification.unwrap(_read(args.notification))
        pkg0 = omadm.notification.parse(data, args.server_password, args.server_nonce.encode())
        options.update(notification=pkg0, server_id=args.server_id or pkg0.server_id)
    if make_tree is not None and args.ddf:
        raise omadm.UsageError(f"{args.script} makes the device's tree (tree()): --ddf gives the tree of --tree, or "
                               "the default one, its management objects")
    if make_tree is not None and args.bootstrap:
        raise omadm.UsageError(f"{args.script} makes the device's tree (tree()): --bootstrap applies to the tree of "
                               "--tree, or the default one")
    if make_tree is None:
        if args.save_tree and _read(args.tree).lstrip().startswith(b"<"):
            raise omadm.UsageError(f"{args.tree} is a TNDS document, and --save-tree writes JSON: save the tree as "
                                   "JSON first (omadm.MemoryTree.load(FILE).save(FILE.json)) and give that")
        base = (omadm.MemoryTree.load(args.tree) if args.tree
                else _device_tree(args, options["server_id"], account=bool(args.server) and not args.bootstrap))
        if args.bootstrap:  # the server is then the one its account names, at the account's address
            raw = _read(args.bootstrap)
            got = omadm.bootstrap.unwrap(raw, args.bootstrap_type)
            options["server_id"] = _bootstrapped(args, base, got, ", out of a WAP push" if got.body is not raw else "")
            args.server = args.server or omadm.http.Account(base, options["server_id"]).address
            if not args.server:
                raise omadm.UsageError(f"{args.bootstrap} gives no address (AppAddr of AddrType URI) for the server "
                                       f"{options['server_id']!r}: give --server")
        for uri, ddf in args.ddf:  # the management objects it holds as their DDFs describe them
            base.set_ddf(ddf, uri)
        json_tree = base.to_json()
        make_tree = lambda: omadm.MemoryTree.from_json(json_tree)  # noqa: E731
    if args.fumo:
        make_firmware = _firmware(args, options)
    if args.listen:
        return _listen(args, make_tree(), options, make_firmware)
    if args.conformance:
        verdicts = omadm.conformance.check_server(args.server, make_tree, **options)
        print(omadm.conformance.report(args.server, verdicts), flush=True)
        if args.junit:
            _write(args.junit, omadm.conformance.junit([(args.server, verdicts)]))
        return 1 if any(v.outcome == "fail" for v in verdicts) else 0
    if args.count == 1:
        return 1 if _one_device(args, make_tree(), options, make_firmware) else 0

    tty, step = sys.stderr.isatty(), max(1, args.count // 10)

    def progress(done: int) -> None:
        """A bar on a terminal; in a log, a line at each tenth."""
        if tty:
            filled = 30 * done // args.count
            print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{args.count}", end="", file=sys.stderr, flush=True)
        elif done % step == 0 or done == args.count:
            print(f"{done}/{args.count} sessions", file=sys.stderr, flush=True)

    import collections

    why: collections.Counter[str] = collections.Counter()

    def failure(device_id: str, error: BaseException) -> None:
        why[_reason(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"] += 1

    sessions: list[float] = []
    exchanges: list[float] = []

    def timing(device_id: str, seconds: float, round_trips: list[float]) -> None:
        sessions.append(seconds)
        exchanges.extend(round_trips)

    updated: list[Any] = []  # each device's firmware, with --fumo

    def firmware(tree: Any) -> Any:
        updated.append(make_firmware(tree))
        return updated[-1]

    ok, failed, seconds = omadm.http.devices(args.server, make_tree, args.count, args.concurrency, progress, failure,
                                             timing, firmware if make_firmware else None, **options)
    if tty:
        print(file=sys.stderr)
    each = "device" if make_firmware else "session"  # a device that updates has a session more
    print(f"{_count(ok, each)} ok, {failed} failed, {ok / seconds:.1f} {each}s/s")
    for name, times in (("session", sessions), ("exchange", exchanges)):
        if times:
            print(f"  {name} {_percentiles(times)}")
    for reason, n in why.most_common(5):
        print(f"  {n} failed with {reason}")
    outcomes = collections.Counter(f"{r.operation} {r.code} {omadm.fumo.meaning(r.code)}" for f in updated
                                   for r in f.done)
    for outcome, n in outcomes.most_common():
        print(f"  [fumo] {n} {outcome}")
    return 1 if failed else 0


def _bootstrapped(args: argparse.Namespace, tree: omadm.MemoryTree, got: omadm.bootstrap.Bootstrap, came: str) -> str:
    """Applies a bootstrap (``came``: where from) to ``tree``, its MAC checked with
    --bootstrap-key and --imsi; the server it gives an account for (unless --server-id says another)."""
    applied = omadm.bootstrap.apply(tree, got.body, got.content_type, args.bootstrap_key, imsi=args.imsi)
    checked = "its MAC checked" if _checks_bootstraps(args) else "its MAC not checked"
    print(f"[bootstrap] {_count(len(applied.uris), 'node')} from {applied.server_id}{came}, {checked}", flush=True)
    return str(args.server_id or applied.server_id)


def _checks_bootstraps(args: argparse.Namespace) -> bool:
    """Whether the device has a secret to check a bootstrap's MAC with (the PIN, its IMSI)."""
    return bool(args.bootstrap_key or args.imsi)


def _bootstrap(args: argparse.Namespace) -> int:
    account = omadm.MemoryTree.load(args.tree) if args.tree else omadm.MemoryTree()
    omadm.bootstrap.install_account(account, args.server_id, args.server, args.auth, args.username, args.password,
                                    server_password=args.server_password)
    made = omadm.bootstrap.message(account, args.server_id, args.device_id, args.key, args.security, args.imsi)
    pdu = omadm.bootstrap.wap_push(made)
    _write(args.output, pdu if args.wap_push else made.body)
    if args.wap_push:
        print(f"{args.output}: {len(pdu)} bytes for {args.device_id}, a WAP push (WSP Push PDU) of Content-Type: "
              f"{made.content_type}")
    else:
        print(f"{args.output}: {len(made.body)} bytes for {args.device_id}\nContent-Type: {made.content_type}")
    if args.sms:
        _print_sms(pdu)
    if args.send:
        _print_sent(omadm.notification.send_push(pdu, *args.send), args.send)
    return 0


def _percentiles(seconds: list[float]) -> str:
    """The median, 95th and 99th percentiles (nearest rank) and the longest, in milliseconds."""
    ordered = sorted(seconds)
    rank = {q: ordered[max(0, -(-q * len(ordered) // 100) - 1)] for q in (50, 95, 99)}
    return ", ".join(f"p{q} {t * 1000:.1f} ms" for q, t in rank.items()) + f", max {ordered[-1] * 1000:.1f} ms"


def _fumo_result(text: str) -> int:
    code = _whole(text)
    if not 200 <= code <= 599:
        raise argparse.ArgumentTypeError(f"a FUMO result code is 200-599, not {code}")
    return code


def _whole(text: str, least: int = 0) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < least:
        raise argparse.ArgumentTypeError(f"not a {'positive ' if least else ''}whole number: {text!r}")
    return int(text)


def _positive(text: str) -> int:
    return _whole(text, least=1)


def _session_id(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        value = 0
    if not 1 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"not a session id (1..65535, or 0x1..0xFFFF): {text!r}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (0..65535): {text!r}")
    return int(text)


def _udp_address(text: str) -> tuple[str, int]:
    """[HOST:]PORT (an IPv6 HOST in brackets); the host is 127.0.0.1 without one."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"not [HOST:]PORT with a UDP port (0..65535): {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _url(text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL: {text!r}")
    return text


def _count(n: int, noun: str) -> str:
    return f"{n or 'no'} {noun}{'' if n == 1 else 's'}"


def _session_arguments(p: argparse.ArgumentParser, device: bool) -> None:
    p.add_argument("--auth", choices=["none", "basic", "md5", "hmac"], default="none",
                   help="how the client authenticates (default: none)")
    p.add_argument("--username", help="the client's user name: the device's own, or the one the server expects")
    p.add_argument("--password", help="the client's password (the HMAC secret too)")
    p.add_argument("--nonce", default="", help="the nonce md5/HMAC digests start with")
    p.add_argument("--server-id", help="the server's identifier (default: omadm"
                   + ("; with --notification, the notification's)" if device else ")"))
    p.add_argument("--server-password", help="the server authenticates itself with its identifier and this "
                   "password, and the device checks it" + (" (a notification's digest too)" if device else ""))
    p.add_argument("--server-nonce", default="", help="the nonce the server's md5 digest starts with"
                   + (" (a notification's too)" if device else ""))
    p.add_argument("--wbxml", action="store_true", help="speak WBXML (default: a device speaks XML, a server "
                   "answers in the encoding the device speaks)")
    p.add_argument("--max-msg-size", type=_positive, help="the MaxMsgSize to announce (larger objects go in chunks)")
    p.add_argument("--nonce-file", help="keep each device's nonces for its next session (the NextNonce each side was "
                   "given) in this JSON file, across runs, as " + ("a device" if device else "a server")
                   + " that stores them: the next session needs no challenge")
    p.add_argument("--lenient", action="store_true", help="take what real peers send that is not valid")
    p.add_argument("--accept-dm11", action="store_true", help="take DM 1.1.2 headers (VerDTD 1.1, DM/1.1)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="omadm", description="OMA DM 1.2.1 (SyncML DM) tools")
    p.add_argument("--version", action="version", version=f"omadm {omadm.__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decode", help="print a message (XML or WBXML) as pretty XML or JSON")
    d.add_argument("file", help="a file, or - for standard input")
    d.add_argument("--json", action="store_true", help="the message as JSON (Message.to_dict), not XML")
    d.add_argument("--lenient", action="store_true", help="accept what real peers send that is not valid")
    d.set_defaults(run=_decode)
    e = sub.add_parser("encode", help="convert a message to WBXML or XML")
    e.add_argument("file", help="a message, XML or WBXML; - for standard input")
    e.add_argument("--lenient", action="store_true", help="accept what real peers send that is not valid (a "
                   "captured message to convert as it is)")
    e.add_argument("--to", choices=["wbxml", "xml"], required=True)
    e.add_argument("-o", "--output", help="where to write it (default: standard output)")
    e.set_defaults(run=_encode)
    n = sub.add_parser("notify", help="build or parse a package-0 notification")
    actions = n.add_subparsers(dest="action", required=True)
    signed = argparse.ArgumentParser(add_help=False)
    signed.add_argument("--nonce", default="", help="the nonce of the digest (default: empty)")
    nb = actions.add_parser("build", parents=[signed], help="a notification signed with the server's password")
    nb.add_argument("--server-id", required=True, help="the server identifier it carries")
    nb.add_argument("--password", required=True, help="the server's password, which signs it")
    nb.add_argument("--session-id", type=_session_id, default=1,
                    help="1..65535, or 0x1..0xFFFF; package 1 carries it as upper-case hex (default: 1)")
    nb.add_argument("--ui-mode", type=int, default=0, choices=range(4),
                    help="0 not specified, 1 background, 2 informative, 3 user interaction")
    nb.add_argument("-o", "--output", default="notification.bin", help="where to write it")
    nb.add_argument("--wap-push", action="store_true", help="write it as a WAP push (WSP Push PDU)")
    nb.add_argument("--sms", action="store_true", help=_SMS_HELP)
    np = actions.add_parser("parse", parents=[signed], help="what a notification says, and whether its digest matches")
    np.add_argument("file", help="the notification, bare or in a WAP push (WSP Push PDU)")
    np.add_argument("--password", help="the server's password: the digest is checked with it")
    ns = actions.add_parser("send", help="push a notification to a device on an IP network: a WAP push in a UDP "
                            "datagram (device --listen receives it)")
    ns.add_argument("file", help="the notification, bare (it goes in a WAP push) or in a WAP push")
    ns.add_argument("--to", type=_udp_address, default=("127.0.0.1", PUSH_PORT), metavar="[HOST:]PORT",
                    help=f"the device's address (default: 127.0.0.1:{PUSH_PORT}, WDP's push port)")
    n.set_defaults(run=_notify)
    c = sub.add_parser("check", help="the rules a captured session breaks, by rule id (exit 1 if any)")
    c.add_argument("paths", nargs="+", help="message files in order (c2s/s2c in their names), a directory, .jsonl, "
                   "a network capture (pcap, pcapng: plain HTTP) or an HTTP capture (.har)")
    c.add_argument("--show", action="store_true", help="print each message first: an annotated trace")
    c.add_argument("--json", action="store_true", help="the verdicts as JSON: each session's name, how many messages, "
                   "its violations (rule, msg_index, detail)")
    c.add_argument("--client-cred", metavar="USER:PASSWORD", help="verify the device's Cred (basic, md5) and HMAC "
                   "(x-syncml-hmac, where a capture or a trace directory kept it) with these "
                   "(rule Cred: why one does not match, and a server that accepted it)")
    c.add_argument("--passwords", metavar="FILE", help="instead of --client-cred, the devices' passwords by user name "
                   "(a JSON object, as serve --passwords takes): each device's Cred and HMAC verified as the user it "
                   "names")
    c.add_argument("--server-cred", metavar="USER:PASSWORD", help="verify the server's Cred and HMAC with these")
    c.add_argument("--client-nonce", metavar="TEXT", help="the nonce the device's first md5 Cred or HMAC uses (given "
                   "in an earlier session); without it that one is not judged")
    c.add_argument("--server-nonce", metavar="TEXT", help="the nonce the server's first md5 Cred or HMAC uses")
    c.add_argument("--bootstrap-key", metavar="SECRET", help="check the MAC of each bootstrap in a WAP push file with "
                   "this key (the PIN; with --imsi, the PIN USERPIN_NETWORKID takes): rule Bootstrap when it does not "
                   "match")
    c.add_argument("--imsi", help="check the MAC of each bootstrap in a WAP push file with the key its SEC takes "
                   "from the device's IMSI (and --bootstrap-key, the PIN)")
    c.set_defaults(run=_check)
    x = sub.add_parser("extract", help="write the messages of captured sessions to files, one each, as serve "
                       "--trace-dir does; or the device's tree as a session shows it")
    x.add_argument("paths", nargs="+", help="what check reads: a network capture (pcap, pcapng), .har, .jsonl, ...")
    into = x.add_mutually_exclusive_group(required=True)
    into.add_argument("-o", "--output", help="the directory to write the messages to")
    into.add_argument("--tree", help="write the device's tree (DevInfo, what Gets read, what the server replaced "
                      "or added) as JSON to this file instead, for omadm device --tree: a device to stand in for it")
    x.set_defaults(run=_extract)
    df = sub.add_parser("diff", help="what a device answered differently in one captured session from another of "
                        "the same server's (exit 1 if anything): DevInfo, each command's status, what each Get gave")
    df.add_argument("before", help="the first session: what check reads (a capture, a trace directory, ...)")
    df.add_argument("after", help="the second session, of the same server's commands")
    df.set_defaults(run=_diff)
    f = sub.add_parser("fumo", help="the firmware updates captured sessions show: each started (an Exec on a FUMO "
                       "operation) with the device's answer, and the outcome it reported (exit 1 if one failed)")
    f.add_argument("paths", nargs="+", help="what check reads: a network capture (pcap, pcapng), .har, a trace "
                   "directory, ...")
    f.add_argument("--json", action="store_true", help="each update as JSON")
    f.set_defaults(run=_fumo)
    d = sub.add_parser("ddf", help="the nodes of a device's tree that do not keep a DDF (exit 1 if any)")
    d.add_argument("ddf", help="the DDF document (an MO's, or the device vendor's)")
    d.add_argument("tree", help="the device's tree: JSON (omadm extract --tree) or a TNDS document (.?list=TNDS)")
    d.add_argument("--base", default=".", help="where the DDF's top nodes without a Path are (default: the root; "
                   "for an MO whose top node has no name, the node it is at, ./FUMO say)")
    d.set_defaults(run=_ddf)
    b = sub.add_parser("bootstrap", help="a bootstrap message (the OMA DM profile): the DMAcc account that lets a "
                       "device reach a server it does not know yet, in WBXML, its MAC in the Content-Type printed")
    b.add_argument("--server", required=True, type=_url, help="the server's URL: the account's address")
    b.add_argument("--server-id", default="omadm", help="the server's identifier (default: omadm)")
    b.add_argument("--device-id", default="IMEI:493005100592800", help="the device it is for (its DevId)")
    b.add_argument("--auth", choices=["none", "basic", "md5", "hmac"], default="none",
                   help="how the device is to authenticate (default: none)")
    b.add_argument("--username", help="the device's user name")
    b.add_argument("--password", help="the device's password")
    b.add_argument("--server-password", help="the password the server authenticates itself with")
    b.add_argument("--security", choices=omadm.bootstrap.SECURITIES, default="USERPIN",
                   help="how the MAC's key was agreed (default: USERPIN)")
    b.add_argument("--key", help="the MAC's key: the PIN the user is given (USERPIN); with --imsi, the PIN alone "
                   "(USERPIN_NETWORKID); without, any key a method takes (a NETWORKID secret of another network)")
    b.add_argument("--imsi", help="the device's IMSI: the key of NETWORKID (in semi-octets, as the SIM holds it), "
                   "or with --key that of USERPIN_NETWORKID")
    b.add_argument("--tree", help="more nodes to give the device with the account (a connectivity object, say), as "
                   "MemoryTree JSON or a TNDS document: each node below the top level is added")
    b.add_argument("-o", "--output", default="bootstrap.wbxml", help="where to write it (default: bootstrap.wbxml)")
    b.add_argument("--wap-push", action="store_true", help="write it as a WAP push (WSP Push PDU, Content-Type 0x42 "
                   "with SEC and MAC)")
    b.add_argument("--sms", action="store_true", help=_SMS_HELP)
    b.add_argument("--send", type=_udp_address, metavar="[HOST:]PORT",
                   help="push it to a device on an IP network: the WAP push in a UDP datagram (device --listen with "
                   "--bootstrap-key receives it)")
    b.set_defaults(run=_bootstrap)
    m = sub.add_parser("demo", help="a whole session over loopback HTTP between the built-in server and a simulated "
                       "device, printed as an annotated trace")
    m.set_defaults(run=_demo)
    sv = sub.add_parser("serve", help="an HTTP DM server that runs a script against each device")
    sv.add_argument("--port", type=_port, default=8080,
                    help="0 picks a free port; the URL is printed first (default: 8080)")
    sv.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, loopback)")
    sv.add_argument("--script",
                    help="a Python file defining run(session) (default: read DevInfo/Mod and DevDetail/FwV)")
    sv.add_argument("--replay", help="instead of a script, play the server side of a captured session again (a "
                    "capture, trace directory or message files of one session) and print what each device answers "
                    "differently")
    sv.add_argument("--conformance", nargs="?", const=".", metavar="ROOT",
                    help="instead of a script, check each device's conformance to OMA DM 1.2.1 and print a verdict "
                    "for each check: DevInfo, Get, properties, Add, Replace, Delete, Atomic, Sequence, large objects, "
                    "UI alerts; what it writes goes below ROOT/omadm-conformance, removed at the end (default ROOT: .); "
                    "the server takes messages of 8 KiB unless --max-msg-size says otherwise")
    sv.add_argument("--ddf", action="append", default=[], type=_ddf_argument, metavar="URI=FILE",
                    help="with --conformance: hold the management object at URI, as the device lists it, to the DDF "
                    "in FILE (a check 'ddf URI'; its top node without a name is the node at URI); again for another")
    sv.add_argument("--dump-tree", metavar="DIR",
                    help="instead of a script, read each device's whole tree (.?list=TNDS) and write it to "
                    "DIR/DEVICE.json, for omadm device --tree: a simulated device that answers as the real one")
    sv.add_argument("--fumo", metavar="PACKAGE",
                    help="instead of a script, update each device's firmware (OMA FUMO): PACKAGE is a URL, or a file "
                    "this server serves for the download; a device that reports the outcome (its Generic Alert) has "
                    "it printed, and ./DevDetail/FwV read")
    sv.add_argument("--fumo-base", default="./FUMO", metavar="URI", help="where the device's FUMO object is "
                    "(default: ./FUMO)")
    sv.add_argument("--fumo-operation", choices=["DownloadAndUpdate", "Download", "Update"],
                    default="DownloadAndUpdate", help="the operation to Exec (default: DownloadAndUpdate); Update "
                    "sends the package file itself, in PkgData")
    sv.add_argument("--fumo-on-request", action="store_true", help="update only the devices that ask for an "
                    "update (a devicerequest or userrequest Generic Alert)")
    sv.add_argument("--fumo-version", metavar="V", help="the package's firmware version: a device whose "
                    "./DevDetail/FwV is V already is left alone")
    sv.add_argument("--fumo-descriptor", action="store_true",
                    help="point the device to a download descriptor (OMA DL) for the package file, and print the "
                    "install notifications it posts")
    sv.add_argument("--notify", type=_udp_address, metavar="[HOST:]PORT",
                    help="once listening, push package 0 (a WAP push over UDP, signed with --server-password and "
                    "--server-nonce) to a device that waits for one (device --listen): a server-initiated session")
    sv.add_argument("--bootstrap-key", metavar="SECRET", help="with --notify: push a bootstrap first, sealed with this "
                    "key, that gives the device this server's account (its address, the credentials and nonces "
                    "given here): a device out of the box is provisioned, then managed")
    sv.add_argument("--bootstrap-security", choices=omadm.bootstrap.SECURITIES, default="USERPIN",
                    help="how the bootstrap's key was agreed (default: USERPIN)")
    sv.add_argument("--bootstrap-imsi", metavar="IMSI", help="with --notify: push a bootstrap first, sealed with the "
                    "key --bootstrap-security takes from the device's IMSI (and --bootstrap-key, the PIN)")
    sv.add_argument("--bootstrap-device-id", default="IMEI:493005100592800",
                    help="the device the bootstrap is for (its DevId, the message's Target)")
    sv.add_argument("--junit", metavar="FILE", help="with --conformance: write the verdicts there as a JUnit XML "
                    "report (a test suite a device, a test case a check), rewritten after each session")
    sv.add_argument("--once", action="store_true",
                    help="serve one session, then exit: 1 when it failed, did not end, its script returned "
                    "what it found wrong (a replay's differences, the checks a conformance run failed, a failed "
                    "firmware update), or --check found a rule broken; with --fumo, the session the device reports "
                    "its update in")
    sv.add_argument("--check", action="store_true", help="hold each session's messages to the trace checker's rules "
                    "as omadm check does, and print what they break once it is over: the slips a device's "
                    "session is taken with too")
    sv.add_argument("--trace-dir", help="write every message there, one file each")
    sv.add_argument("--show", action="store_true", help="print each message as it passes, in one line")
    sv.add_argument("--max-sessions", type=_positive, default=1000,
                    help="sessions held at once; a device that would start one more is answered 503 (default: 1000)")
    sv.add_argument("--max-connections", type=_positive, default=2000,
                    help="connections open at once, a thread each; one more is answered 503 and closed (default: 2000)")
    sv.add_argument("--cert", help="speak HTTPS with this certificate chain (PEM)")
    sv.add_argument("--key", help="the certificate's private key (PEM), if not in --cert's file")
    sv.add_argument("--passwords", help="the devices' passwords by user name, a JSON object (with --auth): "
                    "each device listed may connect with its own")
    _session_arguments(sv, device=False)
    sv.set_defaults(run=_serve)
    dv = sub.add_parser("device", help="simulated device(s) against a DM server")
    dv.add_argument("--server", type=_url, help="the server URL (with --bootstrap: the address of the account it "
                    "gives, unless given)")
    dv.add_argument("--tree", help="the device tree, as JSON or a TNDS document (default: DevInfo, DevDetail and a "
                    "DMAcc account for the server, with the credentials given); without --auth, the credentials of "
                    "its DMAcc account for the server")
    dv.add_argument("--bootstrap", metavar="FILE", help="apply this bootstrap message, bare or in a WAP push (omadm "
                    "bootstrap writes either) "
                    "to the device's tree first, as a device out of the box: the server is then the one its account "
                    "names, reached at the account's address, with the account's credentials")
    dv.add_argument("--bootstrap-type", metavar="CONTENT-TYPE", default=omadm.bootstrap.CONTENT_TYPE,
                    help="the Content-Type the bootstrap came with, its SEC and MAC in it (a WAP push carries its own)")
    dv.add_argument("--bootstrap-key", metavar="SECRET", help="check the bootstrap's MAC with this key (the PIN, the "
                    "network's secret); without it or --imsi the MAC is not checked. With --listen, a bootstrap pushed "
                    "over UDP is applied only with one of them")
    dv.add_argument("--imsi", help="the device's IMSI: a bootstrap's MAC is checked with the key its SEC takes from it "
                    "(NETWORKID; USERPIN_NETWORKID with --bootstrap-key the PIN; USERPIN the PIN alone)")
    dv.add_argument("--save-tree", action="store_true", help="write the tree back to --tree's file after the "
                    "session, as a device keeps its state: what the server changed, its DMAcc nonces; with --fumo, "
                    "FILE.fumo keeps an update not done or not reported yet for the next run")
    dv.add_argument("--count", type=_positive, default=1, help="how many devices, a session each (default: 1); "
                    "with --listen, how many notifications one device answers")
    dv.add_argument("--concurrency", type=_positive, default=1, help="how many sessions at once (default: 1)")
    dv.add_argument("--script", help="a Python file defining any of tree(), ui(code, options, text, choices), "
                    "setup(client), received(client, events), firmware(tree)")
    dv.add_argument("--notification", help="the package 0 asking for the session, bare or in a WAP push: the "
                    "device answers it (Alert 1200, its SessionID)")
    dv.add_argument("--listen", type=_udp_address, metavar="[HOST:]PORT",
                    help=f"wait for package 0 pushed over UDP (a WAP push, as WDP over IP carries it to port "
                    f"{PUSH_PORT}; notify send pushes one) and answer each with a session, --count of them in turn, "
                    "with one tree; on 127.0.0.1 without a HOST")
    dv.add_argument("--conformance", action="store_true",
                    help="check the server's conformance to OMA DM 1.2.1 instead: a session for each check (XML, WBXML, "
                    "a small MaxMsgSize, a Generic Alert, a device abort), each held to the rules; exit 1 if one fails")
    dv.add_argument("--junit", metavar="FILE", help="with --conformance: write the verdicts there as a JUnit XML report")
    dv.add_argument("--trace-dir", help="write every message of each session there, one file each, however the "
                    "session ends (omadm check DIR reads them)")
    dv.add_argument("--show", action="store_true", help="print each message as it passes, in one line")
    dv.add_argument("--ddf", action="append", default=[], type=_ddf_argument, metavar="URI=FILE",
                    help="give the device the management object the DDF in FILE describes, at URI (the nodes it "
                    "requires, and the named ones it gives a DefaultValue); again for another")
    dv.add_argument("--check", action="store_true", help="hold each session's messages to the trace checker's rules "
                    "as omadm check does, print what they break, and exit 1 on any (--conformance always does)")
    dv.add_argument("--fumo", nargs="?", const="./FUMO", metavar="URI",
                    help="update firmware as the server asks (OMA FUMO): the object at URI (default: ./FUMO), made "
                    "where the tree has none; an Exec on Download, Update or DownloadAndUpdate is answered 202, done "
                    "after the session (the package fetched from PkgURL) and reported in a session of its own")
    dv.add_argument("--fumo-result", type=_fumo_result, default=200, metavar="CODE",
                    help="the result the update reports (default: 200, Successful; 402 Corrupted Firmware Update "
                    "Package, 410 Firmware Update Failed, ...)")
    dv.add_argument("--fumo-version", metavar="V", help="./DevDetail/FwV after a successful update")
    dv.add_argument("--fumo-request", choices=["device", "user"],
                    help="with --fumo: ask the server for an update in the first session (a devicerequest or "
                    "userrequest Generic Alert)")
    dv.add_argument("--busy-retries", type=_whole, default=0,
                    help="send a message the server is too busy for (HTTP 503, 429) again, up to this many times, "
                    "after the Retry-After it gives (default: 0, fail at once)")
    dv.add_argument("--cafile", help="HTTPS: trust this authority (PEM) besides the system's")
    dv.add_argument("--insecure", action="store_true", help="HTTPS: check no certificate (a test server's own)")
    dv.add_argument("--cert", help="HTTPS: the device's certificate chain (PEM), for a server that asks for one")
    dv.add_argument("--key", help="the device certificate's private key (PEM), if not in --cert's file")
    _session_arguments(dv, device=True)
    dv.set_defaults(run=_device)
    args = p.parse_args(argv)
    if args.command == "device" and args.save_tree and (
            args.tree is None or (args.count != 1 and not args.listen) or args.script):
        dv.error("--save-tree needs --tree, one device and no --script")
    if args.command == "device" and not (args.server or args.bootstrap or args.listen):
        dv.error("--server is required: the server to reach (or --bootstrap, whose account names it, or --listen: "
                 "the tree's account for the server that pushes package 0, or one a bootstrap pushed gives)")
    if args.command == "device" and args.bootstrap and (args.conformance or (args.script and not args.tree)):
        dv.error("--bootstrap applies to the tree of --tree, or the default one: not with --conformance or --script")
    if args.command == "device" and args.fumo_request and not args.fumo:
        dv.error("--fumo-request asks for an update --fumo does")
    if args.command == "device" and args.fumo and args.conformance:
        dv.error("--fumo updates the device's firmware as a server asks: not with --conformance")
    if args.command == "serve" and (args.bootstrap_key or args.bootstrap_imsi) and not args.notify:
        sv.error("--bootstrap-key and --bootstrap-imsi push a bootstrap before package 0: give --notify [HOST:]PORT too")
    if args.command == "bootstrap" and not (args.key or args.imsi):
        b.error("the MAC needs a key: --key, or --imsi (with --key the PIN for USERPIN_NETWORKID)")
    if args.command == "serve" and args.ddf and not args.conformance:
        sv.error("--ddf is a check of --conformance: give it too")
    if args.command in ("device", "serve") and args.junit and not args.conformance:
        (dv if args.command == "device" else sv).error("--junit reports the checks of --conformance: give it too")
    if args.command == "device" and args.conformance and (args.listen or args.notification or args.count != 1):
        dv.error("--conformance runs its own sessions: it takes no --listen, --notification or --count")
    if args.command == "device" and args.listen and (args.notification or args.concurrency != 1):
        dv.error("--listen answers the notifications it receives, one after the other: it takes no --notification "
                 "and no --concurrency")
    if args.command == "device" and (args.show or args.check) and args.count != 1 and not args.listen:
        dv.error(f"{'--show prints' if args.show else '--check checks'} one device's messages: it takes no --count")
    if args.command == "serve" and sum(map(bool, (args.replay, args.script, args.conformance, args.fumo,
                                                   args.dump_tree))) > 1:
        sv.error("--script, --replay, --conformance, --fumo and --dump-tree each give the server its script: "
                 "one of them")
    if args.command == "serve" and args.passwords and args.auth == "none":
        sv.error("--passwords needs --auth basic, md5 or hmac: without it any device is taken")
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader went away (`omadm decode ... | head`): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (omadm.Error, OSError) as err:  # one clear line, non-zero exit
        print(f"omadm {args.command}: {_reason(err)}", file=sys.stderr)
        return 1


def _reason(err: BaseException) -> str:
    """What went wrong, in words: an HTTP failure says so rather than as urllib's repr."""
    import urllib.error

    if isinstance(err, urllib.error.HTTPError):
        return f"the server answered HTTP {err.code} {err.reason} ({err.url})"
    if isinstance(err, urllib.error.URLError):
        reason = err.reason.strerror if isinstance(err.reason, OSError) and err.reason.strerror else err.reason
        return f"cannot reach the server: {reason}"
    return str(err)


if __name__ == "__main__":
    sys.exit(main())
