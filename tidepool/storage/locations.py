"""Build a runtime's ``Storage`` from ``STORAGE_LOCATIONS``: one driver per location, by its ``DRIVER``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tidepool.config import Settings
from tidepool.errors import ConfigError
from tidepool.storage.base import Driver, Storage
from tidepool.storage.local import LocalDriver


def _s3(options: Mapping[str, str]) -> Driver:
    from tidepool.storage.s3 import S3Driver  # boto3 is the optional extra tidepool[s3]

    return S3Driver(options)


DRIVERS: Mapping[str, Callable[[Mapping[str, str]], Driver]] = {"local": LocalDriver, "s3": _s3}


def _driver(name: str, kind: str, options: Mapping[str, str]) -> Driver:
    variable = f"STORAGE_{name.upper()}_DRIVER"
    make = DRIVERS.get(kind)
    if make is None:
        raise ConfigError(variable, f"expected local or s3, got {kind!r}")
    try:
        return make(options)
    except ImportError:
        raise ConfigError(variable, "the s3 driver needs boto3: pip install 'tidepool[s3]'") from None


def build_storage(settings: Settings) -> Storage:
    drivers: dict[str, Driver] = {}
    for location in settings.STORAGE_LOCATIONS:
        drivers[location.name] = _driver(location.name, location.options.get("driver", ""), location.options)
    return Storage(drivers, settings.STORAGE_LOCATIONS[0].name)
