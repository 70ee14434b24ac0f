"""``tidepool.db.direct`` answers exactly what SQLAlchemy answers for the same statement, on the test engine.

A table with a value of each kind whose driver form differs from the Python one (timestamps, dates, JSON,
booleans, decimals, UUIDs, nulls) is read both ways: plainly, with a bound value in the ``WHERE``, and by
``:keys`` in several counts (each count is its own expansion). MySQL is not served directly (``supported``
is False there) and the test says so instead of passing vacuously.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import live
from tests.support.live import scratch_database
from tidepool.config import load_settings
from tidepool.db import direct
from tidepool.db.engine import create_engine

KEYS = "keys"
META = sa.MetaData()
THINGS = sa.Table(
    "direct_things",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime),
    sa.Column("day", sa.Date),
    sa.Column("doc", sa.JSON),
    sa.Column("flag", sa.Boolean),
    sa.Column("price", sa.Numeric(10, 2)),
    sa.Column("ref", sa.Uuid),
    sa.Column("name", sa.String(50)),
)
ROWS = [
    {
        "id": n,
        "at": dt.datetime(2026, 1, n, 12, 30, 15, 250000),
        "day": dt.date(2026, 2, n),
        "doc": {"n": n, "tags": ["a", str(n)], "deep": {"ok": n % 2 == 0}},
        "flag": n % 2 == 0,
        "price": decimal.Decimal(f"{n}.25"),
        "ref": uuid.UUID(int=n),
        "name": f"thing {n}",
    }
    for n in range(1, 8)
] + [{"id": 8, "at": None, "day": None, "doc": None, "flag": None, "price": None, "ref": None, "name": None}]


def _statements() -> list[tuple[str, sa.Select[Any], list[list[int]] | None]]:
    columns = [column.label(f"c{i}") for i, column in enumerate(THINGS.columns)]
    keyed = THINGS.c.id.in_(sa.bindparam(KEYS, expanding=True, type_=sa.Integer))
    since = dt.datetime(2026, 1, 3)
    return [
        ("every row", sa.select(*columns).order_by(THINGS.c.id), None),
        ("bound values", sa.select(*columns).where(THINGS.c.at > since, THINGS.c.name != "x").limit(5), None),
        ("by keys", sa.select(*columns).where(keyed).order_by(THINGS.c.id), [[1], [2, 3, 8], [4, 5, 6, 7], [1]]),
        ("keys and values", sa.select(*columns).where(keyed, THINGS.c.flag.is_(True)), [[2, 3, 4], [6, 8]]),
    ]


async def _compare(env: dict[str, str]) -> list[str]:
    engine = create_engine(load_settings({**live.base_env(), **env}, env_file=None))
    compared: list[str] = []
    try:
        if not direct.supported(engine):
            return compared
        async with engine.begin() as conn:
            await conn.run_sync(META.create_all)
            await conn.execute(THINGS.insert(), ROWS)
        for name, stmt, key_sets in _statements():
            prepared = direct.prepare(stmt, engine.dialect, KEYS)
            assert prepared is not None, name
            runs: list[list[int] | None] = list(key_sets) if key_sets else [None]
            for keys in runs:
                for _ in range(2):  # the first run on PostgreSQL learns the column types, the second reuses them
                    async with engine.connect() as conn:
                        expected = [tuple(row) for row in (await conn.execute(stmt, {KEYS: keys} if keys else None))]
                    rows = await direct.on_connection(engine, lambda raw: direct.run(raw, prepared, keys))  # noqa: B023
                    got = [tuple(row) for row in rows]
                    assert got == expected, (name, keys)
                    assert [[type(v) for v in row] for row in got] == [[type(v) for v in row] for row in expected]
            compared.append(name)
    finally:
        await engine.dispose()
    return compared


def test_direct_reads_answer_what_sqlalchemy_answers(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as env:
        compared = asyncio.run(_compare(env))
    if live.test_db_client() == "mysql":
        assert compared == []
        pytest.skip("MySQL reads go through SQLAlchemy (tidepool.db.direct.supported)")
    assert compared == ["every row", "bound values", "by keys", "keys and values"]


def test_a_statement_with_another_late_value_is_left_to_sqlalchemy() -> None:
    """A second expanding parameter besides ``:keys`` can't be prepared: ``prepare`` answers None."""
    engine = create_engine(load_settings({**live.base_env(), "DB_FILENAME": ":memory:"}, env_file=None))
    other = THINGS.c.name.in_(sa.bindparam("names", expanding=True))
    assert direct.prepare(sa.select(THINGS.c.id).where(other), engine.dialect, KEYS) is None
    assert direct.prepare(sa.select(THINGS.c.id), engine.dialect, KEYS) is not None
