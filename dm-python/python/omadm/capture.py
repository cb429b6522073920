"""Captured DM traffic, read back as sessions.

``read(paths)`` takes network captures (pcap and pcapng, as tcpdump, dumpcap and Wireshark write
them, gzip-compressed or not), HTTP captures in HAR form (mitmproxy, browsers, proxies), JSON Lines traces and message
files (``omadm serve --trace-dir``; a bootstrap in a WAP push is read as the message it holds), and gives one
``Trace`` a session: its messages in the order
sent, with their directions when they are known. From a network or HTTP capture, each POST of a
SyncML body and its answer are a session's messages, grouped by device and SessionID; their
``x-syncml-hmac`` headers are kept (``Trace.hmac``; a JSON Lines record may give one as
``"hmac"``, a message file FILE.msg as the text of FILE.hmac beside it).
``omadm.check(t.messages, t.directions)`` checks one; ``omadm.decode`` reads a message.

Network captures are read over plain HTTP/1.x on TCP (IPv4 or IPv6, on Ethernet, Linux cooked,
loopback or raw IP links): TCP streams are put back together in sequence order, chunked and
gzip/deflate bodies are undone. HTTPS cannot be read from a network capture; export a HAR from
the proxy that terminates it instead.
"""

from __future__ import annotations

import base64
import bisect
import gzip
import itertools
import json
import os
import re
import socket
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Container, Iterable, Iterator, NamedTuple

from . import Error, UsageError, Violation, bootstrap, decode
from ._native import content_type_of

__all__ = ["Trace", "read"]


@dataclass
class Trace:
    """One session: its messages in the order sent, and ``directions`` ("c2s" from the device,
    "s2c" from the server) for each, or None when they are not known."""

    name: str
    messages: list[bytes] = field(default_factory=list)
    directions: list[str] | None = field(default_factory=list)
    http: list[Violation] = field(default_factory=list)
    """What a network or HTTP capture shows wrong in the HTTP that carried the messages (rule
    "HTTP"): a Content-Type that is not the one the body's encoding calls for, an answer other
    than 200."""
    hmac: list[str | None] = field(default_factory=list)
    """Each message's ``x-syncml-hmac`` header (None where it had none), as a network or HTTP
    capture shows it; empty when the source keeps no headers. ``omadm.check(..., hmac=)`` takes it."""

    def save(self, directory: str) -> list[str]:
        """Writes each message to a file of its own in ``directory``, as ``omadm serve
        --trace-dir`` does (NAME-0000-c2s.msg, ..., and NAME-0000-c2s.hmac beside a message that
        had an x-syncml-hmac header; ``read`` takes them back), under a NAME no session there has
        yet; the paths of the messages written."""
        os.makedirs(directory, exist_ok=True)
        base = _unused(_file_name(os.path.basename(self.name.rpartition("#")[2])), _saved_sessions(directory))
        directions = self.directions or ["msg"] * len(self.messages)
        hmac = self.hmac or [None] * len(self.messages)
        return [_save_message(os.path.join(directory, f"{base}-{n:04d}-{direction}"), message, header)
                for n, (message, direction, header) in enumerate(zip(self.messages, directions, hmac))]


