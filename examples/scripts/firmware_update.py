"""A firmware update as a DM server drives it (`omadm serve --script`), in the shape of OMA's
firmware update management object (FUMO): ask the user first (Alert 1101), give the device the
package's URL, start DownloadAndUpdate (Exec, with a correlator), and read the device's result,
which arrives as a Generic Alert (1226) once it has answered the Exec with 202 (accepted).
`examples/scripts/fumo_device.py` plays such a device (`omadm device --script`).
"""

PACKAGE = "http://updates.example/acme-4.3.0.bin"
UPDATE = "./FUMO/Update"


def run(session):
    device = session.devinfo.get("./DevInfo/DevId")
    before = session.get("./DevDetail/FwV").value
    asked = session.alert(1101, ["MAXDT=30", f"Install firmware 4.3.0 (now {before})?"])
    if asked.status != 200:
        print(f"[firmware] {device}: the user declined ({asked.status})", flush=True)
        return
    session.replace(f"{UPDATE}/PkgURL", PACKAGE)
    started = session.exec(f"{UPDATE}/DownloadAndUpdate", correlator="fw-4.3.0")
    if started.status not in (200, 202):
        print(f"[firmware] {device}: DownloadAndUpdate refused ({started.status})", flush=True)
        return
    results = [e for e in session.events if e.kind == "generic_alert" and e.correlator == "fw-4.3.0"]
    outcome = results[0].items[0]["data"] if results else "no result yet (the device reports it later)"
    after = session.get("./DevDetail/FwV").value
    print(f"[firmware] {device}: {before} -> {after}, DownloadAndUpdate {started.status}, result {outcome}",
          flush=True)
