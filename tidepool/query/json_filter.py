"""Values inside a JSON field, SQL and Python side by side: ``json(field, path)`` (``json_value``, for
``fields``; ``text_at``, for ``sort``) and the ``_json`` filter operator.

Directus 12.4.1's form (``apply-query/filter/operator.ts``), the way to filter on a JSON path (a ``json()`` call
is not a filter key there)::

    {"data": {"_json": {"a.b": {"_eq": "x"}, "n": {"_gt": 2}, "_or": [{"tags[0]": {"_eq": "t"}}, ...]}}}

Each path key (``json(field, path)``'s path syntax) takes one operator; several paths are ANDed; ``_and`` /
``_or`` take lists of such objects. A number (or a list starting with a number) compares the value as a number,
anything else compares its text: strings unquoted, ``true``/``false``, numbers as written; JSON ``null`` and a
missing path are NULL (so only ``_null``/``_eq: null`` match them). Values of another JSON type than a number
never match a numeric comparison (Directus lets PostgreSQL fail on them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from tidepool.errors import InvalidQueryError
from tidepool.query.functions import json_path, json_path_text
from tidepool.query.model import Filter

LOGICAL = ("_and", "_or")
Leaf = Callable[[sa.ColumnElement[Any], str, str, Any], sa.ColumnElement[bool]]  # (expr, type, op, value)
PythonLeaf = Callable[[Any, str, str, Any], bool]  # (current, type, op, value)


def validate_json_filter(value: Any) -> None:
    """Directus's ``validateJsonFilter``, with its messages; inner filters are checked by ``check``."""
    if not isinstance(value, Mapping):
        raise InvalidQueryError('"_json" filter value must be an object')
    for path, inner in value.items():
        if not path:
            raise InvalidQueryError('"_json" path key must be a non-empty string')
        if path in LOGICAL:
            if not isinstance(inner, list | tuple):
                raise InvalidQueryError(f'"_json" logical operator "{path}" must be an array')
            for sub in inner:
                validate_json_filter(sub)
            continue
        json_path(path)
        if not isinstance(inner, Mapping):
            raise InvalidQueryError(f'"_json" inner filter for path "{path}" must be an object')
        nested = next((str(k) for k in inner if not str(k).startswith("_")), None)
        if nested is not None:
            raise InvalidQueryError(
                f'"_json" path "{path}" cannot contain a nested path "{nested}"; use a single flat path like '
                f'"{path}.{nested}"'
            )


def _numeric(value: Any) -> bool:
    first = value[0] if isinstance(value, list | tuple) and value else value
    return isinstance(first, int | float) and not isinstance(first, bool)


def _first(inner: Mapping[str, Any]) -> tuple[str, Any] | None:
    """Directus applies the first operator of a path's object only."""
    for key, value in inner.items():
        return str(key), value
    return None


# ------------------------------------------------------------------------------------------------ SQL


def sql_condition(expr: sa.ColumnElement[Any], node: Filter, dialect: str, leaf: Leaf) -> sa.ColumnElement[bool]:
    """``node`` (the ``_json`` object) on the JSON column ``expr``; ``leaf`` compiles one operator."""
    parts: list[sa.ColumnElement[bool]] = []
    for path, inner in node.items():
        if path in LOGICAL:
            subs = [sql_condition(expr, sub, dialect, leaf) for sub in inner]
            parts.append(sa.and_(sa.true(), *subs) if path == "_and" else _any(subs))
            continue
        found = _first(inner)
        if found is None:
            continue
        operator, value = found
        steps = json_path(path)
        if _numeric(value):
            parts.append(leaf(number_at(expr, steps, dialect), "decimal", operator, value))
        else:
            parts.append(leaf(text_at(expr, steps, dialect), "string", operator, value))
    return sa.and_(sa.true(), *parts)


