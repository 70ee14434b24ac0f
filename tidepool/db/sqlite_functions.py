"""The SQL functions Tidepool adds to SQLite, and their Python bodies.

SQLite's built-in ``lower`` folds ASCII only, so the case-insensitive filter operators
(``tidepool.query.operators``) compile to ``tidepool_lower`` on SQLite, which is ``fold`` below.
``tidepool.db.engine.create_engine`` registers it on every connection of the engines it makes (and only on
those), before the connection's first query. ``fold`` is also the Python evaluator's folding
(``tidepool.query.evaluate``), so both sides of a filter fold alike.
"""

from __future__ import annotations

from typing import Any


def fold(text: str) -> str:
    """Lowercase one character at a time, leaving characters whose lowercase is longer (``İ``) unchanged.

    Per-character folding is what PostgreSQL and MySQL ``lower()`` do; Python's ``str.lower`` also applies
    context rules (final sigma) that SQL does not. SQLite gets this exact function as ``tidepool_lower``.
    """
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def _sqlite_lower(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


def install(dbapi_connection: Any) -> None:
    """Register Tidepool's functions on one SQLite DBAPI connection (sqlite3 or aiosqlite's adapter)."""
    dbapi_connection.create_function("tidepool_lower", 1, _sqlite_lower, deterministic=True)
