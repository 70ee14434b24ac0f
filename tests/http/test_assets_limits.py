"""The limits on image work: ``ASSETS_TRANSFORM_TIMEOUT`` (a transformation that runs longer is a 503 and the
server keeps answering) and ``ASSETS_CACHE_TTL`` in ``Cache-Control``."""

from __future__ import annotations

import io

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
