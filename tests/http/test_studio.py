"""Tidepool Studio's files at ``/admin/``: served with revalidation caching and a same-origin-only
Content-Security-Policy, a relative ``/admin`` redirect, nothing when ``STUDIO_ENABLED=false``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.live import live_server, scratch_database
from tidepool.http.studio import STUDIO_DIR

FILES = sorted(p.name for p in STUDIO_DIR.iterdir() if p.is_file())
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def test_the_studio_is_plain_files_with_no_third_party_code() -> None:
    assert set(FILES) >= {"index.html", "app.js", "api.js", "studio.css"}
    for name in FILES:
        text = (STUDIO_DIR / name).read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), name  # nothing fetched elsewhere
        assert "https://" not in text, name


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_served_with_its_type_and_revalidation_headers(anon: httpx.Client, name: str) -> None:
    response = anon.get(f"/admin/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(TYPES[Path(name).suffix])
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    again = anon.get(f"/admin/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_admin_redirects_relatively_to_the_index(anon: httpx.Client) -> None:
    response = anon.get("/admin", headers={"Host": "evil.example"}, params={"x": "1"})
    assert response.status_code == 307
    assert response.headers["location"] == "/admin/?x=1"
    index = anon.get("/admin/")
    assert index.status_code == 200 and '<script type="module" src="app.js">' in index.text
    assert index.headers["cache-control"] == "no-cache"


def test_a_missing_file_is_a_plain_404(anon: httpx.Client) -> None:
    response = anon.get("/admin/nothing-here.js")
    assert response.status_code == 404
    assert "cache-control" not in response.headers


def test_studio_disabled_serves_nothing(tmp_path: Path) -> None:
    with scratch_database(tmp_path, "sqlite3") as db, live_server({**db, "STUDIO_ENABLED": "false"}) as server:
        with server.client(None) as anon:
            assert anon.get("/admin/").status_code == 404
            assert anon.get("/admin").status_code == 404
