"""One error tree for the whole server.

Every error a client can see is a ``TidepoolError`` carrying Directus's ``code``, HTTP ``status`` and exact
message text, so the REST envelope (``{"errors":[{"message", "extensions":{"code"}}]}``) and the WebSocket
envelope (``{"type", "status":"error", "error":{"code","message"}}``) are both built from the same object.
Anything that is not a ``TidepoolError`` is a bug: transports log it and answer ``INTERNAL_SERVER_ERROR``
without leaking the text.

    TidepoolError                      500 INTERNAL_SERVER_ERROR
    ├── InvalidPayloadError            400 INVALID_PAYLOAD
    ├── InvalidQueryError              400 INVALID_QUERY
    ├── InvalidCollectionError         400 INVALID_COLLECTION
    ├── InvalidPathParameterError      400 INVALID_PATH_PARAMETER
    ├── FailedValidationError          400 FAILED_VALIDATION (one per failing rule; ``group`` sends several)
    ├── ContainsNullValuesError        400 CONTAINS_NULL_VALUES
    ├── DatabaseConstraintError        400 (base of the constraint errors below)
    │   ├── RecordNotUniqueError           RECORD_NOT_UNIQUE
    │   ├── NotNullViolationError          NOT_NULL_VIOLATION
    │   ├── InvalidForeignKeyError         INVALID_FOREIGN_KEY
    │   ├── ValueTooLongError              VALUE_TOO_LONG
    │   └── ValueOutOfRangeError           VALUE_OUT_OF_RANGE
    ├── InvalidCredentialsError        401 INVALID_CREDENTIALS
    ├── TokenExpiredError              401 TOKEN_EXPIRED
    ├── UserSuspendedError             401 USER_SUSPENDED
    ├── InvalidTokenError              403 INVALID_TOKEN
    ├── InvalidInviteError             400 INVALID_INVITE
    ├── ForbiddenError                 403 FORBIDDEN
    ├── RouteNotFoundError             404 ROUTE_NOT_FOUND
    ├── ContentTooLargeError           413 CONTENT_TOO_LARGE
    ├── RangeNotSatisfiableError       416 RANGE_NOT_SATISFIABLE (an asset's ``Range``)
    ├── IllegalAssetTransformationError 400 ILLEGAL_ASSET_TRANSFORMATION
    ├── UnsupportedMediaTypeError      415 UNSUPPORTED_MEDIA_TYPE
    ├── UnprocessableContentError      422 UNPROCESSABLE_CONTENT
    ├── VersionHashMismatchError       422 VERSION_HASH_MISMATCH (a content version's main item moved on)
    ├── RequestsExceededError          429 REQUESTS_EXCEEDED
    ├── LimitExceededError             403 LIMIT_EXCEEDED
    ├── ServiceUnavailableError        503 SERVICE_UNAVAILABLE
    ├── InvalidProviderConfigError     503 INVALID_PROVIDER_CONFIG (a deployment provider Tidepool cannot reach)
    ├── VerbatimPayloadError, ParseError   INVALID_PAYLOAD on the WebSocket (texts sent as Directus words them)
    ├── InvalidMessageError                INVALID_PAYLOAD: a WebSocket message that fails its schema (zod's text)
    ├── AuthFailedError                    AUTH_FAILED (WebSocket)
    │   ├── HandshakeFailedError
    │   └── CredentialRejectedError        why a socket's credential was refused (sent as AUTH_FAILED)
    ├── AuthTimeoutError                   AUTH_TIMEOUT (WebSocket)
    ├── ConfigError                    (startup only: a bad environment variable)
    └── CliError                       (the ``tidepool`` command only: a management command that cannot run)

Errors of other libraries (drivers, Redis, orjson, PyJWT) become these at the seams where those libraries are
called, through one table: ``tidepool.seams``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class TidepoolError(Exception):
    """Base of every error a client may see; ``message`` is the exact text sent."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "An unexpected error occurred."

    def __init__(self, message: str | None = None, **extensions: Any) -> None:
        self.message = message if message is not None else self.default_message
        self.extensions = extensions
        super().__init__(self.message)

    def to_rest(self) -> dict[str, Any]:
        """One entry of the REST ``errors`` array; ``code`` last, as Directus spreads its extensions first."""
        return {"message": self.message, "extensions": {**self.extensions, "code": self.code}}

    def entries(self) -> tuple[TidepoolError, ...]:
        """The errors this one stands for in a REST ``errors`` array (several for a payload that breaks
        several rules); the WebSocket frame carries the first, as it has room for one."""
        return (self,)

    def to_ws(self) -> dict[str, str]:
        """The ``error`` object of a WebSocket error reply: code and message only, as Directus sends."""
        return {"code": self.code, "message": self.message}


