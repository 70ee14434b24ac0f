"""Sanitizing Directus queries: every form a query arrives in becomes one ``Query``.

Three forms reach the server: a JSON object (REST body ``query``, WebSocket ``query``), the SDK's
"every value a string" object (``{"fields": "a,b", "filter": "{…}", "limit": "10"}``) and a URL query
string, optionally in PHP/``qs`` bracket notation (``filter[status][_eq]=x&fields[]=a``). The query string
is first rebuilt into the nested object ``qs`` would produce (:func:`parse_qs_items`), then everything goes
through :func:`parse_query`, which follows Directus's ``sanitize-query.ts`` and ``validate-query.ts``:

1. sanitize each parameter in Directus's order (strings split, JSON strings decoded, numbers converted with
   JavaScript's ``Number`` rules, the filter normalized like ``parseFilter``);
2. validate the filter's operator arguments, then the alias, then the Joi-style checks (limit/offset/page/
   meta/export/version), so the first error reported is the one Directus would report.

Dynamic variables (``$NOW``, ``$CURRENT_USER``…) are left in place; ``tidepool.query.dynamic`` resolves them
for the caller. Unknown parameters are ignored, as Directus ignores them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from tidepool.errors import InvalidQueryError
from tidepool.query.model import Filter, Query

META_VALUES: tuple[str, ...] = ("total_count", "filter_count")
AGGREGATE_FUNCTIONS: frozenset[str] = frozenset(
    ("count", "countDistinct", "countAll", "sum", "sumDistinct", "avg", "avgDistinct", "min", "max")
)
EXPORT_FORMATS: tuple[str, ...] = ("csv", "csv_utf8", "json", "xml", "yaml")
LIST_OPERATORS: frozenset[str] = frozenset(("_in", "_nin", "_between", "_nbetween"))
BOOLEAN_OPERATORS: frozenset[str] = frozenset(("_null", "_nnull", "_empty", "_nempty"))
GEOMETRY_OPERATORS: frozenset[str] = frozenset(("_intersects", "_nintersects", "_intersects_bbox", "_nintersects_bbox"))
LOGICAL_OPERATORS: frozenset[str] = frozenset(("_and", "_or"))
QUANTIFIERS: frozenset[str] = frozenset(("_some", "_none"))
MAX_SAFE_INTEGER = 2**53 - 1
QS_DEPTH = 10  # Directus configures Express's ``qs`` with ``depth: 10``.

_GEOMETRY_TYPES = frozenset(
    ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")
)


class _InvalidFilter(Exception):
    """Internal: the filter's shape cannot be normalized (Directus: "Invalid filter object")."""


# ------------------------------------------------------------------------------- JavaScript semantics


def _truthy(value: Any) -> bool:
    """JavaScript truthiness: Directus tests most parameters with ``if (rawQuery[key])``.
    Empty arrays and objects are truthy there, ``""``, ``0`` and ``false`` are not."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def _defined(value: Any) -> bool:
    """``!== undefined``; a JSON ``null`` counts as not given too (Directus ignores a null limit)."""
    return value is not None


def _always(value: Any) -> bool:
    return True


_JS_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_JS_RADIX = {"0x": 16, "0o": 8, "0b": 2}


def js_number(value: Any) -> float:
    """JavaScript's ``Number(value)`` for the JSON values a query can hold (NaN when it is not a number)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _js_number_from_string(value.strip())
    return math.nan


def _js_number_from_string(text: str) -> float:
    if text == "":
        return 0.0
    if _JS_DECIMAL.match(text):
        return float(text)
    if text in ("Infinity", "+Infinity", "-Infinity"):
        return -math.inf if text.startswith("-") else math.inf
    base = _JS_RADIX.get(text[:2].lower())
    if base is not None:
        try:
            return float(int(text[2:], base))
        except ValueError:
            return math.nan
    return math.nan


