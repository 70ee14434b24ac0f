"""Sanitizing Directus queries: every form a query arrives in becomes one ``Query``.

Three forms reach the server: a JSON object (REST body ``query``, WebSocket ``query``), the SDK's
"every value a string" object (``{"fields": "a,b", "filter": "{…}", "limit": "10"}``) and a URL query
string, optionally in PHP/``qs`` bracket notation (``filter[status][_eq]=x&fields[]=a``). The query string
is first rebuilt into the nested object ``qs`` would produce (``tidepool.query.parse_qs``), then everything
goes through :func:`parse_query`, which follows Directus's ``sanitize-query.ts`` and ``validate-query.ts``:

1. sanitize each parameter in Directus's order (strings split, JSON strings decoded, numbers converted with
   JavaScript's ``Number`` rules from ``tidepool.query.js``, the filter normalized like ``parseFilter`` by
   ``tidepool.query.parse_filter``);
2. validate the filter's operator arguments, then the alias, then the Joi-style checks (limit/offset/page/
   meta/export/version), so the first error reported is the one Directus would report.

This module is the assembly (the parameters' order and rules).

Dynamic variables (``$NOW``, ``$CURRENT_USER``…) are left in place; ``tidepool.query.dynamic`` resolves them
for the caller. Unknown parameters are ignored, as Directus ignores them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidepool.errors import InvalidQueryError
from tidepool.query.complexity import check_complexity, check_nesting, check_raw_complexity
from tidepool.query.js import MAX_SAFE_INTEGER, always, defined, js_number, js_type, load_json, truthy
from tidepool.query.model import Query
from tidepool.query.parse_filter import (
    sanitize_filter,
    validate_filter,
)
from tidepool.query.parse_qs import parse_qs_items

META_VALUES: tuple[str, ...] = ("total_count", "filter_count")
AGGREGATE_FUNCTIONS: frozenset[str] = frozenset(
    ("count", "countDistinct", "countAll", "sum", "sumDistinct", "avg", "avgDistinct", "min", "max")
)
EXPORT_FORMATS: tuple[str, ...] = ("csv", "csv_utf8", "json", "xml", "yaml")


# ------------------------------------------------------------------------------ fields, sort, groupBy


def split_fields(text: str) -> list[str]:
    """Split on commas outside parentheses, so ``json(data, a.b),id`` stays two fields."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _string_items(name: str, items: Sequence[Any]) -> list[str]:
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidQueryError(f'"{name}[{index}]" must be a string')
    return list(items)


def _clean(parts: list[str]) -> tuple[str, ...] | None:
    """Trim, drop empty parts (``"a,,b"``), and treat an empty list as not given."""
    cleaned = tuple(part.strip() for part in parts if part.strip())
    return cleaned or None


def _sanitize_fields(raw: Any, name: str = "fields") -> tuple[str, ...] | None:
    if isinstance(raw, str):
        return _clean(split_fields(raw))
    if not isinstance(raw, list | tuple):
        # Directus names "fields" here for groupBy too: the same function sanitizes both.
        raise InvalidQueryError('"fields" must be a string or array')
    return _clean([part for item in _string_items(name, raw) for part in split_fields(item)])


def _sanitize_group_by(raw: Any) -> tuple[str, ...] | None:
    return _sanitize_fields(raw, "group")


def _sanitize_sort(raw: Any) -> tuple[str, ...] | None:
    """Split on commas outside parentheses, so ``-json(data, a.b),id`` stays two sort fields."""
    if isinstance(raw, str):
        return _clean(split_fields(raw))
    if isinstance(raw, list | tuple):
        return _clean([part for item in _string_items("sort", raw) for part in split_fields(item)])
    return None


# ------------------------------------------------------------------------------------- aggregate


def _sanitize_aggregate(raw: Any) -> dict[str, tuple[str, ...]]:
    value = raw
    if isinstance(raw, str):
        try:
            value = load_json(raw)
        except ValueError:
            value = raw  # Directus only logs a warning; the object check below rejects it.
    if not isinstance(value, Mapping):
        raise InvalidQueryError('"aggregate" must be of type object')
    for op in value:
        if op not in AGGREGATE_FUNCTIONS:
            # Directus 12.4.1 skips it and answers one empty object per row; an error says what is wrong.
            raise InvalidQueryError(f'"{op}" is not a valid aggregate function')
    return {op: _aggregate_fields(op, fields) for op, fields in value.items()}


def _aggregate_fields(op: str, fields: Any) -> tuple[str, ...]:
    if isinstance(fields, str):
        return tuple(part.strip() for part in fields.split(",") if part.strip())
    if isinstance(fields, list | tuple):
        return tuple(item.strip() for item in _string_items(f"aggregate.{op}", fields))
    raise InvalidQueryError(f'"aggregate.{op}" must be a string or array')


