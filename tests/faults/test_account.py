"""The harness's account on made-up frames: each kind of fault it must report is counted, and a clean
stream counts none. (The fault tests are only as good as this arithmetic.)"""

from __future__ import annotations

from typing import Any

from tests.faults.harness import Account, Subscriber, Write, account, reused_numbers


def subscriber(name: str, *bodies: dict[str, Any]) -> Subscriber:
    """A subscriber (never started) that received ``bodies``, with the model they build."""
    sub = Subscriber(name, ["ws://unused"])
    for body in bodies:
        sub._apply({"type": "subscription", "uid": "all", **body})
    return sub


def init(seq: int, *rows: tuple[int, str]) -> dict[str, Any]:
    return {"event": "init", "seq": seq, "data": [{"id": k, "text": t} for k, t in rows]}


def change(event: str, seq: int, key: int, text: str = "") -> dict[str, Any]:
    data: list[Any] = [str(key)] if event == "delete" else [{"id": key, "text": text}]
    return {"event": event, "seq": seq, "data": data}


WRITES = [
    Write("w", "create", 1, 0),
    Write("w", "update", 1, 1),
    Write("w", "create", 2, 0),
    Write("w", "delete", 2, 1),
]
DATABASE = {1: "w-2#1"}
CLEAN = [init(0), change("create", 1, 1, "w-1#0"), change("update", 2, 1, "w-2#1"), change("create", 3, 2, "w-3#0")]
CLEAN += [change("delete", 4, 2)]


def tally(*subs: Subscriber, database: dict[int, str] = DATABASE) -> list[Account]:
    reused = reused_numbers(list(subs))
    return [account(sub, WRITES, reused, database) for sub in subs]


def counts(a: Account) -> tuple[int, int, int, int, int, int, bool]:
    return a.events, a.missing, a.duplicates, a.out_of_order, a.reused, a.inits - 1, a.state_ok


def test_a_clean_stream_counts_nothing() -> None:
    [a] = tally(subscriber("a", *CLEAN))
    assert counts(a) == (4, 0, 0, 0, 0, 0, True) and a.clean


def test_a_resume_frame_is_no_event_and_no_reinit() -> None:
    resumed = [*CLEAN[:3], {"event": "resume", "seq": 2, "data": None}, *CLEAN[3:]]
    sub = subscriber("a", *resumed)
    [a] = tally(sub)
    assert counts(a) == (4, 0, 0, 0, 0, 0, True) and sub.last_seq == 4


def test_each_fault_is_counted() -> None:
    lost = subscriber("lost", *CLEAN[:2], CLEAN[4])  # never told of the update: holds the old text
    twice = subscriber("twice", *CLEAN[:3], CLEAN[2], *CLEAN[3:])
    swapped = subscriber("swapped", CLEAN[0], CLEAN[1], CLEAN[3], CLEAN[2], CLEAN[4])
    reinit = subscriber("reinit", *CLEAN[:2], init(1, (1, "w-2#1")), *CLEAN[3:])
    results = {a.name: counts(a) for a in tally(lost, twice, swapped, reinit)}
    assert results == {
        "lost": (2, 1, 0, 0, 0, 0, False),  # the update and the create of 2 (its delete tells it)
        "twice": (5, 0, 1, 0, 0, 0, True),
        "swapped": (4, 0, 0, 1, 0, 0, True),
        "reinit": (3, 1, 0, 0, 0, 1, True),  # the snapshot repaired the state, but the update was never told
    }


def test_a_number_given_to_two_changes_is_reused_not_duplicate() -> None:
    """Compared across subscribers: each frame whose number also named another change counts."""
    renumbered = subscriber("renumbered", *CLEAN[:4], change("delete", 2, 2))  # seq 2 named the update of 1
    other = subscriber("other", *CLEAN)
    first, second = tally(renumbered, other)
    assert counts(first) == (4, 0, 0, 0, 2, 0, True)
    assert counts(second) == (4, 0, 0, 0, 1, 0, True) and not second.clean


def test_a_later_version_tells_the_earlier_writes() -> None:
    """Data is re-read at dispatch, so one update frame may stand for several writes."""
    [a] = tally(subscriber("a", init(0), change("update", 2, 1, "w-2#1"), change("delete", 4, 2)))
    assert a.missing == 0 and a.events == 2


def test_a_folded_frame_is_no_reused_number() -> None:
    """A frame that folded two creates (both keys, the newer ``seq``) holds more keys than seq 3's frame
    elsewhere: no reused number (the arithmetic only; its other counts are not the point here)."""
    folded = {"event": "create", "seq": 3, "data": [{"id": 1, "text": "w-1#0"}, {"id": 2, "text": "w-3#0"}]}
    behind = subscriber("behind", init(0), folded, CLEAN[4])  # the create of 1 and of 2 folded
    other = subscriber("other", *CLEAN)
    results = {a.name: counts(a) for a in tally(behind, other)}
    assert results["behind"][4] == 0 and results["other"][4] == 0
