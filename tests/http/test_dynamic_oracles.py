"""A client's filter may name the caller's own records through dynamic variables (``$CURRENT_ROLE.name``,
``$CURRENT_USER.role.name``, as on Directus), but a path that leads to other records is read as the caller reads
it (``services/dynamic.py``). The role's ``users`` were fetched with the admin's rights, so
``filter[text][_in]=$CURRENT_ROLE.users.first_name`` told a user with no access to ``directus_users`` which of
its rows held another user's name: an oracle on fields it may not read, over REST and in subscriptions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.http.accounts_support import make_policy, make_role, make_user, ok
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer
from tests.support.seed import create_messages

HIDDEN_NAME = "ann-private-name"


@pytest.fixture
def caller(admin: httpx.Client) -> tuple[str, str]:
    """(token, role name) of a user whose role may read ``messages`` and nothing of ``directus_users``."""
    create_messages(admin)
    role = make_role(admin, make_policy(admin, {"collection": "messages", "action": "read", "fields": ["*"]}))
    make_user(admin, role=role, first_name=HIDDEN_NAME)
    _, token = make_user(admin, role=role)
    role_name = ok(admin.get(f"/roles/{role}"))["name"]
    ok(admin.post("/items/messages", json=[{"text": HIDDEN_NAME}, {"text": role_name}, {"text": "other"}]))
    return token, role_name


@pytest.mark.parametrize("variable", ["$CURRENT_ROLE.users.first_name", "$CURRENT_USER.role.users.first_name"])
def test_a_filter_cannot_read_other_users_through_dynamic_variables(
    server: LiveServer, caller: tuple[str, str], variable: str
) -> None:
    token, _ = caller
    with server.client(token=token) as client:
        rows = ok(client.get("/items/messages", params={"filter[text][_in]": variable, "fields": "text"}))
    assert rows == []
    with WS(server.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": token})["status"] == "ok"
        query: dict[str, Any] = {"fields": ["text"], "filter": {"text": {"_in": variable}}}
        init = ws.request({"type": "subscribe", "collection": "messages", "query": query, "uid": "s"})
        assert (init["event"], init["data"]) == ("init", []), init


@pytest.mark.parametrize("variable", ["$CURRENT_ROLE.name", "$CURRENT_USER.role.name"])
def test_the_callers_own_role_still_resolves(server: LiveServer, caller: tuple[str, str], variable: str) -> None:
    token, role_name = caller
    with server.client(token=token) as client:
        rows = ok(client.get("/items/messages", params={"filter[text][_eq]": variable, "fields": "text"}))
    assert rows == [{"text": role_name}]
