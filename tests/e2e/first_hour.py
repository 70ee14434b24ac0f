"""A Directus user's first hour, as HTTP requests: sign in, look around, make a collection, upload and
transform a file, export, read the OpenAPI document and the activity, take a schema snapshot, use the
utilities, and a browser's CORS preflight. ``run`` sends them in order to one server and returns comparable
answers (tests/e2e/answers.py): status, content type, the CORS and range headers, and the body's shape.

Everything it creates is named ``sw_hour`` / ``sw-hour`` and removed at the end (unrecorded), so the list can
be recorded from a shared Directus (record_directus.py) and replayed against Tidepool (test_first_hour.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.answers import UUID, Answer, request_label, shape

EXPECTED = Path(__file__).resolve().parent / "expected" / "first_hour.json"
USER_TOKEN = "messages-user-static-token"
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
SHOWN_HEADERS = ("access-control-allow-origin", "access-control-allow-methods", "access-control-allow-credentials")
State = dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One request; ``path`` and ``options`` may use what earlier steps kept in the state, ``keep`` keeps
    something of the answer for later steps, ``body`` picks the comparable part of a JSON body."""

    name: str
    method: str
    path: str | Callable[[State], str]
    options: Callable[[State], dict[str, Any]] = lambda state: {}
    who: str = "admin"  # admin | user | anonymous | session (the token of the login step)
    keep: Callable[[State, httpx.Response], None] | None = None
    body: Callable[[Any], Any] = lambda data: data
    extra: dict[str, Any] = field(default_factory=dict)


def _json(data: Any) -> dict[str, Any]:
    return {"json": data}


def _keep_data(key: str, attribute: str = "id") -> Callable[[State, httpx.Response], None]:
    def keep(state: State, response: httpx.Response) -> None:
        if response.status_code == 200:
            state[key] = response.json()["data"][attribute]

    return keep


def _openapi(spec: Any) -> Any:
    paths = sorted(p for p in spec.get("paths", {}) if not p.startswith("/items/") or p.startswith("/items/sw_"))
    return {"openapi": spec.get("openapi"), "paths": paths}


def _snapshot(data: Any) -> Any:
    snapshot = data.get("data", data)
    mine = [
        {k: [r for r in snapshot.get(k) or [] if str(r.get("collection", "")).startswith("sw_")]}
        for k in ("collections", "fields", "relations")
    ]
    return {"keys": sorted(snapshot), "version": snapshot.get("version"), "mine": mine}


def _keys(data: Any) -> Any:
    return {"data": sorted(data.get("data", {}))} if isinstance(data, dict) else data


HOUR_COLLECTION = {
    "collection": "sw_hour",
    "meta": {"sort_field": "sort"},
    "schema": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "title", "type": "string", "meta": {}, "schema": {}},
        {"field": "sort", "type": "integer", "meta": {"hidden": True}, "schema": {}},
    ],
}
# The body the Data Studio's role page saves: a new policy (with its permissions) through the access junction
# and a new user, nested in the role's PATCH.
NESTED_ROLE_SAVE = {
    "policies": {
        "create": [
            {
                "policy": {
                    "name": "sw hour policy",
                    "permissions": {
                        "create": [
                            {
                                "collection": "sw_hour",
                                "action": action,
                                "fields": ["*"],
                                "permissions": {},
                                "validation": {},
                            }
                            for action in ("create", "read")
                        ],
                        "update": [],
                        "delete": [],
                    },
                }
            }
        ],
        "update": [],
        "delete": [],
    },
    "users": {
        "create": [{"email": "sw-hour-walker@example.com", "password": "walker-pass"}],
        "update": [],
        "delete": [],
    },
}
PREFLIGHT = {
    "Origin": "http://app.example.com",
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "authorization,content-type",
}

