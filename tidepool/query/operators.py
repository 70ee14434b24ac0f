"""Every Directus filter operator, once: the SQL it compiles to, the field types that allow it, its value shape.

The semantics follow Directus's ``apply-query/filter/operator.ts`` (negated operators never match NULL,
``_eq: null`` is ``IS NULL``, ``_empty`` is NULL or ``''``, ``_between`` is inclusive, ``_in: []`` matches
nothing and ``_nin: []`` everything), with one deliberate difference: string matching is identical on all
three engines. Directus inherits each engine's collation (SQLite ``LIKE`` and MySQL's default collations
ignore case, MySQL ignores trailing spaces); here

- case-sensitive comparisons are binary (code-point order): ``CAST(col AS BINARY)`` on MySQL,
  ``COLLATE "C"`` on PostgreSQL for ordering, SQLite's default binary collation, and ``GLOB`` instead of
  ``LIKE`` on SQLite;
- case-insensitive operators compare ``lower()`` of both sides (on SQLite ``tidepool_lower``, registered by
  ``db/engine.create_engine``, since its built-in ``lower`` folds ASCII only), with the same folding
  ``tidepool.db.sqlite_functions.fold`` in Python;
- LIKE/GLOB wildcards in values are escaped, so values always match literally.

The Python twin of each operator lives in ``tidepool.query.evaluate`` (a test checks both tables agree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa

from tidepool.db import key_lists
from tidepool.errors import InvalidQueryError
from tidepool.query.casting import canonical, fits, for_dialect, out_of_range, to_text
from tidepool.query.values import timestamp as api_timestamp

Condition = sa.ColumnElement[bool]


class Kind(Enum):
    """The shape of an operator's value, which decides how it is cast."""

    VALUE = "value"  # one value of the field's type
    LIST = "list"  # a non-empty list (or CSV string) of values of the field's type
    PAIR = "pair"  # two values of the field's type
    FLAG = "flag"  # a boolean: false negates the operator
    TEXT = "text"  # a string, whatever the field's type
    NESTED = "nested"  # a filter (handled by the compiler: _some, _none, _json)


@dataclass(frozen=True)
class Operand:
    """What an operator compares: a column (or function) expression and how to treat its values."""

    expr: sa.ColumnElement[Any]
    type: str  # Directus type of the compared value ("integer" for functions)
    sql_type: Any  # SQLAlchemy type used to bind values
    dialect: str
    field: str  # the name used in error messages

    @property
    def textual(self) -> bool:
        return self.type in TEXTUAL


@dataclass(frozen=True)
class Operator:
    name: str
    kind: Kind
    types: frozenset[str]
    sql: Callable[[Operand, Any], Condition] | None  # None: not compiled to SQL (validation only, or nested)


WILD = None  # a wildcard segment in a pattern; every other segment is literal text
Pattern = Sequence[str | None]

STRINGS = frozenset({"string", "text", "csv"})
NUMBERS = frozenset({"integer", "bigInteger", "float", "decimal"})
DATES = frozenset({"date", "time", "dateTime", "timestamp"})
UNKNOWN = frozenset({"unknown"})
TEXTUAL = STRINGS | UNKNOWN | {"hash", "uuid"}
ORDERED = STRINGS | NUMBERS | DATES | UNKNOWN
COLUMN_TYPES = ORDERED | {"hash", "uuid", "json", "boolean"}

# ---------------------------------------------------------------- string helpers, per dialect


def _text(value: str) -> sa.BindParameter[str]:
    return sa.literal(value, sa.String())


