"""A storage location that cannot take an object answers Directus's 503 (``Service "files" is unavailable.
Couldn't save file <name>.``), leaves no row, and the server keeps serving."""

from __future__ import annotations

import re
from pathlib import Path

from tests.http.files_support import data, png, upload
from tests.support.live import live_server, scratch_database


def test_an_unwritable_location_is_503_and_nothing_is_created(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the uploads directory should be")
    with (
        scratch_database(tmp_path) as db_env,
        live_server({**db_env, "STORAGE_LOCAL_ROOT": str(blocker / "uploads")}) as server,
        server.client() as admin,
    ):
        response = upload(admin, png())
        assert response.status_code == 503, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["service"] == "files"
        assert re.fullmatch(
            r'Service "files" is unavailable\. Couldn\'t save file [0-9a-f-]{36}\.png\.', error["message"]
        )
        assert data(admin.get("/files", params={"aggregate[count]": "*"})) == [{"count": 0}]
        assert admin.get("/server/ping").status_code == 200
