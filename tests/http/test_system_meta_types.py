"""Wrong JSON types in the metadata of collections and fields are 400 INVALID_PAYLOAD, never 500 (issue 7 #5).

Found by tests/fuzz/test_system_fuzz.py: a ``meta`` key stored in a typed column of ``directus_collections``
or ``directus_fields`` (``note``, ``sort_field``, ``archive_value``, ``hidden``, ``sort`` ...) given an array,
an object or a number past 64 bits reached the database and answered 500; a ``type`` that is not a string
did too. A refused ``POST /collections`` leaves no table behind.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ID = {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}}


def _collections(admin: httpx.Client) -> list[str]:
    return sorted(c["collection"] for c in admin.get("/collections").json()["data"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/collections", {"collection": "c1", "meta": {"note": []}, "fields": [ID]}),
        ("POST", "/collections", {"collection": "c2", "meta": {"hidden": {"a": 1}}, "fields": [ID]}),
        ("PATCH", "/collections/base", {"meta": {"sort_field": 2**63}}),
        ("PATCH", "/collections/base", {"meta": {"archive_value": [1]}}),
        ("POST", "/fields/base", {"field": "f1", "type": []}),
        ("POST", "/fields/base", {"field": "f2", "type": "integer", "meta": {"note": {}}}),
        ("POST", "/fields/base", {"field": "f3", "type": "integer", "meta": {"sort": "x" * 5}}),
        ("PATCH", "/fields/base/name", {"meta": {"note": [None]}}),
        ("PATCH", "/fields/base/name", {"meta": {"interface": 10**30}}),
    ],
)
def test_wrong_meta_types_are_invalid_payload(admin: httpx.Client, method: str, path: str, body: Any) -> None:
    fields = [ID, {"field": "name", "type": "string", "schema": {}}]
    assert admin.post("/collections", json={"collection": "base", "schema": {}, "fields": fields}).is_success
    before = _collections(admin)
    response = admin.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD", response.text
    assert _collections(admin) == before
    assert admin.get("/server/ping").status_code == 200
