"""The ``s3`` storage driver against a real S3-compatible server (moto's server mode, its own process):
uploads larger than one part go up as S3 multipart uploads, assets stream back whole and by range,
variants are kept in the bucket, and deleting a file removes its objects."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.http.files_support import data, image_size, png, upload
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.s3 import moto_server, s3_client, s3_env
from tidepool.storage.s3 import PART_SIZE

BUCKET = "tidepool-files"
LIMIT = PART_SIZE * 2 + 20000  # FILES_MAX_UPLOAD_SIZE here: past two whole parts


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Any]]:
    with moto_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        with (
            scratch_database(tmp_path_factory.mktemp("files_s3")) as db_env,
            live_server({**db_env, **s3_env(endpoint, BUCKET), "FILES_MAX_UPLOAD_SIZE": str(LIMIT)}) as server,
        ):
            yield server, client


def _keys(client: Any) -> list[str]:
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def test_a_small_upload_is_one_object_under_the_root(s3: tuple[LiveServer, Any]) -> None:
    server, client = s3
    with server.client() as admin:
        row = data(upload(admin, png(40, 20)))
        assert row["storage"] == "s3"
        assert (row["width"], row["height"]) == (40, 20)
        body = client.get_object(Bucket=BUCKET, Key=f"uploads/{row['filename_disk']}")["Body"].read()
        assert body == png(40, 20)
        assert admin.get(f"/assets/{row['id']}").content == body
        variant = admin.get(f"/assets/{row['id']}", params={"width": "10", "format": "webp"})
        assert (variant.headers["content-type"], image_size(variant.content)) == ("image/webp", (10, 5))
        assert any(key.startswith(f"uploads/{row['id']}__") for key in _keys(client))
        assert admin.delete(f"/files/{row['id']}").status_code == 204
    assert [key for key in _keys(client) if row["id"] in key] == []


def test_a_large_upload_goes_up_in_parts_and_reads_back_by_range(s3: tuple[LiveServer, Any]) -> None:
    server, client = s3
    content = os.urandom(PART_SIZE * 2 + 12345)  # three parts, the last one short
    with server.client() as admin:
        row = data(upload(admin, content, name="blob.bin", mime="application/octet-stream"))
        assert row["filesize"] == str(len(content))
        head = client.head_object(Bucket=BUCKET, Key=f"uploads/{row['filename_disk']}")
        assert head["ContentLength"] == len(content)
        assert head["ETag"].strip('"').endswith("-3")  # a multipart upload's ETag counts its parts
        part = admin.get(f"/assets/{row['id']}", headers={"Range": f"bytes={PART_SIZE - 5}-{PART_SIZE + 4}"})
        assert part.status_code == 206
        assert part.content == content[PART_SIZE - 5 : PART_SIZE + 5]
        assert admin.get(f"/assets/{row['id']}").content == content


def test_an_upload_over_the_limit_aborts_its_multipart_upload(s3: tuple[LiveServer, Any]) -> None:
    """Two parts are already in the bucket when the limit is crossed: the multipart upload is aborted, no
    object and no row remain."""
    server, client = s3
    before = _keys(client)
    with server.client() as admin:
        files_before = data(admin.get("/files", params={"aggregate[count]": "*"}))
        response = upload(admin, b"z" * (LIMIT + 1), name="a.bin", mime="application/octet-stream")
        assert response.status_code == 413, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "CONTENT_TOO_LARGE"
        assert data(admin.get("/files", params={"aggregate[count]": "*"})) == files_before
    assert _keys(client) == before
    assert client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
