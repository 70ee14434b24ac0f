"""The targets a benchmark run is held to, and ``python -m bench --check``'s verdict on them.

A scenario with a target puts a ``"targets"`` list in its result, anywhere in its nesting (a row per database
or per socket count carries its own), each entry::

    {"name": "sqlite: GET limit=10 CPU x ping", "value": 4.2, "target": 5.0, "better": "lower", "met": true}

``met`` is computed here again from ``value``, ``target`` and ``better`` rather than trusted, so a scenario
cannot pass a target by writing ``true``. The verdict is one table and an exit status: the run fails when any
target is missed, or when ``--check`` asked for targets and the scenarios run produced none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

COMPARE = {
    "higher": lambda value, target: value >= target,
    "lower": lambda value, target: value <= target,
}


@dataclass(frozen=True)
class Target:
    scenario: str
    name: str
    value: float
    target: float
    better: str

    @property
    def met(self) -> bool:
        return bool(COMPARE[self.better](self.value, self.target))


def target(name: str, value: float, goal: float, better: str) -> dict[str, Any]:
    """One entry of a scenario's ``"targets"`` list (``better``: ``"higher"`` or ``"lower"``)."""
    if better not in COMPARE:
        raise ValueError(f"better must be one of {sorted(COMPARE)}, not {better!r}")
    return {"name": name, "value": value, "target": goal, "better": better, "met": COMPARE[better](value, goal)}


def collect(scenario: str, result: object) -> Iterator[Target]:
    """Every target a scenario's result holds, depth first, in the order it reported them."""
    if isinstance(result, dict):
        for entry in result.get("targets", ()):
            yield Target(scenario, entry["name"], float(entry["value"]), float(entry["target"]), entry["better"])
        for key, value in result.items():
            if key != "targets":
                yield from collect(scenario, value)
    elif isinstance(result, list):
        for item in result:
            yield from collect(scenario, item)


def verdict(report: dict[str, Any]) -> tuple[list[Target], str]:
    """The targets of a run's report and the table that shows them."""
    found = [t for scenario, result in report.items() for t in collect(scenario, result)]
    lines = [f"{'':4} {'scenario':<12} {'target':<52} {'value':>10} {'goal':>12}"]
    for t in found:
        sign = ">=" if t.better == "higher" else "<="
        lines.append(
            f"{'ok' if t.met else 'MISS':<4} {t.scenario:<12} {t.name:<52} {t.value:>10.3g} {sign:>3} {t.target:<8.3g}"
        )
    return found, "\n".join(lines)


def check(report: dict[str, Any]) -> int:
    """The exit status of ``--check``: 0 when at least one target was measured and every one was met."""
    found, table = verdict(report)
    print(table if found else "no targets were measured by the scenarios run")
    missed = [t for t in found if not t.met]
    if missed:
        print(f"{len(missed)} of {len(found)} targets missed")
    return 1 if missed or not found else 0
