"""Which create replies PostgreSQL may read inside the write's transaction: those that cannot fail there.

A create's reply is read on the write's connection right after its INSERT (``services/fast_create.py``). On
PostgreSQL a statement that fails inside a transaction aborts it: a reply whose read failed would take the
committed-to-be write down with it. So the read runs there only when nothing in it can fail on the data: the
columns of the collection's table (as stored, or shown by a field permission that has no condition), the
row picked by its key, a limit and an order. A row rule, a filter, a search, a function field (a date part, a
JSON path cast), a field shown under a condition: each brings an expression or a value the database
evaluates against the row, and such a reply is read back after the commit as before (one more connection,
never a failed write). The parameters besides the key are the plan's own, already run once by that read-back
(``reader.keyed_read`` offers a read only once its result types are known).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import elements, operators, selectable
from sqlalchemy.sql.visitors import iterate

from tidepool.services.reader import KeyedRead

# What a read may consist of to run in the write's transaction: references to stored columns, the key's
# ``IN`` or ``= ANY``, AND-ed conditions of that kind, labels, order and limit. Anything else is an expression
# to evaluate.
_PLAIN = (
    selectable.Select,
    selectable.TableClause,
    selectable.Alias,
    elements.ColumnClause,
    elements.BindParameter,
    elements.Label,
    elements.BooleanClauseList,
    elements.ClauseList,
    elements.Grouping,
)
_OPERATORS = frozenset({operators.in_op, operators.eq, operators.and_})
_ORDER = frozenset({None, operators.asc_op, operators.desc_op, operators.nulls_first_op, operators.nulls_last_op})


def cannot_fail(read: KeyedRead) -> bool:
    """Whether ``read`` has nothing in it that the database evaluates against the row (see the module)."""
    return _plain(read.steps.stmt)


@functools.lru_cache(maxsize=256)  # plans are kept, so the same statements come back
def _plain(stmt: sa.Select[Any]) -> bool:
    for element in iterate(stmt):
        if isinstance(element, elements.BinaryExpression):
            if element.operator not in _OPERATORS:
                return False
        elif isinstance(element, elements.CollectionAggregate):
            if element.operator is not operators.any_op:  # the key's ``= ANY(:keys)`` (``db/key_lists.py``)
                return False
        elif isinstance(element, elements.UnaryExpression):
            if element.operator is not None or element.modifier not in _ORDER:
                return False
        elif isinstance(element, elements.ColumnClause):
            if element.is_literal:  # SQL text, not a column
                return False
        elif not isinstance(element, _PLAIN):
            return False
    return True
