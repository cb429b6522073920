"""A captured session's server side, played again against a device, and what the device now
answers differently: a regression test of a device (a new firmware against the session an
old one had) or of a device of another make.

``Replay(trace)`` is a server script (``omadm.http.Server(Replay(trace))``, ``omadm serve
--replay CAPTURE``): it sends the captured server's commands package by package, as the
server sent them (large objects whole: the session splits them again for this device), waits
for the device's answers, and compares them with the captured ones: each command's status,
what each Get gave, and the DevInfo of package 1. The differences are printed, returned by the
call, and kept on the script's session as ``differences``.

``compare(before, after)`` is the same offline: two captures of the same server's session,
with devices of two firmware versions, say.

``device_tree(trace)`` is the other side: the captured device's tree as the session shows it,
for a simulated device that stands in for it (``omadm.http.device``, ``omadm device --tree``).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

from . import Error, MemoryTree, UsageError, answers, decode
from .capture import Trace

__all__ = ["Replay", "compare", "device_tree"]

# Alerts that steer the session itself, not the device: more messages (1222), abort (1223).
_SESSION_ALERTS = (1222, 1223)


@dataclass
class _Step:
    """A captured server command and what the device answered it."""

    kind: str
    body: dict[str, Any]
    where: tuple[int, int] = (0, 0)  # the index of the message it was sent in and its CmdID (its last chunk's)
    status: int | None = None
    results: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # items, their Results
    members: list[_Step] = field(default_factory=list)

    @property
    def name(self) -> str:
        items = self.body.get("items") or [{}]
        return f"{self.kind} {_uri(items[0])}".strip() if self.kind != "Alert" else f"Alert {self.body.get('data')}"

    def steps(self) -> list[_Step]:
        return [self] + [s for m in self.members for s in m.steps()]


class Replay:
    """The server script playing ``trace``'s server side again; see the module's doc."""

    def __init__(self, trace: Trace) -> None:
        directions = trace.directions or (["c2s", "s2c"] * len(trace.messages))[:len(trace.messages)]
        messages = [(d, decode(m, lenient=True).to_dict()) for d, m in zip(directions, trace.messages)]
        answered_by = {(a.msg_index, a.cmd_id): a.answers for a in answers(trace.messages, directions)}
        self.name = trace.name
        self.packages: list[list[_Step]] = []
        self.devinfo: dict[str, dict[str, Any]] = {}  # package 1's nodes, as MemoryTree takes them
        sent: dict[tuple[int, int], _Step] = {}
        package: list[_Step] = []
        chunks: dict[tuple[str, str], _Step] = {}  # a large object's first chunk, by command and URI
        for index, (direction, m) in enumerate(messages):
            if direction == "s2c":
                for command in m["commands"]:
                    step = _step(command, index, chunks)
                    if step is not None:
                        package.append(step)
                        sent.update({s.where: s for s in step.steps()})
                if m["is_final"] and package:
                    self.packages.append(package)
                    package = []
                continue
            for command in m["commands"]:
                [(kind, body)] = command.items()
                to = answered_by.get((index, body.get("cmd_id")))
                answered = sent.get(to) if to else None
                if kind == "Status" and answered:
                    answered.status = body["data"]
                elif kind == "Results" and answered:
                    _gather(answered.results, body)
                elif kind == "Replace":  # package 1's DevInfo, sent again after a challenge
                    for item in body["items"]:
                        self.devinfo.setdefault(_uri(item), _node(item, body))
        if package:
            self.packages.append(package)
        if not self.packages:
            raise UsageError(f"{trace.name}: the server sent no command to play again")

    def __call__(self, session: Any) -> list[str]:
        differences = _devinfo(self.devinfo, session.devinfo, "in the capture", "now")
        waiting = "its first command"
        try:
            for package in self.packages:
                for step, pending in [queued for step in package for queued in _queue(session, step)]:
                    waiting = step.name
                    now = [i["data"] for i in pending.items] if step.kind == "Get" else []
                    differences += _differences(step, pending.status, now, "in the capture", "now")
        except Error as e:  # the device aborted, or went away
            differences.append(f"{waiting}: answered in the capture, not now ({e})")
        count = sum(len(step.steps()) for package in self.packages for step in package)
        device = getattr(session, "device", "") or "the device"
        print(f"[replay] {device}: {count} commands of {self.name}, "
              + (f"{len(differences)} answered differently:" if differences else "all answered as captured"),
              flush=True)
        for d in differences:
            print(f"[replay]   {d}", flush=True)
        session.differences = differences
        return differences


def compare(before: Trace, after: Trace) -> list[str]:
    """What the device of ``after`` answered differently from the device of ``before`` (a
    capture of the same server's session with a device of another firmware, say): package 1's
    DevInfo, and each command both servers sent, matched in order by name (command and URI),
    its status and what a Get gave; a command only one of them sent is a difference too."""
    old, new = Replay(before), Replay(after)
    differences = _devinfo(old.devinfo, {uri: node.get("value") for uri, node in new.devinfo.items()},
                           f"in {before.name}", f"in {after.name}")
    a, b = ([s for package in r.packages for top in package for s in top.steps()] for r in (old, new))
    matched = difflib.SequenceMatcher(a=[s.name for s in a], b=[s.name for s in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matched.get_opcodes():
        if tag == "equal":
            for was, now in zip(a[i1:i2], b[j1:j2]):
                values = [_value(item, results) for item, results in now.results]
                differences += _differences(was, now.status, values, f"in {before.name}", f"in {after.name}")
            continue
        differences += [f"{s.name}: sent in {before.name} only" for s in a[i1:i2]]
        differences += [f"{s.name}: sent in {after.name} only" for s in b[j1:j2]]
    return differences


def _devinfo(captured: dict[str, dict[str, Any]], now: dict[str, Any], was_in: str, now_in: str) -> list[str]:
    return [f"DevInfo {uri}: {node['value']!r} {was_in}, {value!r} {now_in}"
            for uri, node in captured.items() if (value := now.get(uri)) != node.get("value")]


def _differences(step: _Step, status: int | None, values: list[Any], was_in: str, now_in: str) -> list[str]:
    """How a command's answer differs from the captured one: its status, else what a Get gave."""
    if status != step.status:
        return [f"{step.name}: {step.status} {was_in}, {status} {now_in}"]
    if step.kind == "Get" and values != (was := [_value(item, results) for item, results in step.results]):
        return [f"{step.name}: {_show(was)} {was_in}, {_show(values)} {now_in}"]
    return []


def device_tree(trace: Trace) -> MemoryTree:
    """The captured device's tree as its session shows it: the DevInfo of package 1, what each
    Get read (a TNDS listing's nodes with their ACLs too), and what the server replaced, added
    or deleted and the device took (200), in the order of the session; interior nodes where Gets
    found them or leaves imply them. Its root ACL lets a server do anything, as on a device
    under test; secrets it never gave are not in it."""
    replay = Replay(trace)
    nodes = dict(replay.devinfo)
    for step in (s for package in replay.packages for top in package for s in top.steps()):
        if step.kind == "Get":
            for item, results in step.results:
                uri, data = _uri(item).partition("?")[0], item.get("data") or {}
                if data.keys() == {"Xml"}:  # a subtree listed as a TNDS document, or some other document
                    nodes.update(_listed(data["Xml"], uri))
                elif "?" not in _uri(item):  # a property is no node
                    nodes[uri] = _node(item, results)
        elif step.kind in ("Replace", "Add") and step.status == 200:
            nodes.update((_uri(item), _node(item, step.body)) for item in step.body.get("items") or [])
        elif step.kind == "Delete" and step.status == 200:
            gone = [_uri(item) for item in step.body.get("items") or []]
            nodes = {uri: n for uri, n in nodes.items() if not any(uri == g or uri.startswith(g + "/") for g in gone)}
    tree = MemoryTree({uri: node for uri, node in nodes.items() if uri.startswith("./")})
    tree.set_acl(".", "Add=*&Delete=*&Exec=*&Get=*&Replace=*")
    return tree


def _listing(document: str, uri: str) -> MemoryTree:
    """A TNDS listing of `uri` (``uri?list=TNDS``) as a tree: its nodes at their Path, else below
    the parent of `uri`, the node the listing starts at. ``UsageError`` for a document that is no
    TNDS."""
    tree = MemoryTree()
    tree.set_tnds(document, uri.rpartition("/")[0] or ".")
    return tree


def _listed(document: str, uri: str) -> dict[str, Any]:
    """The nodes of a TNDS listing of `uri` by URI; none from a document that is no TNDS."""
    try:
        return _listing(document, uri).to_dict()
    except UsageError:
        return {}


def _node(item: dict[str, Any], command: dict[str, Any]) -> dict[str, Any]:
    """An item as a MemoryTree node: its value, Format and Type (the command's when it has none)."""
    metas = [item.get("meta") or {}, command.get("meta") or {}]
    format, type_ = (next((m[k] for m in metas if m.get(k)), None) for k in ("format", "type_"))
    if format == "node":
        return {"format": "node"}
    value = _value(item, command)
    if isinstance(value, bytes):  # as MemoryTree's JSON holds binary leaves
        value, format = base64.b64encode(value).decode(), "bin"
    node: dict[str, Any] = {"value": value if value is not None else ""}
    node.update({k: v for k, v in (("format", format), ("type", type_)) if v})
    return node


def _step(command: dict[str, Any], index: int, chunks: dict[tuple[str, str], _Step]) -> _Step | None:
    """A captured server command (in message `index`) to send again; None for what the session
    itself sends, and for a large object's chunks but the last (then the whole object, where the
    last was sent)."""
    [(kind, body)] = command.items()
    if kind in ("Status", "Results") or (kind == "Alert" and body.get("data") in _SESSION_ALERTS):
        return None
    body = {k: v for k, v in body.items() if k != "cmd_id"}
    step = _Step(kind, body, (index, command[kind]["cmd_id"]))
    if kind in ("Sequence", "Atomic"):
        step.members = [s for c in body.pop("commands") if (s := _step(c, index, chunks)) is not None]
        return step
    items = body.get("items") or []
    key = (kind, _uri(items[0])) if len(items) == 1 else None
    if key is None or not (items[0].get("more_data") or key in chunks):
        return step
    first = chunks.setdefault(key, step)
    whole = first.body["items"][0]
    if first is not step:
        whole["data"] = _joined(whole.get("data"), items[0].get("data"))
    if items[0].get("more_data"):
        return None
    del chunks[key]
    whole["more_data"] = False
    if whole.get("meta"):
        whole["meta"]["size"] = None  # the session sizes the chunks it sends
    first.where = step.where
    return first


def _uri(item: dict[str, Any]) -> str:
    return ((item.get("target") or item.get("source") or {}).get("uri")) or ""


def _joined(data: Any, more: Any) -> Any:
    """Two chunks' data as one: Text with Text, bytes with bytes."""
    [(kind, value)] = (data or {"Text": ""}).items()
    return {kind: value + (more or {}).get(kind, type(value)())}


def _queue(session: Any, step: _Step) -> list[tuple[_Step, Any]]:
    """Queues the step (a group with its members): each step with its Pending."""
    if step.kind in ("Sequence", "Atomic"):
        with (session.sequence() if step.kind == "Sequence" else session.atomic()) as group:
            members = [queued for m in step.members for queued in _queue(session, m)]
        return [(step, group)] + members
    return [(step, session.command({step.kind: step.body}))]


def _gather(results: list[tuple[dict[str, Any], dict[str, Any]]], body: dict[str, Any]) -> None:
    """A Results' items, each with the command it came in, added to what a Get gave: a chunk
    joins the item before it."""
    for item in body["items"]:
        if results and results[-1][0].get("more_data"):
            last = results[-1][0]
            last.update(data=_joined(last.get("data"), item.get("data")), more_data=item.get("more_data"))
        else:
            results.append((dict(item), body))


def _value(item: dict[str, Any], command: dict[str, Any]) -> Any:
    """An item's data as a session's event gives it: base64 (Format b64) decoded to bytes."""
    data = item.get("data")
    if data is None:
        return None
    [(kind, value)] = data.items()
    formats = [(m or {}).get("format") for m in (item.get("meta"), command.get("meta"))]
    if kind == "Binary":
        return bytes(value)
    if "b64" in formats[:1] or (formats[0] is None and formats[1] == "b64"):
        try:
            return base64.b64decode(value)
        except ValueError:
            return value
    return value


def _show(values: list[Any]) -> str:
    """Values in short: long bytes by their size and a digest's first bytes."""
    return ", ".join(f"<{len(v)} bytes, sha256 {hashlib.sha256(v).hexdigest()[:8]}>"
                     if isinstance(v, bytes) and len(v) > 16 else repr(v) for v in values) or "nothing"
