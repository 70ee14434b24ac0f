"""The ``schema_*`` collections the schema tests build, with the same requests that were sent to Directus
12.4.1 to record its answers: an author (integer key, a required string with a default, a unique string), a
post (uuid key, text, decimal, boolean, json, an m2o to its author with an o2m ``posts`` back), and a folder.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.http.accounts_support import ok

AUTHORS: dict[str, Any] = {
    "collection": "schema_authors",
    "meta": {"icon": "person", "note": "Authors"},
    "schema": {},
    "fields": [
        {
            "field": "id",
            "type": "integer",
            "meta": {"hidden": True, "interface": "input", "readonly": True},
            "schema": {"is_primary_key": True, "has_auto_increment": True},
        },
        {
            "field": "name",
            "type": "string",
            "meta": {"interface": "input", "required": True},
            "schema": {"is_nullable": False, "default_value": "anon", "max_length": 120},
        },
        {"field": "email", "type": "string", "meta": {"interface": "input"}, "schema": {"is_unique": True}},
    ],
}
POSTS: dict[str, Any] = {
    "collection": "schema_posts",
    "meta": {"icon": "article"},
    "schema": {},
    "fields": [
        {
            "field": "id",
            "type": "uuid",
            "meta": {"hidden": True, "readonly": True, "special": ["uuid"]},
            "schema": {"is_primary_key": True},
        },
        {"field": "title", "type": "string", "meta": {"interface": "input"}, "schema": {}},
        {"field": "body", "type": "text", "meta": {"interface": "input-multiline"}, "schema": {}},
        {"field": "score", "type": "decimal", "meta": {}, "schema": {"numeric_precision": 10, "numeric_scale": 2}},
        {
            "field": "published",
            "type": "boolean",
            "meta": {"special": ["cast-boolean"]},
            "schema": {"default_value": False},
        },
        {"field": "tags", "type": "json", "meta": {"special": ["cast-json"], "interface": "tags"}, "schema": {}},
    ],
}
AUTHOR_FIELD = {"field": "author", "type": "integer", "meta": {"interface": "select-dropdown-m2o", "special": ["m2o"]}}
AUTHOR_RELATION = {
    "collection": "schema_posts",
    "field": "author",
    "related_collection": "schema_authors",
    "meta": {"one_field": "posts", "one_deselect_action": "nullify"},
    "schema": {"on_delete": "SET NULL"},
}
POSTS_ALIAS = {"field": "posts", "type": "alias", "meta": {"interface": "list-o2m", "special": ["o2m"]}}
FOLDER = {"collection": "schema_folder", "meta": {"icon": "folder"}, "schema": None}


def create_schema_collections(admin: httpx.Client) -> None:
    """The requests in the order the recording sent them: the relation before the o2m alias's field."""
    ok(admin.post("/collections", json=AUTHORS))
    ok(admin.post("/collections", json=POSTS))
    ok(admin.post("/fields/schema_posts", json=AUTHOR_FIELD))
    ok(admin.post("/relations", json=AUTHOR_RELATION))
    ok(admin.post("/fields/schema_authors", json=POSTS_ALIAS))
    ok(admin.post("/collections", json=FOLDER))
