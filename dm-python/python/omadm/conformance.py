"""Conformance to OMA DM 1.2.1, either way.

A device's, as a server finds it: ``Conformance()`` is a server
script (``omadm.http.Server(Conformance())``, ``omadm serve --conformance``) that runs a set of
checks against the device that connects and gives each a verdict: passed, failed, not supported
(an answer the spec lets a device give for what it leaves out: 406 for an optional feature, 501
for a command it does not implement, 413 for an object past its MaxObjSize), or skipped (the
device does not let this server add nodes). The properties every node MUST have (Format, ACL,
Type) and the tree's commands (Get, Add, Replace, Delete) are not optional.

It changes nothing outside its own scratch node: it reads DevInfo (and lists the management
objects given with their DDFs, each held to its DDF), and adds, changes and deletes only below
``{root}/omadm-conformance``, removed at the end. The rules every message must keep
are the trace checker's: serve with ``check=True`` (``omadm serve --conformance --check``), and
``rules(session.violations)`` is their verdict, one more check of the run.

A server's, as a device finds it: ``check_server(url, tree)`` runs sessions against it as a
simulated device, each with a turn a device may give it (WBXML, a small MaxMsgSize, a Generic
Alert, an abort; with credentials in the options, a stale nonce, a wrong password, which the
server must never take, and the server's own credentials),
and checks each session with the trace checker and for what its turn asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from . import Error, MemoryTree, UsageError, check, decode
from .replay import _listing

__all__ = ["Conformance", "Verdict", "check_server", "junit", "report", "rules"]

PASS, FAIL, UNSUPPORTED, SKIPPED = "pass", "fail", "unsupported", "skipped"
DEVINFO = ("DevId", "Man", "Mod", "DmV", "Lang")
# The ACL the scratch leaf is given: a node the server adds without Replace rights on its
# parent gets Add, Delete and Replace for that server, not Get (facts §ACL).
LEAF_ACL = "Get=*&Replace=*&Delete=*"
# The MaxMsgSize a server checking a device announces (``omadm serve --conformance``), below
# the large object's size: the device's Results of it come in chunks.
SERVER_MESSAGES = 8 * 1024


@dataclass(frozen=True)
class Verdict:
    """One check: its name, ``pass``, ``fail``, ``unsupported`` or ``skipped``, and what the
    device answered."""

    check: str
    outcome: str
    detail: str

    def __str__(self) -> str:
        return f"{self.outcome.upper():<11} {self.check}: {self.detail}"


def rules(violations: list[Any]) -> Verdict:
    """The trace checker's verdict on a session's messages (``omadm.check``'s violations, as a
    server with ``check=True`` keeps them): a check named ``rules``, failed by any."""
    if not violations:
        return Verdict("rules", PASS, "every message keeps the rules omadm check holds it to")
    return Verdict("rules", FAIL, "; ".join(str(v) for v in violations))


def report(name: str, verdicts: list[Verdict]) -> str:
    """A run's verdicts as the tool prints them: how many of each outcome, then a line a check."""
    counts = {o: sum(v.outcome == o for v in verdicts) for o in (PASS, FAIL, UNSUPPORTED, SKIPPED)}
    head = f"[conformance] {name}: " + ", ".join(f"{n} {o}" for o, n in counts.items() if n)
    return "\n".join([head] + [f"[conformance]   {v}" for v in verdicts])


def _said(p: Any) -> str:
    """A command's answer in short: its status, and its value when it has one."""
    value = p.value if p.status == 200 and p.items else None
    if isinstance(value, (str, bytes)) and len(value) > 40:
        value = f"<{len(value)} bytes>"
    return f"{p.status}" + (f" {value!r}" if value is not None else "")


