"""A real S3-compatible server for the storage tests: moto's server mode (``moto[server]``, a dev
dependency) started as its own process on a free port, with a bucket made through boto3."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support.live import free_port

KEY, SECRET, REGION = "test-key", "test-secret", "us-east-1"


@contextmanager
def moto_server() -> Iterator[str]:
    """The endpoint URL of a fresh moto server; stopped (by its own pid) on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("moto server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name=REGION
    )


def s3_env(endpoint: str, bucket: str, name: str = "s3") -> dict[str, str]:
    """Directus's settings for an S3 location ``name`` (first in STORAGE_LOCATIONS), local second."""
    prefix = f"STORAGE_{name.upper()}_"
    return {
        "STORAGE_LOCATIONS": f"{name},local",
        prefix + "DRIVER": "s3",
        prefix + "KEY": KEY,
        prefix + "SECRET": SECRET,
        prefix + "BUCKET": bucket,
        prefix + "REGION": REGION,
        prefix + "ENDPOINT": endpoint,
        prefix + "FORCE_PATH_STYLE": "true",
        prefix + "ROOT": "uploads",
    }
