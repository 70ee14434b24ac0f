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


def build_storage(settings: Settings) -> Storage:
    drivers: dict[str, Driver] = {}
    for location in settings.STORAGE_LOCATIONS:
        kind = location.options.get("driver", "")
        make = DRIVERS.get(kind)
        if make is None:
            raise ConfigError(f"STORAGE_{location.name.upper()}_DRIVER", f"expected local or s3, got {kind!r}")
        drivers[location.name] = make(location.options)
    return Storage(drivers, settings.STORAGE_LOCATIONS[0].name)
