"""Firmware update over DM (OMA FUMO 1.0), both sides.

A device: `Firmware(tree)` gives a MemoryTree the FUMO object (`./FUMO` by default) and answers
a server's Exec on Download, Update or DownloadAndUpdate with 202, as a device that does the work
after the session; `run()` then does it (the package fetched from PkgURL over HTTP, or taken
from PkgData), moving State as the spec does, and `report(client)` queues the outcome as the
Generic Alert a device sends in its next session. `omadm.http.device(..., firmware=fw)` runs
those sessions; `omadm device --fumo` is the same from the command line.

A server script: `update(session, url)` points the device to a package and starts the update;
`reports(session.events)` reads the outcomes devices report (`omadm serve --fumo PACKAGE`).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import secrets
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import omadm

if TYPE_CHECKING:
    from omadm.http import Pending, ScriptSession

MO_TYPE = "urn:oma:mo:oma-fumo:1.0"
OPERATIONS = ("Download", "Update", "DownloadAndUpdate")
ALERT_TYPE = "org.openmobilealliance.dm.firmwareupdate."  # + the operation, in lower case
REQUESTS = ("devicerequest", "userrequest")  # a device asking for an update: ALERT_TYPE + one

STATES = {
    10: "Idle / Start", 20: "Download Failed", 30: "Download Progressing", 40: "Download Complete",
    50: "Ready to Update", 60: "Update Progressing", 70: "Update Failed / Have Data",
    80: "Update Failed / No Data", 90: "Update Successful / Have Data", 100: "Update Successful / No Data",
}

RESULTS = {
    200: "Successful", 400: "Management Client Error", 401: "User Cancelled",
    402: "Corrupted Firmware Update Package", 403: "Firmware Update Package - Device Mismatch",
    404: "Failed Firmware Update Package Validation", 405: "Firmware Update Package Not Acceptable",
    406: "Alternate Download Authentication Failure", 407: "Alternate Download Request Time-Out",
    408: "Not Implemented", 409: "Undefined Error", 410: "Firmware Update Failed", 411: "Malformed or Bad URL",
    412: "Alternate Download Server Unavailable", 500: "Alternate Download Server Error",
    501: "Download Fails due to Device is Out of Memory", 502: "Firmware Update Fails due to Device Out of Memory",
    503: "Download Fails due to Network Issues",
}

# OMA DL 1.0: a download descriptor, and the install notification a result code sends.
DD_TYPE = "application/vnd.oma.dd+xml"
DD_NAMESPACE = "http://www.openmobilealliance.org/xmlns/dd"
MAX_DESCRIPTOR = 64 * 1024  # bytes: a larger one is not read
RESUMES = 3  # times a download cut short is resumed
DL_STATUS = {200: "900 Success", 501: "901 Insufficient memory", 503: "903 Loss of Service",
             407: "903 Loss of Service", 412: "903 Loss of Service"}

# The object as omadm's device holds it: all three operations, AccessTypes as the spec gives them.
DDF = f"""<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
<Node><NodeName/><DFProperties><AccessType><Get/></AccessType><DFFormat><node/></DFFormat>
  <Occurrence><One/></Occurrence><DFType><DDFName>{MO_TYPE}</DDFName></DFType></DFProperties>
  <Node><NodeName>PkgName</NodeName><DFProperties><AccessType><Get/><Replace/></AccessType>
    <DefaultValue></DefaultValue><DFFormat><chr/></DFFormat><Occurrence><ZeroOrOne/></Occurrence></DFProperties></Node>
  <Node><NodeName>PkgVersion</NodeName><DFProperties><AccessType><Get/><Replace/></AccessType>
    <DefaultValue></DefaultValue><DFFormat><chr/></DFFormat><Occurrence><ZeroOrOne/></Occurrence></DFProperties></Node>
  <Node><NodeName>Download</NodeName><DFProperties><AccessType><Exec/><Get/></AccessType><DFFormat><node/></DFFormat>
    <Occurrence><One/></Occurrence></DFProperties>
    <Node><NodeName>PkgURL</NodeName><DFProperties><AccessType><Get/><Replace/></AccessType><DFFormat><chr/></DFFormat>
      <Occurrence><One/></Occurrence></DFProperties></Node></Node>
  <Node><NodeName>Update</NodeName><DFProperties><AccessType><Exec/><Get/></AccessType><DFFormat><node/></DFFormat>
    <Occurrence><One/></Occurrence></DFProperties>
    <Node><NodeName>PkgData</NodeName><DFProperties><AccessType><Replace/></AccessType><DFFormat><bin/></DFFormat>
      <Occurrence><One/></Occurrence></DFProperties></Node></Node>
  <Node><NodeName>DownloadAndUpdate</NodeName><DFProperties><AccessType><Exec/><Get/></AccessType>
    <DFFormat><node/></DFFormat><Occurrence><One/></Occurrence></DFProperties>
    <Node><NodeName>PkgURL</NodeName><DFProperties><AccessType><Get/><Replace/></AccessType><DFFormat><chr/></DFFormat>
      <Occurrence><One/></Occurrence></DFProperties></Node></Node>
  <Node><NodeName>State</NodeName><DFProperties><AccessType><Get/></AccessType><DefaultValue>10</DefaultValue>
    <DFFormat><int/></DFFormat><Occurrence><One/></Occurrence></DFProperties></Node>
