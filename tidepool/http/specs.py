"""``GET /server/specs/oas``: an OpenAPI 3 document of this server, as the caller may use it.

Nothing here lists the endpoints: the document is generated from the app's own route table
(``tidepool.http.routes.build_routes``) and the live schema overview, so a new route or collection is in it
at once. As in Directus 12.4.1:

- each route's tag is its path's first segment (``/users/me`` → ``Users``, ``/auth/login`` →
  ``Authentication``); a segment naming a system collection (``/roles`` → ``directus_roles``) ties the tag to
  it, and its operations are listed only for the actions the caller has on that collection; ``/schema`` is
  for admins, ``/utils`` for signed-in users;
- ``/items/{collection}`` becomes one pair of paths per collection the caller may read (``/items/messages``,
  ``/items/messages/{id}``), tagged ``Items`` and ``ItemsMessages``, each method only for an action the caller
  has, with ``components.schemas.ItemsMessages`` listing the fields it may read;
- the item routes of every collection-like resource (``tidepool.http.crud``) get typed bodies and answers.

Where Tidepool's document differs on purpose: it describes what Tidepool answers (deletes are ``204``, writes
may be ``204`` when the result is not readable, every operation lists its error answers), and ``info.version``
names the schema and access it was made from instead of the time, so an unchanged document has an unchanged
version. The document is kept per (schema, access generation, caller's policies) on the app's ``SpecCache``.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tidepool.context import Access, Action
from tidepool.db.schema import CollectionInfo, SchemaOverview
from tidepool.db.system import is_system_collection
from tidepool.http import spec_schemas as s
from tidepool.http.context import request_context, runtime_of
from tidepool.http.crud import Crud
from tidepool.http.responses import JSONResponse, dumps

JSON = dict[str, Any]

ACTIONS: Mapping[str, Action] = {
    "get": Action.READ,
    "post": Action.CREATE,
    "patch": Action.UPDATE,
    "delete": Action.DELETE,
}

# Who sees a tag that is not tied to a collection (default: everyone).
# Who is shown the routes that no system collection governs, by tag; a tag not listed is the admin's (a new
# route stays out of other callers' documents until it is placed here).
TAG_AUDIENCE: Mapping[str, str] = {"Server": "public", "Authentication": "public"}  # as Directus 12.4.1 lists them

ITEMS_PATH = "/items/{collection}"


@dataclass(frozen=True)
class CrudKind:
    """One of the seven item handlers (``Crud``): how Directus names and describes its operation."""

    summary: str
    operation: str  # operationId prefix: read, readSingle, create ...
    on_item: bool


CRUD_KINDS: Mapping[str, CrudKind] = {
    "read_list": CrudKind("List Items", "read", False),
    "create": CrudKind("Create Items", "create", False),
    "update_list": CrudKind("Update Multiple Items", "update", False),
    "delete_list": CrudKind("Delete Multiple Items", "delete", False),
    "read_item": CrudKind("Retrieve an Item", "readSingle", True),
    "update_item": CrudKind("Update an Item", "updateSingle", True),
    "delete_item": CrudKind("Delete an Item", "deleteSingle", True),
}


@dataclass(frozen=True)
class Endpoint:
    """One (path, method) of the route table."""

    path: str
    method: str  # lower case, as OpenAPI writes it
    handler: Callable[..., Any]

    @property
    def segment(self) -> str:
        return self.path.strip("/").split("/", 1)[0]

    @property
    def crud(self) -> CrudKind | None:
        owner = getattr(self.handler, "__self__", None)
        return CRUD_KINDS.get(self.handler.__name__) if isinstance(owner, Crud) else None


def endpoints(routes: Sequence[BaseRoute]) -> Iterator[Endpoint]:
    """Every HTTP (path, method) of the table; ``HEAD`` (Starlette's twin of ``GET``), ``SEARCH`` (``GET``'s
    read with the query in the body; OpenAPI 3.0 has no such operation, and Directus's document leaves it out
    too), mounts, sockets and routes that are pages, not API (``include_in_schema=False``: the Studio, the
    examples) left out."""
    for route in routes:
        if isinstance(route, Route) and route.include_in_schema:
            for method in sorted(route.methods or ()):
                if method not in ("HEAD", "SEARCH"):
                    yield Endpoint(_plain_path(route.path), method.lower(), route.endpoint)


def _plain_path(path: str) -> str:
    """OpenAPI's form of a Starlette path: ``/shares/info/{id:uuid}`` is ``/shares/info/{id}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