def _any(conditions: Sequence[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    return sa.or_(*conditions) if conditions else sa.true()  # an empty group is dropped, as in filters


def _step(step: str | int) -> sa.BindParameter[Any]:
    return sa.literal(step, sa.Integer() if isinstance(step, int) else sa.String())


_PG_INDEX_MAX = 2**31 - 1  # ``jsonb -> n`` binds n as int4 (a larger one was a driver error, a 500)


def _pg_step(value: sa.ColumnElement[Any], step: str | int, operator: str = "->") -> sa.ColumnElement[Any]:
    """One step; an index only into an array (PostgreSQL would read ``[0]`` of a scalar as the scalar). An
    index past int4 finds nothing, as on SQLite and MySQL: no array is that long."""
    if isinstance(step, int) and step > _PG_INDEX_MAX:
        return sa.cast(sa.null(), JSONB())
    found = value.op(operator)(_step(step))
    if isinstance(step, int):
        return sa.case((sa.func.jsonb_typeof(value) == "array", found), else_=sa.null())
    return found


def _pg(expr: sa.ColumnElement[Any], steps: tuple[str | int, ...]) -> sa.ColumnElement[Any]:
    """``CAST(col AS JSONB) -> 'a' -> 0``, each step bound."""
    value: sa.ColumnElement[Any] = sa.cast(expr, JSONB())
    for step in steps:
        value = _pg_step(value, step)
    return value


def _mysql(expr: sa.ColumnElement[Any], steps: tuple[str | int, ...]) -> sa.ColumnElement[Any]:
    """MySQL reads ``$[0]`` of a non-array as the value itself; SQLite finds nothing there, and so does
    Tidepool on every engine."""
    found = sa.func.json_extract(expr, sa.literal(json_path_text(steps)))
    checks = [
        sa.func.json_type(sa.func.json_extract(expr, sa.literal(json_path_text(steps[:i])))) == "ARRAY"
        for i, step in enumerate(steps)
        if isinstance(step, int)
    ]
    return sa.case((sa.and_(*checks), found), else_=sa.null()) if checks else found


def json_value(expr: sa.ColumnElement[Any], steps: tuple[str | int, ...], dialect: str) -> sa.ColumnElement[Any]:
    """The JSON text of the value at ``steps`` (NULL when missing), parsed back by the reader, so objects,
    arrays, numbers and booleans come out as JSON values on every engine."""
    if dialect == "postgresql":
        return sa.cast(_pg(expr, steps), sa.Text())
    if dialect == "mysql":
        return sa.type_coerce(_mysql(expr, steps), sa.Text())
    return sa.type_coerce(expr, sa.Text()).op("->")(sa.literal(json_path_text(steps)))


def _is_number(expr: sa.ColumnElement[Any], steps: tuple[str | int, ...], dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return sa.func.jsonb_typeof(_pg(expr, steps)) == "number"
    if dialect == "mysql":
        return sa.func.json_type(_mysql(expr, steps)).in_(("INTEGER", "DOUBLE", "DECIMAL", "UNSIGNED INTEGER"))
    return sa.func.json_type(expr, sa.literal(json_path_text(steps))).in_(("integer", "real"))


def text_at(expr: sa.ColumnElement[Any], steps: tuple[str | int, ...], dialect: str) -> sa.ColumnElement[Any]:
    """The value at ``steps`` as text: strings unquoted, numbers and booleans as written, NULL for null."""
    if dialect == "postgresql":  # ->> already reads null as NULL and booleans as true/false
        return sa.type_coerce(_pg_step(_pg(expr, steps[:-1]), steps[-1], "->>"), sa.Text())
    if dialect == "mysql":
        found = _mysql(expr, steps)
        return sa.case(
            (sa.func.json_type(found) == "NULL", sa.null()), else_=sa.func.json_unquote(found, type_=sa.Text())
        )
    path = sa.literal(json_path_text(steps))
    kind = sa.func.json_type(expr, path)
    text = sa.cast(sa.type_coerce(expr, sa.Text()).op("->>")(path), sa.Text())
    return sa.case((kind == "null", sa.null()), (kind.in_(("true", "false")), kind), else_=text)


def number_at(expr: sa.ColumnElement[Any], steps: tuple[str | int, ...], dialect: str) -> sa.ColumnElement[Any]:
    """The value at ``steps`` as a number when it is a JSON number, else NULL."""
    numeric = sa.Numeric(65, 30) if dialect == "mysql" else sa.Numeric()
    return sa.case((_is_number(expr, steps, dialect), sa.cast(text_at(expr, steps, dialect), numeric)), else_=sa.null())


# ---------------------------------------------------------------------------------------------- Python


def _walk(value: Any, steps: tuple[str | int, ...]) -> Any:
    for step in steps:
        if isinstance(step, int) and isinstance(value, list):
            value = value[step] if step < len(value) else None
        elif isinstance(step, str) and isinstance(value, Mapping):
            value = value.get(step)
        else:
            return None
    return value


def _text(value: Any) -> str | None:
    """``text_at`` in Python: strings unquoted, anything else as its JSON text."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def python_matches(document: Any, node: Filter, leaf: PythonLeaf) -> bool:
    """The same conditions on a parsed JSON value (a row's field as the API returns it)."""
    if isinstance(document, str | bytes):
        try:
            document = orjson.loads(document)
        except orjson.JSONDecodeError:
            document = None
    results: list[bool] = []
    for path, inner in node.items():
        if path in LOGICAL:
            subs = [python_matches(document, sub, leaf) for sub in inner]
            results.append(all(subs) if path == "_and" else (any(subs) if subs else True))
            continue
        found = _first(inner)
        if found is None:
            continue
        operator, value = found
        current = _walk(document, json_path(path))
        if _numeric(value):
            number = (
                Decimal(str(current)) if isinstance(current, int | float) and not isinstance(current, bool) else None
            )
            results.append(leaf(number, "decimal", operator, value))
        else:
            results.append(leaf(_text(current), "string", operator, value))
    return all(results)
