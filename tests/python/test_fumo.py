"""Firmware update (OMA FUMO 1.0): a simulated device and a server's campaign, both ways."""

import http.server
import json
import signal
import socket
import threading

import pytest

import omadm
import omadm.capture
import omadm.fumo
import omadm.http
from conftest import cli, omadm_serve

PACKAGE = bytes(range(256)) * 40  # 10 KiB


def device_tree() -> omadm.MemoryTree:
    tree = omadm.MemoryTree()
    tree.install_devinfo("IMEI:1", "acme", "x1")
    tree.install_devdetail(fw_v="1.0")
    return tree


def campaign_run(campaign, firmware_options=None, trace_dir=None, **options):
    """A device with FUMO against a server running `campaign` (both with `options`, the server's
    messages in `trace_dir`): (the device's firmware, its tree, the server's sessions, each with
    the rules it breaks)."""
    tree = device_tree()
    firmware = omadm.fumo.Firmware(tree, **(firmware_options or {}))
    with omadm.http.Server(campaign, files=campaign.files, posts=campaign.posts, check=True, trace_dir=trace_dir,
                           **options) as server:
        omadm.http.device(server.url, tree, firmware=firmware, **options)
        for s in server.finished:
            s.wait(5)
        sessions = list(server.finished)
    return firmware, tree, sessions


def test_a_device_downloads_updates_and_reports_in_a_session_of_its_own():
    installed = []

    def install(package):
        installed.append(package)
        return 200

    campaign = omadm.fumo.Campaign(PACKAGE)
    steps = []
    firmware, tree, sessions = campaign_run(campaign, {"result": install, "version": "2.0", "log": steps.append})
    assert installed == [PACKAGE], "downloaded from the server's PkgURL"
    assert [line.split(" ")[0] for line in steps] == ["DownloadAndUpdate", "downloading", "downloaded", "installed:"]
    assert steps[2:] == [f"downloaded {len(PACKAGE)} bytes", "installed: 200 Successful"]
    started, reported = sessions
    job = started.fumo_job
    assert (job.package.status, job.status) == (200, 202), "PkgURL replaced, the Exec accepted"
    assert [r.code for r in firmware.done] == [200] and firmware.reports == [] and firmware.pending == []
    report = omadm.fumo.Report("downloadandupdate", "./FUMO/DownloadAndUpdate", 200, job.correlator)
    assert campaign.outcomes == {"IMEI:1": [report]} and campaign.waiting == {}
    assert reported.result is None and started.result is None
    assert (tree.get("./FUMO/State"), firmware.state, tree.get("./DevDetail/FwV")) == ("100", 100, "2.0")
    assert reported.server.device_id == "IMEI:1"
    alert = next(e for e in reported.events if e.kind == "generic_alert")
    assert alert.correlator == job.correlator
    assert alert.items[0]["type"] == "org.openmobilealliance.dm.firmwareupdate.downloadandupdate"
    assert (alert.items[0]["format"], alert.items[0]["mark"]) == ("int", None)
    assert [s.violations for s in sessions] == [[], []]
    assert [s.server.state for s in sessions] == ["ended", "ended"]


def test_the_fumo_object_is_the_spec_s_and_a_tree_s_own_is_kept():
    tree = device_tree()
    omadm.fumo.Firmware(tree)
    assert tree.check_ddf(omadm.fumo.DDF, "./FUMO") == []
    assert tree.to_dict()["./FUMO/State"] == {"value": "10", "format": "int", "type": "text/plain", "access": ["Get"]}
    answers = {}

    def script(session):
        answers.update(replace_state=session.replace("./FUMO/State", "50").status,
                       get_data=session.get("./FUMO/Update/PkgData").status,
                       exec_state=session.exec("./FUMO/State").status,
                       delete=session.delete("./FUMO/Download").status)

    with omadm.http.Server(script) as server:
        omadm.http.device(server.url, tree)
    assert answers == {"replace_state": 405, "get_data": 405, "exec_state": 405, "delete": 405}
    own = omadm.MemoryTree({"./Vendor/FW/State": {"value": "40", "format": "int"}})
    omadm.fumo.Firmware(own, base="./Vendor/FW")
    assert own.get("./Vendor/FW/State") == "40", "what the tree holds is left as it is"
    assert own.get("./Vendor/FW/DownloadAndUpdate") == "PkgURL"


