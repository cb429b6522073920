"""The HTTP glue as real peers meet it: HTTPS both ways, and servers that route by cookies."""

import contextlib
import http.client
import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import omadm
import omadm.conformance
import omadm.fumo
import omadm.http
import omadm.notification

DEVINFO = {"./DevInfo/DevId": "IMEI:1", "./DevInfo/Man": "Acme", "./DevInfo/Mod": "X1", "./DevInfo/DmV": "1.2",
           "./DevInfo/Lang": "en"}


@contextlib.contextmanager
def serving(handler):
    """A plain HTTP server of the test's own on a loopback port: its URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/dm"
    finally:
        httpd.shutdown()
        httpd.server_close()


def read_model(session):
    session.found = session.get("./DevInfo/Mod").value


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


def test_https_server_and_device(certificate):
    cert, key = certificate
    with omadm.http.Server(read_model, server_id="srv", tls=omadm.http.server_tls(cert, key)) as server:
        assert server.url.startswith("https://127.0.0.1:")
        trusted = omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv",
                                    tls=omadm.http.device_tls(cafile=cert))
        assert trusted[-1].kind == "ended"
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv")
        unchecked = omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv",
                                      tls=omadm.http.device_tls(verify=False))
        assert unchecked[-1].kind == "ended"
        assert [s.found for s in server.finished] == ["X1", "X1"]


def test_a_firmware_package_comes_over_https_from_a_server_the_device_trusts(certificate):
    cert, key = certificate
    campaign = omadm.fumo.Campaign(b"ACME 2.0")
    with omadm.http.Server(campaign, files=campaign.files, tls=omadm.http.server_tls(cert, key)) as server:
        for tls, code in ((omadm.http.device_tls(cafile=cert), 200), (omadm.http.device_tls(verify=False), 200),
                          (None, 412)):  # a certificate it cannot check: the download server is not there for it
            tree = omadm.MemoryTree(DEVINFO)
            firmware = omadm.fumo.Firmware(tree, tls=tls)
            omadm.http.device(server.url, tree, server_id="omadm", tls=omadm.http.device_tls(verify=False),
                              firmware=firmware)
            assert [r.code for r in firmware.done] == [code]
            assert tree.get("./FUMO/DownloadAndUpdate/PkgURL").startswith("https://127.0.0.1:")


def test_cli_serves_and_speaks_https(certificate, tmp_path):
    cert, key = certificate
    server = subprocess.Popen([sys.executable, "-m", "omadm.cli", "serve", "--port", "0", "--cert", cert, "--key", key],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")
        device = [sys.executable, "-m", "omadm.cli", "device", "--server", url]
        assert subprocess.run([*device, "--cafile", cert], capture_output=True).returncode == 0
        assert subprocess.run([*device, "--insecure"], capture_output=True).returncode == 0
        refused = subprocess.run(device, capture_output=True)
        assert refused.returncode == 1 and b"CERTIFICATE_VERIFY_FAILED" in refused.stderr
        with pytest.raises(OSError):  # plain HTTP to it: the handshake fails
            urllib.request.urlopen(url.replace("https:", "http:"), b"x", timeout=10)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert "Traceback" not in err, "a peer's broken connection is no traceback"


def test_a_server_on_ipv6_names_itself_as_the_device_reached_it():
    try:
        server = omadm.http.Server(lambda session: session.get("./DevInfo/Mod").value, host="::1",
                                   files={"/where": lambda origin: origin.encode()})
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        port = server.httpd.server_address[1]
        assert server.url == f"http://[::1]:{port}/dm"
        assert omadm.http.device(server.url, omadm.MemoryTree(DEVINFO))[-1].kind == "ended"
        assert [s.origin for s in server.finished] == [f"http://[::1]:{port}"] and server.routed_by_resp_uri == 1
        connection = http.client.HTTPConnection("::1", port, timeout=5)
        connection.putrequest("GET", "/where", skip_host=True)
        connection.putheader("Host", "[::1]")  # without its port, as some devices send it
        connection.endheaders()
        assert connection.getresponse().read() == f"http://[::1]:{port}".encode()
        connection.close()


def test_a_file_the_server_serves_comes_whole_or_in_the_range_asked_for():
    package = bytes(range(256)) * 4
    with omadm.http.Server(lambda session: None, files={"/fw.bin": package}) as server:
        origin = server.url.rsplit("/", 1)[0]

        def fetch(method="GET", range_=None):
            request = urllib.request.Request(origin + "/fw.bin", method=method,
                                             headers={"Range": range_} if range_ else {})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return answer.status, answer.headers.get("Content-Range"), answer.read()
            except urllib.error.HTTPError as e:
                return e.code, e.headers.get("Content-Range"), b""

        assert fetch() == (200, None, package)
        assert fetch("HEAD") == (200, None, b"")
        assert fetch(range_="bytes=1000-") == (206, "bytes 1000-1023/1024", package[1000:])
        assert fetch(range_="bytes=0-9") == (206, "bytes 0-9/1024", package[:10])
        assert fetch(range_="bytes=-4") == (206, "bytes 1020-1023/1024", package[-4:])
        assert fetch(range_="bytes=1000-5000") == (206, "bytes 1000-1023/1024", package[1000:])
        assert fetch(range_="bytes=2000-") == (416, "bytes */1024", b"")
        for ignored in ("bytes=9-3", "bytes=0-1,5-6", "items=0-3"):
            assert fetch(range_=ignored) == (200, None, package), ignored
        assert fetch("HEAD", "bytes=0-9")[:2] == (206, "bytes 0-9/1024")


def test_the_device_keeps_the_cookies_a_server_routes_by():
    """A server that knows its session only by the cookie it set with its first answer."""
    sessions: dict[str, omadm.ServerSession] = {}

    class CookieRouted(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            cookie = self.headers.get("Cookie")
            if cookie is None:
                cookie = f"sid={len(sessions) + 1}"
                sessions[cookie] = omadm.ServerSession("srv")
                sessions[cookie].receive(body)
                sessions[cookie].get("./DevInfo/Mod")
            elif cookie in sessions:
                sessions[cookie].receive(body)
            else:
                self.send_error(403, "unknown session")
                return
            reply = sessions[cookie].next_message()
            self.send_response(200)
            self.send_header("Set-Cookie", f"{cookie}; Path=/")
            self.send_header("Content-Type", sessions[cookie].content_type)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    with serving(CookieRouted) as url:
        for _ in range(2):
            events = omadm.http.device(url, omadm.MemoryTree(DEVINFO), server_id="srv")
            assert events[-1].kind == "ended"
    assert sorted(sessions) == ["sid=1", "sid=2"], "each session its own cookie, none carried to the next"
    assert all(s.state == "ended" for s in sessions.values())


def test_the_resp_uri_names_the_server_as_the_device_reached_it():
    """A server listening on 0.0.0.0 must not tell a device to send to 0.0.0.0."""
    import http.client
    import urllib.parse

    with omadm.http.Server(read_model, server_id="srv") as server:
        port = urllib.parse.urlsplit(server.url).port
        for n, (host, path, expected) in enumerate([
            ("dm.example.test:8080", "/omadm/dm", "http://dm.example.test:8080/omadm/dm?s=1"),
            ("dm.example.test", "/dm", f"http://dm.example.test:{port}/dm?s=2"),  # the port left out
            ("bad host<", "/dm", f"{server.url}?s=3"),
        ]):
            package1 = omadm.ClientSession(f"IMEI:{n}", "srv", server.url, omadm.MemoryTree(DEVINFO)).next_message()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.putrequest("POST", path, skip_host=True)
            conn.putheader("Host", host)
            conn.putheader("Content-Type", "application/vnd.syncml.dm+xml")
            conn.putheader("Content-Length", str(len(package1)))
            conn.endheaders(package1)
            reply = conn.getresponse()
            assert reply.status == 200
            assert omadm.decode(reply.read()).to_dict()["header"]["resp_uri"] == expected
            conn.close()


@pytest.mark.parametrize("auth", ["md5", "hmac"])
def test_a_device_is_taken_at_once_with_the_nonces_its_last_session_gave_it(auth):
    """A device digests its next session with the NextNonce the server gave it (with HMAC, the
    last one; and checks the server's with the one it gave the server); the server keeps them
    per device, so that session needs no challenge."""
    creds = dict(auth=auth, username="u", password="p", server_password="sp")
    kept: dict[str, object] = {}

    def keep(client, events):
        kept.update(nonce=client.next_nonce, server_nonce=client.next_server_nonce, messages=kept["messages"] + 1)

    with omadm.http.Server(read_model, server_id="srv", nonce=b"n0", server_nonce=b"s0", **creds) as server:
        kept["messages"] = 0
        omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv", nonce=b"n0", server_nonce=b"s0",
                          received=keep, **creds)
        first = kept["messages"]
        assert kept["nonce"] not in (None, b"n0") and kept["server_nonce"] not in (None, b"s0")
        kept["messages"] = 0
        events = omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv", nonce=kept["nonce"],
                                   server_nonce=kept["server_nonce"], received=keep, **creds)
        # As many messages as the first session: no challenge; both sides authenticated.
        assert kept["messages"] == first
        assert [e.kind for e in events].count("authenticated") == 1
        assert [s.found for s in server.finished] == ["X1", "X1"]


def test_a_server_holding_its_most_sessions_answers_a_new_device_503():
    """`max_sessions` bounds what devices make a server hold: one more waits (503, Retry-After),
    and is served once a session ends."""
    def post(url, client):
        req = urllib.request.Request(url, client.next_message(), {"Content-Type": client.content_type})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    with omadm.http.Server(read_model, server_id="srv", max_sessions=1) as server:
        first = omadm.ClientSession("IMEI:1", "srv", server.url, omadm.MemoryTree(DEVINFO))
        first.receive(post(server.url, first))  # its session is held, waiting for package 3
        second = omadm.ClientSession("IMEI:2", "srv", server.url, omadm.MemoryTree(DEVINFO))
        with pytest.raises(urllib.error.HTTPError) as busy:
            post(server.url, second)
        assert busy.value.code == 503 and busy.value.headers["Retry-After"] == "30"
        busy.value.close()
        assert list(server.sessions) == [("IMEI:1", "1")]
        while first.state != "ended":
            first.receive(post(first.respond_to, first))
        events = omadm.http.device(server.url, omadm.MemoryTree({**DEVINFO, "./DevInfo/DevId": "IMEI:2"}),
                                   server_id="srv")
        assert events[-1].kind == "ended" and [s.found for s in server.finished] == ["X1", "X1"]


def test_a_device_authenticates_with_its_dmacc_account_and_keeps_its_nonces_there(tmp_path):
    """Given no credentials, a MemoryTree device takes them from its DMAcc account for the
    server (CLCRED and SRVCRED), and writes the nonces it is given into AAuthData, as a device
    does; `omadm device --tree FILE --save-tree` keeps the tree, and the server's changes, across runs."""
    tree = omadm.MemoryTree({**DEVINFO, "./Vendor/Level": "1"})
    tree.set_acl("./Vendor", "Get=*&Replace=*")
    tree.install_dmacc("srv", "http://dm", auth=[("CLCRED", "DIGEST", "u", "p", b"n0"),
                                                 ("SRVCRED", "DIGEST", "srv", "sp", b"s0")])
    creds = dict(auth="md5", username="u", password="p", nonce=b"n0", server_password="sp", server_nonce=b"s0")

    served = iter(range(1, 10))

    def level(session):  # the device's Level is the number of its sessions
        assert session.replace("./Vendor/Level", str(next(served))).status == 200

    with omadm.http.Server(level, server_id="srv", trace_dir=str(tmp_path / "t"), **creds) as server:
        events = omadm.http.device(server.url, tree, server_id="srv")
        assert {"authenticated", "server_authenticated"} <= {e.kind for e in events}
        kept = tree.get("./DMAcc/srv/AppAuth/1/AAuthData")
        assert isinstance(kept, bytes) and kept != b"n0", "the next nonce, where the device keeps it"
        path = tmp_path / "device.json"
        tree.save(str(path))
        for _ in range(2):
            r = subprocess.run([sys.executable, "-m", "omadm.cli", "device", "--server", server.url, "--server-id",
                                "srv", "--tree", str(path), "--save-tree"], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
    # Each session 4 messages: none was challenged.
    assert len(list((tmp_path / "t").iterdir())) == 3 * 4
    saved = omadm.MemoryTree.load(str(path))
    assert saved.get("./Vendor/Level") == "3"
    assert saved.get("./DMAcc/srv/AppAuth/1/AAuthData") not in (kept, b"n0")


def test_hmac_headers_are_kept_in_trace_directories_and_verified_by_check(tmp_path):
    """`omadm serve --trace-dir` and `omadm device --trace-dir` keep each message's
    x-syncml-hmac header beside it (NNNN-c2s.hmac), so `omadm check --client-cred` verifies an
    HMAC session they recorded; Trace.save and capture.read keep them too."""
    creds = dict(auth="hmac", username="u", password="p", nonce=b"n0", server_password="sp", server_nonce=b"s0")
    with omadm.http.Server(read_model, server_id="srv", trace_dir=str(tmp_path / "server"), **creds) as server:
        omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv", trace_dir=str(tmp_path / "device"),
                          **creds)  # type: ignore[arg-type]
    secrets = ["--client-cred", "u:p", "--client-nonce", "n0", "--server-cred", "srv:sp", "--server-nonce", "s0"]
    for side in ("server", "device"):
        [trace] = omadm.capture.read(tmp_path / side)
        assert len(trace.hmac) == len(trace.messages) == 4 and all(trace.hmac), side
        r = subprocess.run([sys.executable, "-m", "omadm.cli", "check", *secrets, str(tmp_path / side)],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "no violations" in r.stdout, r.stdout
        r = subprocess.run([sys.executable, "-m", "omadm.cli", "check", "--client-cred", "u:other", "--client-nonce",
                            "n0", str(tmp_path / side)], capture_output=True, text=True)
        assert r.returncode == 1 and "Cred message 0: an HMAC that does not match" in r.stdout, r.stdout
        trace.save(str(tmp_path / "again"))
    again = omadm.capture.read(tmp_path / "again")
    assert [t.hmac for t in again] == [trace.hmac, trace.hmac]
    # A session of message files with no header beside any keeps none.
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x-0000-c2s.msg").write_bytes(trace.messages[0])
    assert omadm.capture.read(tmp_path / "plain")[0].hmac == []


def test_a_checking_server_reports_the_rules_a_device_s_session_breaks(tmp_path):
    """`omadm.http.Server(check=True)` (`omadm serve --check`): each finished session holds the
    rules its messages break (`violations`), the slips the engine takes from a device included
    (package 1 without DevInfo here, R20); `--once` exits 1 on any."""
    import re

    client = omadm.ClientSession("IMEI:9", "srv", "http://dm", omadm.MemoryTree(DEVINFO))
    package1 = client.next_message()
    assert package1 is not None
    slip = re.sub(rb"<Replace>.*</Replace>", b"", package1, flags=re.S)

    def post(url: str, body: bytes) -> bytes:
        request = urllib.request.Request(url, body, {"Content-Type": "application/vnd.syncml.dm+xml"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.read()

    with omadm.http.Server(lambda session: None, server_id="srv", check=True) as server:
        omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv")
        assert b"<Final" in post(server.url, slip)
        deadline = time.monotonic() + 30
        while len(server.finished) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    clean, slipped = server.finished
    assert clean.violations == [] and len(clean.trace.messages) == 2  # type: ignore[union-attr]
    assert [v.rule for v in slipped.violations] == ["R20"], slipped.violations
    assert slipped.trace.directions == ["c2s", "s2c"]  # type: ignore[union-attr]
    verdict = omadm.conformance.rules(slipped.violations)  # as serve --conformance --check reports it
    assert (verdict.check, verdict.outcome) == ("rules", "fail") and "R20 message 0" in verdict.detail
    assert omadm.conformance.rules(clean.violations).outcome == "pass"
    (tmp_path / "run.py").write_text("def run(session):\n    pass\n")
    for body, expected in ((package1, 0), (slip, 1)):
        serve = subprocess.Popen([sys.executable, "-m", "omadm.cli", "serve", "--port", "0", "--script",
                                  str(tmp_path / "run.py"), "--server-id", "srv", "--check", "--once"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            post(serve.stdout.readline().strip(), body)  # type: ignore[union-attr]
            out, err = serve.communicate(timeout=30)
        finally:
            serve.kill()
        assert serve.returncode == expected, (out, err)
        assert ("[check] IMEI:9: no violations" in out) == (expected == 0), out
        assert ("[check]   R20 message 0: " in out) == (expected == 1), out


@pytest.mark.parametrize("auth", ["md5", "hmac"])
def test_a_checking_server_verifies_each_cred_and_hmac_with_the_session_s_own_secrets(auth):
    """`serve --check` with credentials: the checker verifies the device's Creds (or HMACs) and
    the server's own with the passwords and nonces the session was made with, as ``omadm check
    --client-cred --server-cred`` would: a device with another password breaks rule Cred."""
    creds = dict(auth=auth, username="u", nonce=b"n0", server_password="sp", server_nonce=b"s0")
    with omadm.http.Server(lambda session: None, server_id="srv", check=True, password="p", **creds) as server:
        omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv", password="p", **creds)
        with pytest.raises(omadm.AuthError):
            omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv", password="guess", **creds)
        deadline = time.monotonic() + 30
        while len(server.finished) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    good, guessed = server.finished
    assert good.violations == [] and good.secrets["client"] == ("u", "p"), good.violations
    assert good.secrets["server"] == ("srv", "sp") and good.secrets["client_nonce"] == b"n0"
    refused = [v for v in guessed.violations if v.rule == "Cred"]
    assert refused and refused[0].msg_index == 0 and "another password" in refused[0].detail, guessed.violations


def test_a_checking_device_reports_the_rules_a_server_s_session_breaks():
    """`omadm device --check`: the rules the session's messages break, the slips the device
    takes from a server included (its SyncHdr status after another, here); exit 1 on any."""
    import re

    class Slipping(http.server.BaseHTTPRequestHandler):
        slip = False

        def log_message(self, *args):
            pass

        def do_POST(self):
            server = omadm.ServerSession("srv")
            server.receive(self.rfile.read(int(self.headers["Content-Length"])))
            reply = server.next_message()
            assert reply is not None
            if Slipping.slip:  # the SyncHdr's status after the next one
                reply = re.sub(rb"(<Status>.*?<Cmd>SyncHdr</Cmd>.*?</Status>)(<Status>.*?</Status>)",
                               rb"\2\1", reply, count=1, flags=re.S)
            self.send_response(200)
            self.send_header("Content-Type", server.content_type)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    with serving(Slipping) as url:
        for slip, expected in ((False, 0), (True, 1)):
            Slipping.slip = slip
            r = subprocess.run([sys.executable, "-m", "omadm.cli", "device", "--server", url, "--server-id", "srv",
                                "--check"], capture_output=True, text=True, timeout=60)
            assert r.returncode == expected, (r.stdout, r.stderr)
            assert ("no violations" in r.stdout) == (not slip) and "Event(ended" in r.stdout, r.stdout
            assert ("[check]   SyncHdrFirst message 1: " in r.stdout) == slip, r.stdout
    r = subprocess.run([sys.executable, "-m", "omadm.cli", "device", "--server", url, "--check", "--count", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--check checks one device's messages" in r.stderr


def test_a_checking_server_with_many_devices_judges_each_as_the_user_it_names(tmp_path):
    """`serve --check --passwords`: each device's Creds are verified with the password of the
    user it names (a dict or a lookup); `omadm check --passwords FILE` does the same on the
    trace written."""
    passwords = {"u": "p", "v": "q"}
    with omadm.http.Server(lambda session: None, server_id="srv", check=True, auth="md5", passwords=passwords,
                           trace_dir=str(tmp_path / "t")) as server:
        omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv", auth="md5", username="v",
                          password="q")
        with pytest.raises(omadm.AuthError):
            omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), device_id="IMEI:2", server_id="srv",
                              auth="md5", username="u", password="guess")
        deadline = time.monotonic() + 30
        while len(server.finished) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    good, guessed = server.finished
    assert good.secrets["passwords"] == passwords and good.violations == [], good.violations
    assert [v.rule for v in guessed.violations][:1] == ["Cred"] and "another password" in guessed.violations[0].detail
    # A lookup the server calls is taken as a dict is.
    trace = guessed.trace
    assert trace is not None
    assert omadm.check(trace.messages, trace.directions, passwords=passwords.get, client_nonce=b"") == guessed.violations
    (tmp_path / "pw.json").write_text(json.dumps(passwords))
    r = subprocess.run([sys.executable, "-m", "omadm.cli", "check", str(tmp_path / "t"), "--passwords",
                        str(tmp_path / "pw.json")], capture_output=True, text=True, timeout=60)
    # Without --client-nonce the first Cred is not judged: its nonce came before the trace.
    assert r.returncode == 1 and "Cred message 2: an md5 Cred" in r.stdout, r.stdout
    assert r.stdout.count("no violations") == 1, r.stdout


@pytest.mark.parametrize("auth, refused", [
    ("md5", ("Cred message 1: an md5 Cred", "the server's credentials are not the ones the device holds (401)")),
    ("hmac", ("Cred message 1: an HMAC", "the server's x-syncml-hmac does not match")),
])
def test_a_checking_device_verifies_the_server_s_credentials_with_the_password_it_was_given(auth, refused):
    """`omadm device --check --server-password`: the server's Cred (or HMAC) is verified too; a
    server that signs with another password breaks rule Cred, and the session fails for the
    device (its server never proved itself, though it had nothing for it to run)."""
    creds = ["--auth", auth, "--username", "u", "--password", "p", "--nonce", "n0", "--server-id", "srv",
             "--server-password", "sp", "--server-nonce", "s0"]
    for server_password, expected in (("sp", 0), ("impostor", 1)):
        with omadm.http.Server(lambda session: None, server_id="srv", auth=auth, username="u", password="p",
                               nonce=b"n0", server_password=server_password, server_nonce=b"s0") as server:
            r = subprocess.run([sys.executable, "-m", "omadm.cli", "device", "--server", server.url, *creds, "--check"],
                               capture_output=True, text=True, timeout=60)
        assert r.returncode == expected, (r.stdout, r.stderr)
        assert (f"[check] {server.url}: no violations" in r.stdout) == (not expected), r.stdout
        assert (f"[check]   {refused[0]}" in r.stdout) == bool(expected), r.stdout
        assert (refused[1] in r.stderr) == bool(expected), r.stderr


def test_nonces_outlive_the_server_and_the_device_in_their_files(tmp_path):
    """`omadm serve --nonce-file` and `omadm device --nonce-file`: a restarted server, and a
    device run again, take up where the last session left the nonces."""
    creds = dict(auth="md5", username="u", password="p", nonce=b"n0")

    for run in range(2):  # a server process each time, with the file the last one wrote
        nonces = omadm.http.Nonces(str(tmp_path / "server.json"))
        with omadm.http.Server(read_model, server_id="srv", trace_dir=str(tmp_path / f"t{run}"), nonces=nonces,
                               **creds) as server:
            r = subprocess.run([sys.executable, "-m", "omadm.cli", "device", "--server", server.url, "--server-id",
                                "srv", "--auth", "md5", "--username", "u", "--password", "p", "--nonce", "n0",
                                "--nonce-file", str(tmp_path / "device.json")], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
        nonces.save()
    first, again = (len(list((tmp_path / f"t{run}").iterdir())) for run in range(2))
    assert first == again == 4, "no challenge in the second session"
    kept = json.loads((tmp_path / "device.json").read_text())
    assert list(kept) == ["IMEI:493005100592800"] and set(kept["IMEI:493005100592800"]) == {"nonce"}
    assert omadm.http.Nonces(str(tmp_path / "server.json")).options("IMEI:493005100592800")["nonce"] != b"n0"
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(omadm.UsageError, match="not a nonce file"):
        omadm.http.Nonces(str(tmp_path / "bad.json"))


def test_the_c_agent_follows_the_resp_uri(run_agent):
    """examples/c/agent.c sends each message to the server's last RespURI (dm_session_respond_to)."""
    with omadm.http.Server(read_model, server_id="omadm-demo", auth="md5", username="device", password="secret",
                           nonce=b"demo-nonce") as server:
        run = run_agent(server.url)
        assert run.returncode == 0, run.stderr
        sent = run.stdout.count("-> agent")
        assert sent >= 2 and server.routed_by_resp_uri == sent - 1, "every message after the first by its RespURI"
        assert [s.found for s in server.finished] == ["C agent"]


def test_the_c_agent_reaches_a_server_on_ipv6(run_agent):
    """examples/c/agent.c takes an http://[IPv6]:port URL and names it so in its Host header."""
    try:
        server = omadm.http.Server(read_model, host="::1", server_id="omadm-demo", auth="md5", username="device",
                                   password="secret", nonce=b"demo-nonce")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        run = run_agent(server.url)
        assert run.returncode == 0, run.stderr
        assert [s.found for s in server.finished] == ["C agent"] and server.routed_by_resp_uri >= 1
        assert [s.origin for s in server.finished] == [server.url.rsplit("/", 1)[0]]


def test_the_c_agent_reports_an_exec_it_accepted_in_a_generic_alert(run_agent):
    """examples/c/agent.c answers an Exec 202 and sends its outcome (dm_client_alert) once
    dm_session_receive has returned, with the Exec's correlator and a severity."""
    def reboot(session):
        session.status = session.exec("./Vendor/Reboot", correlator="r-1").status
        session.reports = [(e.correlator, e.items[0]["uri"], e.items[0]["mark"]) for e in session.events
                           if e.kind == "generic_alert"]

    with omadm.http.Server(reboot, server_id="omadm-demo", auth="md5", username="device", password="secret",
                           nonce=b"demo-nonce") as server:
        run = run_agent(server.url)
        assert run.returncode == 0, run.stderr
        [session] = server.finished
        assert session.status == 202 and session.reports == [("r-1", "./Vendor/Reboot", "informational")]


def test_the_c_agent_answers_package_0_pushed_over_udp(run_agent, tmp_path):
    """examples/c/agent.c --listen PORT waits for a WAP push over UDP, drops what its server did
    not sign (dm_notification_from_wap_push, dm_notification_parse) and starts the session the
    notification asks for: Alert 1200 and its SessionID."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with omadm.http.Server(read_model, server_id="omadm-demo", auth="md5", username="device", password="secret",
                           nonce=b"demo-nonce", trace_dir=str(tmp_path)) as server:
        agent = run_agent(server.url, "--listen", str(port), background=True)
        try:
            assert agent.stdout.readline() == f"agent: waiting for package 0 on udp port {port}\n"
            forged = omadm.notification.build("omadm-demo", "guess", b"", 0x77)
            for pkg0 in (b"junk", forged, omadm.notification.build("omadm-demo", "server-secret", b"", 0xBEE, 2)):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(omadm.notification.wap_push(pkg0) if pkg0 != b"junk" else pkg0, ("127.0.0.1", port))
            out, err = agent.communicate(timeout=60)
        finally:
            agent.kill()
    assert agent.returncode == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["agent: dropped a datagram: bad package-0 notification: 4 bytes, at least 24 needed at byte 4",
                         "agent: dropped package 0 that omadm-demo did not sign",
                         "agent: package 0 from omadm-demo: session BEE, ui-mode 2"], lines[:3]
    assert [s.found for s in server.finished] == ["C agent"]
    first = omadm.decode((tmp_path / "IMEI_493005100592800-BEE-0000-c2s.msg").read_bytes())
    assert first.commands[0]["Alert"]["data"] == 1200


def test_a_silent_connection_is_closed_and_its_thread_ends():
    """A device whose network went away mid-request, or between two messages, holds nothing."""
    import socket

    with omadm.http.Server(read_model, server_id="srv", connection_timeout=1.0) as server:
        before = set(threading.enumerate())
        port = int(server.url.split(":")[2].split("/")[0])
        silent = socket.create_connection(("127.0.0.1", port))
        halfway = socket.create_connection(("127.0.0.1", port))
        halfway.sendall(b"POST /dm HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.syncml.dm+xml\r\n"
                        b"Content-Length: 100\r\n\r\n<SyncML")
        time.sleep(0.2)
        handlers = set(threading.enumerate()) - before
        assert len(handlers) == 2, "a thread for each connection"
        for conn in (silent, halfway):
            conn.settimeout(5)
            assert conn.recv(100) == b"", "closed by the server"
            conn.close()
        for t in handlers:
            t.join(timeout=5)
            assert not t.is_alive()
        assert omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv")[-1].kind == "ended"


def test_a_fault_of_the_servers_own_is_reported(tmp_path, capsys):
    """Broken connections are the peer's affair and print nothing; a trace directory that cannot
    be written is the server's, and its traceback is printed."""
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    with omadm.http.Server(read_model, server_id="srv", trace_dir=str(not_a_directory)) as server:
        with pytest.raises(OSError):
            omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv")
    assert "FileExistsError" in capsys.readouterr().err


def test_the_c_agent_reads_chunked_replies_and_stops_at_an_http_error(run_agent):
    """Servers may answer in chunks (Java containers do, for large replies); an HTTP error is
    reported, not fed to the session as a message; a busy server's 503 with Retry-After is waited
    for and the message sent again, 3 times at most."""
    server = omadm.ServerSession("omadm-demo", username="device", password="secret", auth="md5", nonce=b"demo-nonce")
    answers = {"status": 200}

    class Chunked(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if answers.get("busy"):  # this many messages are answered 503, Retry-After 0, before one is taken
                answers["busy"] -= 1
                self.send_response(503)
                self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if answers["status"] != 200:
                self.send_error(answers["status"], "down for maintenance")
                return
            if any(e.kind == "package_end" for e in server.receive(body)) and not answers.get("asked"):
                server.get("./DevInfo/Mod")
                answers["asked"] = True
            reply = server.next_message()
            self.send_response(200)
            self.send_header("Content-Type", server.content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(reply), 100):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(reply[i:i + 100]), reply[i:i + 100]))
            self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")

    with serving(Chunked) as url:
        run = run_agent(url)
        assert run.returncode == 0, run.stderr
        assert "Get ./DevInfo/Mod: 200" in run.stdout and server.state == "ended"
        answers["status"] = 503
        run = run_agent(url)
        assert run.returncode == 1 and "the server answered HTTP 503" in run.stderr
        # A busy server (503 with Retry-After) gets the message again, 3 times at most.
        answers.update(status=200, busy=2, asked=False)
        server = omadm.ServerSession("omadm-demo", username="device", password="secret", auth="md5",
                                     nonce=b"demo-nonce")
        run = run_agent(url)
        assert run.returncode == 0 and run.stderr.count("the server is busy; again in 0 s") == 2, run.stderr
        answers["busy"] = 4
        run = run_agent(url)
        assert run.returncode == 1 and "the server answered HTTP 503, busy still" in run.stderr, run.stderr


def test_a_device_sends_again_what_a_busy_server_answered_503_or_429_after_its_retry_after():
    """`busy_retries`: a message the server is too busy for goes again after the Retry-After it
    gave, as a device does; once the retries are spent, the last answer is the error."""
    import email.utils

    busy = []  # what the server answers to the POSTs to come, before it serves them
    dm = {}

    class Busy(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if busy:
                code, retry_after = busy.pop(0)
                self.send_response(code)
                self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            dm["session"].receive(body)
            reply = dm["session"].next_message()
            self.send_response(200)
            self.send_header("Content-Type", dm["session"].content_type)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    with serving(Busy) as url:
        for retries, answers, ends in [(2, [(503, "0"), (429, past)], True), (1, [(503, "0"), (503, "0")], False)]:
            busy[:] = answers
            dm["session"] = omadm.ServerSession("srv")
            dm["session"].get("./DevInfo/Mod")
            if ends:
                events = omadm.http.device(url, omadm.MemoryTree(DEVINFO), server_id="srv", busy_retries=retries)
                assert events[-1].kind == "ended" and dm["session"].state == "ended" and not busy
            else:
                with pytest.raises(urllib.error.HTTPError) as e:
                    omadm.http.device(url, omadm.MemoryTree(DEVINFO), server_id="srv", busy_retries=retries)
                assert e.value.code == 503 and not busy
                e.value.close()
        busy[:] = [(503, "0")]
        dm["session"] = omadm.ServerSession("srv")
        r = subprocess.run([sys.executable, "-m", "omadm.cli", "device", "--server", url, "--server-id", "srv",
                            "--busy-retries", "1"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "Event(ended)" in r.stdout, r.stderr
    assert [omadm.http._retry_after(v) for v in ("7", None, "soon", "99999", past)] == [7, 1, 1, 600, 0]
    assert 28 < omadm.http._retry_after(email.utils.formatdate(time.time() + 30, usegmt=True)) <= 30


def test_a_server_takes_many_devices_connecting_at_once():
    """Devices that connect together are all served: the kernel's queue of connections waiting
    to be accepted had room for 5, and it reset some of the rest."""
    with omadm.http.Server(read_model, server_id="srv") as server:
        failures = []
        ok, failed, _ = omadm.http.devices(server.url, json.dumps(DEVINFO), count=400, concurrency=64,
                                           server_id="srv", failure=lambda device, e: failures.append(repr(e)))
        assert (ok, failed) == (400, 0), failures[:3]


def test_a_server_holding_its_most_connections_answers_one_more_503():
    """`max_connections` bounds the threads devices make a server hold: a connection past it is
    answered 503 with Retry-After and closed, before a byte of it is read."""
    import socket

    with omadm.http.Server(read_model, server_id="srv", max_connections=2) as server:
        idle = [socket.create_connection(server.httpd.server_address[:2]) for _ in range(2)]
        client = omadm.ClientSession("IMEI:1", "srv", server.url, omadm.MemoryTree(DEVINFO))
        body = client.next_message()
        with socket.create_connection(server.httpd.server_address[:2]) as one_more:
            one_more.sendall(b"POST /dm HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.syncml.dm+xml\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            answer = one_more.makefile("rb").read()
        assert answer.startswith(b"HTTP/1.1 503 ") and b"\r\nRetry-After: 30\r\n" in answer
        assert not server.sessions
        for s in idle:
            s.close()
        for _ in range(50):  # the connections' threads see them closed, and give their places back
            try:
                events = omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv")
                break
            except urllib.error.HTTPError:
                time.sleep(0.1)
        assert events[-1].kind == "ended"


def test_a_simulated_device_writes_and_shows_its_messages(tmp_path):
    """`trace_dir` (`omadm device --trace-dir`): the device's own record of its session, as the
    server writes its own, kept however the session ends; `watch` (`--show`) sees each message."""
    seen = []
    with omadm.http.Server(read_model, server_id="srv", auth="md5", username="u", password="p") as server:
        omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv", auth="md5", username="u",
                          password="p", trace_dir=str(tmp_path / "ok"),
                          watch=lambda direction, body: seen.append(direction))
        with pytest.raises(omadm.AuthError):
            omadm.http.device(server.url, omadm.MemoryTree(DEVINFO), server_id="srv", auth="md5", username="u",
                              password="wrong", trace_dir=str(tmp_path / "refused"))
        r = subprocess.run([sys.executable, "-m", "omadm.cli", "device", "--server", server.url, "--server-id", "srv",
                            "--auth", "md5", "--username", "u", "--password", "p", "--show", "--trace-dir",
                            str(tmp_path / "cli")], capture_output=True, text=True, timeout=60)
    [trace] = omadm.capture.read(tmp_path / "ok")
    assert trace.name == str(tmp_path / "ok" / "IMEI_1-1") and trace.directions == seen == ["c2s", "s2c"] * 2
    assert omadm.check(trace.messages, trace.directions) == []
    [refused] = omadm.capture.read(tmp_path / "refused")
    assert len(refused.messages) >= 4 and b"<Data>401</Data>" in refused.messages[-1]
    assert r.returncode == 0, r.stderr
    shown = [line for line in r.stdout.splitlines() if line.startswith("device ")]
    assert [line.split()[1] for line in shown] == ["->", "<-"] * 2 and "msg_id=1 Alert,Replace" in shown[0]
    assert len(omadm.capture.read(tmp_path / "cli")[0].messages) == 4
    r = subprocess.run([sys.executable, "-m", "omadm.cli", "device", "--server", "http://h/", "--show", "--count", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--show prints one device's messages" in r.stderr
