"""The Python package as a test engineer uses it."""

import copy
import json
import pickle
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import omadm
import omadm.http
from conftest import cli, exchanged, omadm_serve

DEVINFO = {"./DevInfo/DevId": "IMEI:1", "./DevInfo/Man": "Acme", "./DevInfo/Mod": "X1",
           "./DevInfo/DmV": "1.2", "./DevInfo/Lang": "en"}


def device_tree() -> omadm.MemoryTree:
    t = omadm.MemoryTree({**DEVINFO, "./Vendor/Level": "1"})
    t.set_acl("./Vendor", "Get=*&Replace=*&Add=*&Delete=*&Exec=*")
    return t


def run(client: omadm.ClientSession, server: omadm.ServerSession, script) -> list[omadm.Event]:
    """Drives a session in memory; `script(server, package_number)` queues commands."""
    seen, package = [], 0
    while (msg := client.next_message()) is not None:
        for e in server.receive(msg, client.hmac_header):
            seen.append(e)
            if e.kind == "package_end":
                package += 1
                script(server, package)
        reply = server.next_message()
        assert reply is not None
        client.receive(reply, server.hmac_header)
    return seen


def test_decode_vectors_and_round_trip_through_dict(vectors):
    for path in sorted((vectors / "libdmclient_capture").iterdir()):
        m = omadm.decode(path.read_bytes())
        assert m.session_id == "1" and m.msg_id >= 1
        assert omadm.Message.from_dict(m.to_dict()) == m
        assert omadm.decode(m.to_wbxml()) == m
        assert omadm.decode(m.to_xml().encode()) == m


def test_a_message_from_a_dict_holds_only_text_it_can_be_written_with(vectors):
    d = omadm.decode((vectors / "libdmclient_capture" / "xml_pkg1_client.xml").read_bytes()).to_dict()
    d["header"]["source"]["uri"] = "DMC\x01test"
    with pytest.raises(omadm.UsageError, match="the text of LocURI in SyncHdr holds a character XML cannot carry"):
        omadm.Message.from_dict(d)
    d["header"]["source"]["uri"] = "DMCtest"
    d["commands"][-1]["Replace"]["items"][0]["data"] = {"Text": "a\x01b"}
    with pytest.raises(omadm.UsageError, match="the text of Data in Replace"):
        omadm.Message.from_dict(d)
    d["commands"][-1]["Replace"]["items"][0]["data"] = {"Binary": [97, 1, 98]}
    assert omadm.decode(omadm.Message.from_dict(d).to_wbxml()) == omadm.Message.from_dict(d)


def test_xml_wbxml_conversions(vectors):
    xml = (vectors / "handwritten" / "dm12_pkg1.xml").read_bytes()
    wbxml = omadm.xml_to_wbxml(xml)
    assert wbxml[0] == 0x02
    assert omadm.decode(omadm.wbxml_to_xml(wbxml).encode()) == omadm.decode(xml)


def test_errors_form_one_hierarchy_and_say_where():
    for cls in (omadm.DecodeError, omadm.ProtocolError, omadm.AuthError, omadm.LimitError, omadm.UsageError):
        assert issubclass(cls, omadm.Error)
    with pytest.raises(omadm.DecodeError, match="line 1"):
        omadm.decode(b"<SyncML xmlns='SYNCML:SYNCML1.2'><Foo/></SyncML>")
    with pytest.raises(omadm.DecodeError):
        omadm.decode(b"nonsense")


def test_lenient_decoding(vectors):
    quirky = (vectors / "motorola_dm12" / "testalertconfirm.xml").read_bytes()
    with pytest.raises(omadm.DecodeError):
        omadm.decode(quirky)
    assert omadm.decode(quirky, lenient=True).commands


def test_memory_tree(tmp_path):
    t = omadm.MemoryTree({"./A/B": "b", "./A/C": b"\x00\x01"})
    assert t.get("./A/B") == "b"
    assert t.get("./A/C") == b"\x00\x01"
    assert t.get("./A") == "B/C"
    assert t.get("./Nope") is None
    path = tmp_path / "tree.json"
    t.save(str(path))
    assert omadm.MemoryTree.load(str(path)).get("./A/C") == b"\x00\x01"
    with pytest.raises(omadm.UsageError):
        omadm.MemoryTree.from_json("[1]")


def test_a_tnds_document_is_a_device_s_tree(vectors, tmp_path):
    """`tree.set_tnds(document, base)` takes a TNDS document's nodes as the tree's own, and
    `MemoryTree.load` (so `omadm device --tree FILE`) a file holding one: a device's dump of
    its whole tree (`.?list=TNDS`) is a simulated device that answers as it did."""
    import omadm.http

    ddf = (vectors / "libwbxml" / "ddf-001.ddf").read_text()
    t = omadm.MemoryTree()
    t.set_tnds(ddf, "./Vendor")
    assert t.get("./Vendor/E-Mail/POP3/POPServer") == "mail.Operatorx.com"
    with pytest.raises(omadm.UsageError, match="not a TNDS document that can be read"):
        t.set_tnds("<MgmtTree/>")
    # A device's dump of its tree, taken by a server, then a device of its own.
    real = device_tree()
    real.set("./Vendor/Net/Apn", "internet")
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", real)
    server = omadm.ServerSession("srv")
    server.receive(client.next_message())
    server.get(".?list=TNDS+ACL+Format+Type+Value")
    client.receive(server.next_message())
    [dump] = [e for e in server.receive(client.next_message()) if e.kind == "results"]
    (tmp_path / "dump.xml").write_text(dump.items[0]["data"])
    assert omadm.MemoryTree.load(str(tmp_path / "dump.xml")).to_dict() == real.to_dict()

    def read(session):
        session.apn = session.get("./Vendor/Net/Apn").value

    with omadm.http.Server(read, server_id="srv") as http_server:
        r = cli("device", "--server", http_server.url, "--server-id", "srv", "--tree", str(tmp_path / "dump.xml"))
    assert r.returncode == 0, r.stderr
    assert [s.apn for s in http_server.finished] == ["internet"]
    r = cli("device", "--server", "http://127.0.0.1:9/", "--tree", str(tmp_path / "dump.xml"), "--save-tree")
    assert r.returncode == 1 and b"is a TNDS document, and --save-tree writes JSON" in r.stderr
    assert (tmp_path / "dump.xml").read_text() == dump.items[0]["data"]


def test_omadm_serve_dump_tree_makes_a_device_a_simulated_one(tmp_path):
    """`omadm serve --dump-tree DIR` lists each device's whole tree and writes it as JSON, which
    `omadm device --tree` runs; `session.read_tree(uri)` is the same in a script."""
    real = device_tree()
    real.set("./Vendor/Net/Apn", "internet")
    real.set("./Vendor/Blob", b"\x00\xff")
    real.set("./Vendor/Level", "7", format="int")
    with omadm_serve("--dump-tree", str(tmp_path / "trees"), "--once") as (server, url):
        omadm.http.device(url, real)
        assert server.wait(timeout=30) == 0
        said = server.stdout.read()
    dumped = tmp_path / "trees" / "IMEI_1.json"
    assert f"[dump] IMEI:1: {real.node_count() - 1} nodes -> {dumped}" in said
    assert omadm.MemoryTree.load(str(dumped)).to_dict() == real.to_dict()
    found = []

    def read(session):
        found.append(session.read_tree("./Vendor/Net").to_dict())
        with pytest.raises(omadm.Error, match=r"./Nope\?list=TNDS: 404, not a TNDS document"):
            session.read_tree("./Nope")

    with omadm.http.Server(read) as http_server:
        r = cli("device", "--server", http_server.url, "--tree", str(dumped))
    assert r.returncode == 0, r.stderr
    assert found == [{"./Vendor/Net/Apn": "internet"}] and [s.error for s in http_server.finished] == [None]


def test_a_device_s_tree_is_held_to_a_ddf(tmp_path):
    """`tree.check_ddf(ddf, base)` and `omadm ddf DDF TREE`: each node that is missing, not
    described, or of another Format or Type, with why (exit 1 if any)."""
    ddf = ('<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName/><DFProperties><DFFormat><node/>'
           '</DFFormat><DFType><DDFName>urn:oma:mo:oma-fumo:1.0</DDFName></DFType></DFProperties>'
           '<Node><NodeName>State</NodeName><DFProperties><DFFormat><int/></DFFormat></DFProperties></Node>'
           '<Node><NodeName>PkgURL</NodeName><DFProperties><DFFormat><chr/></DFFormat></DFProperties></Node>'
           '</Node></MgmtTree>')
    tree = omadm.MemoryTree({"./FUMO": {"format": "node", "type": "urn:oma:mo:oma-fumo:1.0"},
                             "./FUMO/State": {"value": "10", "format": "int"}, "./FUMO/PkgURL": "http://fw"})
    assert tree.check_ddf(ddf, "./FUMO") == []
    tree.set("./FUMO/State", "ten")
    tree.set("./FUMO/Extra", "x")
    assert tree.check_ddf(ddf, "./FUMO") == [("./FUMO/State", "Format chr, where the DDF has int"),
                                             ("./FUMO/Extra", "a node the DDF does not describe")]
    with pytest.raises(omadm.UsageError, match="not a DDF document that can be read: an Occurrence of Twice"):
        tree.check_ddf(ddf.replace("<DFFormat><int/>", "<Occurrence><Twice/></Occurrence><DFFormat><int/>"))
    (tmp_path / "fumo.ddf").write_text(ddf)
    tree.save(str(tmp_path / "tree.json"))
    r = cli("ddf", str(tmp_path / "fumo.ddf"), str(tmp_path / "tree.json"), "--base", "./FUMO")
    assert r.returncode == 1 and r.stdout.decode().splitlines() == [
        "./FUMO/State: Format chr, where the DDF has int", "./FUMO/Extra: a node the DDF does not describe",
        f"{tmp_path / 'tree.json'}: 2 nodes not as {tmp_path / 'fumo.ddf'} describes"], r.stdout
    # The other way: a DDF gives a simulated device the MO (tree.set_ddf, omadm device --ddf), and
    # a server checking the device's conformance finds it as the DDF describes.
    made = omadm.MemoryTree()
    made.set_ddf(ddf, "./FUMO")
    assert sorted(made.to_dict()) == ["./FUMO", "./FUMO/PkgURL", "./FUMO/State"] and made.check_ddf(ddf, "./FUMO") == []
    with omadm_serve("--conformance", "--once", "--ddf", f"./FUMO={tmp_path / 'fumo.ddf'}") as (server, url):
        device = cli("device", "--server", url, "--ddf", f"./FUMO={tmp_path / 'fumo.ddf'}")
        out, _ = server.communicate(timeout=30)
    assert device.returncode == 0, device.stderr
    assert "PASS        ddf ./FUMO: 3 nodes as the DDF describes" in out, out


def test_memory_tree_to_dict_is_what_its_constructor_takes():
    t = omadm.MemoryTree({
        "./A/B": "b",
        "./A/C": b"\x00\x01",
        "./A/N": {"value": "5", "format": "int", "acl": "Get=*&Replace=srv"},
        "./A/Empty": {"format": "node"},
    })
    d = t.to_dict()
    assert d["./A/N"] == {"value": "5", "format": "int", "type": "text/plain", "acl": "Get=*&Replace=srv"}
    assert d["./A/Empty"] == {"format": "node"}
    assert d == json.loads(t.to_json())
    again = omadm.MemoryTree(d)
    assert again.to_dict() == d and again.get("./A/C") == b"\x00\x01"
    with pytest.raises(omadm.UsageError):
        omadm.MemoryTree({"./A": {"format": 5}})


