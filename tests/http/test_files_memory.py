"""An upload's memory is bounded: a large multipart body streamed into a live server raises the process's
resident memory by far less than its size (sampled from ``/proc/self/status`` while it runs; the client in
the same process sends from a generator, so it holds no copy either).

``TIDEPOOL_UPLOAD_MB`` sets the size (default 64; the README's figure is from 200).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from tests.support.live import LiveServer
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
