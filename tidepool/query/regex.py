"""Directus ``_regex`` rules (JavaScript regular expressions) evaluated in linear time with RE2.

Python's ``re`` backtracks: an admin-set validation rule like ``^(a+)+$`` took seconds of the event loop
on a 26-character input, for every client of the process. RE2 (``google-re2``) matches in time linear in
the input and bounds the memory of a compiled pattern, so no rule and no input can stall the server.

Directus stores JavaScript patterns, bare (``^[a-z]+$``) or as a literal with flags (``/^[a-z]+$/i``).
RE2 reads almost the same syntax; ``translate`` rewrites the parts it spells differently:

- ``\\uXXXX`` and ``\\u{X…}`` → ``\\x{…}``; ``\\cX`` → the control character; ``\\0`` → ``\\x00``;
  ``\\/`` → ``/``;
- ``[^]`` (any character) → ``[\\s\\S]``; ``[]`` (nothing) → ``[^\\s\\S]``;
- named groups ``(?<name>…)`` → ``(?P<name>…)``;
- flags ``i``, ``m``, ``s`` become inline flags; ``g``, ``u``, ``y``, ``d`` change nothing for a test.

``$`` keeps JavaScript's meaning (end of input, or of a line with ``m``), which Python's ``re`` did not
(it also matched before a final newline). JavaScript features RE2 cannot run in linear time —
backreferences (``\\1``) and lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``) — are refused with
``INVALID_QUERY`` naming the pattern. Compiled patterns are kept in a small LRU.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

from tidepool.errors import InvalidQueryError

_FLAGS = {"i": "i", "m": "m", "s": "s"}
_IGNORED_FLAGS = frozenset("guyd")
_UNICODE = re.compile(r"\\u(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))")
# RE2's own limit on a compiled program (the default, stated: a bigger pattern is refused, not run).
_MAX_MEMORY = 8 << 20


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_MEMORY
    return options


_OPTIONS = _options()


def split_literal(pattern: str) -> tuple[str, str]:
    """``/body/flags`` → (body, flags); a bare pattern has no flags."""
    end = pattern.rfind("/")
    if pattern.startswith("/") and end > 0 and all(c in _FLAGS or c in _IGNORED_FLAGS for c in pattern[end + 1 :]):
        return pattern[1:end], pattern[end + 1 :]
    return pattern, ""


def _escape(body: str, index: int) -> tuple[str, int]:
    """The RE2 spelling of the escape at ``body[index]`` (a backslash) and the index after it."""
    unicode = _UNICODE.match(body, index)
    if unicode:
        return "\\x{" + (unicode.group(1) or unicode.group(2)) + "}", unicode.end()
    following = body[index + 1] if index + 1 < len(body) else ""
    if following == "c" and index + 2 < len(body) and body[index + 2].isalpha():
        return "\\x{%x}" % (ord(body[index + 2]) % 32), index + 3
    if following == "0" and not body[index + 2 : index + 3].isdigit():
        return "\\x00", index + 2
    if following == "/":
        return "/", index + 2
    return body[index : index + 2], index + 2


def translate(body: str) -> str:
    """A JavaScript pattern body in RE2 syntax (see the module docstring)."""
    out: list[str] = []
    index, in_class = 0, False
    while index < len(body):
        char = body[index]
        if char == "\\":
            text, index = _escape(body, index)
            out.append(text)
            continue
        if in_class:
            in_class = char != "]"
        elif body.startswith("[^]", index):
            out.append("[\\s\\S]")
            index += 3
            continue
        elif body.startswith("[]", index):
            out.append("[^\\s\\S]")
            index += 2
            continue
        elif char == "[":
            in_class = True
        elif body.startswith("(?<", index) and not body.startswith(("(?<=", "(?<!"), index):
            out.append("(?P<")
            index += 3
            continue
        out.append(char)
        index += 1
    return "".join(out)


@lru_cache(maxsize=256)
def compile_js(pattern: str) -> Any:
    """The compiled RE2 program of a Directus ``_regex`` value; ``INVALID_QUERY`` when RE2 cannot run it."""
    body, flags = split_literal(pattern)
    inline = "".join(sorted({_FLAGS[f] for f in flags if f in _FLAGS}))
    source = (f"(?{inline})" if inline else "") + translate(body)
    try:
        return re2.compile(source, _OPTIONS)
    except re2.error as exc:
        raise InvalidQueryError(
            f'Invalid regular expression "{body}" (backreferences and lookaround are not supported)'
        ) from exc


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` (a Directus ``_regex`` value) matches anywhere in ``text``, in linear time."""
    return compile_js(pattern).search(text) is not None
