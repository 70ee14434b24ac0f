"""``/assets/{id}``: bytes and headers as Directus 12.4.1 sends them, ranges, downloads, transformations
(Pillow in a worker thread), their limits and errors, presets, and the read permission on the file.

Expected statuses, headers and error bodies were recorded from Directus 12.4.1 with the same requests.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
from PIL import Image

from tests.http.files_support import FILES_TOKEN, data, files_user, image_size, png, upload
from tests.support.live import LiveServer
from tests.support.servers import module_server


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        files_user(admin)


srv = module_server("assets", env={"ASSETS_TRANSFORM_IMAGE_MAX_DIMENSION": "2000"}, seed=_seed)


@pytest.fixture(scope="module")
def red(srv: LiveServer) -> dict[str, Any]:
    with srv.client() as admin:
        row: dict[str, Any] = data(upload(admin, png(40, 20), title="red"))
    return row


def test_the_whole_file_with_directus_headers(srv: LiveServer, red: dict[str, Any]) -> None:
    with srv.client() as admin:
        response = admin.get(f"/assets/{red['id']}")
    assert response.status_code == 200
    assert response.content == png(40, 20)
    headers = response.headers
    assert headers["content-type"] == "image/png"
    assert headers["content-disposition"] == 'inline; filename="red.png"'
    assert headers["accept-ranges"] == "bytes"
    assert headers["cache-control"] == "private, max-age=2592000"
    assert headers["vary"] == "Origin, Cache-Control"
    assert headers["content-security-policy"] == "default-src 'none'"
    assert headers["content-length"] == str(len(png(40, 20)))
    assert headers["etag"].startswith('"') and headers["last-modified"].endswith(" GMT")


def test_download_and_a_filename_in_the_path(srv: LiveServer, red: dict[str, Any]) -> None:
    with srv.client() as admin:
        download = admin.get(f"/assets/{red['id']}", params={"download": ""})
        named = admin.get(f"/assets/{red['id']}/nice.png")
    assert download.headers["content-disposition"] == 'attachment; filename="red.png"'
    assert named.headers["content-disposition"] == 'inline; filename="nice.png"'


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=5-", 5, None), ("bytes=-10", None, None), ("bytes=80-1000", 80, None)],
)
def test_ranges(srv: LiveServer, red: dict[str, Any], header: str, start: int | None, end: int | None) -> None:
    content = png(40, 20)
    size = len(content)
    first = size - 10 if start is None else start
    last = size - 1 if end is None else end
    with srv.client() as admin:
        response = admin.get(f"/assets/{red['id']}", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.content == content[first : last + 1]


def test_an_unsatisfiable_range_is_416(srv: LiveServer, red: dict[str, Any]) -> None:
    with srv.client() as admin:
        response = admin.get(f"/assets/{red['id']}", headers={"Range": "bytes=200-300"})
    assert response.status_code == 416
    assert response.json() == {
        "errors": [
            {
                "message": "Range \"200-300\" is invalid or the file's size doesn't match the requested range.",
                "extensions": {"range": {"start": 200, "end": 300}, "code": "RANGE_NOT_SATISFIABLE"},
            }
        ]
    }


@pytest.mark.parametrize(
    ("params", "mime", "size"),
    [
        ({"width": "10", "height": "10", "format": "webp"}, "image/webp", (10, 10)),
        ({"width": "10"}, "image/png", (10, 5)),
        ({"height": "10", "format": "jpg", "quality": "50"}, "image/jpeg", (20, 10)),
        ({"width": "10", "height": "10", "fit": "contain"}, "image/png", (10, 10)),
        ({"width": "10", "height": "10", "fit": "inside"}, "image/png", (10, 5)),
        ({"width": "10", "height": "10", "fit": "outside"}, "image/png", (20, 10)),
        ({"width": "80", "height": "80", "fit": "inside", "withoutEnlargement": "true"}, "image/png", (40, 20)),
        ({"quality": "50"}, "image/png", (40, 20)),
        ({"format": "avif"}, "image/avif", (40, 20)),
        ({"format": "tiff"}, "image/tiff", (40, 20)),
        ({"transforms": '[["rotate", 90], ["flip"]]'}, "image/png", (20, 40)),
        ({"key": "system-small-cover"}, "image/png", (64, 64)),
    ],
)
def test_transformations(
    srv: LiveServer, red: dict[str, Any], params: dict[str, str], mime: str, size: tuple[int, int]
) -> None:
    with srv.client() as admin:
        response = admin.get(f"/assets/{red['id']}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == mime
    assert image_size(response.content) == size


def test_format_auto_follows_accept_and_varies_on_it(srv: LiveServer, red: dict[str, Any]) -> None:
    with srv.client() as admin:
        response = admin.get(f"/assets/{red['id']}", params={"format": "auto"}, headers={"Accept": "image/webp"})
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["vary"] == "Origin, Cache-Control, Accept"


def test_a_variant_is_kept_and_served_again(srv: LiveServer, red: dict[str, Any]) -> None:
    params = {"width": "12", "height": "12"}
    with srv.client() as admin:
        first = admin.get(f"/assets/{red['id']}", params=params).content
        second = admin.get(f"/assets/{red['id']}", params=params).content
    assert first == second
    root = srv.runtime.settings.STORAGE_LOCATIONS[0].options["root"]
    from pathlib import Path

    assert any(p.name.startswith(f"{red['id']}__") for p in Path(root).iterdir())


BAD_QUERIES = [
    (
        {"transforms": '[["foo"]]'},
        400,
        'Invalid query. "transforms" Parameter does not allow "foo" as a transformation.',
    ),
    (
        {"transforms": "xx"},
        400,
        'Invalid query. "transforms" Parameter needs to be a JSON array of allowed transformations.',
    ),
    ({"transforms": '[["flip"],["flip"],["flip"],["flip"],["flip"],["flip"]]'}, 400,
     'Invalid query. "transforms" Parameter is only allowed 5 transformations.'),
    ({"key": "nope"}, 400, 'Invalid query. Key "nope" isn\'t configured.'),
    ({"width": "7000", "height": "10"}, 400, "Illegal asset transformation."),
]  # fmt: skip


@pytest.mark.parametrize(("params", "status", "message"), BAD_QUERIES)
def test_bad_transformations_get_directus_errors(
    srv: LiveServer, red: dict[str, Any], params: dict[str, str], status: int, message: str
) -> None:
    with srv.client() as admin:
        response = admin.get(f"/assets/{red['id']}", params=params)
    assert response.status_code == status
    assert response.json()["errors"][0]["message"] == message


def test_an_image_beyond_the_dimension_limit_is_served_but_not_transformed(srv: LiveServer) -> None:
    big = io.BytesIO()
    Image.new("L", (2100, 10)).save(big, "PNG")
    with srv.client() as admin:
        row = data(upload(admin, big.getvalue(), name="wide.png"))
        assert admin.get(f"/assets/{row['id']}").status_code == 200
        response = admin.get(f"/assets/{row['id']}", params={"width": "100"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {
        "invalidTransformations": ["width", "height"],
        "code": "ILLEGAL_ASSET_TRANSFORMATION",
    }


def test_a_text_file_ignores_transformations(srv: LiveServer) -> None:
    with srv.client() as admin:
        row = data(upload(admin, b"plain words", name="a.txt", mime="text/plain"))
        response = admin.get(f"/assets/{row['id']}", params={"width": "10"})
    assert (response.status_code, response.content) == (200, b"plain words")
    assert response.headers["content-type"] == "text/plain"


@pytest.mark.parametrize("key", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_unknown_assets_are_forbidden(srv: LiveServer, key: str) -> None:
    with srv.client() as admin:
        response = admin.get(f"/assets/{key}")
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "You don't have permission to access this."


def test_the_file_read_permission_governs_the_asset(srv: LiveServer, red: dict[str, Any]) -> None:
    with srv.client(FILES_TOKEN) as user, srv.client(None) as anon:
        mine = data(upload(user, png(6, 6)))
        assert user.get(f"/assets/{mine['id']}").status_code == 200
        other = user.get(f"/assets/{red['id']}")  # not theirs: the read rule leaves it out
        reason = 'You don\'t have permission to perform "read" for collection "directus_files" or it does not exist.'
        assert (other.status_code, other.json()["errors"][0]) == (
            403,
            {"message": reason, "extensions": {"reason": reason, "code": "FORBIDDEN"}},
        )
        assert anon.get(f"/assets/{mine['id']}").status_code == 403


def test_head_answers_the_headers(srv: LiveServer, red: dict[str, Any]) -> None:
    with srv.client() as admin:
        response = admin.head(f"/assets/{red['id']}")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(png(40, 20)))
    assert response.content == b""


def _noise(side: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((side, side), 80).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_pings_are_answered_while_an_image_is_being_worked_on(srv: LiveServer) -> None:
    """Pillow works in a worker thread: the event loop keeps answering."""
    with srv.client() as admin:
        row = data(upload(admin, _noise(1500), name="noise2.png"))
        slowest = 0.0
        done = threading.Event()

        def transform() -> None:
            with srv.client() as other:
                other.get(f"/assets/{row['id']}", params={"transforms": '[["blur", 40]]', "width": "1401"})
            done.set()

        worker = threading.Thread(target=transform)
        began = time.monotonic()
        worker.start()
        while not done.is_set():
            started = time.monotonic()
            assert admin.get("/server/ping").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        worker.join()
        took = time.monotonic() - began
    assert took > 0.2  # Pillow worked long enough for the pings to mean something
    # Work on the event loop would hold a ping for the whole transformation; the machine's load may delay one
    # by a fraction of it, never by most of it.
    assert slowest < took / 2


def _project_presets(server: LiveServer, mode: str, presets: list[dict[str, Any]]) -> None:
    """The project settings' ``storage_asset_transform`` and ``storage_asset_presets``, set over REST."""
    with server.client() as admin:
        body = {"storage_asset_transform": mode, "storage_asset_presets": presets}
        data(admin.patch("/settings", json=body))


