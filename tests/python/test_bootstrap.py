"""Bootstrap (the OMA DM profile): a server's message giving a device its account, the device
applying it, and the session that follows."""

import hashlib
import hmac
import re
import socket
import subprocess
import sys

import pytest
from conftest import cli, free_port, omadm_serve

import omadm
import omadm.http

SERVER_ID = "acme"


def factory_device() -> omadm.MemoryTree:
    """A device out of the box: DevInfo and nothing of any server."""
    tree = omadm.MemoryTree()
    tree.install_devinfo("IMEI:1", "Acme", "X1")
    return tree


def test_a_bootstrapped_device_reaches_the_server_with_the_account_it_was_given():
    server = omadm.http.Server(lambda s: s.get("./DevInfo/Mod"), server_id=SERVER_ID, auth="md5",
                               username="dev", password="devpw", server_password="srvpw")
    with server:
        account = omadm.bootstrap.account(SERVER_ID, server.url, "md5", "dev", "devpw", server_password="srvpw")
        made = omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", key="1234")
        tree = factory_device()
        applied = omadm.bootstrap.apply(tree, made.body, made.content_type, key="1234")
        assert applied.server_id == SERVER_ID and applied.uris[0] == f"./DMAcc/{SERVER_ID}"
        found = omadm.http.Account(tree, SERVER_ID)
        assert found.address == server.url
        # No credentials given: the device takes its account's, both ways.
        events = omadm.http.device(found.address, tree, server_id=SERVER_ID)
    kinds = [e.kind for e in events]
    assert "server_authenticated" in kinds and "authenticated" in kinds and kinds[-1] == "ended"
    assert any(e.kind == "executed" and e.uri == "./DevInfo/Mod" and e.code == 200 for e in events)


def test_the_mac_is_hmac_sha1_of_the_bytes_as_any_implementation_computes_it():
    made = omadm.bootstrap.message(omadm.bootstrap.account(SERVER_ID, "http://dm.example/"), SERVER_ID, "IMEI:1",
                                   key=b"\x01secret", security="NETWORKID")
    expected = hmac.new(b"\x01secret", made.body, hashlib.sha1).hexdigest()
    assert made.content_type == f"application/vnd.syncml.dm+wbxml; SEC=NETWORKID; MAC={expected}"
    assert omadm.bootstrap.mac(b"\x01secret", made.body) == expected
    assert made.body[0] == 0x02, "WBXML 1.2: a bootstrap is never XML"


IMSI = "262019876543210"


def test_the_network_key_is_the_imsi_in_semi_octets_as_a_real_push_gateway_computes_it():
    assert omadm.bootstrap.key("NETWORKID", imsi=IMSI) == bytes.fromhex("2926108967452301")
    assert omadm.bootstrap.key("NETWORKID", imsi="21407650123456") == bytes.fromhex("21417056103254f6")
    assert omadm.bootstrap.key("USERPIN_NETWORKID", imsi=IMSI, pin="1234") == bytes.fromhex("2926108967452301") + b"1234"
    assert omadm.bootstrap.key("USERPIN", imsi=IMSI, pin=b"1234") == b"1234"
    # NowSMS's MAC for a provisioning document under IMSI 123456789012345 (its support forum,
    # "NETWPIN Calculation", 2007): the HMAC and semi-octet key a DM bootstrap uses too.
    document = bytes.fromhex(
        "030B6A0674657374310045C6560187070683000101C655018707068300018711060374657374315F4E415049440001871006AB"
        "0187080603746573743200018709068901871401C65A01870C069A01870D060367707273757365726E616D650001870E060367"
        "70727370617373776F72640001010101")
    network = omadm.bootstrap.key("NETWORKID", imsi="123456789012345")
    assert omadm.bootstrap.mac(network, document).upper() == "C483EC25F7E3E0CF100380DA5F6714CF204A5EC5"
    for security, imsi, pin, why in [("NETWORKID", None, "1234", "needs the IMSI"),
                                     ("USERPIN_NETWORKID", IMSI, None, "needs the PIN"),
                                     ("NETWORKID", "26201x", None, "1 to 15 digits")]:
        with pytest.raises(omadm.UsageError, match=why):
            omadm.bootstrap.key(security, imsi, pin)