class Conformance:
    """The server script; see the module's doc. ``root`` is where the scratch node goes (the
    device must let this server add there: the tree's root does by default, ACL ``Add=*&Get=*``);
    ``large_object`` the size of the value that goes each way, in chunks where it is larger than
    the receiver's MaxMsgSize (give the server ``max_msg_size=SERVER_MESSAGES``, as ``omadm serve
    --conformance`` does); ``ddfs``, (URI, DDF document) pairs, the management objects to hold
    to their DDF (a check ``ddf URI`` each): the subtree at URI as the device lists it
    (``?list=TNDS+Format+Type``), against the DDF with its top nodes at URI (see
    ``MemoryTree.check_ddf``: an MO's top node without a name, as OMA's are, is the node at URI)."""

    def __init__(self, root: str = ".", large_object: int = 24 * 1024,
                 ddfs: Iterable[tuple[str, str]] = ()) -> None:
        self.scratch = f"{root.rstrip('/')}/omadm-conformance"
        self.large_object = large_object
        self.ddfs = list(ddfs)
        for _, ddf in self.ddfs:  # a DDF that cannot be read is the caller's error, said now
            MemoryTree().check_ddf(ddf)

    def __call__(self, session: Any) -> list[Verdict]:
        """Runs the checks; prints them, keeps them on the session as ``verdicts``, and returns
        those that failed."""
        verdicts: list[Verdict] = []
        session.verdicts = verdicts
        try:
            for check in (self._devinfo, self._reads, self._writes, self._ui, self._described):
                check(session, verdicts)
        except Error as e:  # the device ended the session, or went away
            verdicts.append(Verdict("session", FAIL, f"ended before the checks did: {e}"))
        print(report(getattr(session, "device", "") or "the device", verdicts), flush=True)
        return [v for v in verdicts if v.outcome == FAIL]

    @staticmethod
    def _devinfo(session: Any, out: list[Verdict]) -> None:
        missing = [n for n in DEVINFO if f"./DevInfo/{n}" not in session.devinfo]
        out.append(Verdict("devinfo", FAIL if missing else PASS,
                           f"package 1 lacked {', '.join(missing)}" if missing else "package 1 held " + ", ".join(DEVINFO)))

    @staticmethod
    def _reads(session: Any, out: list[Verdict]) -> None:
        man = session.get("./DevInfo/Man")
        missing = session.get("./DevInfo/omadm-no-such-node")
        interior = session.get("./DevInfo")
        props = {name: session.get(uri) for name, uri in
                 (("Format", "./DevInfo/Man?prop=Format"), ("ACL", "./DevInfo/Man?prop=ACL"),
                  ("Type", "./DevInfo?prop=Type"))}
        struct = session.get("./DevInfo?list=Struct")
        said = session.devinfo.get("./DevInfo/Man")
        out.append(_expect("get-leaf", man, man.status == 200 and man.value == said,
                           f"package 1 said {said!r}"))
        out.append(_expect("get-missing", missing, missing.status == 404, "a missing node gives 404"))
        children = str(interior.value or "").split("/")
        known = [n for n in DEVINFO if f"./DevInfo/{n}" in session.devinfo]
        node = interior.status == 200 and bool(interior.items) and interior.items[0].get("format") == "node"
        out.append(_expect("get-interior", interior, node and all(n in children for n in known),
                           "an interior node gives its children's names, Format node"))
        for name, p in props.items():
            ok = p.status == 200 and (name != "Format" or p.value == "chr")
            out.append(_expect(f"property-{name.lower()}", p, ok, f"{name} is a property every node MUST have"))
        listed = [i.get("uri") for i in struct.items] if struct.status == 200 else []
        out.append(_expect("list-struct", struct, "./DevInfo/Man" in listed, "a node per item, ./DevInfo/Man among them",
                           optional=True))

    def _writes(self, session: Any, out: list[Verdict]) -> None:
        s, leaf, missing = self.scratch, f"{self.scratch}/Leaf", f"{self.scratch}/Missing"
        added = session.add(s, None, format="node")
        if added.status == 418:  # left by a run that did not finish
            session.delete(s)
            added = session.add(s, None, format="node")
        if added.status in (405, 425):
            out.append(Verdict("writes", SKIPPED, f"the device does not let this server add {s} ({added.status})"))
            return
        out.append(_expect("add-interior", added, added.status == 200, f"Add {s}"))
        if added.status != 200:
            return
        first, again = session.add(leaf, "omadm"), session.add(leaf, "again")
        acl, read = session.replace(f"{leaf}?prop=ACL", LEAF_ACL), session.get(leaf)
        out.append(_expect("add-leaf", first, first.status == 200, f"Add {leaf}"))
        out.append(_expect("add-existing", again, again.status == 418, "an existing node gives 418"))
        out.append(_expect("replace-acl", acl, acl.status == 200, "Replace rights on the parent let its ACL change"))
        out.append(_expect("get-added", read, read.status == 200 and read.value == "omadm", "the value added"))
        changed, read = session.replace(leaf, "changed"), session.get(leaf)
        nowhere, created = session.replace(missing, "x"), session.delete(missing)
        out.append(_expect("replace-leaf", changed, changed.status == 200 and read.value == "changed",
                           f"then Get gave {_said(read)}"))
        out.append(_expect("replace-missing", nowhere, nowhere.status == 404 and created.status != 200,
                           f"Replace MUST NOT create a node (Delete of it then gave {created.status})"))
        with session.atomic() as group:
            kept, failing = session.replace(leaf, "atomic"), session.replace(missing, "x")
        read = session.get(leaf)
        out.append(_expect("atomic-rollback", group, group.status == 507 and kept.status == 216 and read.value == "changed",
                           f"members {kept.status}, {failing.status} (216 rolled back, 404); then Get gave {_said(read)}",
                           optional=True))
        with session.sequence() as group:
            session.replace(leaf, "sequence")
            read = session.get(leaf)
        out.append(_expect("sequence", group, group.status == 200 and read.value == "sequence",
                           f"its Get gave {_said(read)}", optional=True))
        out.append(self._large_object(session, leaf))
        deleted, after = session.delete(leaf), session.replace(leaf, "x")
        out.append(_expect("delete-leaf", deleted, deleted.status == 200 and after.status == 404,
                           f"then Replace gave {after.status}"))
        gone = session.delete(s)
        out.append(_expect("delete-interior", gone, gone.status == 200, f"Delete {s} and all below it"))

    def _large_object(self, session: Any, leaf: str) -> Verdict:
        big = "".join(chr(ord("a") + i % 26) for i in range(self.large_object))
        try:
            stored, read = session.replace(leaf, big), session.get(leaf)
        except UsageError as e:  # not even a chunk fits the device's MaxMsgSize beside the rest
            return Verdict("large-object", SKIPPED, f"the device's messages are too small for a chunk: {e}")
        if stored.status == 413:
            return Verdict("large-object", UNSUPPORTED, f"413: past the device's MaxObjSize ({len(big)} bytes)")
        return _expect("large-object", stored, stored.status == 200 and read.value == big,
                       f"{len(big)} bytes each way; Get gave {_said(read)}", optional=True)

    @staticmethod
    def _ui(session: Any, out: list[Verdict]) -> None:
        shown = session.alert(1100, ["MINDT=1", "omadm conformance: a notice to display"])
        asked = session.alert(1101, ["MAXDT=10", "omadm conformance: yes or no?"])
        out.append(_expect("alert-display", shown, shown.status == 200, "Alert 1100", optional=True))
        out.append(_expect("alert-confirm", asked, asked.status in (200, 214, 304),
                           "Alert 1101: 200 yes, 304 no, 214 cancelled", optional=True))

    def _described(self, session: Any, out: list[Verdict]) -> None:
        for uri, ddf in self.ddfs:
            listed = session.get(f"{uri}?list=TNDS+Format+Type")
            if listed.status != 200 or not isinstance(listed.value, str):
                out.append(_expect(f"ddf {uri}", listed, False, "a TNDS listing of the subtree", optional=True))
                continue
            try:
                tree = _listing(listed.value, uri)
            except UsageError as e:
                out.append(Verdict(f"ddf {uri}", FAIL, f"its TNDS listing: {e}"))
                continue
            found = tree.check_ddf(ddf, uri)
            held = sum(u == uri or u.startswith(f"{uri}/") for u in tree.uris())
            detail = "; ".join(f"{u}: {why}" for u, why in found) or f"{held} nodes as the DDF describes"
            out.append(Verdict(f"ddf {uri}", FAIL if found else PASS, detail))