def test_project_presets_and_the_transform_switch(srv: LiveServer, red: dict[str, Any]) -> None:
    preset = {"key": "thumb", "width": 8, "height": 8, "fit": "cover", "format": "webp"}
    url = f"/assets/{red['id']}"
    try:
        _project_presets(srv, "all", [preset])
        with srv.client() as admin:
            thumb = admin.get(url, params={"key": "thumb"})
            assert (thumb.headers["content-type"], image_size(thumb.content)) == ("image/webp", (8, 8))
            _project_presets(srv, "presets", [preset])
            assert admin.get(url, params={"key": "thumb"}).status_code == 200
            free = admin.get(url, params={"width": "9"})
            assert (free.status_code, free.json()["errors"][0]["message"]) == (
                400,
                "Invalid query. Only configured presets can be used in asset generation.",
            )
            _project_presets(srv, "none", [preset])
            off = admin.get(url, params={"key": "thumb"})
            assert off.json()["errors"][0]["message"] == (
                "Invalid query. Dynamic asset generation has been disabled for this project."
            )
            assert admin.get(url, params={"key": "system-small-cover"}).status_code == 200
            assert admin.get(url).status_code == 200
    finally:
        _project_presets(srv, "all", [])


def _halves() -> bytes:
    """40×20: the left half red, the right half blue."""
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (20, 0, 40, 20))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _colour_at_centre(data: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as image:
        pixel = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
    assert isinstance(pixel, tuple)
    return pixel


def test_a_cover_crop_centres_on_the_focal_point(srv: LiveServer) -> None:
    with srv.client() as admin:
        row = data(upload(admin, _halves(), name="halves.png"))
        url = f"/assets/{row['id']}"
        square = {"width": "10", "height": "10"}
        right = admin.get(url, params={**square, "focal_point_x": "35", "focal_point_y": "10"})
        assert image_size(right.content) == (10, 10)
        assert _colour_at_centre(right.content) == (0, 0, 255)
        data(admin.patch(f"/files/{row['id']}", json={"focal_point_x": 2, "focal_point_y": 10}))
        left = admin.get(url, params=square)  # the file's own focal point
        assert _colour_at_centre(left.content) == (255, 0, 0)