def test_a_scripted_session_in_memory():
    tree = device_tree()
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", tree)
    server = omadm.ServerSession("srv")
    refs = {}

    def script(s, package):
        if package == 1:
            refs["get"] = s.get("./DevInfo/Mod")
            refs["rep"] = s.replace("./Vendor/Level", "9")
            with s.atomic() as refs["atomic"]:
                s.add("./Vendor/New", "n")
                s.replace("./Vendor/Missing", "x")

    events = run(client, server, script)
    assert server.devinfo["./DevInfo/Man"] == "Acme"
    results = [e for e in events if e.kind == "results" and e.reference == refs["get"]]
    assert results[0].value == "X1"
    codes = {e.reference: e.code for e in events if e.kind == "status"}
    assert codes[refs["rep"]] == 200 and codes[refs["atomic"]] == 507
    assert tree.get("./Vendor/Level") == "9" and tree.get("./Vendor/New") is None
    assert client.state == "ended" and server.state == "ended"
    assert "status" in repr(events[-2]) or repr(events[-1])
    status = next(e for e in events if e.kind == "status")
    assert status.cmd in ("Get", "Replace", "Atomic") and status.items == [] and status.fields["code"] == status.code
    with pytest.raises(AttributeError, match="a status event has no correlator"):
        status.correlator
    assert copy.deepcopy(status) == status and pickle.loads(pickle.dumps(status)).code == status.code


def test_an_event_makes_its_fields_once_and_equals_one_made_from_a_dict():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    server = omadm.ServerSession("srv")
    ref = []
    events = run(client, server, lambda s, package: package == 1 and ref.append(s.get("./DevInfo/Mod")))
    status = next(e for e in events if e.kind == "status" and e.reference == ref[0])
    assert status.items is status.items and status.fields is status.fields
    assert repr(status) == f"Event(status, reference={ref[0]}, cmd='Get', code=200, items=[])"
    assert status == omadm.Event({"kind": "status", **status.fields})
    assert status != omadm.Event({"kind": "results", **status.fields}) and status != status.fields
    end = omadm.Event({"kind": "package_end"})
    assert end in events and end.fields == {} and end.value is None and repr(end) == "Event(package_end)"
    with pytest.raises(AttributeError, match="a package_end event has no code"):
        end.code
    with pytest.raises(omadm.UsageError, match="names its kind"):
        omadm.Event({"code": 200})


def test_a_full_tree_answers_420_device_full():
    tree = device_tree()
    capacity = tree.leaf_bytes() + 2_500
    tree.set_capacity(capacity)
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", tree)
    server = omadm.ServerSession("srv")
    refs = []

    def script(s, package):
        if package == 1:
            refs.append(s.add("./Vendor/Big", "x" * 1_000))
            refs.extend(s.copy("./Vendor/Big", f"./Vendor/C{i}") for i in range(3))

    events = run(client, server, script)
    codes = {e.reference: e.code for e in events if e.kind == "status"}
    assert [codes[r] for r in refs] == [200, 200, 420, 420]
    assert tree.get("./Vendor/C1") is None and tree.leaf_bytes() <= capacity


def test_a_tree_at_its_most_nodes_answers_420_device_full():
    tree = device_tree()
    tree.set_max_nodes(tree.node_count() + 2)
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", tree)
    server = omadm.ServerSession("srv")
    refs = []

    def script(s, package):
        if package == 1:
            refs.extend(s.add(f"./Vendor/N{i}", "") for i in range(3))

    events = run(client, server, script)
    codes = {e.reference: e.code for e in events if e.kind == "status"}
    assert [codes[r] for r in refs] == [200, 200, 420]
    assert tree.get("./Vendor/N1") == "" and tree.get("./Vendor/N2") is None


def test_md5_and_hmac_sessions():
    for auth in ("md5", "hmac"):
        client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), username="u", password="p",
                                     auth=auth, nonce=b"n")
        server = omadm.ServerSession("srv", username="u", password="p", auth=auth, nonce=b"n")
        events = run(client, server, lambda s, n: s.get("./DevInfo/Man") if n == 1 else None)
        assert any(e.kind == "authenticated" for e in events), auth
        assert any(e.kind == "results" and e.value == "Acme" for e in events), auth


def test_hmac_both_ways_and_server_credentials():
    for auth in ("md5", "hmac"):
        client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), username="u", password="p",
                                     auth=auth, nonce=b"n", server_password="sp", server_nonce=b"s")
        server = omadm.ServerSession("srv", username="u", password="p", auth=auth, nonce=b"n",
                                     server_password="sp", server_nonce=b"s")
        events = run(client, server, lambda s, n: s.get("./DevInfo/Man") if n == 1 else None)
        assert any(e.kind == "results" and e.value == "Acme" for e in events), auth
        assert client.state == "ended"
    # A server with a wrong password is challenged (401), its commands not executed, until the
    # device gives up and aborts.
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), server_password="sp")
    server = omadm.ServerSession("srv", server_password="other")
    events = run(client, server, lambda s, n: s.get("./DevInfo/Man") if n == 1 else None)
    assert any(e.kind == "server_auth_failed" and e.code == 401 for e in events)
    assert not any(e.kind == "results" for e in events)
    assert client.state == "aborted"
    # A stale nonce is only one challenge away from a good session.
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), server_password="sp",
                                 server_nonce=b"s")
    server = omadm.ServerSession("srv", server_password="sp", server_nonce=b"old")
    events = run(client, server, lambda s, n: s.get("./DevInfo/Man") if n == 1 else None)
    assert any(e.kind == "server_authenticated" for e in events)
    assert [e.value for e in events if e.kind == "results"] == ["Acme"]
    assert client.state == "ended"


def test_wrong_password_fails_authentication():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), username="u", password="bad",
                                 auth="md5")
    server = omadm.ServerSession("srv", username="u", password="p", auth="md5")
    events = run(client, server, lambda s, n: None)
    assert any(e.kind == "auth_failed" for e in events)
    assert server.state == "aborted"


def test_snapshot_restore_continues_the_session():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    server = omadm.ServerSession("srv")
    server.receive(client.next_message())
    ref = server.get("./DevInfo/Mod")
    client.receive(server.next_message())
    restored = omadm.ServerSession.restore(server.snapshot(), "srv")
    events = restored.receive(client.next_message())
    assert any(e.kind == "results" and e.reference == ref for e in events)


def test_a_memory_tree_installs_the_standard_objects():
    t = omadm.MemoryTree()
    t.install_devinfo("IMEI:1", "Acme", "X1")
    t.install_devdetail(fw_v="2.1", max_depth=8)
    t.install_dmacc("srv", "https://dm.example/dm", port=8443, auth=[("CLCRED", "DIGEST", "dev", "pw", b"n")])
    d = t.to_dict()
    assert d["./DevInfo"]["type"] == "urn:oma:mo:oma-dm-devinfo:1.0" and d["./DevInfo"]["permanent"]
    assert d["./DevDetail/URI/MaxDepth"]["format"] == "int" and t.get("./DevDetail/FwV") == "2.1"
    assert d["./DMAcc/srv"]["acl"] == "Get=srv&Replace=srv&Delete=srv"
    assert t.get("./DMAcc/srv/AppAddr/1/Port/1/PortNbr") == "8443"
    assert "Get" not in d["./DMAcc/srv/AppAuth/1/AAuthSecret"]["access"]
    for install, refused in ((lambda: t.install_devdetail(max_tot_len=1 << 16), "max_tot_len is 0..65535"),
                             (lambda: t.install_dmacc("srv", "x", port=-1), "port is 0..65535"),
                             (lambda: t.install_dmacc("a/b", "x"), "cannot install ./DMAcc: status 400")):
        with pytest.raises(omadm.UsageError, match=refused):
            install()


def test_a_python_tree_gives_devinfo_through_its_devinfo_node():
    class Tree:
        values = {"./DevInfo/DevId": "IMEI:9", "./DevInfo/Man": "Acme"}

        def get(self, uri):
            return self.values.get(uri)

    with pytest.raises(omadm.UsageError, match="configure devinfo, or give a tree whose ./DevInfo node lists"):
        omadm.ClientSession("IMEI:9", "srv", "http://dm", Tree())
    Tree.values["./DevInfo"] = ["DevId", "Man"]
    server = omadm.ServerSession("srv")
    server.receive(omadm.ClientSession("IMEI:9", "srv", "http://dm", Tree()).next_message())
    assert server.devinfo == {"./DevInfo/DevId": "IMEI:9", "./DevInfo/Man": "Acme"}


def test_a_tampered_snapshot_is_refused_as_a_usage_error():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    server = omadm.ServerSession("srv")
    server.receive(client.next_message())
    saved = json.loads(server.snapshot())
    saved["devinfo"]["ends"].append(10**6)
    with pytest.raises(omadm.UsageError, match="DevInfo"):
        omadm.ServerSession.restore(json.dumps(saved).encode(), "srv")


def test_a_restored_session_keeps_signing_with_the_server_credentials_it_is_given():
    options = dict(username="u", password="p", auth="hmac", server_password="sp")
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), **options)
    server = omadm.ServerSession("srv", **options)
    server.receive(client.next_message(), hmac=client.hmac_header)
    ref = server.get("./DevInfo/Mod")
    client.receive(server.next_message(), hmac=server.hmac_header)
    restored = omadm.ServerSession.restore(server.snapshot(), "srv", **options)
    events = restored.receive(client.next_message(), hmac=client.hmac_header)
    assert any(e.kind == "results" and e.reference == ref for e in events)
    events = client.receive(restored.next_message(), hmac=restored.hmac_header)
    assert [e.kind for e in events][-1] == "ended"


def test_misuse_is_a_usage_error():
    server = omadm.ServerSession("srv")
    with pytest.raises(omadm.UsageError):
        server.next_message()
    with pytest.raises(omadm.UsageError):
        omadm.ServerSession("srv", encoding="json")


def test_notification_round_trip():
    data = omadm.notification.build("com.mgmtsrv.manage", "pw", b"nonce", 0x1234, ui_mode=2)
    n = omadm.notification.parse(data)
    assert isinstance(n, omadm.Notification)
    assert (n.session_id_hex, n.server_id, n.ui_mode) == ("1234", "com.mgmtsrv.manage", 2)
    assert omadm.notification.verify(data, "pw", b"nonce") == "nonce"
    assert omadm.notification.verify(data, "wrong", b"nonce") is None
    assert n.verified is None and omadm.notification.parse(data, "pw", b"nonce").verified == "nonce"
    with pytest.raises(omadm.AuthError):
        omadm.notification.parse(data, "wrong", b"nonce")
    with pytest.raises(omadm.DecodeError):
        omadm.notification.parse(data[:10])
    for session_id, ui_mode in [(70000, 0), (-1, 0), (5, 300)]:
        with pytest.raises(omadm.UsageError, match="session_id is 0..65535|ui_mode is 0..3"):
            omadm.notification.build("srv", "pw", b"nonce", session_id, ui_mode)


