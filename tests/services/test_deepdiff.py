"""``tidepool.services.deepdiff``: the change records of Directus's schema diffs, on values alone.

The shapes are those Directus 12.4.1 sent in ``POST /schema/diff`` answers (a whole new entry is one ``N``
without a path; a changed value an ``E`` with its path; array growth an ``A`` with ``index`` and ``item``);
the property is the one ``/schema/apply`` relies on: applying ``diff(a, b)`` to ``a`` gives ``b``."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.examples import examples
from tidepool.services.deepdiff import MISSING, apply_changes, diff

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=4),
    max_leaves=12,
)


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values, as ``deep-diff`` compares them: ``false`` is not ``0`` at any depth (Python's
    ``==`` says ``[False] == [0]``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=examples(300), deadline=None)
@given(json_values, json_values)
def test_applying_the_diff_gives_the_target(before: Any, after: Any) -> None:
    changes = diff(before, after)
    assert (changes is None) == same_json(before, after)
    assert same_json(apply_changes(before, changes or []), after)


def test_a_boolean_inside_a_list_is_not_the_number() -> None:
    """The case the property found: nested ``False`` and ``0`` differ."""
    before = [[False, False, True, None], [False, False, True, None]]
    after = [[False, False, True, None], [False, 0, True, None]]
    assert diff(before, after) == [{"kind": "E", "path": [1, 1], "lhs": False, "rhs": 0}]
    assert same_json(apply_changes(before, diff(before, after) or []), after)


def test_change_records_have_directus_shapes() -> None:
    assert diff(MISSING, {"collection": "a"}) == [{"kind": "N", "rhs": {"collection": "a"}}]
    assert diff({"collection": "a"}, MISSING) == [{"kind": "D", "lhs": {"collection": "a"}}]
    assert diff({"meta": {"note": None}}, {"meta": {"note": "x"}}) == [
        {"kind": "E", "path": ["meta", "note"], "lhs": None, "rhs": "x"}
    ]
    assert diff({"s": ["a"]}, {"s": ["a", "b"]}) == [
        {"kind": "A", "path": ["s"], "index": 1, "item": {"kind": "N", "rhs": "b"}}
    ]
    assert diff({"v": 1}, {"v": True}) == [{"kind": "E", "path": ["v"], "lhs": 1, "rhs": True}]
    assert diff({"a": [1, 2, 3]}, {"a": [1]}) == [
        {"kind": "A", "path": ["a"], "index": 2, "item": {"kind": "D", "lhs": 3}},
        {"kind": "A", "path": ["a"], "index": 1, "item": {"kind": "D", "lhs": 2}},
    ]
