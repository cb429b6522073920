"""omadm.capture: DM sessions read back from network captures (pcap, pcapng) and HTTP captures.

The captures in tests/captures were written by tcpdump and dumpcap (SOURCES.txt); tshark, an
independent reader, gave the bodies they must yield. The rest are built here, frame by frame, for
what those do not show: segments out of order, lost or sent again, ports used again, other link
types and byte orders."""

from __future__ import annotations

import gzip
import json
import pathlib
import random
import socket
import struct
from typing import Any

import omadm
import omadm.capture
import pytest
from conftest import cli, exchanged

CAPTURES = pathlib.Path(__file__).resolve().parents[1] / "captures"
SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08


def test_a_capture_yields_the_bodies_tshark_reads():
    expected = json.loads((CAPTURES / "tshark_bodies.json").read_text())
    for name, bodies in expected.items():
        [trace] = omadm.capture.read([str(CAPTURES / name)])
        assert trace.messages == [bytes.fromhex(b) for b in bodies], name
        assert trace.directions == ["c2s", "s2c"] * (len(bodies) // 2)
        assert trace.name == f"{CAPTURES / name}#IMEI:{'42' if 'ipv6' in name else '493005100592800'}-1"
        assert omadm.check(trace.messages, trace.directions) == [] and trace.http == []


def test_a_capture_kept_gzip_compressed_is_read_as_it_is(tmp_path):
    capture = CAPTURES / "wbxml-md5.pcapng"
    (tmp_path / "c.pcapng.gz").write_bytes(gzip.compress(capture.read_bytes()))
    [trace] = omadm.capture.read([str(tmp_path / "c.pcapng.gz")])
    assert trace.messages == omadm.capture.read([str(capture)])[0].messages
    (tmp_path / "c.pcapng.gz").write_bytes(gzip.compress(capture.read_bytes())[:-9])
    with pytest.raises(omadm.UsageError, match="c.pcapng.gz: not gzip that can be read"):
        omadm.capture.read([str(tmp_path / "c.pcapng.gz")])


def test_a_capture_cut_to_a_snapshot_length_says_where():
    with pytest.raises(omadm.UsageError) as e:
        omadm.capture.read([str(CAPTURES / "snaplen-200.pcap")])
    assert "127.0.0.1:" in str(e.value) and "-> 127.0.0.1:18083" in str(e.value)
    assert "lacks some of its bytes (at frame 4: " in str(e.value) and "capture with -s 0" in str(e.value)


def test_cli_check_reads_network_captures():
    r = cli("check", "--show", str(CAPTURES / "wbxml-md5.pcapng"), str(CAPTURES / "xml-ethernet.pcap"))
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "device -> server    334 bytes  <Message session=1 msg_id=1 Alert,Replace final>" in out
    assert out.count(": 6 messages, no violations") == 2
    r = cli("check", str(CAPTURES / "snaplen-200.pcap"))
    assert r.returncode == 1 and b"capture with -s 0" in r.stderr and len(r.stderr.splitlines()) == 1


# Captures built here: a DM session's real messages, laid into TCP segments as a test needs.

CLIENT, SERVER = (bytes([10, 0, 0, 1]), 40000), (bytes([10, 0, 0, 2]), 80)


def session(**options: Any) -> list[tuple[bytes, str | None]]:
    """A whole session of IMEI:7 reading ./DevInfo/Mod, device and server in memory (both with
    `options`): its messages in the order sent, with their x-syncml-hmac headers."""
    server = omadm.ServerSession("srv", **options)
    server.get("./DevInfo/Mod")
    tree = omadm.MemoryTree({"./DevInfo/Mod": "X1", "./DevInfo/Man": "Acme", "./DevInfo/Lang": "en",
                             "./DevInfo/DmV": "1.2", "./DevInfo/DevId": "IMEI:7"})
    return exchanged(omadm.ClientSession("IMEI:7", "srv", "http://dm/", tree, **options), server)


def session_messages() -> list[bytes]:
    """A whole session, device and server in memory: its messages in the order sent."""
    return [body for body, _ in session()]


def request(body: bytes) -> bytes:
    return (b"POST /dm HTTP/1.1\r\nHost: dm\r\nContent-Type: application/vnd.syncml.dm+xml\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def response(body: bytes, headers: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.syncml.dm+xml\r\n%sContent-Length: %d\r\n\r\n%s"
            % (headers, len(body), body))


class Conversation:
    """TCP segments between two endpoints, with their sequence numbers, as frames."""

    def __init__(self, client=CLIENT, server=SERVER, v6=False):
        self.ends = {"c": client, "s": server}
        self.seq = {"c": 1000, "s": 5000}
        self.v6 = v6
        self.frames: list[bytes] = []

    def handshake(self):
        self.segment("c", b"", SYN)
        self.segment("s", b"", SYN | ACK)
        return self

    def segment(self, side: str, payload: bytes, flags: int = ACK | PSH, seq: int | None = None) -> bytes:
        (src, sport), (dst, dport) = self.ends[side], self.ends["s" if side == "c" else "c"]
        at = self.seq[side] if seq is None else seq
        if seq is None:
            self.seq[side] = (at + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
        tcp = struct.pack(">HHIIBBHHH", sport, dport, at, 0, 5 << 4, flags, 65535, 0, 0) + payload
        if self.v6:
            src6, dst6 = b"\xfd" + bytes(11) + src, b"\xfd" + bytes(11) + dst
            ip = struct.pack(">IHBB", 6 << 28, len(tcp), 6, 64) + src6 + dst6 + tcp
        else:
            ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0) + src + dst + tcp
        frame = bytes(12) + struct.pack(">H", 0x86DD if self.v6 else 0x0800) + ip
        self.frames.append(frame)
        return frame

    def send(self, side: str, data: bytes, size: int = 1000) -> list[bytes]:
        return [self.segment(side, data[i:i + size]) for i in range(0, len(data), size)]


def pcap(frames: list[bytes], endian: str = "<", linktype: int = 1, snaplen: int = 65535) -> bytes:
    out = struct.pack(endian + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)
    for n, f in enumerate(frames):
        out += struct.pack(endian + "4I", 1_700_000_000 + n, 0, min(len(f), snaplen), len(f)) + f[:snaplen]
    return out


def read(tmp_path: pathlib.Path, data: bytes, name: str = "c.pcap") -> list[omadm.capture.Trace]:
    (tmp_path / name).write_bytes(data)
    return omadm.capture.read([str(tmp_path / name)])


def whole_session(conv: Conversation, messages: list[bytes], size: int = 1000) -> Conversation:
    for c2s, s2c in zip(messages[::2], messages[1::2]):
        conv.send("c", request(c2s), size)
        conv.send("s", response(s2c), size)
    return conv


def test_segments_out_of_order_sent_again_or_overlapping_are_put_back_in_order(tmp_path):
    messages = session_messages()
    conv = Conversation().handshake()
    frames = list(conv.frames)
    for c2s, s2c in zip(messages[::2], messages[1::2]):
        frames += conv.send("c", request(c2s), 97)[::-1]  # each message's segments in reverse
        frames += conv.send("s", response(s2c), 97)[::-1]
    frames += conv.frames[5:9]  # sent again
    # One overlapping the next two, with the same bytes as they do.
    at = 1001 + len(request(messages[0])) - 150
    stream = b"".join(request(c) for c in messages[::2])
    frames.append(conv.segment("c", stream[at - 1001:at - 1001 + 150], seq=at))
    [trace] = read(tmp_path, pcap(frames))
    assert trace.messages == messages and trace.directions == ["c2s", "s2c"] * (len(messages) // 2)


def test_a_lost_segment_is_named_by_the_frame_after_it(tmp_path):
    conv = whole_session(Conversation().handshake(), session_messages(), size=200)
    del conv.frames[3]  # the second segment of the first request: frame 4 is the third now
    with pytest.raises(omadm.UsageError, match=r"10\.0\.0\.1:40000 -> 10\.0\.0\.2:80: an HTTP body at byte 97 "
                       r"of the stream cannot be read whole: the capture lacks some of its bytes \(at frame 4: "):
        read(tmp_path, pcap(conv.frames))
    # A frame cut to the snapshot length.
    with pytest.raises(omadm.UsageError, match=r"\(at frame 3: lost, or cut to the snapshot length; capture with -s 0"):
        read(tmp_path, pcap(conv.frames, snaplen=120))


def test_each_http_exchange_is_one_message_each_way_whatever_the_connections(tmp_path):
    """One connection a message, ports used again, and a capture begun in the middle of a body."""
    messages = session_messages()
    frames = []
    for i, (c2s, s2c) in enumerate(zip(messages[::2], messages[1::2])):
        conv = Conversation()  # the same ports each time, new sequence numbers
        conv.seq = {"c": 1000 + 7 * i, "s": 5000 + 11 * i}
        conv.handshake()
        conv.send("c", request(c2s))
        conv.send("s", response(s2c))
        conv.segment("c", b"", FIN | ACK)
        conv.segment("s", b"", FIN | ACK)
        frames += conv.frames
    [trace] = read(tmp_path, pcap(frames))
    assert trace.messages == messages
    # Begun after the first request's first segment: its rest, then the session from its answer on.
    conv = whole_session(Conversation().handshake(), messages, size=300)
    [trace] = read(tmp_path, pcap(conv.frames[3:]))
    assert trace.messages == messages[2:]


def test_link_types_byte_orders_vlans_and_ipv6(tmp_path):
    messages = session_messages()
    conv = whole_session(Conversation(v6=True).handshake(), messages)
    for endian in "<>":
        [trace] = read(tmp_path, pcap(conv.frames, endian))
        assert trace.messages == messages
    vlan = [f[:12] + b"\x81\x00\x00\x05" + f[12:] for f in conv.frames]
    loop = [struct.pack("<I", 30) + f[14:] for f in conv.frames]  # BSD loopback, IPv6
    raw = [f[14:] for f in conv.frames]
    sll = [struct.pack(">HHH8sH", 0, 772, 6, b"", 0x86DD) + f[14:] for f in conv.frames]
    sll2 = [struct.pack(">HHIHBB8s", 0x86DD, 0, 1, 772, 0, 6, b"") + f[14:] for f in conv.frames]
    for frames, linktype in [(vlan, 1), (loop, 0), (raw, 101), (sll, 113), (sll2, 276)]:
        [trace] = read(tmp_path, pcap(frames, linktype=linktype))
        assert trace.messages == messages, linktype
    with pytest.raises(omadm.UsageError, match="no TCP over link type 147 can be read"):
        read(tmp_path, pcap(raw, linktype=147))


def pcapng_block(kind: int, body: bytes, endian: str = "<") -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack(endian + "II", kind, len(body) + 12) + body + struct.pack(endian + "I", len(body) + 12)


def test_pcapng_sections_interfaces_and_packet_blocks(tmp_path):
    """Two sections of opposite byte orders, each with its own interfaces; enhanced, simple and
    obsolete packet blocks."""
    messages = session_messages()
    conv = whole_session(Conversation().handshake(), messages)
    half = len(conv.frames) // 2
    out = b""
    for endian, frames in [("<", conv.frames[:half]), (">", conv.frames[half:])]:
        out += pcapng_block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)
        nanoseconds = struct.pack(endian + "HHB3x", 9, 1, 9) + bytes(4)  # if_tsresol, then the end
        out += pcapng_block(1, struct.pack(endian + "HHI", 147, 0, 0), endian)  # a link type not read
        out += pcapng_block(1, struct.pack(endian + "HHI", 1, 0, 0) + nanoseconds, endian)
        for n, f in enumerate(frames):
            if n % 3 == 0:
                out += pcapng_block(6, struct.pack(endian + "5I", 1, 0, n, len(f), len(f)) + f, endian)
            elif n % 3 == 1:
                out += pcapng_block(2, struct.pack(endian + "HH4I", 1, 0, 0, n, len(f), len(f)) + f, endian)
            else:  # a simple packet block: the first interface's, which is not Ethernet
                out += pcapng_block(3, struct.pack(endian + "I", len(f)) + f, endian)
    # Simple packet blocks are on interface 0 (link type 147): their segments are lost.
    with pytest.raises(omadm.UsageError, match=r"lacks some of its bytes \(at frame \d+: "):
        read(tmp_path, out, "c.pcapng")
    out = out.replace(struct.pack("<HHI", 147, 0, 0), struct.pack("<HHI", 1, 0, 0)).replace(
        struct.pack(">HHI", 147, 0, 0), struct.pack(">HHI", 1, 0, 0))
    [trace] = read(tmp_path, out, "c.pcapng")
    assert trace.messages == messages


def test_pipelined_requests_chunked_bodies_and_answers_without_a_body(tmp_path):
    messages = session_messages()
    conv = Conversation().handshake()
    conv.send("c", b"HEAD /dm HTTP/1.1\r\nHost: dm\r\n\r\n" + request(messages[0])
              + b"OPTIONS * HTTP/1.1\r\nHost: dm\r\n\r\n")
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(messages[1][i:i + 64]), messages[1][i:i + 64])
                       for i in range(0, len(messages[1]), 64))
    conv.send("s", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 120\r\n\r\n"  # HEAD's: no body
              b"HTTP/1.1 100 Continue\r\n\r\n"
              b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.syncml.dm+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
              + chunked + b"0\r\n\r\n"
              b"HTTP/1.1 204 No Content\r\n\r\n")
    [trace] = read(tmp_path, pcap(conv.frames))
    assert trace.messages == messages[:2]