def test_cli_decode_encode_notify_demo(vectors, tmp_path):
    pkg = vectors / "libdmclient_capture" / "wbxml_pkg1_client.wbxml"
    r = cli("decode", str(pkg))
    assert r.returncode == 0 and b"<SyncML" in r.stdout
    r = cli("decode", "--json", "-", stdin=pkg.read_bytes())
    assert r.returncode == 0 and b'"commands"' in r.stdout
    out = tmp_path / "m.wbxml"
    assert cli("encode", str(vectors / "handwritten" / "dm12_pkg1.xml"), "--to", "wbxml", "-o", str(out)).returncode == 0
    assert omadm.decode(out.read_bytes()).msg_id == 1
    bad = cli("decode", str(vectors / "motorola_dm12" / "testalertconfirm.xml"))
    assert bad.returncode == 1 and b"line 24" in bad.stderr
    # encode reads as strictly as decode, unless told to take a real peer's slips.
    bad = cli("encode", str(vectors / "motorola_dm12" / "testalertconfirm.xml"), "--to", "wbxml", "-o", str(out))
    assert bad.returncode == 1 and b"line 24" in bad.stderr
    lenient = cli("encode", str(vectors / "motorola_dm12" / "testalertconfirm.xml"), "--to", "wbxml", "--lenient",
                  "-o", str(out))
    assert lenient.returncode == 0 and omadm.decode(out.read_bytes(), lenient=True).msg_id
    note = tmp_path / "n.bin"
    assert cli("notify", "build", "--server-id", "s", "--password", "p", "--nonce", "x", "-o", str(note)).returncode == 0
    good = cli("notify", "parse", str(note), "--password", "p", "--nonce", "x")
    assert good.returncode == 0 and b"digest: matches, with the nonce given" in good.stdout
    bad_digest = cli("notify", "parse", str(note), "--password", "q", "--nonce", "x")
    assert bad_digest.returncode == 1 and b"digest: does not match" in bad_digest.stdout
    demo = cli("demo")
    assert demo.returncode == 0 and b"session ended" in demo.stdout
    # An annotated trace: each server message followed by what the device did with it.
    lines = demo.stdout.decode().splitlines()
    at = next(i for i, line in enumerate(lines) if "server -> device" in line)
    assert "Get" in lines[at] and "Event(executed, cmd='Get'" in "".join(lines[at + 1:at + 6])
    assert "checker: 4 messages, no violations" in lines
    assert cli("--help").returncode == 0
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.decode().strip() == f"omadm {omadm.__version__}"


def test_cli_device_says_in_one_line_why_it_could_not_reach_the_server():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/dm"
    one = cli("device", "--server", url)
    assert one.returncode == 1 and one.stderr == b"omadm device: cannot reach the server: Connection refused\n"
    many = cli("device", "--server", url, "--count", "2")
    assert many.returncode == 1 and b"2 failed with cannot reach the server: Connection refused" in many.stdout


def test_cli_decodes_a_file_past_the_message_limit_a_peer_is_held_to(tmp_path):
    big = tmp_path / "big.xml"
    big.write_text('<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>'
                   "<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>a</LocURI></Target><Source><LocURI>b"
                   "</LocURI></Source></SyncHdr><SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>./a</LocURI>"
                   f"</Target><Data>{'x' * (2 << 20)}</Data></Item></Replace><Final/></SyncBody></SyncML>")
    with pytest.raises(omadm.LimitError):
        omadm.decode(big.read_bytes())
    out = tmp_path / "big.wbxml"
    assert cli("encode", str(big), "--to", "wbxml", "-o", str(out)).returncode == 0
    r = cli("decode", str(out))
    assert r.returncode == 0 and b">" + b"x" * (2 << 20) + b"<" in r.stdout


