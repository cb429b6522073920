"""A device with a firmware update management object (FUMO), for `omadm device --script`: its
firmware is an `omadm.fumo.Firmware` (`firmware(tree)`), which answers the server's Exec with
202, downloads the package from PkgURL after the session, checks it as a device checks a
package's signature (here: it must be Acme's 4.3.0) and reports the outcome in a session of its
own, as FUMO asks. The user agrees to updates (`ui`).
`examples/scripts/firmware_update.py` is the server side (`omadm serve --script`).
"""

import omadm
import omadm.fumo


def tree():
    t = omadm.MemoryTree()
    t.install_devinfo("IMEI:356938035643809", "Acme", "Gateway")
    t.install_devdetail(fw_v="4.2.0", dev_typ="gateway", oem="Acme")
    return t


def check(package: bytes) -> int:
    """200 for Acme's 4.3.0, 402 (Corrupted Firmware Update Package) for anything else."""
    return 200 if package.startswith(b"ACME 4.3.0\n") else 402


def firmware(tree):
    return omadm.fumo.Firmware(tree, result=check, version="4.3.0")


def ui(code, options, text, choices):
    return True
