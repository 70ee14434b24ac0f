"""A compiled write statement with the way each row's values reach the driver, worked out once.

The direct write paths (``db/sqlite_writes.py`` on aiosqlite's thread, ``db/pg_writes.py`` on asyncpg) run
SQL that SQLAlchemy compiled, with parameters bound exactly as SQLAlchemy binds them: in the statement's
positional order, each through its column type's bind processor (a timestamp's text, a JSON column's
serialization), so what is stored is what SQLAlchemy would have stored. Per parameter position the row's key
(its bind parameter's key: a column's key, whatever escaped name SQLAlchemy gives the parameter) and the
processor are found once, when the statement is compiled: SQLAlchemy's ``construct_params`` per row was most
of a row's binding cost (bench/README.md, ``create``). A ``Bound`` lives as long as its caller's cached
statement, so nothing here keeps a cache of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Bound:
    """``compiled``, and per position of its parameters the row's key and the bind processor, if any."""

    compiled: sa.Compiled
    plan: tuple[tuple[str, Processor], ...]

    @classmethod
    def of(cls, compiled: sa.Compiled) -> Bound:
        binds: Mapping[str, Any] = getattr(compiled, "binds", {})
        processors: Mapping[str, Any] = getattr(compiled, "_bind_processors", {})
        order: Sequence[str] = getattr(compiled, "positiontup", None) or ()
        return cls(compiled, tuple((binds[name].key, processors.get(name)) for name in order))

    @property
    def sql(self) -> str:
        return self.compiled.string

    @property
    def positions(self) -> Sequence[str] | None:
        """The parameters' names in order; None when the statement does not take positional parameters."""
        return getattr(self.compiled, "positiontup", None)

    def rows(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """``rows`` as the driver takes them: in the statement's order, each value through its processor."""
        plan = self.plan
        return [tuple(row[key] if process is None else process(row[key]) for key, process in plan) for row in rows]
