"""Package 0: the notification that asks a device to start a session."""

from __future__ import annotations

from dataclasses import dataclass

from . import _native
from ._native import AuthError


@dataclass(frozen=True)
class Notification:
    version: int
    ui_mode: int
    server_initiated: bool
    session_id: int
    session_id_hex: str
    server_id: str
    vendor: bytes
    digest: bytes
    verified: str | None = None
    """How the digest was checked by ``parse(data, password, nonce)``: ``"nonce"`` or ``"resync"``
    (``verify``'s answers); None when no password was given."""


def build(server_id: str, password: str, nonce: bytes, session_id: int, ui_mode: int = 0,
          vendor: bytes = b"") -> bytes:
    """A notification signed with the server's id and password and the client's nonce."""
    return _native.notification_build(server_id, password, nonce, session_id, ui_mode, vendor)


def parse(data: bytes, password: str | None = None, nonce: bytes = b"") -> Notification:
    """Raises omadm.DecodeError for a bad trigger. Given the server's ``password`` (and the
    device's ``nonce`` for it), the digest is checked too, as ``verify`` does: omadm.AuthError
    when it matches neither the nonce nor the resync nonce."""
    v, ui, init, sid, hexid, server, vendor, digest = _native.notification_parse(data)
    verified = None
    if password is not None:
        verified = verify(data, password, nonce)
        if verified is None:
            raise AuthError(f"the notification from {server!r} is not signed with that password and nonce")
    return Notification(v, ui, init, sid, hexid, server, bytes(vendor), bytes(digest), verified)


def verify(data: bytes, password: str, nonce: bytes) -> str | None:
    """``"nonce"`` when the digest matches, ``"resync"`` when the 0x00000000 nonce does, else None."""
    return _native.notification_verify(data, password, nonce)


def wap_push(data: bytes, tid: int = 0) -> bytes:
    """The notification as a WAP push, as a push proxy or SMS gateway takes it: the WSP Push PDU
    (transaction id ``tid``, Content-Type 0x44, X-WAP-Application-ID x-wap-application:syncml.dm)."""
    return _native.wap_push(data, tid)


def from_wap_push(pdu: bytes) -> bytes:
    """The notification a WAP push holds (a Push or ConfirmedPush PDU of its content type, in any
    of WSP's forms); omadm.DecodeError for anything else."""
    return _native.from_wap_push(pdu)


def sms_user_data(pdu: bytes, reference: int = 0) -> list[bytes]:
    """The SMS user data a WAP push travels in, one item per SMS of at most 140 bytes: a user
    data header addressing WDP port 2948 (from 9200), and, for more than one SMS, a
    concatenation element with ``reference``."""
    return _native.sms_user_data(pdu, reference)
