"""How many examples each property test tries: all of them in ``make test-long``, a quarter in ``make test``.

``HYPOTHESIS_PROFILE`` picks the profile: ``quick`` (the default, what ``make test`` runs) tries a quarter of
each test's full count, at least two, so every property is still exercised on every run; ``long`` (``make
test-long``, which CI runs as well) tries the full count. A test states its full count as
``@settings(max_examples=examples(N))``; a test without a count gets the profile's (a quarter of Hypothesis's
100, or all of it).
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILES = ("quick", "long")
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "quick")
if PROFILE not in PROFILES:
    raise RuntimeError(f"HYPOTHESIS_PROFILE must be one of {', '.join(PROFILES)}, not {PROFILE!r}")

QUICK_SHARE = 4
QUICK_LEAST = 2


def examples(full: int) -> int:
    """The example count for a test whose full count is ``full``, under the chosen profile."""
    return full if PROFILE == "long" else max(QUICK_LEAST, full // QUICK_SHARE)


settings.register_profile("long", max_examples=100)
settings.register_profile("quick", max_examples=examples(100))
settings.load_profile(PROFILE)
