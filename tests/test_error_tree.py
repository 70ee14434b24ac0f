"""One error tree, translated at the seams (issue 12, item 5).

Every error a client can see is a ``TidepoolError`` defined in ``tidepool/errors.py`` (and drawn in its tree);
other libraries' errors become ours only through ``tidepool.seams.SEAMS``, whose rows are never shadowed; no
module decides what an exception is by its class name. The last test sends each seam's foreign error over
a real socket to a live server and checks the exact envelope the client gets.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import time
from pathlib import Path

import jwt
import orjson
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

import tidepool
from tests.realtime.wsclient import WS
from tests.support.live import ADMIN_TOKEN, LiveServer
from tests.support.servers import module_server
from tidepool import errors
from tidepool.errors import TidepoolError
from tidepool.seams import SEAMS, translate, translated

SOURCE = Path(tidepool.__file__).parent


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages([str(SOURCE)], "tidepool.") if m.name != "tidepool.__main__"]


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found)) if found else found


def test_every_client_error_lives_in_the_tree() -> None:
    for name in _modules():
        importlib.import_module(name)
    outside = sorted(
        f"{c.__module__}.{c.__qualname__}" for c in _subclasses(TidepoolError) if c.__module__ != errors.__name__
    )
    assert outside == []


def test_the_tree_in_the_docstring_names_every_error() -> None:
    defined = [name for name, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, TidepoolError)]
    drawn = set(re.findall(r"\b([A-Z]\w+Error)\b", errors.__doc__ or ""))
    assert sorted(set(defined) - drawn) == []


def test_no_row_of_a_seam_is_shadowed_by_an_earlier_one() -> None:
    for seam, rows in SEAMS.items():
        for index, (later, _) in enumerate(rows):
            for earlier, _ in rows[:index]:
                assert not issubclass(later, earlier), f"{seam}: {later.__name__} is never reached"


def test_every_seam_named_in_the_code_is_in_the_table() -> None:
    named = {
        seam
        for path in SOURCE.rglob("*.py")
        for seam in re.findall(r"\btranslated?\(\s*\"([^\"]+)\"", path.read_text())
    }
    assert named and named <= set(SEAMS), named - set(SEAMS)
    assert set(SEAMS) <= named, f"rows no code uses: {set(SEAMS) - named}"


def test_nothing_is_recognised_by_its_class_name() -> None:
    compared = re.compile(r"__name__\s*(==|!=|\bin\b|\bnot in\b)|__class__\.__name__")
    found = [
        f"{path.relative_to(SOURCE)}:{number}"
        for path in SOURCE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if compared.search(line) and '__name__ == "__main__"' not in line
    ]
    assert found == []


def test_a_foreign_error_no_row_takes_passes_through_unchanged() -> None:
    with pytest.raises(KeyError), translated("request body"):
        raise KeyError("not a decode error")
    with pytest.raises(errors.ForbiddenError), translated("request body"):
        raise errors.ForbiddenError()
    assert translate("access token", ValueError("x")) is None
    with pytest.raises(KeyError):
        translated("no such seam")


def test_library_errors_become_ours() -> None:
    expired = jwt.encode({"exp": int(time.time()) - 60, "iss": "directus"}, "s" * 32, algorithm="HS256")
    with pytest.raises(errors.TokenExpiredError), translated("access token"):
        jwt.decode(expired, "s" * 32, algorithms=["HS256"])
    with pytest.raises(errors.InvalidTokenError), translated("access token"):
        jwt.decode("not.a.jwt", "s" * 32, algorithms=["HS256"])
    with pytest.raises(errors.ParseError), translated("websocket frame"):
        orjson.loads("{")
    down = translate("redis", RedisConnectionError("Connection refused"))
    assert isinstance(down, errors.ServiceUnavailableError)
    assert (down.to_ws(), down.detail) == (
        {"code": "SERVICE_UNAVAILABLE", "message": 'Service "redis" is unavailable. Could not connect to Redis.'},
        "Connection refused",
    )


srv = module_server("seams")


def test_each_seam_answers_the_client_as_before(srv: LiveServer) -> None:
    with srv.client(token=None) as anon:
        body = anon.post("/auth/login", content=b"{", headers={"content-type": "application/json"})
        assert (body.status_code, body.json()) == (
            400,
            {
                "errors": [
                    {
                        "message": "Invalid payload. Request body is not valid JSON.",
                        "extensions": {"reason": "Request body is not valid JSON", "code": "INVALID_PAYLOAD"},
                    }
                ]
            },
        )
        forged = anon.get("/users/me", headers=_bearer(_jwt("not the secret, but long enough for HS256", 600)))
        assert (forged.status_code, forged.json()["errors"][0]) == (
            403,
            {"message": "Invalid token.", "extensions": {"code": "INVALID_TOKEN"}},
        )
        stale = anon.get("/users/me", headers=_bearer(_jwt(srv.runtime.settings.SECRET, -60)))
        assert (stale.status_code, stale.json()["errors"][0]) == (
            401,
            {"message": "Token expired.", "extensions": {"code": "TOKEN_EXPIRED"}},
        )
    with WS(f"{srv.ws_url}?access_token={ADMIN_TOKEN}") as ws:
        ws.send("{not json")
        assert ws.recv() == {
            "type": "server",
            "status": "error",
            "error": {"code": "INVALID_PAYLOAD", "message": "Unable to parse the incoming message."},
        }
        ws.send({"type": "subscribe", "collection": 5, "uid": "s"})
        reply = ws.recv()
        assert (reply["type"], reply["error"]["code"]) == ("subscribe", "INVALID_PAYLOAD")
        assert reply["error"]["message"].startswith("Validation error: ")


def _jwt(secret: str, ttl: int) -> str:
    claims = {"id": "00000000-0000-4000-8000-000000000000", "exp": int(time.time()) + ttl, "iss": "directus"}
    return jwt.encode(claims, secret, algorithm="HS256")


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
