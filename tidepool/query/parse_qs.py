"""Express's ``qs`` query-string parser (as Directus configures it, ``depth: 10``), in Python.

Directus reads bracket notation (``filter[status][_eq]=x``, ``fields[]=a``, ``deep[rel][_limit]=1``) through
``qs``, whose merge rules decide what repeated and mixed keys become (``a=1&a=2`` is an array, ``a[0]=x&a[k]=y``
an object). ``parse_qs_items`` rebuilds the same nested object from decoded pairs, so the query sanitizer
sees exactly what Directus's sees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

QS_DEPTH = 10  # Directus configures Express's ``qs`` with ``depth: 10``.
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
