"""JavaScript value semantics Directus's query sanitizer relies on, for a faithful Python port.

Directus tests parameters with JavaScript truthiness (``if (rawQuery.page)``), converts numbers with
``Number(...)`` (``"0x10"`` is 16, ``""`` is 0, ``"abc"`` is NaN) and names types with ``typeof`` in its
error texts; these helpers reproduce exactly that, so the same query string is accepted or refused with
the same words here as there.
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER


def truthy(value: Any) -> bool:
    """JavaScript truthiness: Directus tests most parameters with ``if (rawQuery[key])``.
    Empty arrays and objects are truthy there, ``""``, ``0`` and ``false`` are not."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def defined(value: Any) -> bool:
    """``!== undefined``; a JSON ``null`` counts as not given too (Directus ignores a null limit)."""
    return value is not None


def always(value: Any) -> bool:
    return True


# Unambiguous (each digit can belong to one place only), so a long non-number fails in linear time: the
# former ``\d+\.?\d*`` backtracked for a minute on ``limit=`` followed by 20,000 digits and a letter.
_JS_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
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


def js_type(value: Any) -> str:
    """JavaScript's ``typeof`` for a JSON value, for error texts."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def load_json(text: str) -> Any:
    """Directus's ``parseJSON``; raises ``ValueError`` on bad JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None


def js_number_text(value: float) -> str:
    """JavaScript's ``String(number)``: the shortest round-trip digits, positional from 1e-7 to 1e21,
    exponential (``1e+21``, ``1e-7``) outside, ``-0`` as ``0``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction.rstrip("0")).lstrip("0") or "0"
    # ``n``: the position of the decimal point relative to the digits (value = 0.digits * 10**n).
    point = len(whole) + int(exp_text or 0) - (len(whole + fraction.rstrip("0")) - len(digits))
    return sign + _js_layout(digits, point)


def _js_layout(digits: str, point: int) -> str:
    """ECMAScript Number::toString steps 6-10 for ``0.digits * 10**point``."""
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    exponent = point - 1
    shown = digits[0] + ("." + digits[1:] if count > 1 else "")
    return f"{shown}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


_BIG_INTEGER = re.compile(r"^-?[1-9]\d*$")


def parse_numeric_string(text: str) -> int | float | None:
    """Directus's ``parseNumericString``: the number ``text`` spells exactly as JavaScript would print it
    (``"5"``, ``"-2.5"``, ``"1e+21"``; not ``"05"``, ``"1.50"``, ``" 5"``, ``"0x10"``), integers beyond
    ``MAX_SAFE_INTEGER`` as exact ints (BigInt); ``None`` otherwise."""
    number = _js_number_from_string(text.strip())
    if not math.isfinite(number):
        return None
    if abs(number) > MAX_SAFE_INTEGER:
        return int(text) if _BIG_INTEGER.match(text) else None
    if js_number_text(number) != text:
        return None
    return int(number) if number.is_integer() else number
