"""The README documents every setting and every CLI command, and starts with the two commands a newcomer
needs; a setting or command cannot be added without its line of documentation."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from tidepool.cli import main
from tidepool.config import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_starts_with_run_and_test() -> None:
    head = "\n".join(README.splitlines()[:8])
    assert "make run" in head and "make test" in head


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_in_the_configuration_table(setting) -> None:  # type: ignore[no-untyped-def]
    assert f"| `{setting.name}` |" in README


def _commands(group: click.Group, prefix: str = "tidepool") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


@pytest.mark.parametrize("command", _commands(main))
def test_every_cli_command_is_documented(command: str) -> None:
    docs = README + "".join(p.read_text() for p in (Path(__file__).resolve().parents[1] / "docs").glob("*.md"))
    assert command in docs