def _expect(check: str, p: Any, ok: bool, why: str, optional: bool = False) -> Verdict:
    """A check's verdict from its answer: passed when ``ok``, not supported when ``optional``
    and the device answered 406 (optional feature) or 501 (command not implemented), failed
    otherwise."""
    outcome = PASS if ok else UNSUPPORTED if optional and p.status in (406, 501) else FAIL
    return Verdict(check, outcome, f"{_said(p)}: {why}")


# A small MaxMsgSize, as constrained devices announce: the server must split what it sends.
SMALL_MESSAGES = 1024


def check_server(url: str, tree: Callable[[], Any], **options: Any) -> list[Verdict]:
    """A DM server's conformance as a device finds it (see the module's doc): a session a check,
    each with a fresh tree from ``tree()`` and ``options`` for ``omadm.http.device`` (the
    server's id, credentials, TLS, ...). The server's script decides what it sends; each check
    holds whatever it sends to the rules."""
    import omadm.http

    watch = options.pop("watch", None)

    def session(name: str, why: str, expect: Callable[[list[Any], list[bytes], list[str]], str | None] | None = None,
                refused: bool = False, **twist: Any) -> Verdict:
        messages: list[bytes] = []
        directions: list[str] = []

        def seen(direction: str, body: bytes) -> None:
            if watch is not None:
                watch(direction, body)
            messages.append(body)
            directions.append(direction)

        try:
            events = omadm.http.device(url, tree(), watch=seen, **{**options, **twist})
        except Error as e:
            events = list(getattr(e, "events", []))
            if not (twist.get("received") or refused):  # only these end their sessions early
                return Verdict(name, FAIL, f"{why}: the session failed: {e}")
        except OSError as e:
            return Verdict(name, FAIL, f"{why}: {e}")
        broken = [f"{v.rule} message {v.msg_index}" for v in check(messages, directions)]
        wrong = expect(events, messages, directions) if expect else None
        problems = broken + ([wrong] if wrong else [])
        detail = f"{why}: {len(messages)} messages" + (f"; {', '.join(problems)}" if problems else ", as the rules ask")
        return Verdict(name, FAIL if problems else PASS, detail)

    def alert_answered(events: list[Any], *_: Any) -> str | None:
        codes = [e.code for e in events if e.kind == "status" and e.cmd == "Alert" and e.reference == alerted[-1]]
        return None if codes == [200] else f"its Status for the Generic Alert: {codes or 'none'}"

    def small(_: list[Any], messages: list[bytes], directions: list[str]) -> str | None:
        sizes = [len(m) for m, d in zip(messages, directions) if d == "s2c"]
        return f"a message of {max(sizes)} bytes" if sizes and max(sizes) > SMALL_MESSAGES else None

    def quiet_after_abort(_: list[Any], messages: list[bytes], directions: list[str]) -> str | None:
        answers = [decode(m, lenient=True) for m, d in zip(messages[2:], directions[2:]) if d == "s2c"]
        new = [k for m in answers for c in m.commands for k in c if k not in ("Status", "Results")]
        return f"it answered the abort with {', '.join(new)}" if new else None

    alerted: list[int] = []

    def generic_alert(client: Any) -> None:
        alerted.append(client.generic_alert("omadm conformance", type="org.omadm.conformance", source="./DevInfo"))

    def abort(client: Any, _: list[Any]) -> None:
        if client.state == "ready":
            client.abort()

    def challenged(events: list[Any], messages: list[bytes], directions: list[str]) -> str | None:
        first = next((decode(m, lenient=True) for m, d in zip(messages, directions) if d == "s2c"), None)
        statuses = [c["Status"] for c in first.commands if "Status" in c] if first else []
        header: dict[str, Any] = next((s for s in statuses if s.get("cmd") == "SyncHdr"), {})
        if header.get("data") not in (401, 407) or not header.get("chal"):
            return f"its first answer to a stale nonce: {header.get('data')}, {'a' if header.get('chal') else 'no'} Chal"
        return None if any(e.kind == "authenticated" for e in events) else "the device was not taken after the challenge"

    def not_taken(events: list[Any], messages: list[bytes], directions: list[str]) -> str | None:
        answers = [decode(m, lenient=True) for m, d in zip(messages, directions) if d == "s2c"]
        statuses = [c["Status"] for m in answers for c in m.commands if "Status" in c]
        codes = [s.get("data") for s in statuses if s.get("cmd") == "SyncHdr"]
        if taken := [c for c in codes if c in (200, 212)]:
            return f"the server took a wrong password ({', '.join(map(str, taken))})"
        ran = sum(e.kind == "executed" for e in events)
        return f"the device ran {ran} of the server's commands" if ran else None if codes else "no answer"

    def server_authenticated(events: list[Any], *_: Any) -> str | None:
        return None if any(e.kind == "server_authenticated" for e in events) else "no credentials the device could take"

    auth = [session("stale-nonce", f"a device whose {options['auth']} nonce is stale: challenged (401 and Chal), "
                    "then taken", challenged, nonce=b"omadm-stale-nonce")] if options.get("auth") in ("md5", "hmac") else []
    if options.get("auth", "none") != "none" and options.get("password"):
        auth.append(session("wrong-password", f"a device with a wrong {options['auth']} password: refused (401 or "
                            "407), never taken, nothing run", not_taken, refused=True,
                            password=options["password"] + "-wrong"))
    if options.get("server_password"):
        auth.append(session("server-auth", "a device that checks the server's credentials", server_authenticated))
    return [
        session("session", "a client-initiated session, XML"),
        session("wbxml", "the same in WBXML, which servers MUST accept", encoding="wbxml"),
        session("small-messages", f"a device that takes messages of {SMALL_MESSAGES} bytes at most", small,
                max_msg_size=SMALL_MESSAGES),
        session("generic-alert", "a Generic Alert in package 1, answered 200", alert_answered, setup=generic_alert),
        session("device-abort", "a device that aborts after package 2 (Alert 1223)", quiet_after_abort,
                received=abort),
    ] + auth


def junit(runs: list[tuple[str, list[Verdict]]]) -> str:
    """Conformance runs as a JUnit XML report, for a CI server to show: a test suite a run (its
    name: the device, or the server's URL), a test case a check; a failed check is a failure, one
    not supported or skipped is skipped."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="omadm conformance")
    for name, verdicts in runs:
        counted = {o: str(sum(v.outcome == o for v in verdicts)) for o in (FAIL, UNSUPPORTED, SKIPPED)}
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(verdicts)), failures=counted[FAIL],
                              skipped=str(int(counted[UNSUPPORTED]) + int(counted[SKIPPED])))
        for v in verdicts:
            case = ET.SubElement(suite, "testcase", classname=name, name=v.check)
            if v.outcome != PASS:
                ET.SubElement(case, "failure" if v.outcome == FAIL else "skipped", message=f"{v.outcome}: {v.detail}")
            else:
                ET.SubElement(case, "system-out").text = v.detail
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
