"""A firmware update as a DM server drives it (`omadm serve --script`), on OMA's firmware update
management object (FUMO) with `omadm.fumo`: a device that reports an update's outcome (a Generic
Alert) has it printed with its firmware version; any other is asked first (Alert 1101), then
given the package's URL and told to DownloadAndUpdate (Exec, with a correlator), which a device
accepts with 202 and reports on in a session of its own. FIRMWARE_URL says where the package is.
`examples/scripts/fumo_device.py` plays such a device (`omadm device --script`).
"""

import os

import omadm.fumo

PACKAGE = os.environ.get("FIRMWARE_URL", "http://updates.example/acme-4.3.0.bin")


def run(session):
    device = session.devinfo.get("./DevInfo/DevId")
    reports = omadm.fumo.reports(session.events)
    if reports:
        now = session.get("./DevDetail/FwV").value
        for report in reports:
            print(f"[firmware] {device}: {report}, now {now}", flush=True)
        return
    before = session.get("./DevDetail/FwV").value
    asked = session.alert(1101, ["MAXDT=30", f"Install firmware 4.3.0 (now {before})?"])
    if asked.status != 200:
        print(f"[firmware] {device}: the user declined ({asked.status})", flush=True)
        return
    job = omadm.fumo.update(session, PACKAGE)
    print(f"[firmware] {device}: {before}, DownloadAndUpdate {job.status}", flush=True)
