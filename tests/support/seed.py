"""The seed guide's setup, done through the REST API as a user would: a `messages` collection
(`text`, `user`, automatic `date_created`), a role whose policy may read and create it, and a user of that
role with a static token."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

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


def create_messages(admin: httpx.Client) -> None:
    _data(admin.post("/collections", json=MESSAGES))


def seed_guide(admin: httpx.Client, actions: tuple[str, ...] = ("read", "create")) -> Seed:
    create_messages(admin)
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
