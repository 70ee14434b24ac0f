"""Settings, read from the environment and a ``.env`` file under Directus's variable names.

Every setting is one row of ``SETTINGS``: name, default, how to parse it and a line of help. The README's
configuration table and the test that checks it read the same rows, so a setting cannot exist undocumented.
A value that does not parse is a ``ConfigError`` naming the variable; the CLI prints it and exits 1.
``load_settings`` turns the rows into ``Settings``, a frozen dataclass with one typed attribute per row.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast, get_args

from dotenv import dotenv_values

from tidepool.errors import ConfigError

Parser = Callable[[str], Any]


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def parse_int(raw: str) -> int:
    return int(raw.strip())


def parse_positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def parse_optional_int(raw: str) -> int | None:
    return None if raw.strip() in ("", "-1", "Infinity") else int(raw.strip())


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600, None: 0.001}


def parse_duration(raw: str) -> float:
    """A Directus ``ms``-style duration (``15m``, ``7d``, ``900000``) in seconds; a bare number is ms."""
    match = _DURATION.match(raw)
    if not match:
        raise ValueError(f"expected a duration like 15m or 7d, got {raw!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_seconds(raw: str) -> float:
    """A plain number of seconds (Directus's WEBSOCKETS_* timings)."""
    value = float(raw.strip())
    if value < 0:
        raise ValueError("must not be negative")
    return value


def parse_optional_seconds(raw: str) -> float | None:
    """``parse_seconds``, or ``None`` when empty (the setting then falls back to another one)."""
    return None if raw == "" else parse_seconds(raw)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_size(raw: str) -> int:
    """A byte size like Directus's ``1mb`` (bytes when no unit)."""
    match = _SIZE.match(raw)
    if not match:
        raise ValueError(f"expected a size like 1mb or 512kb, got {raw!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


SameSite = Literal["lax", "strict", "none"]


def parse_same_site(raw: str) -> SameSite:
    """A cookie's SameSite, typed as Starlette's ``set_cookie`` takes it."""
    return cast(SameSite, parse_choice(*get_args(SameSite))(raw))


def parse_str(raw: str) -> str:
    return raw


def parse_optional_str(raw: str) -> str | None:
    return raw or None


def parse_optional_size(raw: str) -> int | None:
    """``parse_size``, or ``None`` (no limit) when empty."""
    return None if raw.strip() == "" else parse_size(raw)


def parse_csv(raw: str) -> tuple[str, ...]:
    """A comma-separated list (Directus's ``toArray``), blanks dropped."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class StorageLocation:
    """One of ``STORAGE_LOCATIONS`` with its ``STORAGE_<NAME>_*`` variables (lower-cased, prefix dropped:
    ``STORAGE_S3_BUCKET`` is ``options["bucket"]``), gathered by ``load_settings``."""

    name: str
    options: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold secrets


def parse_storage_locations(raw: str) -> tuple[StorageLocation, ...]:
    names = parse_csv(raw)
    if not names:
        raise ValueError("name at least one storage location")
    return tuple(StorageLocation(name) for name in names)


def _gather_storage(locations: tuple[StorageLocation, ...], source: Mapping[str, str]) -> tuple[StorageLocation, ...]:
    """Each location's ``STORAGE_<NAME>_*`` variables; the location ``local`` defaults to the local driver."""
    gathered = []
    for location in locations:
        prefix = f"STORAGE_{location.name.upper()}_"
        options = {k[len(prefix) :].lower(): v for k, v in source.items() if k.startswith(prefix)}
        if location.name == "local":
            options.setdefault("driver", "local")
        gathered.append(StorageLocation(location.name, options))
    return tuple(gathered)


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    parse: Parser
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("HOST", "0.0.0.0", parse_str, "Interface the server listens on."),
    Setting("PORT", "8055", parse_int, "Port the server listens on."),
    Setting("PUBLIC_URL", "/", parse_str, "Public URL of the server (used for the WebSocket Origin check)."),
    Setting(
        "SERVER_SHUTDOWN_TIMEOUT",
        "1000",
        parse_duration,
        "Most time (ms) a stopping server spends finishing writes and delivering their events before it closes "
        "what is left.",
    ),
    Setting(
        "WEB_CONCURRENCY",
        "1",
        parse_positive_int,
        "Server processes `tidepool start` runs on one port (`--workers` overrides it); they share events and "
        "caches through the database.",
    ),
    Setting(
        "WORKERS_REUSEPORT",
        "true",
        parse_bool,
        "With several workers on Linux, a listening socket per worker (SO_REUSEPORT: the kernel spreads new "
        "connections evenly); false: one socket shared by all, taken by whichever worker accepts first.",
    ),
    Setting("DB_CLIENT", "sqlite3", parse_choice("sqlite3", "pg", "postgres", "mysql"), "sqlite3, pg or mysql."),
    Setting("DB_FILENAME", "./data/tidepool.db", parse_str, "SQLite database file."),
    Setting("DB_CONNECTION_STRING", None, parse_optional_str, "Full database URL (overrides DB_HOST etc.)."),
    Setting("DB_HOST", "127.0.0.1", parse_str, "Database host (pg, mysql)."),
    Setting("DB_PORT", None, parse_optional_int, "Database port (default 5432 for pg, 3306 for mysql)."),
    Setting("DB_DATABASE", "tidepool", parse_str, "Database name (pg, mysql)."),
    Setting("DB_USER", None, parse_optional_str, "Database user (pg, mysql)."),
    Setting("DB_PASSWORD", None, parse_optional_str, "Database password (pg, mysql)."),
    Setting(
        "DB_POOL_SIZE",
        "10",
        parse_int,
        "Database connections of the server: up to twice this many, all kept (shared out among `--workers`).",
    ),
    Setting("DB_CONNECT_TIMEOUT", "5", parse_seconds, "Seconds to wait for a new database connection (pg, mysql)."),
    Setting(
        "DB_SQLITE_BUSY_TIMEOUT",
        "30",
        parse_seconds,
        "Seconds a SQLite write waits for another process's write lock before it is answered 503.",
    ),
    Setting("DB_HEALTHCHECK_THRESHOLD", "150", parse_int, "Database response time (ms) above which health warns."),
    Setting("KEY", None, parse_optional_str, "Unique identifier of this project."),
    Setting("SECRET", None, parse_optional_str, "Secret that signs access tokens (random per start if unset)."),
    Setting("ADMIN_EMAIL", None, parse_optional_str, "E-mail of the first admin, created at bootstrap."),
    Setting("ADMIN_PASSWORD", None, parse_optional_str, "Password of the first admin (generated if unset)."),
    Setting("ADMIN_TOKEN", None, parse_optional_str, "Static token given to the first admin at bootstrap."),
    Setting("QUERY_LIMIT_DEFAULT", "100", parse_int, "Default `limit` of item reads."),
    Setting("QUERY_LIMIT_MAX", None, parse_optional_int, "Largest `limit` allowed (unset: no maximum)."),
    Setting(
        "MAX_RELATIONAL_DEPTH",
        "10",
        parse_int,
        "Most segments of a path in fields, filter, sort and deep (at least 2).",
    ),
    Setting("MAX_PAYLOAD_SIZE", "1mb", parse_size, "Largest request body and WebSocket frame."),
    Setting("MAX_BATCH_MUTATION", None, parse_optional_int, "Most items one batch write may touch (unset: any)."),
    Setting(
        "CACHE_SYNC_INTERVAL",
        "250",
        parse_duration,
        "How often a server checks for schema and access changes made by other processes (ms; 0: never).",
    ),
    Setting(
        "MAX_QUERY_COMPLEXITY",
        "1000",
        parse_optional_int,
        "Most filter conditions, list values and fields one query may hold (wildcards as expanded), and keys "
        "one request may list (unset or -1: any).",
    ),
    Setting("PLAN_CACHE_MAX_SIZE", "32mb", parse_size, "Approximate memory kept for cached read plans (0: none)."),
    Setting("LOG_LEVEL", "info", parse_choice("fatal", "error", "warn", "info", "debug", "trace", "silent"), ""),
    Setting("LOG_STYLE", "pretty", parse_choice("pretty", "json"), "pretty or json log lines."),
    Setting("HASH_TIME_COST", "3", parse_positive_int, "argon2id passes per password hash."),
    Setting("HASH_MEMORY_COST", "65536", parse_positive_int, "argon2id memory per password hash, in KiB."),
    Setting("HASH_PARALLELISM", "4", parse_positive_int, "argon2id lanes per password hash."),
    Setting("ACCESS_TOKEN_TTL", "15m", parse_duration, "Lifetime of access tokens (JWT)."),
    Setting("REFRESH_TOKEN_TTL", "7d", parse_duration, "Lifetime of refresh tokens (sessions)."),
    Setting("SESSION_COOKIE_TTL", "1d", parse_duration, "Lifetime of session-mode tokens."),
    Setting("SESSION_COOKIE_NAME", "directus_session_token", parse_str, "Cookie of session-mode logins."),
    Setting("REFRESH_TOKEN_COOKIE_NAME", "directus_refresh_token", parse_str, "Cookie of cookie-mode logins."),
    Setting("REFRESH_TOKEN_COOKIE_SECURE", "false", parse_bool, "Mark auth cookies Secure."),
    Setting("REFRESH_TOKEN_COOKIE_SAME_SITE", "lax", parse_same_site, "SameSite of cookies."),
    Setting("RATE_LIMITER_ENABLED", "false", parse_bool, "Rate-limit requests and WebSocket messages."),
    Setting("RATE_LIMITER_POINTS", "50", parse_int, "Requests allowed per duration."),
    Setting("RATE_LIMITER_DURATION", "1", parse_seconds, "Rate-limit window in seconds."),
    Setting("RATE_LIMITER_WEBSOCKETS_POINTS", None, parse_optional_int, "WebSocket messages per duration."),
    Setting("RATE_LIMITER_WEBSOCKETS_DURATION", None, parse_optional_seconds, "WebSocket rate-limit window (s)."),
    Setting(
        "RATE_LIMITER_LOGIN_ENABLED",
        "true",
        parse_bool,
        "Rate-limit every login (REST, WebSocket auth, refresh) per IP and e-mail.",
    ),
    Setting("RATE_LIMITER_LOGIN_POINTS", "25", parse_int, "Login attempts allowed per duration."),
    Setting("RATE_LIMITER_LOGIN_DURATION", "60", parse_seconds, "Login rate-limit window in seconds."),
    Setting("CORS_ENABLED", "false", parse_bool, "Send CORS headers."),
    Setting(
        "CORS_ORIGIN",
        "false",
        parse_str,
        "Allowed origins: `true` (the request's origin), `false`, `*`, or a comma list of origins and `/regex/`.",
    ),
    Setting("CORS_METHODS", "GET,POST,PATCH,DELETE", parse_str, "Methods a preflight allows (comma list)."),
    Setting("CORS_ALLOWED_HEADERS", "Content-Type,Authorization", parse_str, "Request headers a preflight allows."),
    Setting("CORS_EXPOSED_HEADERS", "Content-Range", parse_str, "Response headers a browser may read."),
    Setting("CORS_CREDENTIALS", "true", parse_bool, "Allow cookies and credentials on cross-origin requests."),
    Setting("CORS_MAX_AGE", "18000", parse_int, "Seconds a browser may cache a preflight answer."),
    Setting("EMAIL_TRANSPORT", "", parse_choice("", "smtp"), "smtp, or empty: mails are logged as not sent."),
    Setting("EMAIL_FROM", "no-reply@example.com", parse_str, "Sender address of the mails Tidepool sends."),
    Setting("EMAIL_SMTP_HOST", "127.0.0.1", parse_str, "SMTP server host."),
    Setting("EMAIL_SMTP_PORT", None, parse_optional_int, "SMTP server port (default 465 when secure, else 587)."),
    Setting("EMAIL_SMTP_USER", None, parse_optional_str, "SMTP login user (no login when unset)."),
    Setting("EMAIL_SMTP_PASSWORD", None, parse_optional_str, "SMTP login password."),
    Setting("EMAIL_SMTP_SECURE", "false", parse_bool, "Connect with TLS from the start (SMTPS)."),
    Setting("EMAIL_SMTP_IGNORE_TLS", "false", parse_bool, "Never upgrade a plain connection with STARTTLS."),
    Setting("EMAIL_SMTP_TIMEOUT", "10", parse_seconds, "Seconds to wait for the SMTP server."),
    Setting("PASSWORD_RESET_URL_ALLOW_LIST", "", parse_str, "Comma list of URLs a password reset link may use."),
    Setting("USER_INVITE_URL_ALLOW_LIST", "", parse_str, "Comma list of URLs an invitation link may use."),
    Setting("USER_INVITE_TOKEN_TTL", "7d", parse_duration, "Lifetime of an invitation token."),
    Setting("PASSWORD_RESET_TOKEN_TTL", "1d", parse_duration, "Lifetime of a password reset token."),
    Setting("WEBSOCKETS_ENABLED", "true", parse_bool, "Serve the WebSocket API."),
    Setting("WEBSOCKETS_REST_ENABLED", "true", parse_bool, "Serve the REST-style WebSocket endpoint."),
    Setting("WEBSOCKETS_REST_PATH", "/websocket", parse_str, "Path of the WebSocket endpoint."),
    Setting("WEBSOCKETS_REST_AUTH", "handshake", parse_choice("public", "handshake", "strict"), "Auth mode."),
    Setting("WEBSOCKETS_REST_AUTH_TIMEOUT", "10", parse_seconds, "Seconds to wait for the auth message."),
    Setting("WEBSOCKETS_REST_CONN_LIMIT", None, parse_optional_int, "Most open WebSocket connections."),
    Setting("WEBSOCKETS_HEARTBEAT_ENABLED", "true", parse_bool, "Ping clients and close silent ones."),
    Setting("WEBSOCKETS_HEARTBEAT_PERIOD", "30", parse_seconds, "Seconds between pings (and reply timeout)."),
    Setting(
        "WEBSOCKETS_SEND_QUEUE_LIMIT",
        "1024",
        parse_int,
        "Entries (a reply, or one event's frames; queued events of the same kinds fold) queued per socket, once "
        "its connection's buffers are full, before it is dropped.",
    ),
    Setting("WEBSOCKETS_SEND_QUEUE_BYTES", "16mb", parse_size, "Bytes queued per socket before it is dropped."),
    Setting(
        "WEBSOCKETS_SEND_STALL_TIMEOUT",
        "10",
        parse_seconds,
        "Seconds a socket's crowded send queue may make no progress before the socket is dropped (1013).",
    ),
    Setting(
        "WEBSOCKETS_FRAME_GAP_MS",
        "2",
        parse_seconds,
        "Least time between two frames to one socket (the official SDK drops frames that share a network read).",
    ),
    Setting("WEBSOCKETS_SUBSCRIPTIONS_LIMIT", "100", parse_int, "Most subscriptions one socket may hold."),
    Setting("WEBSOCKETS_COMPRESSION", "false", parse_bool, "Offer permessage-deflate (costs CPU per send)."),
    Setting(
        "EVENT_LOG_RETENTION_COUNT",
        "100000",
        parse_int,
        "Newest events the event log keeps for resuming subscribers (0: no count bound).",
    ),
    Setting(
        "EVENT_LOG_RETENTION_AGE",
        "24h",
        parse_duration,
        "Oldest event the event log keeps for resuming subscribers (ms or 15m/24h/7d; 0: no age bound).",
    ),
    Setting(
        "EVENT_LOG_POLL_INTERVAL",
        "250",
        parse_duration,
        "How often a server reads the event log for other processes' events (ms); Redis makes it immediate.",
    ),
    Setting("EVENT_LOG_PRUNE_INTERVAL", "60s", parse_duration, "How often a server applies log retention."),
    Setting(
        "WEBSOCKETS_RESUME_LIMIT",
        "1000",
        parse_int,
        "Most logged events one `since` resume replays; a longer absence gets a fresh `init`.",
    ),
    Setting(
        "REDIS",
        None,
        parse_optional_str,
        "Redis URL: news of every process's events reaches the others at once (the event log stays the truth).",
    ),
    Setting("REDIS_ENABLED", "false", parse_bool, "Use Redis at REDIS_HOST/REDIS_PORT for the event bus."),
    Setting("REDIS_HOST", "127.0.0.1", parse_str, "Redis host when REDIS is unset."),
    Setting("REDIS_PORT", "6379", parse_int, "Redis port when REDIS is unset."),
    Setting("REDIS_BUS_NAMESPACE", "tidepool:bus", parse_str, "Prefix of the Redis channels."),
    Setting("EXAMPLES_ENABLED", "false", parse_bool, "Serve the example pages under /examples/."),
    Setting(
        "STORAGE_LOCATIONS",
        "local",
        parse_storage_locations,
        "Storage locations of files (the first takes uploads); each configured by STORAGE_<NAME>_* (docs/files.md).",
    ),
    Setting("FILES_MAX_UPLOAD_SIZE", None, parse_optional_size, "Largest file one upload or import may store."),
    Setting("FILES_MIME_TYPE_ALLOW_LIST", "*/*", parse_csv, "MIME types (glob patterns) files may have."),
    Setting(
        "IMPORT_IP_DENY_LIST",
        "0.0.0.0,169.254.169.254",
        parse_csv,
        "Addresses /files/import may not fetch from (0.0.0.0: every address of this machine).",
    ),
    Setting("ASSETS_CACHE_TTL", "30d", parse_duration, "Cache-Control max-age of /assets answers."),
    Setting("ASSETS_TRANSFORM_MAX_CONCURRENT", "25", parse_positive_int, "Image transformations run at once."),
    Setting("ASSETS_TRANSFORM_IMAGE_MAX_DIMENSION", "6000", parse_positive_int, "Largest image side transformed."),
    Setting("ASSETS_TRANSFORM_MAX_OPERATIONS", "5", parse_positive_int, "Most steps in a `transforms` parameter."),
    Setting("ASSETS_TRANSFORM_TIMEOUT", "7500ms", parse_duration, "Longest one image transformation may take."),
    Setting("STUDIO_ENABLED", "true", parse_bool, "Serve Tidepool Studio, the web admin, at /admin/."),
    Setting("METRICS_ENABLED", "false", parse_bool, "Serve Prometheus metrics at /metrics and /server/metrics."),
    Setting(
        "METRICS_TOKENS",
        "",
        parse_csv,
        "Tokens that may read the metrics with `Authorization: Metrics <token>` (admins always may).",
    ),
    Setting(
        "METRICS_SERVICES",
        "database,cache,redis,storage",
        parse_csv,
        "Services checked at each scrape: database and redis (cache and storage have nothing to check yet).",
    ),
    Setting("METRICS_NAME_PREFIX", "directus_", parse_str, "Prefix of every metric name."),
)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The parsed settings: one typed attribute per row of ``SETTINGS``, named as its variable; immutable.

    Code reads ``settings.DB_POOL_SIZE``, so a misspelt name fails mypy instead of returning ``None`` at run
    time, and the default lives in the table only. There is deliberately no ``settings["NAME"]``. The
    attributes follow the table in order and type (the parser's return type, ``| None`` when the default is
    unset); ``tests/test_config.py`` checks that they agree, so a new row needs its attribute here. Secrets
    (and URLs that may hold a password) stay out of the ``repr``.
    """

    HOST: str
    PORT: int
    PUBLIC_URL: str
    SERVER_SHUTDOWN_TIMEOUT: float
    WEB_CONCURRENCY: int
    WORKERS_REUSEPORT: bool
    DB_CLIENT: str
    DB_FILENAME: str
    DB_CONNECTION_STRING: str | None = field(repr=False)
    DB_HOST: str
    DB_PORT: int | None
    DB_DATABASE: str
    DB_USER: str | None
    DB_PASSWORD: str | None = field(repr=False)
    DB_POOL_SIZE: int
    DB_CONNECT_TIMEOUT: float
    DB_SQLITE_BUSY_TIMEOUT: float
    DB_HEALTHCHECK_THRESHOLD: int
    KEY: str | None
    SECRET: str = field(repr=False)  # filled in by load_settings when unset (FILLED_AT_LOAD)
    ADMIN_EMAIL: str | None
    ADMIN_PASSWORD: str | None = field(repr=False)
    ADMIN_TOKEN: str | None = field(repr=False)
    QUERY_LIMIT_DEFAULT: int
    QUERY_LIMIT_MAX: int | None
    MAX_RELATIONAL_DEPTH: int
    MAX_PAYLOAD_SIZE: int
    MAX_BATCH_MUTATION: int | None
    CACHE_SYNC_INTERVAL: float
    MAX_QUERY_COMPLEXITY: int | None
    PLAN_CACHE_MAX_SIZE: int
    LOG_LEVEL: str
    LOG_STYLE: str
    HASH_TIME_COST: int
    HASH_MEMORY_COST: int
    HASH_PARALLELISM: int
    ACCESS_TOKEN_TTL: float
    REFRESH_TOKEN_TTL: float
    SESSION_COOKIE_TTL: float
    SESSION_COOKIE_NAME: str
    REFRESH_TOKEN_COOKIE_NAME: str
    REFRESH_TOKEN_COOKIE_SECURE: bool
    REFRESH_TOKEN_COOKIE_SAME_SITE: SameSite
    RATE_LIMITER_ENABLED: bool
    RATE_LIMITER_POINTS: int
    RATE_LIMITER_DURATION: float
    RATE_LIMITER_WEBSOCKETS_POINTS: int | None
    RATE_LIMITER_WEBSOCKETS_DURATION: float | None
    RATE_LIMITER_LOGIN_ENABLED: bool
    RATE_LIMITER_LOGIN_POINTS: int
    RATE_LIMITER_LOGIN_DURATION: float
    CORS_ENABLED: bool
    CORS_ORIGIN: str
    CORS_METHODS: str
    CORS_ALLOWED_HEADERS: str
    CORS_EXPOSED_HEADERS: str
    CORS_CREDENTIALS: bool
    CORS_MAX_AGE: int
    EMAIL_TRANSPORT: str
    EMAIL_FROM: str
    EMAIL_SMTP_HOST: str
    EMAIL_SMTP_PORT: int | None
    EMAIL_SMTP_USER: str | None
    EMAIL_SMTP_PASSWORD: str | None = field(repr=False)
    EMAIL_SMTP_SECURE: bool
    EMAIL_SMTP_IGNORE_TLS: bool
    EMAIL_SMTP_TIMEOUT: float
    PASSWORD_RESET_URL_ALLOW_LIST: str
    USER_INVITE_URL_ALLOW_LIST: str
    USER_INVITE_TOKEN_TTL: float
    PASSWORD_RESET_TOKEN_TTL: float
    WEBSOCKETS_ENABLED: bool
    WEBSOCKETS_REST_ENABLED: bool
    WEBSOCKETS_REST_PATH: str
    WEBSOCKETS_REST_AUTH: str
    WEBSOCKETS_REST_AUTH_TIMEOUT: float
    WEBSOCKETS_REST_CONN_LIMIT: int | None
    WEBSOCKETS_HEARTBEAT_ENABLED: bool
    WEBSOCKETS_HEARTBEAT_PERIOD: float
    WEBSOCKETS_SEND_QUEUE_LIMIT: int
    WEBSOCKETS_SEND_QUEUE_BYTES: int
    WEBSOCKETS_SEND_STALL_TIMEOUT: float
    WEBSOCKETS_FRAME_GAP_MS: float
    WEBSOCKETS_SUBSCRIPTIONS_LIMIT: int
    WEBSOCKETS_COMPRESSION: bool
    EVENT_LOG_RETENTION_COUNT: int
    EVENT_LOG_RETENTION_AGE: float
    EVENT_LOG_POLL_INTERVAL: float
    EVENT_LOG_PRUNE_INTERVAL: float
    WEBSOCKETS_RESUME_LIMIT: int
    REDIS: str | None = field(repr=False)
    REDIS_ENABLED: bool
    REDIS_HOST: str
    REDIS_PORT: int
    REDIS_BUS_NAMESPACE: str
    EXAMPLES_ENABLED: bool
    STORAGE_LOCATIONS: tuple[StorageLocation, ...] = field(repr=False)  # options may hold secrets
    FILES_MAX_UPLOAD_SIZE: int | None
    FILES_MIME_TYPE_ALLOW_LIST: tuple[str, ...]
    IMPORT_IP_DENY_LIST: tuple[str, ...]
    ASSETS_CACHE_TTL: float
    ASSETS_TRANSFORM_MAX_CONCURRENT: int
    ASSETS_TRANSFORM_IMAGE_MAX_DIMENSION: int
    ASSETS_TRANSFORM_MAX_OPERATIONS: int
    ASSETS_TRANSFORM_TIMEOUT: float
    STUDIO_ENABLED: bool
    METRICS_ENABLED: bool
    METRICS_TOKENS: tuple[str, ...] = field(repr=False)
    METRICS_SERVICES: tuple[str, ...]
    METRICS_NAME_PREFIX: str

    @property
    def db_client(self) -> str:
        """``DB_CLIENT`` with Directus's alias ``postgres`` read as ``pg``."""
        return "pg" if self.DB_CLIENT == "postgres" else self.DB_CLIENT

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some values replaced (already parsed); an unknown name is a ``TypeError``. Used by tests."""
        return replace(self, **overrides)


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read the settings: ``environ`` (default ``os.environ``) wins over the ``.env`` file."""
    source: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        source.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    source.update(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = source.get(setting.name, setting.default)
        values[setting.name] = None if raw is None else _parse(setting, raw)
    for name, make in FILLED_AT_LOAD.items():
        if values[name] is None:
            values[name] = make()
    for name, gather in GATHERED_AT_LOAD.items():
        values[name] = gather(values[name], source)
    return Settings(**values)


def _random_secret() -> str:
    return secrets.token_urlsafe(48)


# Settings left unset that ``load_settings`` fills in, so their attribute is never ``None``.
FILLED_AT_LOAD: Mapping[str, Callable[[], Any]] = {"SECRET": _random_secret}

# Settings completed by ``load_settings`` from other variables of the source: a family of names, such as each
# storage location's ``STORAGE_<NAME>_*``, that cannot be rows of their own.
GATHERED_AT_LOAD: Mapping[str, Callable[[Any, Mapping[str, str]], Any]] = {"STORAGE_LOCATIONS": _gather_storage}


def _parse(setting: Setting, raw: str) -> Any:
    try:
        return setting.parse(raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(setting.name, str(exc)) from None
