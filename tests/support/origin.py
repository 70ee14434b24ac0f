"""A plain HTTP server on a free loopback port, in a thread, for tests that need a remote origin to fetch from
(``/files/import``'s URL), answering from a table of routes."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = tuple[int, dict[str, str], bytes]  # status, headers, body


def _answering(routes: Mapping[str, Route]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, b""))
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    return Handler


@contextmanager
def serving(routes: Mapping[str, Route]) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` while it answers GETs from ``routes`` by path (404 elsewhere); shut down and
    joined on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _answering(routes))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
