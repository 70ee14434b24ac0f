"""Sanitizing and validating a query's ``filter``: Directus's ``parseFilter`` and ``validateFilter``.

``sanitize_filter`` decodes a JSON string and normalizes the shape (one key per object, bare values as
``_eq``, list arguments as lists, logical operators lifted above fields); ``validate_filter`` then checks each
operator's argument, with Directus's messages. Both are pure: field names are resolved later, against the
schema, by ``tidepool.query.filters``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidepool.errors import InvalidQueryError
from tidepool.query.complexity import check_nesting
from tidepool.query.js import MAX_SAFE_INTEGER, load_json
from tidepool.query.json_filter import LOGICAL as JSON_LOGICAL
from tidepool.query.json_filter import validate_json_filter
from tidepool.query.model import Filter

LIST_OPERATORS: frozenset[str] = frozenset(("_in", "_nin", "_between", "_nbetween"))
BOOLEAN_OPERATORS: frozenset[str] = frozenset(("_null", "_nnull", "_empty", "_nempty"))
GEOMETRY_OPERATORS: frozenset[str] = frozenset(("_intersects", "_nintersects", "_intersects_bbox", "_nintersects_bbox"))
LOGICAL_OPERATORS: frozenset[str] = frozenset(("_and", "_or"))
QUANTIFIERS: frozenset[str] = frozenset(("_some", "_none"))

_GEOMETRY_TYPES = frozenset(
    ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")
)


def _invalid_filter() -> InvalidQueryError:
    """The filter's shape cannot be read (Directus: "Invalid filter object"), wherever it is found: while the
    filter is normalized or validated. (An internal exception caught only around normalizing escaped
    ``validate_filter`` as a 500 for ``{"author": {"_some": null}}``.)"""
    return InvalidQueryError("Invalid filter object")


def sanitize_filter(raw: Any) -> Filter | None:
    """A ``filter`` parameter (object or JSON string) normalized, or ``INVALID_QUERY`` naming the problem."""
    value = raw
    if isinstance(raw, str):
        try:
            value = load_json(raw)
        except ValueError:
            raise InvalidQueryError("Invalid JSON for filter object") from None
    return normalize_filter(value)


def normalize_filter(value: Any) -> Filter | None:
    """Directus's ``parseFilter`` without the dynamic variables: every object gets one key (several keys
    become ``_and``), a bare value becomes ``_eq``, ``_in``-style arguments become lists (CSV strings are
    split, ``qs`` index objects turned into lists), geometry JSON strings are decoded, leaf strings
    ``"true"``/``"false"``/``"null"``/``"NULL"`` become ``true``/``false``/``null``, and a logical operator
    under a field is lifted above it (``{a: {_or: [x, y]}}`` → ``{_or: [{a: x}, {a: y}]}``)."""
    if not isinstance(value, Mapping):
        raise _invalid_filter()
    check_nesting(value, "filter")
    parsed = _coerce(_normalize(value))
    if not parsed:
        return None
    return dict(_shift_logical_up(parsed))


def _normalize(node: Any) -> Any:
    if node is None:
        return None
    if isinstance(node, list | tuple):
        raise _invalid_filter()  # Directus would read a list as an object keyed "0", "1"…
    if not isinstance(node, Mapping):
        return {"_eq": node}
    entries = [_normalize_entry(str(key), value) for key, value in node.items()]
    if len(entries) == 1:
        return entries[0]
    return {"_and": entries} if entries else {}


def _normalize_logical(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, list | tuple):
        raise _invalid_filter()
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
            value = load_json(value)
        except ValueError:
            raise _invalid_filter() from None
    return {key: value}


def _normalize_json(node: Any) -> Any:
    """The argument of ``_json`` keeps its shape: ``{path: {op: value}}`` plus ``_and``/``_or``."""
    if not isinstance(node, Mapping):
        raise _invalid_filter()
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in LOGICAL_OPERATORS:
            if not isinstance(value, list | tuple):
                raise _invalid_filter()
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
        raise _invalid_filter()  # e.g. {"status": null}: Directus fails on Object.keys(null)
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


def _check_json(value: Any, key: str) -> None:
    """Directus's ``validateJsonFilter``: the shape, the paths, then each path's operators."""
    validate_json_filter(value)
    for path, inner in value.items():
        if path in JSON_LOGICAL:
            for sub in inner:
                _check_json(sub, key)
        else:
            validate_filter(inner)


_OPERATOR_CHECKS: dict[str, Callable[[Any, str], None]] = {
    **dict.fromkeys(LIST_OPERATORS, _check_list),
    **dict.fromkeys(BOOLEAN_OPERATORS, _check_boolean),
    **dict.fromkeys(GEOMETRY_OPERATORS, _check_geometry),
    **dict.fromkeys(QUANTIFIERS, _check_nested),
    "_json": _check_json,
}
