"""Structural differences between two JSON values, in the change-record format Directus's schema diffs use.

A change is a JSON object with a ``kind``:

- ``N`` (new): ``rhs`` appeared at ``path``;
- ``D`` (deleted): ``lhs`` disappeared from ``path``;
- ``E`` (edited): the value at ``path`` went from ``lhs`` to ``rhs`` (also when its JSON type changed);
- ``A`` (array): the array at ``path`` changed at ``index``, as described by ``item`` (an ``N`` or ``D``
  without a path).

``path`` lists object keys and array indexes from the root and is left out for a change of the root itself
(``diff(MISSING, x)`` is one ``N`` without a path). The format is the one Directus reads and writes in
``POST /schema/diff`` and ``/schema/apply`` (the ``deep-diff`` package's); this module is Tidepool's own
implementation of it, pure and without I/O, so diffs and their application can be tested on values alone.
"""

from __future__ import annotations

import copy
from enum import Enum
from typing import Any

Change = dict[str, Any]


class _Missing(Enum):
    """The absence of a value (JavaScript's ``undefined``), distinct from JSON ``null``."""

    MISSING = "missing"


MISSING = _Missing.MISSING


def _json_kind(value: Any) -> str:
    """The JSON type of a value: ``true`` and ``1`` differ, ``1`` and ``1.0`` do not."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def diff(lhs: Any, rhs: Any) -> list[Change] | None:
    """The changes that turn ``lhs`` into ``rhs``; ``None`` when they are equal (as ``deep-diff`` answers)."""
    changes: list[Change] = []
    _walk(lhs, rhs, [], changes)
    return changes or None


def _change(kind: str, path: list[Any], **values: Any) -> Change:
    change: Change = {"kind": kind}
    if path:
        change["path"] = list(path)
    change.update(values)
    return change


def _walk(lhs: Any, rhs: Any, path: list[Any], out: list[Change]) -> None:
    if lhs is MISSING and rhs is MISSING:
        return
    if lhs is MISSING:
        out.append(_change("N", path, rhs=rhs))
    elif rhs is MISSING:
        out.append(_change("D", path, lhs=lhs))
    elif _json_kind(lhs) != _json_kind(rhs):
        out.append(_change("E", path, lhs=lhs, rhs=rhs))
    elif isinstance(lhs, dict):
        for key, value in lhs.items():
            _walk(value, rhs.get(key, MISSING), [*path, key], out)
        for key, value in rhs.items():
            if key not in lhs:
                _walk(MISSING, value, [*path, key], out)
    elif isinstance(lhs, list | tuple):
        _walk_array(list(lhs), list(rhs), path, out)
    elif lhs != rhs:
        out.append(_change("E", path, lhs=lhs, rhs=rhs))


def _walk_array(lhs: list[Any], rhs: list[Any], path: list[Any], out: list[Change]) -> None:
    """Element by element; extra elements on either side become ``A`` changes of that index."""
    for index in range(min(len(lhs), len(rhs))):
        _walk(lhs[index], rhs[index], [*path, index], out)
    for index in reversed(range(len(rhs), len(lhs))):  # from the end, so each index is still there
        out.append(_change("A", path, index=index, item={"kind": "D", "lhs": lhs[index]}))
    for index in range(len(lhs), len(rhs)):
        out.append(_change("A", path, index=index, item={"kind": "N", "rhs": rhs[index]}))


class ChangeError(ValueError):
    """A change that does not fit the value it is applied to (a path through a missing or scalar value)."""


def apply_changes(value: Any, changes: list[Change]) -> Any:
    """``value`` (not modified) with ``changes`` applied in order: ``apply_changes(a, diff(a, b)) == b``."""
    result = copy.deepcopy(value)
    for change in changes:
        result = _apply(result, change)
    return result


def _apply(target: Any, change: Change) -> Any:
    path = list(change.get("path") or [])
    if not path:
        return _apply_here(target, change)
    parent = target
    for key, following in zip(path[:-1], path[1:], strict=True):
        parent = _child(parent, key, following)
    last = path[-1]
    if change["kind"] == "A":
        _apply_array(_child(parent, last, 0), change)
    elif change["kind"] == "D":
        _remove(parent, last)
    else:
        _store(parent, last, copy.deepcopy(change.get("rhs")))
    return target


def _apply_here(target: Any, change: Change) -> Any:
    kind = change["kind"]
    if kind == "A":
        if not isinstance(target, list):
            raise ChangeError("an array change applied to a value that is not an array")
        _apply_array(target, change)
        return target
    if kind == "D":
        return MISSING
    return copy.deepcopy(change.get("rhs"))


def _child(parent: Any, key: Any, following: Any) -> Any:
    """The container at ``parent[key]``, created (an array for a numeric next key) when missing."""
    if isinstance(parent, dict) and isinstance(key, str):
        if not isinstance(parent.get(key), dict | list):
            parent[key] = [] if isinstance(following, int) else {}
        return parent[key]
    if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
        return parent[key]
    raise ChangeError(f"the path step {key!r} does not lead into an object or array")


def _store(parent: Any, key: Any, value: Any) -> None:
    if isinstance(parent, dict) and isinstance(key, str):
        parent[key] = value
    elif isinstance(parent, list) and isinstance(key, int) and 0 <= key <= len(parent):
        parent[key : key + 1] = [value]
    else:
        raise ChangeError(f"the value at {key!r} cannot be set")


def _remove(parent: Any, key: Any) -> None:
    if isinstance(parent, dict):
        parent.pop(key, None)
    elif isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
        del parent[key]
    else:
        raise ChangeError(f"the value at {key!r} cannot be removed")


def _apply_array(array: Any, change: Change) -> None:
    item, index = change.get("item") or {}, change.get("index")
    if not isinstance(array, list) or not isinstance(index, int) or not isinstance(item, dict):
        raise ChangeError("an array change needs an array, an index and an item")
    if item.get("kind") == "D":
        _remove(array, index)
    elif item.get("kind") == "A":
        _apply_array(array[index] if 0 <= index < len(array) else None, item)
    else:
        _store(array, index, copy.deepcopy(item.get("rhs")))