</Node></MgmtTree>"""


def _descriptor(data: bytes) -> dict[str, str]:
    """A download descriptor's fields by name (``objectURI``, ``size``, ``installNotifyURI``,
    ...); none when it is not one."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return {}
    if root.tag not in ("media", f"{{{DD_NAMESPACE}}}media"):
        return {}
    return {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in root}


def download_descriptor(object_uri: str, size: int, install_notify_uri: str | None = None,
                        name: str = "firmware") -> bytes:
    """A download descriptor (OMA DL 1.0) for a package, served as ``DD_TYPE``."""
    notify = f"<installNotifyURI>{escape(install_notify_uri)}</installNotifyURI>" if install_notify_uri else ""
    return (f'<?xml version="1.0"?><media xmlns="{DD_NAMESPACE}"><DDVersion>1.0</DDVersion>'
            f"<name>{escape(name)}</name><size>{size}</size><type>application/octet-stream</type>"
            f"<objectURI>{escape(object_uri)}</objectURI>{notify}</media>").encode()


def meaning(code: int) -> str:
    """What a FUMO result code says."""
    if code in RESULTS:
        return RESULTS[code]
    for low, what in ((250, "Successful - Vendor Specified"), (450, "Client Error - Vendor Specified"),
                      (550, "Alternate Download Server Error - Vendor Specified")):
        if low <= code < low + 50:
            return what
    return "not a FUMO result code"


def succeeded(code: int) -> bool:
    """200, or a vendor's 250-299."""
    return code == 200 or 250 <= code < 300


@dataclass(frozen=True)
class Report:
    """The outcome of one update operation, as its Generic Alert carries it: the operation
    (``download``, ``update``, ``downloadandupdate``), the node the Exec was on, the result code
    and the Exec's correlator."""

    operation: str
    uri: str | None
    code: int
    correlator: str | None

    def __str__(self) -> str:
        return f"{self.operation} {self.uri or '?'}: {self.code} {meaning(self.code)}"


