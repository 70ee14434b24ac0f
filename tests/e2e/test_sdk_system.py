"""The official @directus/sdk's system commands (readProviders, readUserPermissions, readItemPermissions,
readRolesMe, readPolicyGlobals, randomString, utilitySort, clearCache) against a live Tidepool, as the
admin and as a limited user: each gets what Directus 12.4.1 gives it (the 403s the admin used to get on
readRolesMe and readUserPermissions are gone)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.node import E2E, finish, node
from tests.http.accounts_support import make_policy, make_role, make_user, ok
from tests.http.test_utils import sorted_collection
from tests.support.live import ADMIN_TOKEN, live_server, scratch_database

pytestmark = pytest.mark.node


def test_sdk_system_commands(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as db_env, live_server(db_env) as server:
        sorted_collection(server)
        with server.client() as admin:
            rows = ok(admin.post("/items/ranked", json=[{"name": n, "sort": i} for i, n in enumerate("abc", 1)]))
            ids = sorted(row["id"] for row in rows)
            reader = make_policy(admin, {"collection": "ranked", "action": "read", "fields": ["*"]})
            role = make_role(admin, reader)
            _, token = make_user(admin, role=role)
        process = subprocess.Popen(
            [str(node()), str(E2E / "sdk_system.mjs"), server.url, ADMIN_TOKEN, token, str(ids[0]), str(ids[-1])],
            stdout=subprocess.PIPE,
            text=True,
            cwd=E2E,
        )
        assert process.stdout is not None
        results = json.loads(process.stdout.readline())
        finish(process, timeout=10)
        with server.client() as admin:
            order = [row["id"] for row in ok(admin.get("/items/ranked", params={"sort": "sort", "fields": "id"}))]
    forbidden = {"status": 403, "errors": [{"message": "You don't have permission to access this.",
                                            "extensions": {"code": "FORBIDDEN"}}]}  # fmt: skip
    no_update = 'You don\'t have permission to perform "update" for collection "ranked" or it does not exist.'
    for who in ("admin", "user"):
        assert results[f"{who}:providers"] == {"data": []}
        assert results[f"{who}:providersSessionOnly"] == {"data": []}
        assert len(results[f"{who}:randomString"]["data"]) == 12
    assert results["admin:userPermissions"]["data"]["ranked"]["update"] == {"access": "full", "fields": ["*"]}
    assert results["user:userPermissions"]["data"] == {
        "ranked": {
            "read": {"access": "full", "fields": ["*"]},
            "create": {"access": "none"},
            "update": {"access": "none"},
            "delete": {"access": "none"},
            "share": {"access": "none"},
        }
    }
    assert results["admin:itemPermissions"]["data"] == {a: {"access": True} for a in ("update", "delete", "share")}
    assert results["user:itemPermissions"]["data"] == {a: {"access": False} for a in ("update", "delete", "share")}
    assert len(results["admin:rolesMe"]["data"]) == 1
    assert results["user:rolesMe"]["data"] == [{"id": role}]
    assert results["admin:policyGlobals"]["data"] == {"app_access": True, "admin_access": True, "enforce_tfa": False}
    assert results["user:policyGlobals"]["data"] == {"app_access": False, "admin_access": False, "enforce_tfa": False}
    # an empty 200 reads as {} in the SDK, against Directus 12.4.1 as here
    assert results["admin:sort"] == {"data": {}} and results["admin:clearCache"] == {"data": {}}
    assert results["user:sort"]["status"] == 403 and results["user:sort"]["errors"][0]["message"] == no_update
    assert results["user:clearCache"] == forbidden
    assert order == [ids[-1], *ids[:-1]]  # the admin's sort moved the last row first; the user's did nothing
