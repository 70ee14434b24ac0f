"""``POST /utils/export/{collection}``: 204 at once, then the read written as a new file in ``directus_files``
and a notification to the caller, as Directus 12.4.1 does.

Recorded from Directus 12.4.1: the file is ``export-<collection>-<YYYYMMDD-HMS>.<ext>`` (also its title unless
``file.title`` is given), typed ``text/csv`` / ``application/json`` / …; the notification says "Your export of
messages is ready" (collection ``directus_files``, item the file) or "… failed" with "Please contact your system
administrator for more information."; an unknown collection is 403 up front, a missing ``query`` or ``format``
is 400 ``INVALID_PAYLOAD``, and everything else (a bad format, no permission) is a 204 whose export fails.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.files_support import data
from tests.support.live import LiveServer, live_server, scratch_database
from tests.support.seed import USER_EMAIL, USER_TOKEN, seed_guide
from tests.support.servers import module_server
from tidepool.background import Background
from tidepool.query.model import Query
from tidepool.runtime import open_runtime
from tidepool.services.items import ItemsService


def _seed(server: LiveServer) -> None:
    with server.client() as admin:
        seed_guide(admin)
        for n in range(7):
            data(admin.post("/items/messages", json={"text": f'export {n}, "quoted"', "user": f"u{n % 2}"}))


srv = module_server("export_file", seed=_seed)

QUERY = {"fields": ["id", "text", "user"], "sort": ["-id"], "filter": {"user": {"_eq": "u1"}}}


def _until(probe: Callable[[], Any], timeout: float = 15.0) -> Any:
    """``probe()``'s first truthy answer (the export runs after the 204)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


def _file_titled(admin: httpx.Client, title: str) -> dict[str, Any] | None:
    rows = data(admin.get("/files", params={"filter[title][_eq]": title}))
    return rows[0] if rows else None


def _notifications(admin: httpx.Client, recipient: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = data(
        admin.get("/notifications", params={"filter[recipient][_eq]": recipient, "sort": "id"})
    )
    return rows


@pytest.mark.parametrize(
    ("format", "extension", "mime"),
    [("csv", "csv", "text/csv"), ("json", "json", "application/json"), ("xml", "xml", "text/xml"),
     ("yaml", "yaml", "text/yaml")],
)  # fmt: skip
def test_the_file_holds_the_export_and_the_caller_is_notified(
    srv: LiveServer, format: str, extension: str, mime: str
) -> None:
    title = f"export test {format}"
    with srv.client() as admin:
        me = data(admin.get("/users/me"))["id"]
        seen = len(_notifications(admin, me))
        body = {"format": format, "query": QUERY, "file": {"title": title, "description": "kept"}}
        answer = admin.post("/utils/export/messages", json=body)
        assert (answer.status_code, answer.content) == (204, b"")
        row = _until(lambda: _file_titled(admin, title))
        expected = admin.get(
            "/items/messages",
            params={"export": format, "fields": "id,text,user", "sort": "-id", "filter[user][_eq]": "u1"},
        )
        stored = admin.get(f"/assets/{row['id']}")
        assert stored.content == expected.content and b"export 5, " in stored.content
        assert re.fullmatch(rf"export-messages-\d{{8}}-\d{{3,6}}\.{extension}", row["filename_download"])
        assert (row["type"], row["description"], row["uploaded_by"]) == (mime, "kept", me)
        note = _until(lambda: _notifications(admin, me)[seen:])[0]
    assert note["subject"] == "Your export of messages is ready"
    assert (note["sender"], note["collection"], note["item"]) == (me, "directus_files", row["id"])
    assert f"/admin/files/{row['id']}" in note["message"]


def test_without_a_title_the_file_is_named_after_the_export(srv: LiveServer) -> None:
    with srv.client() as admin:
        before = {f["id"] for f in data(admin.get("/files", params={"fields": "id", "limit": -1}))}
        assert admin.post("/utils/export/messages", json={"format": "csv", "query": {"limit": 2}}).status_code == 204

        def new_file() -> dict[str, Any] | None:
            rows = data(admin.get("/files", params={"limit": -1}))
            fresh = [f for f in rows if f["id"] not in before]
            return fresh[0] if fresh else None

        row = _until(new_file)
        lines = admin.get(f"/assets/{row['id']}").text.split("\n")
    assert row["title"] + ".csv" == row["filename_download"]
    assert len(lines) == 3  # the header and the query's two rows


def test_an_export_the_caller_may_not_write_fails_in_a_notification(srv: LiveServer) -> None:
    """The messages user may read messages but not create files: 204, no file, a "failed" notification."""
    with srv.client() as admin, srv.client(USER_TOKEN) as user:
        user_id = data(admin.get("/users", params={"filter[email][_eq]": USER_EMAIL}))[0]["id"]
        files_before = len(data(admin.get("/files", params={"limit": -1})))
        body = {"format": "csv", "query": {}, "file": {"title": "export test refused"}}
        assert user.post("/utils/export/messages", json=body).status_code == 204
        note = _until(lambda: _notifications(admin, user_id))[-1]
        assert len(data(admin.get("/files", params={"limit": -1}))) == files_before
    assert (note["subject"], note["item"]) == ("Your export of messages failed", None)
    assert note["message"] == "Please contact your system administrator for more information."


def test_an_unknown_format_fails_after_the_answer(srv: LiveServer) -> None:
    with srv.client() as admin:
        me = data(admin.get("/users/me"))["id"]
        seen = len(_notifications(admin, me))
        assert admin.post("/utils/export/messages", json={"format": "pdf", "query": {}}).status_code == 204
        note = _until(lambda: _notifications(admin, me)[seen:])[0]
    assert note["subject"] == "Your export of messages failed"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/utils/export/nope", {"format": "csv", "query": {}}, 403,
         'You don\'t have permission to access collection "nope" or it does not exist. Queried in root.'),
        ("/utils/export/messages", None, 400, 'Invalid payload. "query" is required.'),
        ("/utils/export/messages", {"format": "csv"}, 400, 'Invalid payload. "query" is required.'),
        ("/utils/export/messages", {"query": {}}, 400, 'Invalid payload. "format" is required.'),
        ("/utils/export/messages", {"query": 3, "format": "csv"}, 400,
         'Invalid payload. "query" must be of type object.'),
    ],
)  # fmt: skip
def test_what_is_checked_before_the_answer(srv: LiveServer, path: str, body: Any, status: int, message: str) -> None:
    with srv.client() as admin:
        answer = admin.post(path, json=body) if body is not None else admin.post(path)
    assert answer.status_code == status
    assert answer.json()["errors"][0]["message"] == message


