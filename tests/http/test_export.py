"""``?export=`` on reads: the bodies and headers Directus 12.4.1 answers, byte for byte.

The reference files in ``export_reference/`` are Directus's answers to
``GET /items/things?export=<fmt>&fields=*,owner.*`` over the same collections and rows (recorded from a live
12.4.1; on SQLite Directus reads booleans as ``1``/``0``, where its PostgreSQL answers, and Tidepool on every
engine, say ``true``/``false``: the files carry the latter).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.live import LiveServer
from tests.support.seed import seed_guide
from tests.support.servers import module_server

REFERENCE = Path(__file__).parent / "export_reference"
STAMP = r"\d{8}-\d{1,2}\d{1,2}\d{1,2}"


def _things(server: LiveServer) -> None:
    """``owners`` and ``things`` (every scalar type an export meets, json, csv, an m2o) with Directus's rows."""
    with server.client() as admin:
        pk = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}
        collections: dict[str, list[dict[str, object]]] = {
            "owners": [{"field": "name", "type": "string"}],
            "things": [
                {"field": "title", "type": "string"},
                {"field": "count", "type": "integer"},
                {"field": "ratio", "type": "float"},
                {"field": "done", "type": "boolean"},
                {"field": "payload", "type": "json", "meta": {"special": ["cast-json"]}},
                {"field": "tags", "type": "csv", "meta": {"special": ["cast-csv"]}},
                {"field": "happened", "type": "dateTime"},
                {"field": "owner", "type": "integer"},
            ],
        }
        for collection, fields in collections.items():
            body = {"collection": collection, "schema": {}, "meta": {}, "fields": [pk, *fields]}
            assert admin.post("/collections", json=body).status_code == 200
        relation = {"collection": "things", "field": "owner", "related_collection": "owners"}
        assert admin.post("/relations", json=relation).status_code == 200
        owners = [{"name": 'Ann "the" <boss> & co'}, {"name": "Bob"}]
        assert admin.post("/items/owners", json=owners).status_code == 200
        things = [
            {
                "title": "plain",
                "count": 3,
                "ratio": 1.5,
                "done": True,
                "payload": {"a": {"b": 1}, "list": [1, "x"], "empty": {}},
                "tags": ["red", "green"],
                "happened": "2024-01-02T03:04:05",
                "owner": 1,
            },
            {
                "title": 'quote "me", ok\nnew line',
                "count": None,
                "ratio": 0.1,
                "done": False,
                "payload": "str",
                "tags": [],
                "owner": None,
            },
            {},
        ]
        assert admin.post("/items/things", json=things).status_code == 200
        seed_guide(admin)


srv = module_server("export", seed=_things)


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


@pytest.mark.parametrize(
    ("export", "extension", "content_type"),
    [
        ("csv", "csv", "text/csv; charset=utf-8"),
        ("json", "json", "application/json; charset=utf-8"),
        ("xml", "xml", "text/xml; charset=utf-8"),
        ("yaml", "yaml", "text/yaml; charset=utf-8"),
    ],
)
def test_export_matches_directus_byte_for_byte(
    admin: httpx.Client, export: str, extension: str, content_type: str
) -> None:
    response = admin.get("/items/things", params={"export": export, "fields": "*,owner.*"})
    assert response.status_code == 200, response.text
    assert response.text == (REFERENCE / f"things.{extension}").read_text(encoding="utf-8")
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "no-cache"
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(rf'attachment; filename="things {STAMP}\.{extension}"', disposition), disposition


def test_csv_utf8_is_csv_with_a_byte_order_mark(admin: httpx.Client) -> None:
    response = admin.get("/items/things", params={"export": "csv_utf8", "fields": "*,owner.*"})
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.content[3:].decode() == (REFERENCE / "things.csv").read_text(encoding="utf-8")
    assert response.headers["content-disposition"].endswith('.csv"')


# Directus's answers when nothing matches: CSV is empty, the others an empty list.
EMPTY = {"csv": "", "json": "[]", "xml": "<?xml version='1.0'?>\n<data/>", "yaml": "[]\n"}


@pytest.mark.parametrize("export", sorted(EMPTY))
def test_an_export_of_nothing(admin: httpx.Client, export: str) -> None:
    response = admin.get("/items/things", params={"export": export, "filter[id][_eq]": "99"})
    assert response.status_code == 200
    assert response.text == EMPTY[export]


def test_csv_leaves_out_rows_without_a_value_as_json2csv_does(admin: httpx.Client) -> None:
    """Row 3 has neither a title nor a count: Directus's CSV has no line for it."""
    response = admin.get("/items/things", params={"export": "csv", "fields": "title,count", "filter[id][_gt]": "1"})
    assert response.text == '"title","count"\n"quote ""me"", ok\nnew line",'


def test_one_item_exports_as_an_object(admin: httpx.Client) -> None:
    xml = admin.get("/items/things/1", params={"export": "xml", "fields": "id,title,tags"}).text
    assert xml == (
        "<?xml version='1.0'?>\n<data>\n    <id>1</id>\n    <title>plain</title>\n"
        "    <tags>red</tags>\n    <tags>green</tags>\n</data>"
    )
    csv = admin.get("/items/things/1", params={"export": "csv", "fields": "id,title"}).text
    assert csv == '"id","title"\n1,"plain"'


def test_system_collections_export_under_their_directus_name(admin: httpx.Client) -> None:
    response = admin.get("/roles", params={"export": "yaml", "fields": "name", "sort": "name"})
    assert response.status_code == 200
    assert yaml.safe_load(response.text) == [{"name": "Administrator"}, {"name": "Messages Role"}]
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(rf'attachment; filename="directus_roles {STAMP}\.yaml"', disposition)


def test_an_unknown_format_is_directus_invalid_query(admin: httpx.Client) -> None:
    response = admin.get("/items/things", params={"export": "bogus"})
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "message": 'Invalid query. "export" must be one of [csv, csv_utf8, json, xml, yaml].',
        "extensions": {"reason": '"export" must be one of [csv, csv_utf8, json, xml, yaml]', "code": "INVALID_QUERY"},
    }


def test_an_export_reads_with_the_callers_permissions(srv: LiveServer) -> None:
    """The limited user may read ``messages`` only: its export holds its rows, ``things`` stays forbidden."""
    with srv.client() as admin:
        assert admin.post("/items/messages", json=[{"text": "one"}, {"text": "two"}]).status_code == 200
    with srv.client(token="messages-user-static-token") as user:
        response = user.get("/items/messages", params={"export": "json", "fields": "text", "sort": "id"})
        assert response.status_code == 200
        assert response.json() == [{"text": "one"}, {"text": "two"}]
        assert user.get("/items/things", params={"export": "csv"}).status_code == 403


def test_a_large_export_streams_every_row(srv: LiveServer) -> None:
    """More rows than one encoded chunk: the streamed document is whole and in order."""
    with srv.client() as admin:
        rows = [{"text": f"row {n}"} for n in range(1_200)]
        assert admin.post("/items/messages?fields=id", json=rows).status_code == 200
        response = admin.get("/items/messages", params={"export": "csv", "fields": "text", "limit": "-1", "sort": "id"})
    lines = response.text.split("\n")
    assert lines[0] == '"text"'
    texts = [line.strip('"') for line in lines[1:]]
    assert texts[-1200:] == [f"row {n}" for n in range(1_200)]