STEPS: list[Step] = [
    Step("ping", "GET", "/server/ping", who="anonymous"),
    Step("server info, signed out", "GET", "/server/info", who="anonymous"),
    Step("server health", "GET", "/server/health", body=lambda d: sorted(d)),
    Step("login form: providers", "GET", "/auth?sessionOnly", who="anonymous"),
    Step(
        "log in (json)",
        "POST",
        "/auth/login",
        lambda s: _json({"email": "admin@example.com", "password": "admin-pass"}),
        who="anonymous",
        keep=lambda s, r: s.update(tokens=r.json()["data"]) if r.status_code == 200 else None,
    ),
    Step(
        "log in (session)",
        "POST",
        "/auth/login",
        lambda s: _json({"email": "admin@example.com", "password": "admin-pass", "mode": "session"}),
        who="anonymous",
    ),
    Step(
        "log in (wrong password)",
        "POST",
        "/auth/login",
        lambda s: _json({"email": "admin@example.com", "password": "nope"}),
        who="anonymous",
    ),
    Step(
        "refresh",
        "POST",
        "/auth/refresh",
        lambda s: _json({"refresh_token": s.get("tokens", {}).get("refresh_token"), "mode": "json"}),
        who="anonymous",
    ),
    Step("me", "GET", "/users/me", who="session"),
    Step("me, studio fields", "GET", "/users/me?fields=*,avatar.id,role.id,role.name", who="session"),
    Step("track page", "PATCH", "/users/me/track/page", lambda s: _json({"last_page": "/content"}), who="session"),
    Step("my permissions", "GET", "/permissions/me", body=lambda d: sorted(d.get("data", {})) if "data" in d else d),
    Step("my roles", "GET", "/roles/me"),
    Step("my policy globals", "GET", "/policies/me/globals"),
    Step("settings", "GET", "/settings"),
    Step("update settings", "PATCH", "/settings", lambda s: _json({"project_descriptor": "sw hour"}), body=_keys),
    Step("presets", "GET", "/presets?limit=-1&filter[collection][_eq]=sw_hour"),
    Step("translations", "GET", "/translations?limit=-1&filter[key][_starts_with]=sw_"),
    Step("extensions", "GET", "/extensions"),
    Step("create a collection", "POST", "/collections", lambda s: _json(HOUR_COLLECTION)),
    Step("its fields", "GET", "/fields/sw_hour"),
    Step(
        "create items",
        "POST",
        "/items/sw_hour",
        lambda s: _json([{"title": "alpha"}, {"title": "beta"}, {"title": "gamma"}]),
        keep=lambda s, r: s.update(items=[row["id"] for row in r.json()["data"]]) if r.status_code == 200 else None,
    ),
    Step(
        "bookmark a preset",
        "POST",
        "/presets",
        lambda s: _json({"bookmark": "sw hour", "collection": "sw_hour", "layout": "tabular"}),
        keep=_keep_data("preset"),
    ),
    Step("export csv", "GET", "/items/sw_hour?export=csv&fields=id,title&sort=id"),
    Step("export json", "GET", "/items/sw_hour?export=json&fields=id,title&sort=id"),
    Step("export xml", "GET", "/items/sw_hour?export=xml&fields=id,title&sort=id"),
    Step("export yaml", "GET", "/items/sw_hour?export=yaml&fields=id,title&sort=id"),
    Step("aggregate", "GET", "/items/sw_hour?aggregate[count]=*"),
    Step("sort", "POST", "/utils/sort/sw_hour", lambda s: _json({"item": s["items"][2], "to": s["items"][0]})),
    Step("create a folder", "POST", "/folders", lambda s: _json({"name": "sw hour"}), keep=_keep_data("folder")),
    Step(
        "upload a file",
        "POST",
        "/files",
        lambda s: {
            "data": {"title": "sw hour pixel", "folder": s.get("folder") or ""},
            "files": {"file": ("sw-pixel.png", PIXEL, "image/png")},
        },
        keep=_keep_data("file"),
    ),
    Step("list files", "GET", "/files?filter[title][_eq]=sw hour pixel&fields=title,type,filesize,width,height"),
    Step("update a file", "PATCH", lambda s: f"/files/{s.get('file')}", lambda s: _json({"description": "one pixel"})),
    Step("asset", "GET", lambda s: f"/assets/{s.get('file')}"),
    Step("asset, transformed", "GET", lambda s: f"/assets/{s.get('file')}?width=2&height=2&fit=cover&format=png"),
    Step("asset, download", "GET", lambda s: f"/assets/{s.get('file')}?download"),
    Step("asset, range", "GET", lambda s: f"/assets/{s.get('file')}", lambda s: {"headers": {"Range": "bytes=0-3"}}),
    Step(
        "import from a loopback URL",
        "POST",
        "/files/import",
        lambda s: _json({"url": "http://127.0.0.1:1/x.png", "data": {"title": "sw hour import"}}),
    ),
    Step("openapi", "GET", "/server/specs/oas", body=_openapi),
    Step("openapi, limited user", "GET", "/server/specs/oas", who="user", body=_openapi),
    Step("activity", "GET", "/activity?filter[collection][_eq]=sw_hour&sort=id&fields=action,collection,item"),
    Step("revisions", "GET", "/revisions?filter[collection][_eq]=sw_hour&sort=id&fields=collection,item,data"),
    Step("schema snapshot", "GET", "/schema/snapshot", body=_snapshot),
    Step(
        "schema diff, no changes",
        "POST",
        "/schema/diff",
        lambda s: {"content": s.get("snapshot", b"{}"), "headers": {"Content-Type": "application/json"}},
    ),
    Step("random string", "GET", "/utils/random/string?length=10", body=lambda d: {"length": len(d.get("data", ""))}),
    Step(
        "hash",
        "POST",
        "/utils/hash/generate",
        lambda s: _json({"string": "sw secret"}),
        keep=lambda s, r: s.update(hash=r.json().get("data")) if r.is_success else None,
        body=lambda d: {"data": str(d.get("data", ""))[:9]} if "data" in d else d,
    ),
    Step("verify hash", "POST", "/utils/hash/verify", lambda s: _json({"string": "sw secret", "hash": s.get("hash")})),
    Step("clear cache", "POST", "/utils/cache/clear"),
    Step(
        "export to a file",
        "POST",
        "/utils/export/sw_hour",
        lambda s: _json({"format": "csv", "query": {"fields": ["id", "title"]}, "file": {"title": "sw hour export"}}),
    ),
    Step("create a role", "POST", "/roles", lambda s: _json({"name": "sw hour role"}), keep=_keep_data("role")),
    Step(
        "invite a user",
        "POST",
        "/users/invite",
        lambda s: _json({"email": "sw-hour-invitee@example.com", "role": s.get("role")}),
    ),
    Step(
        "the invited user", "GET", "/users?filter[email][_eq]=sw-hour-invitee@example.com&fields=email,status,role.name"
    ),
    # What the Data Studio asks on its first screens and in the seed guide's role step (studio_walk.mjs).
    Step("studio: extension sources", "GET", "/extensions/sources/index.js", who="anonymous"),
    Step("studio: license", "GET", "/license", body=lambda d: {"data": sorted(d.get("data", {}))}),
    Step(
        "studio: a role's new policy, permissions and user in one save",
        "PATCH",
        lambda s: f"/roles/{s.get('role')}?fields=name",
        lambda s: _json(NESTED_ROLE_SAVE),
    ),
    Step(
        "studio: policies of a role ($FOLLOW)",
        "GET",
        lambda s: (
            f"/policies?fields=name&sort=name&filter[$FOLLOW(directus_access,policy)][_some][role][_eq]={s.get('role')}"
        ),
    ),
    Step(
        "studio: user counts of roles (deep aggregate)",
        "GET",
        "/roles?fields[]=name&fields[]=users&deep[users][_aggregate][count]=id&deep[users][_groupBy][0]=role"
        "&deep[users][_limit]=-1&filter[name][_eq]=sw hour role",
    ),
    Step("CORS preflight", "OPTIONS", "/items/sw_hour", lambda s: {"headers": PREFLIGHT}, who="anonymous"),
    Step("CORS read", "GET", "/server/ping", lambda s: {"headers": {"Origin": PREFLIGHT["Origin"]}}, who="anonymous"),
    Step("metrics", "GET", "/server/metrics", body=lambda d: sorted(d) if isinstance(d, dict) else d),
    Step(
        "password reset request", "POST", "/auth/password/request", lambda s: _json({"email": "sw-nobody@example.com"})
    ),
    Step("limited user: collections", "GET", "/collections", who="user"),
    Step("limited user: users", "GET", "/users?limit=1", who="user"),
    Step("limited user: settings", "GET", "/settings", who="user"),
    Step(
        "log out", "POST", "/auth/logout", lambda s: _json({"refresh_token": s.get("tokens", {}).get("refresh_token")})
    ),
]