def test_cli_usage_errors_are_one_line_and_a_closed_pipe_is_no_error(vectors, tmp_path):
    for args, said in [
        (("notify", "build", "--password", "p"),
         b"omadm notify build: error: the following arguments are required: --server-id"),
        (("notify", "parse"), b"omadm notify parse: error: the following arguments are required: file"),
        (("device", "--server", "127.0.0.1:8080/dm"), b"not an http:// or https:// URL: '127.0.0.1:8080/dm'"),
        (("device", "--server", "http://h/dm", "--max-msg-size", "-5"), b"not a positive whole number: '-5'"),
        (("device", "--server", "http://h/dm", "--count", "0"), b"not a positive whole number: '0'"),
        (("notify", "build", "--server-id", "s", "--password", "p", "--session-id", "zz"),
         b"not a session id (1..65535, or 0x1..0xFFFF): 'zz'"),
        (("notify", "build", "--server-id", "s", "--password", "p", "--session-id", "0x10000"),
         b"not a session id (1..65535, or 0x1..0xFFFF): '0x10000'"),
        (("serve", "--port", "99999"), b"not a TCP port (0..65535): '99999'"),
        (("serve", "--passwords", "p.json"), b"--passwords needs --auth basic, md5 or hmac: without it any device is taken"),
        (("device", "--server", "http://h/dm", "--save-tree"), b"--save-tree needs --tree, one device and no --script"),
    ]:
        r = cli(*args)
        assert r.returncode == 2 and b"Traceback" not in r.stderr, r.stderr
        assert r.stderr.strip().splitlines()[-1].endswith(said), r.stderr
    # A message whose JSON is far larger than a pipe holds, read 10 bytes of, as `| head -c 10` does.
    d = omadm.decode((vectors / "handwritten" / "dm12_pkg1.xml").read_bytes()).to_dict()
    d["commands"] = [{"Alert": {**d["commands"][0]["Alert"], "cmd_id": i + 1}} for i in range(3000)]
    big = tmp_path / "big.xml"
    big.write_text(omadm.Message.from_dict(d).to_xml())
    p = subprocess.Popen([sys.executable, "-m", "omadm.cli", "decode", "--json", str(big)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    assert p.stdout.read(10) == b'{\n  "heade'
    p.stdout.close()
    assert p.wait(timeout=60) == 1 and p.stderr.read() == b""


def test_cli_check_says_what_is_wrong_with_a_trace_in_one_line(tmp_path):
    for name, text, said in [
        ("a.jsonl", '{"dir": "c2s"', "a.jsonl line 1: not"),
        ("b.jsonl", '{"dir": "c2s"}', "(KeyError: 'body_b64')"),
        ("c.jsonl", '{"dir": "up", "body_b64": "AA=="}', "(KeyError: 'up')"),
        ("d.jsonl", '{"dir": "c2s", "body_b64": "!!"}', "line 1: not"),
        ("empty", None, "no messages in"),
    ]:
        path = tmp_path / name
        path.mkdir() if text is None else path.write_text(text + "\n")
        r = cli("check", str(path))
        assert r.returncode == 1 and b"Traceback" not in r.stderr, r.stderr
        assert said.encode() in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_cli_a_broken_script_is_one_line_naming_where(tmp_path):
    (tmp_path / "syntax.py").write_text("def run(session)\n    pass\n")
    (tmp_path / "raises.py").write_text("import os\n\nraise RuntimeError('no config')\n")
    for args, said in [
        (("serve", "--port", "0", "--script", str(tmp_path / "syntax.py")), f"{tmp_path}/syntax.py line 1: expected ':'"),
        (("serve", "--port", "0", "--script", str(tmp_path / "raises.py")),
         f"{tmp_path}/raises.py line 3: RuntimeError: no config"),
        (("device", "--server", "http://127.0.0.1:9/dm", "--script", str(tmp_path / "raises.py")),
         f"{tmp_path}/raises.py line 3: RuntimeError: no config"),
    ]:
        r = cli(*args)
        assert r.returncode == 1 and r.stderr.decode().strip() == f"omadm {args[0]}: {said}", r.stderr


def test_stubs_match_the_native_module():
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "omadm._native"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def inventory(session):
    """A server script as a test engineer writes it."""
    model = session.get("./DevInfo/Mod").value
    session.replace("./Vendor/Level", f"seen {model}")
    with session.atomic():
        session.add("./Vendor/New", "n")
    session.found = session.get("./Vendor/Level").value


@pytest.mark.parametrize("encoding,auth", [("xml", "none"), ("wbxml", "md5"), ("xml", "hmac")])
def test_a_session_over_real_http(encoding, auth, tmp_path):
    import omadm.http

    creds = {} if auth == "none" else {"username": "u", "password": "p", "auth": auth, "nonce": b"n"}
    with omadm.http.Server(inventory, server_id="srv", encoding=encoding, trace_dir=str(tmp_path), **creds) as server:
        tree = device_tree()
        events = omadm.http.device(server.url, tree, device_id="IMEI:1", server_id="srv", encoding=encoding, **creds)
        assert tree.get("./Vendor/Level") == "seen X1"
        assert tree.get("./Vendor/New") == "n"
        assert any(e.kind == "ended" for e in events)
        done = server.finished[0]
        assert done.error is None and done.found == "seen X1"
        assert server.routed_by_resp_uri >= 1, "the device followed the server's RespURI"
    assert len(list(tmp_path.iterdir())) >= 4


def test_a_script_has_every_command_of_the_server_session_copy_and_abort_too():
    import omadm.http

    def script(session):
        session.copied = session.copy("./DevInfo/Man", "./Vendor/Maker").status
        session.abort()
        session.get("./DevInfo/Mod").status  # never answered: the session ends first

    with omadm.http.Server(script, server_id="srv") as server:
        tree = device_tree()
        with pytest.raises(omadm.Error, match="the session was aborted") as refused:
            omadm.http.device(server.url, tree, device_id="IMEI:1", server_id="srv")
        assert [e.by_peer for e in refused.value.events if e.kind == "aborted"] == [True]
        assert tree.get("./Vendor/Maker") == "Acme"
        done = server.finished[0]
        done.wait(5)
        assert done.copied == 200
        assert isinstance(done.error, omadm.Error) and "ended before the device answered" in str(done.error)


def test_simulated_devices_each_name_themselves_in_their_devinfo():
    import omadm.http

    seen = []
    with omadm.http.Server(lambda session: seen.append((session.server.device_id, session.devinfo)),
                           server_id="srv") as server:
        ok, failed, _ = omadm.http.devices(server.url, device_tree().to_json(), count=3, concurrency=2,
                                           server_id="srv")
    assert (ok, failed) == (3, 0)
    assert sorted(d["./DevInfo/DevId"] for _, d in seen) == [f"IMEI:{i:015d}" for i in range(3)]
    assert all(source == d["./DevInfo/DevId"] for source, d in seen)


def test_a_group_is_closed_however_its_block_ends():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    server = omadm.ServerSession("srv")
    server.receive(client.next_message())
    with pytest.raises(KeyError):
        with server.sequence():
            server.replace("./Vendor/Level", "2")
            raise KeyError("the script's own fault")
    server.get("./Vendor/Level")
    commands = omadm.decode(server.next_message()).commands
    assert [next(iter(c)) for c in commands][-2:] == ["Sequence", "Get"], commands


def test_a_script_reads_what_the_user_answered_its_ui_alerts():
    import omadm.http

    def script(session):
        name, pick = session.alert(1102, ["MINDT=10", "Your name?"]), session.alert(1103, ["", "Pick", "a", "b"])
        session.answers = (name.status, name.value, pick.value)

    def user(code, options, text, choices):
        return "Bob" if code == 1102 else [2]

    with omadm.http.Server(script, server_id="srv") as server:
        omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv",
                          setup=lambda client: client.set_ui_handler(user))
        assert server.finished[0].answers == (200, "Bob", "2")


def test_a_script_command_that_can_never_fit_is_the_scripts_error_not_the_devices():
    import omadm.http

    def script(session):
        with pytest.raises(omadm.UsageError, match="none of it is sent"):  # refused when queued
            with session.atomic():
                session.add("./Vendor/A", "a" * 800)
        with session.atomic():  # small as queued, but its escapes make it too large: dropped later
            session.add("./Vendor/B", "&" * 300)
            session.add("./Vendor/C", "&" * 300)
        session.found = session.get("./DevInfo/Man").value

    with omadm.http.Server(script, server_id="srv") as server:
        tree = device_tree()
        events = omadm.http.device(server.url, tree, device_id="IMEI:1", server_id="srv", max_msg_size=1500)
        assert events[-1].kind == "ended" and tree.get("./Vendor/B") is None
        done = server.finished[0]
        assert done.found == "Acme"
        assert isinstance(done.error, omadm.UsageError) and "dropped" in str(done.error)


def test_the_http_server_answers_in_the_devices_encoding_unless_told_one(tmp_path):
    import omadm.http

    with omadm.http.Server(inventory, server_id="srv", trace_dir=str(tmp_path)) as server:
        events = omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv", encoding="wbxml")
        assert any(e.kind == "ended" for e in events)
    replies = [f.read_bytes() for f in sorted(tmp_path.iterdir()) if f.name.endswith("s2c.msg")]
    assert replies and all(r[:1] == b"\x02" for r in replies), "WBXML 1.2"
    with omadm.http.Server(inventory, server_id="srv", encoding="xml", trace_dir=str(tmp_path / "x")) as server:
        omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv", encoding="wbxml")
    replies = [f.read_bytes() for f in (tmp_path / "x").iterdir() if f.name.endswith("s2c.msg")]
    assert replies and all(r.startswith(b"<") for r in replies)


def test_the_http_glue_reads_no_message_past_the_limit():
    import http.client
    import http.server
    import threading
    import urllib.parse

    import omadm.http

    with omadm.http.Server(inventory, server_id="srv") as server:
        url = urllib.parse.urlsplit(server.url)
        for headers, status in [
            ({"Content-Type": "application/vnd.syncml.dm+xml", "Content-Length": str(1 << 40)}, 413),
            ({"Content-Type": "application/vnd.syncml.dm+xml", "Content-Length": "-5"}, 411),
            ({"Content-Type": "text/plain", "Content-Length": "5"}, 415),
        ]:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            conn.putrequest("POST", url.path)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders(b"hello")
            assert conn.getresponse().status == status
            conn.close()
        events = omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv")
        assert events[-1].kind == "ended", "the server still serves"
        # A body in the chunked transfer coding, as HTTP/1.1 devices may send one.
        package1 = omadm.ClientSession("IMEI:2", "srv", server.url, device_tree()).next_message()
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("POST", url.path, iter([package1[:100], package1[100:]]),
                     {"Content-Type": "application/vnd.syncml.dm+xml"}, encode_chunked=True)
        reply = conn.getresponse()
        assert reply.status == 200
        assert omadm.decode(reply.read()).commands[0]["Status"]["cmd"] == "SyncHdr"
        conn.close()
        for headers, body, status in [
            ({"Transfer-Encoding": "chunked"}, b"zz\r\nhello\r\n0\r\n\r\n", 400),
            ({"Transfer-Encoding": "chunked"}, b"9\r\nhello\r\n0\r\n\r\n", 400),
            ({"Transfer-Encoding": "gzip"}, b"", 501),
        ]:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            conn.putrequest("POST", url.path)
            conn.putheader("Content-Type", "application/vnd.syncml.dm+xml")
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            assert conn.getresponse().status == status, body
            conn.close()
    # The server's own limit, when it is given one.
    with omadm.http.Server(inventory, server_id="srv", limits=omadm.Limits(max_message_size=300)) as server:
        url = urllib.parse.urlsplit(server.url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("POST", url.path, b"<" * 301, {"Content-Type": "application/vnd.syncml.dm+xml"})
        assert conn.getresponse().status == 413
        conn.close()
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("POST", url.path, iter([b"<" * 200] * 2), {"Content-Type": "application/vnd.syncml.dm+xml"},
                     encode_chunked=True)
        assert conn.getresponse().status == 413, "chunks past the limit"
        conn.close()

    class Endless(http.server.BaseHTTPRequestHandler):
        """A server whose reply never ends."""

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.syncml.dm+xml")
            self.end_headers()
            chunk = b"<" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                pass

    endless = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=endless.serve_forever, daemon=True).start()
    try:
        with pytest.raises(omadm.LimitError, match="max_message_size"):
            omadm.http.device(f"http://127.0.0.1:{endless.server_address[1]}/dm", device_tree(), server_id="srv")
    finally:
        endless.shutdown()
        endless.server_close()


def test_a_session_whose_device_went_away_is_dropped_and_its_script_stopped():
    import time
    import urllib.request

    import omadm.http

    seen = []

    def script(session):
        seen.append(session.get("./DevInfo/Mod").value)  # the first device never answers

    with omadm.http.Server(script, server_id="srv", idle_timeout=0.3) as server:
        gone = omadm.ClientSession("IMEI:1", "srv", server.url, device_tree())
        req = urllib.request.Request(server.url, data=gone.next_message(), method="POST")
        req.add_header("Content-Type", gone.content_type)
        urllib.request.urlopen(req, timeout=10).read()
        assert len(server.sessions) == 1
        time.sleep(0.5)
        omadm.http.device(server.url, device_tree(), device_id="IMEI:2", server_id="srv")
        assert server.sessions == {} and server.by_token == {}
        dropped, done = server.finished
        assert dropped.server.device_id == "IMEI:1" and done.server.device_id == "IMEI:2"
        assert str(dropped.error) == "no message from the device for 0.3 s"
        assert done.error is None and seen == ["X1"]


def test_a_session_refused_at_its_first_message_is_dropped_at_once():
    import urllib.error
    import urllib.request

    import omadm.http

    started = []
    with omadm.http.Server(lambda session: started.append(session), server_id="srv") as server:
        for n in range(20):  # messages a server refuses (no Alert 1201: R20), each its own "session"
            m = omadm.decode(omadm.ClientSession(f"IMEI:{n}", "srv", server.url, device_tree()).next_message())
            d = m.to_dict()
            d["commands"] = [c for c in d["commands"] if "Alert" not in c]
            req = urllib.request.Request(server.url, data=omadm.Message.from_dict(d).to_xml().encode(), method="POST")
            req.add_header("Content-Type", "application/vnd.syncml.dm+xml")
            with pytest.raises(urllib.error.HTTPError, match="400"):
                urllib.request.urlopen(req, timeout=10)
        assert server.sessions == {} and server.by_token == {}
        assert len(server.finished) == 20 and started == []
        assert str(server.finished[0].error).startswith("its first message was refused: R20")


def test_a_device_refused_by_the_server_fails_and_its_next_session_starts_afresh():
    import omadm.http

    creds = {"username": "u", "password": "p", "auth": "md5", "nonce": b"n"}
    with omadm.http.Server(inventory, server_id="srv", **creds) as server:
        with pytest.raises(omadm.AuthError, match=r"refused the device's credentials \(407\)"):
            omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv")
        # The same device, SessionID 1 again, now with its credentials: a new session, not
        # message 1 of a session that waits for message 2.
        events = omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv", **creds)
        assert events[-1].kind == "ended"
        refused, done = server.finished
        assert str(refused.error) == "the device started a new session 1"
        assert done.error is None and done.found == "seen X1"


def test_the_trace_directory_keeps_a_devices_sessions_apart_when_their_session_id_repeats(tmp_path):
    import omadm.http

    with omadm.http.Server(inventory, server_id="srv", trace_dir=str(tmp_path)) as server:
        for _ in range(2):  # a simulated device starts at SessionID 1 each run
            omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv")
    r = cli("check", str(tmp_path))
    assert r.returncode == 0, r.stdout
    assert sorted(r.stdout.decode().splitlines()) == [
        f"{tmp_path}/IMEI_1-1.2: 6 messages, no violations",
        f"{tmp_path}/IMEI_1-1: 6 messages, no violations",
    ]


def test_cli_check_reads_an_http_capture_in_har_form(tmp_path):
    """A HAR file (mitmproxy, browsers and proxies export one): each SyncML POST and its answer,
    grouped by device and SessionID, whatever else the capture holds."""
    import base64
    import json

    import omadm.http

    with omadm.http.Server(inventory, server_id="srv", trace_dir=str(tmp_path / "t")) as server:
        omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv")
        omadm.http.device(server.url, device_tree(), device_id="IMEI:2", server_id="srv", encoding="wbxml")
    entries = [{"startedDateTime": "2026-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"},
                "response": {"content": {"mimeType": "text/html", "text": "<html/>"}}}]
    files = sorted((tmp_path / "t").iterdir())
    for n, (c2s, s2c) in enumerate(zip(files[::2], files[1::2])):
        wbxml = c2s.read_bytes()[:1] != b"<"
        kind = "application/vnd.syncml.dm+" + ("wbxml" if wbxml else "xml")
        part = ({"encoding": "base64", "text": base64.b64encode(s2c.read_bytes()).decode()} if wbxml
                else {"text": s2c.read_text()})
        sent = ({"text": base64.b64encode(c2s.read_bytes()).decode(), "encoding": "base64"} if wbxml
                else {"text": c2s.read_text()})
        entries.append({"startedDateTime": f"2026-01-01T00:00:{n + 1:02d}Z",
                        "request": {"method": "POST", "url": "http://dm/", "postData": {"mimeType": kind, **sent}},
                        "response": {"content": {"mimeType": kind, **part}}})
    entries.reverse()  # taken in the order they were sent, not the order written
    har = tmp_path / "capture.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    r = cli("check", str(har))
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(r.stdout.decode().splitlines()) == [
        f"{har}#IMEI:1-1: 6 messages, no violations", f"{har}#IMEI:2-1: 6 messages, no violations"]
    # A session's messages out of order break rules; the checker says so.
    entries[-2], entries[-3] = entries[-3], entries[-2]
    for i, e in enumerate(entries):
        e["startedDateTime"] = f"2026-01-01T00:01:{99 - i:02d}Z"
    har.write_text(json.dumps({"log": {"entries": entries}}))
    assert cli("check", str(har)).returncode == 1
    har.write_text('{"log": {}}')
    r = cli("check", str(har))
    assert r.returncode == 1 and b"not an HTTP capture in HAR form" in r.stderr


@pytest.mark.parametrize("auth", ["basic", "md5", "hmac"])
def test_a_server_takes_each_device_with_its_own_password(auth, tmp_path):
    """`passwords=` (a dict or a callable) and `omadm serve --passwords FILE`: a fleet of devices,
    each with its own credentials; one the server does not know, or with a wrong password, fails."""
    import omadm.http

    fleet = {"dev1": "one", "dev2": "two"}
    asked = []

    def lookup(user):
        asked.append(user)
        return fleet.get(user)

    def attempt(url, user, password):
        return omadm.http.device(url, device_tree(), device_id=f"IMEI:{user}", server_id="srv",
                                 auth=auth, username=user, password=password, nonce=b"n")

    for passwords in (fleet, lookup):
        with omadm.http.Server(inventory, server_id="srv", auth=auth, nonce=b"n", passwords=passwords) as server:
            for user, password in fleet.items():
                assert attempt(server.url, user, password)[-1].kind == "ended"
            for user, password in [("dev1", "two"), ("eve", "one")]:
                with pytest.raises(omadm.AuthError):
                    attempt(server.url, user, password)
    assert set(asked) == {"dev1", "dev2", "eve"}
    with pytest.raises(omadm.UsageError, match="passwords needs auth"):
        omadm.ServerSession("srv", passwords=fleet)
    (tmp_path / "passwords.json").write_text(json.dumps(fleet))
    with omadm_serve("--auth", auth, "--nonce", "n", "--server-id", "srv", "--passwords",
                     str(tmp_path / "passwords.json")) as (_, url):
        for user, password in fleet.items():
            r = cli("device", "--server", url, "--server-id", "srv", "--auth", auth, "--username", user,
                    "--password", password, "--nonce", "n")
            assert r.returncode == 0, r.stderr
    (tmp_path / "passwords.json").write_text('["dev1"]')
    r = cli("serve", "--port", "0", "--auth", auth, "--passwords", str(tmp_path / "passwords.json"))
    assert r.returncode == 1 and b"not a JSON object of user name to password" in r.stderr


