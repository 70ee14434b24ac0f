"""The tests' ``messages`` collections, in one place.

- ``seed_guide``: the seed guide's setup, done through the REST API as a user would: a ``messages``
  collection (``text``, ``user``, automatic ``date_created``), a role whose policy may read and create it,
  and a user of that role with a static token (the end-to-end and fault tests).
- ``create_messages``: a bare ``messages`` collection made by the admin over REST, with a ``number`` field
  and no permissions (the REST and realtime tests that add their own users).
- ``seed_messages``: the guide's collection and user written with SQL on the server's engine, independent
  of the REST resources, plus a ``secrets`` collection nobody may read (the transcript and protocol tests).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from tests.support.live import LiveServer
from tidepool.db import system
from tidepool.security import hash_password, hash_token

USER_EMAIL = "messages-user@example.com"
USER_PASSWORD = "user-pass"
USER_TOKEN = "messages-user-static-token"

MESSAGES = {
    "collection": "messages",
    "meta": {"icon": "chat", "note": None, "singleton": False},
    "schema": {},
    "fields": [
        {
            "field": "id",
            "type": "integer",
            "meta": {"hidden": True, "interface": "input", "readonly": True},
            "schema": {"is_primary_key": True, "has_auto_increment": True},
        },
        {
            "field": "date_created",
            "type": "timestamp",
            "meta": {"special": ["date-created"], "interface": "datetime", "readonly": True, "hidden": True},
            "schema": {},
        },
        {"field": "text", "type": "string", "meta": {}, "schema": {}},
        {"field": "user", "type": "string", "meta": {}, "schema": {}},
    ],
}


@dataclass(frozen=True)
class Seed:
    role: str
    policy: str
    user: str
    email: str = USER_EMAIL
    password: str = USER_PASSWORD
    token: str = USER_TOKEN


def _data(response: httpx.Response) -> dict[str, object]:
    assert response.status_code in (200, 204), response.text
    data: dict[str, object] = response.json()["data"]
    return data


def create_guide_messages(admin: httpx.Client) -> None:
    """The seed guide's ``messages`` collection (``MESSAGES``), as its first step creates it."""
    _data(admin.post("/collections", json=MESSAGES))


def create_reference_secrets(admin: httpx.Client) -> None:
    """The reference Directus's ``secrets`` collection (``../shared/tools/directus/seed.py``: a key and a
    ``note``, no permission for anyone but the admin), for suites whose recorded answers list it."""
    key = {
        "field": "id",
        "type": "integer",
        "meta": {"hidden": True, "interface": "input", "readonly": True},
        "schema": {"is_primary_key": True, "has_auto_increment": True},
    }
    note = {"field": "note", "type": "string", "meta": {"interface": "input"}, "schema": {}}
    body = {"collection": "secrets", "meta": {"icon": "lock"}, "schema": {}, "fields": [key, note]}
    _data(admin.post("/collections", json=body))


def seed_guide(admin: httpx.Client, actions: tuple[str, ...] = ("read", "create")) -> Seed:
    create_guide_messages(admin)
    policy = _data(
        admin.post("/policies", json={"name": "Messages Policy", "app_access": False, "admin_access": False})
    )
    for action in actions:
        _data(
            admin.post(
                "/permissions",
                json={
                    "policy": policy["id"],
                    "collection": "messages",
                    "action": action,
                    "fields": ["*"],
                    "permissions": {},
                },
            )
        )
    role = _data(admin.post("/roles", json={"name": "Messages Role"}))
    _data(admin.post("/access", json={"role": role["id"], "policy": policy["id"]}))
    user = _data(
        admin.post(
            "/users",
            json={
                "email": USER_EMAIL,
                "password": USER_PASSWORD,
                "role": role["id"],
                "status": "active",
                "token": USER_TOKEN,
            },
        )
    )
    return Seed(role=str(role["id"]), policy=str(policy["id"]), user=str(user["id"]))


def create_messages(admin: httpx.Client, name: str = "messages") -> None:
    """A user collection like the seed guide's: id, text, user (owner), number, date_created."""
    _data(
        admin.post(
            "/collections",
            json={
                "collection": name,
                "meta": {},
                "schema": {},
                "fields": [
                    {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
                    {"field": "text", "type": "string", "meta": {}, "schema": {}},
                    {"field": "user", "type": "string", "meta": {}, "schema": {}},
                    {"field": "number", "type": "integer", "meta": {}, "schema": {}},
                    {"field": "date_created", "type": "timestamp", "meta": {"special": ["date-created"]}, "schema": {}},
                ],
            },
        )
    )


def seed_messages(server: LiveServer) -> dict[str, str]:
    """The transcripts' seed, written with SQL on the server's own engine (independent of the REST
    resources): ``messages`` (id, date_created, text, user) readable and creatable by the messages user,
    ``secrets`` with no permission, then the schema and the permission cache are reloaded."""
    ids = {"role": str(uuid.uuid4()), "policy": str(uuid.uuid4()), "user": str(uuid.uuid4())}
    meta = sa.MetaData()
    messages = sa.Table(
        "messages",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("date_created", sa.DateTime(timezone=True)),
        sa.Column("text", sa.String(255)),
        sa.Column("user", sa.String(255)),
        sqlite_autoincrement=True,
    )
    secrets = sa.Table(
        "secrets",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("note", sa.Text),
        sqlite_autoincrement=True,
    )
    fields = [
        ("messages", "id", "integer", None),
        ("messages", "date_created", "timestamp", "date-created"),
        ("messages", "text", "string", None),
        ("messages", "user", "string", None),
        ("secrets", "id", "integer", None),
        ("secrets", "note", "text", None),
    ]

    async def run() -> None:
        engine = server.runtime.engine
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all, tables=[messages, secrets])
        async with engine.begin() as conn:
            for name in ("messages", "secrets"):
                await conn.execute(sa.insert(system.collections).values(collection=name, hidden=False, singleton=False))
            for collection, field, type_, special in fields:
                await conn.execute(
                    sa.insert(system.fields).values(
                        collection=collection,
                        field=field,
                        type=type_,
                        special=special,
                        readonly=False,
                        hidden=False,
                        required=False,
                    )
                )
            await conn.execute(
                sa.insert(system.policies).values(
                    id=ids["policy"],
                    name="Messages Policy",
                    icon="badge",
                    admin_access=False,
                    app_access=False,
                    enforce_tfa=False,
                )
            )
            for action in ("read", "create"):
                await conn.execute(
                    sa.insert(system.permissions).values(
                        collection="messages", action=action, permissions={}, fields="*", policy=ids["policy"]
                    )
                )
            await conn.execute(sa.insert(system.roles).values(id=ids["role"], name="Messages Role", icon="x"))
            await conn.execute(
                sa.insert(system.access).values(id=str(uuid.uuid4()), role=ids["role"], policy=ids["policy"])
            )
            await conn.execute(
                sa.insert(system.users).values(
                    id=ids["user"],
                    email=USER_EMAIL,
                    password=hash_password(USER_PASSWORD),
                    role=ids["role"],
                    status="active",
                    token=hash_token(USER_TOKEN),
                    provider="default",
                )
            )
        await server.runtime.schemas.reload()
        server.runtime.access_cache.invalidate()

    server.run(run())
    return ids
