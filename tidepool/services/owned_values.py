"""Values only an admin may point elsewhere: a column that names something outside its own row.

``directus_files.filename_disk`` names the stored object ``/assets/{id}`` serves for a row; the read is
checked against that row only. A writer free to set it (Directus leaves it to the field permissions, and the
usual "own files" policy grants every field) could point a file of their own at another file's object
(``<other id>.pdf``, or ``<own id>/../<other id>.pdf``, which the storage key resolves to the same) and read
every file through it. So a non-admin may write it only as a key of the row's own object: ``<id>`` or
``<id>.<extension>``, after the storage's own key resolution; an admin may name any object (one placed by
other means, or kept from a migration).

``check`` runs on a write's prepared values, per row key, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tidepool.errors import InvalidPayloadError
from tidepool.storage.base import safe_key

Check = Callable[[Any, Mapping[str, Any]], None]


def _own_object(key: Any, values: Mapping[str, Any]) -> None:
    """``filename_disk`` names the row's own object, or nothing."""
    value = values.get("filename_disk")
    if value is None:
        return
    name = safe_key(str(value))
    stem = name.split(".", 1)[0]
    if "/" in name or stem != str(key):
        raise InvalidPayloadError(
            f'"filename_disk" must be the file\'s own key: "{key}" or "{key}.<extension>"', field="filename_disk"
        )


# collection -> the check of one row's values (keyed by the row's primary key)
OWNED: dict[str, Check] = {"directus_files": _own_object}


def check(collection: str, key: Any, values: Mapping[str, Any], admin: bool) -> None:
    """Refuse a non-admin write that points an owned value outside its row (``InvalidPayloadError``)."""
    rule = OWNED.get(collection)
    if rule is not None and not admin:
        rule(key, values)