def test_cli_serve_shows_each_message_as_it_passes():
    with omadm_serve("--show") as (server, url):
        assert cli("device", "--server", url).returncode == 0
        lines = [server.stdout.readline().strip() for _ in range(7)]
    device = "IMEI:493005100592800"
    assert [line.split()[:2] for line in lines[:6]] == [[device, "->"], [device, "<-"]] * 3
    assert "msg_id=1 Alert,Replace final>" in lines[0] and "Get" in lines[1]
    assert lines[6] == f"session with {device}: ended"


def test_a_failing_script_is_reported_and_the_session_still_ends():
    import omadm.http

    def broken(session):
        session.get("./DevInfo/Mod").value
        raise RuntimeError("boom")

    with omadm.http.Server(broken, server_id="srv") as server:
        tree = device_tree()
        omadm.http.device(server.url, tree, device_id="IMEI:1", server_id="srv")
        assert isinstance(server.finished[0].error, RuntimeError)


def test_many_devices_at_once():
    import omadm.http

    timed: dict[str, tuple[float, list[float]]] = {}
    with omadm.http.Server(lambda s: s.get("./DevInfo/Man").value, server_id="srv") as server:
        ok, failed, seconds = omadm.http.devices(server.url, device_tree().to_json(), count=20, concurrency=5,
                                                 timing=lambda d, t, trips: timed.setdefault(d, (t, trips)),
                                                 server_id="srv")
    assert (ok, failed) == (20, 0)
    # Each session's time, and its two exchanges' (packages 1-2 and 3-4), which it holds.
    assert sorted(timed) == [f"IMEI:{i:015d}" for i in range(20)]
    assert all(len(trips) == 2 and 0 < sum(trips) <= t <= seconds for t, trips in timed.values())