def test_a_capture_without_dm_over_http_says_so(tmp_path):
    conv = Conversation().handshake()
    conv.send("c", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(500))  # a TLS ClientHello
    conv.send("s", b"\x16\x03\x03\x00\x5a" + bytes(90))
    web = Conversation(client=(bytes([10, 0, 0, 3]), 40001))  # a web page, cut short: not a DM message
    web.send("c", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    web.send("s", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9999\r\n\r\n<html>")
    odd = Conversation(client=(bytes([10, 0, 0, 4]), 40002))  # a length of digits that are not ASCII's
    odd.send("c", b"POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: \xb9\r\n\r\nx")
    itself = Conversation(client=SERVER)  # an endpoint talking to itself: one flow, no answers
    itself.send("c", request(b"<SyncML/>"))
    with pytest.raises(omadm.UsageError, match="no SyncML over HTTP in it .HTTPS cannot be read"):
        read(tmp_path, pcap(conv.frames + web.frames + odd.frames + itself.frames))
    for data in [pcap([])[:30], b"\x0a\x0d\x0d\x0a" + bytes(8), pcapng_block(0x0A0D0D0A, bytes(16))]:
        with pytest.raises(omadm.UsageError, match="c.pcap: "):
            read(tmp_path, data)
    with pytest.raises(omadm.UsageError, match="c.pcap: a pcap file of 11 bytes, shorter than its header"):
        read(tmp_path, pcap([])[:11])


def test_any_damage_to_a_capture_is_a_usage_error_or_a_reading(tmp_path):
    """Captures cut, flipped and spliced 20 000 ways: each is read, or refused as a UsageError."""
    rng = random.Random(7)
    originals = [(CAPTURES / n).read_bytes() for n in json.loads((CAPTURES / "tshark_bodies.json").read_text())]
    path = tmp_path / "damaged.pcap"
    read_whole = 0
    for _ in range(20000):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.6:
                data[at] = rng.randrange(256)
            elif choice < 0.8:
                del data[at:at + rng.randint(1, 64)]
            else:
                data[at:at] = data[rng.randrange(len(data)):][:rng.randint(1, 64)]
        path.write_bytes(bytes(data))
        try:
            read_whole += len(omadm.capture.read([str(path)])) > 0
        except omadm.UsageError:
            pass
    assert read_whole > 1000  # damage away from the messages leaves them readable


def test_ipv6_endpoints_are_written_as_usual(tmp_path):
    conv = Conversation(v6=True).handshake()
    conv.send("c", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(omadm.UsageError) as e:
        conv.send("c", request(b"<SyncML"))
        conv.frames.append(conv.frames[-1][:-3])
        del conv.frames[-2]
        read(tmp_path, pcap(conv.frames))
    shown = socket.inet_ntop(socket.AF_INET6, b"\xfd" + bytes(11) + CLIENT[0])
    assert f"[{shown}]:40000 -> " in str(e.value)


def test_sessions_of_one_device_and_session_id_are_told_apart(tmp_path):
    """A device that starts each session at SessionID 1: its message 1 begins a new session, but
    not when it is the same message 1 sent again (its answer lost)."""
    messages = session_messages()
    lost = Conversation(client=(CLIENT[0], 39999)).handshake()
    lost.send("c", request(messages[0]))  # its answer never comes: sent again on a new connection
    conv = whole_session(whole_session(Conversation().handshake(), messages), messages)
    first, second = read(tmp_path, pcap(lost.frames + conv.frames))
    assert first.name.endswith("#IMEI:7-1") and second.name.endswith("#IMEI:7-1.2")
    assert first.messages == [messages[0]] + messages and second.messages == messages
    # Saved as `omadm serve --trace-dir` writes them, and read back.
    out = tmp_path / "out"
    assert [pathlib.Path(p).name for p in second.save(str(out))] == [
        f"IMEI_7-1.2-{n:04d}-{d}.msg" for n, d in enumerate(["c2s", "s2c"] * (len(messages) // 2))]
    first.save(str(out))
    assert pathlib.Path(first.save(str(out))[0]).name == "IMEI_7-1.3-0000-c2s.msg"  # never over another
    back = {t.name: t for t in omadm.capture.read([str(out)])}
    assert back[str(out / "IMEI_7-1.2")].messages == second.messages
    assert back[str(out / "IMEI_7-1")].directions == back[str(out / "IMEI_7-1.3")].directions == first.directions


def test_cli_extract_writes_each_message_of_a_capture_to_a_file(tmp_path):
    out = tmp_path / "out"
    capture = CAPTURES / "wbxml-md5.pcapng"
    r = cli("extract", str(capture), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == f"{capture}#IMEI:493005100592800-1: 6 messages -> {out}/IMEI_493005100592800-1-*.msg\n"
    bodies = json.loads((CAPTURES / "tshark_bodies.json").read_text())[capture.name]
    assert [p.read_bytes().hex() for p in sorted(out.iterdir())] == bodies
    assert cli("check", str(out)).returncode == 0
    r = cli("extract", str(CAPTURES / "snaplen-200.pcap"), "-o", str(out))
    assert r.returncode == 1 and b"capture with -s 0" in r.stderr


def test_a_directory_of_captures_is_read_capture_by_capture(tmp_path):
    for name in ("xml-ethernet.pcap", "wbxml-md5.pcapng"):
        (tmp_path / name).write_bytes((CAPTURES / name).read_bytes())
    traces = omadm.capture.read(tmp_path)  # a path alone, not a list of them
    assert [t.name for t in traces] == [t.name for t in omadm.capture.read([str(tmp_path)])]
    assert [t.name for t in traces] == [f"{tmp_path / n}#IMEI:493005100592800-1"
                                        for n in ("wbxml-md5.pcapng", "xml-ethernet.pcap")]
    assert all(omadm.check(t.messages, t.directions) == [] for t in traces)


def test_what_the_http_shows_wrong_is_said_with_the_violations(tmp_path):
    """A Content-Type other than the one the body's encoding calls for, and an answer other than
    200, as a capture shows them (rule "HTTP"), beside the checker's violations."""
    messages = session_messages()
    wbxml = omadm.xml_to_wbxml(messages[0])
    conv = Conversation().handshake()
    conv.send("c", request(wbxml))  # WBXML said to be XML
    conv.send("s", response(omadm.xml_to_wbxml(messages[1]), b"").replace(b"dm+xml", b"dm+wbxml; charset=x"))
    conv.send("c", request(messages[2]).replace(b"vnd.syncml.dm+xml", b"vnd.syncml+xml"))  # SyncML DS's type
    conv.send("s", b"HTTP/1.1 500 Oops\r\nContent-Type: text/html\r\nContent-Length: 7\r\n\r\n<html/>")
    [trace] = read(tmp_path, pcap(conv.frames))
    assert [str(v) for v in trace.http] == [
        "HTTP message 0: the request has Content-Type application/vnd.syncml.dm+xml, not application/vnd.syncml.dm+wbxml",
        "HTTP message 2: the request has Content-Type application/vnd.syncml+xml, not application/vnd.syncml.dm+xml",
        "HTTP message 3: the answer has Content-Type text/html, not application/vnd.syncml.dm+xml",
        "HTTP message 2: the server answered HTTP 500",
    ]
    (tmp_path / "c.pcap").write_bytes(pcap(conv.frames))
    r = cli("check", str(tmp_path / "c.pcap"))
    out = r.stdout.decode()
    assert r.returncode == 1 and "  HTTP message 2: the server answered HTTP 500" in out and "Decode message 3" in out
    # A HAR says the same.
    entries = [{"startedDateTime": "2026-01-01T00:00:01Z",
                "request": {"postData": {"mimeType": "application/vnd.syncml.dm+xml", "text": messages[0].decode()}},
                "response": {"status": 503, "content": {"mimeType": "text/plain", "text": ""}}}]
    (tmp_path / "c.har").write_text(json.dumps({"log": {"entries": entries}}))
    [trace] = omadm.capture.read([str(tmp_path / "c.har")])
    assert [str(v) for v in trace.http] == ["HTTP message 0: the server answered HTTP 503"]


def test_cli_check_json_gives_each_session_s_verdict_for_a_pipeline(tmp_path):
    conv = Conversation().handshake()
    messages = session_messages()
    conv.send("c", request(messages[0]))
    conv.send("s", b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
    (tmp_path / "c.pcap").write_bytes(pcap(conv.frames))
    r = cli("check", "--json", str(CAPTURES / "xml-ethernet.pcap"), str(tmp_path / "c.pcap"))
    assert r.returncode == 1, r.stderr
    assert json.loads(r.stdout) == [
        {"session": f"{CAPTURES / 'xml-ethernet.pcap'}#IMEI:493005100592800-1", "messages": 6, "violations": []},
        {"session": f"{tmp_path / 'c.pcap'}#IMEI:7-1", "messages": 1,
         "violations": [{"rule": "R11", "msg_index": 0, "detail": "the last client message got no answer"},
                        {"rule": "HTTP", "msg_index": 0, "detail": "the server answered HTTP 500"}]}]
    assert cli("check", "--json", str(CAPTURES / "xml-ethernet.pcap")).returncode == 0


def test_hmac_headers_a_capture_shows_are_verified_with_the_passwords_given(tmp_path):
    """An HMAC session's x-syncml-hmac headers, from a network capture and from a HAR, are kept
    (Trace.hmac) and verified by omadm check --client-cred / --server-cred."""
    sent = session(username="dev", password="pw", auth="hmac", nonce=b"n0", server_password="spw",
                   server_nonce=b"s0")
    assert all(h for _, h in sent)
    conv = Conversation().handshake()
    for (c2s, hc), (s2c, hs) in zip(sent[::2], sent[1::2]):
        conv.send("c", request(c2s).replace(b"\r\n\r\n", b"\r\nx-syncml-hmac: %s\r\n\r\n" % hc.encode(), 1))
        conv.send("s", response(s2c, b"X-SyncML-HMAC: %s\r\n" % hs.encode()))
    (trace,) = read(tmp_path, pcap(conv.frames))
    assert trace.hmac == [h for _, h in sent]
    secrets = ["--client-cred", "dev:pw", "--server-cred", "srv:spw", "--client-nonce", "n0", "--server-nonce", "s0"]
    r = cli("check", *secrets, str(tmp_path / "c.pcap"))
    assert r.returncode == 0 and b"no violations" in r.stdout, r.stdout
    r = cli("check", "--client-cred", "dev:other", "--client-nonce", "n0", str(tmp_path / "c.pcap"))
    assert r.returncode == 1 and b"Cred message 0: an HMAC that does not match" in r.stdout, r.stdout
    # The same from a HAR: headers as name/value pairs.
    entries = [{"startedDateTime": f"2026-01-01T00:00:{n:02d}Z",
                "request": {"method": "POST", "url": "http://dm/", "headers": [{"name": "x-syncml-hmac", "value": hc}],
                            "postData": {"mimeType": "application/vnd.syncml.dm+xml", "text": c2s.decode()}},
                "response": {"status": 200, "headers": [{"name": "x-syncml-hmac", "value": hs}],
                             "content": {"mimeType": "application/vnd.syncml.dm+xml", "text": s2c.decode()}}}
               for n, ((c2s, hc), (s2c, hs)) in enumerate(zip(sent[::2], sent[1::2]))]
    (tmp_path / "c.har").write_text(json.dumps({"log": {"entries": entries}}))
    (har,) = omadm.capture.read(str(tmp_path / "c.har"))
    assert har.hmac == trace.hmac
    assert omadm.check(har.messages, har.directions, client=("dev", "pw"), client_nonce=b"n0", hmac=har.hmac) == []
    # And from JSON Lines, a record's "hmac".
    import base64
    lines = [json.dumps({"dir": d, "body_b64": base64.b64encode(m).decode(), "hmac": h})
             for d, m, h in zip(har.directions or [], har.messages, har.hmac)]
    (tmp_path / "c.jsonl").write_text("\n".join(lines))
    (jsonl,) = omadm.capture.read(str(tmp_path / "c.jsonl"))
    assert jsonl.hmac == trace.hmac