def _token(step: Step, state: State, admin_token: str) -> str | None:
    token: str | None = {
        "admin": admin_token,
        "user": USER_TOKEN,
        "anonymous": None,
        "session": state.get("tokens", {}).get("access_token"),
    }[step.who]
    return token


def view(step: Step, response: httpx.Response) -> dict[str, Any]:
    """The comparable part of an answer: content type, the CORS/range headers and the body's shape."""
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    shown = {h: response.headers[h] for h in SHOWN_HEADERS if h in response.headers}
    if "content-range" in response.headers:
        shown["content-range"] = response.headers["content-range"]
    body: Any
    if kind.endswith("json"):
        data = response.json()
        body = shape(step.body(data)) if response.is_success else shape(data)
    elif kind.startswith(("text/", "application/xml", "application/yaml", "application/javascript")):
        body = UUID.sub("<uuid>", response.text)
    else:
        body = {"bytes": len(response.content) > 0}
    return {"content_type": kind, "headers": shown, "body": body}


def run(base_url: str, admin_token: str) -> list[Answer]:
    """Every step against ``base_url`` in order, then the clean-up; the answers as recorded."""
    state: State = {}
    answers = []
    with httpx.Client(base_url=base_url, timeout=60) as http:
        _clean(http, admin_token)
        for step in STEPS:
            if step.name == "schema diff, no changes":
                snapshot = http.get("/schema/snapshot", headers=_bearer(admin_token))
                state["snapshot"] = json.dumps(snapshot.json().get("data", {})).encode()
            path = step.path(state) if callable(step.path) else step.path
            options = step.options(state)
            headers = {**_bearer(_token(step, state, admin_token)), **options.pop("headers", {})}
            response = http.request(step.method, path, headers=headers, **options)
            if step.keep is not None:
                step.keep(state, response)
            answers.append(
                Answer(
                    name=step.name,
                    status=response.status_code,
                    body=view(step, response),
                    request=request_label(step.method, path),
                )
            )
        _clean(http, admin_token)
    return answers


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _clean(http: httpx.Client, token: str) -> None:
    """Remove what an earlier run made (unrecorded; errors ignored)."""
    auth = _bearer(token)
    http.delete("/collections/sw_hour", headers=auth)
    for path, key, value in (
        ("/files", "title", "sw hour pixel"),
        ("/files", "title", "sw hour export"),
        ("/users", "email", "sw-hour-invitee@example.com"),
        ("/users", "email", "sw-hour-walker@example.com"),
        ("/policies", "name", "sw hour policy"),
        ("/roles", "name", "sw hour role"),
        ("/folders", "name", "sw hour"),
        ("/presets", "bookmark", "sw hour"),
    ):
        found = http.get(path, params={f"filter[{key}][_eq]": value, "fields": "id"}, headers=auth)
        if found.status_code == 200:
            for row in found.json().get("data", []):
                http.delete(f"{path}/{row['id']}", headers=auth)
    http.patch("/settings", json={"project_descriptor": None}, headers=auth)


def dump(answers: list[Answer]) -> str:
    return json.dumps([a.to_json() for a in answers], indent=1)
