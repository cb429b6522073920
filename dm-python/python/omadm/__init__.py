"""omadm: an OMA DM 1.2.1 (SyncML DM) engine for Python.

Decode and encode captured traffic, script a DM server against a device, or simulate a device
against a server. The protocol rules live in Rust (``omadm._native``); this package adds events as
objects, context managers for Sequence and Atomic, and the ``omadm`` command-line tool.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from typing import Any, Callable, Iterator

from . import _native
from ._native import (
    AuthError,
    DecodeError,
    Error,
    Event,
    LimitError,
    MemoryTree,
    ProtocolError,
    UsageError,
    wbxml_to_xml,
    xml_to_wbxml,
)

__version__: str = _native.__version__

__all__ = [
    "Answer", "AuthError", "ClientSession", "DecodeError", "Error", "Event", "GenericAlertItem", "LimitError", "Limits",
    "MemoryTree", "Message", "Notification", "ProtocolError", "ServerSession", "UsageError", "Violation", "capture",
    "answers", "check", "decode", "notification", "wbxml_to_xml", "xml_to_wbxml",
]

_DEFAULT = _native.DEFAULT_LIMITS


@dataclass(frozen=True)
class Limits:
    """Bounds on what a peer controls; each one passed raises ``LimitError`` naming it
    (``e.limit``). Change some: ``Limits(max_message_size=64 * 1024, max_commands=200)``."""

    max_message_size: int = _DEFAULT["max_message_size"]
    """Bytes in one message (1 MiB)."""
    max_object_size: int = _DEFAULT["max_object_size"]
    """Bytes in one reassembled large object (16 MiB)."""
    max_nesting: int = _DEFAULT["max_nesting"]
    """Depth of nested Sequence/Atomic (8)."""
    max_commands: int = _DEFAULT["max_commands"]
    """Commands in one message, nested ones included (10 000)."""
    max_items: int = _DEFAULT["max_items"]
    """Items in one command (1 000)."""
    max_uri_len: int = _DEFAULT["max_uri_len"]
    """Bytes in a URI (1 024)."""
    max_text_len: int = _DEFAULT["max_text_len"]
    """Bytes of text in one element (1 MiB)."""
    max_results_size: int = _DEFAULT["max_results_size"]
    """Bytes of data in the Results a device owes at once (64 MiB); past it a Get is answered 413."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= sys.maxsize:
                raise UsageError(f"Limits.{f.name} is a count from 0 to {sys.maxsize}, not {value!r}")


def _limits(limits: Limits | None) -> list[tuple[str, int]] | None:
    return None if limits is None else list(zip((f.name for f in fields(limits)), astuple(limits)))


