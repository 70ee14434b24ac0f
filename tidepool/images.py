"""Image work through Pillow, always called from a worker thread: reading an image's dimensions from the
head of its bytes, and producing an asset variant (Directus's ``/assets`` transformations, which Directus
runs through sharp; the steps here follow sharp's meaning of each option).

``Plan`` is the resolved request: the resize (width, height, fit, withoutEnlargement), the ``transforms``
steps, and the output format and quality. It is validated before any pixel is touched (unknown step,
bad argument, output too large) so a client's mistake is a 400, never a 500.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from tidepool.errors import IllegalAssetTransformationError, InvalidQueryError

# MIME types whose dimensions are recorded on upload, and those that can be transformed (as Directus).
METADATA_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/avif"})
TRANSFORM_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/tiff", "image/avif"})

# format parameter -> (Pillow format, MIME type, file extension, sharp's default quality)
FORMATS: Mapping[str, tuple[str, str, str, int | None]] = {
    "jpg": ("JPEG", "image/jpeg", "jpg", 80),
    "jpeg": ("JPEG", "image/jpeg", "jpeg", 80),
    "png": ("PNG", "image/png", "png", None),
    "webp": ("WEBP", "image/webp", "webp", 80),
    "avif": ("AVIF", "image/avif", "avif", 50),
    "tiff": ("TIFF", "image/tiff", "tiff", None),
}
FITS = ("cover", "contain", "inside", "outside", "fill")


def dimensions(head: bytes, content_type: str) -> tuple[int | None, int | None]:
    """Width and height from the first bytes of an image (Pillow reads headers lazily); none otherwise."""
    if content_type not in METADATA_TYPES:
        return None, None
    try:
        with Image.open(io.BytesIO(head)) as image:
            width, height = image.size
            if _orientation(image) in (5, 6, 7, 8):
                width, height = height, width  # Directus records the displayed orientation
            return width, height
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None, None


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError, OSError, SyntaxError):
        return 1


@dataclass(frozen=True)
class Resize:
    width: int | None
    height: int | None
    fit: str = "cover"
    without_enlargement: bool = False
    focal: tuple[int, int] | None = None  # cover only: the crop is centred here (source pixels), not mid-image


@dataclass(frozen=True)
class Plan:
    steps: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # ("resize", (Resize,)), ("rotate", (90,)) ...
    format: str | None = None  # a key of FORMATS; None keeps the source's
    quality: int | None = None

    def key(self) -> str:
        """A stable name for the variant (the cache key of its stored copy)."""
        return repr((self.steps, self.format, self.quality))


@dataclass(frozen=True)
class Output:
    data: bytes
    content_type: str
    extension: str


def _number(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidQueryError(f'"{what}" has to be a number')
    try:
        number = int(float(value))
    except ValueError:
        raise InvalidQueryError(f'"{what}" has to be a number') from None
    return number


def resize_step(args: Sequence[Any]) -> Resize:
    """sharp's ``resize`` arguments: an options object, or ``width, height, options``."""
    options: Mapping[str, Any] = {}
    if args and isinstance(args[0], Mapping):
        options = args[0]
        width, height = options.get("width"), options.get("height")
    else:
        width = args[0] if len(args) > 0 else None
        height = args[1] if len(args) > 1 else None
        options = args[2] if len(args) > 2 and isinstance(args[2], Mapping) else {}
    fit = options.get("fit") or "cover"
    if fit not in FITS:
        raise InvalidQueryError(f'"fit" has to be one of {", ".join(FITS)}')
    w = None if width is None else _number(width, "width")
    h = None if height is None else _number(height, "height")
    if (w is not None and w < 1) or (h is not None and h < 1):
        raise InvalidQueryError('"width" and "height" have to be positive')
    return Resize(w, h, fit, options.get("withoutEnlargement") is True)


def _angle(args: Sequence[Any]) -> tuple[Any, ...]:
    angle = _number(args[0], "rotate") if args else 0
    if angle % 90:
        raise InvalidQueryError('"rotate" only takes multiples of 90 degrees')
    return (angle,)


def _blur(args: Sequence[Any]) -> tuple[Any, ...]:
    sigma = float(_number(args[0], "blur")) if args else 1.0
    if not 0.3 <= sigma <= 1000:
        raise InvalidQueryError('"blur" sigma has to be between 0.3 and 1000')
    return (sigma,)


def _extract(args: Sequence[Any]) -> tuple[Any, ...]:
    region = args[0] if args and isinstance(args[0], Mapping) else None
    if region is None:
        raise InvalidQueryError('"extract" needs a region {left, top, width, height}')
    values = tuple(_number(region.get(k), k) for k in ("left", "top", "width", "height"))
    if values[0] < 0 or values[1] < 0 or values[2] < 1 or values[3] < 1:
        raise InvalidQueryError('"extract" region is invalid')
    return values


def _none(args: Sequence[Any]) -> tuple[Any, ...]:
    return ()


# The ``transforms`` steps Tidepool runs (sharp method names), each with its argument check.
STEP_ARGS: Mapping[str, Callable[[Sequence[Any]], tuple[Any, ...]]] = {
    "resize": lambda args: (resize_step(args),),
    "rotate": _angle,
    "flip": _none,
    "flop": _none,
    "blur": _blur,
    "grayscale": _none,
    "greyscale": _none,
    "negate": _none,
    "extract": _extract,
}