def test_cli_serve_and_device_over_loopback(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("def run(session):\n    session.replace('./Vendor/Level', session.get('./DevInfo/Man').value)\n")
    tree = tmp_path / "tree.json"
    device_tree().save(str(tree))
    with omadm_serve("--script", str(script), "--auth", "md5", "--username", "u", "--password", "p", "--wbxml",
                     "--trace-dir", str(tmp_path / "trace"), "--lenient", "--accept-dm11") as (server, url):
        assert url.startswith("http://127.0.0.1:")
        common = ["--server", url, "--tree", str(tree), "--auth", "md5", "--username", "u", "--password", "p", "--wbxml",
                  "--lenient"]
        one = cli("device", *common)
        assert one.returncode == 0 and b"ended" in one.stdout
        many = cli("device", *common, "--count", "6", "--concurrency", "3")
        assert many.returncode == 0 and b"6 sessions ok, 0 failed" in many.stdout
        assert re.search(rb"\n  session p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms\n  exchange p50 ",
                         many.stdout), many.stdout
        assert many.stderr.splitlines() == [f"{n}/6 sessions".encode() for n in range(1, 7)]  # a log: lines, no bar
        bad = cli("device", "--server", url, "--tree", str(tree), "--auth", "md5", "--username", "u", "--password", "x",
                  "--wbxml", "--count", "2", "--concurrency", "2")
        assert bad.returncode == 1
        assert len(list((tmp_path / "trace").iterdir())) >= 4


def test_a_notification_travels_as_a_wap_push_in_sms(vectors, tmp_path):
    """What a server sends a device: the notification in a WSP Push PDU (Content-Type 0x44,
    X-WAP-Application-ID syncml.dm), in the user data of one SMS or more, to WDP port 2948."""
    note = omadm.notification.build("com.mgmtsrv.manage", "srvpwd", b"n", session_id=0x1234, ui_mode=1)
    pdu = omadm.notification.wap_push(note, tid=1)
    assert pdu[:6] == bytes([0x01, 0x06, 0x03, 0xC4, 0xAF, 0x87]) and pdu[6:] == note
    assert omadm.notification.from_wap_push(pdu) == note
    [sms] = omadm.notification.sms_user_data(pdu)
    assert sms[:7] == bytes.fromhex("0605040B8423F0") and sms[7:] == pdu
    long = omadm.notification.wap_push(omadm.notification.build("s" * 200, "p", b"", session_id=1))
    parts = omadm.notification.sms_user_data(long, reference=7)
    assert len(parts) == 2 and all(len(p) <= 140 and p[:6] == bytes([0x0B, 0x00, 0x03, 7, 2, n])
                                   for n, p in enumerate(parts, 1))
    assert b"".join(p[12:] for p in parts) == long
    with pytest.raises(omadm.DecodeError, match="content type"):
        omadm.notification.from_wap_push(bytes([0x01, 0x06, 0x01, 0xAE]) + note)  # a Service Indication
    with pytest.raises(omadm.UsageError, match="tid is 0..255"):
        omadm.notification.wap_push(note, tid=256)
    # The CLI: build it as a push with its SMS, and read a push back (as captured).
    out = tmp_path / "push.bin"
    built = cli("notify", "build", "--server-id", "com.mgmtsrv.manage", "--password", "srvpwd", "--nonce", "n",
                "--session-id", "0x1234", "--ui-mode", "1", "--wap-push", "--sms", "-o", str(out))
    assert built.returncode == 0 and omadm.notification.from_wap_push(out.read_bytes()) == note
    [sms0] = omadm.notification.sms_user_data(omadm.notification.wap_push(note))  # transaction id 0
    assert f"SMS 1 user data (UDH included): {sms0.hex().upper()}".encode() in built.stdout
    read = cli("notify", "parse", str(out), "--password", "srvpwd", "--nonce", "n")
    assert read.returncode == 0 and read.stdout.startswith(b"a WAP push (WSP Push PDU) holding:\nversion 1.1")
    assert b"digest: matches" in read.stdout


def test_cli_device_answers_a_notification_and_checks_the_server(tmp_path):
    pkg0 = tmp_path / "pkg0.bin"
    assert cli("notify", "build", "--server-id", "srv", "--password", "sp", "--nonce", "sn", "--session-id", "0x1234",
               "-o", str(pkg0)).returncode == 0
    tree = tmp_path / "tree.json"
    device_tree().save(str(tree))
    with omadm_serve("--server-id", "srv", "--server-password", "sp", "--server-nonce", "sn", "--trace-dir",
                     str(tmp_path / "t")) as (server, url):
        ok = cli("device", "--server", url, "--tree", str(tree), "--notification", str(pkg0),
                 "--server-password", "sp", "--server-nonce", "sn")
        assert ok.returncode == 0 and b"Event(server_authenticated)" in ok.stdout, ok.stderr
        first = omadm.decode((tmp_path / "t" / "IMEI_1-1234-0000-c2s.msg").read_bytes())
        assert first.session_id == "1234" and first.commands[0]["Alert"]["data"] == 1200
        forged = cli("device", "--server", url, "--tree", str(tree), "--notification", str(pkg0),
                     "--server-password", "other", "--server-nonce", "sn")
        assert forged.returncode == 1
        assert forged.stderr == b"omadm device: the notification from 'srv' is not signed with that password and nonce\n"
        impostor = cli("device", "--server", url, "--tree", str(tree), "--server-id", "srv", "--server-password", "x")
        assert impostor.returncode == 1 and b"the server's credentials are not the ones the device holds" in impostor.stderr
        assert b"Event(server_auth_failed, code=" in impostor.stdout, "the events before the failure are shown"


def test_notifications_pushed_over_udp_reach_a_listening_device():
    pkg0 = omadm.notification.build("srv", "sp", b"sn", 0x1234)
    with omadm.notification.Listener(port=0) as listener:
        assert omadm.notification.send(pkg0, port=listener.port) == len(omadm.notification.wap_push(pkg0))
        data, sender = listener.receive(timeout=5)
        assert data == pkg0 and sender[0] == "127.0.0.1"
        omadm.notification.send(omadm.notification.wap_push(pkg0, tid=7), port=listener.port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
            junk.sendto(b"not a push", ("127.0.0.1", listener.port))
            # A push of package 0's content type holding no notification is dropped too.
            junk.sendto(omadm.notification.wap_push(b"\x00" * 30), ("127.0.0.1", listener.port))
        omadm.notification.send(pkg0, port=listener.port)
        assert listener.receive(timeout=5)[0] == pkg0
        assert listener.receive(timeout=5)[0] == pkg0
        with pytest.raises(TimeoutError):
            listener.receive(timeout=0.2)
        # The datagram that held no notification was dropped, with why.
        assert [why for _, why in listener.dropped][0] == ("bad package-0 notification: 10 bytes, at least 24 "
                                                           "needed at byte 10")
        assert len(listener.dropped) == 2 and "notification" in listener.dropped[1][1], listener.dropped
    with pytest.raises(omadm.DecodeError):
        omadm.notification.send(b"not a notification", port=9)


def test_cli_device_listens_for_package_0_and_answers_each_with_a_session(tmp_path):
    good, forged = tmp_path / "good.bin", tmp_path / "forged.bin"
    for path, password, sid in ((good, "sp", "0x1234"), (forged, "other", "0x99")):
        assert cli("notify", "build", "--server-id", "srv", "--password", password, "--nonce", "sn", "--session-id",
                   sid, "-o", str(path)).returncode == 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with omadm_serve("--server-id", "srv", "--server-password", "sp", "--server-nonce", "sn", "--trace-dir",
                     str(tmp_path / "t")) as (server, url):
        device = subprocess.Popen([sys.executable, "-m", "omadm.cli", "device", "--server", url, "--listen", str(port),
                                   "--count", "2", "--server-password", "sp", "--server-nonce", "sn"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert device.stdout.readline() == f"listening for package 0 on udp 127.0.0.1:{port}\n"
            for pkg0 in (forged, good):
                sent = cli("notify", "send", str(pkg0), "--to", str(port))
                assert sent.returncode == 0 and sent.stdout == f"33 bytes (a WAP push) sent to udp 127.0.0.1:{port}\n".encode()
            out, err = device.communicate(timeout=60)
        finally:
            device.kill()
    assert device.returncode == 1, "a notification it could not take"
    assert err == "[listen] session 99: the notification from 'srv' is not signed with that password and nonce\n"
    assert "session 1234 for 'srv'" in out and "Event(ended)" in out, out
    first = omadm.decode((tmp_path / "t" / "IMEI_493005100592800-1234-0000-c2s.msg").read_bytes())
    assert first.commands[0]["Alert"]["data"] == 1200
    assert {p.name.split("-")[1] for p in (tmp_path / "t").iterdir()} == {"1234"}, "no session for the forged one"
    bad = cli("device", "--server", url, "--listen", "host:port")
    assert bad.returncode == 2 and b"not [HOST:]PORT with a UDP port" in bad.stderr


def test_cli_device_holds_the_standard_objects_and_an_account_for_its_server(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "def run(session):\n"
        "    got = [session.get(u) for u in ('./DevDetail?prop=Type', './DevDetail/LrgObj', './DMAcc/srv/ServerID',\n"
        "           './DMAcc/srv/AppAddr/1/Addr', './DMAcc/srv/AppAuth/1/AAuthType', './DMAcc/srv/AppAuth/1/AAuthSecret')]\n"
        "    print('seen', [p.value if p.status == 200 else p.status for p in got], flush=True)\n")
    with omadm_serve("--script", str(script), "--server-id", "srv", "--auth", "md5", "--username", "dev",
                     "--password", "pw") as (server, url):
        r = cli("device", "--server", url, "--server-id", "srv", "--auth", "md5", "--username", "dev", "--password", "pw")
        assert r.returncode == 0, r.stderr
        assert server.stdout.readline().strip() == (
            f"seen ['urn:oma:mo:oma-dm-devdetail:1.0', 'true', 'srv', '{url}', 'DIGEST', 405]")


class DictTree:
    """A device tree kept by the test itself."""

    def __init__(self):
        self.values = {**DEVINFO, "./Vendor/Level": "1", "./Vendor/Count": 7, "./Vendor/Odd": {"a": 1},
                       "./Vendor/Ctl": "a\x00b", "./Vendor/Raw": ""}

    def get(self, uri):
        if uri == "./DevInfo":
            return ["DevId", "Man", "Mod", "DmV", "Lang"]
        if uri == "./Vendor/Broken":
            raise RuntimeError("the sensor is unplugged")
        if uri in ("./Vendor/Secret", "./Vendor/Ok"):
            e = KeyError(uri)
            e.status = 425 if uri == "./Vendor/Secret" else 200  # a success given as a failure
            raise e
        return self.values.get(uri)

    def replace(self, uri, value, format, type):
        if uri == "./Vendor/Zero":
            return 0  # no DM status code
        if uri not in self.values:
            return 404
        self.values[uri] = value


def test_a_python_object_as_the_tree():
    tree = DictTree()
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", tree)
    server = omadm.ServerSession("srv")
    refs = {}

    def script(s, n):
        if n == 1:
            refs["mod"] = s.get("./DevInfo/Mod")
            refs["broken"] = s.get("./Vendor/Broken")
            refs["secret"] = s.get("./Vendor/Secret")
            refs["count"] = s.get("./Vendor/Count")
            refs["odd"] = s.get("./Vendor/Odd")
            refs["missing"] = s.replace("./Vendor/Nope", "x")
            refs["delete"] = s.delete("./Vendor/Level")
            refs["zero"] = s.replace("./Vendor/Zero", "x")
            refs["ok"] = s.get("./Vendor/Ok")
            refs["ctl"] = s.get("./Vendor/Ctl")  # text XML cannot carry goes as bytes
            with pytest.raises(omadm.UsageError, match="XML cannot carry"):
                s.replace("./Vendor/Raw", "a\x01")
            s.replace("./Vendor/Raw", b"a\x01")
            s.replace("./Vendor/Level", "5")

    events = run(client, server, script)
    codes = {e.reference: e.code for e in events if e.kind == "status"}
    assert codes[refs["mod"]] == 200 and codes[refs["broken"]] == 500 and codes[refs["secret"]] == 425
    assert codes[refs["missing"]] == 404 and codes[refs["delete"]] == 405
    assert codes[refs["count"]] == 200 and codes[refs["odd"]] == 500
    assert codes[refs["zero"]] == 500 and codes[refs["ok"]] == 500
    results = {e.reference: e.items[0]["data"] for e in events if e.kind == "results"}
    assert results[refs["count"]] == "7"
    # Sent as base64 (Format b64); the event holds the bytes, as a WBXML session's does.
    assert results[refs["ctl"]] == b"a\x00b"
    assert tree.values["./Vendor/Level"] == "5" and tree.values["./Vendor/Raw"] == b"a\x01"
    assert client.tree is tree
    assert client.tree_errors == ["get: RuntimeError: the sensor is unplugged",
                                  "get: UsageError: a value is str, bytes or a number, not dict"]


class JournaledTree(DictTree):
    """A tree object with a transaction (a snapshot) and ACL properties of its own."""

    def __init__(self):
        super().__init__()
        self.acls, self.saved, self.calls = {"./Vendor/Level": "Get=*"}, None, []

    def add(self, uri, value, format, type):
        if uri in self.values:
            return 418
        self.values[uri] = value

    def begin(self):
        self.calls.append("begin")
        self.saved = (dict(self.values), dict(self.acls))

    def commit(self):
        self.calls.append("commit")
        self.saved = None

    def rollback(self):
        self.calls.append("rollback")
        self.values, self.acls = self.saved

    def get_property(self, uri, name):
        return self.acls.get(uri) if name == "ACL" and uri in self.values else None

    def replace_property(self, uri, name, value):
        if name != "ACL":
            return 405
        self.acls[uri] = value


def against(tree, script) -> tuple[dict[int, int], dict[int, Any], omadm.ClientSession]:
    """A device on ``tree`` whose first server package ``script(server)`` queues: each command's
    status code and first result, by reference, and the device."""
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", tree)
    events = run(client, omadm.ServerSession("srv"), lambda s, n: script(s) if n == 1 else None)
    codes = {e.reference: e.code for e in events if e.kind == "status"}
    return codes, {e.reference: e.items[0]["data"] for e in events if e.kind == "results"}, client


def test_a_tree_object_with_begin_commit_rollback_is_atomic_and_keeps_properties():
    tree, refs = JournaledTree(), {}

    def script(s):
        with s.atomic() as refs["undone"]:
            s.add("./Vendor/A", "a")
            s.replace("./Vendor/Level?prop=ACL", "Get=srv")
            s.add("./Vendor/Level", "x")  # 418: everything above is undone
        with s.atomic() as refs["done"]:
            s.add("./Vendor/B", "b")
            s.replace("./Vendor/Count?prop=ACL", "Replace=srv")
        refs["acl"] = s.get("./Vendor/Level?prop=ACL")
        refs["title"] = s.get("./Vendor/Level?prop=Title")
        refs["no_prop"] = s.replace("./Vendor/Level?prop=Title", "t")

    codes, results, _ = against(tree, script)
    assert codes[refs["undone"]] == 507 and codes[refs["done"]] == 200
    assert "./Vendor/A" not in tree.values and tree.acls["./Vendor/Level"] == "Get=*"
    assert tree.values["./Vendor/B"] == "b" and tree.acls["./Vendor/Count"] == "Replace=srv"
    assert tree.calls == ["begin", "rollback", "begin", "commit"]
    assert results[refs["acl"]] == "Get=*"
    assert codes[refs["title"]] == 404 and codes[refs["no_prop"]] == 405
    # A tree object without them: Atomic is 501, a property 406.
    plain = DictTree()

    def plain_script(s):
        with s.atomic() as refs["atomic"]:
            s.replace("./Vendor/Level", "2")
        refs["prop"] = s.get("./Vendor/Level?prop=ACL")

    codes, _, _ = against(plain, plain_script)
    assert codes[refs["atomic"]] == 501 and codes[refs["prop"]] == 406
    assert plain.values["./Vendor/Level"] == "1"


def test_a_commit_the_tree_cannot_make_is_rolled_back_as_a_failed_member_is():
    class Full(JournaledTree):
        def commit(self):
            self.calls.append("commit")
            raise OSError("the flash is full")

    tree, refs = Full(), {}

    def script(s):
        with s.atomic() as refs["atomic"]:
            refs["add"] = s.add("./Vendor/A", "a")

    codes, _, client = against(tree, script)
    assert (codes[refs["atomic"]], codes[refs["add"]]) == (507, 216)
    assert tree.calls == ["begin", "commit", "rollback"] and "./Vendor/A" not in tree.values
    assert client.tree_errors == ["commit: OSError: the flash is full"]


def test_values_are_text_bytes_or_numbers_never_a_repr():
    t = omadm.MemoryTree({"./A/I": 5, "./A/F": 1.5, "./A/B": bytearray(b"\x00")})
    assert (t.get("./A/I"), t.get("./A/F"), t.get("./A/B")) == ("5", "1.5", b"\x00")
    s = omadm.ServerSession("srv")
    refused = "a value is str, bytes or a number, not "
    for bad in (None, True, [1], {"a": 1}, object()):
        if not isinstance(bad, dict):  # a dict is a node's JSON form
            with pytest.raises(omadm.UsageError, match=refused):
                omadm.MemoryTree({"./A/X": bad})
        with pytest.raises(omadm.UsageError, match=refused):
            t.set("./A/X", bad)
        with pytest.raises(omadm.UsageError, match=refused):
            s.replace("./A/X", bad)
    assert t.get("./A/X") is None


def test_check_finds_the_spec_examples_slips_and_nothing_in_our_sessions(vectors, tmp_path):
    import omadm.http

    names = ["26_05_twostep_pkg1_client_init_1200.xml", "26_06_twostep_pkg2_server_alert1100_get.xml",
             "26_07_twostep_pkg3_client_results.xml", "26_08_twostep_pkg4_server_replace.xml",
             "26_09_twostep_pkg3b_client_status.xml", "26_10_twostep_pkg4b_server_close.xml"]
    spec = [(vectors / "oma_spec_examples" / n).read_bytes() for n in names]
    found = omadm.check(spec)
    assert any(v.rule == "Ref" for v in found) and all(isinstance(v.msg_index, int) for v in found)
    # A session of ours, captured by `omadm serve --trace-dir`, checks clean on the CLI.
    with omadm.http.Server(inventory, server_id="srv", trace_dir=str(tmp_path / "t")) as server:
        omadm.http.device(server.url, device_tree(), device_id="IMEI:1", server_id="srv")
    r = cli("check", str(tmp_path / "t"))
    assert r.returncode == 0 and b"no violations" in r.stdout, r.stdout
    for i, n in enumerate(names):
        (tmp_path / f"{i:02d}-{'c2s' if i % 2 == 0 else 's2c'}.xml").write_bytes(spec[i])
    r = cli("check", *sorted(str(p) for p in tmp_path.glob("*.xml")))
    assert r.returncode == 1 and b"Ref message" in r.stdout
    one_step = sorted((vectors / "oma_spec_examples").glob("26_0[1-4]_*.xml"))
    r = cli("check", *map(str, one_step))
    # Its CmdIDs are out of order but unique, all the spec asks: clean.
    assert r.returncode == 0 and r.stdout.startswith(b"files: 4 messages, no violations\n"), r.stdout


def test_check_reports_a_server_that_ignores_the_device_s_max_msg_size():
    # The device announces 4 KiB; a server answer is rewritten as if it had announced 512 bytes.
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), max_msg_size=4096)
    server = omadm.ServerSession("srv")
    first = client.next_message()
    assert first is not None
    server.receive(first)
    server.get("./DevInfo/Mod")
    server.replace("./Vendor/Level", "2")
    reply = server.next_message()
    assert reply is not None and 512 < len(reply) <= 4096
    assert [v.rule for v in omadm.check([first, reply])] == ["R10"], "the session is cut short, no more"
    d = omadm.decode(first).to_dict()
    d["header"]["meta"]["max_msg_size"] = 512
    small = omadm.Message.from_dict(d).to_xml().encode()
    found = [v for v in omadm.check([small, reply]) if v.rule == "R07"]
    assert [v.msg_index for v in found] == [1] and "past the MaxMsgSize 512" in found[0].detail, found


def test_answers_pair_each_status_and_results_with_the_command_it_answers():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    server = omadm.ServerSession("srv")
    sent: list[bytes] = []
    while (msg := client.next_message()) is not None:
        if any(e.kind == "package_end" for e in server.receive(msg)) and len(sent) < 4:
            server.get("./DevInfo/Mod")
            server.replace("./Vendor/Level", "2")
        reply = server.next_message()
        assert reply is not None
        client.receive(reply)
        sent += [msg, reply]
    assert len(sent) == 6
    found = omadm.answers(sent)
    commands = [{body["cmd_id"]: (kind, body) for c in omadm.decode(m).to_dict()["commands"]
                 for kind, body in c.items()} for m in sent]
    assert len(found) == sum(kind in ("Status", "Results") for c in commands for kind, _ in c.values())
    for a in found:
        assert a.answers is not None, a
        at, cmd_ref = a.answers
        kind, body = commands[a.msg_index][a.cmd_id]
        answered = commands[at][cmd_ref][0] if cmd_ref else "SyncHdr"
        assert (body["cmd"] if kind == "Status" else "Get") == answered and at == a.msg_index - 1, a
    # MsgRef is optional: without it, the message its sender received last.
    assert omadm.answers([re.sub(rb"<MsgRef>\d+</MsgRef>", b"", m) for m in sent]) == found
    assert omadm.answers(sent, ["c2s", "s2c"] * 3) == found
    with pytest.raises(omadm.UsageError, match="one direction per message"):
        omadm.answers(sent, ["c2s"])


def test_ui_alerts_through_a_python_handler():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    seen = []

    def ui(code, options, text, choices):
        seen.append((code, text, choices))
        return {1101: False, 1102: "typed", 1104: [1, 3]}.get(code)

    client.set_ui_handler(ui)
    server = omadm.ServerSession("srv")
    refs = {}

    def script(s, n):
        if n == 1:
            refs["confirm"] = s.alert(1101, ["", "Reboot?"])
            refs["text"] = s.alert(1102, ["MAXLEN=10", "Name?"])
            refs["multi"] = s.alert(1104, ["", "Pick", "a", "b", "c"])

    events = run(client, server, script)
    status = {e.reference: e for e in events if e.kind == "status"}
    assert status[refs["confirm"]].code == 304
    assert status[refs["text"]].value == "typed"
    assert [i["data"] for i in status[refs["multi"]].items] == ["1", "3"]
    assert seen[2] == (1104, "Pick", ["a", "b", "c"])


def test_generic_alert_with_several_items_and_marks():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    server = omadm.ServerSession("srv")
    ref = client.generic_alert(correlator="job-7", items=[
        omadm.GenericAlertItem("fw ok", "Reversed-Domain-Name: org.openmobilealliance.dm.firmwareupdate.status",
                               source="./FwUpdate/1", mark="informational"),
        omadm.GenericAlertItem("disk full", "Reversed-Domain-Name: com.acme.storage", mark="critical"),
    ])
    assert isinstance(ref, int)
    client.generic_alert("one", "Reversed-Domain-Name: com.acme.x")
    events = run(client, server, lambda s, n: None)
    alerts = [e for e in events if e.kind == "generic_alert"]
    assert len(alerts) == 2
    assert alerts[0].correlator == "job-7"
    assert [(i["uri"], i["data"], i["mark"]) for i in alerts[0].items] == [
        ("./FwUpdate/1", "fw ok", "informational"), (None, "disk full", "critical")]
    assert alerts[1].items[0]["format"] == "chr" and alerts[1].items[0]["mark"] is None
    with pytest.raises(omadm.UsageError):
        client.generic_alert(data="x")


def test_a_server_queues_any_command_as_a_dict():
    """ServerSession.command: what get/replace/... do not cover, in Message.to_dict's shape with
    the fields it needs: a Get of several nodes, Meta on the command."""
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    server = omadm.ServerSession("srv")
    get = server.command({"Get": {"items": [{"target": {"uri": "./DevInfo/Man"}},
                                            {"target": {"uri": "./DevInfo/Mod"}}]}})
    events = run(client, server, lambda s, n: None)
    [results] = [e for e in events if e.kind == "results" and e.reference == get]
    assert [(i["uri"], i["data"]) for i in results.items] == [("./DevInfo/Man", "Acme"), ("./DevInfo/Mod", "X1")]
    with pytest.raises(omadm.UsageError, match="not a command"):
        server.command({"Get": {"items": "./DevInfo/Man"}})
    with pytest.raises(omadm.UsageError, match="does not queue a Status"):
        server.command({"Status": {"cmd_id": 0, "msg_ref": 1, "cmd_ref": 1, "cmd": "Get", "target_refs": [],
                                   "source_refs": [], "cred": None, "chal": None, "data": 200, "items": []}})


def test_client_event_reaches_the_server_as_an_alert_1224():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree())
    server = omadm.ServerSession("srv")
    client.client_event("battery 5%", "urn:acme:battery", source="./Ext/Battery", mark="warning")
    client.client_event(items=[omadm.GenericAlertItem("AAEC", "urn:acme:blob", format="b64"),
                               omadm.GenericAlertItem("2", "urn:acme:count", format="int")])
    events = run(client, server, lambda s, n: None)
    alerts = [e for e in events if e.kind == "alert"]
    assert [a.code for a in alerts] == [1224, 1224]
    assert [(i["uri"], i["type"], i["data"], i["mark"]) for i in alerts[0].items] == [
        ("./Ext/Battery", "urn:acme:battery", "battery 5%", "warning")]
    # Binary data, sent as base64 over XML, comes as bytes under Format bin, as in results.
    assert [(i["format"], i["data"]) for i in alerts[1].items] == [("bin", b"\x00\x01\x02"), ("int", "2")]
    assert not [e for e in events if e.kind == "generic_alert"]
    with pytest.raises(omadm.UsageError, match="a client event needs data and type"):
        client.client_event(data="x")


def test_cli_device_script_answers_ui_and_sends_a_generic_alert(tmp_path):
    """`omadm device --script`: the script's tree, UI answers and setup; `check --show` prints
    the annotated trace the server wrote."""
    serve = tmp_path / "serve.py"
    serve.write_text(
        "def run(session):\n"
        "    ok = session.alert(1101, ['MAXDT=10', 'Reboot now?'])\n"
        "    print('confirm', ok.status, flush=True)\n"
        "    session.replace('./Vendor/Level', str(ok.status))\n")
    device = tmp_path / "device.py"
    device.write_text(
        "import omadm\n"
        "def tree():\n"
        "    t = omadm.MemoryTree({'./DevInfo/DevId': 'IMEI:9', './DevInfo/Man': 'Acme', './DevInfo/Mod': 'S',\n"
        "                          './DevInfo/DmV': '1.2', './DevInfo/Lang': 'en', './Vendor/Level': '1'})\n"
        "    t.set_acl('./Vendor', 'Replace=*')\n"
        "    return t\n"
        "def ui(code, options, text, choices):\n"
        "    return False\n"
        "def setup(client):\n"
        "    client.generic_alert('done', 'Reversed-Domain-Name: com.acme.job', mark='warning')\n")
    with omadm_serve("--script", str(serve), "--trace-dir", str(tmp_path / "trace")) as (server, url):
        run_ = cli("device", "--server", url, "--script", str(device))
        assert run_.returncode == 0, run_.stderr
        # The user said no: the confirmation was answered 304, and the server wrote that down.
        assert server.stdout.readline().strip() == "confirm 304"
        assert b"Event(executed, cmd='Replace', uri='./Vendor/Level', code=200)" in run_.stdout
        shown = cli("check", "--show", str(tmp_path / "trace"))
        assert shown.returncode == 0 and b"device -> server" in shown.stdout and b"no violations" in shown.stdout
        assert cli("device", "--server", url, "--script", str(serve)).returncode == 1


def test_nonces_for_the_next_session_are_handed_back():
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), username="u", password="p",
                                 auth="md5", nonce=b"n", server_password="sp", server_nonce=b"s")
    server = omadm.ServerSession("srv", username="u", password="p", auth="md5", nonce=b"n",
                                 server_password="sp", server_nonce=b"s")
    run(client, server, lambda s, n: s.get("./DevInfo/Man") if n == 1 else None)
    assert client.next_nonce and client.next_nonce == server.next_nonce
    assert client.next_server_nonce and client.next_server_nonce == server.next_server_nonce
    # The next session starts from them, and both sides authenticate at once.
    again_c = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), username="u", password="p",
                                  auth="md5", nonce=client.next_nonce, server_password="sp",
                                  server_nonce=client.next_server_nonce)
    again_s = omadm.ServerSession("srv", username="u", password="p", auth="md5", nonce=server.next_nonce,
                                  server_password="sp", server_nonce=server.next_server_nonce)
    events = run(again_c, again_s, lambda s, n: None)
    assert any(e.kind == "authenticated" for e in events) and again_c.state == "ended"


