"""The ``local`` driver: objects are files under ``STORAGE_<NAME>_ROOT`` (default ``./data/uploads``).

A write goes to a hidden temporary file in the same directory and is renamed into place on commit, so a
reader never sees half an object and a failed upload leaves nothing behind. Every file operation runs in a
worker thread.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread

from tidepool.storage.base import READ_CHUNK, safe_key

DEFAULT_ROOT = "./data/uploads"


class LocalWriter:
    def __init__(self, target: Path) -> None:
        self.target = target
        self.temp = target.with_name(f".tmp-{uuid.uuid4().hex}-{target.name}")
        self.file: BinaryIO | None = None

    def write(self, data: bytes) -> None:
        if self.file is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.temp, "wb")
        self.file.write(data)

    def commit(self) -> None:
        if self.file is None:
            self.write(b"")
        assert self.file is not None
        self.file.close()
        os.replace(self.temp, self.target)

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
        self.temp.unlink(missing_ok=True)


class LocalDriver:
    def __init__(self, options: Mapping[str, str]) -> None:
        self.root = Path(options.get("root") or DEFAULT_ROOT).resolve()

    def path(self, key: str) -> Path:
        return self.root / safe_key(key)

    async def open_writer(self, key: str, content_type: str) -> LocalWriter:
        return LocalWriter(self.path(key))

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        file = await anyio.to_thread.run_sync(open, self.path(key), "rb")
        try:
            await anyio.to_thread.run_sync(file.seek, start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = await anyio.to_thread.run_sync(file.read, READ_CHUNK if left is None else min(left, READ_CHUNK))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            await anyio.to_thread.run_sync(file.close)

    async def size(self, key: str) -> int | None:
        def stat() -> int | None:
            path = self.path(key)
            return path.stat().st_size if path.is_file() else None

        return await anyio.to_thread.run_sync(stat)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.path(key).unlink(missing_ok=True))

    async def delete_prefix(self, prefix: str) -> None:
        def remove() -> None:
            base = self.path(prefix)
            if not base.parent.is_dir():
                return
            for path in base.parent.iterdir():
                if path.name.startswith(base.name) and path.is_file():
                    path.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(remove)

    async def fetch(self, key: str, limit: int) -> bytes:
        def load() -> bytes:
            with open(self.path(key), "rb") as file:
                return file.read(limit)

        return await anyio.to_thread.run_sync(load)
