"""Writes over real HTTP: special fields, casting per type, validation errors, constraint errors per engine,
batch limits, and rollback of failed batches (nothing half-written)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.services import articles, clear, codes, items_tables, owned, rows, tokens
from tests.support.live import ADMIN_EMAIL, LiveServer
from tests.support.servers import module_server
from tidepool.db import system
from tidepool.db.errors import Candidates, constraint_error
from tidepool.errors import NotNullViolationError, TidepoolError, ValueOutOfRangeError, ValueTooLongError
from tidepool.security import verify_password
from tidepool.services.items import ItemsService

LIMIT = 5


srv = module_server("items-write", env={"MAX_BATCH_MUTATION": str(LIMIT), "MAX_PAYLOAD_SIZE": "8kb"}, seed=items_tables)


@pytest.fixture
def api(srv: LiveServer) -> Iterator[httpx.Client]:
    clear(srv)
    with srv.client() as client:
        yield client


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code, error
    message: str = error["message"]
    return message


def _create(api: httpx.Client, body: Any, query: str = "") -> Any:
    response = api.post(f"/items/articles{query}", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _admin_id(srv: LiveServer) -> str:
    return str(rows(srv, system.users, system.users.c.email == ADMIN_EMAIL)[0]["id"])


def _utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---- special fields -----------------------------------------------------------------------------------


def test_created_specials_are_server_values_and_overwrite_the_client(api: httpx.Client, srv: LiveServer) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sent = {"title": "t", "date_created": "2000-01-01T00:00:00Z", "user_created": str(uuid.uuid4())}
    item = _create(api, sent)
    assert before - dt.timedelta(seconds=1) <= _utc(item["date_created"]) <= dt.datetime.now(dt.UTC)
    assert item["date_created"].endswith("Z")
    assert item["user_created"] == _admin_id(srv)
    assert item["date_updated"] is None and item["user_updated"] is None


def test_updated_specials_are_set_on_update_only(api: httpx.Client, srv: LiveServer) -> None:
    item = _create(api, {"title": "t"})
    updated = api.patch(f"/items/articles/{item['id']}", json={"views": 1, "date_updated": "1999-01-01T00:00:00Z"})
    data = updated.json()["data"]
    assert data["date_created"] == item["date_created"]
    assert _utc(data["date_updated"]) >= _utc(item["date_created"])
    assert data["user_updated"] == _admin_id(srv)


def test_uuid_special_generates_a_key_unless_given(api: httpx.Client, srv: LiveServer) -> None:
    generated = api.post("/items/tokens", json={"name": "a"}).json()["data"]["id"]
    assert str(uuid.UUID(generated)) == generated
    chosen = str(uuid.uuid4())
    assert api.post("/items/tokens", json={"id": chosen, "name": "b"}).json()["data"]["id"] == chosen
    assert sorted(r["id"] for r in rows(srv, tokens)) == sorted([generated, chosen])


def test_hash_is_stored_as_argon2_and_read_concealed(api: httpx.Client, srv: LiveServer) -> None:
    item = _create(api, {"title": "t", "secret": "hunter2"})
    assert item["secret"] == "**********"
    stored = rows(srv, articles)[0]["secret"]
    assert stored.startswith("$argon2") and verify_password(stored, "hunter2")


def test_casts_csv_json_boolean(api: httpx.Client, srv: LiveServer) -> None:
    item = _create(api, {"title": "t", "tags": ["a", "b"], "meta": {"k": [1, 2]}, "published": "true"})
    assert (item["tags"], item["meta"], item["published"]) == (["a", "b"], {"k": [1, 2]}, True)
    assert rows(srv, articles)[0]["tags"] == "a,b"
    assert _create(api, {"title": "u", "published": 0})["published"] is False


def test_dates_times_and_numbers_round_trip_in_directus_formats(api: httpx.Client) -> None:
    sent = {
        "title": "t",
        "stamp": "2025-01-01T12:00:00+02:00",
        "local": "2025-01-01T10:00:00",
        "day": "2025-03-04",
        "at_time": "10:11:12",
        "price": "12.50",
        "big": "9007199254740993",
        "rating": 1.5,
        "views": "7",
    }
    item = _create(api, sent)
    assert item["stamp"] == "2025-01-01T10:00:00.000Z"
    assert item["local"] == "2025-01-01T10:00:00"
    assert item["day"] == "2025-03-04"
    assert item["at_time"] == "10:11:12"
    assert item["price"] == "12.50"
    assert item["big"] == "9007199254740993"
    assert (item["rating"], item["views"]) == (1.5, 7)


# ---- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("views", "abc", "must be a number"),
        ("views", 1.5, "must be an integer"),
        ("rating", True, "must be a number"),
        ("published", "maybe", "must be a boolean"),
        ("day", "not a date", "must be a valid date"),
        ("stamp", "yesterday", "must be a valid date"),
        ("at_time", "25:99", "must be a valid time"),
        ("ref", "xyz", "must be a valid GUID"),
        ("tags", 5, "must be an array"),
        ("title", {"a": 1}, "must be a string"),
        ("price", "12,5", "must be a number"),
    ],
)
def test_badly_typed_value_is_invalid_payload_naming_the_field(
    api: httpx.Client, srv: LiveServer, field: str, value: Any, reason: str
) -> None:
    message = _error(api.post("/items/articles", json={"title": "t", field: value}), 400, "INVALID_PAYLOAD")
    assert message == f'Invalid payload. "{field}" {reason}.'
    assert rows(srv, articles) == []


def test_required_field_missing_on_create(api: httpx.Client) -> None:
    message = _error(api.post("/items/articles", json={"views": 1}), 400, "FAILED_VALIDATION")
    assert message == 'Validation failed for field "title". Value is required.'
    message = _error(api.post("/items/codes", json={"label": "no key"}), 400, "FAILED_VALIDATION")
    assert message == 'Validation failed for field "code". Value is required.'


def test_non_nullable_field_cannot_be_set_to_null(api: httpx.Client) -> None:
    key = _create(api, {"title": "t"})["id"]
    message = _error(api.patch(f"/items/articles/{key}", json={"title": None}), 400, "FAILED_VALIDATION")
    assert message == 'Validation failed for field "title". Value can\'t be null.'


def test_field_validation_binds_admins_too(api: httpx.Client, srv: LiveServer) -> None:
    response = api.post("/items/codes", json={"code": "A1", "label": "Not Lower"})
    message = _error(response, 400, "FAILED_VALIDATION")
    assert message == 'Validation failed for field "label". Value doesn\'t have the correct format.'
    assert api.post("/items/codes", json={"code": "A1", "label": "lower"}).status_code == 200
    assert [r["label"] for r in rows(srv, codes)] == ["lower"]


def test_empty_hash_stays_empty(api: httpx.Client, srv: LiveServer) -> None:
    _create(api, {"title": "t", "secret": ""})
    assert rows(srv, articles)[0]["secret"] == ""


# ---- database constraints -----------------------------------------------------------------------------


def test_duplicate_unique_value_is_record_not_unique(api: httpx.Client) -> None:
    _create(api, {"title": "a", "slug": "same"})
    message = _error(api.post("/items/articles", json={"title": "b", "slug": "same"}), 400, "RECORD_NOT_UNIQUE")
    assert message == 'Value "same" for field "slug" in collection "articles" has to be unique.'


def test_duplicate_primary_key_is_record_not_unique(api: httpx.Client) -> None:
    assert api.post("/items/codes", json={"code": "A1", "label": "x"}).status_code == 200
    message = _error(api.post("/items/codes", json={"code": "A1"}), 400, "RECORD_NOT_UNIQUE")
    assert message == 'Value "A1" for field "code" in collection "codes" has to be unique.'


def test_unknown_related_key_is_invalid_foreign_key(api: httpx.Client) -> None:
    message = _error(api.post("/items/articles", json={"title": "a", "author": 999}), 400, "INVALID_FOREIGN_KEY")
    assert message == 'Invalid foreign key for field "author" in collection "articles".'


def test_too_long_string_is_value_too_long(api: httpx.Client) -> None:
    message = _error(api.post("/items/articles", json={"title": "x" * 21}), 400, "VALUE_TOO_LONG")
    assert message == 'Value for field "title" in collection "articles" is too long.'


def test_out_of_range_integer_is_value_out_of_range(api: httpx.Client) -> None:
    message = _error(api.post("/items/articles", json={"title": "x", "views": 2**40}), 400, "VALUE_OUT_OF_RANGE")
    assert message == 'Numeric value for field "views" in collection "articles" is out of range.'


def test_null_into_not_null_column_is_not_null_violation(api: httpx.Client, srv: LiveServer) -> None:
    """``user-created`` is filled by the server, so validation lets it through; without a user it is null
    and only the database can refuse it."""
    service = ItemsService(srv.runtime.context(), "owned")  # system context: admin, no user
    with pytest.raises(NotNullViolationError) as caught:
        srv.run(service.create_one({}))
    assert caught.value.message == 'Value for field "owner" in collection "owned" can\'t be null.'
    assert rows(srv, owned) == []


# ---- transactions and limits ----------------------------------------------------------------------------


def test_failed_create_batch_leaves_nothing(api: httpx.Client, srv: LiveServer) -> None:
    batch = [{"title": "a", "slug": "s1"}, {"title": "b", "slug": "s2"}, {"title": "c", "slug": "s1"}]
    _error(api.post("/items/articles", json=batch), 400, "RECORD_NOT_UNIQUE")
    _error(api.post("/items/articles", json=[{"title": "a"}, {"title": "b"}, {"views": 1}]), 400, "FAILED_VALIDATION")
    assert rows(srv, articles) == []


def test_failed_update_batch_changes_nothing(api: httpx.Client, srv: LiveServer) -> None:
    keys = [row["id"] for row in _create(api, [{"title": "a", "slug": "a"}, {"title": "b", "slug": "b"}])]
    batch = [{"id": keys[0], "title": "changed"}, {"id": keys[1], "slug": "a"}]
    _error(api.patch("/items/articles", json=batch), 400, "RECORD_NOT_UNIQUE")
    assert [r["title"] for r in rows(srv, articles)] == ["a", "b"]
    _error(api.patch("/items/articles", json={"keys": keys, "data": {"views": "many"}}), 400, "INVALID_PAYLOAD")
    assert [r["views"] for r in rows(srv, articles)] == [None, None]


def test_batch_mutation_limit(api: httpx.Client, srv: LiveServer) -> None:
    too_many = [{"title": str(i)} for i in range(LIMIT + 1)]
    message = _error(api.post("/items/articles", json=too_many), 400, "INVALID_PAYLOAD")
    assert message == f"Invalid payload. Exceeded max batch mutation limit of {LIMIT}."
    assert rows(srv, articles) == []
    keys = [row["id"] for row in _create(api, too_many[:LIMIT])] + [_create(api, {"title": "extra"})["id"]]
    _error(api.patch("/items/articles", json={"keys": keys, "data": {"views": 1}}), 400, "INVALID_PAYLOAD")
    _error(api.request("DELETE", "/items/articles", json=keys), 400, "INVALID_PAYLOAD")
    by_query = {"query": {"limit": -1}, "data": {"views": 1}}
    _error(api.patch("/items/articles", json=by_query), 400, "INVALID_PAYLOAD")
    assert len(rows(srv, articles)) == LIMIT + 1


def test_body_over_max_payload_size_is_invalid_payload(api: httpx.Client, srv: LiveServer) -> None:
    """Directus 12.4.1's answer (asked of the real server): its JSON parser's error as ``INVALID_PAYLOAD``."""
    response = api.post("/items/articles", json={"title": "t", "body": "x" * 9000})
    message = _error(response, 400, "INVALID_PAYLOAD")
    assert message == "Invalid payload. request entity too large."
    assert rows(srv, articles) == []


def test_codes_string_key_from_url(api: httpx.Client, srv: LiveServer) -> None:
    api.post("/items/codes", json={"code": "K9", "label": "x"})
    assert api.patch("/items/codes/K9", json={"label": "y"}).json()["data"] == {"code": "K9", "label": "y"}
    assert api.delete("/items/codes/K9").status_code == 204
    assert rows(srv, codes) == []


async def _db_error(srv: LiveServer, values: dict[str, Any]) -> Any:
    """Insert bypassing the payload checks, and map what the database answers."""
    info = srv.runtime.schemas.current.collections["articles"]
    try:
        async with srv.runtime.engine.begin() as conn:
            await conn.execute(sa.insert(info.table).values(values))
    except sa.exc.DBAPIError as exc:
        candidates = Candidates(strings=["title"], numbers=["views"])
        return constraint_error(exc, info, srv.runtime.engine.dialect.name, candidates)
    return None


@pytest.mark.parametrize(
    ("values", "error", "field"),
    [
        ({"title": "x" * 30}, ValueTooLongError, "title"),
        ({"title": "x", "views": 2**40}, ValueOutOfRangeError, "views"),
    ],
)
def test_engine_length_and_range_errors_map_when_checks_are_bypassed(
    api: httpx.Client, srv: LiveServer, values: dict[str, Any], error: type[TidepoolError], field: str
) -> None:
    if srv.runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite enforces neither length nor integer range")
    mapped = srv.run(_db_error(srv, values))
    assert isinstance(mapped, error)
    assert mapped.extensions == {"collection": "articles", "field": field}
