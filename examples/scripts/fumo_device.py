"""A device with a firmware update management object (FUMO), for `omadm device --script`:
its tree is a Python object, so Exec can act. DownloadAndUpdate "installs" the package named by
PkgURL and answers 202 (accepted for processing); once the server's message is taken
(`received`), the device reports the result as a Generic Alert with the server's correlator, as
FUMO asks (a tree's callbacks cannot call the session that runs them). The user agrees to
updates (`ui`). `examples/scripts/firmware_update.py` is the server side (`omadm serve --script`).
"""

import re

import omadm

FUMO_RESULT = "Reversed-Domain-Name: org.openmobilealliance.dm.firmwareupdate.downloadandupdate"


class Device:
    """The device's tree: leaves in a dict, interior nodes listed by their children."""

    def __init__(self):
        self.reports = []  # (result code, correlator) of each update, for `received` to send
        self.nodes = {
            "./DevInfo/DevId": "IMEI:356938035643809", "./DevInfo/Man": "Acme", "./DevInfo/Mod": "Gateway",
            "./DevInfo/DmV": "1.2", "./DevInfo/Lang": "en-US", "./DevDetail/FwV": "4.2.0",
            "./FUMO/Update/PkgURL": "", "./FUMO/State": "10",
        }

    def get(self, uri):
        if uri in self.nodes:
            return self.nodes[uri]
        children = {u[len(uri) + 1:].split("/")[0] for u in self.nodes if u.startswith(uri + "/")}
        return sorted(children) or None

    def replace(self, uri, value, format, type):
        if uri not in self.nodes:
            return 404
        self.nodes[uri] = value

    def exec(self, uri, data, correlator):
        if uri != "./FUMO/Update/DownloadAndUpdate":
            return 405
        version = re.search(r"(\d+(?:\.\d+)+)\.bin$", self.nodes["./FUMO/Update/PkgURL"])
        if version:
            self.nodes["./DevDetail/FwV"] = version.group(1)
        self.nodes["./FUMO/State"] = "100" if version else "80"  # update successful / failed
        self.reports.append(("200" if version else "410", correlator))
        return 202


def tree():
    return Device()


def ui(code, options, text, choices):
    return True


def received(client: omadm.ClientSession, events):
    reports, client.tree.reports = client.tree.reports, []
    for code, correlator in reports:
        client.generic_alert(code, FUMO_RESULT, source="./FUMO/Update", correlator=correlator,
                             mark="informational" if code == "200" else "critical")