def read(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Trace]:
    """The sessions of captures, traces and message files, or of the files of directories (a
    path, or several); see the module's doc. A capture or trace that cannot be read is a
    ``UsageError`` saying where."""
    given = [os.fspath(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    files: list[tuple[str, bytes]] = []
    headers: dict[str, str] = {}  # x-syncml-hmac headers kept beside message files, by their stem
    traces: dict[str, Trace] = {}
    listed = (sorted(os.path.join(p, e) for e in os.listdir(p)) if os.path.isdir(p) else [p] for p in given)
    for p in itertools.chain.from_iterable(listed):  # a directory's files each read as a path given
        if p.endswith(".har"):
            traces.update(_captured(p, _har_exchanges(p)))
        elif p.endswith(".jsonl"):
            traces[p] = _jsonl(p)
        elif p.endswith(".hmac"):
            with open(p) as file:
                headers[p[:-len(".hmac")]] = file.read().strip()
        else:
            with open(p, "rb") as file:
                data = file.read()
            if data[:2] == b"\x1f\x8b":  # gzip: a capture kept compressed, as Wireshark reads them
                try:
                    data = gzip.decompress(data)
                except (OSError, EOFError, zlib.error) as e:
                    raise UsageError(f"{p}: not gzip that can be read ({e})") from None
            if data[:4] in _PCAP or data[:4] == _PCAPNG:
                traces.update(_captured(p, _pcap_exchanges(p, data)))
            else:  # a message (a bootstrap in a WAP push: the message it holds)
                files.append((p, bootstrap.unwrap(data).body))
    kept: dict[str, list[str | None]] = {}  # each file session's headers, None where it has none
    for f, message in files:
        name = os.path.basename(f)
        m = _SAVED.match(name)
        key = os.path.join(os.path.dirname(f), m.group(1)) if m else "files"
        trace = traces.setdefault(key, Trace(key))
        trace.messages.append(message)
        kept.setdefault(key, []).append(headers.get(os.path.splitext(f)[0]))
        direction = "c2s" if "c2s" in name else "s2c" if "s2c" in name else None
        if trace.directions is not None:  # directions for a session only when every message has one
            trace.directions = None if direction is None else trace.directions + [direction]
    for key, hmac in kept.items():
        if any(hmac):  # else the session's files keep no headers
            traces[key].hmac = hmac
    if not any(t.messages for t in traces.values()):
        raise UsageError(f"no messages in {' '.join(given)}")
    return list(traces.values())


_SAVED = re.compile(r"(.*)-\d{4}-(c2s|s2c|msg)\.")


def _save_message(stem: str, message: bytes, hmac: str | None) -> str:
    """Writes STEM.msg, and STEM.hmac with the message's x-syncml-hmac header if it had one."""
    if hmac is not None:
        with open(stem + ".hmac", "w") as f:
            f.write(hmac)
    with open(stem + ".msg", "wb") as f:
        f.write(message)
    return stem + ".msg"


def _saved_sessions(directory: str) -> set[str]:
    """The names of the sessions whose messages are in ``directory``, one file each."""
    return {m.group(1) for f in os.listdir(directory) if (m := _SAVED.match(f))}


def _unused(name: str, taken: Container[str]) -> str:
    """``name``, or the first of NAME.2, NAME.3, ... not ``taken``."""
    return next(n for n in itertools.chain([name], (f"{name}.{k}" for k in itertools.count(2))) if n not in taken)


def _file_name(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name)


def _jsonl(path: str) -> Trace:
    trace = Trace(path)
    with open(path) as lines:
        for n, line in enumerate(lines, 1):
            if line.strip():
                try:
                    rec = json.loads(line)
                    trace.messages.append(base64.b64decode(rec["body_b64"], validate=True))
                    trace.directions.append({"c2s": "c2s", "s2c": "s2c"}[rec["dir"]])  # type: ignore[union-attr]
                    trace.hmac.append(str(rec["hmac"]) if rec.get("hmac") is not None else None)
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise UsageError(f'{path} line {n}: not {{"dir": "c2s"|"s2c", "body_b64": ..., "hmac"?: ...}} '
                                     f"({type(e).__name__}: {e})") from None
    return trace


@dataclass
class _Exchange:
    """An HTTP request and its answer."""

    at: Any  # where the request is in its capture: a frame number, or when a HAR says it was sent
    content_type: str
    request: bytes
    response: bytes | None
    status: int | None = None  # the answer's
    response_type: str = ""
    request_hmac: str | None = None  # the x-syncml-hmac headers
    response_hmac: str | None = None

    def findings(self, index: int) -> list[Violation]:
        """What is wrong in the HTTP of the exchange; ``index``: the request's place in its trace
        (the answer's is the next)."""
        found = [Violation("HTTP", at, f"{what} has Content-Type {declared or 'none'}, not {wanted}")
                 for at, what, declared, body in [(index, "the request", self.content_type, self.request),
                                                  (index + 1, "the answer", self.response_type, self.response)]
                 if body and (wanted := content_type_of(body)) and _media_type(declared) != wanted]
        if self.status not in (None, 200):
            found.append(Violation("HTTP", index, f"the server answered HTTP {self.status}"))
        return found


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _captured(path: str, exchanges: list[_Exchange]) -> dict[str, Trace]:
    """The SyncML exchanges of a capture, in the order sent, grouped by device and SessionID. A
    message 1 of a device and SessionID seen before (not the same message sent again) begins a
    new session, NAME.2, NAME.3, ...: a device that starts each session at SessionID 1."""
    traces: dict[str, Trace] = {}
    latest: dict[str, str] = {}  # the name of the last session of each device and SessionID
    for x in sorted(exchanges, key=lambda x: x.at):
        if "syncml" not in x.content_type.lower():
            continue
        try:
            m = decode(x.request, lenient=True)
            base, first = f"{path}#{m.source}-{m.session_id}", m.msg_id == 1
        except Error:  # the checker says what is wrong with it
            base, first = f"{path}#not a message", False
        key = latest.get(base, base)
        if first and key in traces and x.request not in traces[key].messages[-2:]:
            key = _unused(base, traces)
        latest[base] = key
        trace = traces.setdefault(key, Trace(key))
        assert trace.directions is not None
        trace.http += x.findings(len(trace.messages))
        trace.messages.append(x.request)
        trace.directions.append("c2s")
        trace.hmac.append(x.request_hmac)
        if x.response:
            trace.messages.append(x.response)
            trace.directions.append("s2c")
            trace.hmac.append(x.response_hmac)
    if not traces:
        raise UsageError(f"{path}: no SyncML over HTTP in it (HTTPS cannot be read from a network capture: "
                         "export a HAR from the proxy that terminates it)")
    return traces


def _har_exchanges(path: str) -> list[_Exchange]:
    def hmac(part: dict[str, Any]) -> str | None:
        return next((str(h["value"]) for h in part.get("headers") or [] if h["name"].lower() == "x-syncml-hmac"), None)

    def body(part: dict[str, Any]) -> bytes:
        text = part.get("text") or ""
        return base64.b64decode(text) if part.get("encoding") == "base64" else text.encode("utf-8")

    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)["log"]["entries"]
        exchanges = []
        for entry in entries:
            sent = entry["request"].get("postData") or {}
            answer = entry["response"]
            exchanges.append(_Exchange(entry.get("startedDateTime", ""), sent.get("mimeType", ""), body(sent),
                                       body(answer.get("content") or {}), answer.get("status") or None,
                                       (answer.get("content") or {}).get("mimeType", ""),
                                       hmac(entry["request"]), hmac(answer)))
        return exchanges
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UsageError(f"{path}: not an HTTP capture in HAR form ({type(e).__name__}: {e})") from None


# Network captures: frames, then IP packets, then TCP streams, then HTTP messages.

_PCAP = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",  # microseconds
         b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}  # nanoseconds
