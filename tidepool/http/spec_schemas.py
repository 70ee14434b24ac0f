"""The OpenAPI components of ``/server/specs/oas``: one schema per collection (from the schema overview, as the
caller may read it), Directus's query parameters, error responses and security schemes.

A collection's schema is named as in Directus (``ItemsMessages`` for ``messages``, ``Users`` for
``directus_users``) and lists every field the caller may read, typed by Directus's table of field types; an
m2o is "the key or the related object", an o2m a list of those. The response schemas carry no ``required``
list, because ``?fields=`` may leave any field out; the create body adds it (fields that are not nullable and
have neither a default nor an automatic value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.context import Access, Action
from tidepool.db.schema import CollectionInfo, FieldInfo, SchemaOverview
from tidepool.db.system import is_system_collection
from tidepool.query.parse import EXPORT_FORMATS
from tidepool.query.visibility import grants

JSON = dict[str, Any]

# Directus's field type → JSON schema (its OAS table, ``fieldTypes`` in the specifications service), but where
# its values would not conform: ``bigInteger`` and ``decimal`` are strings on every engine (as Directus on
# PostgreSQL answers them; ``tidepool.query.values``), and ``dateTime`` and ``time`` carry no time zone
# (``2024-01-02T03:04:05``, ``12:30:00``), which JSON Schema's ``date-time`` and ``time`` formats require, so
# they are described by a pattern.
_DATE = r"^-?\d{4,}-\d{2}-\d{2}"
FIELD_TYPES: Mapping[str, JSON] = {
    "alias": {"type": "string"},
    "bigInteger": {"type": "string", "format": "int64", "pattern": r"^-?\d+$"},
    "boolean": {"type": "boolean"},
    "csv": {"type": "array", "items": {"type": "string"}},
    "date": {"type": "string", "format": "date"},
    "dateTime": {"type": "string", "pattern": _DATE + r"T\d{2}:\d{2}:\d{2}"},
    "decimal": {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"},
    "float": {"type": "number", "format": "float"},
    "hash": {"type": "string"},
    "integer": {"type": "integer"},
    "json": {},
    "string": {"type": "string"},
    "text": {"type": "string"},
    "time": {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?"},
    "timestamp": {"type": "string", "format": "timestamp"},
    "unknown": {},
    "uuid": {"type": "string", "format": "uuid"},
}

# The names Directus gives a tag that is not its path's first segment in title case.
TAG_NAMES: Mapping[str, str] = {"auth": "Authentication", "utils": "Utilities"}


def title(name: str) -> str:
    """Directus's ``formatTitle`` without spaces: ``my_things`` → ``MyThings``."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_") if part)


def tag_for_segment(segment: str) -> str:
    return TAG_NAMES.get(segment, title(segment))


def schema_name(collection: str) -> str:
    """``directus_users`` → ``Users``; ``messages`` → ``ItemsMessages``."""
    if is_system_collection(collection):
        return title(collection.split("_", 1)[1])
    return "Items" + title(collection)


def readable_fields(info: CollectionInfo, access: Access) -> list[FieldInfo]:
    """The fields some read permission of the caller grants (all of them for an admin)."""
    if access.admin:
        return list(info.fields.values())
    permissions = access.rules(info.name, Action.READ)
    return [f for f in info.fields.values() if any(grants(p, f.name) for p in permissions)]


def visible_collections(schema: SchemaOverview, access: Access) -> list[CollectionInfo]:
    """The collections the caller may read at least one field of, by name."""
    return [info for _, info in sorted(schema.collections.items()) if readable_fields(info, access)]


def _related(schema: SchemaOverview, collection: str | None, shown: set[str]) -> JSON | None:
    """ "The key or the object" of a related collection the document describes (else nothing: the key only)."""
    info = schema.collection(collection) if collection else None
    if info is None or info.name not in shown:
        return None
    key = info.fields.get(info.primary_key)
    key_schema = dict(FIELD_TYPES.get(key.type, {})) if key else {}
    return {"oneOf": [key_schema, {"$ref": f"#/components/schemas/{schema_name(info.name)}"}]}


def field_schema(schema: SchemaOverview, info: CollectionInfo, field: FieldInfo, shown: set[str]) -> JSON:
    out: JSON = {"nullable": field.nullable}
    note = (field.meta or {}).get("note")
    if note:
        out["description"] = note
    m2o = schema.m2o(info.name, field.name)
    o2m = schema.o2m(info.name, field.name)
    if m2o is not None:
        related = _related(schema, m2o.related_collection, shown)
        return out | (related or dict(FIELD_TYPES.get(field.type, {})))
    if o2m is not None:
        related = _related(schema, o2m.collection, shown)
        return out | ({"type": "array", "items": related} if related else {"type": "array"})
    return out | dict(FIELD_TYPES.get(field.type, {}))


