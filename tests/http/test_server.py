from __future__ import annotations

import httpx


def test_ping_answers_pong(anon: httpx.Client) -> None:
    response = anon.get("/server/ping")
    assert response.status_code == 200
    assert response.text == "pong"


def test_unknown_route_is_route_not_found(anon: httpx.Client) -> None:
    response = anon.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [
            {"message": "Route /nowhere doesn't exist.", "extensions": {"path": "/nowhere", "code": "ROUTE_NOT_FOUND"}}
        ]
    }


def test_health_needs_authentication(anon: httpx.Client, admin: httpx.Client) -> None:
    assert anon.get("/server/health").status_code == 403
    response = admin.get("/server/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/health+json")
    assert response.json()["status"] == "ok"


def test_info_shows_websocket_block_to_authenticated_callers(anon: httpx.Client, admin: httpx.Client) -> None:
    assert "websocket" not in anon.get("/server/info").json()["data"]
    websocket = admin.get("/server/info").json()["data"]["websocket"]
    assert websocket["rest"] == {"authentication": "handshake", "path": "/websocket"}
    assert websocket["heartbeat"] == 30


def test_bad_static_token_is_invalid_credentials(server) -> None:  # type: ignore[no-untyped-def]
    with server.client(token="wrong") as client:
        response = client.get("/server/info")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"


def test_health_has_directus_shape_for_admins(server, admin: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    body = admin.get("/server/health").json()
    client = server.settings.db_client  # Directus names the checks by DB_CLIENT: pg, mysql, sqlite3
    assert list(body) == ["status", "releaseId", "serviceId", "checks"]
    assert list(body["checks"]) == [
        f"{client}:{name}" for name in ("responseTime", "connectionsAvailable", "connectionsUsed")
    ]
    response = body["checks"][f"{client}:responseTime"][0]
    assert {k: response[k] for k in ("componentType", "observedUnit", "threshold")} == {
        "componentType": "datastore",
        "observedUnit": "ms",
        "threshold": 150,
    }
    assert response["status"] in ("ok", "warn")
