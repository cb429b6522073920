"""Package 0: the notification that asks a device to start a session."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from . import _native, bootstrap
from ._native import AuthError, DecodeError

PUSH_PORT = 2948
"""The WDP port of connectionless WAP push: over UDP on an IP network, as in an SMS."""


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


def unwrap(data: bytes) -> bytes:
    """A notification, bare or taken out of the WAP push that holds it (as captured from a push
    proxy or an SMS, or received over UDP); omadm.DecodeError for anything else (the bare
    notification's error)."""
    try:
        _native.notification_parse(data)
        return data
    except DecodeError as bare:
        try:
            inner = from_wap_push(data)
        except DecodeError:
            raise bare from None
    _native.notification_parse(inner)  # a push of package 0's type that holds none is no notification
    return inner


def send(data: bytes, host: str = "127.0.0.1", port: int = PUSH_PORT) -> int:
    """Pushes a notification (bare: it goes in a WAP push) to a device on an IP network: one UDP
    datagram, a connectionless WSP Push PDU, to its WDP push port. Returns the bytes sent."""
    bare = unwrap(data)
    pdu = wap_push(bare) if bare is data else data
    return send_push(pdu, host, port)


def send_push(pdu: bytes, host: str = "127.0.0.1", port: int = PUSH_PORT) -> int:
    """Sends a WAP push (a WSP Push PDU) as it is: one UDP datagram to ``host``:``port``."""
    with _udp_socket(host, port) as s:
        return s.sendto(pdu, (host, port))


def _udp_socket(host: str, port: int) -> socket.socket:
    """A UDP socket of the address family `host` is in (IPv4 or IPv6)."""
    return socket.socket(socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0], socket.SOCK_DGRAM)


@dataclass
class Listener:
    """Where a device on an IP network receives package 0 (and a bootstrap, ``receive_push``):
    WAP pushes in UDP datagrams to ``port`` (WDP's push port, 2948, by default; 0 picks a free
    one). A datagram that holds no notification is dropped, as a device drops it, and kept in
    ``dropped`` with why."""

    host: str = "127.0.0.1"
    port: int = PUSH_PORT
    dropped: list[tuple[tuple[str, int], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._socket = _udp_socket(self.host, self.port)
        self._socket.bind((self.host, self.port))
        self.port = self._socket.getsockname()[1]

    def receive(self, timeout: float | None = None) -> tuple[bytes, tuple[str, int]]:
        """The next notification pushed, out of its WAP push (for ``parse``), and who sent it;
        TimeoutError when none came within ``timeout`` seconds."""
        while True:
            got, sender = self.receive_push(timeout)
            if isinstance(got, bytes):
                return got, sender
            self.dropped.append((sender, "a bootstrap, not a notification"))

    def receive_push(self, timeout: float | None = None) -> tuple[bytes | bootstrap.Bootstrap, tuple[str, int]]:
        """The next notification (bytes, out of its WAP push) or bootstrap (its body and the
        Content-Type with SEC and MAC the push carried) pushed, and who sent it."""
        self._socket.settimeout(timeout)
        while True:
            pdu, sender = self._socket.recvfrom(65535)
            try:
                return unwrap(pdu), sender[:2]
            except DecodeError as e:
                try:
                    return bootstrap.from_wap_push(pdu), sender[:2]
                except DecodeError:
                    self.dropped.append((sender[:2], str(e)))

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