_PCAPNG = b"\x0a\x0d\x0d\x0a"


class _Bad(Exception):
    """A capture that cannot be read: the message says where."""


def _pcap_exchanges(path: str, data: bytes) -> list[_Exchange]:
    try:
        connections: dict[tuple[bytes, int, bytes, int], _Connection] = {}
        done: list[_Connection] = []
        linktypes = set()
        for n, (linktype, frame, cut) in enumerate(_frames(data), 1):
            segment = _segment(linktype, frame, cut)
            if segment is None:
                linktypes.add(linktype)
                continue
            src, sport, dst, dport, seq, flags, payload, missing = segment
            key, back = (src, sport, dst, dport), (dst, dport, src, sport)
            c = connections.get(key) or connections.get(back)
            if c is None or (flags & _SYN and not flags & _ACK and c.started((src, sport))):
                if c is not None:  # the ports are used again, by a new connection
                    done.append(c)
                    connections.pop(key, None)
                    connections.pop(back, None)
                c = connections[key] = _Connection((src, sport), (dst, dport))
            c.flows[(src, sport)].add(seq, flags, payload, missing, n)
        exchanges = []
        for c in done + list(connections.values()):
            exchanges += c.exchanges()
    except _Bad as e:
        raise UsageError(f"{path}: {e}") from None
    except (struct.error, IndexError) as e:
        raise UsageError(f"{path}: not a capture that can be read: damaged or cut short ({e})") from None
    if not exchanges and linktypes - _LINKS.keys():
        raise UsageError(f"{path}: no TCP over link type {', '.join(map(str, sorted(linktypes - _LINKS.keys())))} "
                         "can be read (Ethernet, Linux cooked, loopback and raw IP can)")
    return exchanges