def test_check_verifies_the_credentials_of_a_session(tmp_path):
    both = dict(username="u", password="p", auth="md5", nonce=b"n", server_password="sp", server_nonce=b"s")
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), **both)  # type: ignore[arg-type]
    server = omadm.ServerSession("srv", **both)  # type: ignore[arg-type]
    messages = [body for body, _ in exchanged(client, server)]
    assert omadm.check(messages, client=("u", "p"), server=("srv", "sp"), client_nonce=b"n", server_nonce=b"s") == []
    found = omadm.check(messages, client=("u", "wrong"), client_nonce=b"n")
    assert [(v.rule, v.msg_index) for v in found] == [("Cred", 0), ("Cred", 1)], found
    assert "answered 212" in found[1].detail
    files = []
    for i, m in enumerate(messages):
        files.append(tmp_path / f"{i:02d}-{'c2s' if i % 2 == 0 else 's2c'}.xml")
        files[-1].write_bytes(m)
    r = cli("check", "--client-cred", "u:wrong", "--client-nonce", "n", *map(str, files))
    assert r.returncode == 1 and b"Cred message 0: an md5 Cred that does not match" in r.stdout, r.stdout
    r = cli("check", "--client-cred", "u:p", "--server-cred", "srv:sp", "--client-nonce", "n", "--server-nonce", "s",
            *map(str, files))
    assert r.returncode == 0 and b"no violations" in r.stdout, r.stdout
    r = cli("check", "--client-cred", "u", *map(str, files))
    assert r.returncode != 0 and b"USER:PASSWORD" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def test_a_notification_starts_the_client_session():
    trigger = omadm.notification.build("srv", "sp", b"n", session_id=0x2A, ui_mode=1)
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), notification=trigger)
    pkg1 = omadm.decode(client.next_message())
    assert pkg1.session_id == "2A"
    assert pkg1.commands[0]["Alert"]["data"] == 1200
    parsed = omadm.notification.parse(trigger)
    assert omadm.decode(omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(),
                                            notification=parsed).next_message()).session_id == "2A"
    with pytest.raises(omadm.UsageError):
        omadm.ClientSession("IMEI:1", "other", "http://dm", device_tree(), notification=trigger)


def test_r23_a_notification_is_verified_when_the_server_password_is_given():
    trigger = omadm.notification.build("srv", "sp", b"n", session_id=0x2A)
    ok = omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), notification=trigger,
                             server_password="sp", server_nonce=b"n")
    assert omadm.decode(ok.next_message()).session_id == "2A"
    for password, nonce in (("forged", b"n"), ("sp", b"stale")):
        with pytest.raises(omadm.AuthError, match="not signed with that password and nonce"):
            omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), notification=trigger,
                                server_password=password, server_nonce=nonce)
    resync = omadm.notification.build("srv", "sp", b"0x00000000", session_id=0x2B)  # the resync nonce
    assert omadm.decode(omadm.ClientSession("IMEI:1", "srv", "http://dm", device_tree(), notification=resync,
                                            server_password="sp", server_nonce=b"n").next_message()).session_id == "2B"


