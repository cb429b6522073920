"""`make demo`'s server script, for `omadm serve --script`: an inventory of the device.

Every command is queued first and read after, so all go in one package: the model and firmware
version, a setting replaced, a reboot run (Exec, its outcome reported later in a Generic Alert), and the device's 100 KiB log, which arrives
through large-object transfer when the server announces a small MaxMsgSize.
"""


def run(session):
    model = session.get("./DevInfo/Mod")
    firmware = session.get("./DevDetail/FwV")
    level = session.replace("./Vendor/Settings/Level", "7", format="int")
    reboot = session.exec("./Vendor/Reboot", correlator="reboot-1")
    log = session.get("./Vendor/Log")
    print(f"[inventory] {session.devinfo.get('./DevInfo/DevId')}: model {model.value!r}, firmware "
          f"{firmware.value!r}; Replace {level.status}, Exec {reboot.status}, log {len(log.value or '')} bytes",
          flush=True)
    # A device that answered the Exec 202 (accepted) reports its outcome in a Generic Alert with
    # the Exec's correlator: here in the package that answered the Exec.
    for e in session.events:
        if e.kind == "generic_alert" and e.correlator == "reboot-1":
            print(f"[inventory] reboot reported: {e.items[0]['data']} ({e.items[0]['mark']})", flush=True)