def _js_type(value: Any) -> str:
    """JavaScript's ``typeof`` for a JSON value, for error texts."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def _load_json(text: str) -> Any:
    """Directus's ``parseJSON``; raises ``ValueError`` on bad JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None


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
    if isinstance(raw, str):
        return _clean(raw.split(","))
    if isinstance(raw, list | tuple):
        return _clean([part for item in _string_items("sort", raw) for part in item.split(",")])
    return None


# ------------------------------------------------------------------------------------- aggregate


def _sanitize_aggregate(raw: Any) -> dict[str, tuple[str, ...]]:
    value = raw
    if isinstance(raw, str):
        try:
            value = _load_json(raw)
        except ValueError:
            value = raw  # Directus only logs a warning; the object check below rejects it.
    if not isinstance(value, Mapping):
        raise InvalidQueryError('"aggregate" must be of type object')
    # Unknown functions are skipped, as Directus's applyAggregate skips them.
    return {op: _aggregate_fields(op, fields) for op, fields in value.items() if op in AGGREGATE_FUNCTIONS}


def _aggregate_fields(op: str, fields: Any) -> tuple[str, ...]:
    if isinstance(fields, str):
        return tuple(part.strip() for part in fields.split(",") if part.strip())
    if isinstance(fields, list | tuple):
        return tuple(item.strip() for item in _string_items(f"aggregate.{op}", fields))
    raise InvalidQueryError(f'"aggregate.{op}" must be a string or array')


# ----------------------------------------------------------------------------------------- filter


def _sanitize_filter(raw: Any) -> Filter | None:
    value = raw
    if isinstance(raw, str):
        try:
            value = _load_json(raw)
        except ValueError:
            raise InvalidQueryError("Invalid JSON for filter object") from None
    try:
        return normalize_filter(value)
    except _InvalidFilter:
        raise InvalidQueryError("Invalid filter object") from None


def normalize_filter(value: Any) -> Filter | None:
    """Directus's ``parseFilter`` without the dynamic variables: every object gets one key (several keys
    become ``_and``), a bare value becomes ``_eq``, ``_in``-style arguments become lists (CSV strings are
    split, ``qs`` index objects turned into lists), geometry JSON strings are decoded, leaf strings
    ``"true"``/``"false"``/``"null"``/``"NULL"`` become ``true``/``false``/``null``, and a logical operator
    under a field is lifted above it (``{a: {_or: [x, y]}}`` → ``{_or: [{a: x}, {a: y}]}``)."""
    if not isinstance(value, Mapping):
        raise _InvalidFilter
    parsed = _coerce(_normalize(value))
    if not parsed:
        return None
    return dict(_shift_logical_up(parsed))


def _normalize(node: Any) -> Any:
    if node is None:
        return None
    if isinstance(node, list | tuple):
        raise _InvalidFilter  # Directus would read a list as an object keyed "0", "1"…
    if not isinstance(node, Mapping):
        return {"_eq": node}
    entries = [_normalize_entry(str(key), value) for key, value in node.items()]
    if len(entries) == 1:
        return entries[0]
    return {"_and": entries} if entries else {}


def _normalize_logical(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, list | tuple):
        raise _InvalidFilter
    return {key: [_normalize(item) for item in value]}