def test_a_device_checks_the_mac_with_the_key_its_sec_takes_from_its_imsi_and_pin():
    account = omadm.bootstrap.account(SERVER_ID, "http://dm.example/")
    made = omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", key="1234", security="USERPIN_NETWORKID", imsi=IMSI)
    assert made.content_type.endswith(omadm.bootstrap.mac(omadm.bootstrap.key("USERPIN_NETWORKID", IMSI, "1234"),
                                                          made.body))
    assert omadm.bootstrap.apply(factory_device(), made.body, made.content_type, key="1234", imsi=IMSI).uris
    for pin, imsi in [("1234", "262019876543211"), ("4321", IMSI)]:
        with pytest.raises(omadm.AuthError, match="SEC=USERPIN_NETWORKID"):
            omadm.bootstrap.apply(factory_device(), made.body, made.content_type, key=pin, imsi=imsi)
    # The same IMSI and PIN check a USERPIN bootstrap with the PIN alone, and a NETWORKID one with the IMSI.
    pinned = omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", key="1234")
    assert omadm.bootstrap.apply(factory_device(), pinned.body, pinned.content_type, key="1234", imsi=IMSI).uris
    network = omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", security="NETWORKID", imsi=IMSI)
    assert omadm.bootstrap.apply(factory_device(), network.body, network.content_type, imsi=IMSI).uris
    with pytest.raises(omadm.UsageError, match="needs a key"):
        omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", security="NETWORKID")


def test_a_bootstraps_mac_is_verified_alone_by_the_api_and_by_omadm_check(tmp_path):
    account = omadm.bootstrap.account(SERVER_ID, "http://dm.example/")
    made = omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", security="NETWORKID", imsi=IMSI)
    pdu = omadm.bootstrap.wap_push(made)
    assert omadm.bootstrap.verify(made.body, made.content_type, imsi=IMSI) == "NETWORKID"
    assert omadm.bootstrap.verify(pdu, imsi=IMSI) == "NETWORKID", "the push's own Content-Type"
    with pytest.raises(omadm.AuthError, match="SEC=NETWORKID"):
        omadm.bootstrap.verify(pdu, imsi="262019876543211")
    with pytest.raises(omadm.UsageError, match="a key, or the IMSI"):
        omadm.bootstrap.verify(pdu)
    push = tmp_path / "b.push"
    push.write_bytes(pdu)
    good = cli("check", str(push), "--imsi", IMSI)
    assert good.returncode == 0 and b"no violations" in good.stdout, good.stdout
    bad = cli("check", str(push), "--imsi", "262019876543211")
    assert bad.returncode == 1 and b"Bootstrap message 0: authentication failed: bootstrap: its MAC is not the one SEC=NETWORKID gives" \
        in bad.stdout
    as_json = cli("check", str(push), "--bootstrap-key", "1234", "--json")
    assert as_json.returncode == 1 and b'"rule": "Bootstrap"' in as_json.stdout


def test_a_bootstrap_that_does_not_check_leaves_the_tree_as_it_was():
    made = omadm.bootstrap.message(omadm.bootstrap.account(SERVER_ID, "http://dm.example/"), SERVER_ID, "IMEI:1",
                                   key="1234")
    tree = factory_device()
    before = tree.to_json()
    with pytest.raises(omadm.AuthError, match="MAC"):
        omadm.bootstrap.apply(tree, made.body, made.content_type, key="4321")
    with pytest.raises(omadm.AuthError, match="no SEC and MAC"):
        omadm.bootstrap.apply(tree, made.body, key="1234")
    omadm.bootstrap.apply(tree, made.body, made.content_type, key="1234")
    # Again: the account is there, 418, and nothing of the second is kept.
    tree.set(f"./DMAcc/{SERVER_ID}/Name", "mine")
    with pytest.raises(omadm.ProtocolError) as e:
        omadm.bootstrap.apply(tree, made.body, made.content_type, key="1234")
    assert e.value.rule == "Bootstrap" and e.value.cmd_id == 1 and "418" in e.value.reason
    assert tree.get(f"./DMAcc/{SERVER_ID}/Name") == "mine"
    assert before != tree.to_json()