def collection_schema(schema: SchemaOverview, info: CollectionInfo, access: Access, shown: set[str]) -> JSON:
    properties = {f.name: field_schema(schema, info, f, shown) for f in readable_fields(info, access)}
    return {"type": "object", "properties": properties, "x-collection": info.name}


def required_fields(info: CollectionInfo) -> list[str]:
    """What a create must give: not nullable, no default, not generated by the database or a special."""
    return [
        f.name
        for f in info.column_fields
        if not f.nullable and f.default is None and not f.auto_increment and not f.special and not f.primary_key
    ]


def _error_response(description: str) -> JSON:
    errors = {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object", "properties": {"errors": errors}}}},
    }


ERROR_SCHEMA: JSON = {
    "type": "object",
    "required": ["message", "extensions"],
    "properties": {
        "message": {"type": "string"},
        "extensions": {
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string"}},
            "additionalProperties": True,
        },
    },
}

METADATA_SCHEMA: JSON = {
    "type": "object",
    "properties": {
        "total_count": {"description": "Items in the collection.", "type": "integer"},
        "filter_count": {"description": "Items matching the filter and search.", "type": "integer"},
    },
}

ERROR_RESPONSES: Mapping[str, JSON] = {
    "BadRequestError": _error_response("Error: Bad request."),
    "UnauthorizedError": _error_response("Error: Unauthorized request."),
    "ForbiddenError": _error_response("Error: Forbidden."),
    "NotFoundError": _error_response("Error: Not found."),
    "TooManyRequestsError": _error_response("Error: Too many requests."),
    "NoContentResponse": {"description": "No content"},
}

# Every operation may answer these (a bad query, a bad token, no permission, no such item or route).
ERROR_REFS: Mapping[str, JSON] = {
    "400": {"$ref": "#/components/responses/BadRequestError"},
    "401": {"$ref": "#/components/responses/UnauthorizedError"},
    "403": {"$ref": "#/components/responses/ForbiddenError"},
    "404": {"$ref": "#/components/responses/NotFoundError"},
}

SECURITY_SCHEMES: JSON = {
    "KeyAuth": {"type": "apiKey", "in": "query", "name": "access_token"},
    "Auth": {"type": "apiKey", "in": "header", "name": "Authorization"},
}


def _query_parameter(name: str, description: str, schema: JSON, **how: Any) -> JSON:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema} | how


def _json_parameter(name: str, description: str) -> JSON:
    """A parameter sent as JSON text (``filter={"a":{"_eq":1}}``), as Directus documents it."""
    content = {"application/json": {"schema": {"type": "object"}}}
    return {"name": name, "in": "query", "required": False, "description": description, "content": content}


_STRINGS: JSON = {"type": "array", "items": {"type": "string"}}
_COMMAS = {"style": "form", "explode": False}  # ``fields=a,b``
_META_NAMES: JSON = {"type": "array", "items": {"type": "string", "enum": ["total_count", "filter_count"]}}
_META: JSON = {"oneOf": [{"type": "string"}, _META_NAMES]}

# Directus's query parameters (components/parameters), in its order and forms; descriptions are Tidepool's own.
PARAMETERS: Mapping[str, JSON] = {
    "Fields": _query_parameter("fields", "Fields to return (dot paths reach related items).", _STRINGS, **_COMMAS),
    "Filter": _json_parameter("filter", "Only items matching this filter."),
    "Search": _query_parameter("search", "Only items with this text in a searchable field.", {"type": "string"}),
    "Sort": _query_parameter("sort", "Sort by these fields (``-`` for descending).", _STRINGS, **_COMMAS),
    "Limit": _query_parameter("limit", "How many items to return (-1: all).", {"type": "integer", "minimum": -1}),
    "Offset": _query_parameter("offset", "How many items to skip.", {"type": "integer"}),
    "Page": _query_parameter("page", "The page of ``limit`` items to return.", {"type": "integer"}),
    "Aggregate": _json_parameter("aggregate", "Aggregate functions over fields."),
    "GroupBy": _query_parameter("groupBy", "Group the aggregates by these fields.", _STRINGS, **_COMMAS),
    "Deep": _json_parameter("deep", "Query parameters for related items."),
    "Alias": _json_parameter("alias", "Other names for fields."),
    "Export": _query_parameter(
        "export", "Answer with a file in this format.", {"type": "string", "enum": list(EXPORT_FORMATS)}
    ),
    "Meta": _query_parameter("meta", "Counts to add in ``meta``.", _META, **_COMMAS),
    "Backlink": _query_parameter("backlink", "Whether ``*.*`` goes back along o2m links.", {"type": "boolean"}),
}

LIST_PARAMETERS = tuple(PARAMETERS)
ITEM_PARAMETERS = ("Fields", "Export")
WRITE_PARAMETERS = ("Fields",)


def refs(names: tuple[str, ...]) -> list[JSON]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]