def test_a_campaign_leaves_a_device_already_at_the_version_alone():
    campaign = omadm.fumo.Campaign(PACKAGE, version="2.0")
    firmware, tree, sessions = campaign_run(campaign, {"version": "2.0"})
    assert [r.code for r in firmware.done] == [200] and len(sessions) == 2
    tree_json = tree.to_json()
    with omadm.http.Server(campaign, files=campaign.files) as server:
        again = omadm.MemoryTree.from_json(tree_json)
        firmware = omadm.fumo.Firmware(again)
        omadm.http.device(server.url, again, firmware=firmware)
        server.finished[0].wait(5)
        assert getattr(server.finished[0], "fumo_job", None) is None
    assert firmware.done == [] and again.get("./FUMO/State") == "100"


def test_a_campaign_on_request_updates_the_devices_that_ask_for_it(capsys):
    campaign = omadm.fumo.Campaign(PACKAGE, on_request=True)
    firmware, tree, sessions = campaign_run(campaign)
    assert firmware.done == [] and len(sessions) == 1 and tree.get("./FUMO/State") == "10"
    firmware, tree, sessions = campaign_run(campaign, {"request": "device"})
    assert [r.code for r in firmware.done] == [200] and len(sessions) == 2
    assert [omadm.fumo.requests(s.events) for s in sessions] == [["devicerequest"], []], "asked in the first only"
    assert "[fumo] IMEI:1: asks for an update (devicerequest)" in capsys.readouterr().out
    assert [s.violations for s in sessions] == [[], []]
    with pytest.raises(omadm.UsageError, match="requested by the device or the user, not 'server'"):
        omadm.fumo.Firmware(device_tree(), request="server")


def test_a_campaign_sums_up_its_fleet():
    campaign = omadm.fumo.Campaign(PACKAGE)
    assert campaign.summary() == []
    for result in (200, 402, 200):
        campaign_run(campaign, {"result": result})
        campaign.outcomes[f"IMEI:{len(campaign.outcomes)}x"] = campaign.outcomes.pop("IMEI:1")
    campaign.waiting["IMEI:9"] = None  # type: ignore[assignment]
    assert campaign.summary() == ["2 devices: 200 Successful", "1 device: 402 Corrupted Firmware Update Package",
                                  "1 device: updating, no report yet"]


def test_omadm_serve_fumo_sums_up_its_campaign_when_stopped(tmp_path):
    package = tmp_path / "fw.bin"
    package.write_bytes(PACKAGE)
    with omadm_serve("--fumo", str(package)) as (server, url):
        assert cli("device", "--server", url, "--fumo").returncode == 0
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 0
        said = server.stdout.read()
    assert said.endswith("[fumo] 1 device: 200 Successful\n")


def test_an_update_that_fails_reports_its_code_and_the_state_says_so():
    campaign = omadm.fumo.Campaign(PACKAGE)
    firmware, tree, sessions = campaign_run(campaign, {"result": 402})
    assert [str(r) for r in firmware.done] == [
        "downloadandupdate ./FUMO/DownloadAndUpdate: 402 Corrupted Firmware Update Package"]
    assert tree.get("./FUMO/State") == "80" and tree.get("./DevDetail/FwV") == "1.0"
    assert sessions[-1].result == str(firmware.done[0])
    alert = next(e for e in sessions[-1].events if e.kind == "generic_alert")
    assert alert.items[0]["mark"] == "critical"