def test_the_account_address_is_its_uri_whatever_the_account_is_named():
    tree = omadm.MemoryTree()
    omadm.bootstrap.install_account(tree, "Addr1", "http://dm.example/")
    assert omadm.http.Account(tree, "Addr1").address == "http://dm.example/"
    tree.set("./DMAcc/Addr1/AppAddr/1/AddrType", "IPv4")
    assert omadm.http.Account(tree, "Addr1").address is None


class Plain:
    """A tree object of the caller's, a dict of values and interior nodes."""

    def __init__(self):
        self.values = {}

    def get(self, uri):
        return self.values.get(uri)

    def add(self, uri, value, format, type):
        if uri in self.values:
            return 418
        self.values[uri] = format if format == "node" else value


class Journaled(Plain):
    def begin(self):
        self.saved = dict(self.values)

    def commit(self):
        del self.saved

    def rollback(self):
        self.values = self.saved


def test_a_tree_object_is_bootstrapped_through_its_transaction_and_refused_without_one():
    made = omadm.bootstrap.message(omadm.bootstrap.account(SERVER_ID, "http://dm.example/"), SERVER_ID, "IMEI:1",
                                   key="1234")
    plain = Plain()
    with pytest.raises(omadm.UsageError, match="all or nothing"):
        omadm.bootstrap.apply(plain, made.body, made.content_type, key="1234")
    assert plain.values == {}
    tree = Journaled()
    applied = omadm.bootstrap.apply(tree, made.body, made.content_type, key="1234")
    assert list(tree.values) == applied.uris and tree.values[f"./DMAcc/{SERVER_ID}/ServerID"] == SERVER_ID
    assert tree.values[f"./DMAcc/{SERVER_ID}"] == "node"
    # Again, the account's node gone: it is added again, the next item is 418, and it is undone.
    del tree.values[f"./DMAcc/{SERVER_ID}"]
    before = dict(tree.values)
    with pytest.raises(omadm.ProtocolError, match="418"):
        omadm.bootstrap.apply(tree, made.body, made.content_type, key="1234")
    assert tree.values == before


def test_a_bootstrap_travels_in_a_wap_push_with_its_sec_and_mac():
    made = omadm.bootstrap.message(omadm.bootstrap.account(SERVER_ID, "http://dm.example/"), SERVER_ID, "IMEI:1",
                                   key="1234", security="NETWORKID")
    pdu = omadm.bootstrap.wap_push(made, tid=5)
    mac = made.content_type.rsplit("MAC=", 1)[1]
    # WSP: tid, Push, headers; Content-Type 0x42 in the general form with SEC 0x91 = 0 and MAC 0x92.
    assert pdu[:2] == b"\x05\x06" and pdu[3:9] == bytes([0x1F, 45, 0xC2, 0x91, 0x80, 0x92])
    assert pdu[9:50] == mac.encode() + b"\x00" and pdu.endswith(made.body)
    assert omadm.bootstrap.from_wap_push(pdu) == made
    assert omadm.bootstrap.unwrap(pdu, "ignored") == made
    assert omadm.bootstrap.unwrap(made.body, made.content_type) == made
    assert len(omadm.notification.sms_user_data(pdu)) > 1, "a bootstrap takes several SMS"
    tree = factory_device()
    assert omadm.bootstrap.apply(tree, pdu, key="1234").server_id == SERVER_ID, "the push's own Content-Type"
    # A MAC changed in the push is refused; a notification's push is not a bootstrap.
    forged = pdu.replace(mac.encode(), mac[::-1].encode())
    got = omadm.bootstrap.from_wap_push(forged)
    with pytest.raises(omadm.AuthError, match="MAC"):
        omadm.bootstrap.apply(factory_device(), got.body, got.content_type, key="1234")
    with pytest.raises(omadm.DecodeError, match="WAP push: the content type is not application/vnd.syncml.dm"):
        omadm.bootstrap.from_wap_push(omadm.notification.wap_push(b"pkg0"))
    with pytest.raises(omadm.UsageError, match="SEC and MAC"):
        omadm.bootstrap.wap_push(omadm.bootstrap.Bootstrap(made.body, omadm.bootstrap.CONTENT_TYPE))
    with pytest.raises(omadm.UsageError, match="not \"text/plain\""):
        omadm.bootstrap.wap_push(omadm.bootstrap.Bootstrap(made.body, "text/plain; SEC=USERPIN; MAC=00"))


