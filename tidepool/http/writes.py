"""The write forms shared by ``/items`` and the account endpoints (``/users``, ``/roles`` ...).

Directus accepts the same bodies on both: ``PATCH`` with an array of rows (a batch), ``{"keys", "data"}`` or
``{"query", "data"}``; ``DELETE`` with an array of keys, ``{"keys"}`` or ``{"query"}``; and after a write it
reads the result back as the caller, answering 204 when the caller may not read what it wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from starlette.responses import Response

from tidepool.errors import InvalidPayloadError
from tidepool.http.responses import data_response, no_content
from tidepool.query.complexity import check_keys
from tidepool.query.model import Query
from tidepool.services.read_back import read_after_write

QueryParser = Callable[[Any], Query]


class BatchWriter(Protocol):
    async def update_batch(self, items: Sequence[Any], /) -> list[Any]: ...
    async def update_many(self, keys: Sequence[Any], data: Mapping[str, Any], /) -> list[Any]: ...
    async def update_by_query(self, query: Query, data: Mapping[str, Any], /) -> list[Any]: ...
    async def delete_many(self, keys: Sequence[Any], /) -> Any: ...
    async def delete_by_query(self, query: Query, /) -> Any: ...


def batch_body(body: Any, *, needs_data: bool, max_keys: int | None = None) -> Mapping[str, Any]:
    """Directus's batch body: exactly one of ``keys`` / ``query`` (and ``data`` for updates), Joi's words; at most
    ``max_keys`` keys (``MAX_QUERY_COMPLEXITY``, ``query.complexity.check_keys``)."""
    if not isinstance(body, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    has_keys, has_query = "keys" in body, "query" in body
    if has_keys and has_query:
        raise InvalidPayloadError('"value" contains a conflict between exclusive peers [query, keys]')
    if not has_keys and not has_query:
        raise InvalidPayloadError('"value" must contain at least one of [query, keys]')
    if has_keys and not isinstance(body["keys"], list):
        raise InvalidPayloadError('"keys" must be an array')
    check_keys(body.get("keys"), max_keys)
    if needs_data and not isinstance(body.get("data"), Mapping):
        raise InvalidPayloadError('"data" is required' if "data" not in body else '"data" must be of type object')
    return body


async def update_from_body(
    service: BatchWriter, body: Any, parse_query: QueryParser, max_keys: int | None = None
) -> list[Any]:
    """Apply a ``PATCH`` body in any of its three forms; the keys written."""
    if isinstance(body, list):
        return await service.update_batch(body)
    batch = batch_body(body, needs_data=True, max_keys=max_keys)
    if "keys" in batch:
        return await service.update_many(batch["keys"], batch["data"])
    return await service.update_by_query(parse_query(batch["query"]), batch["data"])


async def delete_from_body(
    service: BatchWriter, body: Any, parse_query: QueryParser, max_keys: int | None = None
) -> None:
    """Apply a ``DELETE`` body in any of its three forms."""
    check_keys(body, max_keys)
    if isinstance(body, list):
        await service.delete_many(body)
        return
    batch = batch_body(body, needs_data=False, max_keys=max_keys)
    if "keys" in batch:
        await service.delete_many(batch["keys"])
    else:
        await service.delete_by_query(parse_query(batch["query"]))


async def read_back(read: Callable[[], Awaitable[Any]]) -> Response:
    """Directus's read-after-write: the caller may have written what it cannot read, then 204; so when the
    database cannot be reached for the read (``services/read_back.py``: the write committed all the same)."""
    data = await read_after_write(read)
    return no_content() if data is None else data_response(data)