def to_list(value: Any) -> list[Any]:
    """The argument of ``_in``/``_nin``/``_between``/``_nbetween`` as a list (Directus's ``toArray``)."""
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _normalize_geometry(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = _load_json(value)
        except ValueError:
            raise _InvalidFilter from None
    return {key: value}


def _normalize_json(node: Any) -> Any:
    """The argument of ``_json`` keeps its shape: ``{path: {op: value}}`` plus ``_and``/``_or``."""
    if not isinstance(node, Mapping):
        raise _InvalidFilter
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in LOGICAL_OPERATORS:
            if not isinstance(value, list | tuple):
                raise _InvalidFilter
            out[key] = [_normalize_json(item) for item in value]
        elif key in LIST_OPERATORS:
            out[key] = list(value.values()) if isinstance(value, Mapping) else value
        elif key.startswith("_"):
            out[key] = value
        else:
            out[key] = _normalize_json(value)
    return out


def _normalize_entry(key: str, value: Any) -> dict[str, Any]:
    if key in LOGICAL_OPERATORS:
        return _normalize_logical(key, value)
    if key in LIST_OPERATORS:
        return {key: to_list(value)}
    if key in GEOMETRY_OPERATORS:
        return _normalize_geometry(key, value)
    if key == "_json":
        return {key: _normalize_json(value)}
    if key.startswith("_") and key not in QUANTIFIERS:
        return {key: value}
    return {key: _normalize(value)}


_COERCED: dict[str, Any] = {"true": True, "false": False, "null": None, "NULL": None}


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        return _COERCED.get(value, value)
    if isinstance(value, Mapping):
        return {key: _coerce(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_coerce(item) for item in value]
    return value


def _shift_logical_up(node: Mapping[str, Any]) -> Mapping[str, Any]:
    if not node:
        return node
    key = next(iter(node))
    if key in LOGICAL_OPERATORS:
        return {key: [_shift_logical_up(_as_filter(item)) for item in node[key]]}
    if key.startswith("_"):
        return node
    child = _shift_logical_up(_as_filter(node[key]))
    child_key = next(iter(child), None)
    if child_key in LOGICAL_OPERATORS:
        return _shift_logical_up({child_key: [{key: nested} for nested in child[str(child_key)]]})
    return {key: child}


def _as_filter(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _InvalidFilter  # e.g. {"status": null}: Directus fails on Object.keys(null)
    return value


# ------------------------------------------------------------------------------- filter validation


def validate_filter(node: Mapping[str, Any]) -> None:
    """Directus's ``validateFilter``: operator arguments of the right shape, no empty-string comparisons."""
    for key, nested in node.items():
        if key in LOGICAL_OPERATORS:
            for item in _as_list(nested):
                validate_filter(_as_filter(item))
        elif key.startswith("_"):
            _OPERATOR_CHECKS.get(key, _check_primitive)(nested, key)
        elif isinstance(nested, Mapping):
            validate_filter(nested)
        elif isinstance(nested, list | tuple):
            for item in nested:
                validate_filter(_as_filter(item))
        else:
            _check_primitive(nested, "_eq")


def _as_list(value: Any) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidQueryError("Invalid filter object")
    return value


def _check_primitive(value: Any, key: str) -> None:
    if value is None:
        return
    if not isinstance(value, str | int | float):
        raise InvalidQueryError(f'The filter value for "{key}" has to be a string, number, or boolean')
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isnan(value) or value > MAX_SAFE_INTEGER:
            raise InvalidQueryError(f'The filter value for "{key}" is not a valid number')
    if value == "":
        raise InvalidQueryError(f'You can\'t filter for an empty string in "{key}". Use "_empty" or "_nempty" instead')


def _check_list(value: Any, key: str) -> None:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidQueryError(f'"{key}" has to be an array of values')


def _check_boolean(value: Any, key: str) -> None:
    if value is None or value == "" or isinstance(value, bool):
        return
    raise InvalidQueryError(f'"{key}" has to be a boolean')


def _is_geojson(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    kind = value.get("type")
    if kind == "Feature":
        return _is_geojson(value.get("geometry"))
    if kind == "GeometryCollection":
        return isinstance(value.get("geometries"), list) and all(_is_geojson(g) for g in value["geometries"])
    return kind in _GEOMETRY_TYPES and isinstance(value.get("coordinates"), list)


def _check_geometry(value: Any, key: str) -> None:
    if value is None or value == "" or _is_geojson(value):
        return
    raise InvalidQueryError(f'"{key}" has to be a valid GeoJSON object')


def _check_nested(value: Any, key: str) -> None:
    validate_filter(_as_filter(value))


_OPERATOR_CHECKS: dict[str, Callable[[Any, str], None]] = {
    **dict.fromkeys(LIST_OPERATORS, _check_list),
    **dict.fromkeys(BOOLEAN_OPERATORS, _check_boolean),
    **dict.fromkeys(GEOMETRY_OPERATORS, _check_geometry),
    **dict.fromkeys(QUANTIFIERS, _check_nested),
    "_json": _check_nested,
}


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
    return (raw.strip() or None) if isinstance(raw, str) else None


def _sanitize_alias(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return _load_json(raw)
        except ValueError:
            return raw  # Directus only logs a warning; validate_alias rejects the string.
    return raw


def validate_alias(alias: Any) -> None:
    """Directus's ``validateAlias``: an object of string → string, no ``.`` on either side."""
    if not isinstance(alias, Mapping):
        raise InvalidQueryError('"alias" has to be an object')
    for key, value in alias.items():
        if not isinstance(value, str):
            raise InvalidQueryError(f'"alias" value has to be a string. "{_js_type(value)}" given')
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
            value = _load_json(raw)
        except ValueError:
            return None  # Directus logs a warning and ignores an unreadable deep.
    if not isinstance(value, Mapping):
        return None
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
    ("limit", "limit", _defined, lambda raw, _m: js_number(raw)),
    ("fields", "fields", _truthy, lambda raw, _m: _sanitize_fields(raw)),
    ("groupBy", "group_by", _truthy, lambda raw, _m: _sanitize_group_by(raw)),
    ("aggregate", "aggregate", _truthy, lambda raw, _m: _sanitize_aggregate(raw)),
    ("sort", "sort", _truthy, lambda raw, _m: _sanitize_sort(raw)),
    ("filter", "filter", _truthy, lambda raw, _m: _sanitize_filter(raw)),
    ("offset", "offset", _defined, lambda raw, _m: js_number(raw)),
    ("page", "page", _truthy, lambda raw, _m: js_number(raw)),
    ("meta", "meta", _truthy, lambda raw, _m: _sanitize_meta(raw)),
    ("search", "search", _truthy, lambda raw, _m: _sanitize_search(raw)),
    ("deep", "deep", _truthy, _sanitize_deep),
    ("alias", "alias", _truthy, lambda raw, _m: _sanitize_alias(raw)),
    ("backlink", "backlink", _always, lambda raw, _m: _sanitize_backlink(raw)),
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
    if _truthy(raw.get("version")):
        extra["version"] = raw["version"]
        extra["versionRaw"] = raw.get("versionRaw", False) in ("", "true", True)
    if _truthy(raw.get("export")):
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


def parse_query(raw: Mapping[str, Any] | None, *, max_limit: int | None = None) -> Query:
    """A ``Query`` from the JSON object form, accepting the URL-string form of every value.

    ``max_limit`` is ``QUERY_LIMIT_MAX`` (``None``: no maximum): ``limit=-1`` becomes it and larger
    limits are ``INVALID_QUERY``. Raises ``InvalidQueryError`` with Directus's reasons."""
    if raw is None:
        return Query()
    if not isinstance(raw, Mapping):
        raise InvalidQueryError('"query" must be of type object')
    values = _sanitize(raw, max_limit)
    extra = _extra(raw)
    _validate(values, extra, max_limit)
    return Query(**{key: value for key, value in values.items() if value is not None}, extra=extra)


# ------------------------------------------------------------------------------ URL query strings

_BRACKET = re.compile(r"\[[^\[\]]*\]")


class _Indexed(dict[int, Any]):
    """A ``qs`` array under construction: sparse indices, compacted into a list at the end."""


def split_key(key: str, depth: int = QS_DEPTH) -> list[str]:
    """``filter[a][_eq]`` → ``["filter", "[a]", "[_eq]"]``; past ``depth`` the rest stays one literal key."""
    matches = list(_BRACKET.finditer(key))
    if not matches:
        return [key]
    parent = key[: matches[0].start()]
    segments = [parent] if parent else []
    segments += [match.group(0) for match in matches[:depth]]
    if len(matches) > depth:
        segments.append("[" + key[matches[depth].start() :] + "]")
    return segments


def _wrap(segments: list[str], leaf: Any) -> Any:
    """Build the object one key describes, from the leaf outwards (qs ``parseObject``)."""
    node = leaf
    for segment in reversed(segments):
        if segment == "[]":
            node = node if isinstance(node, _Indexed) else _Indexed({0: node})
            continue
        inner = segment[1:-1] if segment.startswith("[") and segment.endswith("]") else segment
        if segment != inner and inner.isdigit() and str(int(inner)) == inner:
            node = _Indexed({int(inner): node})
        else:
            node = {inner: node}
    return node


def _merge(target: Any, source: Any) -> Any:
    """qs's ``utils.merge`` over plain dicts, sparse ``_Indexed`` arrays and strings."""
    if not isinstance(source, dict):
        return _merge_scalar(target, source)
    if not isinstance(target, dict):  # qs: [target].concat(source) — an array source is spread
        merged_list = _Indexed({0: target})
        for item in [source[i] for i in sorted(source)] if isinstance(source, _Indexed) else [source]:
            _append(merged_list, item)
        return merged_list
    if isinstance(target, _Indexed) and isinstance(source, _Indexed):
        return _merge_indexed(target, source)
    merged: dict[Any, Any] = {str(k): v for k, v in target.items()} if isinstance(target, _Indexed) else target
    for key, value in source.items():
        name = str(key) if isinstance(source, _Indexed) else key
        merged[name] = _merge(merged[name], value) if name in merged else value
    return merged


def _merge_scalar(target: Any, source: Any) -> Any:
    if isinstance(target, _Indexed):
        return _append(target, source)
    if isinstance(target, dict):
        target[source] = True  # qs: merging a plain value into an object sets it as a key
        return target
    return _Indexed({0: target, 1: source})


def _append(target: _Indexed, value: Any) -> _Indexed:
    target[max(target, default=-1) + 1] = value
    return target


def _merge_indexed(target: _Indexed, source: _Indexed) -> _Indexed:
    for index, value in sorted(source.items()):
        if index not in target:
            target[index] = value
        elif isinstance(target[index], dict) and isinstance(value, dict):
            target[index] = _merge(target[index], value)
        else:
            _append(target, value)
    return target


def _compact(node: Any) -> Any:
    if isinstance(node, _Indexed):
        return [_compact(node[index]) for index in sorted(node)]
    if isinstance(node, dict):
        return {key: _compact(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_compact(item) for item in node]
    return node


def parse_qs_items(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The nested object Express's ``qs`` (depth 10) builds from decoded query-string pairs.

    ``a=1&a=2`` → ``{"a": ["1", "2"]}``; ``a[]=1`` → ``{"a": ["1"]}``; ``a[b][c]=1`` → nested objects;
    ``a[0]=x&a[2]=y`` → ``["x", "y"]`` (indices compacted); ``a[0]=x&a[k]=y`` → ``{"0": "x", "k": "y"}``."""
    flat: dict[str, Any] = {}
    for key, value in items:
        if not key:
            continue
        flat[key] = _merge_scalar(flat[key], value) if key in flat else value
    result: dict[str, Any] = {}
    for key, value in flat.items():
        wrapped = _wrap(split_key(key), value)
        if isinstance(wrapped, _Indexed):  # a key like "[0]" at the top level: qs makes it "0"
            wrapped = {str(k): v for k, v in wrapped.items()}
        result = _merge(result, wrapped)
    compacted: dict[str, Any] = _compact(result)
    return compacted


def parse_query_params(items: Sequence[tuple[str, str]], *, max_limit: int | None = None) -> Query:
    """A ``Query`` from URL query-string pairs (``request.query_params.multi_items()``), bracket forms included."""
    return parse_query(parse_qs_items(items), max_limit=max_limit)
