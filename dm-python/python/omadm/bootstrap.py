"""Bootstrap (DM Bootstrap 1.2, the OMA DM profile): the one message that gives a device a
server's DMAcc account, before any session. It is WBXML, answered by nothing, and carries in its
Content-Type the HMAC-SHA1 of its bytes under a secret both sides hold (``SEC=NETWORKID``: one of
the network, the IMSI on a GSM or UMTS network; ``USERPIN``: a PIN the user is given;
``USERPIN_NETWORKID``: both). ``key`` gives the key each method takes from an IMSI and a PIN."""

from __future__ import annotations

from dataclasses import dataclass

from . import _native
from ._native import DecodeError, MemoryTree, UsageError

CONTENT_TYPE = "application/vnd.syncml.dm+wbxml"
SECURITIES = ("NETWORKID", "USERPIN", "USERPIN_NETWORKID")

AAUTH_TYPES = {"basic": "BASIC", "md5": "DIGEST", "hmac": "HMAC"}
"""A DMAcc AppAuth entry's AAuthType for each auth a session takes (facts §4)."""


@dataclass(frozen=True)
class Bootstrap:
    """A bootstrap message and the Content-Type it goes with (its SEC and MAC in it)."""
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Applied:
    """What a bootstrap did: the server it came from (the ServerID of its account) and the
    node of each item, in order."""
    server_id: str
    uris: list[str]


def install_account(tree: MemoryTree, server_id: str, url: str, auth: str = "none", username: str | None = None,
                    password: str | None = None, nonce: bytes = b"", server_password: str | None = None,
                    server_nonce: bytes = b"") -> None:
    """Installs the DMAcc account for the server ``server_id`` at ``url`` in ``tree``: the
    device's credentials for ``auth`` (basic, md5 or hmac; none: no entry), and the server's
    password (AAuthLevel SRVCRED) when given."""
    entries = []
    if auth != "none":
        entries.append(("CLCRED", AAUTH_TYPES[auth], username or "", password or "", nonce))
    if server_password is not None:
        entries.append(("SRVCRED", "DIGEST", server_id, server_password, server_nonce))
    tree.install_dmacc(server_id, url, auth_pref=AAUTH_TYPES.get(auth), auth=entries)


def account(server_id: str, url: str, auth: str = "none", username: str | None = None, password: str | None = None,
            server_password: str | None = None) -> MemoryTree:
    """A tree holding only the account a server bootstraps a device with (``install_account``):
    give it to ``message``, with any other node to add (``tree.set(...)``)."""
    tree = MemoryTree()
    install_account(tree, server_id, url, auth, username, password, server_password=server_password)
    return tree


def _key(key: bytes | str) -> bytes:
    return key.encode() if isinstance(key, str) else key


def key(security: str, imsi: str | None = None, pin: bytes | str | None = None) -> bytes:
    """The key of a MAC by ``security`` (one of SECURITIES): for NETWORKID the device's IMSI in
    semi-octets, as its SIM holds it; for USERPIN the PIN; for USERPIN_NETWORKID the IMSI's
    followed by the PIN. omadm.UsageError when a secret it needs is missing, or not an IMSI."""
    return _native.bootstrap_key(security, imsi, None if pin is None else _key(pin))


def message(tree: MemoryTree, server_id: str, device_id: str, key: bytes | str | None = None,
            security: str = "USERPIN", imsi: str | None = None) -> Bootstrap:
    """The bootstrap from ``server_id`` to ``device_id`` that adds each node of ``tree`` below
    its top level (an account at ./DMAcc/X as ./DMAcc/X and its nodes: ./DMAcc is the device's),
    values, secrets, Format and Type included, in one Add; its MAC by ``security`` (one of
    SECURITIES) under ``key``. With the device's ``imsi``, the key is the one ``security``
    takes from it and the PIN ``key`` then is (``bootstrap.key``); without, ``key`` is the key."""
    body, content_type = _native.bootstrap_encode(server_id, device_id, tree, security,
                                                  _mac_key(security, key, imsi))
    return Bootstrap(body, content_type)


