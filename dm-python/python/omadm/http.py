"""HTTP glue, standard library only: a DM server that runs a script against each device, and a
simulated device.

A server script is a function ``run(session)`` that reads naturally::

    def run(session):
        model = session.get("./DevInfo/Mod").value    # blocks until the device answered
        session.replace("./Vendor/Level", "1")

Each device session runs its script in a thread of its own; many run at once.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import itertools
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Iterator

import omadm
from omadm.bootstrap import AAUTH_TYPES

if TYPE_CHECKING:
    import omadm.fumo

CONTENT_TYPES = {
    "application/vnd.syncml.dm+xml", "application/vnd.syncml.dm+wbxml",
    "application/vnd.syncml+xml", "application/vnd.syncml+wbxml",
}


class Pending:
    """A queued command: ``status`` and ``value`` (its first result item, or the answer to a UI
    alert) block until answered."""

    def __init__(self, owner: "ScriptSession", reference: int) -> None:
        self._owner, self.reference = owner, reference
        self._status: int | None = None
        self._seen: int | None = None
        self._items: list[dict[str, Any]] = []

    def _wait(self) -> None:
        self._owner._wait_for(lambda: self._status is not None)

    @property
    def status(self) -> int:
        self._wait()
        assert self._status is not None
        return self._status

    @property
    def items(self) -> list[dict[str, Any]]:
        self._wait()
        return self._items

    @property
    def value(self) -> Any:
        items = self.items
        return items[0]["data"] if items else None


class ScriptSession:
    """What a server script sees: the session's commands, each returning a Pending."""

    def __init__(self, server: omadm.ServerSession, device: str = "") -> None:
        self.server = server
        self.device = device  # the Source its messages come from
        self.origin = ""  # the server as the device reached it: scheme://host:port
        self.events: list[omadm.Event] = []
        self._pending: dict[int, Pending] = {}
        self._cond = threading.Condition()
        self._script_turn = False
        self._done = False
        self.error: BaseException | None = None
        self.result: Any = None  # what the script returned
        self.last_seen = time.monotonic()  # when its device last sent a message
        self.trace_name: str | None = None  # its messages' file names in the trace directory start so
        self._traced = 0
        # Its messages, kept when the server checks them (`check=True`).
        self.trace: omadm.capture.Trace | None = None
        self.secrets: dict[str, Any] = {}  # what its Creds and HMACs are checked with (``omadm.check``'s)
        self._checked: tuple[int, list[omadm.Violation]] = (0, [])  # the violations of its first N messages
        self._thread: threading.Thread | None = None  # the script's, once started
        # The device's last message and what answered it, for a device that sends it again.
        self.last_exchange: tuple[bytes, bytes, str, str | None] | None = None
        self.exchange_lock = threading.Lock()

    # -- used by the script thread --
    def _queue(self, reference: int) -> Pending:
        p = Pending(self, reference)
        self._pending[reference] = p
        return p

    def _wait_for(self, ready: Callable[[], bool]) -> None:
        with self._cond:
            while not ready():
                if self._done:
                    raise omadm.Error("the session ended before the device answered")
                self._script_turn = False
                self._cond.notify_all()
                self._cond.wait()

    @property
    def devinfo(self) -> dict[str, str]:
        return self.server.devinfo

    @property
    def violations(self) -> list[omadm.Violation]:
        """The rules its messages so far break, as ``omadm.check`` finds them, when the server
        keeps them (``check=True``), their Creds and HMACs verified with the credentials and
        nonces the session was made with; checked again only when a message came since."""
        if self.trace is not None and self._checked[0] != len(self.trace.messages):
            found = omadm.check(self.trace.messages, self.trace.directions, hmac=self.trace.hmac, **self.secrets)
            self._checked = (len(self.trace.messages), found)
        return self._checked[1]

    def get(self, uri: str) -> Pending:
        return self._queue(self.server.get(uri))

    def read_tree(self, uri: str = ".") -> omadm.MemoryTree:
        """The device's subtree at ``uri`` as it lists it (``uri?list=TNDS``: each node's value,
        Format, Type and ACL; what this server may not read left out), as a MemoryTree. Waits for
        the answer; omadm.Error with the status when the device lists no TNDS."""
        from omadm.replay import _listing

        listed = self.get(f"{uri}?list=TNDS")
        if listed.status != 200 or not isinstance(listed.value, str):
            raise omadm.Error(f"{uri}?list=TNDS: {listed.status}, not a TNDS document")
        return _listing(listed.value, uri)

    def replace(self, uri: str, data: str | bytes | int | float, format: str | None = None,
                type: str | None = None) -> Pending:
        return self._queue(self.server.replace(uri, data, format, type))

    def add(self, uri: str, data: str | bytes | int | float | None = None, format: str | None = None,
            type: str | None = None) -> Pending:
        return self._queue(self.server.add(uri, data, format, type))

    def delete(self, uri: str) -> Pending:
        return self._queue(self.server.delete(uri))

    def exec(self, uri: str, data: str | bytes | int | float | None = None,
             correlator: str | None = None) -> Pending:
        return self._queue(self.server.exec(uri, data, correlator))

    def command(self, command: dict[str, Any]) -> Pending:
        """Any command, as ``ServerSession.command`` takes it (several items, say)."""
        return self._queue(self.server.command(command))

    def copy(self, source: str, target: str) -> Pending:
        return self._queue(self.server.copy(source, target))

    def alert(self, code: int, items: list[str] | None = None) -> Pending:
        return self._queue(self.server.alert(code, items))

    @contextlib.contextmanager
    def sequence(self) -> Iterator[Pending]:
        """Commands queued inside run in order; ``as group`` gives the Sequence's own answer."""
        with self.server.sequence() as reference:
            yield self._queue(reference)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Pending]:
        """Commands queued inside run all or none; ``as group`` gives the Atomic's own answer."""
        with self.server.atomic() as reference:
            yield self._queue(reference)

    def abort(self) -> None:
        """Ends the session with Alert 1223 in the next reply; what is still pending is never answered."""
        self.server.abort()

    # -- used by the HTTP thread --
    def _deliver(self, events: list[omadm.Event]) -> None:
        """Statuses and results settle a Pending once the device's package is complete (its
        results may come in later messages than its status)."""
        with self._cond:
            for e in events:
                self.events.append(e)
                if e.kind == "package_end":
                    for p in self._pending.values():
                        if p._seen is not None:
                            p._status = p._seen
                    continue
                answered = self._pending.get(getattr(e, "reference", -1))
                if answered is None:
                    continue
                if e.kind == "status":
                    answered._seen = e.code
                    answered._items.extend(e.items)  # a UI alert's answer comes in its status
                elif e.kind == "results":
                    answered._items.extend(e.items)
            self._cond.notify_all()

    def _run_until_blocked(self) -> None:
        """Gives the script the turn and waits until it blocks on the device or returns."""
        with self._cond:
            self._script_turn = True
            self._cond.notify_all()
            while self._script_turn and not self._done:
                self._cond.wait()

    def _abandon(self, why: str) -> None:
        """The device went away: the script, waiting for it, stops with `why` as the error."""
        with self._cond:
            self.error = self.error or omadm.Error(why)
            self._done = True
            self._cond.notify_all()

    def _start(self, script: Callable[["ScriptSession"], Any]) -> None:
        def body() -> None:
            with self._cond:
                while not self._script_turn and not self._done:
                    self._cond.wait()
                if self._done:
                    return
            try:
                self.result = script(self)
            except BaseException as e:  # reported by the server, never lost
                self.error = self.error or e
            finally:
                with self._cond:
                    self._done = True
                    self._script_turn = False
                    self._cond.notify_all()

        self._thread = threading.Thread(target=body, daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Waits for the script to return: a finished session's script may still be on its way
        out (raising that the device is gone, say) when the session is handed over."""
        if self._thread is not None:
            self._thread.join(timeout)


def _read_chunked(rfile: Any, limit: int) -> bytes | None:
    """A chunked request body (RFC 9112 §7.1), or None once it would pass `limit` bytes (read no
    further). ValueError names what is malformed; chunk extensions and trailers are skipped."""
    body = bytearray()
    while True:
        line = rfile.readline(1026)
        size = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not size or any(c not in b"0123456789abcdefABCDEF" for c in size):
            raise ValueError(f"not a chunk size line: {line[:40]!r}")
        n = int(size, 16)
        if n == 0:
            break
        if len(body) + n > limit:
            return None
        chunk = rfile.read(n)
        if len(chunk) != n or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise ValueError("a chunk shorter than its size")
        body += chunk
    for _ in range(100):
        line = rfile.readline(8194)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            break
    raise ValueError("the trailer does not end")


# A Host header and path fit to name this server in a RespURI.
_HOST = re.compile(r"([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]):[0-9]+")
_PATH = re.compile(r"/[A-Za-z0-9._~/%\-]*")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range of ``bytes=FIRST-LAST``, ``FIRST-`` or ``-SUFFIX`` a Range header asks
    for, its last byte cut to the file's; None for none, or one this server does not serve
    (several ranges, another unit): the whole file then."""
    match = re.fullmatch(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", header or "")
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:
        return max(0, size - int(last)), size - 1
    if last and int(last) < int(first):  # not a range: the header is ignored
        return None
    return int(first), min(int(last), size - 1) if last else size - 1


class _HTTPServer(ThreadingHTTPServer):
    # Connections waiting to be accepted: socketserver's 5 overflow under devices that connect
    # at once, and the kernel then resets some of them.
    request_queue_size = 1024
    # Each connection held has a thread; one past the most is answered 503 and closed.
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.slots.acquire(blocking=False):
            super().process_request(request, client_address)
            return
        # Refused here, in a fifth of a second at most: what the device sent so far is read first,
        # so that closing does not reset the connection before it reads the answer.
        try:
            request.settimeout(0.2)
            request.recv(65536)
            request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Length: 0\r\n"
                            b"Connection: close\r\n\r\n")
        except OSError:  # silent, a TLS handshake that fails, a peer already gone: closed all the same
            pass
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection the peer broke (a reset, a failed TLS handshake) is not the server's
        fault: no traceback for it. Any other error (a trace directory it cannot write) has one."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Busy(Exception):
    """The server holds as many sessions as it may: a new one waits (HTTP 503)."""


def _next_nonces(session: omadm.ClientSession | omadm.ServerSession) -> dict[str, bytes]:
    """The nonces a session was given for the next one, by the session option that takes each."""
    given = {"nonce": session.next_nonce, "server_nonce": session.next_server_nonce}
    return {k: v for k, v in given.items() if v is not None}


class Nonces:
    """Each device's nonces for its next session: the NextNonce each side was given (md5,
    HMAC), as a device and a server that stores them keep them, so that the next session is
    taken without a challenge. Kept in memory, and in the JSON file ``path`` when given one
    (read now, written by ``save``), so that they outlive the process."""

    def __init__(self, path: str | None = None) -> None:
        import base64
        import json

        self.path, self._lock = path, threading.Lock()
        self._kept: dict[str, dict[str, bytes]] = {}
        if path is not None and os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    self._kept = {device: {k: base64.b64decode(v, validate=True) for k, v in kept.items()}
                                  for device, kept in json.load(f).items()}
            except (ValueError, AttributeError, TypeError) as e:
                raise omadm.UsageError(f"{path}: not a nonce file ({type(e).__name__}: {e})") from None

    def options(self, device: str) -> dict[str, bytes]:
        """The session options (``nonce``, ``server_nonce``) ``device`` has nonces for."""
        with self._lock:
            return dict(self._kept.get(device, {}))

    def keep(self, device: str, session: omadm.ClientSession | omadm.ServerSession) -> None:
        """The nonces ``session`` was given, as soon as it has them."""
        kept = _next_nonces(session)
        if kept:
            with self._lock:
                self._kept.setdefault(device, {}).update(kept)

    def save(self) -> None:
        """Writes them to ``path`` (whole, or not at all)."""
        import base64
        import json

        if self.path is None:
            return
        with self._lock:
            text = json.dumps({device: {k: base64.b64encode(v).decode() for k, v in kept.items()}
                               for device, kept in self._kept.items()}, indent=1, sort_keys=True)
        with open(f"{self.path}.tmp", "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(f"{self.path}.tmp", self.path)


class Account:
    """A device's DMAcc account for a server, as its tree holds it (the DM 1.2 layout): the
    session options its AppAuth entries give (its own credentials, AAuthLevel CLCRED: AAuthType,
    AAuthName, AAuthSecret and the nonce in AAuthData; the server's, SRVCRED: AAuthSecret and
    AAuthData), where the next nonces go, as a device keeps them (``keep``), and the server's
    ``address``: the Addr of its first AppAddr entry of AddrType URI (None without one)."""

    # The session's auth names by AAuthType (the types a DMAcc holds by auth name: AAUTH_TYPES).
    SCHEMES = {aauth: name for name, aauth in AAUTH_TYPES.items()}

    def __init__(self, tree: omadm.MemoryTree, server_id: str) -> None:
        self.tree = tree
        self.options: dict[str, Any] = {}
        self._nonce_at: dict[str, str] = {}
        self.address: str | None = None
        uris = list(tree.to_dict())
        ids = [u for u in uris if re.fullmatch(r"\./DMAcc/[^/]+/ServerID", u)]
        account = next((u.rsplit("/", 1)[0] for u in ids if tree.get(u) == server_id), None)
        if account is None:
            return
        addrs = [u for u in uris if re.fullmatch(re.escape(account) + r"/AppAddr/[^/]+/Addr", u)]
        self.address = next((str(tree.get(u)) for u in addrs
                             if tree.get(f"{u}Type") in (None, "URI")), None)
        entries = {u.rsplit("/", 1)[0] for u in uris if u.startswith(f"{account}/AppAuth/")}
        for entry in sorted(entries):
            level, scheme = tree.get(f"{entry}/AAuthLevel"), tree.get(f"{entry}/AAuthType")
            secret, data = tree.get(f"{entry}/AAuthSecret"), tree.get(f"{entry}/AAuthData")
            nonce = data if isinstance(data, bytes) else (data or "").encode()
            if level == "CLCRED" and scheme in self.SCHEMES:
                self.options.update(auth=self.SCHEMES[scheme], username=tree.get(f"{entry}/AAuthName") or "",
                                    password=secret or "", nonce=nonce)
                self._nonce_at["nonce"] = f"{entry}/AAuthData"
            elif level == "SRVCRED" and scheme in self.SCHEMES and secret:
                self.options.update(server_password=secret, server_nonce=nonce)
                self._nonce_at["server_nonce"] = f"{entry}/AAuthData"

    def keep(self, client: omadm.ClientSession) -> None:
        """The nonces ``client`` was given, into AAuthData, as soon as it has them."""
        given = _next_nonces(client)
        for key, uri in self._nonce_at.items():
            if key in given:
                self.tree.set(uri, given[key])


def check_secrets(server_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """What ``omadm.check`` verifies a session's Creds and HMACs with, from the session options
    it was made with (a ServerSession's or a device's): the device's credentials (one device's,
    or a server's ``passwords``), the server's own, and the nonces each side's first Cred takes."""
    user, server_password = options.get("username"), options.get("server_password")
    return {"client": (user, options.get("password") or "") if user else None, "passwords": options.get("passwords"),
            "server": (server_id, server_password) if server_password else None,
            "client_nonce": options.get("nonce", b""), "server_nonce": options.get("server_nonce", b"")}


class Server:
    """An HTTP DM server on `host:port` (port 0 picks one); `url` says where. Sessions that ended,
    or that no message came for in `idle_timeout` seconds (their scripts stop), go to `finished`,
    where they stay until taken. A connection silent for `connection_timeout` seconds, mid-request
    or between messages (a device whose network went away), is closed, and its thread ends. With
    `tls` (a server-side context holding its certificate, see `server_tls`) it speaks HTTPS, as
    real devices often insist on. The nonces each device was given for its next session are kept
    in `nonces` (a `Nonces`, in memory by default). `watch(device, direction, body)` sees each
    message as it passes ("c2s" from the device, "s2c" to it). With `check`, each session keeps
    its messages (`trace`) and tells the rules they break (`violations`, as ``omadm.check``
    finds them, each Cred and HMAC verified with the credentials and nonces the session was
    made with: the slips a session takes from a device too). A device that would start a
    session past `max_sessions` at once is answered 503 with Retry-After, and nothing of it is
    kept; so is a connection past `max_connections` open at once (each holds a thread), before
    a byte of it is read. It answers a GET or HEAD of a path in `files` with its bytes (or what
    ``file(origin)`` gives: the server as the device reached it; or the one byte range asked
    for), as a download server does (a firmware package, say: a script's PkgURL is
    ``session.origin + path``; a path ending in .dd is a download descriptor), and keeps the
    body of a POST to a path in `posts` in its list (an OMA DL install notification)."""

    def __init__(self, script: Callable[[ScriptSession], Any], host: str = "127.0.0.1", port: int = 0,
                 server_id: str = "omadm", trace_dir: str | None = None, idle_timeout: float = 600,
                 connection_timeout: float = 60, tls: ssl.SSLContext | None = None,
                 nonces: Nonces | None = None, watch: Callable[[str, str, bytes], Any] | None = None,
                 max_sessions: int = 1000, max_connections: int = 2000, check: bool = False,
                 files: dict[str, bytes | Callable[[str], bytes]] | None = None,
                 posts: dict[str, list[bytes]] | None = None, **session_options: Any) -> None:
        self.script, self.server_id, self.options, self.trace_dir = script, server_id, session_options, trace_dir
        self.files, self.posts = files or {}, posts or {}
        self.check = check
        self.idle_timeout, self.connection_timeout = idle_timeout, connection_timeout
        self.max_message_size = _message_limit(session_options)
        self.sessions: dict[tuple[str, str], ScriptSession] = {}
        self.by_token: dict[str, tuple[str, str]] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self.nonces = nonces if nonces is not None else Nonces()
        self.watch, self.max_sessions = watch, max_sessions
        self.routed_by_resp_uri = 0
        self._serial = itertools.count(1)
        self.finished: list[ScriptSession] = []
        self._trace_names: set[str] | None = None  # the trace directory's session names, read once
        self._lock = threading.Lock()
        handler = self._handler()
        ipv6 = ":" in host
        self.httpd = (_HTTPServer6 if ipv6 else _HTTPServer)((host, port), handler)
        self.httpd.slots = threading.BoundedSemaphore(max_connections)
        if tls is not None:
            # The handshake happens in each connection's own thread, at its first read.
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://{f'[{host}]' if ipv6 else host}:{self.httpd.server_address[1]}/dm"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a device may send a whole session on one connection
            timeout = outer.connection_timeout

            def log_message(self, *args: Any) -> None:
                pass

            def origin(self) -> str | None:
                """The server as the device reached it, not as it listens (0.0.0.0); a Host
                without its port (some devices leave it out) gets the port listened on."""
                host = self.headers.get("Host") or ""
                if not re.search(r":[0-9]+$", host):
                    host += f":{outer.httpd.server_address[1]}"
                return f"{outer.scheme}://{host}" if _HOST.fullmatch(host) else None

            def answer(self, body: bytes, content_type: str, hmac: str | None = None, code: int = 200,
                       headers: tuple[tuple[str, str], ...] = (), head: bool = False) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (("x-syncml-hmac", hmac),) + headers:
                    if value:
                        self.send_header(name, value)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def do_GET(self, head: bool = False) -> None:
                """A file, whole or the one byte range asked for (a download that resumes)."""
                path = self.path.partition("?")[0]
                file = outer.files.get(path)
                if file is None:
                    self.send_error(404)
                    return
                body = file(self.origin() or outer.url.rsplit("/", 1)[0]) if callable(file) else file
                kind = "application/vnd.oma.dd+xml" if path.endswith(".dd") else "application/octet-stream"
                ranged = _byte_range(self.headers.get("Range"), len(body))
                if ranged is None:
                    self.answer(body, kind, headers=(("Accept-Ranges", "bytes"),), head=head)
                elif ranged[0] >= len(body):
                    self.answer(b"", kind, code=416, headers=(("Content-Range", f"bytes */{len(body)}"),))
                else:
                    first, last = ranged
                    self.answer(body[first:last + 1], kind, code=206, head=head,
                                headers=(("Content-Range", f"bytes {first}-{last}/{len(body)}"),))

            def do_HEAD(self) -> None:
                self.do_GET(head=True)

            def do_POST(self) -> None:
                inbox = outer.posts.get(self.path.partition("?")[0])
                if inbox is not None:  # kept up to 64 KiB; the connection closed after a longer one
                    length = self.headers.get("Content-Length") or "0"
                    size = int(length) if length.isdigit() else 0
                    inbox.append(self.rfile.read(min(size, 64 * 1024)))
                    self.close_connection = self.close_connection or size > 64 * 1024
                    self.answer(b"", "text/plain")
                    return
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                length = self.headers.get("Content-Length") or ""
                coding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
                too_large = f"a DM message is at most {outer.max_message_size} bytes"
                # Refused before a byte of the body is read (send_error closes the connection).
                if ctype not in CONTENT_TYPES:
                    self.send_error(415, "not a DM content type")
                    return
                if coding and coding != "chunked":
                    self.send_error(501, f"transfer coding {coding!r}: only chunked is understood")
                    return
                if coding:
                    try:
                        body = _read_chunked(self.rfile, outer.max_message_size)
                    except ValueError as e:
                        self.send_error(400, f"chunked body: {e}")
                        return
                    if body is None:
                        self.send_error(413, too_large)
                        return
                elif not length.isdigit():
                    self.send_error(411, "a DM message needs its Content-Length (or chunked transfer coding)")
                    return
                elif int(length) > outer.max_message_size:
                    self.send_error(413, too_large)
                    return
                else:
                    body = self.rfile.read(int(length))
                path, _, query = self.path.partition("?")
                token = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("s")
                # The RespURI names this server as the device reached it.
                origin = self.origin()
                here = origin + path if origin and _PATH.fullmatch(path) else None
                try:
                    reply, rtype, hmac = outer._handle(body, self.headers.get("x-syncml-hmac"), token, ctype, here)
                except _Busy as e:
                    self.send_response(503, str(e))
                    self.send_header("Retry-After", "30")
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    return
                except omadm.Error as e:
                    self.send_error(400, str(e))
                    return
                self.answer(reply, rtype, hmac)

        return Handler

    def _trace_name(self, key: tuple[str, str]) -> str | None:
        """The device and SessionID, made a file name no session in the trace directory has yet:
        a device's next session with the same SessionID (a simulated device starts at 1 each run)
        is written as NAME.2, NAME.3, ..., never into the files of the one before. The directory
        is read once; the names given since are remembered."""
        if not self.trace_dir:
            return None
        os.makedirs(self.trace_dir, exist_ok=True)
        if self._trace_names is None:
            self._trace_names = omadm.capture._saved_sessions(self.trace_dir)
        name = omadm.capture._unused(omadm.capture._file_name(f"{key[0]}-{key[1]}"), self._trace_names)
        self._trace_names.add(name)
        return name

    def _trace(self, s: ScriptSession, direction: str, body: bytes, hmac: str | None) -> None:
        if self.watch is not None:
            self.watch(s.device, direction, body)
        if self.trace_dir and s.trace_name:
            omadm.capture._save_message(os.path.join(self.trace_dir, f"{s.trace_name}-{s._traced:04d}-{direction}"),
                                        body, hmac)
            s._traced += 1
        if s.trace is not None:
            s.trace.messages.append(body)
            s.trace.directions.append(direction)  # type: ignore[union-attr]
            s.trace.hmac.append(hmac)

    def _handle(self, body: bytes, hmac: str | None, token: str | None = None,
                content_type: str = "application/vnd.syncml.dm+xml",
                here: str | None = None) -> tuple[bytes, str, str | None]:
        """Routes by the RespURI token this server gave the session, else by device and SessionID.
        A new session answers in the encoding the device spoke, unless the server was given one,
        and gives the device a RespURI at `here` (the URL it reached), else at `url`."""
        now = time.monotonic()
        with self._lock:
            for gone in [k for k, s in self.sessions.items() if now - s.last_seen > self.idle_timeout]:
                self._finish(gone)._abandon(f"no message from the device for {self.idle_timeout:g} s")
            key = self.by_token.get(token or "")
            if key is not None:
                self.routed_by_resp_uri += 1
            else:
                head = omadm.decode(body, lenient=True)
                key = (head.source, head.session_id)
                held = self.sessions.get(key)
                sent_again = held is not None and held.last_exchange is not None and held.last_exchange[0] == body
                if head.msg_id == 1 and held is not None and not sent_again:  # the device started over
                    self._finish(key)._abandon(f"the device started a new session {head.session_id}")
            s = self.sessions.get(key)
            new = s is None
            if s is None and len(self.sessions) >= self.max_sessions:
                raise _Busy(f"{self.max_sessions} sessions at once, the most this server holds")
            if s is None:
                token = str(next(self._serial))
                self.by_token[token], self._tokens[key] = key, token
                options = {"encoding": "wbxml" if content_type.endswith("wbxml") else "xml", **self.options,
                           **self.nonces.options(key[0])}
                s = ScriptSession(omadm.ServerSession(self.server_id, resp_uri=f"{here or self.url}?s={token}",
                                                       **options), key[0])
                s.origin = "/".join((here or self.url).split("/")[:3])
                s.trace_name = self._trace_name(key)
                s.trace = omadm.capture.Trace(f"{key[0]}-{key[1]}") if self.check else None
                s.secrets = check_secrets(self.server_id, options)
                s._start(self.script)
                self.sessions[key] = s
            s.last_seen = now
        # One message of a session at a time: a message sent again waits for the first one's answer.
        with s.exchange_lock:
            if s.last_exchange is not None and s.last_exchange[0] == body:
                # The device lost the answer and sent its message again: the same answer, the
                # session as it was.
                return s.last_exchange[1:]
            self._trace(s, "c2s", body, hmac)
            try:
                events = s.server.receive(body, hmac)
            except omadm.Error as e:
                if new:  # refused at its first message: nothing to wait for, no script to keep
                    with self._lock:
                        if self.sessions.get(key) is s:
                            self._finish(key)._abandon(f"its first message was refused: {e}")
                raise
            s._deliver(events)
            if any(e.kind == "package_end" for e in events):
                s._run_until_blocked()
            reply = self._reply(s)
            s.last_exchange = exchange = (body, reply, s.server.content_type, s.server.hmac_header)
            self.nonces.keep(key[0], s.server)
            self._trace(s, "s2c", reply, s.server.hmac_header)
            if s.server.state in ("ended", "aborted"):
                with s._cond:
                    s._done = True
                    s._cond.notify_all()
                with self._lock:
                    if self.sessions.get(key) is s:  # not already dropped, nor replaced by a new start
                        self._finish(key)
            return exchange[1:]

    @staticmethod
    def _reply(s: ScriptSession) -> bytes:
        """The answer to the device's message. A command the script queued that can never fit in
        a message to the device is dropped as the message is composed (UsageError): the script's
        error, not the device's, which still gets its answer. Each such error drops one command;
        the bound is for an error of another kind, which would come again."""
        for _ in range(64):
            try:
                reply = s.server.next_message()
                assert reply is not None, "a server answers every client message"
                return reply
            except omadm.UsageError as e:
                s.error = s.error or e
        raise omadm.UsageError(f"no message could be composed for the device: {s.error}")

    def _finish(self, key: tuple[str, str]) -> ScriptSession:
        """Moves a session to `finished` (under the lock): its RespURI token routes no more."""
        s = self.sessions.pop(key)
        self.by_token.pop(self._tokens.pop(key, ""), None)
        self.finished.append(s)
        return s

    def start(self) -> "Server":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _message_limit(session_options: dict[str, Any]) -> int:
    """The most bytes a message to a session of these options may take: no more are read."""
    return (session_options.get("limits") or omadm.Limits()).max_message_size


def serve(script: Callable[[ScriptSession], Any], **options: Any) -> Server:
    """Starts a server in the background; `options` as for `Server`."""
    return Server(script, **options).start()


def server_tls(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A context for `Server(tls=...)`: its certificate chain and private key (PEM)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    return context


def device_tls(cafile: str | None = None, verify: bool = True, certfile: str | None = None,
               keyfile: str | None = None) -> ssl.SSLContext:
    """A context for `device(tls=...)`: trust `cafile` (PEM) besides the system's authorities, or
    nothing at all when not `verify` (a test server's self-signed certificate); `certfile` and
    `keyfile` for a server that asks for a client certificate."""
    context = ssl.create_default_context(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    return context


def device(server_url: str, tree: Any, device_id: str | None = None, server_id: str = "omadm",
           timeout: float = 30, setup: Callable[[omadm.ClientSession], Any] | None = None,
           received: Callable[[omadm.ClientSession, list[omadm.Event]], Any] | None = None,
           tls: ssl.SSLContext | None = None, nonces: Nonces | None = None, busy_retries: int = 0,
           watch: Callable[[str, bytes], Any] | None = None, trace_dir: str | None = None,
           firmware: omadm.fumo.Firmware | None = None, violations: list[omadm.Violation] | None = None,
           **options: Any) -> list[omadm.Event]:
    """Runs one session as a simulated device; returns the events it saw. ``setup(client)`` runs
    before package 1 (a UI handler, generic alerts to send, ...); ``received(client, events)``
    after each server message, where the device queues what its tree decided (a tree's own
    callbacks cannot call the session: a Generic Alert for an Exec answered 202, say). The device
    is ``device_id``, by default the tree's ./DevInfo/DevId. A session that did not end well
    raises omadm.Error (AuthError when the server refused the device, or the device the server) with the events it saw
    as its ``events``. It keeps the cookies the server sets
    for the session (some servers route by them); ``tls`` (see `device_tls`) is for HTTPS. With
    ``nonces`` (a `Nonces`) it digests with the nonces its last session was given, and keeps
    those this one gives. Given no credentials, a MemoryTree device takes them from its DMAcc
    account for the server (`Account`), as a device does, and keeps its next nonces there. A
    message the server is too busy for (HTTP 503 or 429) is sent again up to ``busy_retries``
    times, each after the Retry-After the server gave (seconds or a date; 1 s without one, 10
    minutes at most), as a device does; the HTTPError of the last answer otherwise.
    ``watch(direction, body)`` sees each message as it passes ("c2s" from the device, "s2c" to
    it); with ``trace_dir`` the session's messages are written there as ``omadm serve
    --trace-dir`` writes them, however the session ends (``omadm check DIR`` reads them). Given
    a list, ``violations`` gets the rules each session breaks, however it ends, as
    ``omadm.check`` finds them, each Cred and HMAC verified with the credentials and nonces it
    was made with (its first Cred's nonce judged only where the device knows it). With
    ``firmware`` (an `omadm.fumo.Firmware` on ``tree``), an update the server started is done
    after the session and reported in a session of its own (SessionID 2, 3, ...), and so on while
    the server starts more, up to 8: the events of them all; the first session carries what the
    firmware has to report from an earlier run, and its request for an update."""
    def then(step: Callable[[omadm.ClientSession], Any]) -> Callable[[omadm.ClientSession], None]:
        """The session's setup, then what the firmware sends in it."""
        def both(client: omadm.ClientSession) -> None:
            if setup is not None:
                setup(client)
            step(client)
        return both

    events = _session(server_url, tree, device_id, server_id, timeout, then(firmware.begin) if firmware else setup,
                      received, tls, nonces, busy_retries, watch, trace_dir, violations, **options)
    if firmware is not None:
        firmware.sent()
    options.pop("notification", None)  # a report goes in a session of the device's own
    for n in range(2, 10):
        if firmware is None or not firmware.pending:
            break
        firmware.run()
        events += _session(server_url, tree, device_id, server_id, timeout, then(firmware.report), received, tls,
                           nonces, busy_retries, watch, trace_dir, violations, **{**options, "session_id": f"{n:X}"})
        firmware.sent()
    return events


def _session(server_url: str, tree: Any, device_id: str | None, server_id: str, timeout: float,
             setup: Callable[[omadm.ClientSession], Any] | None,
             received: Callable[[omadm.ClientSession, list[omadm.Event]], Any] | None,
             tls: ssl.SSLContext | None, nonces: Nonces | None, busy_retries: int,
             watch: Callable[[str, bytes], Any] | None, trace_dir: str | None,
             violations: list[omadm.Violation] | None, **options: Any) -> list[omadm.Event]:
    """One session of `device`."""
    if device_id is None:
        try:
            devid = tree.get("./DevInfo/DevId")
        except Exception:  # a tree of the caller's that has none, or no get: the default id
            devid = None
        device_id = devid if isinstance(devid, str) and devid else "IMEI:493005100592800"
    account = None
    if isinstance(tree, omadm.MemoryTree) and not {"auth", "username", "server_password"} & options.keys():
        account = Account(tree, server_id)
        options = {**account.options, **options}
    if nonces is not None:
        options = {**options, **nonces.options(device_id)}
    client = omadm.ClientSession(device_id, server_id, server_url, tree, **options)
    max_message_size = _message_limit(options)
    if setup is not None:
        setup(client)
    handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())]
    if tls is not None:
        handlers.append(urllib.request.HTTPSHandler(context=tls))
    opener = urllib.request.build_opener(*handlers)
    events: list[omadm.Event] = []
    trace = omadm.capture.Trace(device_id)

    def seen(direction: str, body: bytes, hmac: str | None) -> None:
        if watch is not None:
            watch(direction, body)
        trace.messages.append(body)
        trace.directions.append(direction)  # type: ignore[union-attr]
        trace.hmac.append(hmac)

    try:
        while (msg := client.next_message()) is not None:
            req = urllib.request.Request(client.respond_to, data=msg, method="POST")
            req.add_header("Content-Type", client.content_type)
            if client.hmac_header:
                req.add_header("x-syncml-hmac", client.hmac_header)
            seen("c2s", msg, client.hmac_header)
            with _post(opener, req, timeout, busy_retries) as resp:
                # A reply past the limit is read no further: the session refuses it for its size.
                body = resp.read(max_message_size + 1)
                seen("s2c", body, resp.headers.get("x-syncml-hmac"))
                got = client.receive(body, resp.headers.get("x-syncml-hmac"))
            events.extend(got)
            if nonces is not None:
                nonces.keep(device_id, client)
            if account is not None:
                account.keep(client)
            if received is not None:
                received(client, got)
    finally:
        if trace_dir is not None and trace.messages:
            trace.name = f"{device_id}-{omadm.decode(trace.messages[0], lenient=True).session_id}"
            trace.save(trace_dir)
        if violations is not None and trace.messages:
            violations += omadm.check(trace.messages, trace.directions, hmac=trace.hmac,
                                      **check_secrets(server_id, options))
    failure: omadm.Error | None = None
    verdicts = [e for e in events if e.kind in ("authenticated", "auth_failed")]
    refused = [e for e in events if e.kind == "server_auth_failed"]
    if verdicts and verdicts[-1].kind == "auth_failed":
        failure = omadm.AuthError(f"the server refused the device's credentials ({verdicts[-1].code})")
    elif refused:
        failure = omadm.AuthError(f"the server's credentials are not the ones the device holds ({refused[-1].code})")
    elif client.state != "ended":
        failure = omadm.Error(f"the session was {client.state} ({', '.join(e.kind for e in events[-3:])})")
    if failure is not None:
        failure.events = events  # type: ignore[attr-defined]
        raise failure
    return events


def _post(opener: urllib.request.OpenerDirector, req: urllib.request.Request, timeout: float, busy_retries: int) -> Any:
    """The server's answer to ``req``, sent again while the server says it is busy and retries
    are left."""
    for retry in itertools.count(1):
        try:
            return opener.open(req, timeout=timeout)
        except urllib.error.HTTPError as e:
            if e.code not in (429, 503) or retry > busy_retries:
                raise
            wait = _retry_after(e.headers.get("Retry-After"))
            e.close()
            time.sleep(wait)


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date; 1 s when
    it says neither, 10 minutes at most."""
    import email.utils

    try:
        seconds = float(value) if value and value.strip().isdigit() else (
            email.utils.parsedate_to_datetime(value).timestamp() - time.time() if value else 1.0)
    except (TypeError, ValueError):
        seconds = 1.0
    return min(max(seconds, 0.0), 600.0)


def devices(server_url: str, tree: str | Callable[[], Any], count: int, concurrency: int,
            progress: Callable[[int], None] | None = None,
            failure: Callable[[str, BaseException], None] | None = None,
            timing: Callable[[str, float, list[float]], None] | None = None,
            firmware: Callable[[Any], omadm.fumo.Firmware] | None = None, **options: Any) -> tuple[int, int, float]:
    """Runs `count` simulated devices, `concurrency` at a time: (sessions ok, failures, seconds).
    Each gets its own tree: from ``tree`` as MemoryTree JSON, or what ``tree()`` returns, and
    its own id, ``IMEI:000000000000000`` and up: a MemoryTree's ./DevInfo/DevId is set to it, so
    that its DevInfo names the device its messages come from (a tree of another kind keeps its
    own). ``failure(device_id, error)`` hears why each failed session failed, and
    ``timing(device_id, seconds, round_trips)`` how long each session took, ok or not, and each of
    its exchanges (a message posted to its answer read), in seconds. ``firmware(tree)`` gives
    each device its `omadm.fumo.Firmware` (see `device`); the time is then that of all its
    sessions."""
    ok = failed = done = 0
    lock = threading.Lock()
    started = time.monotonic()
    ids = iter(range(count))

    def worker() -> None:
        nonlocal ok, failed, done
        while True:
            with lock:
                i = next(ids, None)
            if i is None:
                return
            device_id = f"IMEI:{i:015d}"
            round_trips: list[float] = []
            posted = began = time.monotonic()

            def clock(direction: str, body: bytes) -> None:
                nonlocal posted
                if direction == "c2s":
                    posted = time.monotonic()
                else:
                    round_trips.append(time.monotonic() - posted)
                if "watch" in options:
                    options["watch"](direction, body)

            try:
                own = tree() if callable(tree) else omadm.MemoryTree.from_json(tree)
                if isinstance(own, omadm.MemoryTree):
                    own.set("./DevInfo/DevId", device_id)
                device(server_url, own, device_id=device_id, firmware=firmware(own) if firmware else None,
                       **{**options, "watch": clock})
                good = True
            except Exception as e:
                good = False
                if failure:
                    failure(device_id, e)
            if timing:
                timing(device_id, time.monotonic() - began, round_trips)
            with lock:
                ok, failed, done = ok + good, failed + (not good), done + 1
                if progress:
                    progress(done)

    threads = [threading.Thread(target=worker) for _ in range(max(1, concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ok, failed, time.monotonic() - started
