"""``/files``: multipart uploads (several per request, metadata before each file), the row Directus 12.4.1
records for each, the item routes over ``directus_files``, limits, permissions, replacement and deletion.

Expected answers were recorded from Directus 12.4.1 (SQLite) with the same requests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http.files_support import FILES_TOKEN, data, files_user, png, upload
from tests.support.live import LiveServer
from tests.support.seed import USER_TOKEN, seed_guide
from tests.support.servers import module_server
from tidepool.services.files import mime_allowed


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        seed_guide(admin)
        files_user(admin)


srv = module_server(
    "files",
    env={"FILES_MAX_UPLOAD_SIZE": "256kb", "FILES_MIME_TYPE_ALLOW_LIST": "image/*,text/plain"},
    seed=_seed,
)

# The row Directus 12.4.1 answers for an upload: every column of directus_files, in this order.
DIRECTUS_FILE_KEYS = [
    "id", "storage", "filename_disk", "filename_download", "title", "type", "folder", "uploaded_by", "created_on",
    "modified_by", "modified_on", "charset", "filesize", "width", "height", "duration", "embed", "description",
    "location", "tags", "metadata", "focal_point_x", "focal_point_y", "tus_id", "tus_data", "uploaded_on",
]  # fmt: skip


def _root(server: LiveServer) -> Path:
    return Path(server.runtime.settings.STORAGE_LOCATIONS[0].options["root"])


def test_an_upload_records_what_directus_records(srv: LiveServer) -> None:
    content = png()
    with srv.client() as admin:
        me = data(admin.get("/users/me"))
        row = data(upload(admin, content, title="files_t1"))
    assert sorted(row) == sorted(DIRECTUS_FILE_KEYS)
    assert row["storage"] == "local"
    assert row["filename_disk"] == f"{row['id']}.png"
    assert row["filename_download"] == "red.png"
    assert (row["title"], row["type"], row["uploaded_by"]) == ("files_t1", "image/png", me["id"])
    # bigInteger reads as a string in Tidepool, as Directus answers it on PostgreSQL (its SQLite answers 93)
    assert (row["filesize"], row["width"], row["height"]) == (str(len(content)), 40, 20)
    assert row["metadata"] == {"sha256": hashlib.sha256(content).hexdigest()}
    assert row["uploaded_on"] is not None and row["created_on"] is not None
    assert (_root(srv) / row["filename_disk"]).read_bytes() == content


def test_the_title_defaults_to_the_file_name_formatted(srv: LiveServer) -> None:
    with srv.client() as admin:
        row = data(upload(admin, png(), name="my_holiday-photo.png"))
    assert row["title"] == "My Holiday Photo"


def test_several_files_in_one_request_each_take_the_fields_sent_before_them(srv: LiveServer) -> None:
    parts: list[tuple[str, Any]] = [
        ("title", (None, b"first")),
        ("file", ("a.png", png(10, 10), "image/png")),
        ("title", (None, b"second")),
        ("description", (None, b"null")),
        ("file", ("b.txt", b"hello", "text/plain")),
    ]
    with srv.client() as admin:
        rows = data(admin.post("/files", files=parts))
    rows.sort(key=lambda r: r["title"])  # read back by key, as Directus's readMany: not in upload order
    assert [(r["title"], r["type"], r["filesize"], r["width"]) for r in rows] == [
        ("first", "image/png", str(len(png(10, 10))), 10),
        ("second", "text/plain", "5", None),
    ]
    assert rows[1]["description"] is None


INVALID = "Invalid payload."
BIG = b"x" * (256 * 1024 + 1)  # one byte past FILES_MAX_UPLOAD_SIZE


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"data": {"title": "x"}, "files": {"x": (None, b"")}}, 400, f"{INVALID} No files were included in the body."),
        ({"json": {"title": "b"}}, 400, f'{INVALID} "type" is required.'),
        ({"files": {"file": ("a.pdf", b"%PDF", "app/pdf")}}, 400, f"{INVALID} File is of invalid content type."),
        ({"files": {"file": ("big.txt", BIG, "text/plain")}}, 413, "Uploaded content is too large."),
    ],
    ids=["no-file", "json-without-type", "mime-not-allowed", "too-large"],
)  # fmt: skip
def test_bad_uploads_get_directus_errors_and_store_nothing(
    srv: LiveServer, kwargs: dict[str, object], status: int, message: str
) -> None:
    with srv.client() as admin:
        before = data(admin.get("/files", params={"aggregate[count]": "*"}))
        stored = sorted(p.name for p in _root(srv).iterdir()) if _root(srv).exists() else []
        response = admin.post("/files", **kwargs)  # type: ignore[arg-type]
        assert response.status_code == status, response.text
        assert response.json()["errors"][0]["message"] == message
        assert data(admin.get("/files", params={"aggregate[count]": "*"})) == before
    assert (sorted(p.name for p in _root(srv).iterdir()) if _root(srv).exists() else []) == stored


def test_a_json_create_makes_a_row_without_bytes(srv: LiveServer) -> None:
    with srv.client() as admin:
        row = data(admin.post("/files", json={"type": "text/plain", "filename_download": "x.txt", "storage": "local"}))
    assert (row["type"], row["filesize"], row["filename_disk"]) == ("text/plain", None, None)


def test_metadata_updates_go_through_the_item_routes(srv: LiveServer) -> None:
    with srv.client() as admin:
        row = data(upload(admin, png()))
        updated = data(admin.patch(f"/files/{row['id']}", json={"title": "renamed", "tags": ["a", "b"]}))
        assert (updated["title"], updated["tags"]) == ("renamed", ["a", "b"])
        listed = data(admin.get("/files", params={"filter[title][_eq]": "renamed", "fields": "id,title"}))
        assert listed == [{"id": row["id"], "title": "renamed"}]
        many = data(admin.patch("/files", json={"keys": [row["id"]], "data": {"description": "d"}}))
        assert many[0]["description"] == "d"


def test_a_multipart_patch_replaces_the_bytes(srv: LiveServer) -> None:
    with srv.client() as admin:
        row = data(upload(admin, png(40, 20)))
        variant = admin.get(f"/assets/{row['id']}", params={"width": 4, "height": 4})
        assert variant.status_code == 200
        new = png(30, 30, (0, 0, 255))
        replaced = data(admin.patch(f"/files/{row['id']}", files={"file": ("blue.png", new, "image/png")}))
        assert (replaced["filesize"], replaced["width"], replaced["height"]) == (str(len(new)), 30, 30)
        assert replaced["filename_download"] == "blue.png"
        assert admin.get(f"/assets/{row['id']}").content == new
    names = sorted(p.name for p in _root(srv).iterdir() if p.name.startswith(row["id"]))
    assert names == [f"{row['id']}.png"]  # the old variant went with the old bytes


def test_delete_removes_the_row_and_the_stored_object(srv: LiveServer) -> None:
    with srv.client() as admin:
        row = data(upload(admin, png()))
        assert admin.get(f"/assets/{row['id']}", params={"width": 5}).status_code == 200
        assert admin.delete(f"/files/{row['id']}").status_code == 204
        assert admin.get(f"/files/{row['id']}").status_code == 403
        assert admin.get(f"/assets/{row['id']}").status_code == 403
    assert [p for p in _root(srv).iterdir() if p.name.startswith(row["id"])] == []


def test_a_user_sees_and_deletes_only_their_own_files(srv: LiveServer) -> None:
    with srv.client() as admin, srv.client(FILES_TOKEN) as user:
        theirs = data(upload(admin, png()))
        mine = data(upload(user, png(8, 8)))
        assert [r["id"] for r in data(user.get("/files", params={"fields": "id"}))] == [mine["id"]]
        assert user.get(f"/files/{theirs['id']}").status_code == 403
        assert user.delete(f"/files/{theirs['id']}").status_code == 403
        assert admin.get(f"/files/{theirs['id']}").status_code == 200
        assert user.delete(f"/files/{mine['id']}").status_code == 204


def test_a_user_without_file_permissions_gets_directus_forbidden(srv: LiveServer) -> None:
    with srv.client() as admin, srv.client(USER_TOKEN) as user:
        row = data(upload(admin, png()))
        replace = user.patch(f"/files/{row['id']}", files={"file": ("x.png", png(), "image/png")})
        answers = (user.get(f"/files/{row['id']}"), user.get(f"/assets/{row['id']}"), upload(user, png()), replace)
        for response in answers:
            assert response.status_code == 403
            assert response.json()["errors"][0]["message"] == (
                'You don\'t have permission to access collection "directus_files" or it does not exist. '
                "Queried in root."
            )


def test_allow_list_patterns_are_globs() -> None:
    assert mime_allowed("image/jpeg", ["image/jp*"]) and mime_allowed("x/y", ["*/*"])
    assert not mime_allowed("image/png", ["image/jp*", "text/plain"])


def test_folders_are_items_and_files_point_at_them(srv: LiveServer) -> None:
    with srv.client() as admin:
        folder = data(admin.post("/folders", json={"name": "Photos"}))
        assert sorted(folder) == ["id", "name", "parent", "type"]
        assert folder["type"] == "files"
        child = data(admin.post("/folders", json={"name": "2026", "parent": folder["id"]}))
        row = data(upload(admin, png(), folder=folder["id"]))
        read = data(admin.get(f"/files/{row['id']}", params={"fields": "folder.name"}))
        assert read == {"folder": {"name": "Photos"}}
        assert data(admin.get("/folders", params={"filter[parent][_eq]": folder["id"], "fields": "name"})) == [
            {"name": "2026"}
        ]
        assert admin.delete(f"/folders/{child['id']}").status_code == 204


def test_an_upload_streams_in_chunks(srv: LiveServer) -> None:
    """A body sent in many small chunks (headers split across them) is parsed as one."""
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nchunked\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n{'y' * 5000}\r\n--{boundary}--\r\n"
    ).encode()

    def pieces() -> Iterator[bytes]:
        for i in range(0, len(body), 7):
            yield body[i : i + 7]

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    with srv.client() as admin:
        row = data(admin.post("/files", content=pieces(), headers=headers))
    assert (row["title"], row["filesize"], row["type"]) == ("chunked", "5000", "text/plain")


def test_a_malformed_body_is_invalid_payload(srv: LiveServer) -> None:
    headers = {"Content-Type": "multipart/form-data"}
    with srv.client() as admin:
        response = admin.post("/files", content=b"not multipart", headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"


@pytest.mark.parametrize("name", ["a.png\\..\\..\\evil", "../../evil.png", "x.\\..\\other.png"])
def test_a_file_name_never_chooses_the_storage_key(srv: LiveServer, name: str) -> None:
    with srv.client() as admin:
        row = data(upload(admin, png(), name=name))
    assert row["filename_disk"] == f"{row['id']}.png"
    assert row["filename_download"] == name
    assert (_root(srv) / row["filename_disk"]).is_file()


def test_an_id_in_the_payload_must_be_a_uuid(srv: LiveServer) -> None:
    with srv.client() as admin:
        response = upload(admin, png(), id="../../escape")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == 'Invalid payload. "id" must be a valid uuid.'