class InvalidPayloadError(TidepoolError):
    """``Invalid payload. <reason>.``; Directus 12 also sends the ``reason`` in ``extensions``."""

    code = "INVALID_PAYLOAD"
    status = 400

    def __init__(self, reason: str, **extensions: Any) -> None:
        super().__init__(f"Invalid payload. {_sentence(reason)}", reason=reason, **extensions)


class InvalidQueryError(TidepoolError):
    """``Invalid query. <reason>.``; Directus 12 also sends the ``reason`` in ``extensions``."""

    code = "INVALID_QUERY"
    status = 400

    def __init__(self, reason: str, **extensions: Any) -> None:
        super().__init__(f"Invalid query. {_sentence(reason)}", reason=reason, **extensions)


class InvalidCollectionError(TidepoolError):
    code = "INVALID_COLLECTION"
    status = 400
    default_message = "Cannot trigger an action on a system collection."


class InvalidPathParameterError(TidepoolError):
    """``Invalid path parameter. <reason>.`` (a value in the path that the route does not take)."""

    code = "INVALID_PATH_PARAMETER"
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid path parameter. {_sentence(reason)}", reason=reason)


class FailedValidationError(TidepoolError):
    """One broken rule: ``Validation failed for field "x". <rule sentence>`` with Directus's extensions
    ``field``, ``path`` (inside nested payloads), ``type`` (``required``, ``nnull``, ``eq``, ``in`` ...) and the
    rule's argument as ``valid``/``invalid``/``substring``."""

    code = "FAILED_VALIDATION"
    status = 400

    def __init__(self, field: str, rule: str = "", *, path: tuple[str, ...] = (), **extensions: Any) -> None:
        at = f' at "{".".join(path)}"' if path else ""
        super().__init__(
            f'Validation failed for field "{field}"{at}. {rule}'.rstrip(), field=field, path=list(path), **extensions
        )
        self.group: tuple[FailedValidationError, ...] = (self,)

    @classmethod
    def all(cls, errors: list[FailedValidationError]) -> FailedValidationError:
        """The first error, standing for all of them (Directus answers one entry per broken rule)."""
        first = errors[0]
        first.group = tuple(errors)
        return first

    def entries(self) -> tuple[TidepoolError, ...]:
        return self.group


class ContainsNullValuesError(TidepoolError):
    """A column made NOT NULL (or added NOT NULL without a default) over rows that hold no value for it."""

    code = "CONTAINS_NULL_VALUES"
    status = 400

    def __init__(self, collection: str, field: str) -> None:
        super().__init__(
            f'Field "{field}" in collection "{collection}" contains null values.', collection=collection, field=field
        )


class DatabaseConstraintError(TidepoolError):
    """A write the database refused; subclasses name the value, field and collection like Directus.

    ``value`` is the written value when the caller knows it (Directus: ``Value "A" for field ...``); as in
    Directus, an empty or zero value is left out of the sentence but kept in ``extensions``.
    """

    status = 400
    template: ClassVar[str] = 'Value{value} for field "{field}" in collection "{collection}" is invalid.'

    def __init__(self, collection: str | None, field: str | None, **extensions: Any) -> None:
        value = extensions.get("value")
        super().__init__(
            self.template.format(collection=collection, field=field, value=f' "{js_text(value)}"' if value else ""),
            collection=collection,
            field=field,
            **extensions,
        )


class RecordNotUniqueError(DatabaseConstraintError):
    code = "RECORD_NOT_UNIQUE"
    template = 'Value{value} for field "{field}" in collection "{collection}" has to be unique.'


class NotNullViolationError(DatabaseConstraintError):
    code = "NOT_NULL_VIOLATION"
    template = 'Value{value} for field "{field}" in collection "{collection}" can\'t be null.'


class InvalidForeignKeyError(DatabaseConstraintError):
    code = "INVALID_FOREIGN_KEY"
    template = 'Invalid foreign key{value} for field "{field}" in collection "{collection}".'


class ValueTooLongError(DatabaseConstraintError):
    code = "VALUE_TOO_LONG"
    template = 'Value{value} for field "{field}" in collection "{collection}" is too long.'