class Message:
    """A SyncML DM message."""

    def __init__(self, native: _native.Message) -> None:
        self._m = native

    @property
    def session_id(self) -> str:
        return self._m.session_id

    @property
    def msg_id(self) -> int:
        return self._m.msg_id

    @property
    def source(self) -> str:
        return self._m.source

    @property
    def target(self) -> str:
        return self._m.target

    @property
    def final(self) -> bool:
        return self._m.final

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The commands, each a dict: ``{"Alert": {"cmd_id": 1, "data": 1201, ...}}``."""
        return self.to_dict()["commands"]

    def to_xml(self, pretty: bool = False) -> str:
        return self._m.to_pretty_xml() if pretty else self._m.to_xml()

    def to_wbxml(self) -> bytes:
        return self._m.to_wbxml()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``Message.from_dict(m.to_dict())`` gives the same message."""
        return json.loads(self._m.to_json())

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Message":
        """The message ``to_dict`` gave. ``UsageError`` if it holds text XML cannot carry (a
        control character, U+FFFE, U+FFFF): such a value goes as bytes, ``{"Binary": [...]}``."""
        return Message(_native.Message.from_json(json.dumps(d)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return repr(self._m)


def decode(data: bytes, lenient: bool = False, limits: Limits | None = None) -> Message:
    """Decodes XML or WBXML (detected). Raises DecodeError (or LimitError) with where and why
    (``e.path``, ``e.offset``, ``e.line``, ``e.column``).

    Strictly read (the default), XML must be well-formed XML 1.0 with namespaces; lenient=True
    takes what quirky peers send (a bare `&`, text between elements, a MetInf element without its
    namespace, markup XML refuses inside Data), but never a control character outside Data.
    """
    return Message(_native.decode(data, lenient, _limits(limits)))


class _Session:
    """What both roles share: messages in and out, the state, the transport's headers, the
    nonces to keep for the next session, abort.

    Both take ``limits`` (``omadm.Limits``), ``lenient=True`` to take what real peers send that
    is not valid (as ``decode`` does), and ``accept_dm11=True`` to take DM 1.1.2 headers. A
    message the session refuses raises ``DecodeError``, ``LimitError``, ``AuthError`` or
    ``ProtocolError`` (``e.rule``, ``e.msg_id``, ``e.cmd_id``, ``e.element``) and changes nothing."""

    _s: Any

    def next_message(self) -> bytes | None:
        """The next message to send, or None when the session is over."""
        return self._s.next_message()

    def receive(self, body: bytes, hmac: str | None = None) -> list[Event]:
        """Takes the peer's message (and its x-syncml-hmac header); returns what it meant."""
        return self._s.receive(body, hmac)

    def abort(self) -> None:
        """The next message carries Alert 1223 (R15)."""
        self._s.abort()

    @property
    def state(self) -> str:
        """``ready``, ``waiting``, ``ended`` or ``aborted``."""
        return self._s.status[0]

    @property
    def content_type(self) -> str:
        return self._s.status[1]

    @property
    def hmac_header(self) -> str | None:
        """The x-syncml-hmac header of the last message, when HMAC is in use."""
        return self._s.status[2]

    @property
    def next_nonce(self) -> bytes | None:
        """The nonce the device digests with in its next session (md5): persist it."""
        return self._s.status[3]

    @property
    def next_server_nonce(self) -> bytes | None:
        """The nonce the server digests with in its next session: persist it."""
        return self._s.status[4]


class ClientSession(_Session):
    """A device: executes a server's commands against ``tree``: a MemoryTree, or any object with
    ``get(uri)`` (str, bytes, a list of child names, or None for 404), ``add``/``replace(uri, value,
    format, type)``, ``delete(uri)``, ``exec(uri, data, correlator)``, ``copy(source, target)``
    (each returning None or a status code; one outside 200-599 is answered 500); optionally
    ``begin()``, ``commit()``, ``rollback()`` (without them Atomic is 501) and
    ``get_property(uri, name)`` (str or None), ``replace_property(uri, name, value)`` for
    ``?prop=`` (without them 406). An exception in a tree method answers 500 (or its
    ``status`` attribute) and is kept in ``tree_errors``. A tree method or UI handler cannot call
    this session (UsageError): queue what it decided once ``receive`` has returned."""

    def __init__(self, device_id: str, server_id: str, server_uri: str, tree: Any = None,
                 devinfo: dict[str, str] | None = None, username: str | None = None,
                 password: str | None = None, auth: str = "none", nonce: bytes = b"",
                 session_id: str | None = None, server_initiated: bool = False, encoding: str = "xml",
                 max_msg_size: int | None = None, max_obj_size: int | None = None,
                 server_password: str | None = None, server_nonce: bytes = b"", server_auth: str = "md5",
                 notification: bytes | Any = None, limits: Limits | None = None, lenient: bool = False,
                 accept_dm11: bool = False) -> None:
        """``server_password``: the server must authenticate (``server_auth``: the scheme a
        challenge asks for; a weaker Cred is challenged). ``notification``: the package 0 that
        asked for this session (bytes, or what ``omadm.notification.parse`` gives): Alert 1200 and
        its SessionID. Given as bytes with ``server_password``, its digest is checked first (with
        ``server_nonce``, then the resync nonce; AuthError when neither matches), as R23 asks."""
        if notification is not None:
            from . import notification as package0

            n = (package0.parse(notification, server_password, server_nonce) if isinstance(notification, bytes)
                 else notification)
            if n.server_id != server_id:
                raise UsageError(f"the notification is from {n.server_id!r}, not {server_id!r}")
            session_id, server_initiated = n.session_id_hex, True
        tree = tree if tree is not None else MemoryTree()
        self._s = _native.ClientSession(
            device_id, server_id, server_uri, tree, list((devinfo or {}).items()) or None, username, password,
            auth, nonce, session_id, server_initiated, encoding, max_msg_size, max_obj_size, server_password,
            server_nonce, server_auth, _limits(limits), lenient, accept_dm11)

    @property
    def tree(self) -> Any:
        return self._s.tree

    @property
    def tree_errors(self) -> list[str]:
        return self._s.tree_errors

    def set_ui_handler(self, handler: Any) -> None:
        """Answers UI alerts (1100–1104): ``handler(code, options, text, choices)`` returns None
        (the defaults the options give), True/False (yes/no), a str (text input) or a list of
        choice numbers from 1; an exception cancels (status 214)."""
        self._s.set_ui_handler(handler)

    @property
    def respond_to(self) -> str:
        """Where to send the next message: the server's last RespURI (a path or query alone
        resolved against the URI in use), else the server URI."""
        return self._s.respond_to

    def generic_alert(self, data: str | None = None, type: str | None = None, format: str = "chr",
                      source: str | None = None, correlator: str | None = None, mark: str | None = None,
                      items: list[GenericAlertItem] | None = None) -> int:
        """Queues one Generic Alert (1226): one item from ``data``/``type``/``format``/``source``/
        ``mark``, or several from ``items``. Returns its reference."""
        return self._alert(1226, "a generic alert", correlator, items, data, type, format, source, mark)

    def client_event(self, data: str | None = None, type: str | None = None, format: str = "chr",
                     source: str | None = None, mark: str | None = None,
                     items: list[GenericAlertItem] | None = None) -> int:
        """Queues one Client Event alert (1224), which a server sees as an ``alert`` event of code
        1224: one item from ``data``/``type`` (each item's Meta Type)/``format``/``source``/
        ``mark``, or several from ``items``. Returns its reference."""
        return self._alert(1224, "a client event", None, items, data, type, format, source, mark)

    def _alert(self, code: int, what: str, correlator: str | None, items: list[GenericAlertItem] | None,
               data: str | None, type: str | None, format: str, source: str | None, mark: str | None) -> int:
        if items is None:
            if data is None or type is None:
                raise UsageError(f"{what} needs data and type, or items")
            items = [GenericAlertItem(data, type, format, source, mark)]
        return self._s.alert(code, [(i.source, i.type, i.format, i.data, i.mark) for i in items], correlator)


@dataclass(frozen=True)
class GenericAlertItem:
    """One item of a Generic Alert (or of a Client Event): the data, its type URN (``Reversed-Domain-Name: ...``),
    format, the source MO's URI, and the severity ``mark`` (``fatal``, ``critical``, ``minor``,
    ``warning``, ``informational``, ``harmless``, ``indeterminate``)."""

    data: str
    type: str
    format: str = "chr"
    source: str | None = None
    mark: str | None = None


class ServerSession(_Session):
    """A DM server session: queue commands, feed it the device's messages, read the events."""

    def __init__(self, server_id: str, username: str | None = None, password: str | None = None,
                 auth: str = "none", nonce: bytes = b"", encoding: str = "xml",
                 max_msg_size: int | None = None, max_obj_size: int | None = None,
                 server_password: str | None = None, server_nonce: bytes = b"", resp_uri: str | None = None,
                 limits: Limits | None = None, lenient: bool = False, accept_dm11: bool = False,
                 passwords: dict[str, str] | Callable[[str], str | None] | None = None) -> None:
        """``username``/``password`` is the one device's credentials; ``passwords`` finds any
        device's password by its user name (the Cred's, or the Source LocName md5 and HMAC
        devices send): a dict, or a callable returning None for a user it does not know."""
        if passwords is not None and auth == "none":
            raise UsageError("passwords needs auth basic, md5 or hmac: without it any device is taken")
        self._s = _native.ServerSession(
            server_id, username, password, auth, nonce, encoding, max_msg_size, max_obj_size, server_password,
            server_nonce, resp_uri, _limits(limits), lenient, accept_dm11, passwords)

    def get(self, uri: str) -> int:
        return self._s.get(uri)

    def command(self, command: dict[str, Any]) -> int:
        """Queues a command as it is, in ``Message.to_dict``'s shape (``{"Get": {"items": [{"target":
        {"uri": "./DevInfo/Man"}}, ...]}}``; fields left out take their defaults), for what the
        other calls do not cover: several items, Meta on the command, NoResp. Its CmdID is set
        when it is sent."""
        return self._s.command(json.dumps(command))

    def replace(self, uri: str, data: str | bytes | int | float, format: str | None = None,
                type: str | None = None) -> int:
        return self._s.replace(uri, data, format, type)

    def add(self, uri: str, data: str | bytes | int | float | None = None, format: str | None = None,
            type: str | None = None) -> int:
        return self._s.add(uri, data, format, type)

    def delete(self, uri: str) -> int:
        return self._s.delete(uri)

    def exec(self, uri: str, data: str | bytes | int | float | None = None, correlator: str | None = None) -> int:
        return self._s.exec(uri, data, correlator)

    def copy(self, source: str, target: str) -> int:
        return self._s.copy(source, target)

    def alert(self, code: int, items: list[str] | None = None) -> int:
        return self._s.alert(code, items or [])

    @contextmanager
    def sequence(self) -> Iterator[int]:
        """Commands queued inside run in order. The group is closed, and queued, however the block ends."""
        ref = self._s.begin_sequence()
        try:
            yield ref
        finally:
            self._s.end_group()

    @contextmanager
    def atomic(self) -> Iterator[int]:
        """Commands queued inside run all or none. The group is closed, and queued, however the block ends."""
        ref = self._s.begin_atomic()
        try:
            yield ref
        finally:
            self._s.end_group()

    @property
    def devinfo(self) -> dict[str, str]:
        return dict(self._s.devinfo)

    @property
    def device_id(self) -> str:
        return self._s.device_id

    def snapshot(self) -> bytes:
        return self._s.snapshot()

    @staticmethod
    def restore(data: bytes, server_id: str, **options: Any) -> "ServerSession":
        """The session ``snapshot`` saved. The snapshot does not hold the configuration: give the
        options the session was created with (credentials, auth, encoding, ...), as to the constructor.
        Bytes that are not a snapshot, or hold what no session holds, raise ``UsageError``."""
        session = ServerSession(server_id, **options)
        session._s.restore(data)
        return session


@dataclass(frozen=True)
class Violation:
    """A rule a captured session breaks: its id (R01–R22 of RULES.md, or CmdID, SyncHdrFirst,
    ResultsOrder, Ref, MetaDefaults, Decode, Cred, HTTP, Bootstrap), the index of the message, and why."""

    rule: str
    msg_index: int
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} message {self.msg_index}: {self.detail}"


def check(messages: list[bytes], directions: list[str] | None = None, *, client: tuple[str, str] | None = None,
          server: tuple[str, str] | None = None, client_nonce: bytes | None = None,
          server_nonce: bytes | None = None, hmac: list[str | None] | None = None,
          passwords: dict[str, str] | Callable[[str], str | None] | None = None) -> list[Violation]:
    """Every rule the session (messages in order) breaks. `directions`, "c2s" or "s2c" per
    message, is inferred when absent (the first message is the client's).

    Given a side's (user name, password), `client` or `server`, each Cred it sends is verified
    too (rule "Cred"): a basic one, and an md5 one against the nonce it was given last in the
    session (`client_nonce`/`server_nonce`: given before the session, for its first Cred), and
    so is each HMAC `hmac` holds (each message's x-syncml-hmac header or None, as
    `capture.Trace.hmac` keeps them), with why it does not match (a stale nonce, the
    NextNonce's base64 text digested, an empty nonce, another user); and a peer that accepted
    one that does not. Without `client`, `passwords` (a server's devices' passwords: a dict by
    user name, or a callable returning None for a user it does not know, as ServerSession takes
    them) verifies the client's Creds as the user each names (one not known is a violation too)."""
    found = _native.check(messages, directions, hmac, client, server, client_nonce, server_nonce, passwords)
    return [Violation(*v) for v in found]


@dataclass(frozen=True)
class Answer:
    """A Status or Results of a captured session (the index of its message, its CmdID) and the
    command it answers (the index of that message and the command's CmdID, 0 for the message's
    SyncHdr), or None when the session holds no such command."""

    msg_index: int
    cmd_id: int
    answers: tuple[int, int] | None


def answers(messages: list[bytes], directions: list[str] | None = None) -> list[Answer]:
    """Every Status and Results of the session (messages in order, `directions` as `check`
    takes them) paired with the command it answers, by MsgRef and CmdRef (without MsgRef: the
    message its sender received last)."""
    return [Answer(*a) for a in _native.answers(messages, directions)]


from . import bootstrap, capture, notification  # noqa: E402  (uses the names above)
from .notification import Notification  # noqa: E402
