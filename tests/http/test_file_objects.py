"""A file's stored object belongs to its row: no write of a caller who may not read or update another file
reaches that file's bytes.

Two holes this pins, each for a user with Directus's recommended "own files" policy (create; read, update,
delete where ``uploaded_by = $CURRENT_USER``; every field):

- ``filename_disk`` pointed at another file's object (``<other id>.txt``, or ``<own id>/../<other id>.txt``,
  which the storage key resolves to the same) made ``/assets/<own id>`` serve the other file's bytes, by
  every write path (one key, keys, a batch, a query, a JSON create); a non-admin may now write it only as
  the row's own key (``<id>`` or ``<id>.<extension>``), an admin anything;
- an upload giving an existing file's ``id`` stored its bytes over that file's object, then, the row being a
  duplicate, removed the object: any file whose id one knew was destroyed (no read or update needed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.http.files_support import FILES_TOKEN, data, files_user
from tests.support.live import LiveServer
from tests.support.origin import serving
from tests.support.servers import module_server

SECRET = b"the admin's secret bytes"


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        files_user(admin)


srv = module_server(
    "file_objects",
    env={"FILES_MIME_TYPE_ALLOW_LIST": "text/plain", "IMPORT_IP_DENY_LIST": "169.254.169.254"},
    seed=_seed,
)


PLAIN = {"/a.txt": (200, {"Content-Type": "text/plain"}, b"imported over it")}


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with serving(PLAIN) as url:
        yield url + "/a.txt"


def _upload(client: httpx.Client, content: bytes, **fields: str) -> httpx.Response:
    return client.post("/files", data=fields, files={"file": ("a.txt", content, "text/plain")})


def _secret_and_mine(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    with server.client() as admin, server.client(FILES_TOKEN) as user:
        return data(_upload(admin, SECRET)), data(_upload(user, b"mine"))


Write = Callable[[httpx.Client, dict[str, Any], str], httpx.Response]

# Each way a user's write can set filename_disk on a file of their own.
POINTING: dict[str, Write] = {
    "one key": lambda u, mine, name: u.patch(f"/files/{mine['id']}", json={"filename_disk": name}),
    "keys": lambda u, mine, name: u.patch("/files", json={"keys": [mine["id"]], "data": {"filename_disk": name}}),
    "batch": lambda u, mine, name: u.patch("/files", json=[{"id": mine["id"], "filename_disk": name}]),
    "query": lambda u, mine, name: u.patch(
        "/files", json={"query": {"filter": {"id": {"_eq": mine["id"]}}}, "data": {"filename_disk": name}}
    ),
    "JSON create": lambda u, mine, name: u.post(
        "/files", json={"type": "text/plain", "filename_download": "x.txt", "storage": "local", "filename_disk": name}
    ),
}
NAMES: dict[str, Callable[[dict[str, Any], dict[str, Any]], str]] = {
    "other's key": lambda secret, mine: secret["filename_disk"],
    "through own key": lambda secret, mine: f"{mine['id']}/../{secret['filename_disk']}",
    "backslashes": lambda secret, mine: f"{mine['id']}\\..\\{secret['filename_disk']}",
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("how", POINTING)
def test_a_file_cannot_be_pointed_at_another_files_object(srv: LiveServer, how: str, name: str) -> None:
    secret, mine = _secret_and_mine(srv)
    with srv.client(FILES_TOKEN) as user:
        response = POINTING[how](user, mine, NAMES[name](secret, mine))
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
        assert response.json()["errors"][0]["extensions"]["field"] == "filename_disk"
        for row in data(user.get("/files", params={"fields": "id", "limit": "-1"})):
            assert user.get(f"/assets/{row['id']}").content != SECRET
    with srv.client() as admin:
        assert data(admin.get(f"/files/{mine['id']}"))["filename_disk"] == mine["filename_disk"]
        assert admin.get(f"/assets/{secret['id']}").content == SECRET


def test_the_own_key_and_nothing_stay_writable(srv: LiveServer) -> None:
    _, mine = _secret_and_mine(srv)
    with srv.client(FILES_TOKEN) as user:
        for name in (mine["filename_disk"], mine["id"], f"{mine['id']}.bin", None, mine["filename_disk"]):
            row = data(user.patch(f"/files/{mine['id']}", json={"filename_disk": name}))
            assert row["filename_disk"] == name
        assert user.get(f"/assets/{mine['id']}").content == b"mine"
        uploaded = data(_upload(user, b"again", filename_disk="elsewhere.txt"))  # the server names it, as Directus
        assert uploaded["filename_disk"] == f"{uploaded['id']}.txt"
        replaced = user.patch(f"/files/{mine['id']}", data={"filename_disk": "x"}, files={"file": ("a.txt", b"new")})
        assert data(replaced)["filename_disk"] == f"{mine['id']}.txt"


def test_an_admin_may_name_any_object(srv: LiveServer) -> None:
    secret, mine = _secret_and_mine(srv)
    with srv.client() as admin:
        data(admin.patch(f"/files/{mine['id']}", json={"filename_disk": secret["filename_disk"]}))
        assert admin.get(f"/assets/{mine['id']}").content == SECRET


@pytest.mark.parametrize("how", ["upload", "upload, id in capitals", "import"])
def test_an_upload_with_an_existing_id_leaves_that_files_bytes_alone(srv: LiveServer, origin: str, how: str) -> None:
    secret, _ = _secret_and_mine(srv)
    given = secret["id"].upper() if "capitals" in how else secret["id"]
    with srv.client(FILES_TOKEN) as user:
        if how == "import":
            response = user.post("/files/import", json={"url": origin, "data": {"id": given}})
        else:
            response = _upload(user, b"overwritten", id=given)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "RECORD_NOT_UNIQUE"
    with srv.client() as admin:
        assert admin.get(f"/assets/{secret['id']}").content == SECRET


def test_a_replacement_outside_the_update_rule_changes_no_byte(srv: LiveServer) -> None:
    """Directus 11.9.2 (CVE-2025-55746) answered 403 and replaced the bytes all the same."""
    secret, _ = _secret_and_mine(srv)
    with srv.client(FILES_TOKEN) as user, srv.client(None) as public:
        for client in (user, public):
            response = client.patch(f"/files/{secret['id']}", files={"file": ("a.txt", b"replaced", "text/plain")})
            assert response.status_code == 403, response.text
    with srv.client() as admin:
        assert admin.get(f"/assets/{secret['id']}").content == SECRET
