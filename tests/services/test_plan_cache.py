"""The read-plan cache is bounded by approximate bytes, not only by count (issue 7 #7).

Thirty distinct large queries grew the process by 200 MB that was never released: every kept plan holds
its query's values, and the cache kept up to 1,024 plans whatever their size. Here the budget is small
(``PLAN_CACHE_MAX_SIZE=1mb``) so that a few dozen distinct large reads must stay within it; the figures are
the cache's own accounting (``PlanCache.bytes_used()``), which ``plans.estimate`` calibrates against
tracemalloc (see its docstring), not the process's RSS.
"""

from __future__ import annotations

import json

from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import module_server
from tidepool.services import plans
from tidepool.services.plans import PlanCache

BUDGET = 1024 * 1024
ITEMS = {
    "collection": "items_c",
    "schema": {},
    "meta": {},
    "fields": [
        {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
        {"field": "qty", "type": "integer", "schema": {}},
        {"field": "name", "type": "string", "schema": {}},
    ],
}


def _items_c(server: LiveServer) -> None:
    with server.client() as admin:
        assert admin.post("/collections", json=ITEMS).status_code == 200
        assert admin.post("/items/items_c", json={"qty": 1, "name": "a"}).status_code == 200


srv = module_server("plans", env={"PLAN_CACHE_MAX_SIZE": "1mb"}, seed=_items_c)


def _large(n: int) -> dict[str, object]:
    """A distinct read whose query key is about 700 bytes (120 list values): ~36 KB estimated, so the 1 MB
    budget holds fewer than 30 of them."""
    return {"filter": {"qty": {"_in": [n * 1000 + i for i in range(2, 122)] + [1]}}}


def _kept(srv: LiveServer) -> PlanCache:
    """The server's plan cache, emptied."""
    kept = srv.runtime.plans
    kept.clear()
    return kept


def test_many_large_distinct_queries_stay_within_the_byte_budget(srv: LiveServer) -> None:
    kept = _kept(srv)
    with srv.client() as admin:
        for n in range(60):
            response = admin.get("/items/items_c", params={"filter": json.dumps(_large(n)["filter"])})
            assert [row["id"] for row in response.json()["data"]] == [1]
            assert kept.bytes_used() <= BUDGET
    assert 0 < kept.size() < 30
    assert kept.bytes_used() > BUDGET // 2  # the budget is used, not left empty


def test_a_query_too_large_for_its_share_is_not_kept(srv: LiveServer) -> None:
    kept = _kept(srv)
    with WS(srv.ws_url) as ws:
        assert ws.request({"type": "auth", "access_token": ADMIN_TOKEN})["status"] == "ok"
        read = {"type": "items", "collection": "items_c", "action": "read", "uid": "r"}
        reply = ws.request({**read, "query": {"search": "x" * 200_000}}, timeout=30)
        assert reply["data"] == []
        assert kept.size() == 0 and kept.bytes_used() == 0
        assert ws.request({**read, "query": {"filter": {"qty": {"_eq": 1}}}})["data"][0]["id"] == 1
        assert kept.size() == 1  # small reads are still kept


def test_kept_plans_are_still_reused(srv: LiveServer) -> None:
    kept = _kept(srv)
    with srv.client() as admin:
        for _ in range(3):
            response = admin.get("/items/items_c", params={"filter": json.dumps(_large(1)["filter"])})
            assert [row["id"] for row in response.json()["data"]] == [1]
    assert kept.size() == 1 and kept.bytes_used() == plans.estimate(kept.keys()[0])
