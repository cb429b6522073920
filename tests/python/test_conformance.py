"""omadm.conformance: conformance either way (a device's as a server finds it, a server's as a device
finds it), check by check."""

import contextlib
import http.server
import re
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET

import pytest

import omadm
import omadm.http
from conftest import cli, free_port
from omadm.conformance import Conformance, Verdict, check_server, junit

DEVINFO = {"./DevInfo/DevId": "IMEI:1", "./DevInfo/Man": "Acme", "./DevInfo/Mod": "X1", "./DevInfo/DmV": "1.2",
           "./DevInfo/Lang": "en"}
CHECKS = ["devinfo", "get-leaf", "get-missing", "get-interior", "property-format", "property-acl", "property-type",
          "list-struct", "add-interior", "add-leaf", "add-existing", "replace-acl", "get-added", "replace-leaf",
          "replace-missing", "atomic-rollback", "sequence", "large-object", "delete-leaf", "delete-interior",
          "alert-display", "alert-confirm"]


def conformance(tree, root=".", large_object=24 * 1024, device=None, ddfs=(), **server_options) -> list[Verdict]:
    """The verdicts of a conformance run against a simulated device with this tree (``device``:
    its session options)."""
    with omadm.http.Server(Conformance(root, large_object, ddfs), server_id="srv", **server_options) as server:
        omadm.http.device(server.url, tree, server_id="srv", **(device or {}))
        [session] = server.finished
        session.wait(5)
    assert session.error is None, session.error
    assert session.result == [v for v in session.verdicts if v.outcome == "fail"]
    return session.verdicts


def test_a_conformant_device_passes_every_check_and_keeps_no_scratch_node(capsys):
    tree = omadm.MemoryTree(DEVINFO)
    verdicts = conformance(tree, large_object=9000)
    assert [(v.check, v.outcome) for v in verdicts] == [(c, "pass") for c in CHECKS]
    assert sorted(tree.to_dict()) == sorted(DEVINFO), "what it added is gone"
    printed = capsys.readouterr().out
    assert "[conformance] IMEI:1: 22 pass\n" in printed
    assert "PASS        atomic-rollback: 507: members 216, 404" in printed


FUMO_DDF = ('<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName/><DFProperties><DFFormat><node/>'
            '</DFFormat><DFType><DDFName>urn:oma:mo:oma-fumo:1.0</DDFName></DFType></DFProperties>'
            '<Node><NodeName>State</NodeName><DFProperties><DFFormat><int/></DFFormat></DFProperties></Node>'
            '<Node><NodeName>PkgName</NodeName><DFProperties><DFFormat><chr/></DFFormat><Occurrence><ZeroOrOne/>'
            '</Occurrence></DFProperties></Node></Node></MgmtTree>')


def test_a_device_s_management_objects_are_held_to_their_ddf(tmp_path):
    """`Conformance(ddfs=[(URI, DDF)])` (`omadm serve --conformance --ddf URI=FILE`): a check
    `ddf URI` each, the subtree as the device lists it (TNDS) against the DDF."""
    tree = omadm.MemoryTree({**DEVINFO, "./FUMO": {"format": "node", "type": "urn:oma:mo:oma-fumo:1.0"},
                             "./FUMO/State": {"value": "10", "format": "int"}})
    verdicts = conformance(tree, large_object=9000, ddfs=[("./FUMO", FUMO_DDF), ("./Missing", FUMO_DDF)])
    by_check = {v.check: v for v in verdicts}
    assert (by_check["ddf ./FUMO"].outcome, by_check["ddf ./FUMO"].detail) == ("pass", "2 nodes as the DDF describes")
    assert by_check["ddf ./Missing"].outcome == "fail" and by_check["ddf ./Missing"].detail.startswith("404: ")
    tree.set("./FUMO/State", "ten")
    tree.set("./FUMO/Extra", "x")
    [broken] = [v for v in conformance(tree, large_object=9000, ddfs=[("./FUMO", FUMO_DDF)]) if v.check == "ddf ./FUMO"]
    assert (broken.outcome, broken.detail) == ("fail", "./FUMO/State: Format chr, where the DDF has int; "
                                                       "./FUMO/Extra: a node the DDF does not describe")
    (tmp_path / "fumo.ddf").write_text(FUMO_DDF)
    bad = cli("serve", "--ddf", f"./FUMO={tmp_path / 'fumo.ddf'}")
    assert bad.returncode == 2 and b"--ddf is a check of --conformance" in bad.stderr
    for given, why in (("FUMO", b"not URI=FILE"), ("./FUMO=nowhere.ddf", b"nowhere.ddf: No such file")):
        bad = cli("serve", "--conformance", "--ddf", given)
        assert bad.returncode == 2 and why in bad.stderr, bad.stderr
    # A DDF that cannot be read is refused before a device is served.
    (tmp_path / "bad.ddf").write_text("<MgmtTree/>")
    bad = cli("serve", "--conformance", "--ddf", f"./FUMO={tmp_path / 'bad.ddf'}")
    assert bad.returncode == 1 and b"not a DDF document that can be read: no Node" in bad.stderr, bad.stderr