def test_cli_bootstraps_a_device_that_then_reaches_the_server(tmp_path):
    with omadm_serve("--server-id", SERVER_ID, "--auth", "md5", "--username", "dev", "--password", "devpw",
                     "--once") as (server, url):
        out = tmp_path / "b.wbxml"
        made = cli("bootstrap", "--server", url, "--server-id", SERVER_ID, "--auth", "md5", "--username", "dev",
                   "--password", "devpw", "--key", "1234", "-o", str(out))
        assert made.returncode == 0, made.stderr
        content_type = re.search(r"^Content-Type: (.*)$", made.stdout.decode(), re.M).group(1)
        assert omadm.bootstrap.mac("1234", out.read_bytes()) in content_type
        # With more nodes than the account: a connectivity setting goes with it.
        extra = tmp_path / "extra.json"
        omadm.MemoryTree({"./Vendor/Conn/APN": "internet"}).save(str(extra))
        more = cli("bootstrap", "--server", url, "--server-id", SERVER_ID, "--key", "1234", "--tree", str(extra),
                   "-o", str(tmp_path / "more.wbxml"))
        assert more.returncode == 0, more.stderr
        extended = factory_device()
        omadm.bootstrap.apply(extended, (tmp_path / "more.wbxml").read_bytes())
        assert extended.get("./Vendor/Conn/APN") == "internet" and extended.get(f"./DMAcc/{SERVER_ID}/ServerID")
        refused = cli("device", "--bootstrap", str(out), "--bootstrap-type", content_type, "--bootstrap-key", "0000")
        assert refused.returncode != 0 and b"MAC" in refused.stderr
        tree = tmp_path / "device.json"
        factory_device().save(str(tree))
        ran = cli("device", "--tree", str(tree), "--save-tree", "--bootstrap", str(out), "--bootstrap-type",
                  content_type, "--bootstrap-key", "1234")
        assert ran.returncode == 0, ran.stderr
        assert b"[bootstrap] 16 nodes from acme, its MAC checked" in ran.stdout
        assert b"Event(authenticated)" in ran.stdout
        assert server.wait(timeout=30) == 0
    # The device keeps its account: the next run needs no bootstrap.
    assert omadm.http.Account(omadm.MemoryTree.load(str(tree)), SERVER_ID).address == url
    assert cli("device").returncode == 2, "--server or --bootstrap is required"
    # The same bootstrap as a WAP push: its Content-Type comes with it.
    with omadm_serve("--server-id", SERVER_ID, "--auth", "md5", "--username", "dev", "--password", "devpw",
                     "--once") as (server, url):
        push = tmp_path / "b.push"
        made = cli("bootstrap", "--server", url, "--server-id", SERVER_ID, "--auth", "md5", "--username", "dev",
                   "--password", "devpw", "--key", "1234", "-o", str(push), "--wap-push", "--sms")
        assert made.returncode == 0 and b"a WAP push (WSP Push PDU)" in made.stdout and b"SMS 2 user data" in made.stdout
        shown = cli("decode", str(push))
        assert shown.returncode == 0 and b"<Add>" in shown.stdout and b"SEC=USERPIN; MAC=" in shown.stderr
        checked = cli("check", str(push))
        assert checked.returncode == 0 and b"no violations" in checked.stdout, checked.stdout
        ran = cli("device", "--bootstrap", str(push), "--bootstrap-key", "1234")
        assert ran.returncode == 0, ran.stderr
        assert b"[bootstrap] 16 nodes from acme, out of a WAP push, its MAC checked" in ran.stdout
        assert server.wait(timeout=30) == 0
    script = tmp_path / "device.py"
    script.write_text("import omadm\n\ndef tree():\n    return omadm.MemoryTree()\n")
    ignored = cli("device", "--tree", str(tree), "--script", str(script), "--bootstrap", str(out))
    assert ignored.returncode == 1 and b"--bootstrap applies to the tree of --tree" in ignored.stderr


