"""Password and token hashing: argon2 for passwords, SHA-256 for high-entropy tokens.

Static tokens and refresh tokens are random strings chosen by the server or the admin; storing their SHA-256
lets a request be looked up by an indexed equality while a database dump hands out nothing usable.
Passwords are low-entropy and get argon2id: argon2-cffi's defaults unless ``HASH_TIME_COST``,
``HASH_MEMORY_COST`` and ``HASH_PARALLELISM`` (Directus's names) say otherwise. A hash records its own
parameters, so changing them never locks anyone out: old hashes still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tidepool.config import Settings
from tidepool.errors import ConfigError

_hasher = PasswordHasher()

# Verifying against this keeps the time of "no such user" equal to "wrong password". Made at the configured
# cost by ``configure_hashing`` (at start-up), not at import: a CLI process would otherwise hash twice.
_dummy_hash: str | None = None


def configure_hashing(settings: Settings) -> None:
    """Hash new passwords with the settings' argon2 cost (one per process: every hash goes through here).

    Called wherever settings become a runtime (``open_runtime``, bootstrap); the dummy hash is redone with
    the same cost so that "no such user" still takes as long as "wrong password"."""
    global _hasher, _dummy_hash
    time_cost, memory_cost = settings.HASH_TIME_COST, settings.HASH_MEMORY_COST
    parallelism = settings.HASH_PARALLELISM
    if memory_cost < 8 * parallelism:
        raise ConfigError(
            "HASH_MEMORY_COST", f"must be at least 8 KiB per lane (8 * HASH_PARALLELISM = {8 * parallelism})"
        )
    if (time_cost, memory_cost, parallelism) != (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism):
        _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        _dummy_hash = None
    _dummy()  # made now, so that the first "no such user" is not slower than the rest


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hash


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def new_password() -> str:
    return secrets.token_urlsafe(12)
