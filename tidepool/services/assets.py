"""``/assets/{id}``: a file's bytes, whole, by range, or transformed (Directus's ``AssetsService``).

Access: the caller must be able to read the file's row (``directus_files`` read permission, rule included);
otherwise ``FORBIDDEN``, the same answer as for a file that does not exist. Transformations come from the
query (``width``, ``height``, ``fit``, ``quality``, ``format``, ``withoutEnlargement``, ``transforms``) or a
preset (``key``), governed by the project settings ``storage_asset_transform`` (``all``, ``presets``,
``none``) and ``storage_asset_presets`` when the settings table exists (otherwise: ``all``, no presets).
A variant is rendered by Pillow in a worker thread, at most ``ASSETS_TRANSFORM_MAX_CONCURRENT`` at once and
for at most ``ASSETS_TRANSFORM_TIMEOUT``, then kept in the file's storage location beside the original
(``<id>__<hash>.<ext>``) so the next request streams it; deleting or replacing the file removes it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio
import anyio.to_thread
import orjson
import sqlalchemy as sa

from tidepool import images
from tidepool.errors import (
    ForbiddenError,
    IllegalAssetTransformationError,
    InvalidQueryError,
    RangeNotSatisfiableError,
    ServiceUnavailableError,
)
from tidepool.query.model import Query
from tidepool.seams import translated
from tidepool.services.files import FilesService
from tidepool.storage.base import Driver
from tidepool.storage.upload import store

NOT_READABLE = 'You don\'t have permission to perform "read" for collection "directus_files" or it does not exist.'
QUERY_KEYS = (
    "key", "transforms", "width", "height", "format", "fit", "quality", "withoutEnlargement", "focal_point_x",
    "focal_point_y",
)  # fmt: skip

# Directus's own presets (used by its app for thumbnails); always allowed.
SYSTEM_PRESETS: tuple[Mapping[str, Any], ...] = tuple(
    {
        "key": f"system-{size}-{fit}",
        "format": "auto",
        "transforms": [["resize", {"width": px, "height": px, "fit": fit}]],
    }
    for size, px in (("small", 64), ("medium", 300), ("large", 800))
    for fit in ("cover", "contain")
)


@dataclass
class TransformLimiter:
    """Transformations in flight on this runtime; beyond the limit a request is turned away at once, as
    Directus answers ``Server too busy`` rather than queueing."""

    limit: int
    running: int = 0  # changed only on the event loop, between awaits: no lock needed


@dataclass(frozen=True)
class Asset:
    file: Mapping[str, Any]
    driver: Driver
    key: str  # the stored object to stream (original or variant)
    size: int
    content_type: str
    range: tuple[int, int] | None


async def asset_settings(files: FilesService) -> tuple[str, list[Mapping[str, Any]]]:
    """``storage_asset_transform`` and ``storage_asset_presets`` of the settings row, when there is one."""
    info = files.ctx.schema.collection("directus_settings")
    if info is None or not {"storage_asset_transform", "storage_asset_presets"} <= set(info.fields):
        return "all", []
    async with files.ctx.connection() as conn:
        row = (
            await conn.execute(
                sa.select(info.table.c.storage_asset_transform, info.table.c.storage_asset_presets).limit(1)
            )
        ).first()
    if row is None:
        return "all", []
    presets = row[1]
    if isinstance(presets, str | bytes):
        presets = orjson.loads(presets)
    return str(row[0] or "all"), [p for p in (presets or []) if isinstance(p, Mapping)]


def parse_transformation(params: Mapping[str, str], max_operations: int) -> dict[str, Any]:
    """The transformation keys of the query; ``transforms`` parsed and checked as Directus does."""
    wanted: dict[str, Any] = {k: params[k] for k in QUERY_KEYS if k in params}
    if "transforms" in wanted:
        reason = '"transforms" Parameter needs to be a JSON array of allowed transformations'
        try:
            steps = orjson.loads(wanted["transforms"])
        except orjson.JSONDecodeError:
            raise InvalidQueryError(reason) from None
        if not isinstance(steps, list):
            raise InvalidQueryError(reason)
        if len(steps) > max_operations:
            raise InvalidQueryError(f'"transforms" Parameter is only allowed {max_operations} transformations')
        for step in steps:
            name = step[0] if isinstance(step, list) and step else step
            if not isinstance(name, str) or name not in images.STEP_ARGS:
                raise InvalidQueryError(f'"transforms" Parameter does not allow "{name}" as a transformation')
        wanted["transforms"] = steps
    return wanted


def allow_transformation(wanted: Mapping[str, Any], mode: str, presets: Sequence[Mapping[str, Any]]) -> None:
    """Directus's gate on dynamic transformations (``storage_asset_transform``)."""
    if not wanted or wanted.get("transforms") == [] and len(wanted) == 1:
        return
    system_keys = [p["key"] for p in SYSTEM_PRESETS]
    all_keys = system_keys + [p.get("key") for p in presets]
    key = wanted.get("key")
    if mode == "all":
        if key is not None and key not in all_keys:
            raise InvalidQueryError(f'Key "{key}" isn\'t configured')
        return
    if mode == "presets":
        if key in all_keys and len(wanted) == 1:
            return
        raise InvalidQueryError("Only configured presets can be used in asset generation")
    if key in system_keys and len(wanted) == 1:
        return
    raise InvalidQueryError("Dynamic asset generation has been disabled for this project")


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InvalidQueryError(f'"{name}" has to be an integer') from None


