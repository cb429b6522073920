"""omadm.replay: a captured session's server side played again against a device, and what the
device answers differently."""

from __future__ import annotations

import hashlib

import pytest

import omadm
import omadm.capture
import omadm.http
import omadm.replay
from conftest import cli

LOG = bytes(range(256)) * 40  # 10 KiB: a large object in messages of 4 KiB, both ways


def device(level: str = "1", log: bytes = LOG, firmware: str | None = "1.0") -> omadm.MemoryTree:
    tree = omadm.MemoryTree({"./DevInfo/DevId": "IMEI:9", "./DevInfo/Man": "Acme", "./DevInfo/Mod": "X1",
                             "./DevInfo/DmV": "1.2", "./DevInfo/Lang": "en", "./Vendor/Level": level,
                             "./Vendor/Log": log})
    if firmware is not None:
        tree.set("./DevDetail/FwV", firmware)
    tree.set_acl(".", "Add=*&Get=*&Replace=*&Delete=*&Exec=*")
    return tree


def inventory(session):
    """Two packages: reads, a setting replaced, a large object each way, an Atomic, a Sequence."""
    session.get("./DevDetail/FwV")
    session.replace("./Vendor/Level", "7", format="int")
    session.replace("./Vendor/Image", bytes(reversed(LOG)), format="bin")
    log = session.get("./Vendor/Log")
    with session.atomic():
        session.add("./Vendor/New", "x")
        session.replace("./Vendor/Level", "8", format="int")
    with session.sequence():
        session.get("./Vendor/Level")
        session.delete("./Vendor/New")
    assert log.value == LOG
    session.get("./Vendor/Image").value


def recorded(tmp_path, tree: omadm.MemoryTree | None = None, script=inventory,
             name: str = "t") -> omadm.capture.Trace:
    with omadm.http.Server(script, server_id="srv", trace_dir=str(tmp_path / name), max_msg_size=4096) as server:
        omadm.http.device(server.url, tree or device(), server_id="srv", max_msg_size=4096)
    [session] = server.finished
    session.wait()
    assert session.error is None
    [trace] = omadm.capture.read([str(tmp_path / name)])
    return trace


def replayed(trace: omadm.capture.Trace, tree: omadm.MemoryTree) -> list[str]:
    with omadm.http.Server(omadm.replay.Replay(trace), server_id="srv", max_msg_size=4096) as server:
        omadm.http.device(server.url, tree, server_id="srv", max_msg_size=4096)
    [session] = server.finished
    session.wait()
    assert session.error is None, session.error
    return session.differences


def test_a_device_answering_as_the_captured_one_did_has_no_differences(tmp_path, capsys):
    trace = recorded(tmp_path)
    replay = omadm.replay.Replay(trace)
    assert [[step.name for step in package] for package in replay.packages] == [
        ["Get ./DevDetail/FwV", "Replace ./Vendor/Level", "Replace ./Vendor/Image", "Get ./Vendor/Log", "Atomic",
         "Sequence"], ["Get ./Vendor/Image"]]
    chunked = {d for d, body in zip(trace.directions, trace.messages)
               if any(item["more_data"] for c in omadm.decode(body).commands for v in c.values()
                      for item in v.get("items", []) if isinstance(item, dict) and "more_data" in item)}
    assert chunked == {"c2s", "s2c"}  # the large objects took several messages each way
    assert replayed(trace, device()) == []
    assert "[replay] IMEI:9: 11 commands of " in capsys.readouterr().out


