"""The example pages redirect relatively: a forged ``Host`` header never ends up in ``Location`` (issue 7 #16)."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"EXAMPLES_ENABLED": "true"}


def test_directory_redirect_ignores_the_host_header(anon: httpx.Client) -> None:
    response = anon.get("/examples/chat", headers={"Host": "evil.example"}, params={"access_token": "t"})
    assert response.status_code in (301, 307, 308)
    location = response.headers["location"]
    assert "evil.example" not in location
    assert location == "/examples/chat/?access_token=t"


def test_the_relative_redirect_still_reaches_the_page(anon: httpx.Client) -> None:
    response = anon.get("/examples/chat", follow_redirects=True)
    assert response.status_code == 200
    assert "<html" in response.text.lower()
