"""Shared by the files and assets tests: images made on the fly, a files user, and upload helpers."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

FILES_TOKEN = "files-user-token"


def png(width: int = 40, height: int = 20, color: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def upload(client: httpx.Client, content: bytes, name: str = "red.png", mime: str = "image/png", **fields: str) -> Any:
    """``POST /files`` with the text fields first, then the file, as Directus requires."""
    return client.post("/files", data=fields, files={"file": (name, content, mime)})


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def files_user(admin: httpx.Client, token: str = FILES_TOKEN, own_only: bool = True) -> str:
    """A user who may create files and read, update and delete only their own (Directus's recommended
    app permissions for files), through a policy of its own; the user's id."""
    policy = data(admin.post("/policies", json={"name": f"files {token}", "app_access": False}))
    rule = {"uploaded_by": {"_eq": "$CURRENT_USER"}} if own_only else {}
    for action in ("create", "read", "update", "delete"):
        body = {"policy": policy["id"], "collection": "directus_files", "action": action, "fields": ["*"]}
        body["permissions"] = {} if action == "create" else rule
        data(admin.post("/permissions", json=body))
    role = data(admin.post("/roles", json={"name": f"files {token}"}))
    data(admin.post("/access", json={"role": role["id"], "policy": policy["id"]}))
    user = data(
        admin.post(
            "/users",
            json={"email": f"{token}@example.com", "password": "pw-123456", "role": role["id"], "token": token},
        )
    )
    return str(user["id"])