class ValueOutOfRangeError(DatabaseConstraintError):
    code = "VALUE_OUT_OF_RANGE"
    template = 'Numeric value{value} for field "{field}" in collection "{collection}" is out of range.'


class InvalidCredentialsError(TidepoolError):
    code = "INVALID_CREDENTIALS"
    status = 401
    default_message = "Invalid user credentials."


class TokenExpiredError(TidepoolError):
    code = "TOKEN_EXPIRED"
    status = 401
    default_message = "Token expired."


class UserSuspendedError(TidepoolError):
    code = "USER_SUSPENDED"
    status = 401
    default_message = "User suspended."


class InvalidTokenError(TidepoolError):
    code = "INVALID_TOKEN"
    status = 403
    default_message = "Invalid token."


class InvalidInviteError(TidepoolError):
    """An invitation accepted for a user who is no longer ``invited`` (already accepted, or changed)."""

    code = "INVALID_INVITE"
    status = 400
    default_message = "This invite is no longer valid."


class ForbiddenError(TidepoolError):
    code = "FORBIDDEN"
    status = 403
    default_message = "You don't have permission to access this."

    # What is missing, for the admin's eyes only (a rule being saved names it); never sent to a client.
    missing: str | None = None

    @classmethod
    def collection(cls, collection: str, path: str = "root") -> ForbiddenError:
        """The one message for "missing" and "not allowed", so existence never leaks (Directus 12 repeats
        it as ``extensions.reason``)."""
        return cls._with_reason(
            f'You don\'t have permission to access collection "{collection}" or it does not exist. Queried in {path}.',
            f'collection "{collection}" does not exist',
        )

    @classmethod
    def field(cls, field: str, collection: str, path: str = "root") -> ForbiddenError:
        return cls._with_reason(
            f'You don\'t have permission to access field "{field}" in collection "{collection}" '
            f"or it does not exist. Queried in {path}.",
            f'field "{field}" does not exist in collection "{collection}"',
        )

    @classmethod
    def action(cls, action: str, collection: str) -> ForbiddenError:
        """No permission for ``action`` on a whole collection (``/utils/sort``, ``/fields``), or on the item a
        comment or content version is about, in Directus's words."""
        return cls._with_reason(
            f'You don\'t have permission to perform "{action}" for collection "{collection}" or it does not exist.',
            f'collection "{collection}" does not exist',
        )

    @classmethod
    def _with_reason(cls, reason: str, missing: str) -> ForbiddenError:
        error = cls(reason, reason=reason)
        error.missing = missing
        return error


class RouteNotFoundError(TidepoolError):
    """``Route <path> doesn't exist.``; Directus 12 also sends the ``path`` in ``extensions``."""

    code = "ROUTE_NOT_FOUND"
    status = 404

    def __init__(self, path: str) -> None:
        super().__init__(f"Route {path} doesn't exist.", path=path)


class ContentTooLargeError(TidepoolError):
    code = "CONTENT_TOO_LARGE"
    status = 413
    default_message = "Uploaded content is too large."


class RangeNotSatisfiableError(TidepoolError):
    """A ``Range`` header an asset cannot answer; Directus words it with the range as given."""

    code = "RANGE_NOT_SATISFIABLE"
    status = 416

    def __init__(self, start: int | None, end: int | None) -> None:
        shown = f"{'' if start is None else start}-{'' if end is None else end}"
        given = {k: v for k, v in (("start", start), ("end", end)) if v is not None}  # JSON drops undefined
        super().__init__(
            f"Range \"{shown}\" is invalid or the file's size doesn't match the requested range.", range=given
        )


class IllegalAssetTransformationError(TidepoolError):
    code = "ILLEGAL_ASSET_TRANSFORMATION"
    status = 400

    def __init__(self, invalid: tuple[str, ...] = ("width", "height")) -> None:
        super().__init__("Illegal asset transformation.", invalidTransformations=list(invalid))


class UnsupportedMediaTypeError(TidepoolError):
    """A body of a media type the endpoint does not read (``/schema/diff`` takes JSON or a file)."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415

    def __init__(self, media_type: str, where: str) -> None:
        super().__init__(f'Unsupported media type "{media_type}" in {where}.', mediaType=media_type, where=where)


class UnprocessableContentError(TidepoolError):
    """``Can't process content. <reason>.``: a well-formed request the data refuses (content versions)."""

    code = "UNPROCESSABLE_CONTENT"
    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(f"Can't process content. {_sentence(reason)}", reason=reason)