class Sloppy:
    """A device tree that breaks the rules a conformance run checks: no properties, a Replace
    that creates what is missing, no Delete, a Get of a missing node that gives an empty value,
    no transactions (so no Atomic)."""

    def __init__(self):
        self.values = dict(DEVINFO)

    def get(self, uri):
        if "?" in uri:
            e = KeyError(uri)
            e.status = 406
            raise e
        if uri == "./DevInfo":
            return ["DevId", "Man", "Mod", "DmV", "Lang"]
        return self.values.get(uri, "")

    def add(self, uri, value, format, type):
        if uri in self.values:
            return 418
        self.values[uri] = value

    def replace(self, uri, value, format, type):
        self.values[uri] = value


def test_a_device_that_breaks_rules_fails_those_checks_and_lacks_the_optional_ones():
    verdicts = {v.check: v for v in conformance(Sloppy(), root="./Vendor")}
    failed = sorted(c for c, v in verdicts.items() if v.outcome == "fail")
    assert failed == ["delete-interior", "delete-leaf", "get-missing", "property-acl", "property-format",
                      "property-type", "replace-acl", "replace-missing"], verdicts
    assert verdicts["get-missing"].detail == "200 '': a missing node gives 404"
    assert [c for c, v in verdicts.items() if v.outcome == "unsupported"] == ["atomic-rollback"]
    assert verdicts["atomic-rollback"].detail.startswith("501: members 215, 215"), "a tree without transactions"
    assert verdicts["replace-missing"].detail.startswith("200: Replace MUST NOT create a node")


def test_a_device_that_lets_this_server_add_nothing_skips_the_writes():
    tree = omadm.MemoryTree(DEVINFO)
    tree.set_acl(".", "Get=*")
    verdicts = conformance(tree)
    assert [(v.check, v.outcome) for v in verdicts if v.outcome != "pass"] == [("writes", "skipped")]
    assert verdicts[8].detail == "the device does not let this server add ./omadm-conformance (425)"