# ------------------------------------------------------------------------ meta, search, alias, deep


def _sanitize_meta(raw: Any) -> tuple[str, ...]:
    if raw == "*":
        return META_VALUES
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(","))
    if isinstance(raw, list | tuple):
        return tuple(item.strip() if isinstance(item, str) else item for item in raw)
    raise InvalidQueryError('"meta" must be an array')


def _sanitize_search(raw: Any) -> str | None:
    """Trimmed, as Directus does; a text of spaces only is kept as it is (Directus then searches for it)."""
    return (raw.strip() or raw) if isinstance(raw, str) else None


def _sanitize_alias(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return load_json(raw)
        except ValueError:
            return raw  # Directus only logs a warning; validate_alias rejects the string.
    return raw


def validate_alias(alias: Any) -> None:
    """Directus's ``validateAlias``: an object of string → string, no ``.`` on either side."""
    if not isinstance(alias, Mapping):
        raise InvalidQueryError('"alias" has to be an object')
    for key, value in alias.items():
        if not isinstance(value, str):
            raise InvalidQueryError(f'"alias" value has to be a string. "{js_type(value)}" given')
        if "." in str(key) or "." in value:
            raise InvalidQueryError('"alias" key/value can\'t contain a period character `.`')


def _sanitize_backlink(raw: Any) -> bool:
    return raw is not False and raw != "false"


# Query attribute → the parameter name a deep level uses (``_limit``, ``_groupBy``…).
_DEEP_NAMES: dict[str, str] = {
    "fields": "fields",
    "filter": "filter",
    "sort": "sort",
    "limit": "limit",
    "offset": "offset",
    "page": "page",
    "search": "search",
    "meta": "meta",
    "aggregate": "aggregate",
    "group_by": "groupBy",
    "deep": "deep",
    "alias": "alias",
    "backlink": "backlink",
}


def _sanitize_deep(raw: Any, max_limit: int | None) -> dict[str, Any] | None:
    value = raw
    if isinstance(raw, str):
        try:
            value = load_json(raw)
        except ValueError:
            return None  # Directus logs a warning and ignores an unreadable deep.
    if not isinstance(value, Mapping):
        return None
    check_nesting(value, "deep")
    return _deep_level(value, max_limit) or None


def _deep_level(level: Mapping[str, Any], max_limit: int | None) -> dict[str, Any]:
    """One level of ``deep``: ``_``-prefixed keys form a sub-query sanitized like a query (so ``_limit``
    becomes an int and ``_filter`` is normalized); other keys holding objects are nested relations."""
    result: dict[str, Any] = {}
    sub_query: dict[str, Any] = {}
    for key, value in level.items():
        if not key:
            break
        if key.startswith("_"):
            sub_query[key[1:]] = value
        elif isinstance(value, Mapping):
            nested = _deep_level(value, max_limit)
            if nested:
                result[key] = nested
    if sub_query:
        parsed = parse_query(sub_query, max_limit=max_limit)
        for attr, name in _DEEP_NAMES.items():
            if getattr(parsed, attr) is not None:
                result[f"_{name}"] = getattr(parsed, attr)
    return result


# ------------------------------------------------------------------------------ numbers (Joi rules)


def _check_integer(name: str, value: float, minimum: int, maximum: int | None = None) -> int:
    """Joi's ``number().integer().min().max()`` with its messages, in Joi's order."""
    if math.isinf(value):
        raise InvalidQueryError(f'"{name}" cannot be infinity')
    if math.isnan(value):
        raise InvalidQueryError(f'"{name}" must be a number')
    if abs(value) > MAX_SAFE_INTEGER:
        raise InvalidQueryError(f'"{name}" must be a safe number')
    if not value.is_integer():
        raise InvalidQueryError(f'"{name}" must be an integer')
    if value < minimum:
        raise InvalidQueryError(f'"{name}" must be greater than or equal to {minimum}')
    if maximum is not None and value > maximum:
        raise InvalidQueryError(f'"{name}" must be less than or equal to {maximum}')
    return int(value)


def _check_meta(meta: tuple[Any, ...]) -> tuple[str, ...]:
    for index, item in enumerate(meta):
        if item not in META_VALUES:
            raise InvalidQueryError(f'"meta[{index}]" must be one of [{", ".join(META_VALUES)}]')
    return meta


# ---------------------------------------------------------------------------------------- the query

_Sanitizer = Callable[[Any, int | None], Any]

# (parameter, Query attribute, "is it given?", sanitizer), in the order Directus's sanitizeQuery runs.
_STEPS: tuple[tuple[str, str, Callable[[Any], bool], _Sanitizer], ...] = (
    ("limit", "limit", defined, lambda raw, _m: js_number(raw)),
    ("fields", "fields", truthy, lambda raw, _m: _sanitize_fields(raw)),
    ("groupBy", "group_by", truthy, lambda raw, _m: _sanitize_group_by(raw)),
    ("aggregate", "aggregate", truthy, lambda raw, _m: _sanitize_aggregate(raw)),
    ("sort", "sort", truthy, lambda raw, _m: _sanitize_sort(raw)),
    ("filter", "filter", truthy, lambda raw, _m: sanitize_filter(raw)),
    ("offset", "offset", defined, lambda raw, _m: js_number(raw)),
    ("page", "page", truthy, lambda raw, _m: js_number(raw)),
    ("meta", "meta", truthy, lambda raw, _m: _sanitize_meta(raw)),
    ("search", "search", truthy, lambda raw, _m: _sanitize_search(raw)),
    ("deep", "deep", truthy, _sanitize_deep),
    ("alias", "alias", truthy, lambda raw, _m: _sanitize_alias(raw)),
    ("backlink", "backlink", always, lambda raw, _m: _sanitize_backlink(raw)),
)


def _sanitize(raw: Mapping[str, Any], max_limit: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for param, attr, given, sanitize in _STEPS:
        if param in raw and given(raw[param]):
            values[attr] = sanitize(raw[param], max_limit)
    return {attr: value for attr, value in values.items() if value is not None}


def _extra(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``version``/``versionRaw``/``export``: accepted and kept, not used by the reader."""
    extra: dict[str, Any] = {}
    if truthy(raw.get("version")):
        extra["version"] = raw["version"]
        extra["versionRaw"] = raw.get("versionRaw", False) in ("", "true", True)
    if truthy(raw.get("export")):
        extra["export"] = raw["export"]
    return extra


def _validate_extra(extra: Mapping[str, Any]) -> None:
    if "export" in extra and extra["export"] not in EXPORT_FORMATS:
        raise InvalidQueryError(f'"export" must be one of [{", ".join(EXPORT_FORMATS)}]')
    if "version" in extra and not isinstance(extra["version"], str):
        raise InvalidQueryError('"version" must be a string')


def _limit(value: float, max_limit: int | None) -> int:
    if value == -1 and max_limit is not None:
        return max_limit
    return _check_integer("limit", value, -1, max_limit)


def _validate(values: dict[str, Any], extra: Mapping[str, Any], max_limit: int | None) -> None:
    """Directus's validateQuery order: filter, alias, then the Joi schema's keys in their order."""
    if values.get("filter"):
        validate_filter(values["filter"])
    if "alias" in values:
        validate_alias(values["alias"])
    if "limit" in values:
        values["limit"] = _limit(values["limit"], max_limit)
    if "offset" in values:
        values["offset"] = _check_integer("offset", values["offset"], 0)
    if "page" in values:
        values["page"] = _check_integer("page", values["page"], 0) or None  # page 0 means "not given"
    if "meta" in values:
        values["meta"] = _check_meta(values["meta"])
    _validate_extra(extra)


def parse_query(
    raw: Mapping[str, Any] | None, *, max_limit: int | None = None, max_complexity: int | None = None
) -> Query:
    """A ``Query`` from the JSON object form, accepting the URL-string form of every value.

    ``max_limit`` is ``QUERY_LIMIT_MAX`` (``None``: no maximum): ``limit=-1`` becomes it and larger
    limits are ``INVALID_QUERY``. ``max_complexity`` is ``MAX_QUERY_COMPLEXITY`` (``tidepool.query.complexity``).
    Raises ``InvalidQueryError`` with Directus's reasons."""
    if raw is None:
        return Query()
    if not isinstance(raw, Mapping):
        raise InvalidQueryError('"query" must be of type object')
    check_raw_complexity(raw, max_complexity)
    values = _sanitize(raw, max_limit)
    extra = _extra(raw)
    _validate(values, extra, max_limit)
    query = Query(**{key: value for key, value in values.items() if value is not None}, extra=extra)
    return check_complexity(query, max_complexity)


def parse_query_params(
    items: Sequence[tuple[str, str]], *, max_limit: int | None = None, max_complexity: int | None = None
) -> Query:
    """A ``Query`` from URL query-string pairs (``request.query_params.multi_items()``), bracket forms included."""
    return parse_query(parse_qs_items(items), max_limit=max_limit, max_complexity=max_complexity)