def build_plan(params: Mapping[str, Any], file: Mapping[str, Any], accept: str) -> images.Plan:
    """Directus's ``resolvePreset``: the ``transforms`` steps, then the format, then the resize."""
    steps: list[tuple[str, tuple[Any, ...]]] = []
    for step in params.get("transforms") or []:
        name, *args = step if isinstance(step, list) else [step]
        steps.append((name, images.STEP_ARGS[name](args)))
    fmt = _format(params.get("format"), str(file.get("type") or ""), accept)
    quality = _int(params["quality"], "quality") if params.get("quality") not in (None, "") else None
    if quality is not None and not 1 <= quality <= 100:
        raise InvalidQueryError('"quality" has to be between 1 and 100')
    width = _int(params["width"], "width") if params.get("width") not in (None, "") else None
    height = _int(params["height"], "height") if params.get("height") not in (None, "") else None
    if width is not None or height is not None:
        enlarge = str(params.get("withoutEnlargement", "")).lower() in ("true", "1")
        if enlarge and file.get("width") and file.get("height"):
            width = min(width, int(file["width"])) if width is not None else None
            height = min(height, int(file["height"])) if height is not None else None
        fit = params.get("fit") or "cover"
        resize = images.resize_step([{"width": width, "height": height, "fit": fit, "withoutEnlargement": enlarge}])
        if resize.fit == "cover" and width and height:
            resize = replace(resize, focal=_focal_point(params, file))
        steps.append(("resize", (resize,)))
    if fmt is None and quality is not None:
        fmt = images.format_of(str(file.get("type") or ""))  # quality alone keeps the file's format
    return images.Plan(tuple(steps), fmt, quality)


def _focal_point(params: Mapping[str, Any], file: Mapping[str, Any]) -> tuple[int, int] | None:
    """The query's ``focal_point_x``/``_y``, else the file's; both or none."""
    x = params.get("focal_point_x") or file.get("focal_point_x")
    y = params.get("focal_point_y") or file.get("focal_point_y")
    if x in (None, "") or y in (None, ""):
        return None
    return _int(x, "focal_point_x"), _int(y, "focal_point_y")


def _format(requested: Any, file_type: str, accept: str) -> str | None:
    if requested in (None, ""):
        return None
    if requested != "auto":
        if requested not in images.FORMATS:
            raise InvalidQueryError(f'"format" has to be one of {", ".join(images.FORMATS)}, or auto')
        return str(requested)
    if "image/avif" in accept:
        return "avif"
    if "image/webp" in accept:
        return "webp"
    sub = file_type.split("/")[-1]
    return (
        "png"
        if sub in ("avif", "webp", "tiff")
        else ("jpg" if sub == "jpeg" else sub if sub in images.FORMATS else "jpg")
    )


def parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    if not header or not header.startswith("bytes="):
        return None
    start_raw, _, end_raw = header[6:].split(",")[0].strip().partition("-")
    try:
        start = int(start_raw) if start_raw else None
        end = int(end_raw) if end_raw else None
    except ValueError:
        return None
    return start, end


