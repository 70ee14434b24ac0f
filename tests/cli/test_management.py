"""The seed guide in three CLI commands, then a live server on the same database honours them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.http.accounts_support import error, ok
from tests.support.live import base_env, live_server
from tests.support.seed import create_messages
from tidepool.cli import main


def test_seed_guide_role_permission_user(tmp_path: Path) -> None:
    env = {**base_env(), "DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "cli.db")}
    runner = CliRunner(env=env)
    with live_server(env) as server, server.client() as admin:
        create_messages(admin)
    role = runner.invoke(main, ["roles", "create", "Writers"])
    assert role.exit_code == 0, role.output
    grant = runner.invoke(
        main, ["permissions", "grant", "--role", "Writers", "--collection", "messages", "--action", "read,create"]
    )
    assert grant.exit_code == 0, grant.output
    user = runner.invoke(
        main, ["users", "create", "--email", "w@example.com", "--password", "pw", "--role", "Writers", "--token"]
    )
    assert user.exit_code == 0, user.output
    token = user.output.strip().splitlines()[-1].removeprefix("static token: ")
    new_token = runner.invoke(main, ["users", "token", "w@example.com"]).output.strip()
    with live_server(env) as server, server.client(token=new_token) as writer, server.client(token=token) as old:
        ok(writer.post("/items/messages", json={"text": "hi"}))
        assert [m["text"] for m in ok(writer.get("/items/messages"))] == ["hi"]
        error(writer.delete("/items/messages/1"), 403, "FORBIDDEN")
        error(old.get("/items/messages"), 401, "INVALID_CREDENTIALS")


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {**base_env(), "DB_CLIENT": "sqlite3", "DB_FILENAME": str(tmp_path / "cli.db")}
    runner = CliRunner(env=env)
    cases = [
        ["permissions", "grant", "--role", "Nope", "--collection", "m", "--action", "read"],
        ["users", "token", "nobody@example.com"],
        ["users", "create", "--email", "a@b.c", "--role", "Nope"],
    ]
    for args in cases:
        result = runner.invoke(main, args)
        assert result.exit_code == 1, result.output
        assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: ")
