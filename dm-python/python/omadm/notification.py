"""Package 0: the notification that asks a device to start a session."""

from __future__ import annotations

from dataclasses import dataclass

from . import _native


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


def build(server_id: str, password: str, nonce: bytes, session_id: int, ui_mode: int = 0,
          vendor: bytes = b"") -> bytes:
    """A notification signed with the server's id and password and the client's nonce."""
    return _native.notification_build(server_id, password, nonce, session_id, ui_mode, vendor)


def parse(data: bytes) -> Notification:
    """Raises omadm.DecodeError for a bad trigger."""
    v, ui, init, sid, hexid, server, vendor, digest = _native.notification_parse(data)
    return Notification(v, ui, init, sid, hexid, server, bytes(vendor), bytes(digest))


def verify(data: bytes, password: str, nonce: bytes) -> str | None:
    """``"nonce"`` when the digest matches, ``"resync"`` when the 0x00000000 nonce does, else None."""
    return _native.notification_verify(data, password, nonce)