def resolve_range(wanted: tuple[int | None, int | None], size: int) -> tuple[int, int]:
    """Directus's range rules: ``bytes=-N`` is the last N bytes; an end past the file is clamped."""
    start, end = wanted
    if (
        (start is None and end is None)
        or (start is not None and end is not None and end <= start)
        or (start is not None and start >= size)
        or (end is not None and end <= 0)
    ):
        raise RangeNotSatisfiableError(start, end)
    last = size - 1
    if start is None:
        return max(0, size - (end or 0)), last
    return start, last if end is None or end >= size else end


class AssetsService:
    def __init__(self, files: FilesService, limiter: TransformLimiter) -> None:
        self.files = files
        self.limiter = limiter

    async def readable_file(self, key: str) -> Mapping[str, Any]:
        """The file's storage row, if the caller may read the file (the reader applies its rules)."""
        try:
            uuid.UUID(key)
        except ValueError:
            raise ForbiddenError() from None
        try:
            await self.files.read_one(key, Query(fields=("id",)))  # FORBIDDEN when missing or not readable
        except ForbiddenError as exc:
            if self.files.ctx.access.admin or exc.extensions.get("reason"):
                raise
            raise ForbiddenError(NOT_READABLE, reason=NOT_READABLE) from None  # Directus's words for an item
        row = await self.files.stored_row(key)
        if row is None or not row.get("filename_disk"):
            raise ForbiddenError()
        return row

    async def get(self, key: str, params: Mapping[str, Any], accept: str, wanted_range: Any) -> Asset:
        file = await self.readable_file(key)
        driver = self.files.storage.location(file["storage"])
        with translated("storage read"):
            size = await driver.size(file["filename_disk"])
        if size is None:
            raise ForbiddenError()
        plan = build_plan(params, file, accept) if params else images.Plan()
        file_type = str(file.get("type") or "application/octet-stream")
        if (plan.steps or plan.format) and file_type in images.TRANSFORM_TYPES:
            return await self._variant(file, driver, plan, file_type)
        byte_range = resolve_range(wanted_range, size) if wanted_range is not None else None
        return Asset(file, driver, file["filename_disk"], size, file_type, byte_range)

    async def _variant(self, file: Mapping[str, Any], driver: Driver, plan: images.Plan, file_type: str) -> Asset:
        fmt = plan.format or images.format_of(file_type)
        _, content_type, extension, _ = images.FORMATS[fmt]
        digest = hashlib.sha256(plan.key().encode()).hexdigest()[:16]
        variant = f"{file['id']}__{digest}.{extension}"
        size = await driver.size(variant)
        if size is not None:
            return Asset(file, driver, variant, size, content_type, None)
        width, height = file.get("width"), file.get("height")
        limit = self.files.ctx.settings.ASSETS_TRANSFORM_IMAGE_MAX_DIMENSION
        if not width or not height:
            raise IllegalAssetTransformationError()
        images.check(plan, (int(width), int(height)), limit)
        output = await self._render(driver, file, plan, file_type)
        stored = await store(driver, variant, content_type, _once(output.data), None)
        return Asset(file, driver, variant, stored.size, content_type, None)

    async def _render(
        self, driver: Driver, file: Mapping[str, Any], plan: images.Plan, file_type: str
    ) -> images.Output:
        if self.limiter.running >= self.limiter.limit:
            raise ServiceUnavailableError("files", "Server too busy")
        self.limiter.running += 1
        try:
            source = await driver.fetch(file["filename_disk"], int(file.get("filesize") or 0) + 1)
            with anyio.fail_after(self.files.ctx.settings.ASSETS_TRANSFORM_TIMEOUT):
                return await anyio.to_thread.run_sync(images.render, source, plan, file_type, abandon_on_cancel=True)
        except TimeoutError:
            raise ServiceUnavailableError("assets", "Transformation timed out") from None
        except (OSError, ValueError):  # Pillow's UnidentifiedImageError is an OSError
            raise IllegalAssetTransformationError() from None  # not an image Pillow can read
        finally:
            self.limiter.running -= 1


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