# ------------------------------------------------------------------------------------------ document


@dataclass
class Builder:
    """Builds one caller's document from the route table and the schema."""

    routes: Sequence[BaseRoute]
    schema: SchemaOverview
    access: Access
    signed_in: bool
    tags: OrderedDict[str, JSON] = field(default_factory=OrderedDict)
    paths: dict[str, JSON] = field(default_factory=dict)
    shown: set[str] = field(default_factory=set)  # collections with a schema in the document
    operation_ids: set[str] = field(default_factory=set)

    def build(self, server_url: str, version: str) -> JSON:
        visible = s.visible_collections(self.schema, self.access)
        self.shown = {c.name for c in visible if not is_system_collection(c.name)}
        self.shown |= {c for c in (self._system_collection(e.segment) for e in endpoints(self.routes)) if c}
        self.shown &= {c.name for c in visible}
        for endpoint in endpoints(self.routes):
            if endpoint.path.startswith(ITEMS_PATH):
                for info in visible:
                    if not is_system_collection(info.name):
                        self._items_operation(endpoint, info)
            else:
                self._system_operation(endpoint)
        return {
            "openapi": "3.0.1",
            "info": {
                "title": "Dynamic API Specification",
                "description": "This is a dynamically generated API specification for all endpoints existing "
                "on the current project.",
                "version": version,
            },
            "servers": [{"url": server_url, "description": "Your current Tidepool instance."}],
            "paths": self.paths,
            "tags": list(self.tags.values()),
            "components": self._components(),
        }

    # ---- which operations the caller sees

    def _system_collection(self, segment: str) -> str | None:
        name = f"directus_{segment}"
        return name if name in self.schema.collections else None

    def _allowed(self, collection: str, method: str) -> bool:
        return self.access.allows(collection, ACTIONS.get(method, Action.READ))

    def _system_operation(self, endpoint: Endpoint) -> None:
        tag = s.tag_for_segment(endpoint.segment)
        collection = self._system_collection(endpoint.segment)
        if collection is not None:
            if not self._allowed(collection, endpoint.method):
                return
            self.tags.setdefault(tag, {"name": tag, "x-collection": collection})
        else:
            audience = TAG_AUDIENCE.get(tag, "admin")
            if (audience == "admin" and not self.access.admin) or (audience == "user" and not self.signed_in):
                return
            self.tags.setdefault(tag, {"name": tag})
        info = self.schema.collection(collection) if collection else None
        if info is not None and endpoint.crud is not None:
            operation = self._crud_operation(endpoint.crud, endpoint.method, info, [tag])
        else:
            operation = self._plain_operation(endpoint, tag)
        operation["parameters"] = self._path_parameters(endpoint.path, info) + operation.get("parameters", [])
        self.paths.setdefault(endpoint.path, {})[endpoint.method] = operation

    def _items_operation(self, endpoint: Endpoint, info: CollectionInfo) -> None:
        kind = endpoint.crud
        if kind is None or not self._allowed(info.name, endpoint.method):
            return
        tag = s.schema_name(info.name)
        entry: JSON = {"name": tag, "x-collection": info.name}
        if info.note:
            entry["description"] = info.note
        self.tags.setdefault(tag, entry)
        path = endpoint.path.replace("{collection}", info.name)
        operation = self._crud_operation(kind, endpoint.method, info, ["Items", tag])
        operation["parameters"] = self._path_parameters(path, info) + operation.get("parameters", [])
        self.paths.setdefault(path, {})[endpoint.method] = operation

    # ---- operations

    def _unique(self, operation_id: str, tag: str) -> str:
        candidate = operation_id if operation_id not in self.operation_ids else operation_id + tag
        self.operation_ids.add(candidate)
        return candidate

    def _plain_operation(self, endpoint: Endpoint, tag: str) -> JSON:
        name = endpoint.handler.__name__
        doc = (endpoint.handler.__doc__ or "").strip().split("\n\n", 1)[0]
        operation: JSON = {
            "summary": name.replace("_", " ").strip().capitalize(),
            "tags": [tag],
            "operationId": self._unique(_camel(name), tag),
            "responses": {"200": {"description": "Successful request"}, **s.ERROR_REFS},
        }
        if doc:
            operation["description"] = " ".join(doc.split())
        if endpoint.method != "get":
            operation["responses"]["204"] = {"$ref": "#/components/responses/NoContentResponse"}
            operation["responses"]["415"] = s.UNSUPPORTED_MEDIA_TYPE  # a body of a type the route does not read
            if endpoint.method in ("post", "patch"):
                operation["requestBody"] = {"content": {"application/json": {"schema": {}}}}
        return operation

    def _crud_operation(self, kind: CrudKind, method: str, info: CollectionInfo, tags: list[str]) -> JSON:
        tag = tags[-1]
        ref: JSON = {"$ref": f"#/components/schemas/{tag}"}
        operation: JSON = {
            "summary": kind.summary,
            "description": f"{kind.summary} of {info.name}.",
            "tags": tags,
            "operationId": self._unique(kind.operation + tag, tag),
            "security": [{"Auth": []}, {"KeyAuth": []}, {}],
        }
        if method == "get":
            operation["parameters"] = s.refs(s.ITEM_PARAMETERS if kind.on_item else s.LIST_PARAMETERS)
            many = not kind.on_item and not info.singleton
            rows: JSON = {"type": "array", "items": ref} if many else ref
            operation["responses"] = {"200": _read_answer(rows, with_meta=many), **s.ERROR_REFS}
            return operation
        if method == "delete":
            operation["responses"] = {"204": {"$ref": "#/components/responses/NoContentResponse"}, **s.ERROR_REFS}
            if not kind.on_item:
                keys = {"type": "array", "items": self._key_schema(info)}
                operation["requestBody"] = _json_body(_delete_body(keys))
            return operation
        operation["parameters"] = s.refs(s.WRITE_PARAMETERS)
        data = ref if kind.on_item or info.singleton else {"oneOf": [{"type": "array", "items": ref}, ref]}
        operation["responses"] = {
            "200": _data_answer(data),
            "204": {"$ref": "#/components/responses/NoContentResponse"},
            **s.ERROR_REFS,
        }
        operation["requestBody"] = _json_body(self._write_body(kind, method, info, ref))
        return operation

    def _write_body(self, kind: CrudKind, method: str, info: CollectionInfo, ref: JSON) -> JSON:
        if method == "post":
            required = s.required_fields(info)
            item = {"allOf": [ref, {"type": "object", "required": required}]} if required else ref
            return {"oneOf": [{"type": "array", "items": item}, item]}
        if kind.on_item or info.singleton:
            return ref
        keys = {"type": "array", "items": self._key_schema(info)}
        return {
            "oneOf": [
                {"type": "array", "items": ref},
                {"type": "object", "required": ["keys", "data"], "properties": {"keys": keys, "data": ref}},
                {
                    "type": "object",
                    "required": ["query", "data"],
                    "properties": {"query": {"type": "object"}, "data": ref},
                },
            ]
        }

    def _key_schema(self, info: CollectionInfo) -> JSON:
        key = info.fields.get(info.primary_key)
        return dict(s.FIELD_TYPES.get(key.type, {})) if key else {}

    def _path_parameters(self, path: str, info: CollectionInfo | None) -> list[JSON]:
        out = []
        for name in re.findall(r"{(\w+)(?::\w+)?}", path):
            schema = self._key_schema(info) if name == "id" and info is not None else {"type": "string"}
            out.append({"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}})
        return out

    # ---- components

    def _components(self) -> JSON:
        schemas: JSON = {"Error": s.ERROR_SCHEMA, "x-metadata": s.METADATA_SCHEMA}
        for name in sorted(self.shown):
            info = self.schema.collections[name]
            schemas[s.schema_name(name)] = s.collection_schema(self.schema, info, self.access, self.shown)
        return {
            "schemas": schemas,
            "parameters": dict(s.PARAMETERS),
            "responses": dict(s.ERROR_RESPONSES),
            "securitySchemes": s.SECURITY_SCHEMES,
        }


def _camel(name: str) -> str:
    first, *rest = name.strip("_").split("_")
    return first + "".join(part.capitalize() for part in rest)


def _json_body(schema: JSON) -> JSON:
    return {"content": {"application/json": {"schema": schema}}}


def _data_answer(data: JSON, meta: bool = False) -> JSON:
    properties: JSON = {"data": data}
    if meta:
        properties["meta"] = {"$ref": "#/components/schemas/x-metadata"}
    return {
        "description": "Successful request",
        "content": {"application/json": {"schema": {"type": "object", "properties": properties}}},
    }


def _read_answer(data: JSON, with_meta: bool) -> JSON:
    """A read's JSON answer, or the ``?export=`` file (``tidepool.http.export``): ``export=json`` answers the
    bare ``data``, without the envelope."""
    answer = _data_answer(data, with_meta)
    json = answer["content"]["application/json"]
    json["schema"] = {"anyOf": [json["schema"], data]}
    for media in ("text/csv", "text/xml"):
        answer["content"][media] = {"schema": {"type": "string"}}
    answer["content"]["text/yaml"] = {"schema": data}  # YAML reads back as the rows themselves
    return answer


def _delete_body(keys: JSON) -> JSON:
    """``DELETE`` on a collection: an array of keys, ``{"keys": [...]}`` or ``{"query": {...}}``."""
    return {
        "oneOf": [
            keys,
            {"type": "object", "required": ["keys"], "properties": {"keys": keys}},
            {"type": "object", "required": ["query"], "properties": {"query": {"type": "object"}}},
        ]
    }


# ------------------------------------------------------------------------------------------ serving


class SpecCache:
    """Documents already built, by (schema version, access generation, caller): building one walks every route
    and collection, and clients (the SDK, code generators) ask for it repeatedly. Bounded, oldest dropped."""

    LIMIT = 64

    def __init__(self) -> None:
        self._documents: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()

    def get(self, key: tuple[Any, ...], build: Callable[[], bytes]) -> bytes:
        found = self._documents.get(key)
        if found is None:
            found = self._documents[key] = build()
            while len(self._documents) > self.LIMIT:
                self._documents.popitem(last=False)
        self._documents.move_to_end(key)
        return found


async def oas(request: Request) -> Response:
    ctx = await request_context(request)
    runtime = runtime_of(request)
    accountability = ctx.accountability
    settings = runtime.settings
    server_url = str(request.base_url).rstrip("/") if settings.PUBLIC_URL == "/" else settings.PUBLIC_URL
    who = (accountability.admin, accountability.user, accountability.role, accountability.policies)
    key = (runtime.schemas.version, runtime.access_cache.generation, who, server_url)
    version = hashlib.sha1(repr(key).encode()).hexdigest()
    routes = request.app.routes
    cache: SpecCache = request.app.state.specs

    def build() -> bytes:
        builder = Builder(routes, ctx.schema, ctx.access, signed_in=not accountability.is_public)
        return dumps(builder.build(server_url, version))

    return Response(cache.get(key, build), media_type=JSONResponse.media_type)