def _frames(data: bytes) -> Iterator[tuple[int, bytes, int]]:
    """Each frame of a pcap or pcapng capture, in the order captured: its link type, its bytes,
    and how many of its bytes were not captured (cut to the snapshot length)."""
    if data[:4] in _PCAP:
        if len(data) < 24:
            raise _Bad(f"a pcap file of {len(data)} bytes, shorter than its header")
        e = _PCAP[data[:4]]
        linktype = struct.unpack_from(e + "I", data, 20)[0] & 0xFFFF
        at = 24
        while at + 16 <= len(data):
            caplen, origlen = struct.unpack_from(e + "2I", data, at + 8)
            frame = data[at + 16:at + 16 + caplen]  # a file cut short ends in a frame cut short
            yield linktype, frame, max(origlen - len(frame), 0)
            at += 16 + caplen
        return
    e, at = "<", 0
    interfaces: list[tuple[int, int]] = []  # link type, snapshot length
    while at + 12 <= len(data):
        if data[at:at + 4] == _PCAPNG:  # a section: its byte order, its own interfaces
            e = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}.get(data[at + 8:at + 12], "")
            if not e:
                raise _Bad(f"byte {at}: a pcapng section of no known byte order")
            interfaces = []
        kind, size = struct.unpack_from(e + "2I", data, at)
        if size < 12 or size % 4 or at + size > len(data):
            raise _Bad(f"byte {at}: a pcapng block of {size} bytes")
        body = data[at + 8:at + size - 4]
        if kind == 1:  # interface description
            linktype, _, snaplen = struct.unpack_from(e + "HHI", body)
            interfaces.append((linktype, snaplen))
        elif kind in (2, 3, 6):  # packet blocks: obsolete, simple (the first interface's), enhanced
            if kind == 2:
                iface, _, _, _, caplen, origlen = struct.unpack_from(e + "HH4I", body)
            elif kind == 3:
                iface, (origlen,) = 0, struct.unpack_from(e + "I", body)
            else:
                iface, _, _, caplen, origlen = struct.unpack_from(e + "5I", body)
            if iface >= len(interfaces):
                raise _Bad(f"byte {at}: a packet of interface {iface}, which its section does not describe")
            linktype, snaplen = interfaces[iface]
            start = 4 if kind == 3 else 20
            frame = body[start:start + (min(origlen, snaplen or origlen) if kind == 3 else caplen)]
            yield linktype, frame, max(origlen - len(frame), 0)
        at += size


# Where the IP packet starts in a frame of each link type, and the field naming its protocol.
_LINKS: dict[int, tuple[int, int | None]] = {
    1: (14, 12),  # Ethernet (VLAN tags skipped)
    113: (16, 14),  # Linux cooked (SLL)
    276: (20, 0),  # Linux cooked v2 (SLL2)
    0: (4, None), 108: (4, None),  # BSD loopback (NULL, LOOP): the IP version tells
    101: (0, None), 12: (0, None), 14: (0, None), 228: (0, None), 229: (0, None),  # raw IP
}
_IP_TYPES = (0x0800, 0x86DD)
_SYN, _ACK = 0x02, 0x10


def _segment(linktype: int, frame: bytes, cut: int) -> tuple[bytes, int, bytes, int, int, int, bytes, int] | None:
    """A frame's TCP segment: addresses, ports, sequence number, flags, payload and how many of
    its bytes the capture lacks; None for anything else."""
    if linktype not in _LINKS or len(frame) < _LINKS[linktype][0] + 20:
        return None
    at, type_at = _LINKS[linktype]
    if type_at is not None:
        kind = struct.unpack_from(">H", frame, type_at)[0]
        while linktype == 1 and kind in (0x8100, 0x88A8, 0x9100):  # VLAN tags
            kind, at = struct.unpack_from(">H", frame, at + 2)[0], at + 4
        if kind not in _IP_TYPES:
            return None
    ip = frame[at:]
    version = ip[0] >> 4
    if version == 4:
        start, total = (ip[0] & 15) * 4, struct.unpack_from(">H", ip, 2)[0]
        if ip[9] != 6 or struct.unpack_from(">H", ip, 6)[0] & 0x3FFF:  # not TCP, or a fragment
            return None
        src, dst, end = ip[12:16], ip[16:20], total or len(ip) + cut  # 0: offloaded, as captured
    elif version == 6:
        nxt, start, end = ip[6], 40, 40 + struct.unpack_from(">H", ip, 4)[0]
        src, dst = ip[8:24], ip[24:40]
        while nxt in (0, 43, 60):  # hop-by-hop, routing and destination options
            nxt, start = ip[start], start + (ip[start + 1] + 1) * 8
        if nxt != 6:
            return None
    else:
        return None
    tcp = ip[start:end]
    if len(tcp) < 20:
        return None
    sport, dport, seq = struct.unpack_from(">HHI", tcp)
    payload = tcp[(tcp[12] >> 4) * 4:]
    missing = max(end - start - (tcp[12] >> 4) * 4 - len(payload), 0)
    return src, sport, dst, dport, seq, tcp[13], payload, missing


