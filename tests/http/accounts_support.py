"""Helpers for the account tests: users with tokens, policies, roles and clients (the collections they
use are made by tests/support/seed.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.live import LiveServer


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"] if status == 200 else None


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    first = response.json()["errors"][0]
    assert first["extensions"]["code"] == code, response.text
    message: str = first["message"]
    return message


def make_policy(admin: httpx.Client, *permissions: dict[str, Any], **flags: Any) -> str:
    policy = ok(admin.post("/policies", json={"name": f"p-{uuid.uuid4().hex[:6]}", **flags}))
    for permission in permissions:
        ok(admin.post("/permissions", json={"policy": policy["id"], **permission}))
    return str(policy["id"])


def make_role(admin: httpx.Client, *policies: str, parent: str | None = None) -> str:
    body: dict[str, Any] = {"name": f"r-{uuid.uuid4().hex[:6]}", "policies": [{"policy": p} for p in policies]}
    if parent:
        body["parent"] = parent
    return str(ok(admin.post("/roles", json=body))["id"])


def make_user(
    admin: httpx.Client, *, role: str | None = None, policies: tuple[str, ...] = (), **extra: Any
) -> tuple[str, str]:
    """A user with a static token; returns (id, token)."""
    token = f"tok-{uuid.uuid4().hex}"
    body: dict[str, Any] = {
        "email": f"u-{uuid.uuid4().hex[:8]}@example.com",
        "password": "pw-secret",
        "role": role,
        "token": token,
        "policies": [{"policy": p} for p in policies],
        **extra,
    }
    return str(ok(admin.post("/users", json=body))["id"]), token


def client(server: LiveServer, token: str | None) -> httpx.Client:
    return server.client(token=token)