class VersionHashMismatchError(TidepoolError):
    """Promoting a content version whose main item changed since the caller compared it."""

    code = "VERSION_HASH_MISMATCH"
    status = 422
    default_message = "Main item has changed since this version was last updated."

    def __init__(self, main_hash: str) -> None:
        super().__init__(mainHash=main_hash)


class RequestsExceededError(TidepoolError):
    code = "REQUESTS_EXCEEDED"
    status = 429

    def __init__(self, retry_after_ms: int, what: str = "requests") -> None:
        super().__init__(f"Too many {what}, retry after {retry_after_ms}ms.", limit=None, reset=retry_after_ms)


class LimitExceededError(TidepoolError):
    """A configured per-client limit (``category``: e.g. "Subscriptions"), worded as Directus's error."""

    code = "LIMIT_EXCEEDED"
    status = 403

    def __init__(self, category: str) -> None:
        super().__init__(f"{category} limit exceeded.", category=category)


class ServiceUnavailableError(TidepoolError):
    code = "SERVICE_UNAVAILABLE"
    status = 503

    def __init__(self, service: str, reason: str, detail: str | None = None) -> None:
        # Directus's extensions: {service, reason} (then code)
        super().__init__(f'Service "{service}" is unavailable. {_sentence(reason)}', service=service, reason=reason)
        self.detail = detail  # the driver's words: for the log and the CLI's line, never sent to a client


class InvalidProviderConfigError(TidepoolError):
    """A deployment provider's configuration that cannot be used: Directus's answer when the provider cannot
    be reached with it (Tidepool reaches none)."""

    code = "INVALID_PROVIDER_CONFIG"
    status = 503
    default_message = "Invalid config."

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(None, provider=provider, reason=reason)


class ConfigError(TidepoolError):
    """A configuration value that cannot be used; raised at startup and printed without a traceback."""

    code = "INVALID_CONFIG"

    def __init__(self, variable: str, reason: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {reason}")


class CliError(TidepoolError):
    """A management command that cannot do what was asked (unknown role, unknown user ...): one line, exit 1."""

    code = "CLI_ERROR"
    status = 400


# -- WebSocket-only errors: Directus sends these texts verbatim on the socket (no "Invalid payload." prefix).


class VerbatimPayloadError(TidepoolError):
    """``INVALID_PAYLOAD`` with a message sent as given (Directus's WebSocket texts have no REST prefix)."""

    code = "INVALID_PAYLOAD"
    status = 400


class ParseError(TidepoolError):
    code = "INVALID_PAYLOAD"
    status = 400
    default_message = "Unable to parse the incoming message."


class InvalidMessageError(TidepoolError):
    """A WebSocket message that fails its schema: ``INVALID_PAYLOAD`` with zod's sentence, not the REST prefix
    (``tidepool.realtime.protocol`` checks the schemas)."""

    code = "INVALID_PAYLOAD"
    status = 400

    def __init__(self, issues: Sequence[str]) -> None:
        super().__init__("Validation error: " + "; ".join(issues))


class AuthFailedError(TidepoolError):
    code = "AUTH_FAILED"
    status = 401
    default_message = "Authentication failed."


class HandshakeFailedError(AuthFailedError):
    default_message = "Authentication handshake failed."


class CredentialRejectedError(AuthFailedError):
    """A socket's credential was not accepted (``tidepool.realtime.auth``). Directus never tells a socket why,
    so the message stays "Authentication failed." and ``reason`` is for the server's eyes only.

    ``error`` is the error REST would answer for the same credential, when there is one; ``told`` is that
    error when it is no verdict on the credential (the caller's pace, the database): the socket is sent it as
    it is instead of ``AUTH_FAILED``.
    """

    def __init__(self, reason: str, error: TidepoolError | None = None) -> None:
        super().__init__()
        self.reason = reason
        self.error = error

    @property
    def told(self) -> TidepoolError | None:
        return self.error if isinstance(self.error, RequestsExceededError | ServiceUnavailableError) else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class AuthTimeoutError(TidepoolError):
    code = "AUTH_TIMEOUT"
    status = 401
    default_message = "Authentication timed out."


def js_text(value: Any) -> str:
    """A value as JavaScript's template strings print it (Directus's messages interpolate values so)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(js_text(v) for v in value)
    return str(value)


def _sentence(reason: str) -> str:
    return reason if reason.endswith((".", "!", "?")) else reason + "."
