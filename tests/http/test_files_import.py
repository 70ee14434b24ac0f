"""``POST /files/import``: a URL's body stored as a new file, from a real local HTTP server, and refused
for addresses in ``IMPORT_IP_DENY_LIST`` (Directus's SSRF guard), before and after redirects."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from tests.http.files_support import data, png
from tests.support.live import LiveServer
from tests.support.origin import Route, serving
from tests.support.servers import module_server
from tidepool.services.imports import deny_networks

# Loopback is allowed here (the test's HTTP server is on it); 10.255.0.0/16 stands for a denied network.
srv = module_server(
    "files_import",
    env={"IMPORT_IP_DENY_LIST": "10.255.0.0/16,169.254.169.254", "FILES_MIME_TYPE_ALLOW_LIST": "image/*,text/*"},
)

PNG = png(12, 6)


ROUTES: dict[str, Route] = {
    "/pics/sunny%20day.png": (200, {"Content-Type": "image/png"}, PNG),
    "/page": (200, {"Content-Type": "text/html; charset=utf-8"}, b"<html></html>"),
    "/to-denied": (302, {"Location": "http://10.255.0.1/secret"}, b""),
    "/moved": (301, {"Location": "/pics/sunny%20day.png"}, b""),
    "/gone": (404, {"Content-Type": "text/plain"}, b"no"),
}


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with serving(ROUTES) as url:
        yield url


def test_an_import_stores_the_body_with_its_name_and_type(srv: LiveServer, origin: str) -> None:
    with srv.client() as admin:
        row = data(admin.post("/files/import", json={"url": f"{origin}/pics/sunny%20day.png"}))
        assert (row["filename_download"], row["title"], row["type"]) == ("sunny day.png", "Sunny Day", "image/png")
        assert (row["filesize"], row["width"], row["height"]) == (str(len(PNG)), 12, 6)
        assert admin.get(f"/assets/{row['id']}").content == PNG


def test_a_host_name_is_resolved_checked_and_connected_to_by_address(srv: LiveServer, origin: str) -> None:
    """``localhost`` is resolved once, checked, and the connection goes to that address with the URL's
    ``Host`` (the handler above serves any host)."""
    url = origin.replace("127.0.0.1", "localhost") + "/pics/sunny%20day.png"
    with srv.client() as admin:
        row = data(admin.post("/files/import", json={"url": url}))
    assert (row["filename_download"], row["filesize"]) == ("sunny day.png", str(len(PNG)))


def test_data_overrides_and_redirects_are_followed(srv: LiveServer, origin: str) -> None:
    with srv.client() as admin:
        row = data(admin.post("/files/import", json={"url": f"{origin}/moved", "data": {"title": "Given"}}))
    assert (row["title"], row["filename_download"]) == ("Given", "sunny day.png")


UNAVAILABLE = 'Service "external-file" is unavailable. Couldn\'t fetch file from URL "{}".'


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("http://10.255.0.7/x.png", "http://10.255.0.7/x.png"),
        ("http://169.254.169.254/latest/meta-data", "http://169.254.169.254/latest/meta-data"),
        ("{origin}/to-denied", "http://10.255.0.1/secret"),
        ("{origin}/gone", "{origin}/gone"),
        ("ftp://example.com/x", "ftp://example.com/x"),
    ],
    ids=["denied-network", "metadata-address", "redirect-to-denied", "not-found", "not-http"],
)
def test_refused_urls_are_directus_503(srv: LiveServer, origin: str, path: str, shown: str) -> None:
    with srv.client() as admin:
        before = data(admin.get("/files", params={"aggregate[count]": "*"}))
        response = admin.post("/files/import", json={"url": path.format(origin=origin)})
        assert response.status_code == 503, response.text
        assert response.json()["errors"][0] == {
            "message": UNAVAILABLE.format(shown.format(origin=origin)),
            "extensions": {
                "service": "external-file",
                "reason": f'Couldn\'t fetch file from URL "{shown.format(origin=origin)}"',
                "code": "SERVICE_UNAVAILABLE",
            },
        }
        assert data(admin.get("/files", params={"aggregate[count]": "*"})) == before


def test_type_restrictions_apply_to_imports(srv: LiveServer, origin: str) -> None:
    with srv.client() as admin:
        filtered = admin.post(
            "/files/import", json={"url": f"{origin}/page", "options": {"filterMimeType": ["image/*"]}}
        )
    assert filtered.status_code == 400
    assert filtered.json()["errors"][0]["message"] == (
        'Invalid payload. File content type "text/html" is not allowed for upload by this field\'s file type '
        "restrictions."
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, '"url" is required'), ({"url": 5}, '"url" must be a string'), ([], '"value" must be of type object')],
)
def test_bad_bodies(srv: LiveServer, body: object, message: str) -> None:
    with srv.client() as admin:
        response = admin.post("/files/import", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == f"Invalid payload. {message}."


def test_directus_default_deny_list_covers_this_machine() -> None:
    """``0.0.0.0`` in the list (Directus's default) stands for every address of this machine."""
    nets = deny_networks(["0.0.0.0", "169.254.169.254"])
    for address in ("127.0.0.1", "127.1.2.3", "::1", "169.254.169.254"):
        assert any(ipaddress.ip_address(address) in net for net in nets), address
    assert not any(ipaddress.ip_address("93.184.216.34") in net for net in nets)