class _Flow:
    """One direction of a TCP connection: its segments, put in sequence order."""

    def __init__(self, name: str):
        self.name = name
        self.base: int | None = None  # the sequence number of the stream's first byte
        self.segments: dict[int, tuple[bytes, int]] = {}  # offset: bytes, frame number
        self.lacking: list[tuple[int, int]] = []  # where bytes the capture lacks would have been

    def add(self, seq: int, flags: int, payload: bytes, missing: int, frame: int) -> None:
        if flags & _SYN:
            self.base = (seq + 1) & 0xFFFFFFFF
        if not payload and not missing:
            return
        if self.base is None:  # the capture began after the connection did
            self.base = seq
        offset = (seq - self.base) & 0xFFFFFFFF
        if offset >= 1 << 31:  # before the first byte seen
            return
        if len(payload) > len(self.segments.get(offset, (b"", 0))[0]):
            self.segments[offset] = (payload, frame)
        if missing:
            self.lacking.append((offset + len(payload), frame))

    def stream(self) -> _Stream:
        out = bytearray()
        starts: list[int] = []
        frames: list[int] = []
        beyond = None
        for offset in sorted(self.segments):
            payload, frame = self.segments[offset]
            if offset > len(out):
                beyond = frame
                break
            if offset + len(payload) > len(out):
                starts.append(len(out))
                frames.append(frame)
                out += payload[len(out) - offset:]
        cut = [frame for offset, frame in self.lacking if offset == len(out)]
        return _Stream(self.name, bytes(out), starts, frames, cut[0] if cut else beyond)


@dataclass
class _Stream:
    """A flow's bytes in order up to its first gap, where each segment starts and its frame, and
    the frame at the gap (None when there is none)."""

    name: str
    data: bytes
    starts: list[int]
    frames: list[int]
    gap: int | None

    def frame(self, at: int) -> int:
        """The frame that carried the byte ``at``."""
        return self.frames[bisect.bisect_right(self.starts, at) - 1]


class _Connection:
    def __init__(self, one: tuple[bytes, int], other: tuple[bytes, int]):
        self.flows = {one: _Flow(_endpoint(*one) + " -> " + _endpoint(*other)),
                      other: _Flow(_endpoint(*other) + " -> " + _endpoint(*one))}

    def started(self, side: tuple[bytes, int]) -> bool:
        """Whether this side has sent anything: a new SYN then starts a new connection."""
        return bool(self.flows[side].segments)

    def exchanges(self) -> list[_Exchange]:
        """The HTTP requests of the connection and their answers."""
        flows = list(self.flows.values())
        streams = [f.stream() for f in flows]
        clients = [s for s in streams if _REQUEST.match(s.data)] or [s for s in streams if _REQUEST.search(s.data)]
        if not clients:
            for f, s in zip(flows, streams):  # HTTP a gap hides: DM traffic if it speaks of SyncML
                if s.gap is not None and any(b"syncml" in p.lower() for p, _ in f.segments.values()):
                    raise _Bad(_unread(s, 0, "an HTTP header"))
            return []
        client = clients[0]
        server = next((s for s in streams if s is not client), None)
        if server is None:  # an endpoint talking to itself
            return []
        requests = list(_messages(client, _REQUEST))
        first = requests[0].frame if requests else 0
        responses = [r for r in _messages(server, _RESPONSE, [r.start for r in requests])
                     if not r.start.startswith(b"1") and r.frame > first]  # not interim, not to a request unseen
        exchanges = []
        for request, answer in itertools.zip_longest(requests, responses[:len(requests)]):
            content_type = request.headers.get("content-type", "")
            syncml = "syncml" in content_type.lower()
            if request.fault and (syncml or not request.headers):  # a request that may be a DM message, unread
                raise _Bad(request.fault)
            if answer and answer.fault and syncml:
                raise _Bad(answer.fault)
            exchanges.append(_Exchange(request.frame, content_type, request.body, answer.body if answer else None,
                                       int(answer.start) if answer else None,
                                       answer.headers.get("content-type", "") if answer else "",
                                       request.headers.get("x-syncml-hmac"),
                                       answer.headers.get("x-syncml-hmac") if answer else None))
        return exchanges