def _binary(expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``CAST(expr AS BINARY)`` on MySQL, still typed as a string so LIKE and binds stay textual."""
    return sa.type_coerce(sa.cast(expr, sa.LargeBinary()), sa.String())


def exact(operand: Operand) -> sa.ColumnElement[Any]:
    """The operand compared by code points: binary on MySQL, collation "C" on PostgreSQL."""
    if operand.dialect == "mysql":
        return _binary(operand.expr)
    if operand.dialect == "postgresql":
        return operand.expr.collate("C")
    return operand.expr


def _folded(operand: Operand) -> sa.ColumnElement[Any]:
    if operand.dialect == "sqlite":
        return sa.func.tidepool_lower(operand.expr)
    lowered = sa.func.lower(operand.expr, type_=sa.String())
    return _binary(lowered) if operand.dialect == "mysql" else lowered


def _folded_value(operand: Operand, value: str) -> sa.ColumnElement[Any]:
    if operand.dialect == "sqlite":
        return sa.func.tidepool_lower(_text(value), type_=sa.String())
    return sa.func.lower(_text(value), type_=sa.String())


_GLOB_ESCAPES = {"[": "[[]", "*": "[*]", "?": "[?]"}
_LIKE_ESCAPES = {"!": "!!", "%": "!%", "_": "!_"}


def _pattern_text(pattern: Pattern, wildcard: str, escapes: dict[str, str]) -> str:
    return "".join(wildcard if seg is WILD else "".join(escapes.get(c, c) for c in seg) for seg in pattern)


# SQLite refuses LIKE and GLOB patterns longer than this many bytes (SQLITE_MAX_LIKE_PATTERN_LENGTH).
SQLITE_PATTERN_LIMIT = 50_000


def too_long_for_sqlite(text: str) -> bool:
    return len(text) > SQLITE_PATTERN_LIMIT // 4 and len(text.encode()) > SQLITE_PATTERN_LIMIT


def literal_match(left: sa.ColumnElement[Any], pattern: Pattern, value: Callable[[str], Any]) -> Condition:
    """A pattern of one literal between optional wildcards as ``instr``/``substr`` (SQLite, where a long
    pattern cannot be a GLOB): the same match, with no length limit. ``value`` binds the literal."""
    literals = [segment for segment in pattern if segment is not WILD]
    assert len(literals) == 1, pattern
    bound: sa.ColumnElement[str] = value(literals[0])
    leading, trailing = pattern[0] is WILD, pattern[-1] is WILD
    if leading and trailing:
        return sa.func.instr(left, bound) > 0
    length = sa.func.length(bound)
    if trailing:
        return sa.func.substr(left, 1, length, type_=sa.String()) == bound
    if leading:
        return sa.func.substr(left, -length, type_=sa.String()) == bound
    return left == bound


def match(operand: Operand, pattern: Pattern, *, folded: bool = False) -> Condition:
    """``pattern`` matched literally (wildcards only where ``WILD``): GLOB on SQLite, LIKE elsewhere."""
    left = _folded(operand) if folded else exact(operand)
    if operand.dialect == "sqlite" and too_long_for_sqlite("".join(seg for seg in pattern if seg is not WILD)):
        return literal_match(left, pattern, (lambda v: _folded_value(operand, v)) if folded else _text)
    if operand.dialect == "sqlite":
        text = _pattern_text(pattern, "*", _GLOB_ESCAPES)
        right = _folded_value(operand, text) if folded else _text(text)
        return left.op("GLOB", is_comparison=True)(right)
    text = _pattern_text(pattern, "%", _LIKE_ESCAPES)
    right = _folded_value(operand, text) if folded else _text(text)
    return left.like(right, escape="!")


# ---------------------------------------------------------------- comparisons


def _bindable(operand: Operand, value: Any) -> Any:
    """A canonical value as the engine binds it, refused when the compared column cannot hold it (the
    driver would fail on it: ``OverflowError`` on SQLite, ``value out of int32 range`` on PostgreSQL)."""
    sql_type = operand.sql_type
    if not fits(operand.type, value, getattr(sql_type, "precision", None), getattr(sql_type, "scale", None)):
        raise out_of_range(operand.field)
    return for_dialect(operand.type, value, operand.dialect)


def bind(operand: Operand, value: Any) -> sa.BindParameter[Any]:
    return sa.literal(_bindable(operand, value), operand.sql_type)


def among(operand: Operand, values: Sequence[Any], negate: bool = False) -> Condition:
    """``[NOT] IN`` a list bound as one parameter node: one node to build and compile however long the list is
    (one parameter per value made a 60,000-value ``_in`` cost seconds of CPU before reaching the database),
    and one bound parameter past ``key_lists.LONG`` values (an engine bounds a statement's parameters)."""
    bound = [_bindable(operand, v) for v in values]
    return key_lists.values_in(_compared(operand), operand.dialect, bound, operand.sql_type, negate)


def _compared(operand: Operand) -> sa.ColumnElement[Any]:
    return exact(operand) if operand.textual else operand.expr


def _eq(operand: Operand, value: Any) -> Condition:
    equal = _compared(operand) == bind(operand, value)
    if operand.dialect == "mysql" and operand.textual:
        return sa.and_(operand.expr == bind(operand, value), equal)  # the plain test can use an index
    return equal


def _neq(operand: Operand, value: Any) -> Condition:
    return _compared(operand) != bind(operand, value)


def _comparison(op: Callable[[Any, Any], Any]) -> Callable[[Operand, Any], Condition]:
    def compile_(operand: Operand, value: Any) -> Condition:
        result: Condition = op(_compared(operand), bind(operand, value))
        return result

    return compile_


# SQLite parses ``a OR b OR c …`` into a tree as deep as the list is long and refuses depth 1000 (a 500 for
# a csv ``_in`` of 250 values); longer lists are cut into chunks of this many, each one wrapped in
# ``coalesce(chunk, false)`` (SQLAlchemy flattens plain parentheses away), so the depth grows with the
# logarithm instead. ``coalesce`` turns an unknown (NULL) chunk into false, which a WHERE reads alike.
_CHUNK = 64


def _balanced(combine: Callable[..., Condition], conditions: Sequence[Condition]) -> Condition:
    parts = list(conditions)
    while len(parts) > _CHUNK:
        parts = [
            sa.func.coalesce(combine(*parts[i : i + _CHUNK]), sa.false(), type_=sa.Boolean())
            for i in range(0, len(parts), _CHUNK)
        ]
    return combine(*parts)


def any_of(conditions: Sequence[Condition]) -> Condition:
    """OR of any number of conditions (``false`` for none), at a depth every engine accepts."""
    return _balanced(sa.or_, conditions) if conditions else sa.false()


def all_of(conditions: Sequence[Condition]) -> Condition:
    """AND of any number of conditions (``true`` for none), at a depth every engine accepts."""
    return _balanced(sa.and_, conditions) if conditions else sa.true()


def _in(operand: Operand, values: list[Any]) -> Condition:
    present = [v for v in values if v is not None]
    if operand.type == "csv":
        return any_of([csv_entry(operand, to_text(v)) for v in present])
    if not present:
        return sa.false()
    return among(operand, present)


def _nin(operand: Operand, values: list[Any]) -> Condition:
    if any(v is None for v in values):
        return sa.false()  # x NOT IN (..., NULL) is never true
    if not values:
        return sa.true()
    if operand.type == "csv":
        return sa.and_(operand.expr.is_not(None), all_of([sa.not_(csv_entry(operand, to_text(v))) for v in values]))
    return among(operand, values, negate=True)


def csv_entry(operand: Operand, value: str) -> Condition:
    """``value`` is one entry of a comma-separated field: ``,value,`` inside ``,`` + column + ``,``, one
    test for Directus's four LIKE patterns (``v``, ``v,%``, ``%,v``, ``%,v,%``), escaped here."""
    comma = sa.literal(",", sa.String())
    fenced = Operand(comma + operand.expr + comma, operand.type, operand.sql_type, operand.dialect, operand.field)
    return match(fenced, (WILD, "," + value + ",", WILD))


def _between(operand: Operand, pair: tuple[Any, Any] | None) -> Condition:
    if pair is None:
        return sa.true()  # Directus ignores a _between without exactly two values
    return _compared(operand).between(bind(operand, pair[0]), bind(operand, pair[1]))


def _nbetween(operand: Operand, pair: tuple[Any, Any] | None) -> Condition:
    return sa.true() if pair is None else sa.not_(_between(operand, pair))


def _null(operand: Operand, flag: bool) -> Condition:
    return operand.expr.is_(None) if flag else operand.expr.is_not(None)


def _empty(operand: Operand, flag: bool) -> Condition:
    if not flag:
        return _empty_negated(operand)
    return sa.or_(operand.expr.is_(None), exact(text_form(operand)) == _text(""))


def _empty_negated(operand: Operand) -> Condition:
    return sa.and_(operand.expr.is_not(None), exact(text_form(operand)) != _text(""))


# ---------------------------------------------------------------- text forms of non-text fields

# ``_contains``/``_ncontains`` (and ``_empty``) on a timestamp match the text the API returns for it
# (``2024-03-05T10:20:30.000Z``): (SQL expression of that text, per dialect; Python form).
_TIMESTAMP_TEXT: dict[str, Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]]] = {
    "sqlite": lambda e: sa.func.strftime("%Y-%m-%dT%H:%M:%fZ", e, type_=sa.String()),
    "postgresql": lambda e: sa.func.to_char(
        sa.func.timezone("UTC", e), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"', type_=sa.String()
    ),
    "mysql": lambda e: sa.func.concat(
        sa.func.left(sa.func.date_format(e, "%Y-%m-%dT%H:%i:%s.%f"), 23), "Z", type_=sa.String()
    ),
}


