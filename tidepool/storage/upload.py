"""Stream an upload into a storage location: bounded memory, limits enforced as the bytes arrive.

Chunks from the request (or an import) are gathered into ``BATCH`` buffers; each buffer is hashed and
written in one worker-thread hop, so the event loop only moves bytes. The first ``HEAD`` bytes are kept to
read an image's dimensions afterwards (the header of every supported format sits well inside them). Past
``max_size`` the write is aborted and nothing stays: ``CONTENT_TOO_LARGE``, as Directus answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable
from dataclasses import dataclass

import anyio.to_thread

from tidepool.errors import ContentTooLargeError
from tidepool.images import dimensions
from tidepool.seams import translated
from tidepool.storage.base import Driver, Writer

BATCH = 1024 * 1024
HEAD = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    size: int
    sha256: str
    width: int | None
    height: int | None


class _Sink:
    """The blocking side of one upload (runs in worker threads, one call at a time)."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.digest = hashlib.sha256()
        self.head = bytearray()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        if len(self.head) < HEAD:
            self.head += data[: HEAD - len(self.head)]
        self.size += len(data)
        self.writer.write(data)

    def finish(self, content_type: str) -> Stored:
        self.writer.commit()
        width, height = dimensions(bytes(self.head), content_type)
        return Stored(self.size, self.digest.hexdigest(), width, height)


async def store(
    driver: Driver, key: str, content_type: str, chunks: AsyncIterable[bytes], max_size: int | None
) -> Stored:
    seam = translated("storage write", key=key)
    with seam:
        sink = _Sink(await driver.open_writer(key, content_type))
    buffer = bytearray()
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if max_size is not None and received > max_size:
                raise ContentTooLargeError()
            buffer += chunk
            if len(buffer) >= BATCH:
                data, buffer = bytes(buffer), bytearray()
                with seam:
                    await anyio.to_thread.run_sync(sink.write, data)
        with seam:
            if buffer:
                await anyio.to_thread.run_sync(sink.write, bytes(buffer))
            return await anyio.to_thread.run_sync(sink.finish, content_type)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _abort(sink.writer)
        raise


async def _abort(writer: Writer) -> None:
    """Undo a write; a failure to undo (the storage being down is often why we are here) is not the
    client's error to hear: the one that stopped the write is."""
    try:
        await anyio.to_thread.run_sync(writer.abort)
    except Exception:
        return