def test_cli_serve_conformance_once_exits_with_the_verdict(run_agent, tmp_path):
    """The C agent example passes what it supports (its values are small: no large objects), and
    its messages keep the checker's rules (--check: the check "rules"); a device that fails a
    check makes the exit 1. Each run is a JUnit report too."""
    for device, code in (("agent", 0), ("sloppy", 1)):
        report = tmp_path / f"{device}.xml"
        server = subprocess.Popen([sys.executable, "-m", "omadm.cli", "serve", "--port", "0", "--conformance",
                                   "./Vendor", "--once", "--check", "--junit", str(report), "--server-id", "omadm-demo",
                                   "--auth", "md5",
                                   "--username", "device", "--password", "secret", "--nonce", "demo-nonce"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            url = server.stdout.readline().strip()
            if device == "agent":
                assert run_agent(url).returncode == 0
            else:
                with contextlib.suppress(omadm.Error):
                    omadm.http.device(url, Sloppy(), server_id="omadm-demo", auth="md5", username="device",
                                      password="secret", nonce=b"demo-nonce")
            out, _ = server.communicate(timeout=30)
        finally:
            server.kill()
        assert server.returncode == code, out
        summary = {"agent": "21 pass, 1 unsupported\n", "sloppy": "13 pass, 8 fail, 1 unsupported\n"}[device]
        assert summary in out, out
        assert device != "agent" or "UNSUPPORTED large-object: 413" in out, out
        [suite] = ET.parse(report).getroot()
        cases = {c.get("name"): [e.tag for e in c] for c in suite}
        assert suite.get("name") == {"agent": "IMEI:493005100592800", "sloppy": "IMEI:1"}[device] and len(cases) == 23
        assert (suite.get("failures"), suite.get("skipped")) == {"agent": ("0", "1"), "sloppy": ("8", "1")}[device]
        assert cases["large-object" if device == "agent" else "atomic-rollback"] == ["skipped"]
        assert cases["get-leaf"] == ["system-out"] and (device == "agent" or cases["get-missing"] == ["failure"])
        assert cases["rules"] == ["system-out"] and "[check] " in out, out
    bad = cli("serve", "--conformance", "--replay", "x.pcap")
    assert bad.returncode == 2 and b"--script, --replay, --conformance, --fumo and --dump-tree each give the server its script" in bad.stderr


def test_a_server_s_conformance_as_a_device_finds_it():
    def script(session):
        session.get("./DevInfo/Man").status

    with omadm.http.Server(script, server_id="srv") as server:
        verdicts = check_server(server.url, lambda: omadm.MemoryTree(DEVINFO), server_id="srv")
    assert [(v.check, v.outcome) for v in verdicts] == [
        (c, "pass") for c in ("session", "wbxml", "small-messages", "generic-alert", "device-abort")]
    assert verdicts[4].detail == "a device that aborts after package 2 (Alert 1223): 4 messages, as the rules ask"


def test_a_server_with_credentials_is_checked_for_its_challenge_and_its_own_credentials():
    credentials = dict(auth="md5", username="dev", password="pw", server_password="spw")
    with omadm.http.Server(lambda s: s.get("./DevInfo/Man").status, server_id="srv", **credentials) as server:
        verdicts = check_server(server.url, lambda: omadm.MemoryTree(DEVINFO), server_id="srv", **credentials)
    assert [(v.check, v.outcome) for v in verdicts][-3:] == [
        ("stale-nonce", "pass"), ("wrong-password", "pass"), ("server-auth", "pass")]
    assert all(v.outcome == "pass" for v in verdicts), verdicts
    assert verdicts[-3].detail.startswith("a device whose md5 nonce is stale: challenged (401 and Chal), then taken")


@pytest.mark.parametrize("auth", ["basic", "md5", "hmac"])
def test_a_server_that_takes_any_password_fails_the_wrong_password_check(auth):
    """A server that asks for no credentials at all takes a wrong password as well as the right
    one: the device finds it out (200 to the SyncHdr, its commands run)."""
    credentials = dict(auth=auth, username="dev", password="pw")
    with omadm.http.Server(lambda s: s.get("./DevInfo/Man").status, server_id="srv") as server:
        verdicts = check_server(server.url, lambda: omadm.MemoryTree(DEVINFO), server_id="srv", **credentials)
    wrong = next(v for v in verdicts if v.check == "wrong-password")
    assert wrong.outcome == "fail" and "the server took a wrong password (200" in wrong.detail, wrong


class Forgetful(http.server.BaseHTTPRequestHandler):
    """A DM server that answers no client Alert in XML (R21 asks for a Status for each)."""

    sessions: dict = {}

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        m = omadm.decode(body)
        if m.msg_id == 1:
            wbxml = self.headers["Content-Type"].endswith("+wbxml")
            self.sessions[m.source] = omadm.ServerSession("srv", encoding="wbxml" if wbxml else "xml")
        server = self.sessions[m.source]
        server.receive(body)
        reply = server.next_message()
        if server.content_type == "application/vnd.syncml.dm+xml":
            reply = re.sub(rb"<Status><CmdID>\d+</CmdID>(?:(?!</Status>).)*<Cmd>Alert</Cmd>.*?</Status>", b"", reply)
        self.send_response(200)
        self.send_header("Content-Type", server.content_type)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def test_a_server_that_breaks_a_rule_fails_the_checks_that_meet_it(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forgetful)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/dm"
    try:
        verdicts = {v.check: v for v in check_server(url, lambda: omadm.MemoryTree(DEVINFO), server_id="srv")}
        r = cli("device", "--server", url, "--server-id", "srv", "--conformance")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert {c: v.outcome for c, v in verdicts.items()} == {
        "session": "fail", "wbxml": "pass", "small-messages": "fail", "generic-alert": "fail", "device-abort": "fail"}
    assert verdicts["generic-alert"].detail.endswith("R21 message 1, its Status for the Generic Alert: none")
    assert r.returncode == 1 and b"[conformance] " + url.encode() + b": 1 pass, 4 fail\n" in r.stdout, r.stdout
    report = ET.fromstring(junit([(url, list(verdicts.values()))]))
    assert [(c.get("name"), [e.tag for e in c]) for c in report[0]][:2] == [("session", ["failure"]),
                                                                           ("wbxml", ["system-out"])]
    lonely = cli("device", "--server", url, "--junit", str(tmp_path / "r.xml"))
    assert lonely.returncode == 2 and b"--junit reports the checks of --conformance" in lonely.stderr


def test_cli_serve_notifies_a_listening_device_and_checks_it(run_agent):
    """A server-initiated conformance run: omadm serve --notify pushes package 0 over UDP to the
    C agent waiting with --listen, which starts the session it asks for."""
    port, udp = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    agent = run_agent(f"http://127.0.0.1:{port}/dm", "--listen", str(udp), background=True)
    try:
        assert agent.stdout.readline() == f"agent: waiting for package 0 on udp port {udp}\n"
        served = cli("serve", "--port", str(port), "--conformance", "./Vendor", "--once", "--notify", str(udp),
                     "--server-id", "omadm-demo", "--server-password", "server-secret", "--auth", "md5",
                     "--username", "device", "--password", "secret", "--nonce", "demo-nonce")
        out, err = agent.communicate(timeout=60)
    finally:
        agent.kill()
    lines = served.stdout.decode().splitlines()
    assert served.returncode == 0 and lines[1].startswith("package 0 for session "), served.stdout
    session = lines[1].split()[4]
    assert f"agent: package 0 from omadm-demo: session {session}, ui-mode 0" in out and agent.returncode == 0, err
    assert "[conformance] IMEI:493005100592800: 21 pass, 1 unsupported" in lines


@pytest.mark.parametrize("auth", ["none", "basic", "md5", "hmac"])
@pytest.mark.parametrize("server_password", [None, "spw"])
@pytest.mark.parametrize("encoding", ["xml", "wbxml"])
def test_omadm_s_own_server_passes_check_server_whatever_its_auth(auth, server_password, encoding):
    """Each way a session authenticates, in either encoding, with a script that sends a large
    object to a device taking 1 KiB messages: a matrix that found five defects of the engines
    and the checker, kept so that none comes back."""
    credentials = {} if auth == "none" else dict(auth=auth, username="dev", password="pw")
    if server_password:
        credentials["server_password"] = server_password

    def script(session):
        session.get("./DevInfo/Man").status
        session.replace("./Vendor/Big", "x" * 3000).status
        session.get("./Vendor/Big").status

    def tree():
        t = omadm.MemoryTree(DEVINFO)
        t.set("./Vendor/Big", "1")
        t.set_acl("./Vendor", "Get=*&Replace=*")
        return t

    with omadm.http.Server(script, server_id="srv", encoding=encoding, max_msg_size=2048, **credentials) as server:
        verdicts = check_server(server.url, tree, server_id="srv", **credentials)
    assert [v for v in verdicts if v.outcome != "pass"] == []
    assert len(verdicts) == 5 + (auth in ("md5", "hmac")) + (auth != "none") + bool(server_password)


@pytest.mark.parametrize("auth", ["none", "md5", "hmac"])
@pytest.mark.parametrize("max_msg_size", [None, 1024])
def test_omadm_s_own_device_passes_the_conformance_run_whatever_its_auth(auth, max_msg_size):
    """The other way: a simulated device of each auth, taking 1 KiB messages or not. With HMAC's
    Chal in every status, a device of 1 KiB messages leaves no room for a chunk of the large
    object beside the statuses a continuation holds: that check is skipped, saying so."""
    credentials = {} if auth == "none" else dict(auth=auth, username="dev", password="pw")
    device = dict(credentials, max_msg_size=max_msg_size) if max_msg_size else credentials
    verdicts = conformance(omadm.MemoryTree(DEVINFO), **credentials, device=device)
    tight = auth == "hmac" and max_msg_size == 1024
    assert [(v.check, v.outcome) for v in verdicts if v.outcome != "pass"] == (
        [("large-object", "skipped")] if tight else [])
    assert len(verdicts) == 22
