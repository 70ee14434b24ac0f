"""``aggregate`` + ``groupBy``: one SELECT with aggregate functions, shaped exactly as Directus answers.

Directus names ``count(*)`` plainly (``{"count": 5}``) and every other aggregate by function then field
(``{"sum": {"price": 10}}``, ``{"count": {"id": 3}}``); group values sit beside them
(``{"status": "draft", "count": {"id": 3}}``). Counts are numbers on every engine (PostgreSQL's driver would
give them as bigint); sums and averages follow the field's own value format (decimal stays a string).
Aggregated fields are read through the same field-level permission ``CASE`` as plain reads, so a value the
caller may not see is never counted or summed.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tidepool.errors import InvalidQueryError
from tidepool.query import functions
from tidepool.query.compile import ColumnExpr, Condition, Level, apply_window, comparable, not_concealed, ordered
from tidepool.query.operators import NUMBERS
from tidepool.query.values import Serializer, serializer_for

Aggregator = Callable[[ColumnExpr], ColumnExpr]

_FUNCTIONS: dict[str, Aggregator] = {
    "count": lambda c: sa.func.count(c),
    "countDistinct": lambda c: sa.func.count(sa.distinct(c)),
    "sum": lambda c: sa.func.sum(c),
    "sumDistinct": lambda c: sa.func.sum(sa.distinct(c)),
    "avg": lambda c: sa.func.avg(c),
    "avgDistinct": lambda c: sa.func.avg(sa.distinct(c)),
    "min": lambda c: sa.func.min(c),
    "max": lambda c: sa.func.max(c),
}
_COUNTS = frozenset({"count", "countDistinct", "countAll"})
_KEEPS_TYPE = frozenset({"min", "max"})

# The field types a function takes (a function not named takes every type). Sums and averages are of numbers
# (Directus's GraphQL schema offers them on number fields only); no engine has the least or greatest JSON
# value, and PostgreSQL has none of booleans. Refused on every engine alike: PostgreSQL failed each with a 500
# ("function sum(character varying) does not exist") where SQLite and MySQL summed text as 0.
_ORDERED = frozenset(NUMBERS | {"string", "text", "uuid", "hash", "csv", "date", "time", "dateTime", "timestamp"})
_TAKES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("sum", "sumDistinct", "avg", "avgDistinct"), NUMBERS),
    **dict.fromkeys(("min", "max"), _ORDERED),
}


def _to_int(value: Any) -> Any:
    return int(value)


def _to_float(value: Any) -> Any:
    return float(value)


def _to_decimal_string(value: Any) -> Any:
    return str(value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value)))


# sum/avg results per field type: integers stay integers, decimals stay exact strings.
_SUM_FORMAT: dict[str, Serializer] = {"integer": _to_int, "bigInteger": lambda v: str(int(v)), "decimal": str}
_AVG_FORMAT: dict[str, Serializer] = {"decimal": _to_decimal_string}


@dataclass
class AggregatePlan:
    """The SELECT list (labelled ``a0``... then ``g0``...) and how each value lands in the output object."""

    aggregates: list[tuple[str, str | None, ColumnExpr, Serializer]] = field(default_factory=list)
    groups: list[tuple[str, ColumnExpr, Serializer]] = field(default_factory=list)

    def select_list(self) -> list[sa.Label[Any]]:
        labels = [expr.label(f"a{i}") for i, (_, _, expr, _) in enumerate(self.aggregates)]
        return labels + [expr.label(f"g{i}") for i, (_, expr, _) in enumerate(self.groups)]

    def shape(self, row: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, (key, _expr, serialize) in enumerate(self.groups):
            value = row[len(self.aggregates) + i]
            out[key] = None if value is None else serialize(value)
        for i, (function, name, _, serialize) in enumerate(self.aggregates):
            value = row[i]
            shaped = None if value is None else serialize(value)
            if name is None:
                out[function] = shaped
            else:
                nested = out.get(function)
                out[function] = {**(nested if isinstance(nested, dict) else {}), name: shaped}
        return out


def _result_format(level: Level, function: str, name: str) -> Serializer:
    info = level.info.fields[name]
    if function in _COUNTS:
        return _to_int
    if function in _KEEPS_TYPE:
        return serializer_for(info, level.info.name)
    if function.startswith("sum"):
        return _SUM_FORMAT.get(info.type, _to_float)
    return _AVG_FORMAT.get(info.type, _to_float)


def _aggregate_terms(level: Level, function: str, names: Sequence[str]) -> list[tuple[str, str | None, ColumnExpr]]:
    if function == "countAll":
        return [("countAll", None, sa.func.count())]
    if function not in _FUNCTIONS:
        raise InvalidQueryError(f'"{function}" is not a valid aggregate function')
    if not names:  # ``aggregate[count]=``: a SELECT of nothing, which every engine refused with a 500
        raise InvalidQueryError(f'"aggregate.{function}" must name at least one field')
    terms: list[tuple[str, str | None, ColumnExpr]] = []
    for name in names:
        if name == "*" and function == "count":
            terms.append(("count", None, sa.func.count()))
        else:
            taken = _taken(level, function, level.require(name))
            column = comparable(level, taken if function == "count" else not_concealed(level, taken, "aggregate"))
            if function.startswith("avg") and level.dialect == "mysql" and level.info.fields[name].type != "decimal":
                # MySQL averages integers as DECIMAL with 4 places (2.6667); over a double it is a double, as on
                # the other engines (SQLAlchemy will not CAST to DOUBLE there, so adding 0e0 makes it one).
                column = column + sa.literal_column("0e0")
            terms.append((function, name, _FUNCTIONS[function](column)))
    return terms


def _taken(level: Level, function: str, name: str) -> str:
    """``name`` when ``function`` takes its field's type (``_TAKES``), else the client's INVALID_QUERY."""
    kind = level.info.fields[name].type
    if kind not in _TAKES.get(function, frozenset({kind})):
        raise InvalidQueryError(f'"{function}" can\'t be used on field "{name}" of type "{kind}"')
    return name


def _group_term(level: Level, spec: str) -> tuple[str, ColumnExpr, Serializer]:
    call = functions.parse_function(spec)
    if call is None:
        name = not_concealed(level, level.require(spec), "groupBy")
        return name, comparable(level, name), serializer_for(level.info.fields[name], level.info.name)
    name = not_concealed(level, level.require(call.field), "groupBy")
    info = level.info.fields[name]
    functions.check_type(call, info.type)
    if call.name in ("count", "json"):
        raise InvalidQueryError(f'"{spec}" can\'t be used in groupBy')
    # Keyed as Directus names a function column: ``date_created_year``.
    return f"{name}_{call.name}", functions.date_part(call.name, level.value(name), info.type, level.dialect), _to_int


def plan_aggregate(
    level: Level, aggregate: Mapping[str, Sequence[str]] | None, group_by: Sequence[str] | None
) -> AggregatePlan:
    result = AggregatePlan()
    for function, names in (aggregate or {}).items():
        for fn, name, expr in _aggregate_terms(level, function, names):
            result.aggregates.append((fn, name, expr, _result_format(level, fn, name) if name else _to_int))
    result.groups = [_group_term(level, spec) for spec in group_by or ()]
    return result


def _position(index: int) -> ColumnExpr:
    """A select-list position (1-based) for GROUP BY / ORDER BY: the expression is not repeated, so its
    bound parameters (permission CASEs) are not either, which PostgreSQL needs to match it to the select."""
    return sa.literal_column(str(index + 1))


def _sort_term(level: Level, plan: AggregatePlan, spec: str) -> sa.UnaryExpression[Any]:
    descending = spec.startswith("-")
    key = spec[1:] if descending else spec
    function, _, name = key.partition(".")
    for i, (fn, field_name, _, _) in enumerate(plan.aggregates):
        if fn == function and (field_name or "*") == (name or "*"):
            return ordered(_position(i), descending, level.dialect)
    for i, (group_key, _, _) in enumerate(plan.groups):
        if group_key == key:
            return ordered(_position(len(plan.aggregates) + i), descending, level.dialect)
    raise InvalidQueryError(f'"{key}" is not an aggregate or a groupBy field of this query')


def aggregate_statement(
    level: Level,
    plan: AggregatePlan,
    condition: Condition | None,
    sort: Sequence[str] | None,
    limit: int,
    offset: int,
) -> sa.Select[Any]:
    stmt = sa.select(*plan.select_list()).select_from(level.table)
    if condition is not None:
        stmt = stmt.where(condition)
    if not plan.groups:
        return stmt
    group_positions = [_position(len(plan.aggregates) + i) for i in range(len(plan.groups))]
    stmt = stmt.group_by(*group_positions)
    if sort:
        stmt = stmt.order_by(*(_sort_term(level, plan, spec) for spec in sort))
    else:
        stmt = stmt.order_by(*(ordered(position, False, level.dialect) for position in group_positions))
    return apply_window(stmt, limit, offset)
