"""``make test`` installs what the end-to-end tests need, and a missing install is a failure, never a silent
skip (issue 7 #19). Skipping them takes an explicit ``TIDEPOOL_SKIP_E2E=1``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.node import require

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(target: str, **env: str) -> list[str]:
    """The commands ``make -n -B <target>`` would run (nothing is run)."""
    result = subprocess.run(
        ["make", "-n", "-B", target, *(f"{k}={v}" for k, v in env.items())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


@pytest.mark.parametrize("target", ["test", "test-sqlite"])
def test_make_test_installs_the_e2e_tools_before_running_pytest(target: str) -> None:
    lines = _dry_run(target)
    installs = [i for i, line in enumerate(lines) if ".ci/node-deps" in line]
    runs = [i for i, line in enumerate(lines) if "pytest" in line]
    assert installs and runs and installs[0] < runs[0], lines


def test_the_opt_out_installs_nothing() -> None:
    assert not [line for line in _dry_run("test", TIDEPOOL_SKIP_E2E="1") if ".ci/node-deps" in line]


def _outcome(missing: Path) -> tuple[str, str]:
    """What ``require`` does about a tool that is not there: ("fail" | "skip", its message)."""
    try:
        require(missing, "Node 22")
    except pytest.fail.Exception as exc:
        return "fail", str(exc)
    except pytest.skip.Exception as exc:
        return "skip", str(exc)
    raise AssertionError("require accepted a missing tool")


def test_a_missing_tool_fails_with_the_command_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TIDEPOOL_SKIP_E2E", raising=False)
    monkeypatch.delenv("CI", raising=False)
    outcome, message = _outcome(tmp_path / "missing-node")
    assert outcome == "fail", message
    assert "run `make e2e-deps`" in message and "TIDEPOOL_SKIP_E2E=1" in message


def test_a_missing_tool_skips_only_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIDEPOOL_SKIP_E2E", "1")
    assert _outcome(tmp_path / "missing-node")[0] == "skip"
