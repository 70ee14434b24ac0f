"""An ``items`` frame's check (``realtime/protocol.py``'s ``union``): it stops at the first alternative that
passes, yet a frame that passes none still gets zod's sentence naming every alternative's issues, in order."""

from __future__ import annotations

from typing import Any

import pytest

from tidepool.errors import InvalidMessageError
from tidepool.realtime.protocol import ITEMS, STRING_OR_NUMBER, validate


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "items", "collection": "c", "action": "create", "data": {"a": 1}, "uid": 7},
        {"type": "items", "collection": "c", "action": "read", "ids": [1, "b"]},
        {"type": "items", "collection": "c", "action": "update", "id": 3, "data": {}},
        {"type": "items", "collection": "c", "action": "delete", "ids": ["x"], "uid": "u"},
    ],
)
def test_each_action_passes(frame: dict[str, Any]) -> None:
    validate(ITEMS, frame)


def test_a_frame_that_passes_none_names_every_alternative() -> None:
    with pytest.raises(InvalidMessageError) as raised:
        validate(ITEMS, {"type": "items", "collection": 5, "action": "nope", "uid": True})
    uid = (
        'Invalid input: expected string, received boolean at "uid" or '
        'Invalid input: expected number, received boolean at "uid"'
    )
    collection = 'Invalid input: expected string, received number at "collection"'
    each = [
        f'{uid}; {collection}; Invalid input: expected "{action}" at "action"'
        for action in ("create", "read", "update", "delete")
    ]
    assert raised.value.message == "Validation error: " + " or ".join(each)


def test_a_later_alternative_passing_is_enough() -> None:
    assert STRING_OR_NUMBER(2.5, "uid") == []
    assert STRING_OR_NUMBER(None, "uid") == [
        'Invalid input: expected string, received null at "uid" or '
        'Invalid input: expected number, received null at "uid"'
    ]
