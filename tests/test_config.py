"""``Settings`` is the typed face of the ``SETTINGS`` table: one attribute per row, named as the variable and
typed by the row's parser, so a misspelt setting is a mypy error and a default lives in the table only."""

from __future__ import annotations

import functools
import operator
import types
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import pytest
from mypy import api as mypy_api

from tidepool.config import FILLED_AT_LOAD, SETTINGS, Setting, Settings, load_settings
from tidepool.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _without_none(hint: Any) -> Any:
    return functools.reduce(operator.or_, [arg for arg in get_args(hint) if arg is not types.NoneType])


def _expected_type(setting: Setting) -> Any:
    """The parser's return type; ``| None`` when the row has no default, unless ``load_settings`` fills it."""
    hint = get_type_hints(setting.parse)["return"]
    if setting.name in FILLED_AT_LOAD:
        return _without_none(hint)
    return hint | None if setting.default is None else hint


def _holds(value: Any, hint: Any) -> bool:
    if get_origin(hint) is Literal:
        return value in get_args(hint)
    if get_origin(hint) is tuple:  # tuple[X, ...]: each item an X
        return isinstance(value, tuple) and all(_holds(item, get_args(hint)[0]) for item in value)
    return isinstance(value, hint)


def test_attributes_are_the_table_rows_in_order() -> None:
    assert [f.name for f in fields(Settings)] == [s.name for s in SETTINGS]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_attribute_type_is_the_parsers(setting: Setting) -> None:
    assert get_type_hints(Settings)[setting.name] == _expected_type(setting)


def test_every_default_parses_to_its_type() -> None:
    settings = load_settings({}, env_file=None)
    for setting in SETTINGS:
        value = getattr(settings, setting.name)
        assert _holds(value, _expected_type(setting)), setting.name
    assert settings.SECRET and settings.SECRET != load_settings({}, env_file=None).SECRET


def test_misspelt_or_string_keyed_settings_fail_mypy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the typed object: mypy rejects a misspelt attribute and any ``settings["NAME"]``."""
    snippet = tmp_path / "uses_settings.py"
    snippet.write_text(
        "from tidepool.config import load_settings\n"
        "settings = load_settings({}, env_file=None)\n"
        "size: int = settings.DB_POOL_SIZE\n"
        "typo = settings.DB_POOL_SIZ\n"
        'keyed = settings["DB_POOL_SIZE"]\n'
    )
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    report, _, status = mypy_api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", "--config-file=", str(snippet)]
    )
    errors = [line for line in report.splitlines() if ": error:" in line]
    assert status == 1
    assert [line.split(":")[1] for line in errors] == ["4", "5"], report
    assert '"Settings" has no attribute "DB_POOL_SIZ"' in errors[0]
    assert '"Settings" is not indexable' in errors[1]


def test_overrides_take_known_names_only() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.with_overrides(QUERY_LIMIT_DEFAULT=2).QUERY_LIMIT_DEFAULT == 2
    with pytest.raises(TypeError):
        settings.with_overrides(QUERY_LIMIT_DEFALT=2)


@pytest.mark.parametrize(("raw", "seconds"), [("", None), ("0", 0.0), ("2.5", 2.5)])
def test_websocket_rate_window_is_parsed_at_load(raw: str, seconds: float | None) -> None:
    settings = load_settings({"RATE_LIMITER_WEBSOCKETS_DURATION": raw}, env_file=None)
    assert settings.RATE_LIMITER_WEBSOCKETS_DURATION == seconds


def test_bad_websocket_rate_window_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="RATE_LIMITER_WEBSOCKETS_DURATION"):
        load_settings({"RATE_LIMITER_WEBSOCKETS_DURATION": "soon"}, env_file=None)


def test_secrets_stay_out_of_the_repr() -> None:
    secrets = {
        "SECRET": "s3cret-signing-key",
        "DB_PASSWORD": "db-pass-word",
        "DB_CONNECTION_STRING": "postgresql://u:conn-pass-word@h/d",
        "ADMIN_PASSWORD": "admin-pass-word",
        "ADMIN_TOKEN": "admin-static-token",
        "REDIS": "redis://:redis-pass-word@h:6379/0",
    }
    shown = repr(load_settings(secrets, env_file=None))
    assert "DB_POOL_SIZE=10" in shown
    assert not [name for name, value in secrets.items() if value in shown]
