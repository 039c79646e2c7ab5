"""A real HTTP server on 127.0.0.1 for tests of network clients, with injectable faults.

    with Loopback(handler) as server:        # handler(seen: Seen) -> Reply
        server.inject(Reply(503), times=2)   # the next two requests get a 503 instead
        ...                                  # point a client at server.url
        server.requests                      # every request the server saw, in order

Faults a `Reply` can carry: any status and headers (`Retry-After`), a delay before the
response (`delay`), a body trickled slowly (`trickle`), a body cut short after the headers
promised more (`truncate`), no Content-Length (`close_delimited`), or a dropped connection
without any response (`drop`). Nothing here mocks the code under test: it talks to a socket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    """What the server answers."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0  # seconds between 64-byte chunks of the body
    truncate: int | None = None  # send only this many bytes of the body, then close
    close_delimited: bool = False  # no Content-Length: the body ends when the connection closes
    drop: bool = False  # close the connection without answering

    @property
    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass
class Seen:
    """One request as the server received it."""

    index: int
    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    status: int | None = None  # what was answered (None: dropped)
    complete: bool = False  # the whole body was sent


Handler = Callable[[Seen], Reply]


@dataclass
class _Fault:
    reply: Reply
    when: Callable[[Seen], bool]
    times: float


class Loopback:
    """A threaded HTTP/1.1 server on an ephemeral port of 127.0.0.1."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Seen] = []
        self.handler_errors: list[str] = []  # exceptions the handler raised
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        server = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between writes

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                with server._lock:
                    seen = Seen(
                        index=len(server.requests),
                        method=self.command,
                        path=parts.path,
                        query=query,
                        raw_query=parts.query,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        at=time.monotonic(),
                    )
                    server.requests.append(seen)
                    reply = server._take_fault(seen)
                if reply is None:
                    try:
                        reply = server.handler(seen)
                    except Exception as exc:  # a bug of the test's handler: answer and keep it
                        server.handler_errors.append(f"{seen.method} {self.path}: {exc!r}")
                        reply = Reply(500, f"handler error: {exc!r}")
                self._answer(seen, reply)

            def _answer(self, seen: Seen, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                data = reply.data
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.close_delimited:
                    self.close_connection = True
                    self.send_header("Connection", "close")
                else:
                    self.send_header("Content-Length", str(len(data)))
                if reply.truncate is not None:
                    self.close_connection = True
                    data = data[: reply.truncate]
                # Recorded before the bytes go out: the client may act on them at once.
                seen.status = reply.status
                seen.complete = reply.truncate is None
                self.end_headers()
                try:
                    if reply.trickle:
                        for i in range(0, len(data), 64):
                            self.wfile.write(data[i : i + 64])
                            self.wfile.flush()
                            time.sleep(reply.trickle)
                    else:
                        self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    seen.complete = False
                    self.close_connection = True

            do_GET = _serve
            do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def inject(
        self, reply: Reply, *, when: Callable[[Seen], bool] | None = None, times: float = 1
    ) -> None:
        """Answer the next `times` requests matching `when` (default: any) with `reply`."""
        with self._lock:
            self._faults.append(_Fault(reply, when or (lambda _seen: True), times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, seen: Seen) -> Reply | None:
        for fault in self._faults:
            if fault.times > 0 and fault.when(seen):
                fault.times -= 1
                return fault.reply
        return None

    def start(self) -> Loopback:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Loopback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answered(self, status: int = 200) -> list[Seen]:
        """The requests answered in full with `status`."""
        return [seen for seen in self.requests if seen.status == status and seen.complete]
