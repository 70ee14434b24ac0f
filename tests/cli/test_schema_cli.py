"""``tidepool schema snapshot|apply`` on the engine under test: the recorded Directus snapshot applied from the
shell, a snapshot file moved to a second database, ``--dry-run`` changing nothing, and clear one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.support.live import base_env, live_server, scratch_database
from tidepool.cli import main

FIXTURE = Path(__file__).parent.parent / "fixtures" / "directus-12.4.1-snapshot.json"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with scratch_database(tmp_path) as db_env:
        yield {**base_env(), **db_env}


def _collections(env: dict[str, str]) -> list[str]:
    with live_server(env) as server, server.client() as admin:
        return sorted(c["collection"] for c in admin.get("/schema/snapshot").json()["data"]["collections"])


def test_dry_run_lists_the_changes_and_changes_nothing(env: dict[str, str]) -> None:
    runner = CliRunner(env=env)
    result = runner.invoke(main, ["schema", "apply", str(FIXTURE), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("The following changes would be applied:\n\nCollections:\n  - Create messages\n")
    assert "  - Create schema_posts.author → schema_authors" in result.output
    assert _collections(env) == []


def test_apply_a_directus_snapshot_then_nothing_is_left(env: dict[str, str]) -> None:
    runner = CliRunner(env=env)
    declined = runner.invoke(main, ["schema", "apply", str(FIXTURE)], input="n\n")
    assert declined.exit_code == 0 and "Would you like to continue?" in declined.output
    assert _collections(env) == []
    applied = runner.invoke(main, ["schema", "apply", str(FIXTURE), "--yes"])
    assert applied.exit_code == 0, applied.output
    assert applied.output.strip().splitlines()[-1] == "Snapshot applied successfully"
    assert _collections(env) == ["messages", "schema_authors", "schema_folder", "schema_posts"]
    again = runner.invoke(main, ["schema", "apply", str(FIXTURE), "--yes"])
    assert again.output == "No changes to apply.\n"


def test_a_snapshot_file_moves_the_schema_to_another_database(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner(env=env)
    assert runner.invoke(main, ["schema", "apply", str(FIXTURE), "-y"]).exit_code == 0
    as_yaml, as_json = tmp_path / "schema.yaml", tmp_path / "schema.json"
    assert runner.invoke(main, ["schema", "snapshot", str(as_yaml)]).exit_code == 0
    assert runner.invoke(main, ["schema", "snapshot", str(as_json)]).exit_code == 0
    assert yaml.safe_load(as_yaml.read_text()) == json.loads(as_json.read_text())
    printed = runner.invoke(main, ["schema", "snapshot", "--format", "json"])
    assert json.loads(printed.stdout) == json.loads(as_json.read_text())
    with scratch_database(tmp_path / "second") as second_db:
        second = CliRunner(env={**base_env(), **second_db})
        moved = second.invoke(main, ["schema", "apply", str(as_yaml), "--yes"])
        assert moved.exit_code == 0, moved.output
        copy = tmp_path / "copy.json"
        assert second.invoke(main, ["schema", "snapshot", str(copy)]).exit_code == 0
        assert json.loads(copy.read_text()) == json.loads(as_json.read_text())


def test_a_bad_file_is_one_line_and_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("collections: [unclosed")
    not_a_snapshot = tmp_path / "list.json"
    not_a_snapshot.write_text("[1, 2]")
    runner = CliRunner(env=env)
    for path, message in ((broken, "is not a valid snapshot file"), (not_a_snapshot, "must be of type object")):
        result = runner.invoke(main, ["schema", "apply", str(path), "--yes"])
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
