"""An upload's memory is bounded, and one cut short leaves nothing: a large multipart body streamed into a
live server raises the process's resident memory by far less than its size (sampled from
``/proc/self/status`` while it runs; the client in the same process sends from a generator, so it holds no
copy either).

``TIDEPOOL_UPLOAD_MB`` sets the size (default 64; the README's figure is from 200).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.http.files_support import data
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import module_server

srv = module_server("files_memory")

MB = 1024 * 1024
SIZE_MB = int(os.environ.get("TIDEPOOL_UPLOAD_MB", "64"))
BOUND_MB = 48  # the batch buffer, the parser's chunk, the threads' stacks, and slack for the allocator


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _body(boundary: str, size: int) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = os.urandom(MB)
    for _ in range(size // MB):
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_large_upload_keeps_memory_bounded(srv: LiveServer) -> None:
    baseline = _rss()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, _rss())

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with srv.client() as admin:
            headers = {"Content-Type": "multipart/form-data; boundary=xyzzy"}
            response = admin.post("/files", content=_body("xyzzy", SIZE_MB * MB), headers=headers, timeout=300)
    finally:
        done.set()
        sampler.join()
    assert response.status_code == 200, response.text
    assert response.json()["data"]["filesize"] == str(SIZE_MB * MB)
    delta_mb = (peak - baseline) / MB
    print(f"upload of {SIZE_MB} MB: peak RSS delta {delta_mb:.1f} MB")
    assert delta_mb < BOUND_MB


def _listing(server: LiveServer) -> list[str]:
    root = Path(server.runtime.settings.STORAGE_LOCATIONS[0].options["root"])
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _wait(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_a_client_gone_mid_upload_leaves_nothing(srv: LiveServer) -> None:
    """The socket closes after half the declared body, once the server has begun storing it: the partial
    object is removed, and no row is made."""
    with srv.client() as admin:
        before = data(admin.get("/files", params={"aggregate[count]": "*"}))
    stored = _listing(srv)
    head = (
        b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    host, port = srv.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(
            f"POST /files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
            f"Content-Type: multipart/form-data; boundary=bnd\r\nContent-Length: 3000000\r\n\r\n".encode()
            + head
            + b"h" * 1_500_000
        )
        _wait(lambda: _listing(srv) != stored)  # the first batch is on its way to the disk
    _wait(lambda: _listing(srv) == stored)  # and gone again once the server saw the client leave
    with srv.client() as admin:
        assert data(admin.get("/files", params={"aggregate[count]": "*"})) == before
