"""Which filter operators each field type takes: recorded from Directus 12.4.1 (one field of every type, every
operator), replayed here over REST. An operator a type does not take answers 400 ``INVALID_QUERY`` with
Directus's text, ``"string" field type does not contain the "_lt" filter operator``; the rest answer 200.
The same table decides permission rules (``tidepool.query.operators``), which are compiled alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.http.accounts_support import error, ok
from tests.support.live import LiveServer
from tests.support.servers import module_server

STRING_OPS = {
    "_eq", "_neq", "_in", "_nin", "_null", "_nnull", "_empty", "_nempty", "_contains", "_ncontains",
    "_icontains", "_starts_with", "_nstarts_with", "_istarts_with", "_nistarts_with", "_ends_with",
    "_nends_with", "_iends_with", "_niends_with",
}  # fmt: skip
ORDERED_OPS = {"_eq", "_neq", "_lt", "_lte", "_gt", "_gte", "_in", "_nin", "_between", "_nbetween", "_null", "_nnull"}

# field type → the operators Directus 12.4.1 accepts on it (of those below; `_json`, `_some`, `_none` and the
# geometry operators have their own tests).
ALLOWED: dict[str, set[str]] = {
    "string": STRING_OPS,
    "text": STRING_OPS,
    "csv": STRING_OPS,
    "uuid": {"_eq", "_neq", "_in", "_nin", "_null", "_nnull"},
    "boolean": {"_eq", "_neq", "_null", "_nnull"},
    "json": {"_null", "_nnull"},
    "hash": {"_null", "_nnull", "_empty", "_nempty"},
    "date": ORDERED_OPS,
    "time": ORDERED_OPS,
    "dateTime": ORDERED_OPS,
    "timestamp": ORDERED_OPS | {"_empty", "_nempty", "_contains", "_ncontains"},
    "integer": ORDERED_OPS,
    "bigInteger": ORDERED_OPS,
    "float": ORDERED_OPS,
    "decimal": ORDERED_OPS,
}
OPERATORS = sorted(
    STRING_OPS | ORDERED_OPS | {"_empty", "_nempty", "_nicontains", "_ieq", "_nieq", "_regex"}
)  # fmt: skip

# A value of each type, so that accepted operators get a value they can cast.
SAMPLE: dict[str, Any] = {
    "uuid": "0b7e6a57-0000-4000-8000-000000000001",
    "boolean": True,
    "date": "2024-01-02",
    "time": "10:20:30",
    "dateTime": "2024-01-02T10:20:30",
    "timestamp": "2024-01-02T10:20:30Z",
    "integer": 1,
    "bigInteger": 1,
    "float": 1.5,
    "decimal": 1.5,
}
FLAGS = {"_null", "_nnull", "_empty", "_nempty"}
LISTS = {"_in", "_nin"}
PAIRS = {"_between", "_nbetween"}
TEXTS = {op for op in OPERATORS if "contains" in op or "with" in op or op in {"_ieq", "_nieq", "_regex"}}


def argument(field_type: str, op: str) -> Any:
    sample = SAMPLE.get(field_type, "1")
    if op in FLAGS:
        return True
    if op in LISTS:
        return [sample]
    if op in PAIRS:
        return [sample, sample]
    return "1" if op in TEXTS else sample


def _typed(live: LiveServer) -> None:
    with live.client() as admin:
        special = {"hash": ["hash"], "csv": ["cast-csv"], "uuid": ["uuid"]}
        fields: list[dict[str, Any]] = [
            {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
        ]
        for field_type in ALLOWED:
            meta = {"special": special[field_type]} if field_type in special else {}
            fields.append({"field": f"f_{field_type.lower()}", "type": field_type, "meta": meta, "schema": {}})
        ok(admin.post("/collections", json={"collection": "typed", "meta": {}, "schema": {}, "fields": fields}))


server = module_server("opmatrix", seed=_typed)


@pytest.mark.parametrize("field_type", list(ALLOWED))
def test_each_type_takes_the_operators_directus_takes(server: LiveServer, field_type: str) -> None:
    refused: dict[str, str] = {}
    accepted: list[str] = []
    with server.client() as admin:
        for op in OPERATORS:
            filter = {f"f_{field_type.lower()}": {op: argument(field_type, op)}}
            response = admin.get("/items/typed", params={"filter": json.dumps(filter)})
            if response.status_code == 200:
                accepted.append(op)
            else:
                refused[op] = error(response, 400, "INVALID_QUERY")
    assert set(accepted) == ALLOWED[field_type]
    for op, message in refused.items():
        assert message == f'Invalid query. "{field_type}" field type does not contain the "{op}" filter operator.'