TEXT_FORMS: dict[str, tuple[Callable[[sa.ColumnElement[Any], str], sa.ColumnElement[Any]], Callable[[Any], str]]] = {
    "timestamp": (lambda e, d: _TIMESTAMP_TEXT.get(d, _TIMESTAMP_TEXT["sqlite"])(e), api_timestamp),
}


def text_form(operand: Operand) -> Operand:
    """The operand as the text the API shows, for the pattern operators on timestamps."""
    form = TEXT_FORMS.get(operand.type)
    if form is None:
        return operand
    return Operand(form[0](operand.expr, operand.dialect), "string", sa.String(), operand.dialect, operand.field)


def _matching(pattern: Callable[[str], Pattern], *, folded: bool = False, negated: bool = False) -> Any:
    def compile_(operand: Operand, value: str) -> Condition:
        condition = match(text_form(operand), pattern(value), folded=folded)
        return sa.not_(condition) if negated else condition

    return compile_


def _contains(v: str) -> Pattern:
    return (WILD, v, WILD)


def _starts(v: str) -> Pattern:
    return (v, WILD)


def _ends(v: str) -> Pattern:
    return (WILD, v)


def _neg(flagged: Callable[[Operand, bool], Condition]) -> Callable[[Operand, bool], Condition]:
    return lambda operand, flag: flagged(operand, not flag)


