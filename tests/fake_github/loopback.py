"""A WSGI app served on ``127.0.0.1`` from a thread, stopped at once rather than at the next poll.

``socketserver``'s ``shutdown()`` only sets a flag and waits for ``serve_forever`` to look at it,
which it does each time ``select()`` returns: on a quiet server, after the whole poll interval
(0.5 s by default, per test). Shutting the listening socket down first wakes ``select()`` at once
(Linux reports it readable; ``accept()`` then fails quietly until the loop sees the flag).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

POLL_INTERVAL = 0.5  # only a fallback: where shutting the listening socket down does not wake select()


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # no access log in the test output
        pass


class LoopbackServer:
    """``app`` on a free port of ``127.0.0.1``, answering from a daemon thread, one thread per request."""

    def __init__(self, app: Any, name: str = "loopback", request_handler: type[WSGIRequestHandler] = QuietHandler) -> None:
        self.app, self.name, self.request_handler = app, name, request_handler
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopbackServer:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=self.request_handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_INTERVAL,), name=self.name, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``"""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        try:
            server.socket.shutdown(socket.SHUT_RDWR)  # wakes select() now instead of at the next poll
        except OSError:  # not connected: some systems refuse this on a listening socket
            pass
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
