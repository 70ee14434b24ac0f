"""Coalescing: the queued events of one subscription folded into one message, so a batch write keeps up.

A batch write of N items is N events (one per item, each with its own ``seq``, as Directus emits one action
per item), and a socket takes one frame per ``WEBSOCKETS_FRAME_GAP_MS`` (the official SDK loses frames that
share a network read; see ``tidepool.realtime.connection``). Written one frame per event, a 5,000-item create
outruns even a client that reads at full speed. So while a socket's events wait in its queue, an event whose
frames match the queue's last entry frame for frame (same subscription ``uid``, same event kind) is folded
into that entry: each frame's ``data`` array gets the newer items after the older ones and the newer ``seq``,
which a ``since`` resume takes as exactly as before (the subscription has everything up to it). A frame with
several items in ``data`` is what Directus itself sends for a multi-key update or delete.

Only array frames (collection subscriptions) fold; an item subscription's object ``data``, an ``init``, a
replay, a reply, an error and a close never do, and nothing folds across them, so the order of what one socket
receives is kept. A folded frame stops growing at ``FOLD_ITEMS`` items or ``fold_bytes`` (at most
``FOLD_BYTES``): the next event starts a new entry. The data is held as one byte string per frame (no object
per item), so the queue's byte count is what it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

FOLD_ITEMS = 1000  # most items in one folded frame's ``data``
# Most bytes in one folded frame: well under the 1 MiB a ``websockets`` client accepts by default.
FOLD_BYTES = 256 * 1024

# A subscription message's fixed parts, in order around its event name, data, meta, uid and seq: the one layout
# both this module and ``subscriptions.Outgoing`` build messages with.
OPEN = b'{"type":"subscription","event":"'
DATA = b'","data":'
SEQ = b',"seq":'
_FIXED = len(OPEN) + len(DATA) + 2 + len(SEQ) + 1  # the keys, the data's brackets and the closing brace


class EventFrame:
    """One subscription event message held in parts while it is queued: ``encode`` gives the exact bytes
    ``{"type":"subscription","event":...,"data":[...]<meta><uid>,"seq":...}`` the fan-out sends."""

    __slots__ = ("event", "data", "count", "meta", "uid", "seq", "size")

    def __init__(self, event: bytes, data: bytes, count: int, meta: bytes, uid: bytes, seq: int) -> None:
        self.event = event  # the event name (create/update/delete)
        self.data: bytes | bytearray = data  # the encoded items, comma-separated, without brackets
        self.count = count  # how many items ``data`` holds
        self.meta = meta  # ``,"meta":{...}`` or nothing
        self.uid = uid  # ``,"uid":"..."`` or nothing
        self.seq = seq
        self.size = _FIXED + len(event) + len(data) + len(meta) + len(uid) + len(str(seq))

    def __len__(self) -> int:
        return self.size

    def encode(self) -> bytes:
        seq = str(self.seq).encode()
        return b"".join((OPEN, self.event, DATA, b"[", self.data, b"]", self.meta, self.uid, SEQ, seq, b"}"))

    def takes(self, newer: EventFrame, most_bytes: int) -> bool:
        """Whether ``newer`` (the next event's frame) may fold into this one: same subscription and event
        kind, and the result within the bounds."""
        return (
            newer.event == self.event
            and newer.uid == self.uid
            and self.count + newer.count <= FOLD_ITEMS
            and self.size + len(newer.data) + len(newer.meta) + 1 <= most_bytes
        )

    def absorb(self, newer: EventFrame) -> None:
        """Fold ``newer`` in: its items after ours, its ``meta`` (the later count) and its ``seq``."""
        if not isinstance(self.data, bytearray):
            self.data = bytearray(self.data)  # grows in place from now on: no copy per fold
        if self.count and newer.count:
            self.data += b","
        self.data += newer.data
        self.count += newer.count
        self.meta = newer.meta
        self.seq = max(self.seq, newer.seq)
        self.size = _FIXED + len(self.event) + len(self.data) + len(self.meta) + len(self.uid) + len(str(self.seq))


Frame = bytes | EventFrame  # what one queue entry of events holds: encoded frames, or frames that may fold


def fold(older: Sequence[Frame], newer: Sequence[Frame], most_bytes: int) -> bool:
    """Fold the entry ``newer`` (one event's frames to one socket) into ``older`` (the entry queued before it)
    when they match frame for frame (see the module docstring); whether it did."""
    pairs = [
        (old, new)
        for old, new in zip(older, newer, strict=False)
        if isinstance(old, EventFrame) and isinstance(new, EventFrame) and old.takes(new, most_bytes)
    ]
    if len(pairs) != len(newer) or len(older) != len(newer):
        return False
    for old, new in pairs:
        old.absorb(new)
    return True