# Which types take which operators: Directus 12.4.1's ``getFilterOperatorsForType``, checked against a live
# instance (tests/http/test_operator_matrix.py). Strings are not ordered (no ``_lt``, no ``_between``); uuids
# take equality only; ``_nicontains``, ``_ieq`` and ``_nieq`` are taken by no type, so they are not here.
_COMPARED_TYPES = NUMBERS | DATES | UNKNOWN
_EQ_TYPES = ORDERED | {"uuid", "boolean"}
_IN_TYPES = ORDERED | {"uuid"}
_EMPTY_TYPES = STRINGS | UNKNOWN | {"hash", "timestamp"}
_CONTAINS_TYPES = STRINGS | UNKNOWN | {"timestamp"}  # Directus: timestamps take these two only
_PATTERN_TYPES = STRINGS


def _op(name: str, kind: Kind, types: frozenset[str], sql: Callable[[Operand, Any], Condition] | None) -> Operator:
    return Operator(name, kind, types, sql)


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        _op("_eq", Kind.VALUE, _EQ_TYPES, _eq),
        _op("_neq", Kind.VALUE, _EQ_TYPES, _neq),
        _op("_lt", Kind.VALUE, _COMPARED_TYPES, _comparison(lambda a, b: a < b)),
        _op("_lte", Kind.VALUE, _COMPARED_TYPES, _comparison(lambda a, b: a <= b)),
        _op("_gt", Kind.VALUE, _COMPARED_TYPES, _comparison(lambda a, b: a > b)),
        _op("_gte", Kind.VALUE, _COMPARED_TYPES, _comparison(lambda a, b: a >= b)),
        _op("_in", Kind.LIST, _IN_TYPES, _in),
        _op("_nin", Kind.LIST, _IN_TYPES, _nin),
        _op("_between", Kind.PAIR, _COMPARED_TYPES, _between),
        _op("_nbetween", Kind.PAIR, _COMPARED_TYPES, _nbetween),
        _op("_null", Kind.FLAG, COLUMN_TYPES, _null),
        _op("_nnull", Kind.FLAG, COLUMN_TYPES, _neg(_null)),
        _op("_empty", Kind.FLAG, _EMPTY_TYPES, _empty),
        _op("_nempty", Kind.FLAG, _EMPTY_TYPES, _neg(_empty)),
        _op("_contains", Kind.TEXT, _CONTAINS_TYPES, _matching(_contains)),
        _op("_ncontains", Kind.TEXT, _CONTAINS_TYPES, _matching(_contains, negated=True)),
        _op("_icontains", Kind.TEXT, _PATTERN_TYPES, _matching(_contains, folded=True)),
        _op("_starts_with", Kind.TEXT, _PATTERN_TYPES, _matching(_starts)),
        _op("_nstarts_with", Kind.TEXT, _PATTERN_TYPES, _matching(_starts, negated=True)),
        _op("_istarts_with", Kind.TEXT, _PATTERN_TYPES, _matching(_starts, folded=True)),
        _op("_nistarts_with", Kind.TEXT, _PATTERN_TYPES, _matching(_starts, folded=True, negated=True)),
        _op("_ends_with", Kind.TEXT, _PATTERN_TYPES, _matching(_ends)),
        _op("_nends_with", Kind.TEXT, _PATTERN_TYPES, _matching(_ends, negated=True)),
        _op("_iends_with", Kind.TEXT, _PATTERN_TYPES, _matching(_ends, folded=True)),
        _op("_niends_with", Kind.TEXT, _PATTERN_TYPES, _matching(_ends, folded=True, negated=True)),
        _op("_intersects", Kind.LIST, frozenset({"csv"}), _in),
        _op("_nintersects", Kind.LIST, frozenset({"csv"}), _nin),
        _op("_regex", Kind.TEXT, STRINGS, None),  # validation rules only, as in Directus
        _op("_json", Kind.NESTED, frozenset({"json"}), None),
        _op("_some", Kind.NESTED, frozenset({"alias"}), None),
        _op("_none", Kind.NESTED, frozenset({"alias"}), None),
    )
}