class Firmware:
    """A simulated device's firmware, updated as FUMO says. The object is made at ``base``
    where the tree does not hold it (State 10, Idle; any server may Get, Replace and Exec). An
    Exec on an operation is answered 202 and kept in `pending`, the State moving to 30 (a
    download) or 60 (an update); `run()` does what is pending. A download fetches PkgURL (HTTP
    or HTTPS, ``tls`` for the latter, at most ``max_package`` bytes); an update installs the
    package downloaded, or else PkgData. Its result is ``result``, or ``result(package)`` when
    callable (200 by default; 250-299 also succeed), and a successful update sets
    ./DevDetail/FwV to ``version`` when given. ``log(line)`` hears each step. With ``request``
    ("device" or "user") the device asks for an update in its first session (`begin`). With
    ``keep`` (a file), what is accepted and not done, and done and not reported, outlives the
    run, as on a device that reboots: the next run does it, and reports in its first session."""

    def __init__(self, tree: omadm.MemoryTree, base: str = "./FUMO", result: int | Callable[[bytes], int] = 200,
                 version: str | None = None, tls: ssl.SSLContext | None = None, timeout: float = 30,
                 max_package: int = 64 * 1024 * 1024, log: Callable[[str], Any] | None = None,
                 request: str | None = None, keep: str | None = None) -> None:
        if request not in (None, "device", "user"):
            raise omadm.UsageError(f"an update is requested by the device or the user, not {request!r}")
        self.tree, self.base, self.result, self.version = tree, base.rstrip("/"), result, version
        self.request = request
        self.log = log or (lambda line: None)
        self.tls, self.timeout, self.max_package = tls, timeout, max_package
        self.pending: list[tuple[str, str | None]] = []  # (operation, correlator), in the order accepted
        self.reports: list[Report] = []  # done, not yet sent
        self.done: list[Report] = []  # all done
        self.package: bytes | None = None  # downloaded, not yet installed
        self.keep = keep
        if keep is not None and os.path.exists(keep):  # what an earlier run left to do or to report
            try:
                with open(keep) as f:
                    kept = json.load(f)
                self.pending = [(str(op), c) for op, c in kept["pending"]]
                self.reports = [Report(*r) for r in kept["reports"]]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise omadm.UsageError(f"{keep}: not the firmware's state ({e})") from None
        made = tree.get(self.base) is None
        tree.set_ddf(DDF, self.base)
        if made:  # any server may start an update
            tree.set_acl(self.base, "Get=*&Replace=*&Exec=*")
        for operation in OPERATIONS:
            tree.on_exec(f"{self.base}/{operation}", functools.partial(self._accept, operation))

    @property
    def state(self) -> int:
        return int(self.tree.get(f"{self.base}/State") or 10)

    def _set_state(self, state: int) -> None:
        self.tree.set(f"{self.base}/State", str(state), format="int")

    def _accept(self, operation: str, data: bytes | None, correlator: str | None) -> int:
        self.log(f"{operation} accepted (202), correlator {correlator or '-'}: done after the session")
        self.pending.append((operation, correlator))
        self._set_state(60 if operation == "Update" else 30)
        self._save()
        return 202

    def _save(self) -> None:
        """Keeps what is to do and to report in ``keep``, as a device keeps it across a reboot."""
        if self.keep is not None:
            with open(self.keep, "w") as f:
                json.dump({"pending": self.pending, "reports": [dataclasses.astuple(r) for r in self.reports]}, f)

    def sent(self) -> None:
        """The reports went out in a session that ended well: forgotten."""
        self.reports.clear()
        self._save()

    def run(self) -> list[Report]:
        """Does each pending operation; returns their reports, also kept in `reports` until sent."""
        done = []
        while self.pending:
            operation, correlator = self.pending.pop(0)
            code = self._download(operation) if operation != "Update" else 200
            if operation != "Download" and succeeded(code):
                code = self._update()
            done.append(Report(operation.lower(), f"{self.base}/{operation}", code, correlator))
        self.reports.extend(done)
        self.done.extend(done)
        self._save()
        return done

    def _download(self, operation: str) -> int:
        self._set_state(30)
        self.package = None
        url = str(self.tree.get(f"{self.base}/{operation}/PkgURL") or "")
        self.log(f"downloading {url or 'nothing (no PkgURL)'}")
        code = self._fetch(url)
        self._set_state(40 if succeeded(code) else 20)
        self.log(f"downloaded {len(self.package or b'')} bytes" if succeeded(code) else
                 f"download failed: {code} {meaning(code)}")
        return code

    def _fetch(self, url: str) -> int:
        """Downloads the package at ``url`` into `package`, through the download descriptor
        (OMA DL) served there if it is one; the result code."""
        code, data, is_descriptor = self._get(url)
        if code != 200 or not is_descriptor:
            self.package = data if code == 200 else None
            return code
        dd = _descriptor(data) if len(data) <= MAX_DESCRIPTOR else {}
        size = int(dd["size"]) if dd.get("size", "").isdigit() else None
        if "objectURI" not in dd:
            code, status = 400, "906 Invalid descriptor"
        elif size is not None and size > self.max_package:
            code, status = 501, "901 Insufficient memory"
        else:
            self.log(f"a download descriptor: {dd['objectURI']}, {size if size is not None else '?'} bytes")
            code, data, _ = self._get(urllib.parse.urljoin(url, dd["objectURI"]))
            if code == 200 and size is not None and len(data) != size:
                code, status = 402, "905 Attribute mismatch"
            else:
                status = DL_STATUS.get(code, "952 Device Aborted")
                self.package = data if code == 200 else None
        if "installNotifyURI" in dd:
            self.log(f"install notification: {status}")
            self._notify(urllib.parse.urljoin(url, dd["installNotifyURI"]), status)
        return code

    def _get(self, url: str) -> tuple[int, bytes, bool]:
        """A GET of ``url``: the result code, the body, whether it is a download descriptor. A
        body cut short (fewer bytes than its Content-Length) is resumed where it stopped (a
        Range), up to `RESUMES` times; a server that sends it whole again starts it over."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return 411, b"", False
        data = b""
        for _ in range(RESUMES + 1):
            resume = {"Range": f"bytes={len(data)}-"} if data else {}
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=resume), timeout=self.timeout,
                                            context=self.tls) as answer:
                    if answer.status != 206 or not (answer.headers.get("Content-Range") or "").startswith(
                            f"bytes {len(data)}-"):
                        data = b""
                    is_descriptor = answer.headers.get_content_type() == DD_TYPE
                    length = answer.headers.get("Content-Length") or ""
                    due = len(data) + int(length) if length.isdigit() else None
                    data += answer.read(self.max_package + 1 - len(data))
            except urllib.error.HTTPError as e:
                return 406 if e.code in (401, 403, 407) else 407 if e.code in (408, 504) else 500, b"", False
            except (TimeoutError, socket.timeout):
                return 407, b"", False
            except urllib.error.URLError as e:
                return 407 if isinstance(e.reason, (TimeoutError, socket.timeout)) else 412, b"", False
            except (OSError, ValueError):
                return 503, b"", False
            if len(data) > self.max_package:
                return 501, b"", False
            if due is None or len(data) >= due:
                return 200, data, is_descriptor
        return 503, b"", False  # cut short every time

    def _notify(self, url: str, status: str) -> None:
        """The install notification OMA DL asks for (``900 Success``, ...); lost if it cannot go."""
        try:
            request = urllib.request.Request(url, status.encode(), {"Content-Type": "text/plain"}, method="POST")
            urllib.request.urlopen(request, timeout=self.timeout, context=self.tls).close()
        except (OSError, ValueError):
            pass

    def _update(self) -> int:
        package = self.package if self.package is not None else self.tree.get(f"{self.base}/Update/PkgData")
        self._set_state(60)
        if not isinstance(package, bytes) or not package:
            code = 410  # nothing to install
        else:
            code = self.result(package) if callable(self.result) else self.result
        self.package = None
        self._set_state(100 if succeeded(code) else 80)
        self.log(f"installed: {code} {meaning(code)}")
        if succeeded(code) and self.version is not None:
            self.tree.set("./DevDetail/FwV", self.version)
        return code

    def begin(self, client: omadm.ClientSession) -> None:
        """What a device's first session carries: the reports an earlier run could not send, and
        a request for an update (`request`) when told to (``request``)."""
        self.report(client)
        if self.request is not None:
            request(client, self.base, self.request == "user")

    def report(self, client: omadm.ClientSession) -> None:
        """Queues each report not yet sent as a Generic Alert of the session (its ``setup``)."""
        for r in self.reports:
            client.generic_alert(str(r.code), ALERT_TYPE + r.operation, "int", r.uri, r.correlator,
                                 None if succeeded(r.code) else "critical")


def request(client: omadm.ClientSession, base: str = "./FUMO", user: bool = False) -> None:
    """Queues the Generic Alert a device sends to ask its server for an update (in package 1,
    from a session's ``setup``): the device's own (``devicerequest``) or its user's
    (``userrequest``), on ``BASE/DownloadAndUpdate``."""
    client.generic_alert("0", ALERT_TYPE + REQUESTS[user], "chr", f"{base.rstrip('/')}/DownloadAndUpdate")


@dataclass(frozen=True)
class Job:
    """An update a server started: the correlator the device's report will carry, and the
    device's answers to the package's Replace and to the Exec."""

    correlator: str
    package: Pending
    exec: Pending

    @property
    def status(self) -> int:
        """The Replace's status where it failed, else the Exec's: 202 when the device accepted
        the update (its result comes in a later session), 200 when it is done."""
        status = self.package.status
        return status if not 200 <= status < 300 else self.exec.status


def update(session: ScriptSession, package: str | bytes, base: str = "./FUMO", operation: str = "DownloadAndUpdate",
           correlator: str | None = None) -> Job:
    """Starts an update on the device of a server script's session: the package's URL into
    ``BASE/OPERATION/PkgURL`` (Download, DownloadAndUpdate) or its bytes into
    ``BASE/Update/PkgData`` (Update), then Exec on ``BASE/OPERATION`` with ``correlator`` (a new
    one by default)."""
    _known(operation)
    if (operation == "Update") != isinstance(package, bytes):
        raise omadm.UsageError("Update takes the package's bytes (PkgData); Download and DownloadAndUpdate its URL")
    node = f"{base.rstrip('/')}/{operation}"
    correlator = correlator or secrets.token_hex(6)
    sent = session.replace(f"{node}/PkgData", package) if isinstance(package, bytes) else \
        session.replace(f"{node}/PkgURL", package)
    return Job(correlator, sent, session.exec(node, correlator=correlator))


def _known(operation: str) -> None:
    if operation not in OPERATIONS:
        raise omadm.UsageError(f"a FUMO operation is one of {', '.join(OPERATIONS)}, not {operation!r}")


def reports(events: list[Any]) -> list[Report]:
    """The FUMO outcomes in a session's Generic Alerts (``session.events``), each item a report;
    a type written ``Reversed-Domain-Name: ...`` is read too. A result that is not a number is
    409 (Undefined Error)."""
    return [r for e in events if e.kind == "generic_alert" for item in e.items
            if (r := _report(item.get("type"), item.get("data"), item.get("uri"), e.correlator))]


def requests(events: list[Any]) -> list[str]:
    """The updates a device asks for in a session's Generic Alerts: ``devicerequest`` (the
    device's own), ``userrequest`` (its user's), one for each."""
    return [kind for e in events if e.kind == "generic_alert" for item in e.items
            if (kind := _fumo_type(item.get("type"))) in REQUESTS]


def _fumo_type(kind: Any) -> str:
    """A Generic Alert item's FUMO alert type after ``org.openmobilealliance.dm.firmwareupdate.``
    (``downloadandupdate``, ``devicerequest``, ...), or "" for another."""
    kind = str(kind or "").removeprefix("Reversed-Domain-Name:").strip()
    return kind.removeprefix(ALERT_TYPE) if kind.startswith(ALERT_TYPE) else ""


def _report(kind: Any, data: Any, uri: str | None, correlator: str | None) -> Report | None:
    """A Generic Alert item's FUMO report, if it is one."""
    operation = _fumo_type(kind)
    if operation not in (o.lower() for o in OPERATIONS):
        return None
    data = str(data or "").strip()
    return Report(operation, uri, int(data) if data.isdigit() else 409, correlator)


