"""``search``: one text matched against a collection's own fields, as Directus's ``applySearch`` does, with
ONE table deciding how each field type takes part, used by both forms:

- the SQL form (:func:`search_condition`, for reads) compiles each term with the operator table
  (``tidepool.query.operators``);
- the Python form (:func:`search_filter` + ``tidepool.query.evaluate.matches``, for the realtime layer's
  "was this row visible before the change?") evaluates the very same terms with the operators' Python twins.

A term is an ordinary filter leaf, so the two forms agree exactly where the operators do (a property test
checks it on every engine). The table, following Directus 12.4.1 on PostgreSQL:

- ``string`` / ``text``: contains the text, case-insensitively (``_icontains``). Other text-like types
  (``csv``, ``hash``, ``json``) never match, as in Directus.
- ``integer`` / ``bigInteger`` / ``float`` / ``decimal``: equal to the number the text spells exactly as
  JavaScript prints it (Directus's ``parseNumericString``: ``"5"`` and ``"-2.5"``, not ``"05"``, ``"5.0"``
  or ``"1e3"``), and only when that number fits the field (32-/64-bit integers, whole numbers for integer
  fields, the precision and scale of decimals), so nothing out of range is ever bound.
- ``uuid``: equal, when the text is a uuid (any case, as PostgreSQL's uuid type compares).

Concealed and hash fields never match (searching them would leak them), nor do fields the caller cannot
read; a field readable only on some rows matches only on those. The text's ``%`` and ``_`` match literally
(Directus passes them to ``LIKE`` as wildcards: a deliberate difference, as for the filter operators).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from tidepool.context import Access, Action
from tidepool.db.schema import CollectionInfo, FieldInfo
from tidepool.db.types import DEFAULT_PRECISION, DEFAULT_SCALE
from tidepool.query.compile import Condition, Level
from tidepool.query.filters import compile_filter
from tidepool.query.js import parse_numeric_string
from tidepool.query.model import Filter

_INT32 = 2**31
_INT64 = 2**63
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _whole_below(limit: int) -> Callable[[str, FieldInfo], Any]:
    def value(text: str, _field: FieldInfo) -> Any:
        number = parse_numeric_string(text)
        return number if isinstance(number, int) and -limit <= number < limit else None

    return value


def _float(text: str, _field: FieldInfo) -> Any:
    return parse_numeric_string(text)


def _decimal(text: str, field: FieldInfo) -> Any:
    """Only numbers the column could hold: PostgreSQL casts the bound value to ``numeric(p, s)``, which
    fails beyond the precision and rounds extra decimals (``0.123456`` would equal a stored ``0.12346``)."""
    if parse_numeric_string(text) is None:
        return None
    number = decimal.Decimal(text)
    precision = field.numeric_precision or DEFAULT_PRECISION
    scale = DEFAULT_SCALE if field.numeric_scale is None else field.numeric_scale
    exponent = number.as_tuple().exponent
    fits = isinstance(exponent, int) and exponent >= -scale and abs(number) < decimal.Decimal(10) ** (precision - scale)
    return number if fits else None


def _text(text: str, _field: FieldInfo) -> Any:
    return text


def _uuid(text: str, _field: FieldInfo) -> Any:
    return text.lower() if _UUID.match(text) else None


# Field type → (operator, the operator's value for a search text; None: the field cannot match this text).
MATCHERS: dict[str, tuple[str, Callable[[str, FieldInfo], Any]]] = {
    "string": ("_icontains", _text),
    "text": ("_icontains", _text),
    "integer": ("_eq", _whole_below(_INT32)),
    "bigInteger": ("_eq", _whole_below(_INT64)),
    "float": ("_eq", _float),
    "decimal": ("_eq", _decimal),
    "uuid": ("_eq", _uuid),
}


def search_terms(info: CollectionInfo, text: str) -> list[tuple[FieldInfo, Filter]]:
    """(field, filter leaf) for every field of ``info`` that can match ``text``, in schema order."""
    terms: list[tuple[FieldInfo, Filter]] = []
    for field in info.fields.values():
        matcher = MATCHERS.get(field.type)
        if matcher is None or field.concealed:
            continue
        value = matcher[1](text, field)
        if value is not None:
            terms.append((field, {field.name: {matcher[0]: value}}))
    return terms


def search_condition(level: Level, query: str | None) -> Condition | None:
    """The SQL form: OR over the readable matching fields; ``false`` when none can match."""
    if not query:
        return None
    conditions: list[Condition] = []
    for field, leaf in search_terms(level.info, query):
        if not level.readable(field.name):
            continue
        term = compile_filter(
            leaf, level.info.name, schema=level.schema, access=Access.full(), dialect=level.dialect, table=level.table
        )
        visible = level.field_condition(field.name)
        conditions.append(term if visible is None else sa.and_(visible, term))
    return sa.or_(*conditions) if conditions else sa.false()


def search_filter(info: CollectionInfo, query: str, access: Access) -> Filter | None:
    """The Python form: the same terms as one filter for ``matches`` (each restricted to the rows where the
    caller may read its field); ``None`` when nothing can match."""
    permissions = () if access.admin else access.rules(info.name, Action.READ)
    parts: list[Filter] = []
    for field, leaf in search_terms(info, query):
        granting = [p for p in permissions if p.fields is None or "*" in p.fields or field.name in p.fields]
        if permissions and not granting:
            continue  # not readable at all
        if len(granting) == len(permissions) or any(not p.rule for p in granting):
            parts.append(leaf)
        else:
            rules: list[Mapping[str, Any]] = [p.rule for p in granting if p.rule]
            parts.append({"_and": [leaf, {"_or": rules}]})
    return {"_or": parts} if parts else None