def _mac_key(security: str, secret: bytes | str | None, imsi: str | None) -> bytes:
    if imsi is not None:
        return key(security, imsi, secret)
    if secret is None:
        raise UsageError(f"a bootstrap's MAC needs a key: the key, or the IMSI (and PIN) SEC={security} takes it from")
    return _key(secret)


def apply(tree: object, body: bytes, content_type: str = CONTENT_TYPE, key: bytes | str | None = None,
          lenient: bool = False, imsi: str | None = None) -> Applied:
    """Applies a bootstrap to ``tree`` (a MemoryTree, or a tree object with ``begin``, ``commit``
    and ``rollback``; one without is refused with omadm.UsageError) as its server would, all or
    nothing. ``body`` may be the WAP push that carried it, whose Content-Type then counts. With
    ``key``, the MAC in ``content_type`` must be the one the key gives (omadm.AuthError
    otherwise); with the device's ``imsi`` too, ``key`` is the PIN and the key the one the SEC
    of ``content_type`` takes from both (``bootstrap.key``); with neither, the caller vouches
    for the message (a transport secure of its own).
    Only Add and Replace may be in it; omadm.ProtocolError (rule ``Bootstrap``) names the item
    that failed, the tree as it was."""
    got = unwrap(body, content_type)
    server_id, uris = _native.bootstrap_apply(tree, got.body, got.content_type, _device_key(got, key, imsi), lenient)
    return Applied(server_id, uris)


def verify(data: bytes, content_type: str = CONTENT_TYPE, key: bytes | str | None = None,
           imsi: str | None = None) -> str:
    """Checks a bootstrap's MAC alone, as ``apply`` does first (``data`` bare with its
    ``content_type``, or the WAP push that carried it): with ``key``, and ``imsi`` as ``apply``
    takes them. The SEC it names; omadm.AuthError when the MAC is not the one they give (or the
    Content-Type has none), omadm.UsageError when given neither."""
    got = unwrap(data, content_type)
    mac_key = _device_key(got, key, imsi)
    if mac_key is None:
        raise UsageError("a MAC is checked with a key, or the IMSI (and PIN) its SEC takes it from")
    return _native.bootstrap_verify(got.body, got.content_type, mac_key)


def _device_key(got: Bootstrap, key: bytes | str | None, imsi: str | None) -> bytes | None:
    """The key a device checks ``got``'s MAC with: ``key`` itself, or with ``imsi`` the one
    the SEC of its Content-Type takes from both (``key`` the PIN); None with neither."""
    given = None if key is None else _key(key)
    return given if imsi is None else _native.bootstrap_device_key(got.content_type, imsi, given)


def wap_push(made: Bootstrap, tid: int = 0) -> bytes:
    """The bootstrap as a WAP push, as a push proxy or SMS gateway takes it: the WSP Push PDU
    (transaction id ``tid``) of Content-Type 0x42 with its SEC and MAC as WSP parameters
    (omadm.notification.sms_user_data gives the SMS it takes)."""
    return _native.bootstrap_wap_push(made.body, made.content_type, tid)


def from_wap_push(pdu: bytes) -> Bootstrap:
    """The bootstrap a WAP push holds, with the Content-Type (SEC and MAC) it carried;
    omadm.DecodeError for anything else."""
    body, content_type = _native.bootstrap_from_wap_push(pdu)
    return Bootstrap(body, content_type)


def unwrap(data: bytes, content_type: str = CONTENT_TYPE) -> Bootstrap:
    """A bootstrap taken out of the WAP push that holds it (its Content-Type the push's), or
    ``data`` as it is with ``content_type``."""
    try:
        return from_wap_push(data)
    except DecodeError:
        return Bootstrap(data, content_type)


def mac(key: bytes | str, body: bytes) -> str:
    """HMAC-SHA1 of ``body`` under ``key``, in hexadecimal: a bootstrap's MAC."""
    return _native.bootstrap_mac(_key(key), body)