class Campaign:
    """A server script that updates each device that connects (``omadm.http.Server(campaign,
    files=campaign.files)``, ``omadm serve --fumo PACKAGE``). A device that reports an outcome
    (a FUMO Generic Alert in its session) has it printed and kept in `outcomes`, with its
    ./DevDetail/FwV read after; any other is sent `update` and kept in `waiting` while its
    Exec is accepted (202). ``package`` is a URL, or bytes: for Update they go in PkgData; for
    the others the server serves them at ``path`` (in `files`) and the device is pointed there,
    at the server as it reached it; with ``descriptor`` to a download descriptor (OMA DL) for
    them, whose install notifications (`posts`) are kept in `notifications`. Given the package's
    ``version``, a device whose ./DevDetail/FwV is that already is left alone; with
    ``on_request``, so is one that does not ask for an update (`requests`). A script's result
    is what went wrong: a failed outcome, a refused update. A session that started an update
    (accepted, 202) holds its `Job` as ``fumo_job``."""

    def __init__(self, package: str | bytes, base: str = "./FUMO", operation: str = "DownloadAndUpdate",
                 path: str = "/fumo/package.bin", descriptor: bool = False, version: str | None = None,
                 on_request: bool = False) -> None:
        _known(operation)
        if operation == "Update" and not isinstance(package, bytes):
            raise omadm.UsageError("Update sends the package itself (PkgData): give its bytes, not a URL")
        if descriptor and not (isinstance(package, bytes) and operation != "Update"):
            raise omadm.UsageError("a download descriptor is for a package this server serves for a download")
        self.package, self.base, self.operation, self.path, self.version = package, base, operation, path, version
        self.on_request = on_request
        self.files: dict[str, bytes | Callable[[str], bytes]] = {}
        self.posts: dict[str, list[bytes]] = {}
        self.notifications: list[bytes] = []  # install notifications (OMA DL), as they came
        self._told = 0  # of them printed
        if isinstance(package, bytes) and operation != "Update":
            self.files[path] = package
        if descriptor and isinstance(package, bytes):
            self.files[path + ".dd"] = lambda origin: download_descriptor(origin + path, len(package),
                                                                          origin + path + ".notify")
            self.posts[path + ".notify"] = self.notifications
            self.path = path + ".dd"
        self.waiting: dict[str, Job] = {}
        self.outcomes: dict[str, list[Report]] = {}

    def __call__(self, session: ScriptSession) -> str | None:
        device = session.device or "the device"
        found = reports(session.events)
        if found:
            self.waiting.pop(device, None)
            self.outcomes[device] = found
            version = session.get("./DevDetail/FwV")
            for r in found:
                print(f"[fumo] {device}: {r}", flush=True)
            while self._told < len(self.notifications):  # those that came since
                note = self.notifications[self._told].decode(errors="replace")
                print(f"[fumo] install notification: {note}", flush=True)
                self._told += 1
            print(f"[fumo] {device}: ./DevDetail/FwV {version.value if version.status == 200 else version.status}",
                  flush=True)
            failed = [r for r in found if not succeeded(r.code)]
            return f"{failed[0]}" if failed else None
        asked = requests(session.events)
        for kind in asked:
            print(f"[fumo] {device}: asks for an update ({kind})", flush=True)
        if self.on_request and not asked:
            return None
        if self.version is not None:
            now = session.get("./DevDetail/FwV")
            if now.status == 200 and now.value == self.version:
                print(f"[fumo] {device}: already at {self.version}", flush=True)
                return None
        package = self.package if self.operation == "Update" or isinstance(self.package, str) else \
            session.origin + self.path
        job = update(session, package, self.base, self.operation)
        print(f"[fumo] {device}: {self.operation} {job.status} (correlator {job.correlator})", flush=True)
        if job.status == 202:
            self.waiting[device] = session.fumo_job = job  # type: ignore[attr-defined]
            return None
        return None if job.status == 200 else f"{self.operation} refused: {job.status}"


    def summary(self) -> list[str]:
        """The campaign so far, a line each: how many devices reported each outcome (their last
        report), and how many are updating with no report yet."""
        outcomes = collections.Counter(f"{r.code} {meaning(r.code)}" for found in self.outcomes.values()
                                       for r in found[-1:])
        lines = [f"{n} {'device' if n == 1 else 'devices'}: {outcome}" for outcome, n in outcomes.most_common()]
        if self.waiting:
            lines.append(f"{len(self.waiting)} {'device' if len(self.waiting) == 1 else 'devices'}: updating, "
                         "no report yet")
        return lines


