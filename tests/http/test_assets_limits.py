"""The limits on image work: ``ASSETS_TRANSFORM_TIMEOUT`` (a transformation that runs longer is a 503 and the
server keeps answering), ``ASSETS_TRANSFORM_MAX_CONCURRENT`` (more at once: 503 "Server too busy"),
``ASSETS_CACHE_TTL`` in ``Cache-Control``, and a storage driver that does not exist."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image

from tests.http.files_support import data, upload
from tests.support.live import LiveServer
from tests.support.servers import module_server

srv = module_server("assets_limits", env={"ASSETS_TRANSFORM_TIMEOUT": "1ms", "ASSETS_CACHE_TTL": "1h"})


def _noise(side: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((side, side), 80).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_a_transformation_past_the_timeout_is_503(srv: LiveServer) -> None:
    with srv.client() as admin:
        row = data(upload(admin, _noise(1500), name="noise.png"))
        response = admin.get(f"/assets/{row['id']}", params={"transforms": '[["blur", 40]]', "width": "1400"})
        assert response.status_code == 503
        assert response.json()["errors"][0] == {
            "message": 'Service "assets" is unavailable. Transformation timed out.',
            "extensions": {"service": "assets", "reason": "Transformation timed out", "code": "SERVICE_UNAVAILABLE"},
        }
        plain = admin.get(f"/assets/{row['id']}")
        assert plain.status_code == 200
        assert plain.headers["cache-control"] == "private, max-age=3600"


busy = module_server("assets_busy", env={"ASSETS_TRANSFORM_MAX_CONCURRENT": "1"})


def test_past_the_concurrency_limit_a_transformation_is_turned_away(busy: LiveServer) -> None:
    """With one transformation running and a limit of one, the next is Directus's 503 at once (not queued);
    once it is done, transformations run again."""
    with busy.client() as admin:
        row = data(upload(admin, _noise(1500), name="busy.png"))
    url = f"/assets/{row['id']}"
    answers: list[int] = []

    def slow() -> None:
        with busy.client() as other:
            answers.append(other.get(url, params={"transforms": '[["blur", 40]]', "width": "1402"}).status_code)

    worker = threading.Thread(target=slow)
    worker.start()
    deadline = time.monotonic() + 10
    while busy.runtime.transforms.running == 0 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    with busy.client() as admin:
        refused = admin.get(url, params={"width": "10"})
    worker.join()
    assert answers == [200]
    assert refused.status_code == 503
    assert refused.json()["errors"][0]["message"] == 'Service "files" is unavailable. Server too busy.'
    with busy.client() as admin:
        assert admin.get(url, params={"width": "10"}).status_code == 200


def test_an_unknown_driver_stops_the_start_with_one_line() -> None:
    from tidepool.config import load_settings
    from tidepool.errors import ConfigError
    from tidepool.storage.locations import build_storage

    settings = load_settings({"STORAGE_LOCATIONS": "cloud", "STORAGE_CLOUD_DRIVER": "ftp"}, env_file=None)
    with pytest.raises(ConfigError) as raised:
        build_storage(settings)
    assert raised.value.message == "STORAGE_CLOUD_DRIVER: expected local or s3, got 'ftp'"


def test_a_public_file_is_cached_publicly(busy: LiveServer) -> None:
    """Directus's personalised ``Cache-Control``: ``public`` for the public, ``private`` for a signed-in user."""
    from tidepool.db.system import PUBLIC_POLICY_ID

    with busy.client() as admin, busy.client(None) as anon:
        grant = {"policy": PUBLIC_POLICY_ID, "collection": "directus_files", "action": "read", "fields": ["*"]}
        data(admin.post("/permissions", json={**grant, "permissions": {}}))
        row = data(upload(admin, _noise(8), name="public.png"))
        public = anon.get(f"/assets/{row['id']}")
        assert (public.status_code, public.headers["cache-control"]) == (200, "public, max-age=2592000")
        assert admin.get(f"/assets/{row['id']}").headers["cache-control"] == "private, max-age=2592000"
