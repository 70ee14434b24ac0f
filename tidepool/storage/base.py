"""The contract of a storage driver, and the ``Storage`` of a runtime (its locations by name)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from tidepool.errors import ForbiddenError

# Bytes per read from a stored object (and per chunk streamed to a client).
READ_CHUNK = 256 * 1024


class Writer(Protocol):
    """One object being written. Blocking: every method is called from a worker thread, in order."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...  # the object appears under its key, whole, or not at all
    def abort(self) -> None: ...  # nothing of it stays


class Driver(Protocol):
    """A storage location's driver; the async methods never block the event loop."""

    async def open_writer(self, key: str, content_type: str) -> Writer: ...
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...  # end inclusive
    async def size(self, key: str) -> int | None: ...  # None: no such object
    async def delete(self, key: str) -> None: ...
    async def delete_prefix(self, prefix: str) -> None: ...  # the object and its generated variants
    async def fetch(self, key: str, limit: int) -> bytes: ...  # a whole (bounded) object, for image work


@dataclass(frozen=True)
class Storage:
    """The runtime's storage locations; the first takes new uploads, as in Directus."""

    drivers: Mapping[str, Driver]
    default: str

    def location(self, name: str | None) -> Driver:
        driver = self.drivers.get(name or self.default)
        if driver is None:
            raise ForbiddenError()  # a row naming a location this server does not have
        return driver


def safe_key(key: str) -> str:
    """A relative key with no way out of its location (Directus's ``sanitizeFilepath``): ``..`` and leading
    slashes resolve inside the root."""
    parts: list[str] = []
    for part in key.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)