def test_the_c_agent_out_of_the_box_reaches_the_server_its_bootstrap_names(run_agent, tmp_path):
    """examples/c/agent.c --bootstrap: dm_bootstrap_apply through its Atomic callbacks, then the
    session to the account's address with the account's credentials, both ways."""
    def read_model(session):
        session.found = session.get("./DevInfo/Mod").value

    credentials = dict(server_id=SERVER_ID, auth="md5", username="dev", password="devpw")
    with omadm.http.Server(read_model, server_password="srvpw", **credentials) as server, \
            omadm.http.Server(read_model, server_password="other", **credentials) as impostor:
        runs = {}
        for name, url, pin in (("wrong pin", server.url, "4321"), ("server", server.url, "1234"),
                               ("impostor", impostor.url, "1234"), ("push", server.url, "1234")):
            account = omadm.bootstrap.account(SERVER_ID, url, "md5", "dev", "devpw", server_password="srvpw")
            made = omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", key="1234")
            file, content_type = tmp_path / "b.wbxml", made.content_type
            if name == "push":  # the push's own Content-Type, whatever the argument says
                file, content_type = tmp_path / "b.push", "-"
                file.write_bytes(omadm.bootstrap.wap_push(made))
            else:
                file.write_bytes(made.body)
            runs[name] = run_agent("--bootstrap", str(file), content_type, pin, valgrind=name == "push")
    refused = runs["wrong pin"]
    assert refused.returncode == 1 and "its MAC is not the one SEC=USERPIN gives" in refused.stderr
    assert "-> agent" not in refused.stdout
    served = runs["server"]
    assert served.returncode == 0, served.stderr
    assert f"bootstrapped by {SERVER_ID}, its MAC checked: {server.url} as dev" in served.stdout
    assert runs["push"].returncode == 0, runs["push"].stderr
    assert [s.found for s in server.finished] == ["C agent", "C agent"]
    # The account's SRVCRED is the agent's: a server that cannot give it is not answered.
    assert runs["impostor"].returncode == 1 and "-> agent" in runs["impostor"].stdout
    assert "the server's credentials are not its account's" in runs["impostor"].stderr
    assert not any(hasattr(s, "found") for s in impostor.finished)


