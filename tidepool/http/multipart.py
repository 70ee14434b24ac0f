"""A streaming ``multipart/form-data`` reader: parts one at a time, a file part's body as it arrives.

Starlette's ``request.form()`` spools every file part to a temporary file before the handler sees any of
it, with no bound on its size; Directus (busboy) instead hands each file to storage while it is still
arriving. This reader does the same on python-multipart's push parser: each network chunk is parsed into
events, and a file part's data is yielded straight on, so memory holds one chunk. Text fields are bounded
by ``MAX_PAYLOAD_SIZE`` each; a body that is not well-formed multipart is ``INVALID_PAYLOAD``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from tidepool.errors import ContentTooLargeError, InvalidPayloadError

Event = tuple[str, bytes]


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class MultipartReader:
    def __init__(self, request: Request, max_field_size: int) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type", ""))
        boundary = options.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise InvalidPayloadError("Multipart body is missing its boundary")
        self.events: deque[Event] = deque()
        self.chunks = request.stream().__aiter__()
        self.max_field_size = max_field_size
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": lambda: self.events.append(("begin", b"")),
                "on_part_data": lambda data, start, end: self.events.append(("data", bytes(data[start:end]))),
                "on_part_end": lambda: self.events.append(("end", b"")),
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": lambda: self.events.append(("headers", b"")),
                "on_end": lambda: self.events.append(("eof", b"")),
            },
        )
        self.finished = False

    # A header may arrive split over two network chunks: its pieces are gathered until its end.
    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _header_end(self) -> None:
        self.events.append(("header", bytes(self.header_field) + b"\0" + bytes(self.header_value)))
        self.header_field, self.header_value = bytearray(), bytearray()

    async def _next(self) -> Event:
        while not self.events:
            if self.finished:
                return ("eof", b"")
            try:
                chunk = await self.chunks.__anext__()
            except ClientDisconnect:
                # The client went away mid-body: the upload is aborted (nothing stays), and nobody is left
                # to hear the answer; not a bug to log.
                raise InvalidPayloadError("The request body ended early") from None
            except StopAsyncIteration:
                self.finished = True
                self._feed(None)
                continue
            if chunk:
                self._feed(chunk)
        return self.events.popleft()

    def _feed(self, chunk: bytes | None) -> None:
        try:
            if chunk is None:
                self.parser.finalize()
            else:
                self.parser.write(chunk)
        except MultipartParseError:
            raise InvalidPayloadError("Multipart body is malformed") from None

    async def next_part(self) -> Part | None:
        """The next part's headers, or None at the end of the body."""
        event = await self._next()
        while event[0] == "data":  # the rest of a part the caller did not read
            event = await self._next()
        if event[0] == "end":
            event = await self._next()
        if event[0] == "eof":
            return None
        headers: dict[str, str] = {}
        while (event := await self._next())[0] == "header":
            name, _, value = event[1].partition(b"\0")
            headers[name.decode("latin-1").lower()] = value.decode("utf-8", "replace")
        if event[0] != "headers":
            raise InvalidPayloadError("Multipart body is malformed")
        _, disposition = parse_options_header(headers.get("content-disposition", ""))
        raw_name = disposition.get(b"name", b"")
        raw_filename = disposition.get(b"filename")
        return Part(
            raw_name.decode("utf-8", "replace"),
            None if raw_filename is None else raw_filename.decode("utf-8", "replace"),
            headers.get("content-type", "application/octet-stream").split(";")[0].strip() or "application/octet-stream",
            headers,
        )

    async def body(self) -> AsyncIterator[bytes]:
        """The current part's data, chunk by chunk, until its end."""
        while True:
            kind, data = await self._next()
            if kind == "data":
                yield data
                continue
            self.events.appendleft((kind, data))  # "end" (or eof) belongs to next_part
            return

    async def text(self) -> str:
        """The current part as a text field, bounded by ``MAX_PAYLOAD_SIZE``."""
        collected = bytearray()
        async for data in self.body():
            collected += data
            if len(collected) > self.max_field_size:
                raise ContentTooLargeError()
        return collected.decode("utf-8", "replace")