def _endpoint(address: bytes, port: int) -> str:
    if len(address) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, address)}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, address)}]:{port}"


_REQUEST = re.compile(rb"([A-Z]+) (\S+) HTTP/1\.[01]\r\n")
_RESPONSE = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n")


class _Http(NamedTuple):
    """An HTTP message: the frame it begins in, its method or status code, headers, body, and
    what keeps it from being read whole (None when nothing does)."""

    frame: int
    start: bytes
    headers: dict[str, str]
    body: bytes
    fault: str | None


def _messages(stream: _Stream, start: re.Pattern[bytes], methods: list[bytes] | None = None) -> Iterator[_Http]:
    """The HTTP messages of one direction. ``methods``: those of the requests answered, for
    responses (a HEAD's answer has no body)."""
    data = stream.data
    found = start.search(data)
    at = found.start() if found else len(data)
    answered = 0
    while at < len(data):
        frame = stream.frame(at)
        line = start.match(data, at)
        end = data.find(b"\r\n\r\n", at)
        if line is None or end < 0:
            yield _Http(frame, b"", {}, b"", _unread(stream, at, "an HTTP header"))
            return
        headers: dict[str, str] = {}
        for raw in filter(None, data[line.end():end].split(b"\r\n")):
            key, _, value = raw.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        at = end + 4
        code = line.group(1)
        bodiless = methods is not None and (code.startswith(b"1") or code in (b"204", b"304") or (
            answered < len(methods) and methods[answered] == b"HEAD"))
        if methods is not None and not code.startswith(b"1"):
            answered += 1
        body: bytes | None
        if bodiless:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body, at = _unchunk(data, at)
        elif "content-length" in headers:
            length = headers["content-length"]
            size = int(length) if length.isascii() and length.isdigit() else -1
            body, at = (data[at:at + size], at + size) if 0 <= size <= len(data) - at else (None, at)
        elif methods is None:  # a request without a length has no body
            body = b""
        else:  # the answer runs to the end of the connection
            body, at = (data[at:], len(data)) if stream.gap is None else (None, at)
        if body is None:
            yield _Http(frame, code, headers, b"", _unread(stream, at, "an HTTP body"))
            return
        yield _Http(frame, code, headers, _inflate(body, headers.get("content-encoding", "").lower()), None)


def _inflate(body: bytes, encoding: str) -> bytes:
    """A body without its gzip or deflate coding; as sent when it is not so coded after all."""
    for wbits in {"gzip": (31,), "x-gzip": (31,), "deflate": (15, -15)}.get(encoding, ()):
        try:
            return zlib.decompress(body, wbits)
        except zlib.error:
            pass
    return body


def _unchunk(data: bytes, at: int) -> tuple[bytes | None, int]:
    """A chunked body from ``at``, and where it ends; None when the stream ends first."""
    body = bytearray()
    while True:
        eol = data.find(b"\r\n", at)
        size_text = data[at:eol].split(b";")[0].strip() if eol >= 0 else b""
        if eol < 0 or not re.fullmatch(rb"[0-9A-Fa-f]+", size_text):
            return None, at
        size, at = int(size_text, 16), eol + 2
        if size == 0:
            end = data.find(b"\r\n", at) if data.startswith(b"\r\n", at) else data.find(b"\r\n\r\n", at)
            if end < 0:
                return None, at
            return bytes(body), end + (2 if data.startswith(b"\r\n", at) else 4)
        if at + size + 2 > len(data):
            return None, at
        body += data[at:at + size]
        at += size + 2


def _unread(stream: _Stream, at: int, what: str) -> str:
    why = (f"the capture lacks some of its bytes (at frame {stream.gap}: lost, or cut to the snapshot length; "
           "capture with -s 0)" if stream.gap is not None else "the capture ends before it does")
    return f"{stream.name}: {what} at byte {at} of the stream cannot be read whole: {why}"
