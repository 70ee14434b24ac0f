"""``python -m bench --check``: which reports pass. The verdict is recomputed from the figures, so a scenario
cannot pass by claiming ``met``; targets nested anywhere in a result count; a run without targets fails."""

from __future__ import annotations

import pytest

from bench import targets


def report(*entries: dict[str, object]) -> dict[str, object]:
    return {"started": "now", "rest": [{"database": "sqlite", "loads": {}, "targets": list(entries)}]}


def test_every_target_met_passes(capsys: pytest.CaptureFixture[str]) -> None:
    run = report(
        targets.target("read x ping", 4.2, 5, "lower"), targets.target("creates x ceiling", 0.5, 0.4, "higher")
    )
    assert targets.check(run) == 0
    assert "MISS" not in capsys.readouterr().out


def test_a_missed_target_fails_and_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    run = report(
        targets.target("read x ping", 18.0, 5, "lower"), targets.target("creates x ceiling", 0.5, 0.4, "higher")
    )
    assert targets.check(run) == 1
    out = capsys.readouterr().out
    assert "MISS rest" in out and "read x ping" in out and "1 of 2 targets missed" in out


def test_met_is_recomputed_not_trusted() -> None:
    claimed = {"name": "fan-out ms", "value": 1439.0, "target": 200.0, "better": "lower", "met": True}
    assert targets.check(report(claimed)) == 1


def test_targets_deep_in_a_result_are_found() -> None:
    run = {"fanout": [{"n": 10_000, "tidepool": {"targets": [targets.target("rate", 10.0, 50.0, "higher")]}}]}
    assert [t.name for t in targets.collect("fanout", run["fanout"])] == ["rate"]
    assert targets.check(run) == 1


def test_no_targets_is_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert targets.check({"stall": [{"p99_vs_idle": 1.9}]}) == 1
    assert "no targets" in capsys.readouterr().out


def test_direction_is_checked() -> None:
    with pytest.raises(ValueError):
        targets.target("x", 1.0, 2.0, "more")