def _projected(size: tuple[int, int], steps: Sequence[tuple[str, tuple[Any, ...]]], limit: int) -> None:
    """Every intermediate size stays within ``limit`` (Directus's output-dimension check)."""
    width, height = size
    for name, args in steps:
        if name == "resize":
            width, height = _resized_size((width, height), args[0])
        elif name == "rotate" and args[0] % 180:
            width, height = height, width
        elif name == "extract":
            width, height = args[2], args[3]
        if width > limit or height > limit:
            raise IllegalAssetTransformationError()


def check(plan: Plan, size: tuple[int, int], limit: int) -> None:
    if size[0] > limit or size[1] > limit:
        raise IllegalAssetTransformationError()
    _projected(size, plan.steps, limit)


def _scale(resize: Resize, scale: float) -> float:
    return min(scale, 1.0) if resize.without_enlargement else scale


def _resized_size(size: tuple[int, int], resize: Resize) -> tuple[int, int]:
    width, height = size
    if resize.width is None and resize.height is None:
        return size
    if resize.width is None or resize.height is None:
        target = resize.width / width if resize.width is not None else (resize.height or height) / height
        scale = _scale(resize, target)
        return max(1, round(width * scale)), max(1, round(height * scale))
    sx, sy = resize.width / width, resize.height / height
    if resize.fit == "inside":
        scale = _scale(resize, min(sx, sy))
        return max(1, round(width * scale)), max(1, round(height * scale))
    if resize.fit == "outside":
        scale = _scale(resize, max(sx, sy))
        return max(1, round(width * scale)), max(1, round(height * scale))
    if resize.without_enlargement and (sx > 1 or sy > 1):
        return min(resize.width, width), min(resize.height, height)
    return resize.width, resize.height


def _apply_resize(image: Image.Image, resize: Resize) -> Image.Image:
    target = _resized_size(image.size, resize)
    if resize.width is None or resize.height is None or resize.fit in ("inside", "outside"):
        return image.resize(target, Image.Resampling.LANCZOS)
    if resize.fit == "fill":
        return image.resize(target, Image.Resampling.LANCZOS)
    if resize.fit == "contain":
        return ImageOps.pad(image, target, Image.Resampling.LANCZOS, color=_black(image))
    if resize.focal is not None:
        return _cover_at(image, target, resize.focal)
    return ImageOps.fit(image, target, Image.Resampling.LANCZOS)  # cover: scale to cover, crop the centre


def _cover_at(image: Image.Image, target: tuple[int, int], focal: tuple[int, int]) -> Image.Image:
    """Cover ``target`` with the crop centred on the focal point as far as the edges allow (Directus's
    ``getResizeArguments``)."""
    (width, height), (tw, th) = image.size, target
    scale = max(tw / width, th / height)
    sw, sh = max(tw, round(width * scale)), max(th, round(height * scale))
    left = min(max(round(focal[0] * scale - tw / 2), 0), sw - tw)
    top = min(max(round(focal[1] * scale - th / 2), 0), sh - th)
    return image.resize((sw, sh), Image.Resampling.LANCZOS).crop((left, top, left + tw, top + th))


def _black(image: Image.Image) -> Any:
    return (0, 0, 0, 255) if image.mode in ("RGBA", "LA") else 0 if image.mode in ("L", "1", "P") else (0, 0, 0)


APPLY: Mapping[str, Callable[[Image.Image, tuple[Any, ...]], Image.Image]] = {
    "resize": lambda image, args: _apply_resize(image, args[0]),
    "rotate": lambda image, args: image.rotate(-args[0], expand=True),  # sharp turns clockwise
    "flip": lambda image, args: ImageOps.flip(image),
    "flop": lambda image, args: ImageOps.mirror(image),
    "blur": lambda image, args: image.filter(ImageFilter.GaussianBlur(args[0])),
    "grayscale": lambda image, args: ImageOps.grayscale(image),
    "greyscale": lambda image, args: ImageOps.grayscale(image),
    "negate": lambda image, args: ImageOps.invert(image.convert("RGB")),
    "extract": lambda image, args: image.crop((args[0], args[1], args[0] + args[2], args[1] + args[3])),
}


def render(source: bytes, plan: Plan, source_type: str) -> Output:
    """The variant's bytes (blocking; run it in a worker thread). The caller has checked the source's
    dimensions against ``ASSETS_TRANSFORM_IMAGE_MAX_DIMENSION`` first, which bounds the pixels decoded."""
    fmt = plan.format or format_of(source_type)
    pil_format, content_type, extension, default_quality = FORMATS[fmt]
    with Image.open(io.BytesIO(source)) as opened:
        image: Image.Image = ImageOps.exif_transpose(opened)  # sharp's auto-orientation
        image.load()
        for name, args in plan.steps:
            image = APPLY[name](image, args)
        if pil_format == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        options: dict[str, Any] = {}
        quality = plan.quality or default_quality
        if quality is not None:
            options["quality"] = quality
        image.save(out, pil_format, **options)
    return Output(out.getvalue(), content_type, extension)


def format_of(content_type: str) -> str:
    sub = content_type.split("/")[-1]
    return "jpg" if sub == "jpeg" else sub if sub in FORMATS else "jpg"
