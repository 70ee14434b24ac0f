"""``GET /tidepool/view-as/{collection}``: an admin's read-only preview of a collection as a user or a role
would read it over REST — compared with that user's own ``GET /items`` — admins only, and audited."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.support.seed import create_guide_messages

FIELDS = ["id", "text"]
RULE = {"user": {"_eq": "ann"}}


@pytest.fixture
def ann(admin: httpx.Client) -> dict[str, str]:
    """A role whose policy reads two fields of ann's messages only; ann in it with a static token."""
    create_guide_messages(admin)
    for text, user in (("mine", "ann"), ("bob's", "bob"), ("mine too", "ann")):
        admin.post("/items/messages", json={"text": text, "user": user}).raise_for_status()
    policy = admin.post("/policies", json={"name": "Own"}).json()["data"]["id"]
    permission = {"policy": policy, "collection": "messages", "action": "read", "fields": FIELDS, "permissions": RULE}
    admin.post("/permissions", json=permission).raise_for_status()
    role = admin.post("/roles", json={"name": "Own"}).json()["data"]["id"]
    admin.post("/access", json={"role": role, "policy": policy}).raise_for_status()
    user = admin.post("/users", json={"email": "ann@example.com", "role": role, "token": "ann-token"}).json()["data"]
    return {"user": user["id"], "role": role}


def _as(admin: httpx.Client, params: dict[str, Any]) -> httpx.Response:
    return admin.get("/tidepool/view-as/messages", params=params)


@pytest.mark.parametrize("query", [{}, {"sort": "-id", "meta": "filter_count"}, {"fields": "*", "search": "too"}])
def test_the_preview_is_what_the_user_reads(
    admin: httpx.Client, anon: httpx.Client, ann: dict[str, str], query: dict[str, str]
) -> None:
    own = anon.get("/items/messages", params=query, headers={"Authorization": "Bearer ann-token"})
    assert own.status_code == 200
    assert _as(admin, {**query, "as_user": ann["user"]}).json() == own.json()
    assert _as(admin, {**query, "as_role": ann["role"]}).json() == own.json()
    assert {tuple(row) for row in own.json()["data"]} <= {tuple(FIELDS)}


def test_the_preview_gives_the_users_errors(admin: httpx.Client, ann: dict[str, str]) -> None:
    denied = _as(admin, {"as_user": ann["user"], "filter[user][_eq]": "bob"})
    assert denied.status_code == 403  # a field the user may not read, as their own request would be told
    admin.patch(f"/users/{ann['user']}", json={"status": "suspended"}).raise_for_status()
    suspended = _as(admin, {"as_user": ann["user"]})
    assert suspended.status_code == 401
    assert suspended.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"


def test_only_admins_preview_and_only_with_one_target(
    admin: httpx.Client, anon: httpx.Client, ann: dict[str, str]
) -> None:
    as_ann = anon.get(
        "/tidepool/view-as/messages", params={"as_user": ann["user"]}, headers={"Authorization": "Bearer ann-token"}
    )
    assert as_ann.status_code == 403
    assert anon.get("/tidepool/view-as/messages", params={"as_role": ann["role"]}).status_code == 403
    for params in ({}, {"as_user": ann["user"], "as_role": ann["role"]}):
        response = _as(admin, params)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_QUERY"
    assert _as(admin, {"as_role": "00000000-0000-0000-0000-000000000000"}).status_code == 403
    assert admin.get("/tidepool/view-as/directus_users", params={"as_role": ann["role"]}).status_code == 403


def test_every_preview_is_audited(admin: httpx.Client, ann: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tidepool.audit"):
        _as(admin, {"as_user": ann["user"], "access_token": "admin-static-token"}).raise_for_status()
    lines = [r.getMessage() for r in caplog.records if r.name == "tidepool.audit"]
    assert len(lines) == 1 and f"as user {ann['user']}" in lines[0] and "read messages" in lines[0]
    assert "admin-static-token" not in lines[0]