# Operators whose value is optional: `{"_eq": null}` is `_null`, `{"_neq": null}` is `_nnull`.
NULL_REWRITES = {"_eq": "_null", "_neq": "_nnull"}


def not_allowed(field_type: str, operator: str) -> InvalidQueryError:
    return InvalidQueryError(f'"{field_type}" field type does not contain the "{operator}" filter operator')


def lookup(operator: str, field_type: str, special: Sequence[str] = (), *, validation: bool = False) -> Operator:
    """The operator, if ``field_type`` allows it; Directus's errors otherwise."""
    spec = OPERATORS.get(operator)
    if spec is None or field_type not in spec.types or (spec.sql is None and not validation):
        raise not_allowed(field_type, operator)
    if "conceal" in special and "hash" not in spec.types:
        raise InvalidQueryError(f'Field with "conceal" special does not allow the "{operator}" filter operator')
    return spec


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def prepare(spec: Operator, field_type: str, value: Any, field: str) -> Any:
    """The operator's value cast for ``field_type`` (canonical, engine-independent)."""
    if spec.kind is Kind.FLAG:
        return value is not False
    if spec.kind is Kind.TEXT:
        return _text_value(value, field, field_type)
    if spec.kind is Kind.LIST:
        return [None if v is None else canonical(field_type, v, field) for v in _as_list(value)]
    if spec.kind is Kind.PAIR:
        items = _as_list(value)
        return (
            (canonical(field_type, items[0], field), canonical(field_type, items[1], field))
            if len(items) == 2
            else None
        )
    return canonical(field_type, value, field)


def _text_value(value: Any, field: str, field_type: str) -> str:
    try:
        return to_text(value)
    except ValueError as exc:
        raise InvalidQueryError(f'Invalid value for field "{field}" of type "{field_type}"') from exc