def test_what_a_device_answers_differently_is_listed(tmp_path, capsys):
    trace = recorded(tmp_path)
    other_log = LOG[:-1] + b"!"
    differences = replayed(trace, device(log=other_log, firmware=None))
    assert differences == [
        "Get ./DevDetail/FwV: 200 in the capture, 404 now",
        f"Get ./Vendor/Log: <10240 bytes, sha256 {hashlib.sha256(LOG).hexdigest()[:8]}> in the capture, "
        f"<10240 bytes, sha256 {hashlib.sha256(other_log).hexdigest()[:8]}> now",
    ]
    out = capsys.readouterr().out
    assert "11 commands of " in out and "2 answered differently:" in out and "[replay]   Get ./DevDetail/FwV" in out
    tree = device(firmware="2.0")
    tree.set("./DevInfo/Mod", "X2")
    assert replayed(trace, tree) == ["DevInfo ./DevInfo/Mod: 'X1' in the capture, 'X2' now",
                                     "Get ./DevDetail/FwV: '1.0' in the capture, '2.0' now"]


def test_two_captures_of_a_session_are_compared_offline(tmp_path):
    before = recorded(tmp_path)
    assert omadm.replay.compare(before, recorded(tmp_path, name="same")) == []
    newer = device(firmware="2.0")
    newer.set("./DevInfo/Mod", "X2")
    after = recorded(tmp_path, newer, name="after")
    was, now = f"in {before.name}", f"in {after.name}"
    assert omadm.replay.compare(before, after) == [
        f"DevInfo ./DevInfo/Mod: 'X1' {was}, 'X2' {now}",
        f"Get ./DevDetail/FwV: '1.0' {was}, '2.0' {now}"]

    def fewer(session):
        session.get("./DevDetail/FwV")
        session.get("./Vendor/Nope")

    other = recorded(tmp_path, script=fewer, name="other")
    differences = omadm.replay.compare(before, other)
    assert f"Get ./Vendor/Nope: sent in {other.name} only" in differences
    assert f"Replace ./Vendor/Level: sent in {before.name} only" in differences
    assert not any(d.startswith("Get ./DevDetail/FwV") for d in differences)
    shown = cli("diff", str(tmp_path / "t"), str(tmp_path / "after"))
    assert shown.returncode == 1
    assert shown.stdout.decode().splitlines()[1] == f"Get ./DevDetail/FwV: '1.0' {was}, '2.0' {now}"
    assert cli("diff", str(tmp_path / "t"), str(tmp_path / "same")).stdout == b"no differences\n"


def test_a_capture_without_server_commands_cannot_be_replayed(tmp_path):
    trace = recorded(tmp_path)
    with pytest.raises(omadm.UsageError, match="the server sent no command to play again"):
        omadm.replay.Replay(omadm.capture.Trace("x", trace.messages[:1], ["c2s"]))


def test_cli_serve_replays_a_network_capture(tmp_path):
    """`omadm serve --replay CAPTURE`: the session tcpdump captured, played against a device."""
    from test_omadm import omadm_serve
    from test_capture import CAPTURES

    with omadm_serve("--replay", str(CAPTURES / "xml-ethernet.pcap")) as (server, url):
        r = cli("device", "--server", url)
        assert r.returncode == 0, r.stderr
        said = server.stdout.readline()
        assert said.startswith(f"[replay] IMEI:493005100592800: 2 commands of {CAPTURES}/xml-ethernet.pcap#"), said
        assert said.strip().endswith("all answered as captured"), said
    r = cli("serve", "--port", "0", "--replay", str(CAPTURES / "xml-ethernet.pcap"), "--script", "x.py")
    assert r.returncode == 2 and b"--script, --replay, --conformance, --fumo and --dump-tree each give the server its script" in r.stderr
    trace = tmp_path / "two"
    for t in omadm.capture.read([str(CAPTURES / "xml-ethernet.pcap"), str(CAPTURES / "wbxml-md5.pcapng")]):
        t.save(str(trace))
    r = cli("serve", "--port", "0", "--replay", str(trace))
    assert r.returncode == 1 and b"holds 2 sessions" in r.stderr and b"omadm extract" in r.stderr



