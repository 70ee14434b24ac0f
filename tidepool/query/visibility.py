"""What the caller may see of one table (or alias of it): which rows, and on which rows each field.

Directus 11 rule: a row is visible iff some read permission's rule matches it; a field is returned for a row
iff some permission that grants the field matches the row, and is ``null`` elsewhere. This module is the one
definition of that rule as SQL, and every place that looks at a value uses it: the SELECT list, ``filter``
(root and inside relational subqueries), ``sort`` (also through m2o joins), ``search``, ``aggregate``,
``groupBy`` and ``meta``. A field that is only readable on some rows is therefore ``null`` to all of them on
exactly the rows where it comes back ``null``; none of them can be used as an oracle for the hidden values.

When every read permission grants a field (or the caller is admin) the plain column is used: the row
condition already limits the rows, so no ``CASE`` is paid for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tidepool.context import Access, Action, Permission

ColumnExpr = sa.ColumnElement[Any]
Condition = sa.ColumnElement[bool]
# Compiles a trusted rule (a permission's filter) over a table; supplied by the filter compiler, which sits
# above this module.
RuleCompiler = Callable[[Mapping[str, Any], sa.FromClause], Condition]


def grants(permission: Permission, name: str) -> bool:
    return permission.fields is None or "*" in permission.fields or name in permission.fields


@dataclass
class Visibility:
    """The caller's view of ``collection`` read through ``table``."""

    collection: str
    table: sa.FromClause
    access: Access
    compile_rule: RuleCompiler
    _compiled: dict[int, Condition] = field(default_factory=dict, init=False, repr=False)

    @property
    def permissions(self) -> Sequence[Permission]:
        return self.access.rules(self.collection, Action.READ)

    def _rule(self, permission: Permission) -> Condition:
        key = id(permission)
        if key not in self._compiled:
            assert permission.rule is not None
            self._compiled[key] = self.compile_rule(permission.rule, self.table)
        return self._compiled[key]

    def _any_of(self, permissions: Sequence[Permission]) -> Condition | None:
        """OR of the rules; None when one of them grants every row."""
        if any(not p.rule for p in permissions):
            return None
        return sa.or_(*(self._rule(p) for p in permissions))

    def rows(self) -> Condition | None:
        """Rows the caller may see. None: no restriction."""
        if self.access.admin:
            return None
        return self._any_of(self.permissions)

    def field(self, name: str) -> Condition | None:
        """When ``name`` may be shown on a row; None: whenever the row itself is visible."""
        if self.access.admin:
            return None
        permissions = self.permissions
        granting = [p for p in permissions if grants(p, name)]
        if len(granting) == len(permissions):
            return None
        return self._any_of(granting)

    def value(self, name: str) -> ColumnExpr:
        """The column as the caller sees it: ``CASE WHEN <rules granting it> THEN col END`` when needed."""
        column: ColumnExpr = self.table.c[name]
        return masked(self.field(name), column)


def masked(condition: Condition | None, expr: ColumnExpr) -> ColumnExpr:
    """``expr`` where ``condition`` holds, NULL elsewhere (``expr`` itself when there is no condition)."""
    if condition is None:
        return expr
    case: ColumnExpr = sa.case((condition, expr), else_=sa.null())
    return sa.type_coerce(case, expr.type)
