"""File writes reach realtime subscribers of ``directus_files``: one ``create`` per uploaded file (with the
measured size and dimensions already in the row), ``update`` for a metadata change or a replaced file,
``delete`` for a deletion; a user who may read only their own files hears only of those."""

from __future__ import annotations

from typing import Any

from tests.http.files_support import FILES_TOKEN, data, files_user, png, upload
from tests.realtime.test_subscriptions_helpers import ws
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import NO_HEARTBEAT, module_server


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        files_user(admin)


srv = module_server("file_events", env=NO_HEARTBEAT, seed=_seed)

FIELDS = ["id", "title", "filesize", "width", "height"]


def _subscribe(socket: Any) -> None:
    init = socket.request({"type": "subscribe", "collection": "directus_files", "query": {"fields": FIELDS}})
    assert (init["type"], init["event"]) == ("subscription", "init"), init


def test_upload_update_replace_and_delete_are_events(srv: LiveServer) -> None:
    with ws(srv, ADMIN_TOKEN) as socket, srv.client() as admin:
        _subscribe(socket)
        row = data(upload(admin, png(40, 20), title="live"))
        created = socket.recv()
        assert (created["event"], created["data"]) == (
            "create",
            [{"id": row["id"], "title": "live", "filesize": row["filesize"], "width": 40, "height": 20}],
        )
        data(admin.patch(f"/files/{row['id']}", json={"title": "renamed"}))
        updated = socket.recv()
        assert (updated["event"], updated["data"][0]["title"]) == ("update", "renamed")
        data(admin.patch(f"/files/{row['id']}", files={"file": ("b.png", png(8, 8), "image/png")}))
        replaced = socket.recv()
        assert (replaced["event"], replaced["data"][0]["width"]) == ("update", 8)
        assert admin.delete(f"/files/{row['id']}").status_code == 204
        deleted = socket.recv()
        assert (deleted["event"], deleted["data"]) == ("delete", [row["id"]])


def test_a_user_hears_only_of_files_they_may_read(srv: LiveServer) -> None:
    with ws(srv, FILES_TOKEN) as socket, srv.client() as admin, srv.client(FILES_TOKEN) as user:
        _subscribe(socket)
        data(upload(admin, png(), title="not yours"))
        mine = data(upload(user, png(), title="yours"))
        event = socket.recv()
        assert (event["event"], [r["id"] for r in event["data"]]) == ("create", [mine["id"]])
        socket.quiet(0.3)


def test_folder_writes_are_events_too(srv: LiveServer) -> None:
    with ws(srv, ADMIN_TOKEN) as socket, srv.client() as admin:
        init = socket.request({"type": "subscribe", "collection": "directus_folders", "query": {"fields": ["name"]}})
        assert init["event"] == "init"
        folder = data(admin.post("/folders", json={"name": "Live"}))
        created = socket.recv()
        assert (created["event"], created["data"]) == ("create", [{"name": "Live"}])
        assert admin.delete(f"/folders/{folder['id']}").status_code == 204
        assert socket.recv()["event"] == "delete"