def test_a_closing_runtime_waits_for_background_work() -> None:
    """``Background.drain`` returns only once every task (and any it started meanwhile) has finished."""
    finished: list[str] = []

    async def work(name: str, then: Background | None = None) -> None:
        await asyncio.sleep(0.05)
        if then is not None:
            then.start(work("second"), "second")
        finished.append(name)

    async def run() -> None:
        background = Background()
        background.start(work("first", background), "first")
        assert background.running == 1
        await background.drain()
        assert background.running == 0

    asyncio.run(run())
    assert finished == ["first", "second"]


def test_a_stopping_server_finishes_the_export_it_acknowledged(tmp_path: Path) -> None:
    """The export is still running when the server is told to stop; the file is written all the same."""
    with scratch_database(tmp_path) as db_env:
        with live_server({**db_env, "STORAGE_LOCAL_ROOT": str(tmp_path / "files")}) as server:
            with server.client() as admin:
                seed_guide(admin)
                rows = [{"text": f"row {n} " + "x" * 200, "user": "u"} for n in range(3000)]
                # 3,000 creates in one request: on MariaDB at load 8 this took over the client's default 30 s
                assert admin.post("/items/messages?fields=id", json=rows, timeout=180).status_code == 200
                body = {"format": "json", "query": {}, "file": {"title": "export at shutdown"}}
                assert admin.post("/utils/export/messages", json=body).status_code == 204
            assert server.runtime.background.running == 1  # still being written as the server stops
        settings = server.settings

        async def stored() -> list[dict[str, Any]]:
            async with open_runtime(settings, run_bootstrap=False) as runtime:
                files = ItemsService(runtime.context(), "directus_files")
                return await files.read_by_query(Query(filter={"title": {"_eq": "export at shutdown"}}))

        found = asyncio.run(stored())
    assert len(found) == 1 and int(found[0]["filesize"]) > 3000 * 200
    written = (tmp_path / "files" / found[0]["filename_disk"]).read_bytes()
    assert written.count(b'"text": "row ') == 3000
