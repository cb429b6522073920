"""`make demo`'s server script, for `omadm serve --script`: an inventory of the device.

Every command is queued first and read after, so all go in one package: the model and firmware
version, a setting replaced, a reboot run (Exec), and the device's 100 KiB log, which arrives
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