def test_a_whole_session_on_one_keep_alive_connection():
    """Device agents (examples/c/agent.c) keep one HTTP/1.1 connection for the session."""
    import http.client
    import urllib.parse

    import omadm.http

    with omadm.http.Server(lambda s: s.get("./DevInfo/Man").value, server_id="srv") as server:
        url = urllib.parse.urlsplit(server.url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        client = omadm.ClientSession("IMEI:1", "srv", server.url, device_tree())
        sockets = set()
        while (msg := client.next_message()) is not None:
            conn.request("POST", url.path, body=msg, headers={"Content-Type": client.content_type})
            sockets.add(id(conn.sock))
            resp = conn.getresponse()
            assert resp.status == 200 and resp.getheader("Connection", "").lower() != "close"
            client.receive(resp.read(), resp.getheader("x-syncml-hmac"))
        conn.close()
    assert client.state == "ended" and len(sockets) == 1


@pytest.mark.parametrize("auth", ["none", "hmac"])
def test_a_message_the_device_sends_again_gets_the_same_answer(auth, tmp_path):
    """A device that lost an answer (a timeout, a dropped connection) sends its message again."""
    import urllib.request

    import omadm.http

    creds = {} if auth == "none" else {"username": "u", "password": "p", "auth": auth, "nonce": b"n"}
    with omadm.http.Server(inventory, server_id="srv", trace_dir=str(tmp_path), **creds) as server:
        client = omadm.ClientSession("IMEI:1", "srv", server.url, device_tree(), **creds)

        def post(msg: bytes, hmac: str | None) -> tuple[bytes, str | None]:
            headers = {"Content-Type": client.content_type, **({"x-syncml-hmac": hmac} if hmac else {})}
            with urllib.request.urlopen(urllib.request.Request(client.respond_to, msg, headers)) as resp:
                return resp.read(), resp.headers.get("x-syncml-hmac")

        sent = 0
        while (msg := client.next_message()) is not None:
            answer = post(msg, client.hmac_header)
            if (sent := sent + 1) in (1, 2):  # message 1 too: it does not start the session over
                assert post(msg, client.hmac_header) == answer, "the same answer, as the first time"
            client.receive(*answer)
        assert client.state == "ended" and sent >= 3
        [session] = server.finished
        assert session.error is None and session.found == "seen X1"
    assert omadm.check([f.read_bytes() for f in sorted(tmp_path.glob("*.msg"))]) == []


def test_a_message_sent_again_while_the_first_is_answered_waits_for_that_answer():
    """A device that gave up on a slow answer sends its message again before the first is done."""
    import concurrent.futures
    import time
    import urllib.request

    import omadm.http

    def slow(session):
        session.get("./DevInfo/Man").value
        time.sleep(0.5)  # the script is slow to decide what follows package 3

    with omadm.http.Server(slow, server_id="srv") as server:
        client = omadm.ClientSession("IMEI:1", "srv", server.url, device_tree())

        def post(msg: bytes) -> bytes:
            req = urllib.request.Request(client.respond_to, msg, {"Content-Type": client.content_type})
            with urllib.request.urlopen(req) as resp:
                return resp.read()

        client.receive(post(client.next_message()))
        package3 = client.next_message()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            first = pool.submit(post, package3)
            time.sleep(0.2)
            again = pool.submit(post, package3)
            assert again.result() == first.result()
        client.receive(first.result())
        while (msg := client.next_message()) is not None:
            client.receive(post(msg))
        assert client.state == "ended" and server.finished[0].error is None


def test_the_c_agent_against_omadm_serve(tmp_path, run_agent):
    """`make demo` as a test: examples/c/agent.c (built by `make test-c`) against `omadm serve`
    running examples/scripts/inventory.py, md5, a 100 KiB log in chunks of 8 KiB messages."""
    root = Path(__file__).resolve().parents[2]
    with omadm_serve("--server-id", "omadm-demo", "--script", str(root / "examples" / "scripts" / "inventory.py"),
                     "--auth", "md5", "--username", "device", "--password", "secret", "--nonce", "demo-nonce",
                     "--max-msg-size", "8192", "--trace-dir", str(tmp_path / "trace")) as (server, url):
        run_ = run_agent(url)
        assert run_.returncode == 0, run_.stderr
        assert "session ended; ./Vendor/Settings/Level = 7" in run_.stdout
        assert "log 102400 bytes" in server.stdout.readline()
    shown = cli("check", str(tmp_path / "trace"))
    assert shown.returncode == 0 and b"no violations" in shown.stdout


def test_the_firmware_update_examples_against_each_other(tmp_path, monkeypatch):
    """examples/scripts/firmware_update.py (omadm serve) against fumo_device.py (omadm device):
    the user agrees, Exec is answered 202, the device downloads the package, checks it and
    reports the outcome in a session of its own."""
    root = Path(__file__).resolve().parents[2]
    scripts = root / "examples" / "scripts"
    for package, outcome, version in ((b"ACME 4.3.0\n...", "200 Successful", "4.3.0"),
                                      (b"EVIL", "402 Corrupted Firmware Update Package", "4.2.0")):
        with omadm.http.Server(lambda session: None, files={"/acme-4.3.0.bin": package}) as downloads:
            monkeypatch.setenv("FIRMWARE_URL", downloads.url.replace("/dm", "/acme-4.3.0.bin"))
            trace = tmp_path / outcome[:3]
            with omadm_serve("--script", str(scripts / "firmware_update.py"), "--trace-dir", str(trace)) as (
                    server, url):
                run_ = cli("device", "--server", url, "--script", str(scripts / "fumo_device.py"))
                assert run_.returncode == 0, run_.stderr
                assert b"Event(executed, cmd='Exec', uri='./FUMO/DownloadAndUpdate', code=202)" in run_.stdout
                assert f"[fumo] downloadandupdate ./FUMO/DownloadAndUpdate: {outcome}" in run_.stdout.decode()
                assert server.stdout.readline().strip() == "[firmware] IMEI:356938035643809: 4.2.0, DownloadAndUpdate 202"
                assert server.stdout.readline().strip() == (
                    f"[firmware] IMEI:356938035643809: downloadandupdate ./FUMO/DownloadAndUpdate: {outcome}, now "
                    f"{version}")
        assert cli("check", str(trace)).returncode == 0
        # The device is its tree's ./DevInfo/DevId unless told another; each session apart.
        assert {f.name.rsplit("-", 2)[0] for f in trace.iterdir()} == {"IMEI_356938035643809-1",
                                                                       "IMEI_356938035643809-2"}


def test_a_callback_calling_its_own_session_is_refused_not_a_deadlock():
    """A Python tree or UI handler calling the session that runs it gets UsageError (the tree
    answers 500 and says why; the UI alert is cancelled) instead of waiting forever."""
    class Calling(DictTree):
        def exec(self, uri, data, correlator):
            return self.client.generic_alert("done", "urn:x", correlator=correlator)

    tree = Calling()
    client = omadm.ClientSession("IMEI:1", "srv", "http://dm", tree)
    tree.client = client
    answers = []

    def ui(code, options, text, choices):
        try:
            return client.state
        except omadm.UsageError as e:
            answers.append(str(e))
            raise

    client.set_ui_handler(ui)
    server = omadm.ServerSession("srv")
    refs = {}

    def script(s, n):
        if n == 1:
            refs["exec"] = s.exec("./Vendor/Level", correlator="job")
            refs["ui"] = s.alert(1101, ["MAXDT=5", "Go?"])

    events = run(client, server, script)
    codes = {e.reference: e.code for e in events if e.kind == "status"}
    assert codes[refs["exec"]] == 500 and codes[refs["ui"]] == 214
    in_use = "the session is in use: its own tree or UI callback cannot call it"
    assert client.tree_errors == [f"exec: UsageError: {in_use}"]
    assert answers == [in_use]
    assert client.state == "ended"


def test_a_memory_tree_runs_exec_handlers_that_read_and_change_it(monkeypatch):
    tree = device_tree()
    tree.set("./Vendor/Reboot", "")
    tree.set("./Vendor/Broken", "")
    tree.set("./Vendor/Plain", "")
    runs = []

    def reboot(data, correlator):
        runs.append((data, correlator, tree.get("./Vendor/Level")))  # the tree is not locked meanwhile
        tree.set("./Vendor/Level", "2")
        return 202

    class Refused(Exception):
        status = 406

    def refuse(data, correlator):
        raise Refused()

    tree.on_exec("./Vendor/Reboot", reboot)
    tree.on_exec("./Vendor/Level", refuse)
    tree.on_exec("./Vendor/Broken", lambda data, correlator: 1 / 0)
    with pytest.raises(omadm.UsageError, match="cannot run Exec on ./Vendor/Nope: status 404"):
        tree.on_exec("./Vendor/Nope", reboot)
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    refs = {}

    def script(s, n):
        if n == 1:
            refs.update(reboot=s.exec("./Vendor/Reboot", "now", correlator="c1"), again=s.exec("./Vendor/Reboot"),
                        level=s.exec("./Vendor/Level"), broken=s.exec("./Vendor/Broken"),
                        plain=s.exec("./Vendor/Plain"))

    client = omadm.ClientSession("IMEI:1", "srv", "http://srv/dm", tree)
    events = run(client, omadm.ServerSession("srv"), script)
    codes = {e.reference: e.code for e in events if e.kind == "status"}
    assert [codes[refs[k]] for k in ("reboot", "again", "level", "broken", "plain")] == [202, 202, 406, 500, 405]
    assert runs == [(b"now", "c1", "1"), (None, None, "2")] and tree.get("./Vendor/Level") == "2"
    assert [type(u.exc_value) for u in unraisable] == [ZeroDivisionError]


def package1(**options) -> bytes:
    client = omadm.ClientSession("IMEI:1", "srv", "http://srv/dm", device_tree(), **options)
    return client.next_message()


def test_a_refused_message_raises_an_error_that_says_what_and_where():
    body = package1()
    server = omadm.ServerSession("srv")
    server.receive(body)
    server.get("./DevInfo/Man")
    server.next_message()
    with pytest.raises(omadm.ProtocolError) as e:
        server.receive(body)  # MsgID 1 again
    assert (e.value.rule, e.value.msg_id, e.value.cmd_id, e.value.element) == ("R19", 1, None, "MsgID")
    assert e.value.reason == "MsgID 1 where 2 was due" and str(e.value).startswith("R19: MsgID 1 where 2 was due")
    with pytest.raises(omadm.LimitError) as limit:
        omadm.decode(body, limits=omadm.Limits(max_uri_len=5))
    assert (limit.value.limit, limit.value.max, limit.value.path) == ("max_uri_len", 5, "SyncML/SyncHdr/Target")
    assert limit.value.line == 1 and limit.value.offset > 0 and "max_uri_len limit exceeded" in str(limit.value)
    with pytest.raises(omadm.DecodeError) as bad:
        omadm.decode(body.replace(b"<MsgID>1</MsgID>", b"<MsgID>x</MsgID>"))
    assert (bad.value.path, bad.value.line) == ("SyncML/SyncHdr", 1) and bad.value.column > 1


def test_sessions_take_limits_leniency_and_dm11():
    body = package1()
    # A server that takes fewer commands or shorter URIs than the device sends refuses the
    # message whole; the same message then goes through a session with the defaults.
    for limits in (omadm.Limits(max_commands=1), omadm.Limits(max_uri_len=8)):
        server = omadm.ServerSession("srv", limits=limits)
        with pytest.raises(omadm.LimitError):
            server.receive(body)
        assert server.state == "waiting"
    assert omadm.ServerSession("srv", limits=omadm.Limits()).receive(body)
    for bad in (-1, 2**64, 1.5, True, None):
        with pytest.raises(omadm.UsageError, match="max_commands"):
            omadm.Limits(max_commands=bad)
    # A bare & in DevInfo: strictly refused, leniently taken.
    quirky = body.replace(b"Acme", b"A & B")
    with pytest.raises(omadm.DecodeError):
        omadm.ServerSession("srv").receive(quirky)
    lenient = omadm.ServerSession("srv", lenient=True)
    lenient.receive(quirky)
    assert lenient.devinfo["./DevInfo/Man"] == "A & B"
    # DM 1.1.2 headers, taken only when asked for.
    dm11 = body.replace(b"<VerDTD>1.2</VerDTD>", b"<VerDTD>1.1</VerDTD>").replace(b"DM/1.2", b"DM/1.1")
    with pytest.raises(omadm.ProtocolError, match="R19"):
        omadm.ServerSession("srv").receive(dm11)
    assert any(e.kind == "devinfo" for e in omadm.ServerSession("srv", accept_dm11=True).receive(dm11))
    # The client side takes the same options, and a restored server is given them again.
    assert package1(limits=omadm.Limits(max_message_size=4096), lenient=True, accept_dm11=True)
    server = omadm.ServerSession("srv", lenient=True)
    restored = omadm.ServerSession.restore(server.snapshot(), "srv", lenient=True)
    restored.receive(quirky)