def listening_device(*args: str) -> tuple[subprocess.Popen, int]:
    """``omadm device --listen 127.0.0.1:0 ARGS`` started, and the UDP port it listens on."""
    device = subprocess.Popen([sys.executable, "-m", "omadm.cli", "device", "--listen", "127.0.0.1:0", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return device, int(device.stdout.readline().strip().rsplit(":", 1)[1])


def test_a_listening_device_takes_its_account_from_a_pushed_bootstrap_then_answers_package_0(tmp_path):
    """omadm device --listen --bootstrap-key: a device out of the box on an IP network; package 0
    before any account, and a bootstrap whose MAC is not the key's, are dropped. Its tree saved,
    it answers the next package 0 with that account, no --server given."""
    def read_model(session):
        session.found = session.get("./DevInfo/Mod").value

    tree = tmp_path / "device.json"
    factory_device().save(str(tree))
    device, port = listening_device("--bootstrap-key", "1234", "--tree", str(tree), "--save-tree")
    try:
        with omadm.http.Server(read_model, server_id=SERVER_ID, auth="md5", username="dev", password="devpw",
                               server_password="srvpw") as server:
            trigger = omadm.notification.build(SERVER_ID, "srvpw", b"", 7)
            omadm.notification.send(trigger, "127.0.0.1", port)  # no account yet
            account = omadm.bootstrap.account(SERVER_ID, server.url, "md5", "dev", "devpw", server_password="srvpw")
            forged = omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", key="9999")
            omadm.notification.send_push(omadm.bootstrap.wap_push(forged), "127.0.0.1", port)
            sent = cli("bootstrap", "--server", server.url, "--server-id", SERVER_ID, "--auth", "md5", "--username",
                       "dev", "--password", "devpw", "--server-password", "srvpw", "--key", "1234",
                       "-o", str(tmp_path / "b.push"), "--wap-push", "--send", f"127.0.0.1:{port}")
            assert sent.returncode == 0 and b"sent to udp 127.0.0.1:" in sent.stdout, sent.stderr
            omadm.notification.send(trigger, "127.0.0.1", port)
            out, err = device.communicate(timeout=60)
            assert device.returncode == 0, err
            assert "dropped package 0 from 127.0.0.1" in err and "no account for 'acme' yet" in err
            assert "dropped a bootstrap from 127.0.0.1" in err and "MAC" in err
            assert re.search(r"\[bootstrap\] 22 nodes from acme, pushed by 127\.0\.0\.1:\d+, its MAC checked", out)
            assert "session 7 for 'acme'" in out and "Event(server_authenticated)" in out
            # Restarted with the tree it saved: no bootstrap, no --server. Package 0 is signed with
            # the nonce the device gave the server for its next session (SRVCRED's AAuthData).
            nonce = omadm.MemoryTree.load(str(tree)).get(f"./DMAcc/{SERVER_ID}/AppAuth/2/AAuthData")
            assert isinstance(nonce, bytes) and nonce
            device, port = listening_device("--tree", str(tree))
            omadm.notification.send(omadm.notification.build(SERVER_ID, "srvpw", nonce, 8), "127.0.0.1", port)
            out, err = device.communicate(timeout=60)
            assert device.returncode == 0 and "Event(authenticated)" in out, err
        assert [s.found for s in server.finished] == ["X1", "X1"]
    finally:
        device.kill()


def test_the_c_agent_listening_takes_a_bootstrap_pushed_then_answers_package_0(run_agent):
    """examples/c/agent.c --listen PORT --bootstrap-pin PIN: one WDP port, a push's content type
    telling a bootstrap (0x42) from a notification (0x44); package 0 before the account, and a
    bootstrap the PIN does not seal, are dropped (under valgrind)."""
    def read_model(session):
        session.found = session.get("./DevInfo/Mod").value

    udp = free_port(socket.SOCK_DGRAM)
    agent = run_agent("--listen", str(udp), "--bootstrap-pin", "1234", background=True, valgrind=True)
    try:
        assert agent.stdout.readline() == f"agent: waiting for package 0 and a bootstrap on udp port {udp}\n"
        with omadm.http.Server(read_model, server_id=SERVER_ID, auth="md5", username="dev", password="devpw",
                               server_password="srvpw") as server:
            trigger = omadm.notification.build(SERVER_ID, "srvpw", b"", 9)
            account = omadm.bootstrap.account(SERVER_ID, server.url, "md5", "dev", "devpw", server_password="srvpw")
            for pdu in (omadm.notification.wap_push(trigger),
                        omadm.bootstrap.wap_push(omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", key="9999")),
                        omadm.bootstrap.wap_push(omadm.bootstrap.message(account, SERVER_ID, "IMEI:1", key="1234")),
                        omadm.notification.wap_push(trigger)):
                omadm.notification.send_push(pdu, "127.0.0.1", udp)
            out, err = agent.communicate(timeout=60)
    finally:
        agent.kill()
    assert agent.returncode == 0, err
    assert "dropped package 0 from acme: no account yet" in out and "dropped a bootstrap" in out
    assert "its MAC is not the one SEC=USERPIN gives" in err
    assert f"bootstrapped by acme, its MAC checked: {server.url} as dev" in out
    assert "agent: package 0 from acme: session 9," in out and "agent: session ended" in out
    assert [s.found for s in server.finished] == ["C agent"]


def test_omadm_serve_provisions_a_listening_device_then_manages_it():
    """omadm serve --notify --bootstrap-key: the server pushes the bootstrap of its own account,
    then package 0; omadm device --listen --bootstrap-key takes both and runs the session."""
    device, port = listening_device("--bootstrap-key", "1234")
    try:
        with omadm_serve("--server-id", SERVER_ID, "--auth", "md5", "--username", "dev", "--password", "devpw",
                         "--nonce", "n1", "--server-password", "srvpw", "--notify", f"127.0.0.1:{port}",
                         "--bootstrap-key", "1234", "--once") as (server, url):
            out, err = device.communicate(timeout=60)
            assert device.returncode == 0, err
            assert server.wait(timeout=30) == 0
            said = server.stdout.read()
    finally:
        device.kill()
    assert re.search(r"bootstrap \(\d+ bytes, SEC=USERPIN\) sent to udp 127\.0\.0\.1:\d+", said), said
    assert f"[bootstrap] 22 nodes from {SERVER_ID}, pushed by" in out
    assert "Event(server_authenticated)" in out and "Event(authenticated)" in out
    assert cli("serve", "--bootstrap-key", "1").returncode == 2, "--bootstrap-key needs --notify"


def test_omadm_serve_provisions_a_device_by_its_imsi_and_pin():
    """SEC=USERPIN_NETWORKID end to end: omadm serve --bootstrap-imsi --bootstrap-key seals the
    bootstrap with the IMSI and the PIN; omadm device --listen --imsi --bootstrap-key checks it.
    A device with another IMSI drops it."""
    sealing = ("--bootstrap-security", "USERPIN_NETWORKID", "--bootstrap-imsi", IMSI, "--bootstrap-key", "1234")
    for imsi, provisioned in [(IMSI, True), ("262019876543211", False)]:
        device, port = listening_device("--imsi", imsi, "--bootstrap-key", "1234")
        try:
            with omadm_serve("--server-id", SERVER_ID, "--notify", f"127.0.0.1:{port}", *sealing,
                             "--once") as (server, url):
                if provisioned:
                    out, err = device.communicate(timeout=60)
                    assert device.returncode == 0 and server.wait(timeout=30) == 0, err
                    assert re.search(r"\[bootstrap\] \d+ nodes from acme, pushed by .*, its MAC checked", out), out
                    assert "Event(ended)" in out
                else:
                    err = device.stderr.readline() + device.stderr.readline()
                    assert "dropped a bootstrap" in err and "SEC=USERPIN_NETWORKID" in err, err
        finally:
            device.kill()
    assert cli("bootstrap", "--server", "http://dm.example/").returncode == 2, "--key or --imsi"


@pytest.mark.parametrize("device_secrets, sealing", [
    (("--bootstrap-pin", "1234"), ("--bootstrap-key", "1234")),
    (("--imsi", IMSI), ("--bootstrap-security", "NETWORKID", "--bootstrap-imsi", IMSI)),
    (("--imsi", IMSI, "--bootstrap-pin", "1234"),
     ("--bootstrap-security", "USERPIN_NETWORKID", "--bootstrap-imsi", IMSI, "--bootstrap-key", "1234")),
], ids=["USERPIN", "NETWORKID", "USERPIN_NETWORKID"])
def test_omadm_serve_provisions_the_listening_c_agent_then_manages_it(run_agent, device_secrets, sealing):
    """The C agent out of the box (--listen --bootstrap-pin, --imsi: dm_bootstrap_key) and omadm
    serve --notify --bootstrap-key/--bootstrap-imsi: bootstrap, package 0, then a session
    authenticated both ways."""
    udp = free_port(socket.SOCK_DGRAM)
    agent = run_agent("--listen", str(udp), *device_secrets, background=True)
    try:
        assert agent.stdout.readline().startswith("agent: waiting for package 0 and a bootstrap")
        served = cli("serve", "--port", "0", "--server-id", SERVER_ID, "--auth", "md5", "--username", "dev",
                     "--password", "devpw", "--server-password", "srvpw", "--notify", f"127.0.0.1:{udp}",
                     *sealing, "--once")
        out, err = agent.communicate(timeout=60)
    finally:
        agent.kill()
    assert served.returncode == 0 and b"session with IMEI:493005100592800: ended" in served.stdout, served.stderr
    assert agent.returncode == 0, err
    assert f"agent: bootstrapped by {SERVER_ID}, its MAC checked" in out and "agent: session ended" in out