@pytest.mark.parametrize("url, code", [("ftp://example/fw.bin", 411), ("not a url", 411)])
def test_a_download_from_a_url_that_cannot_be_fetched_fails(url, code):
    firmware, tree, _ = campaign_run(omadm.fumo.Campaign(url, operation="Download"))
    assert [(r.operation, r.code) for r in firmware.done] == [("download", code)]
    assert tree.get("./FUMO/State") == "20"


def test_download_failures_are_told_apart():
    class Answers(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            code = {"/gone": 404, "/locked": 401, "/slow": 504}.get(self.path, 200)
            self.send_response(code)
            body = b"" if code != 200 else b"x" * 2000
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{closed.getsockname()[1]}/fw"
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        for path, code in (("/gone", 500), ("/locked", 406), ("/slow", 407), ("/big", 501)):
            tree = device_tree()
            firmware = omadm.fumo.Firmware(tree, max_package=1000)
            tree.set("./FUMO/Download/PkgURL", base + path)
            firmware._accept("Download", None, "c")
            assert [r.code for r in firmware.run()] == [code], path
        firmware = omadm.fumo.Firmware(device_tree())
        firmware.tree.set("./FUMO/Download/PkgURL", nobody)
        firmware._accept("Download", None, None)
        assert [r.code for r in firmware.run()] == [412]
    finally:
        httpd.shutdown()


def test_a_download_descriptor_leads_to_the_package_and_hears_how_it_went():
    installed = []
    campaign = omadm.fumo.Campaign(PACKAGE, descriptor=True)
    assert campaign.path == "/fumo/package.bin.dd"
    firmware, tree, sessions = campaign_run(campaign, {"result": lambda p: installed.append(p) or 200})
    assert installed == [PACKAGE] and [r.code for r in firmware.done] == [200]
    assert campaign.notifications == [b"900 Success"]
    assert tree.get("./FUMO/DownloadAndUpdate/PkgURL").endswith("/fumo/package.bin.dd")


def test_a_descriptor_that_does_not_fit_the_package_fails_the_download():
    sizes = {"/right.dd": len(PACKAGE), "/wrong.dd": len(PACKAGE) - 1, "/huge.dd": 10 ** 9}
    files = {path: (lambda size: lambda origin: omadm.fumo.download_descriptor(
        origin + "/fw.bin", size, origin + "/notify"))(size) for path, size in sizes.items()}
    files.update({"/fw.bin": PACKAGE, "/junk.dd": b"<html/>", "/vast.dd": b"<media>" + b" " * 70000 + b"</media>"})
    notes = []
    with omadm.http.Server(lambda session: None, files=files, posts={"/notify": notes}) as server:
        origin = server.url.rsplit("/", 1)[0]
        for path, code in (("/right.dd", 200), ("/wrong.dd", 402), ("/huge.dd", 501), ("/junk.dd", 400),
                          ("/vast.dd", 400)):
            firmware = omadm.fumo.Firmware(device_tree())
            firmware.tree.set("./FUMO/Download/PkgURL", origin + path)
            firmware._accept("Download", None, None)
            assert [r.code for r in firmware.run()] == [code], path
            assert (firmware.tree.get("./FUMO/State"), firmware.package is not None) == (
                ("40", True) if code == 200 else ("20", False))
    assert notes == [b"900 Success", b"905 Attribute mismatch", b"901 Insufficient memory"]


def test_a_download_cut_short_is_resumed_where_it_stopped():
    asked = []

    class Cutting(http.server.BaseHTTPRequestHandler):
        """Sends each answer's first half, then closes; a Range is answered from where it asks."""

        def log_message(self, *args):
            pass

        def do_GET(self):
            asked.append(self.headers.get("Range"))
            first = int((self.headers.get("Range") or "bytes=0-")[6:-1]) if self.path == "/resume" else 0
            self.send_response(206 if first else 200)
            if first:
                self.send_header("Content-Range", f"bytes {first}-{len(PACKAGE) - 1}/{len(PACKAGE)}")
            self.send_header("Content-Length", str(len(PACKAGE) - first))
            self.end_headers()
            rest = PACKAGE[first:]
            self.wfile.write(rest if self.path == "/resume" and len(asked) > 2 else rest[:len(rest) // 2])
            self.close_connection = True

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Cutting)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        for path, code, tries in (("/resume", 200, 3), ("/whole", 503, 4)):
            asked.clear()
            firmware = omadm.fumo.Firmware(device_tree())
            firmware.tree.set("./FUMO/Download/PkgURL", base + path)
            firmware._accept("Download", None, None)
            assert [r.code for r in firmware.run()] == [code], path
            assert len(asked) == tries and asked[0] is None
            if code == 200:
                assert firmware.package == PACKAGE
                assert asked[1:] == [f"bytes={len(PACKAGE) // 2}-", f"bytes={len(PACKAGE) * 3 // 4}-"]
    finally:
        httpd.shutdown()


def test_an_update_takes_the_package_the_server_writes_in_pkgdata_in_chunks():
    installed = []
    campaign = omadm.fumo.Campaign(PACKAGE, operation="Update")
    assert campaign.files == {}
    firmware, tree, sessions = campaign_run(campaign, {"result": lambda p: installed.append(p) or 200},
                                            max_msg_size=2048)
    assert installed == [PACKAGE] and [r.code for r in firmware.done] == [200]
    assert tree.get("./FUMO/State") == "100"
    assert [s.violations for s in sessions] == [[], []]


def test_an_update_with_no_package_fails_with_410():
    firmware = omadm.fumo.Firmware(device_tree())
    firmware._accept("Update", None, "c")
    assert firmware.run() == [omadm.fumo.Report("update", "./FUMO/Update", 410, "c")]


def test_reports_read_what_devices_write():
    server = omadm.ServerSession("srv")
    client = omadm.ClientSession("IMEI:1", "srv", "http://srv", device_tree())
    client.generic_alert(items=[
        omadm.GenericAlertItem("200", "Reversed-Domain-Name: org.openmobilealliance.dm.firmwareupdate.update",
                               "int", "./FUMO/Update"),
        omadm.GenericAlertItem("oops", "org.openmobilealliance.dm.firmwareupdate.download", "chr", "./FUMO/Download"),
        omadm.GenericAlertItem("disk full", "com.acme.storage"),
        omadm.GenericAlertItem("0", "org.openmobilealliance.dm.firmwareupdate.userrequest", "chr", "./FUMO")],
        correlator="j1")
    events = server.receive(client.next_message())
    found = omadm.fumo.reports(events)
    assert found == [omadm.fumo.Report("update", "./FUMO/Update", 200, "j1"),
                     omadm.fumo.Report("download", "./FUMO/Download", 409, "j1")], "a request is no report"
    assert omadm.fumo.requests(events) == ["userrequest"]
    assert [omadm.fumo.meaning(c) for c in (410, 260, 460, 560, 600)] == [
        "Firmware Update Failed", "Successful - Vendor Specified", "Client Error - Vendor Specified",
        "Alternate Download Server Error - Vendor Specified", "not a FUMO result code"]


def test_campaigns_and_updates_refuse_what_cannot_be_sent():
    with pytest.raises(omadm.UsageError, match="Update sends the package itself"):
        omadm.fumo.Campaign("http://x/fw.bin", operation="Update")
    with pytest.raises(omadm.UsageError, match="one of Download, Update, DownloadAndUpdate"):
        omadm.fumo.Campaign(PACKAGE, operation="Install")


def test_omadm_serve_fumo_updates_omadm_device_fumo_and_once_exits_on_the_report(tmp_path):
    package = tmp_path / "fw-2.0.bin"
    package.write_bytes(PACKAGE)
    for result, exit_code, *options in ((200, 0), (410, 1), (200, 0, "--fumo-descriptor")):
        with omadm_serve("--fumo", str(package), "--once", "--check", *options) as (server, url):
            device = cli("device", "--server", url, "--fumo", "--fumo-version", "2.0", "--fumo-result", str(result),
                         "--check")
            assert device.returncode == 0, device.stderr
            assert server.wait(timeout=30) == exit_code
            said = server.stdout.read()
        meaning = omadm.fumo.meaning(result)
        assert f"[fumo] downloadandupdate ./FUMO/DownloadAndUpdate: {result} {meaning}" in device.stdout.decode()
        assert device.stdout.decode().count("[check]") == 1 and "no violations" in device.stdout.decode()
        assert "DownloadAndUpdate 202 (correlator" in said and f"{result} {meaning}" in said
        assert f"./DevDetail/FwV {'2.0' if result == 200 else '1.0'}" in said
        assert said.count("session with") == 2 and "violation" in said and "1 violation" not in said
        assert ("[fumo] install notification: 900 Success" in said) == bool(options)
        assert ("[fumo] install notification: 900 Success" in device.stdout.decode()) == bool(options)
        assert "[fumo] downloading http://127.0.0.1:" in device.stdout.decode()


def test_omadm_device_asks_omadm_serve_for_an_update(tmp_path):
    package = tmp_path / "fw.bin"
    package.write_bytes(PACKAGE)
    with omadm_serve("--fumo", str(package), "--fumo-on-request", "--once") as (server, url):
        device = cli("device", "--server", url, "--fumo", "--fumo-request", "user")
        assert device.returncode == 0, device.stderr
        assert server.wait(timeout=30) == 0
        said = server.stdout.read()
    assert "asks for an update (userrequest)" in said and "200 Successful" in said
    assert b"--fumo-request asks for an update --fumo does" in cli("device", "--server", url, "--fumo-request",
                                                                   "user").stderr


def test_a_fleet_of_simulated_devices_is_updated_and_its_outcomes_counted(tmp_path):
    package = tmp_path / "fw.bin"
    package.write_bytes(PACKAGE)
    with omadm_serve("--fumo", str(package)) as (server, url):
        fleet = cli("device", "--server", url, "--fumo", "--count", "6", "--concurrency", "3")
    out = fleet.stdout.decode()
    assert fleet.returncode == 0 and "6 devices ok, 0 failed" in out, fleet.stderr
    assert "  [fumo] 6 downloadandupdate 200 Successful" in out


def test_fumo_options_that_do_not_go_together_are_refused(tmp_path):
    script = tmp_path / "device.py"
    script.write_text("import omadm.fumo\n\ndef firmware(tree):\n    return omadm.fumo.Firmware(tree)\n")
    both = cli("device", "--server", "http://x/dm", "--script", str(script), "--fumo")
    assert both.returncode == 1 and b"its firmware (firmware(tree)): --fumo gives another" in both.stderr
    two_scripts = cli("serve", "--fumo", "x", "--conformance")
    assert b"--conformance, --fumo and --dump-tree each give the server its script" in two_scripts.stderr
    assert b"not with --conformance" in cli("device", "--server", "http://x/dm", "--fumo", "--conformance").stderr
    assert b"a FUMO result code is 200-599" in cli("device", "--server", "http://x/dm", "--fumo-result", "99").stderr
    refused = cli("serve", "--fumo", "http://x/fw", "--fumo-operation", "Update")
    assert refused.returncode != 0 and b"give a file, not a URL" in refused.stderr


def test_the_updates_captured_sessions_show_are_read_back(tmp_path):
    campaign = omadm.fumo.Campaign(PACKAGE)
    for name, options in (("good", {}), ("bad", {"result": 410})):
        campaign_run(campaign, options, trace_dir=str(tmp_path / name))
    with omadm.http.Server(campaign, files=campaign.files, trace_dir=str(tmp_path / "none")) as server:
        omadm.http.device(server.url, device_tree())  # no FUMO object: 404, twice
    good, bad, none = (omadm.fumo.updates(omadm.capture.read(str(tmp_path / d))) for d in ("good", "bad", "none"))
    assert [(u.uri, u.accepted, u.report.code, u.failed) for u in good + bad] == [
        ("./FUMO/DownloadAndUpdate", 202, 200, False), ("./FUMO/DownloadAndUpdate", 202, 410, True)]
    assert good[0].correlator == good[0].report.correlator and good[0].package.endswith("/fumo/package.bin")
    assert (good[0].started_in, good[0].reported_in) == (str(tmp_path / "good" / "IMEI_1-1"),
                                                        str(tmp_path / "good" / "IMEI_1-2"))
    assert [(u.accepted, u.report, u.failed) for u in none] == [(404, None, True)]
    reported_only = omadm.fumo.updates(omadm.capture.read([str(p) for p in (tmp_path / "bad").glob("IMEI_1-2-*")]))
    assert [(u.started_in, u.report.code) for u in reported_only] == [(None, 410)]
    shown = cli("fumo", str(tmp_path / "good"), str(tmp_path / "bad"))
    lines = shown.stdout.decode().splitlines()
    assert shown.returncode == 1 and len(lines) == 2
    assert lines[0].endswith("IMEI_1-1 (correlator %s, %s): 202; reported in %s: 200 Successful" % (
        good[0].correlator, good[0].package, good[0].reported_in))
    assert lines[1].endswith(": 410 Firmware Update Failed")
    as_json = cli("fumo", "--json", str(tmp_path / "good"))
    assert as_json.returncode == 0 and json.loads(as_json.stdout)[0]["report"]["code"] == 200
    assert cli("fumo", str(tmp_path / "none")).stdout.decode().endswith("(correlator %s, %s): 404\n" % (
        none[0].correlator, none[0].package))


def test_the_c_agent_updates_its_firmware_as_a_campaign_asks(run_agent, tmp_path):
    """examples/c/agent.c accepts DownloadAndUpdate (202), fetches the package after the session
    and reports the outcome in a session of its own, with the md5 nonce the first one gave; so
    with Download and Update."""
    package = tmp_path / "fw.bin"
    package.write_bytes(PACKAGE)
    agent_options = ("--server-id", "omadm-demo", "--auth", "md5", "--username", "device", "--password", "secret",
                     "--nonce", "demo-nonce", "--check")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/fw.bin"
    for where, code, exit_code in ((str(package), 200, 0), (nowhere, 412, 1)):
        with omadm_serve("--fumo", where, "--once", *agent_options) as (server, url):
            agent = run_agent(url)
            assert agent.returncode == 0, agent.stderr
            assert server.wait(timeout=30) == exit_code
            said = server.stdout.read()
        assert "exec ./FUMO/DownloadAndUpdate (correlator " in agent.stdout
        assert f"bytes from {where if code != 200 else ''}" in agent.stdout and f": result {code}" in agent.stdout
        assert agent.stdout.count("agent: session ended") == 2
        assert f"downloadandupdate ./FUMO/DownloadAndUpdate: {code} {omadm.fumo.meaning(code)}" in said
        assert said.count("[check] IMEI:493005100592800: no violations") == 2
    # Download, and Update with the bytes in PkgData (a large object past 8 KiB): each reported
    # with its own alert type; Update installs exactly the bytes the server put.
    for operation in ("Download", "Update"):
        with omadm_serve("--fumo", str(package), "--fumo-operation", operation, "--max-msg-size", "8192", "--once",
                         *agent_options) as (server, url):
            agent = run_agent(url, valgrind=True)
            assert agent.returncode == 0, agent.stderr
            assert server.wait(timeout=60) == 0
            said = server.stdout.read()
        done = f"{len(PACKAGE)} bytes {'from http' if operation == 'Download' else 'installed'}"
        assert f"exec ./FUMO/{operation} (correlator " in agent.stdout and done in agent.stdout
        assert f"{operation.lower()} ./FUMO/{operation}: 200 Successful" in said
        assert said.count("[check] IMEI:493005100592800: no violations") == 2


def test_the_c_agent_rolls_back_a_package_put_in_an_atomic_that_failed(run_agent):
    """examples/c/agent.c keeps Update/PkgData out of its node array; an Atomic that fails puts
    the package before it back (under valgrind: the one replaced is freed only once it is over)."""
    def script(session):
        session.first = session.replace("./FUMO/Update/PkgData", PACKAGE).status
        with session.atomic() as atomic:
            session.replace("./FUMO/Update/PkgData", b"second")
            session.add("./DevInfo/Man", "taken")  # 418: the Atomic fails
        session.atomic_status = atomic.status
        session.kept = session.get("./FUMO/Update/PkgData").value
        with session.atomic() as atomic:
            session.replace("./FUMO/Update/PkgData", b"third")
        session.committed = (atomic.status, session.get("./FUMO/Update/PkgData").value)

    with omadm.http.Server(script, server_id="omadm-demo", auth="md5", username="device", password="secret",
                           nonce=b"demo-nonce") as server:
        agent = run_agent(server.url, valgrind=True)
        assert agent.returncode == 0, agent.stderr
    [s] = server.finished
    assert (s.first, s.atomic_status, s.kept) == (200, 507, PACKAGE)
    assert s.committed == (200, b"third")


def test_an_update_not_reported_is_kept_and_reported_in_the_next_run(tmp_path):
    """A device whose report session could not happen keeps the report (``keep``, ``--save-tree``'s
    FILE.fumo) and sends it in its next run's first session, as a device after a reboot."""
    kept = str(tmp_path / "device.json.fumo")
    campaign = omadm.fumo.Campaign(PACKAGE)
    with omadm.http.Server(lambda session: None, files=campaign.files) as downloads:
        tree = device_tree()
        firmware = omadm.fumo.Firmware(tree, keep=kept)
        tree.set("./FUMO/DownloadAndUpdate/PkgURL", downloads.url.replace("/dm", "/fumo/package.bin"))
        firmware._accept("DownloadAndUpdate", None, "c9")
        assert omadm.fumo.Firmware(tree, keep=kept).pending == [("DownloadAndUpdate", "c9")], "accepted, not done"
        firmware.run()  # done; the server it reports to is not there
    report = omadm.fumo.Report("downloadandupdate", "./FUMO/DownloadAndUpdate", 200, "c9")
    again = omadm.fumo.Firmware(tree, keep=kept)
    assert (again.pending, again.reports) == ([], [report])
    with omadm.http.Server(campaign, files=campaign.files) as server:
        omadm.http.device(server.url, tree, firmware=again)
    assert campaign.outcomes == {"IMEI:1": [report]} and len(server.finished) == 1, "in the first session"
    assert omadm.fumo.Firmware(tree, keep=kept).reports == [], "sent: forgotten"
    (tmp_path / "bad.fumo").write_text("[]")
    with pytest.raises(omadm.UsageError, match="bad.fumo: not the firmware's state"):
        omadm.fumo.Firmware(tree, keep=str(tmp_path / "bad.fumo"))


def test_omadm_device_save_tree_keeps_the_firmware_s_state_beside_the_tree(tmp_path):
    package, tree = tmp_path / "fw.bin", tmp_path / "device.json"
    package.write_bytes(PACKAGE)
    device_tree().save(str(tree))
    with omadm_serve("--fumo", str(package), "--once") as (server, url):
        run = cli("device", "--server", url, "--tree", str(tree), "--save-tree", "--fumo")
        assert run.returncode == 0 and server.wait(timeout=30) == 0, run.stderr
    assert json.loads((tmp_path / "device.json.fumo").read_text()) == {"pending": [], "reports": []}
    assert omadm.MemoryTree.load(str(tree)).get("./FUMO/State") == "100"