@dataclass
class Update:
    """One update as captured sessions show it: the device, the operation's node, the Exec's
    correlator; where it started (the session, the PkgURL the server gave in it, the device's
    answer to the Exec) and the outcome the device reported (the session, the `Report`), each
    None where the capture does not show it."""

    device: str
    uri: str
    correlator: str | None = None
    started_in: str | None = None
    package: str | None = None
    accepted: int | None = None
    reported_in: str | None = None
    report: Report | None = None

    @property
    def failed(self) -> bool:
        """Refused, or reported as failed."""
        refused = self.accepted is not None and self.accepted not in (200, 202)
        return refused or (self.report is not None and not succeeded(self.report.code))

    def __str__(self) -> str:
        said = [f"{self.device}: {self.uri}"]
        if self.started_in is not None:
            answer = self.accepted if self.accepted is not None else "no answer"
            said.append(f"started in {self.started_in} (correlator {self.correlator or '-'}, "
                        f"{self.package or 'no PkgURL'}): {answer}")
        if self.report is not None:
            said.append(f"reported in {self.reported_in}: {self.report.code} {meaning(self.report.code)}")
        elif self.accepted == 202:
            said.append("no report yet")
        return "; ".join(said)


def updates(traces: list[omadm.capture.Trace]) -> list[Update]:
    """The updates captured sessions show (``omadm.capture.read``, in the order they ran): each
    Exec a server sent on a FUMO operation (a node named Download, Update or DownloadAndUpdate),
    with the PkgURL it replaced in that session and the device's answer, joined to the report
    the device sent in a later session by correlator (else by node); a report of an update not
    captured is one too."""
    found: list[Update] = []
    for trace in traces:
        messages = [_decoded(m) for m in trace.messages]
        directions = trace.directions or ["c2s" if i % 2 == 0 else "s2c" for i in range(len(messages))]
        device = next((m.source for m, d in zip(messages, directions) if m is not None and d == "c2s"), trace.name)
        codes = _statuses(trace, messages)
        urls: dict[str, str] = {}
        for index, (message, direction) in enumerate(zip(messages, directions)):
            for name, command in _commands(message.commands if message is not None else []):
                if direction == "s2c" and name == "Replace":
                    urls.update((uri.rpartition("/")[0], str(_text(item))) for item in command.get("items", [])
                                if (uri := (item.get("target") or {}).get("uri", "")).endswith("/PkgURL"))
                elif direction == "s2c" and name == "Exec":
                    for item in command.get("items", []):
                        uri = (item.get("target") or {}).get("uri", "")
                        if uri.rpartition("/")[2] in OPERATIONS:
                            found.append(Update(device, uri, command.get("correlator"), trace.name, urls.get(uri),
                                                codes.get((index, command.get("cmd_id", 0)))))
                elif direction == "c2s" and name == "Alert" and str(command.get("data")) == "1226":
                    for item in command.get("items", []):
                        report = _report((item.get("meta") or {}).get("type_"), _text(item),
                                         (item.get("source") or {}).get("uri"), command.get("correlator"))
                        _join(found, device, trace.name, report)
    return found


