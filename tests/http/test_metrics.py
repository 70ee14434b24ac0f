"""``/metrics`` and ``/server/metrics``: Prometheus text, behind Directus's ``METRICS_*`` settings.

Scraped with ``prometheus_client``'s own parser while sockets are open and events flow: the realtime gauges
follow the sockets and subscriptions, the counters and histograms move by exactly the events written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.realtime.test_subscriptions_helpers import create, wait_dispatched, ws
from tests.realtime.wsclient import WS
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import USER_TOKEN, seed_guide
from tests.support.servers import NO_HEARTBEAT, module_server

TOKENS = "scrape-one,scrape-two"


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        seed_guide(admin)
        # No history for messages: each create is then one event, not three (its activity and revision rows
        # are events of their own, docs/history.md), so the counts below are per create.
        patched = admin.patch("/collections/messages", json={"meta": {"accountability": None}})
        assert patched.status_code == 200, patched.text


srv = module_server("metrics", env={"METRICS_ENABLED": "true", "METRICS_TOKENS": TOKENS, **NO_HEARTBEAT}, seed=_seed)

Samples = dict[str, float]


def scrape(server: LiveServer, authorization: str = "Metrics scrape-two", path: str = "/metrics") -> Samples:
    """Every sample of one scrape, by name (histogram buckets as ``name_bucket{le}``), parsed by the reference
    parser (it fails on anything that is not valid exposition text)."""
    with server.client(token=None) as client:
        response = client.get(path, headers={"Authorization": authorization})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[_key(sample)] = sample.value
    return samples


def _key(sample: Sample) -> str:
    le = sample.labels.get("le")
    return f"{sample.name}{{{le}}}" if le is not None else sample.name


def test_who_may_scrape(srv: LiveServer) -> None:
    """As Directus: admins and ``Authorization: Metrics <one of METRICS_TOKENS>``; everyone else FORBIDDEN."""
    forbidden = {"message": "You don't have permission to access this.", "extensions": {"code": "FORBIDDEN"}}
    with srv.client(token=None) as anon:
        for header in (
            {},
            {"Authorization": "Metrics nope"},
            {"Authorization": "Metrics"},
            {"Authorization": "Basic x"},
        ):
            response = anon.get("/metrics", headers=header)
            assert response.status_code == 403
            assert response.json() == {"errors": [forbidden]}
    with srv.client(token=USER_TOKEN) as user:
        assert user.get("/metrics").status_code == 403
    with srv.client() as admin:
        assert admin.get("/server/metrics").status_code == 200
    assert "directus_realtime_sockets" in scrape(srv, "Metrics scrape-one")
    assert "directus_realtime_sockets" in scrape(srv, "metrics scrape-two", path="/server/metrics")


def test_directus_service_metrics(srv: LiveServer) -> None:
    client = srv.settings.db_client
    before = scrape(srv)
    after = scrape(srv)
    # Directus's name has no ``_total``; the parser reads a counter's sample with it.
    assert after[f"directus_db_{client}_connection_errors_total"] == 0
    # Every statement is timed (the scrape's own database check at least), in Directus's buckets.
    count = f"directus_db_{client}_response_time_ms_count"
    assert after[count] > before[count]
    assert after[f"directus_db_{client}_response_time_ms_bucket{{+Inf}}"] == after[count]
    assert f"directus_db_{client}_response_time_ms_bucket{{750}}" in after  # prom-client writes le="750"


def test_realtime_metrics_follow_sockets_and_events(srv: LiveServer) -> None:
    idle = scrape(srv)
    assert idle["directus_realtime_sockets"] == 0
    assert idle["directus_realtime_send_queue_entries"] == 0
    with ExitStack() as stack, srv.client() as admin:
        sockets: list[WS] = [stack.enter_context(ws(srv)) for _ in range(3)]
        # Two alike (one group), one with other fields (a second group).
        for conn, fields in zip(sockets, (["*"], ["*"], ["id", "text"]), strict=True):
            reply = conn.request({"type": "subscribe", "collection": "messages", "query": {"fields": fields}})
            assert reply["event"] == "init"
        open_ = scrape(srv)
        assert open_["directus_realtime_sockets"] == 3
        assert open_["directus_realtime_subscriptions"] == 3
        assert open_["directus_realtime_subscriber_groups"] == 2

        for n in range(5):
            create(admin, text=f"metric {n}")
        for conn in sockets:
            for _ in range(5):
                assert conn.recv_until(lambda m: m.get("type") == "subscription")["event"] == "create"
        wait_dispatched(srv)
        flowing = scrape(srv)
    dispatched = "directus_realtime_events_dispatched_total"
    assert flowing[dispatched] - idle[dispatched] == 5
    assert flowing["directus_realtime_messages_total"] - idle["directus_realtime_messages_total"] == 15
    assert flowing["directus_realtime_dispatch_seconds_count"] - idle["directus_realtime_dispatch_seconds_count"] == 5
    statements = "directus_realtime_statements_per_event"
    assert flowing[f"{statements}_count"] - idle[f"{statements}_count"] == 5
    # The two groups have one access: they share one read per event (``realtime/batching.py``).
    assert flowing[f"{statements}_sum"] - idle[f"{statements}_sum"] == 5
    assert flowing["directus_realtime_dispatch_lag_events"] == 0

    deadline = time.monotonic() + 5
    while (closed := scrape(srv))["directus_realtime_sockets"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert closed["directus_realtime_sockets"] == 0
    assert closed["directus_realtime_subscriptions"] == 0
    assert closed["directus_realtime_subscriber_groups"] == 0


def test_metrics_are_off_by_default(anon: httpx.Client) -> None:
    """Without ``METRICS_ENABLED`` the routes do not exist (Directus mounts ``/metrics`` only when enabled)."""
    for path in ("/metrics", "/server/metrics"):
        response = anon.get(path)
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"


@pytest.fixture
def prefixed(tmp_path: Path) -> Iterator[LiveServer]:
    env = {"METRICS_ENABLED": "true", "METRICS_NAME_PREFIX": "pool_", "METRICS_SERVICES": "redis"}
    with scratch_database(tmp_path) as db_env, live_server({**db_env, **env}) as server:
        yield server


def test_the_prefix_and_the_services_are_settings(prefixed: LiveServer) -> None:
    """``METRICS_NAME_PREFIX`` names every metric; ``METRICS_SERVICES`` without ``database`` has no db metrics
    (and ``redis`` none while Redis is not configured)."""
    with prefixed.client() as admin:
        text = admin.get("/metrics").text
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "pool_realtime_sockets" in names
    assert all(name.startswith("pool_") for name in names)
    assert not [name for name in names if name.startswith(("pool_db_", "pool_redis_"))]
