"""``column IN <keys>``: how a list of keys is bound, in one place for every read and write by keys.

SQLAlchemy renders ``IN`` with one parameter per key, and asyncpg refuses a statement of more than 32,767
parameters: a write by query over 35,000 rows (its rule check, ``before`` read, UPDATE/DELETE and read-back)
was a 500 on PostgreSQL. There the keys are bound as one array, ``column = ANY(:keys)``, which PostgreSQL
plans like the ``IN`` list (an index lookup per key), whatever the number of keys, and one statement text
serves every count. SQLite (the limit its build sets, 250,000 on Debian's) and MySQL (whose driver inlines
the values) keep the expanding ``IN``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

KEYS = "keys"
_UNBOUND: Any = object()


def keys_in(column: sa.ColumnElement[Any], dialect: str, keys: Sequence[Any] = _UNBOUND) -> sa.ColumnElement[bool]:
    """``column`` among ``keys``; without ``keys``, among the ``:keys`` bound at execution (one statement
    object for every set of keys, kept in a read plan)."""
    if keys is _UNBOUND:
        if dialect == "postgresql":
            return column == sa.any_(sa.bindparam(KEYS, type_=ARRAY(column.type)))
        return column.in_(sa.bindparam(KEYS, expanding=True, type_=column.type))
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(keys), type_=ARRAY(column.type)))
    return column.in_(list(keys))