def test_the_captured_device_s_tree_stands_in_for_it(tmp_path):
    """`device_tree(trace)`: what the session shows of the device's tree, as it was left; played
    the same session again, a device with that tree answers as the captured one did."""
    trace = recorded(tmp_path)
    tree = omadm.replay.device_tree(trace)
    nodes = tree.to_dict()
    assert tree.get("./DevDetail/FwV") == "1.0" and tree.get("./DevInfo/Mod") == "X1"
    assert tree.get("./Vendor/Log") == LOG and nodes["./Vendor/Log"]["format"] == "bin"
    assert tree.get("./Vendor/Level") == "8" and nodes["./Vendor/Level"]["format"] == "int"
    assert "./Vendor/New" not in nodes  # added in the Atomic, deleted in the Sequence
    assert "./Vendor/Image" not in nodes  # the device had no such node to replace (404)
    assert replayed(trace, tree) == []
    r = cli("extract", str(tmp_path / "t"), "--tree", str(tmp_path / "twin.json"))
    assert r.returncode == 0 and r.stdout.decode().endswith(f"-> {tmp_path / 'twin.json'}\n"), r.stderr
    assert omadm.MemoryTree.load(str(tmp_path / "twin.json")).to_dict() == nodes


def test_the_captured_device_s_tree_holds_what_its_tnds_listings_show():
    """A Get of `?list=TNDS` shows a whole subtree: the twin holds its nodes, their Format,
    Type, value and ACL; a Get of a property (`?prop=`) is no node."""
    tree = device()
    tree.set("./Vendor/Net/Apn", "internet")
    tree.set_acl("./Vendor/Net", "Get=srv&Replace=srv")

    def listing(session):
        session.get("./Vendor?list=TNDS+ACL+Format+Type+Value")
        session.get("./Vendor/Level?prop=Format")

    with omadm.http.Server(listing, server_id="srv", check=True) as server:  # check: it keeps the trace
        omadm.http.device(server.url, tree, server_id="srv")
    [session] = server.finished
    assert session.trace is not None and session.violations == []
    twin = omadm.replay.device_tree(session.trace)
    nodes = twin.to_dict()
    assert twin.get("./Vendor/Net/Apn") == "internet" and twin.get("./Vendor/Level") == "1"
    assert twin.get("./Vendor/Log") == LOG and nodes["./Vendor/Log"]["format"] == "bin"
    assert nodes["./Vendor/Net"]["acl"] == "Get=srv&Replace=srv"
    assert not [uri for uri in nodes if "?" in uri]


def test_a_status_without_msgref_answers_the_server_s_last_message():
    """MsgRef is optional: a Status or Results without it answers the message before it."""
    import re
    from test_capture import CAPTURES

    [trace] = omadm.capture.read(CAPTURES / "xml-ethernet.pcap")
    bare = omadm.capture.Trace("bare", [re.sub(rb"<MsgRef>\d+</MsgRef>", b"", m) if d == "c2s" else m
                                        for m, d in zip(trace.messages, trace.directions)], trace.directions)
    assert b"<MsgRef>" not in b"".join(bare.messages[::2])

    def answers(t):
        return [(s.status, [item["data"] for item, _ in s.results])
                for package in omadm.replay.Replay(t).packages for top in package for s in top.steps()]

    assert answers(bare) == answers(trace) == [(200, [{"Text": "simulated"}]), (200, [{"Text": "1.0"}])]


def test_a_device_that_ends_the_session_early_is_a_difference_too(tmp_path, capsys):
    trace = recorded(tmp_path)
    with omadm.http.Server(omadm.replay.Replay(trace), server_id="srv", max_msg_size=4096) as server:
        with pytest.raises(omadm.Error, match="aborted"):
            omadm.http.device(server.url, device(), server_id="srv", max_msg_size=4096,
                              received=lambda client, events: client.abort())
    [session] = server.finished
    session.wait(5)
    assert session.error is None and session.differences == [
        "Get ./DevDetail/FwV: answered in the capture, not now (the session ended before the device answered)"]
    assert "1 answered differently:" in capsys.readouterr().out