def _decoded(body: bytes) -> omadm.Message | None:
    try:
        return omadm.decode(body, lenient=True)
    except omadm.Error:
        return None


def _statuses(trace: omadm.capture.Trace, messages: list[omadm.Message | None]) -> dict[tuple[int, int], int]:
    """The status each command of the session got, by (its message's index, its CmdID)."""
    codes = {}
    for a in omadm.answers(trace.messages, trace.directions or None):
        message = messages[a.msg_index]
        status = next((c["Status"] for c in message.commands if "Status" in c and c["Status"]["cmd_id"] == a.cmd_id),
                      None) if message is not None else None
        if a.answers is not None and status is not None:
            codes[a.answers] = int(status["data"])
    return codes


def _commands(commands: list[dict[str, Any]]) -> Any:
    """Each command (name, fields), those in Sequence and Atomic too."""
    for command in commands:
        for name, fields in command.items():
            yield name, fields
            yield from _commands(fields.get("commands", []) if isinstance(fields, dict) else [])


def _text(item: dict[str, Any]) -> Any:
    data = item.get("data") or {}
    return next(iter(data.values()), None) if isinstance(data, dict) else data


def _join(found: list[Update], device: str, session: str, report: Report | None) -> None:
    """A report, to the update it reports on: the device's last unreported one with its
    correlator, else on its node; or an update of its own."""
    if report is None:
        return
    waiting = [u for u in found if u.device == device and u.report is None and u.started_in is not None]
    update = next((u for u in reversed(waiting) if report.correlator and u.correlator == report.correlator), None) \
        or next((u for u in reversed(waiting) if u.uri == report.uri), None)
    if update is None:
        update = Update(device, report.uri or "?", report.correlator)
        found.append(update)
    update.reported_in, update.report = session, report
